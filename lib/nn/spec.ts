/**
 * Network descriptions as data: a ResNet is a stem (a convolution, then optionally a max pool),
 * stages of BasicBlocks or bottleneck blocks, a global average pool and a linear head.
 * {@link planResNet} turns a description into the list of layers with their shapes; the GPU
 * network, the size figures and the description line all read that one plan.
 *
 * @module
 */

/**
 * One stage of blocks: all blocks have `channels` outputs; the first uses `stride`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resnet8, type StageSpec } from "./spec.ts";
 * const last: StageSpec = resnet8().stages[2];
 * assert.deepEqual(last, { channels: 64, blocks: 1, stride: 2 });
 * ```
 */
export interface StageSpec {
  /** Output channels of every block in the stage. */
  readonly channels: number;
  /** Number of blocks. */
  readonly blocks: number;
  /** Stride of the first block (1 or 2); the others use 1. */
  readonly stride: number;
  /** Bottleneck blocks only: channels of the inner 1x1 and 3x3 convolutions. */
  readonly inner?: number;
}

/**
 * How a block that changes shape (stride 2 or more channels) carries its input to the add.
 *
 * - `"B"`: a 1x1 convolution with the block's stride, then batch norm (He et al.'s option B;
 *   what ltkit's networks used before this field existed, so an absent field means B).
 * - `"A"`: the input subsampled with the block's stride and zero-padded to the new channel count,
 *   no parameters (option A, as LDAM-DRW's and BALMS's CIFAR ResNet-32); the zero channels sit
 *   half before and half after the input's channels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resnet32, SHORTCUTS, type Shortcut } from "./spec.ts";
 * const shortcut: Shortcut = resnet32().shortcut!;
 * assert.deepEqual([shortcut, SHORTCUTS], ["A", ["A", "B"]]);
 * ```
 */
export type Shortcut = "A" | "B";

/**
 * Every {@link Shortcut}, for validation and flags.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SHORTCUTS } from "./spec.ts";
 * assert.deepEqual(SHORTCUTS.includes("B"), true);
 * ```
 */
export const SHORTCUTS: readonly Shortcut[] = ["A", "B"];

/**
 * How weights start (BN always starts at scale 1, shift 0):
 *
 * - `"fan-out"`: convolutions Kaiming-normal with fan_out (torchvision, the reference recipe),
 *   the linear layer uniform in +-1/sqrt(fan_in) (PyTorch's default). What ltkit's networks used
 *   before this field existed, so an absent field means it.
 * - `"fan-in"`: convolutions and the linear weight Kaiming-normal with fan_in (PyTorch's
 *   `kaiming_normal_` default, as the CIFAR ResNets of LDAM-DRW and BALMS), the bias as above.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { INITS, resnet32, type WeightInit } from "./spec.ts";
 * const init: WeightInit = resnet32().init!;
 * assert.deepEqual([init, INITS], ["fan-in", ["fan-out", "fan-in"]]);
 * ```
 */
export type WeightInit = "fan-out" | "fan-in";

/**
 * Every {@link WeightInit}, for validation and flags.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { INITS } from "./spec.ts";
 * assert.equal(INITS.includes("fan-out"), true);
 * ```
 */
export const INITS: readonly WeightInit[] = ["fan-out", "fan-in"];

/**
 * A ResNet. The optional fields default to the CIFAR style (3x3 stride-1 stem, no max pool,
 * BasicBlocks, option-B shortcuts, no groups), so descriptions written before they existed keep
 * their meaning.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeResNet, type ResNetSpec } from "./spec.ts";
 * const spec: ResNetSpec = {
 *   name: "tiny",
 *   input: [1, 8, 8],
 *   stem: 4,
 *   stages: [{ channels: 4, blocks: 1, stride: 1 }, { channels: 8, blocks: 1, stride: 2 }],
 *   classes: 3,
 * };
 * assert.deepEqual(describeResNet(spec), "tiny: 1x8x8 -> 4 -> [4x1, 8x1/2] -> 3, shortcut B, 1319 parameters");
 * ```
 */
export interface ResNetSpec {
  /** Name used in logs and error messages. */
  readonly name: string;
  /** Input (channels, height, width). */
  readonly input: readonly [number, number, number];
  /** Output channels of the stem convolution. */
  readonly stem: number;
  /** Stages, in order. */
  readonly stages: readonly StageSpec[];
  /** Number of classes (outputs of the linear head). */
  readonly classes: number;
  /** Stem kernel size (default 3; 7 for the ImageNet ResNets). Padding is kernel / 2. */
  readonly stemKernel?: number;
  /** Stem stride (default 1; 2 for the ImageNet ResNets). */
  readonly stemStride?: number;
  /** A 3x3 stride-2 max pool (padding 1) after the stem (default false). */
  readonly stemPool?: boolean;
  /** Block type (default `"basic"`: two 3x3 convolutions; `"bottleneck"`: 1x1, 3x3, 1x1). */
  readonly block?: "basic" | "bottleneck";
  /** Groups of the bottleneck's 3x3 convolution (default 1; 32 for ResNeXt-50 32x4d). */
  readonly groups?: number;
  /** Shortcut of blocks that change shape (default `"B"`). */
  readonly shortcut?: Shortcut;
  /** How weights start (default `"fan-out"`). */
  readonly init?: WeightInit;
}

/**
 * ResNet-8 for 28x28x1 inputs, as in the reference recipe (option-B shortcuts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeResNet, resnet8 } from "./spec.ts";
 * assert.deepEqual(
 *   describeResNet(resnet8()),
 *   "resnet8: 1x28x28 -> 16 -> [16x1, 32x1/2, 64x1/2] -> 10, shortcut B, 77754 parameters",
 * );
 * ```
 */
export function resnet8(
  classes = 10,
  input: readonly [number, number, number] = [1, 28, 28],
): ResNetSpec {
  return resnet("resnet8", input, 16, [16, 32, 64], 1, classes);
}

/**
 * ResNet-20 (3 blocks per stage) for 32x32x3 inputs, with He et al.'s option-A shortcuts unless
 * told otherwise and fan-in initialisation, as the widely used CIFAR implementation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeResNet, resnet20 } from "./spec.ts";
 * assert.deepEqual(
 *   describeResNet(resnet20(100)),
 *   "resnet20: 3x32x32 -> 16 -> [16x3, 32x3/2, 64x3/2] -> 100, shortcut A, init fan-in, " +
 *     "0.276 M parameters",
 * );
 * ```
 */
export function resnet20(
  classes = 10,
  input: readonly [number, number, number] = [3, 32, 32],
  shortcut: Shortcut = "A",
): ResNetSpec {
  return { ...resnet("resnet20", input, 16, [16, 32, 64], 3, classes, shortcut), init: "fan-in" };
}

/**
 * ResNet-32 (5 blocks per stage) for 32x32x3 inputs, as LDAM-DRW and BALMS define it for
 * CIFAR-LT: option-A shortcuts unless told otherwise, fan-in initialisation, 64-d feature, about
 * 0.46 M parameters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parameterCount, resnet32 } from "./spec.ts";
 * assert.deepEqual(resnet32().stages.map((s) => s.blocks), [5, 5, 5]);
 * assert.deepEqual(parameterCount(resnet32()), 464154);
 * ```
 */
export function resnet32(
  classes = 10,
  input: readonly [number, number, number] = [3, 32, 32],
  shortcut: Shortcut = "A",
): ResNetSpec {
  return { ...resnet("resnet32", input, 16, [16, 32, 64], 5, classes, shortcut), init: "fan-in" };
}

/**
 * A CIFAR-style ResNet with `widths[i]` channels in stage i, `blocks` BasicBlocks per stage,
 * strides 1, 2, 2, ...
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeResNet, resnet } from "./spec.ts";
 * const spec = resnet("resnet14", [1, 28, 28], 16, [16, 32, 64], 2, 10);
 * assert.deepEqual(
 *   describeResNet(spec),
 *   "resnet14: 1x28x28 -> 16 -> [16x2, 32x2/2, 64x2/2] -> 10, shortcut B, 0.175 M parameters",
 * );
 * ```
 */
export function resnet(
  name: string,
  input: readonly [number, number, number],
  stem: number,
  widths: readonly number[],
  blocks: number,
  classes: number,
  shortcut: Shortcut = "B",
): ResNetSpec {
  return {
    name,
    input,
    stem,
    stages: widths.map((channels, i) => ({ channels, blocks, stride: i === 0 ? 1 : 2 })),
    classes,
    ...(shortcut === "B" ? {} : { shortcut }),
  };
}

/**
 * Options of {@link imagenetResNet}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imagenetResNet, type ImageNetResNetOptions } from "./spec.ts";
 * const resnext: ImageNetResNetOptions = { block: "bottleneck", groups: 32, groupWidth: 4 };
 * const spec = imagenetResNet("resnext50", [3, 224, 224], 64, [3, 4, 6, 3], 1000, resnext);
 * assert.deepEqual(spec.stages[0].inner, 128);
 * ```
 */
export interface ImageNetResNetOptions {
  /** Block type (default `"basic"`). */
  block?: "basic" | "bottleneck";
  /** Groups of the bottleneck's 3x3 convolution (default 1). */
  groups?: number;
  /** Bottleneck channels per group at width 64 (default 64; ResNeXt 32x4d: 4). */
  groupWidth?: number;
  /** Shortcut of blocks that change shape (default `"B"`). */
  shortcut?: Shortcut;
}

/**
 * An ImageNet-style ResNet (He et al. 2016; torchvision's layout, stride in the 3x3
 * convolution): 7x7 stride-2 stem to `width` channels, 3x3 stride-2 max pool, stages at width,
 * 2, 4 and 8 times width (times 4 for bottlenecks), strides 1, 2, 2, 2.
 *
 * @param name Name in logs.
 * @param input (C,H,W).
 * @param width Stem channels and first-stage width (64 in the papers).
 * @param blocks Blocks per stage.
 * @param classes Outputs of the linear head.
 * @param options Block type, groups, shortcut.
 * @returns The description.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { featureDim, imagenetResNet, parameterCount } from "./spec.ts";
 * const r18 = imagenetResNet("resnet18", [3, 224, 224], 64, [2, 2, 2, 2], 1000);
 * assert.deepEqual([featureDim(r18), parameterCount(r18)], [512, 11689512]); // torchvision's count
 * ```
 */
export function imagenetResNet(
  name: string,
  input: readonly [number, number, number],
  width: number,
  blocks: readonly number[],
  classes: number,
  options: ImageNetResNetOptions = {},
): ResNetSpec {
  const block = options.block ?? "basic";
  const groups = options.groups ?? 1;
  const groupWidth = options.groupWidth ?? 64;
  const expansion = block === "bottleneck" ? 4 : 1;
  return {
    name,
    input,
    stem: width,
    stemKernel: 7,
    stemStride: 2,
    stemPool: true,
    stages: blocks.map((n, i) => {
      const planes = width * 2 ** i;
      const stage = { channels: planes * expansion, blocks: n, stride: i === 0 ? 1 : 2 };
      return block === "bottleneck"
        ? { ...stage, inner: Math.floor((planes * groupWidth) / 64) * groups }
        : stage;
    }),
    classes,
    ...(block === "bottleneck" ? { block } : {}),
    ...(groups !== 1 ? { groups } : {}),
    ...(options.shortcut && options.shortcut !== "B" ? { shortcut: options.shortcut } : {}),
  };
}

/**
 * Checks a spec and throws a clear error on nonsense.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resnet8, validateResNetSpec } from "./spec.ts";
 * validateResNetSpec(resnet8()); // fine
 * assert.throws(() => validateResNetSpec(resnet8(1)), /it has 1 classes; it needs at least 2/);
 * ```
 */
export function validateResNetSpec(spec: ResNetSpec): void {
  const bad = (what: string) => {
    throw new RangeError(`Cannot build ${spec.name}: ${what}`);
  };
  const whole = (v: unknown, min: number) => Number.isInteger(v) && (v as number) >= min;
  const [c, h, w] = spec.input;
  for (const [name, v] of [["input channels", c], ["input height", h], ["input width", w]]) {
    if (!whole(v, 1)) bad(`${name} is ${v}; it must be >= 1`);
  }
  if (!whole(spec.stem, 1)) bad(`stem width is ${spec.stem}`);
  const kernel = spec.stemKernel ?? 3;
  if (!whole(kernel, 1) || kernel % 2 === 0) {
    bad(`stem kernel is ${kernel}; use an odd size such as 3 or 7`);
  }
  const stemStride = spec.stemStride ?? 1;
  if (stemStride !== 1 && stemStride !== 2) bad(`stem stride is ${stemStride}; use 1 or 2`);
  if (spec.stages.length === 0) bad("it has no stages");
  const block = spec.block ?? "basic";
  if (block !== "basic" && block !== "bottleneck") {
    bad(`block is ${JSON.stringify(block)}; use "basic" or "bottleneck"`);
  }
  const groups = spec.groups ?? 1;
  if (!whole(groups, 1)) bad(`groups is ${groups}; it must be a whole number >= 1`);
  if (groups > 1 && block !== "bottleneck") {
    bad(`groups is ${groups} but only bottleneck blocks group`);
  }
  if (!INITS.includes(spec.init ?? "fan-out")) {
    bad(`init is ${JSON.stringify(spec.init)}; use ${INITS.join(" or ")}`);
  }
  const shortcut = spec.shortcut ?? "B";
  if (!SHORTCUTS.includes(shortcut)) {
    bad(`shortcut is ${JSON.stringify(shortcut)}; use ${SHORTCUTS.join(" or ")}`);
  }
  let cin = spec.stem;
  for (const [i, s] of spec.stages.entries()) {
    if (!whole(s.channels, 1)) bad(`stage ${i} has ${s.channels} channels`);
    if (!whole(s.blocks, 1)) bad(`stage ${i} has ${s.blocks} blocks`);
    if (s.stride !== 1 && s.stride !== 2) bad(`stage ${i} has stride ${s.stride}; use 1 or 2`);
    if (block === "bottleneck") {
      if (!whole(s.inner, 1)) {
        bad(`stage ${i} has ${s.inner} inner bottleneck channels; it needs >= 1 (a larger width)`);
      }
      if (s.inner! % groups !== 0) {
        bad(`stage ${i} has ${s.inner} inner channels, not a multiple of the ${groups} groups`);
      }
    } else if (s.inner !== undefined) {
      bad(`stage ${i} gives inner channels but the blocks are basic`);
    }
    if (shortcut === "A" && s.channels < cin) {
      bad(
        `stage ${i} narrows ${cin} to ${s.channels} channels, which a zero-padding (A) ` +
          `shortcut cannot; use shortcut B`,
      );
    }
    cin = s.channels;
  }
  if (!whole(spec.classes, 2)) bad(`it has ${spec.classes} classes; it needs at least 2`);
  const plan = planResNet(spec, false);
  const last = plan.blocks[plan.blocks.length - 1].output;
  if (last.some((v) => v < 1)) bad(`the ${h}x${w} input is too small for its strides`);
}

/**
 * The feature dimension (width of the last stage).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { featureDim, resnet8 } from "./spec.ts";
 * assert.deepEqual(featureDim(resnet8()), 64);
 * ```
 */
export function featureDim(spec: ResNetSpec): number {
  return spec.stages[spec.stages.length - 1].channels;
}

/**
 * One convolution of a plan (each is followed by batch norm).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ConvPlan, planResNet, resnet8 } from "./spec.ts";
 * const stem: ConvPlan = planResNet(resnet8()).stem;
 * assert.deepEqual([stem.name, stem.cin, stem.cout, stem.kernel, stem.output], [
 *   "stem", 1, 16, 3, [28, 28],
 * ]);
 * ```
 */
export interface ConvPlan {
  /** Parameter prefix: `stem`, `stage1.block1.1`, `stage2.block1.shortcut`, ... */
  readonly name: string;
  /** Input channels. */
  readonly cin: number;
  /** Output channels. */
  readonly cout: number;
  /** Kernel size (square). */
  readonly kernel: number;
  /** Stride. */
  readonly stride: number;
  /** Zero padding on every side (kernel / 2). */
  readonly padding: number;
  /** Channel groups (1: a plain convolution). */
  readonly groups: number;
  /** Input (H, W). */
  readonly input: readonly [number, number];
  /** Output (H, W). */
  readonly output: readonly [number, number];
  /** Whether a ReLU follows its batch norm inside the block (false for the last conv). */
  readonly relu: boolean;
}

/**
 * One residual block of a plan: `out = relu(main(x) + shortcut(x))`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BlockPlan, planResNet, resnet32 } from "./spec.ts";
 * const block: BlockPlan = planResNet(resnet32()).blocks[5];
 * assert.deepEqual([block.name, block.main.length, block.shortcut, block.output], [
 *   "stage2.block1", 2, "pad", [32, 16, 16],
 * ]);
 * ```
 */
export interface BlockPlan {
  /** Prefix of its parameters, `stage{s}.block{b}`. */
  readonly name: string;
  /** Input (C, H, W). */
  readonly input: readonly [number, number, number];
  /** Output (C, H, W). */
  readonly output: readonly [number, number, number];
  /** The main path: two convolutions (basic) or three (bottleneck). */
  readonly main: readonly ConvPlan[];
  /** The shortcut: the input itself, subsampled and zero-padded (A), or a 1x1 conv + BN (B). */
  readonly shortcut: "identity" | "pad" | ConvPlan;
  /** Stride of the block (the shortcut's subsampling). */
  readonly stride: number;
}

/**
 * Layers of a network with their shapes, in forward order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imagenetResNet, type NetworkPlan, planResNet } from "./spec.ts";
 * const plan: NetworkPlan = planResNet(imagenetResNet("r10", [3, 224, 224], 64, [1, 1, 1, 1], 10));
 * assert.deepEqual([plan.stem.output, plan.pool?.output, plan.blocks.at(-1)!.output], [
 *   [112, 112], [56, 56], [512, 7, 7],
 * ]);
 * ```
 */
export interface NetworkPlan {
  /** The stem convolution (ReLU after its batch norm). */
  readonly stem: ConvPlan;
  /** The max pool after the stem, if any: 3x3, stride 2, padding 1. */
  readonly pool: { readonly output: readonly [number, number] } | null;
  /** Every block, stage by stage. */
  readonly blocks: readonly BlockPlan[];
  /** The feature dimension. */
  readonly feature: number;
}

const outSize = (size: number, kernel: number, stride: number, padding: number) =>
  Math.floor((size + 2 * padding - kernel) / stride) + 1;

/**
 * The layers of `spec` with their shapes. Parameter names are stable: `stem`, then
 * `stage{s}.block{b}.{1,2,3}` for the main path and `.shortcut` for option B.
 *
 * @param spec The description.
 * @param validate Check the spec first (default true).
 * @returns The plan.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planResNet, resnet8 } from "./spec.ts";
 * const plan = planResNet(resnet8());
 * assert.deepEqual(plan.blocks.map((b) => typeof b.shortcut === "string" ? b.shortcut : "conv"), [
 *   "identity", "conv", "conv",
 * ]);
 * ```
 */
export function planResNet(spec: ResNetSpec, validate = true): NetworkPlan {
  if (validate) validateResNetSpec(spec);
  const conv = (
    name: string,
    cin: number,
    cout: number,
    kernel: number,
    stride: number,
    input: readonly [number, number],
    relu: boolean,
    groups = 1,
  ): ConvPlan => {
    const padding = Math.floor(kernel / 2);
    const output = [
      outSize(input[0], kernel, stride, padding),
      outSize(input[1], kernel, stride, padding),
    ] as const;
    return { name, cin, cout, kernel, stride, padding, groups, input, output, relu };
  };
  const [c0, h0, w0] = spec.input;
  const stem = conv("stem", c0, spec.stem, spec.stemKernel ?? 3, spec.stemStride ?? 1, [
    h0,
    w0,
  ], true);
  let size: readonly [number, number] = stem.output;
  let pool: NetworkPlan["pool"] = null;
  if (spec.stemPool) {
    size = [outSize(size[0], 3, 2, 1), outSize(size[1], 3, 2, 1)];
    pool = { output: size };
  }
  const bottleneck = spec.block === "bottleneck";
  const blocks: BlockPlan[] = [];
  let cin = spec.stem;
  for (const [si, stage] of spec.stages.entries()) {
    for (let bi = 0; bi < stage.blocks; bi++) {
      const name = `stage${si + 1}.block${bi + 1}`;
      const stride = bi === 0 ? stage.stride : 1;
      const cout = stage.channels;
      let main: ConvPlan[];
      if (bottleneck) {
        const inner = stage.inner!;
        const a = conv(`${name}.1`, cin, inner, 1, 1, size, true);
        const b = conv(`${name}.2`, inner, inner, 3, stride, size, true, spec.groups ?? 1);
        main = [a, b, conv(`${name}.3`, inner, cout, 1, 1, b.output, false)];
      } else {
        const a = conv(`${name}.1`, cin, cout, 3, stride, size, true);
        main = [a, conv(`${name}.2`, cout, cout, 3, 1, a.output, false)];
      }
      const out = main[main.length - 1].output;
      const shortcut = stride === 1 && cin === cout
        ? "identity"
        : (spec.shortcut ?? "B") === "A"
        ? "pad"
        : conv(`${name}.shortcut`, cin, cout, 1, stride, size, false);
      blocks.push({
        name,
        input: [cin, size[0], size[1]],
        output: [cout, out[0], out[1]],
        main,
        shortcut,
        stride,
      });
      size = out;
      cin = cout;
    }
  }
  return { stem, pool, blocks, feature: cin };
}

/** Every convolution of a plan, in forward order. */
function convolutions(plan: NetworkPlan): ConvPlan[] {
  return [
    plan.stem,
    ...plan.blocks.flatMap((
      b,
    ) => [...b.main, ...(typeof b.shortcut === "string" ? [] : [b.shortcut])]),
  ];
}

/**
 * Multiply-adds of one forward pass for one image (convolutions and the linear layer).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { forwardMacs, resnet8 } from "./spec.ts";
 * assert.deepEqual(`${(forwardMacs(resnet8()) / 1e6).toFixed(1)} M`, "9.3 M");
 * ```
 */
export function forwardMacs(spec: ResNetSpec): number {
  const plan = planResNet(spec);
  const macs = convolutions(plan).reduce(
    (sum, c) => sum + (c.cin / c.groups) * c.cout * c.kernel ** 2 * c.output[0] * c.output[1],
    0,
  );
  return macs + plan.feature * spec.classes;
}

/**
 * Trainable values: convolution weights, batch-norm scales and shifts, the linear layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imagenetResNet, parameterCount } from "./spec.ts";
 * const r50 = imagenetResNet("resnet50", [3, 224, 224], 64, [3, 4, 6, 3], 1000, {
 *   block: "bottleneck",
 * });
 * assert.deepEqual(parameterCount(r50), 25557032); // torchvision's resnet50
 * ```
 */
export function parameterCount(spec: ResNetSpec): number {
  const plan = planResNet(spec);
  const convs = convolutions(plan).reduce(
    (sum, c) => sum + (c.cin / c.groups) * c.cout * c.kernel ** 2 + 2 * c.cout,
    0,
  );
  return convs + (plan.feature + 1) * spec.classes;
}

/**
 * One line describing the network, with its parameter count (several papers silently used wider
 * networks than they named): `resnet32: 3x32x32 -> 16 -> [16x5, 32x5/2, 64x5/2] -> 10,
 * shortcut A, 0.464 M parameters`. Non-default stems, blocks and shortcuts are spelled out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeResNet, imagenetResNet, resnet32 } from "./spec.ts";
 * assert.deepEqual(
 *   describeResNet(resnet32(100)),
 *   "resnet32: 3x32x32 -> 16 -> [16x5, 32x5/2, 64x5/2] -> 100, shortcut A, init fan-in, " +
 *     "0.470 M parameters",
 * );
 * const rx = imagenetResNet("resnext50", [3, 224, 224], 64, [3, 4, 6, 3], 1000, {
 *   block: "bottleneck",
 *   groups: 32,
 *   groupWidth: 4,
 * });
 * assert.deepEqual(
 *   describeResNet(rx),
 *   "resnext50: 3x224x224 -> 7x7/2 64, maxpool/2 -> bottleneck 32 groups [128-256x3, " +
 *     "256-512x4/2, 512-1024x6/2, 1024-2048x3/2] -> 1000, shortcut B, 25.0 M parameters",
 * );
 * ```
 */
export function describeResNet(spec: ResNetSpec): string {
  const k = spec.stemKernel ?? 3;
  const s = spec.stemStride ?? 1;
  const stem = (k === 3 && s === 1 ? "" : `${k}x${k}${s > 1 ? `/${s}` : ""} `) + spec.stem +
    (spec.stemPool ? ", maxpool/2" : "");
  const bottleneck = spec.block === "bottleneck";
  const groups = spec.groups ?? 1;
  const kind = bottleneck ? `bottleneck ${groups > 1 ? `${groups} groups ` : ""}` : "";
  const stages = spec.stages.map((st) =>
    `${bottleneck ? `${st.inner}-` : ""}${st.channels}x${st.blocks}${st.stride > 1 ? "/2" : ""}`
  );
  const n = parameterCount(spec);
  const count = n < 1e5 ? `${n} parameters` : `${(n / 1e6).toPrecision(3)} M parameters`;
  const reshapes = planResNet(spec).blocks.some((b) => b.shortcut !== "identity");
  const shortcut = (reshapes ? `, shortcut ${spec.shortcut ?? "B"}` : "") +
    ((spec.init ?? "fan-out") === "fan-out" ? "" : `, init ${spec.init}`);
  return `${spec.name}: ${spec.input.join("x")} -> ${stem} -> ${kind}[${stages.join(", ")}] -> ` +
    `${spec.classes}${shortcut}, ${count}`;
}
