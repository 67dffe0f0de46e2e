/**
 * Grouped-convolution benchmark: the tuning candidates and winner of each pass on the tuning
 * layer, then every candidate on the grouped 3x3 convolutions of ResNeXt-50 (32x4d), timed
 * round-robin (median of the rounds, so load from other processes slows every candidate alike),
 * with its speed-up over the plain kernel in the same run.
 *
 * Usage: `deno task bench --only grouped [--quick]`, or `deno run -A scripts/bench/conv_grouped.ts
 * [--batch 2] [--rounds 3] [--tiles 8x16,16x8]` (tiles: wg16 tile shapes to time beside the plain
kernel instead of the adapter's candidates).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Gpu, requestGpu } from "../../lib/gpu/device.ts";
import { hostGpuOptions } from "../../lib/io/_gpu_host.ts";
import type { Recordable } from "../../lib/gpu/kernel.ts";
import { Tensor } from "../../lib/gpu/tensor.ts";
import type { Conv2dPass } from "../../lib/ops/conv2d.ts";
import {
  formatGroupedConv2dVariant,
  groupedConv2dCandidates,
  groupedConv2dOutputShape,
  groupedConv2dTuneLayers,
  type GroupedConv2dVariant,
  groupedConv2dVariant,
  prepareGroupedConv2dBackwardInput,
  prepareGroupedConv2dBackwardWeight,
  prepareGroupedConv2dForward,
} from "../../lib/ops/conv2d_grouped.ts";
import { timeRecorded } from "../../lib/ops/tune.ts";
import { type BenchRow, type BenchSection, median, seeded, tuningRows } from "./common.ts";

/** One grouped 3x3 convolution of ResNeXt-50 (32x4d): C = F channels at HW x HW input. */
export interface GroupedCase {
  readonly name: string;
  readonly c: number;
  readonly hw: number;
  readonly stride: number;
}

/**
 * The distinct grouped convolutions of ResNeXt-50 (32x4d): 32 groups of 4 to 32 channels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RESNEXT50_GROUPED } from "./conv_grouped.ts";
 * assert.deepEqual(RESNEXT50_GROUPED.map((l) => l.c / 32), [4, 8, 8, 16, 32]);
 * ```
 */
export const RESNEXT50_GROUPED: readonly GroupedCase[] = [
  { name: "stage 1 128 @56", c: 128, hw: 56, stride: 1 },
  { name: "stage 2 256 @56 s2", c: 256, hw: 56, stride: 2 },
  { name: "stage 2 256 @28", c: 256, hw: 28, stride: 1 },
  { name: "stage 3 512 @14", c: 512, hw: 14, stride: 1 },
  { name: "stage 4 1024 @7", c: 1024, hw: 7, stride: 1 },
];

const GROUPS = 32;
const PASSES: readonly Conv2dPass[] = ["forward", "backward_input", "backward_weight"];

/**
 * Times every candidate of every pass on every case at batch `n`, `rounds` round-robin passes
 * each, and returns a row per candidate with GFLOP/s and its speed-up over the plain kernel.
 *
 * @example
 * ```ts ignore
 * const rows = await benchGroupedConv(gpu, { n: 2, rounds: 3 });
 * ```
 */
export async function benchGroupedConv(
  gpu: Gpu,
  options: {
    n?: number;
    rounds?: number;
    cases?: readonly GroupedCase[];
    candidates?: readonly GroupedConv2dVariant[];
  } = {},
): Promise<BenchRow[]> {
  const n = options.n ?? 2;
  const rounds = options.rounds ?? 3;
  const candidates = options.candidates ?? groupedConv2dCandidates(gpu);
  const winners = new Map<Conv2dPass, string>();
  for (const pass of PASSES) {
    winners.set(pass, formatGroupedConv2dVariant((await groupedConv2dVariant(gpu, pass)).config));
  }
  const rows: BenchRow[] = [];
  for (const cs of options.cases ?? RESNEXT50_GROUPED) {
    const xShape = [n, cs.c, cs.hw, cs.hw];
    const wShape = [cs.c, cs.c / GROUPS, 3, 3];
    const yShape = groupedConv2dOutputShape(xShape, wShape, GROUPS, cs.stride, 1);
    const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
    const x = Tensor.from(gpu, seeded(size(xShape), 1), xShape);
    const w = Tensor.from(gpu, seeded(size(wShape), 2), wShape);
    const dy = Tensor.from(gpu, seeded(size(yShape), 3), yShape);
    const y = Tensor.empty(gpu, yShape);
    const dx = Tensor.empty(gpu, xShape);
    const dw = Tensor.empty(gpu, wShape);
    const flop = 2 * size(yShape) * (cs.c / GROUPS) * 9;
    for (const pass of PASSES) {
      const ops: Recordable[] = [];
      for (const groupedVariant of candidates) {
        const g = { groups: GROUPS, stride: cs.stride, padding: 1, groupedVariant };
        ops.push(
          pass === "forward"
            ? await prepareGroupedConv2dForward(gpu, { x, w, y, ...g })
            : pass === "backward_input"
            ? await prepareGroupedConv2dBackwardInput(gpu, { dy, w, dx, ...g })
            : await prepareGroupedConv2dBackwardWeight(gpu, { x, dy, dw, ...g }),
        );
      }
      const samples = candidates.map(() => [] as number[]);
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < candidates.length; i++) {
          const k = (i + r) % candidates.length;
          samples[k].push(await timeRecorded(gpu, () => ops[k].record(), flop));
        }
      }
      for (const op of ops) op.destroy();
      const ms = samples.map(median);
      const plain = candidates.findIndex((v) => v.kernel === "plain");
      candidates.forEach((v, i) => {
        const name = formatGroupedConv2dVariant(v);
        rows.push({
          name: `grouped ${cs.name} ${pass} ${name}`,
          value: flop / ms[i] / 1e6,
          unit: "GFLOP/s",
          note: `${name === winners.get(pass) ? "tuned winner, " : ""}${ms[i].toFixed(1)} ms` +
            (plain >= 0 ? `, ${(ms[plain] / ms[i]).toFixed(2)}x plain` : "") +
            `, batch ${n}`,
        });
      });
    }
    for (const t of [x, w, dy, y, dx, dw]) t.destroy();
    await gpu.sync();
  }
  return rows;
}

/** The `grouped` section of `deno task bench`. */
export const groupedConvSection: BenchSection = {
  name: "grouped",
  description:
    "ResNeXt-50 grouped 3x3 convolutions: tuning candidates and winner per pass, then every " +
    "candidate per layer",
  run: async (ctx) => {
    const rows: BenchRow[] = [];
    const { flop } = groupedConv2dTuneLayers(ctx.gpu);
    for (const pass of PASSES) {
      // Every candidate is timed afresh (interleaved rounds, median), so the table shows them.
      const result = await groupedConv2dVariant(ctx.gpu, pass, { force: true });
      rows.push(...tuningRows(`grouped ${pass}`, result, formatGroupedConv2dVariant, flop));
    }
    ctx.log("grouped: ResNeXt-50 layers, every candidate");
    rows.push(
      ...await benchGroupedConv(ctx.gpu, {
        n: ctx.quick ? 1 : 2,
        rounds: ctx.quick ? 1 : 3,
      }),
    );
    return rows;
  },
};

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      batch: { type: "string", default: "2" },
      rounds: { type: "string", default: "3" },
      tiles: { type: "string" },
    },
  });
  const gpu = await requestGpu({ warnFallback: false, ...hostGpuOptions() });
  const rows = await benchGroupedConv(gpu, {
    n: Number(values.batch),
    rounds: Number(values.rounds),
    candidates: values.tiles === undefined ? undefined : [
      ...values.tiles.split(",").map((t): GroupedConv2dVariant => {
        const [rows, cols] = t.split("x").map(Number);
        return { kernel: "tile", rows, cols, wg: 16 };
      }),
      { kernel: "plain", wg: 64 },
    ],
  });
  console.log(`adapter: ${gpu.adapter.description}`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(56)} ${r.value.toFixed(2).padStart(8)} ${r.unit}  ${r.note}`);
  }
  gpu.destroy();
}
