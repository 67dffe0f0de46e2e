/**
 * Grouped 2-D convolution (NCHW, weight (F, C/groups, KH, KW), no bias), forward and both
 * backward passes: ResNeXt's 3x3 convolution. With `groups` 1 every function hands over to the
 * register-tiled ops of `conv2d.ts`, so ungrouped convolutions keep their fast path.
 *
 * ```
 * prepareGroupedConv2dForward(gpu, { x, w, y, stride, padding, groups })        y  = conv(x, w)
 * prepareGroupedConv2dBackwardInput(gpu, { dy, w, dx, ..., accumulate })        dx (+)= conv^T(dy, w)
 * prepareGroupedConv2dBackwardWeight(gpu, { x, dy, dw, ..., accumulate })       dw (+)= dconv/dw
 * ```
 *
 * Two kernel variants share that contract (kernels/conv2d_grouped.wgsl): `plain`, one output
 * element per invocation, and `tile`, register tiles of up to 16 channels x 16 pixels (or
 * taps) of one group per invocation with packed vec4 weights. Each pass picks its variant by
 * tuning on the adapter ({@link groupedConv2dVariant}); `groupedVariant` on any call forces one.
 *
 * @module
 */

import source from "../../kernels/conv2d_grouped.wgsl" with { type: "text" };
import type { Gpu } from "../gpu/device.ts";
import {
  Dispatch,
  type EntryOf,
  getPipeline,
  grid1d,
  type Pipeline,
  type Recordable,
  recordOnce,
} from "../gpu/kernel.ts";
import { Tensor } from "../gpu/tensor.ts";
import { checkF32, checkRank, checkShape, checkWhole } from "./_check.ts";
import { prepareSteps } from "./_prepare.ts";
import {
  type Conv2dBackwardInputArgs,
  type Conv2dBackwardWeightArgs,
  type Conv2dForwardArgs,
  type Conv2dPass,
  type Conv2dShape,
  conv2dVariantProblem,
  foldGroups,
  partialsThatFit,
  prepareConv2dBackwardInput,
  prepareConv2dBackwardWeight,
  prepareConv2dForward,
} from "./conv2d.ts";
import { checkConvPass, type ConvFamily, timeConvPass } from "./_conv_check.ts";
import { askedOrTuned, tuned, type TuneResult } from "./tune.ts";
import { family, GROUPED_ENTRIES } from "./_entries.ts";

const GROUPED = family("kernels/conv2d_grouped.wgsl", source, GROUPED_ENTRIES);
const WG = 64;
/**
 * The weight gradient splits the batch into shares until about this many invocations run (one
 * per weight and share): enough to fill a large GPU even for a layer with a few thousand weights,
 * while the partial sums stay near this many floats (256 KiB) beyond the weights themselves;
 * never more shares than one storage buffer holds ({@link partialsThatFit}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GROUPED_WEIGHT_TARGET } from "./conv2d_grouped.ts";
 * // ResNeXt-50's first grouped layer, 128 channels in 32 groups, 3x3: 4608 weights, 15 shares.
 * assert.equal(Math.ceil(GROUPED_WEIGHT_TARGET / (128 * 4 * 9)), 15);
 * ```
 */
export const GROUPED_WEIGHT_TARGET = 65536;

/**
 * The channel groups of a convolution.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Conv2dGroups } from "./conv2d_grouped.ts";
 * const resnext: Conv2dGroups = { groups: 32 };
 * assert.equal(resnext.groups, 32);
 * ```
 */
export interface Conv2dGroups {
  /** Channel groups (default 1): C and F must be multiples of it. */
  groups?: number;
  /**
   * Forces a grouped kernel variant instead of the tuned one (tests, benchmarks): a full
   * {@link GroupedConv2dVariant}, or `"plain"` / `"tile"` for that kind's default shape. Not
   * used at `groups` 1, where `variant` picks the plain convolution's kernel.
   */
  groupedVariant?: GroupedConv2dVariant | "plain" | "tile";
}

/**
 * Arguments of {@link prepareGroupedConv2dForward}: those of the plain convolution, weight
 * (F, C/groups, KH, KW).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { groupedConv2dForward, type GroupedConv2dForwardArgs } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: GroupedConv2dForwardArgs = {
 *   x: Tensor.from(gpu, [1, 2], [1, 2, 1, 1]),
 *   w: Tensor.from(gpu, [10, 100], [2, 1, 1, 1]), // each output sees its own input channel
 *   y: Tensor.empty(gpu, [1, 2, 1, 1]),
 *   groups: 2,
 * };
 * await groupedConv2dForward(gpu, args);
 * assert.deepEqual(Array.from(await args.y.read()), [10, 200]);
 * gpu.destroy();
 * ```
 */
export interface GroupedConv2dForwardArgs extends Conv2dForwardArgs, Conv2dGroups {}

/**
 * Arguments of {@link prepareGroupedConv2dBackwardInput}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import {
 *   groupedConv2dBackwardInput,
 *   type GroupedConv2dBackwardInputArgs,
 * } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: GroupedConv2dBackwardInputArgs = {
 *   dy: Tensor.from(gpu, [1, 1], [1, 2, 1, 1]),
 *   w: Tensor.from(gpu, [10, 100], [2, 1, 1, 1]),
 *   dx: Tensor.empty(gpu, [1, 2, 1, 1]),
 *   groups: 2,
 * };
 * await groupedConv2dBackwardInput(gpu, args);
 * assert.deepEqual(Array.from(await args.dx.read()), [10, 100]);
 * gpu.destroy();
 * ```
 */
export interface GroupedConv2dBackwardInputArgs extends Conv2dBackwardInputArgs, Conv2dGroups {}

/**
 * Arguments of {@link prepareGroupedConv2dBackwardWeight}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import {
 *   groupedConv2dBackwardWeight,
 *   type GroupedConv2dBackwardWeightArgs,
 * } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: GroupedConv2dBackwardWeightArgs = {
 *   x: Tensor.from(gpu, [1, 2], [1, 2, 1, 1]),
 *   dy: Tensor.from(gpu, [3, 5], [1, 2, 1, 1]),
 *   dw: Tensor.empty(gpu, [2, 1, 1, 1]),
 *   groups: 2,
 * };
 * await groupedConv2dBackwardWeight(gpu, args);
 * assert.deepEqual(Array.from(await args.dw.read()), [3, 10]);
 * gpu.destroy();
 * ```
 */
export interface GroupedConv2dBackwardWeightArgs extends Conv2dBackwardWeightArgs, Conv2dGroups {}

/**
 * A grouped-convolution kernel variant: `plain` (one output element per invocation, `wg` per
 * workgroup) or `tile` (a register tile of `rows` channels x `cols` pixels, or taps for the
 * weight gradient, per invocation; each a multiple of 4 up to 16; the channel rows are capped
 * at the group's channels rounded up to 4, so one variant suits every layer of a network).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { groupedConv2dForward, type GroupedConv2dVariant } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const groupedVariant: GroupedConv2dVariant = { kernel: "tile", rows: 4, cols: 8, wg: 16 };
 * const x = Tensor.from(gpu, [1, 2], [1, 2, 1, 1]);
 * const w = Tensor.from(gpu, [3, 4], [2, 1, 1, 1]);
 * const y = Tensor.empty(gpu, [1, 2, 1, 1]);
 * await groupedConv2dForward(gpu, { x, w, y, groups: 2, groupedVariant });
 * assert.deepEqual(Array.from(await y.read()), [3, 8]);
 * gpu.destroy();
 * ```
 */
export type GroupedConv2dVariant =
  | { readonly kernel: "plain"; readonly wg: number }
  | { readonly kernel: "tile"; readonly rows: number; readonly cols: number; readonly wg: number };

type TileVariant = Extract<GroupedConv2dVariant, { kernel: "tile" }>;

/**
 * Storage keys of the tuned grouped variant per pass; bump the version when candidates change.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GROUPED_CONV2D_TUNE_KEYS } from "./conv2d_grouped.ts";
 * assert.equal(GROUPED_CONV2D_TUNE_KEYS.forward, "conv2d_grouped.forward.v1");
 * ```
 */
export const GROUPED_CONV2D_TUNE_KEYS: Readonly<Record<Conv2dPass, string>> = {
  forward: "conv2d_grouped.forward.v1",
  backward_input: "conv2d_grouped.backward_input.v1",
  backward_weight: "conv2d_grouped.backward_weight.v1",
};

/**
 * Candidates on CPU (fallback) adapters, default first: 16-wide workgroups, as for the plain
 * convolution (one lavapipe thread runs a whole workgroup), register tiles of two to four
 * channel quads (capped per layer at the group's width, ResNeXt-50's 4 to 32 channels), and
 * the plain kernel. 12 columns fit a 3x3 weight gradient exactly (Cg*9 taps, Cg a multiple of
 * 4); on ResNeXt-50's first stage they ran its weight gradient about 1.4x as fast as 8.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   FALLBACK_GROUPED_CANDIDATES,
 *   formatGroupedConv2dVariant,
 * } from "./conv2d_grouped.ts";
 * assert.equal(formatGroupedConv2dVariant(FALLBACK_GROUPED_CANDIDATES[0]), "tile 16x12 wg16");
 * ```
 */
export const FALLBACK_GROUPED_CANDIDATES: readonly GroupedConv2dVariant[] = [
  { kernel: "tile", rows: 16, cols: 12, wg: 16 },
  { kernel: "tile", rows: 16, cols: 8, wg: 16 },
  { kernel: "tile", rows: 8, cols: 16, wg: 16 },
  { kernel: "tile", rows: 8, cols: 8, wg: 16 },
  { kernel: "plain", wg: 64 },
];

/**
 * Candidates on real GPUs, default first: smaller tiles and 64..128 invocations per workgroup,
 * so that a layer still makes enough invocations to fill the chip.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatGroupedConv2dVariant, GPU_GROUPED_CANDIDATES } from "./conv2d_grouped.ts";
 * assert.equal(formatGroupedConv2dVariant(GPU_GROUPED_CANDIDATES[0]), "tile 4x8 wg64");
 * ```
 */
export const GPU_GROUPED_CANDIDATES: readonly GroupedConv2dVariant[] = [
  { kernel: "tile", rows: 4, cols: 8, wg: 64 },
  { kernel: "tile", rows: 4, cols: 4, wg: 128 },
  { kernel: "tile", rows: 8, cols: 8, wg: 64 },
  { kernel: "tile", rows: 16, cols: 8, wg: 64 },
  { kernel: "tile", rows: 8, cols: 16, wg: 64 },
  { kernel: "plain", wg: 64 },
];

/** The shapes `"plain"` and `"tile"` stand for. */
const NAMED_VARIANTS: Readonly<Record<"plain" | "tile", GroupedConv2dVariant>> = {
  plain: { kernel: "plain", wg: 64 },
  tile: FALLBACK_GROUPED_CANDIDATES[0],
};

/**
 * A short name for tables: `plain wg64`, `tile 8x16 wg16`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatGroupedConv2dVariant } from "./conv2d_grouped.ts";
 * assert.equal(formatGroupedConv2dVariant({ kernel: "plain", wg: 64 }), "plain wg64");
 * ```
 */
export function formatGroupedConv2dVariant(v: GroupedConv2dVariant): string {
  return v.kernel === "plain" ? `plain wg${v.wg}` : `tile ${v.rows}x${v.cols} wg${v.wg}`;
}

/**
 * The candidates that suit this adapter and fit its limits; the first is the default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import {
 *   formatGroupedConv2dVariant,
 *   groupedConv2dCandidates,
 *   groupedConv2dVariantProblem,
 * } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const names = groupedConv2dCandidates(gpu).map(formatGroupedConv2dVariant);
 * assert.equal(new Set(names).size, names.length); // each candidate once
 * assert.equal(names.includes("plain wg64"), true); // the plain kernel always competes
 * const problems = groupedConv2dCandidates(gpu).map((v) => groupedConv2dVariantProblem(gpu, v));
 * assert.equal(problems.every((p) => p === null), true); // each fits this device's limits
 * gpu.destroy();
 * ```
 */
export function groupedConv2dCandidates(gpu: Gpu): readonly GroupedConv2dVariant[] {
  const all = gpu.isFallback ? FALLBACK_GROUPED_CANDIDATES : GPU_GROUPED_CANDIDATES;
  return all.filter((v) => groupedConv2dVariantProblem(gpu, v) === null);
}

/**
 * Why `v` cannot run on this device, or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { groupedConv2dVariantProblem } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const bad = { kernel: "tile", rows: 6, cols: 16, wg: 16 } as const;
 * assert.equal(groupedConv2dVariantProblem(gpu, bad), "tile 6x16 is not 4, 8, 12 or 16 each way");
 * assert.equal(groupedConv2dVariantProblem(gpu, { kernel: "plain", wg: 64 }), null);
 * gpu.destroy();
 * ```
 */
export function groupedConv2dVariantProblem(gpu: Gpu, v: GroupedConv2dVariant): string | null {
  // The plain convolution's direct kernel has the same workgroup rule.
  const wg = conv2dVariantProblem(gpu, { kernel: "direct", wg: v.wg });
  if (wg !== null || v.kernel === "plain") return wg;
  const quads = [4, 8, 12, 16];
  if (!quads.includes(v.rows) || !quads.includes(v.cols)) {
    return `tile ${v.rows}x${v.cols} is not 4, 8, 12 or 16 each way`;
  }
  return null;
}

/**
 * The variant for one pass on this adapter. The first call per pass tunes (unless
 * `LTKIT_TUNE=0`, a stored result for this adapter and driver, or a recorded run's choice):
 * each candidate is checked against the CPU reference on an odd shape, then timed round-robin
 * on ResNeXt-like layers ({@link groupedConv2dTuneLayers}); the median wins.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import {
 *   formatGroupedConv2dVariant,
 *   GROUPED_CONV2D_TUNE_KEYS,
 *   groupedConv2dVariant,
 * } from "./conv2d_grouped.ts";
 * import { presetTuning } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // Without the preset, this first call would tune (seconds on lavapipe).
 * presetTuning(gpu, GROUPED_CONV2D_TUNE_KEYS.forward, { kernel: "plain", wg: 64 });
 * const { config, source } = await groupedConv2dVariant(gpu, "forward");
 * assert.equal(formatGroupedConv2dVariant(config), "plain wg64");
 * assert.equal(source, "preset");
 * gpu.destroy();
 * ```
 */
export function groupedConv2dVariant(
  gpu: Gpu,
  pass: Conv2dPass,
  options: { force?: boolean } = {},
): Promise<TuneResult<GroupedConv2dVariant>> {
  const candidates = groupedConv2dCandidates(gpu);
  return tuned(gpu, {
    force: options.force,
    key: GROUPED_CONV2D_TUNE_KEYS[pass],
    fallback: candidates[0] ?? NAMED_VARIANTS.plain,
    candidates,
    check: (v) => checkGroupedConv2dVariant(gpu, pass, v),
    measure: (v) => timeGroupedConv2dVariant(gpu, pass, v),
  });
}

/** The variant a call asked for (validated), else the tuned one for its pass. */
function chooseVariant(
  gpu: Gpu,
  op: string,
  pass: Conv2dPass,
  args: Conv2dGroups,
): Promise<GroupedConv2dVariant> {
  return askedOrTuned(op, "grouped variant", args.groupedVariant, {
    named: NAMED_VARIANTS,
    problem: (v) => groupedConv2dVariantProblem(gpu, v),
    format: formatGroupedConv2dVariant,
  }, async () => (await groupedConv2dVariant(gpu, pass)).config);
}

/** A convolution's sizes with its groups: Cg and Fg channels per group. */
interface GroupedShape extends Conv2dShape {
  groups: number;
  cg: number;
  fg: number;
}

const NCHW = ["N", "C", "H", "W"];
const WEIGHT = ["F", "C/groups", "KH", "KW"];

/**
 * Output shape of a grouped convolution, with checks.
 *
 * @param xShape [N,C,H,W]
 * @param wShape [F,C/groups,KH,KW]
 * @returns [N,F,Ho,Wo]
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupedConv2dOutputShape } from "./conv2d_grouped.ts";
 * assert.deepEqual(groupedConv2dOutputShape([2, 128, 56, 56], [128, 4, 3, 3], 32, 2, 1), [
 *   2, 128, 28, 28,
 * ]);
 * assert.throws(() => groupedConv2dOutputShape([2, 6, 5, 5], [4, 2, 3, 3], 2), /C\/groups/);
 * ```
 */
export function groupedConv2dOutputShape(
  xShape: readonly number[],
  wShape: readonly number[],
  groups = 1,
  stride = 1,
  padding = 0,
): number[] {
  const s = resolve("grouped conv2d", xShape, wShape, groups, stride, padding);
  return [s.n, s.f, s.ho, s.wo];
}

function resolve(
  op: string,
  xShape: readonly number[],
  wShape: readonly number[],
  groups: number,
  stride: number,
  padding: number,
): GroupedShape {
  const rank = (name: string, shape: readonly number[], legend: readonly string[]) => {
    if (shape.length !== 4) {
      throw new RangeError(
        `Cannot run ${op}: ${name} has ${shape.length} dimensions but needs 4 ` +
          `(${legend.join(", ")})`,
      );
    }
  };
  rank("input", xShape, NCHW);
  rank("weight", wShape, WEIGHT);
  checkWhole(op, "groups", groups, 1);
  checkWhole(op, "stride", stride, 1);
  checkWhole(op, "padding", padding, 0);
  const [n, c, h, w] = xShape;
  const [f, cg, kh, kw] = wShape;
  for (const [name, v] of [["batch", n], ["channels", c], ["output channels", f]] as const) {
    if (v < 1) throw new RangeError(`Cannot run ${op}: ${name} must be >= 1, got ${v}`);
  }
  if (c % groups !== 0 || f % groups !== 0) {
    throw new RangeError(
      `Cannot run ${op}: ${groups} groups must divide the ${c} input and ${f} output channels`,
    );
  }
  if (cg * groups !== c) {
    throw new RangeError(
      `Cannot run ${op}: weight has ${cg} input channels but C/groups is ${c}/${groups} = ` +
        `${c / groups}`,
    );
  }
  const ho = Math.floor((h + 2 * padding - kh) / stride) + 1;
  const wo = Math.floor((w + 2 * padding - kw) / stride) + 1;
  if (kh < 1 || kw < 1 || h < 1 || w < 1 || ho < 1 || wo < 1) {
    throw new RangeError(
      `Cannot run ${op}: the ${kh}x${kw} kernel with padding ${padding} does not fit the ` +
        `${h}x${w} input`,
    );
  }
  return { n, c, h, w, f, kh, kw, ho, wo, stride, padding, groups, cg, fg: f / groups };
}

function uniforms(s: GroupedShape, total: number, row: number, accumulate = false) {
  const { n, c, h, w, f, ho, wo, kh, kw, stride, padding, cg, fg } = s;
  return {
    n,
    c,
    h,
    w,
    f,
    ho,
    wo,
    kh,
    kw,
    stride,
    pad: padding,
    cg,
    fg,
    total,
    row,
    splits: 1,
    per_split: n,
    accumulate: accumulate ? 1 : 0,
    q4: 1,
    tiles: 1,
    blocks: 1,
  };
}

/** Binds one grouped-convolution pipeline over `total` outputs. */
function bindGrouped(
  gpu: Gpu,
  pipeline: Pipeline,
  s: GroupedShape,
  total: number,
  resources: Record<string, Tensor>,
  extra: Record<string, number> = {},
  accumulate = false,
): Dispatch {
  const { workgroups, row } = grid1d(gpu, total, WG);
  return new Dispatch(gpu, pipeline, resources, {
    ...uniforms(s, total, row, accumulate),
    ...extra,
  }, workgroups);
}

async function dispatch(
  gpu: Gpu,
  entry: EntryOf<typeof GROUPED_ENTRIES>,
  s: GroupedShape,
  total: number,
  resources: Record<string, Tensor>,
  extra: Record<string, number> = {},
  accumulate = false,
): Promise<Dispatch> {
  gpu.assertAlive(`run ${entry}`);
  const pipeline = await getPipeline(gpu, GROUPED, entry, { WG });
  return bindGrouped(gpu, pipeline, s, total, resources, extra, accumulate);
}

/**
 * Prepares `y = conv2d(x, w)` with channel groups; `groups` 1 is the plain convolution's fast
 * path. Reusable every step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareGroupedConv2dForward } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3, 4], [1, 4, 1, 1]);
 * const w = Tensor.from(gpu, [1, 1, 1, -1], [2, 2, 1, 1]); // two groups of two channels
 * const y = Tensor.empty(gpu, [1, 2, 1, 1]);
 * const conv = await prepareGroupedConv2dForward(gpu, { x, w, y, groups: 2 });
 * conv.record();
 * assert.deepEqual(Array.from(await y.read()), [3, -1]);
 * conv.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareGroupedConv2dForward(
  gpu: Gpu,
  args: GroupedConv2dForwardArgs,
): Promise<Recordable> {
  const groups = args.groups ?? 1;
  if (groups === 1) return prepareConv2dForward(gpu, args);
  const op = "grouped conv2d";
  const { x, w, y } = args;
  const s = resolve(op, x.shape, w.shape, groups, args.stride ?? 1, args.padding ?? 0);
  checkF32(op, { x, w, y });
  checkRank(op, "output y", y, NCHW);
  checkShape(op, "output y", y, [s.n, s.f, s.ho, s.wo]);
  const v = await chooseVariant(gpu, op, "forward", args);
  if (v.kernel === "tile") return prepareTile(gpu, op, "forward", s, v, { x, w, y });
  return await dispatch(gpu, "conv2d_grouped_forward", s, y.size, { x, w, y });
}

/**
 * Records the grouped convolution once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { groupedConv2dForward } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2], [1, 2, 1, 1]);
 * const w = Tensor.from(gpu, [3, 4], [2, 1, 1, 1]);
 * const y = Tensor.empty(gpu, [1, 2, 1, 1]);
 * await groupedConv2dForward(gpu, { x, w, y, groups: 2 });
 * assert.deepEqual(Array.from(await y.read()), [3, 8]);
 * gpu.destroy();
 * ```
 */
export async function groupedConv2dForward(
  gpu: Gpu,
  args: GroupedConv2dForwardArgs,
): Promise<void> {
  recordOnce(await prepareGroupedConv2dForward(gpu, args));
}

/**
 * Prepares `dx = dL/dx` of a grouped convolution; overwrites dx, or adds to it with
 * `accumulate`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareGroupedConv2dBackwardInput } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, [1, 10], [1, 2, 1, 1]);
 * const w = Tensor.from(gpu, [1, 1, 1, -1], [2, 2, 1, 1]);
 * const dx = Tensor.empty(gpu, [1, 4, 1, 1]);
 * const back = await prepareGroupedConv2dBackwardInput(gpu, { dy, w, dx, groups: 2 });
 * back.record();
 * assert.deepEqual(Array.from(await dx.read()), [1, 1, 10, -10]);
 * back.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareGroupedConv2dBackwardInput(
  gpu: Gpu,
  args: GroupedConv2dBackwardInputArgs,
): Promise<Recordable> {
  const groups = args.groups ?? 1;
  if (groups === 1) return prepareConv2dBackwardInput(gpu, args);
  const op = "grouped conv2d backward input";
  const { dy, w, dx } = args;
  const s = resolve(op, dx.shape, w.shape, groups, args.stride ?? 1, args.padding ?? 0);
  checkF32(op, { dy, w, dx });
  checkShape(op, "gradient dy", dy, [s.n, s.f, s.ho, s.wo]);
  const v = await chooseVariant(gpu, op, "backward_input", args);
  if (v.kernel === "tile") {
    return prepareTile(gpu, op, "backward_input", s, v, { dy, w, dx }, args.accumulate);
  }
  return await dispatch(
    gpu,
    "conv2d_grouped_backward_input",
    s,
    dx.size,
    { dy, w, dx },
    {},
    args.accumulate,
  );
}

/**
 * Records the grouped convolution's input gradient once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { groupedConv2dBackwardInput } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, [1, 1], [1, 2, 1, 1]);
 * const w = Tensor.from(gpu, [3, 4], [2, 1, 1, 1]);
 * const dx = Tensor.from(gpu, [1, 1], [1, 2, 1, 1]);
 * await groupedConv2dBackwardInput(gpu, { dy, w, dx, groups: 2, accumulate: true });
 * assert.deepEqual(Array.from(await dx.read()), [4, 5]);
 * gpu.destroy();
 * ```
 */
export async function groupedConv2dBackwardInput(
  gpu: Gpu,
  args: GroupedConv2dBackwardInputArgs,
): Promise<void> {
  recordOnce(await prepareGroupedConv2dBackwardInput(gpu, args));
}

/**
 * Prepares `dw = dL/dw` of a grouped convolution: per-share partial sums over the batch, then
 * a reduction (which also does `accumulate`). Overwrites dw by default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareGroupedConv2dBackwardWeight } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3, 4], [1, 4, 1, 1]);
 * const dy = Tensor.from(gpu, [1, 10], [1, 2, 1, 1]);
 * const dw = Tensor.empty(gpu, [2, 2, 1, 1]);
 * const gw = await prepareGroupedConv2dBackwardWeight(gpu, { x, dy, dw, groups: 2 });
 * gw.record();
 * assert.deepEqual(Array.from(await dw.read()), [1, 2, 30, 40]);
 * gw.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareGroupedConv2dBackwardWeight(
  gpu: Gpu,
  args: GroupedConv2dBackwardWeightArgs,
): Promise<Recordable> {
  const groups = args.groups ?? 1;
  if (groups === 1) return prepareConv2dBackwardWeight(gpu, args);
  const op = "grouped conv2d backward weight";
  const { x, dy, dw } = args;
  const s = resolve(op, x.shape, dw.shape, groups, args.stride ?? 1, args.padding ?? 0);
  checkF32(op, { x, dy, dw });
  checkShape(op, "gradient dy", dy, [s.n, s.f, s.ho, s.wo]);
  const v = await chooseVariant(gpu, op, "backward_weight", args);
  const weights = dw.size;
  // The shares' partial sums live in one storage buffer: never more shares than it holds.
  const wanted = Math.min(
    s.n,
    Math.ceil(GROUPED_WEIGHT_TARGET / weights),
    partialsThatFit(gpu, weights),
  );
  const perSplit = Math.ceil(s.n / Math.max(1, wanted));
  const splits = Math.ceil(s.n / perSplit);
  const part = Tensor.empty(gpu, [splits, ...dw.shape], "f32", "grouped conv2d weight partials");
  const shares = { splits, per_split: perSplit };
  if (v.kernel === "tile") {
    return prepareWeightTile(gpu, op, s, v, { x, dy, dw, part }, shares, args.accumulate);
  }
  return await prepareSteps(gpu, op, {
    scratch: [part],
    pipelines: () => [
      getPipeline(gpu, GROUPED, "conv2d_grouped_backward_weight", { WG }),
      getPipeline(gpu, GROUPED, "conv2d_grouped_reduce_weight", { WG }),
    ],
    steps: ([tile, reduce]) => [
      bindGrouped(gpu, tile, s, splits * weights, { x, dy, part_out: part }, shares),
      bindGrouped(gpu, reduce, s, weights, { part, dw }, shares, args.accumulate),
    ],
  });
}

/**
 * Records the grouped convolution's weight gradient once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { groupedConv2dBackwardWeight } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2], [1, 2, 1, 1]);
 * const dy = Tensor.from(gpu, [3, 5], [1, 2, 1, 1]);
 * const dw = Tensor.from(gpu, [1, 1], [2, 1, 1, 1]);
 * await groupedConv2dBackwardWeight(gpu, { x, dy, dw, groups: 2, accumulate: true });
 * assert.deepEqual(Array.from(await dw.read()), [4, 11]);
 * gpu.destroy();
 * ```
 */
export async function groupedConv2dBackwardWeight(
  gpu: Gpu,
  args: GroupedConv2dBackwardWeightArgs,
): Promise<void> {
  recordOnce(await prepareGroupedConv2dBackwardWeight(gpu, args));
}

/** Binds a tile pipeline: `total` tiles along x (folded into z past the device's limit). */
function bindTiles(
  gpu: Gpu,
  op: string,
  pipeline: Pipeline,
  s: GroupedShape,
  v: TileVariant,
  total: number,
  gy: number,
  resources: Record<string, Tensor>,
  extra: Record<string, number>,
  accumulate = false,
): Dispatch {
  const { grid, row } = foldGroups(op, total, v.wg, gpu, gy);
  return new Dispatch(gpu, pipeline, resources, {
    ...uniforms(s, total, row, accumulate),
    ...extra,
  }, grid);
}

/** Channel quads per invocation: the variant's rows, capped at a group's `channels`. */
function channelQuads(v: TileVariant, channels: number): number {
  return Math.min(v.rows / 4, Math.ceil(channels / 4));
}

/**
 * Prepares the forward or input-gradient pass as register tiles: packs the weight into vec4
 * quads of the tile's channels (`wt` or `wb` of the WGSL header), then runs the tiles.
 */
function prepareTile(
  gpu: Gpu,
  op: string,
  pass: "forward" | "backward_input",
  s: GroupedShape,
  v: TileVariant,
  io: Record<string, Tensor>,
  accumulate = false,
): Promise<Recordable> {
  const forward = pass === "forward";
  const kk = s.kh * s.kw;
  // Forward tiles run over a group's output channels and output pixels; input-gradient tiles
  // over its input channels and the input pixels of one stride phase.
  const cq = channelQuads(v, forward ? s.fg : s.cg);
  const pq = v.cols / 4;
  const blocks = Math.ceil((forward ? s.fg : s.cg) / (4 * cq));
  const q4 = blocks * cq;
  const pixels = forward ? s.ho * s.wo : Math.ceil(s.h / s.stride) * Math.ceil(s.w / s.stride);
  const tiles = Math.ceil(pixels / (4 * pq));
  const total = s.n * tiles;
  const gy = (forward ? 1 : s.stride * s.stride) * s.groups * blocks;
  const packed = Tensor.empty(
    gpu,
    [(forward ? s.c : s.f) * kk, q4 * 4],
    "f32",
    "grouped conv2d packed weight",
  );
  const packCount = packed.size / 4;
  const { w, ...rest } = io;
  return prepareSteps(gpu, op, {
    scratch: [packed],
    pipelines: () => [
      getPipeline(
        gpu,
        GROUPED,
        forward ? "conv2d_grouped_pack_forward" : "conv2d_grouped_pack_backward",
        { WG },
      ),
      getPipeline(
        gpu,
        GROUPED,
        forward ? "conv2d_grouped_forward_tile" : "conv2d_grouped_backward_input_tile",
        { WG: v.wg, CQ: cq, PQ: pq },
      ),
    ],
    steps: ([pack, tile]) => [
      bindGrouped(gpu, pack, s, packCount, { w, wp_out: packed }, { q4 }),
      bindTiles(
        gpu,
        op,
        tile,
        s,
        v,
        total,
        gy,
        { ...rest, wp: packed },
        { q4, tiles, blocks },
        accumulate,
      ),
    ],
  });
}

/**
 * Prepares the weight gradient as register tiles (output channels x taps of a group) over
 * batch shares, then the shares' reduction (which also does `accumulate`).
 */
function prepareWeightTile(
  gpu: Gpu,
  op: string,
  s: GroupedShape,
  v: TileVariant,
  io: { x: Tensor; dy: Tensor; dw: Tensor; part: Tensor },
  shares: { splits: number; per_split: number },
  accumulate = false,
): Promise<Recordable> {
  const cq = channelQuads(v, s.fg);
  const blocks = Math.ceil(s.fg / (4 * cq));
  const tiles = Math.ceil((s.cg * s.kh * s.kw) / v.cols);
  const total = shares.splits * tiles;
  const { x, dy, dw, part } = io;
  return prepareSteps(gpu, op, {
    scratch: [part],
    pipelines: () => [
      getPipeline(gpu, GROUPED, "conv2d_grouped_backward_weight_tile", {
        WG: v.wg,
        CQ: cq,
        PQ: v.cols / 4,
      }),
      getPipeline(gpu, GROUPED, "conv2d_grouped_reduce_weight", { WG }),
    ],
    steps: ([tile, reduce]) => [
      bindTiles(gpu, op, tile, s, v, total, s.groups * blocks, { x, dy, part_out: part }, {
        ...shares,
        tiles,
        blocks,
      }),
      bindGrouped(gpu, reduce, s, dw.size, { part, dw }, shares, accumulate),
    ],
  });
}

/**
 * The odd shape every candidate is checked on: 2 groups of 13 channels (four channel quads, the
 * last one partial), stride 2, padding.
 */
const CHECK_SHAPE = { x: [3, 26, 9, 11], w: [26, 13, 3, 3], groups: 2, stride: 2, padding: 1 };

/** The prepare functions the tuner's check and timing run. */
const GROUPED_FAMILY: ConvFamily<Conv2dGroups> = {
  forward: prepareGroupedConv2dForward,
  backwardInput: prepareGroupedConv2dBackwardInput,
  backwardWeight: prepareGroupedConv2dBackwardWeight,
};

/**
 * Runs variant `v` of `pass` on an odd shape (with accumulation for the backward passes) and
 * throws when it differs from the CPU reference: the tuner's self-check.
 *
 * @example
 * ```ts
 * import { requestGpu } from "../gpu/mod.ts";
 * import { checkGroupedConv2dVariant } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // Resolves when the 8x16 tile matches the CPU reference; throws otherwise.
 * await checkGroupedConv2dVariant(gpu, "forward", { kernel: "tile", rows: 8, cols: 16, wg: 16 });
 * gpu.destroy();
 * ```
 */
export function checkGroupedConv2dVariant(
  gpu: Gpu,
  pass: Conv2dPass,
  v: GroupedConv2dVariant,
): Promise<void> {
  const extra = { groups: CHECK_SHAPE.groups, groupedVariant: v };
  return checkConvPass(
    gpu,
    GROUPED_FAMILY,
    pass,
    CHECK_SHAPE,
    extra,
    formatGroupedConv2dVariant(v),
  );
}

/**
 * The layers {@link timeGroupedConv2dVariant} times, one after the other: ResNeXt-50 (32x4d)
 * stage 1's and stage 3's grouped 3x3 convolutions (128 channels in 32 groups of 4 at 56x56, 512
 * in groups of 16 at 14x14; stride 1, padding 1) at batch N (1 on software adapters, 16 on GPUs),
 * and their multiply-adds times 2. Narrow and wide groups favour different tiles (a tile's
 * channels are capped at the group's), so one choice is weighed on both.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { groupedConv2dTuneLayers } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const { layers, flop } = groupedConv2dTuneLayers(gpu);
 * assert.deepEqual(layers.map((l) => l.c / l.groups), [4, 16]);
 * const macs = layers.map((l) => l.n * l.c * (l.c / l.groups) * 9 * l.hw * l.hw);
 * assert.equal(flop, 2 * (macs[0] + macs[1]));
 * gpu.destroy();
 * ```
 */
export function groupedConv2dTuneLayers(gpu: Gpu): {
  layers: readonly { n: number; c: number; groups: number; hw: number }[];
  flop: number;
} {
  const n = gpu.isFallback ? 1 : 16;
  const layers = [{ n, c: 128, groups: 32, hw: 56 }, { n, c: 512, groups: 32, hw: 14 }];
  const flop = layers.reduce((sum, l) => sum + 2 * l.n * l.c * (l.c / l.groups) * 9 * l.hw ** 2, 0);
  return { layers, flop };
}

/**
 * Times variant `v` of `pass` on {@link groupedConv2dTuneLayers}; returns ms per call of all
 * of them (submits and waits).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { timeGroupedConv2dVariant } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const ms = await timeGroupedConv2dVariant(gpu, "forward", { kernel: "tile", rows: 8, cols: 8, wg: 16 });
 * assert.equal(ms > 0, true);
 * gpu.destroy();
 * ```
 */
export async function timeGroupedConv2dVariant(
  gpu: Gpu,
  pass: Conv2dPass,
  v: GroupedConv2dVariant,
): Promise<number> {
  let ms = 0;
  for (const { n, c, groups, hw } of groupedConv2dTuneLayers(gpu).layers) {
    const layer = { x: [n, c, hw, hw], w: [c, c / groups, 3, 3], stride: 1, padding: 1, groups };
    const flop = 2 * n * c * (c / groups) * 9 * hw * hw;
    ms += await timeConvPass(gpu, GROUPED_FAMILY, pass, layer, { groups, groupedVariant: v }, flop);
  }
  return ms;
}
