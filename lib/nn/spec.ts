/**
 * Network descriptions as data: a ResNet is a stem, stages of BasicBlocks and a linear head.
 *
 * @module
 */

/**
 * One stage of BasicBlocks: all blocks have `channels` outputs; the first uses `stride`.
 *
 * @example
 * ```ts
 * import { resnet8, type StageSpec } from "./spec.ts";
 * const last: StageSpec = resnet8().stages[2];
 * console.log(last); // { channels: 64, blocks: 1, stride: 2 }
 * ```
 */
export interface StageSpec {
  /** Output channels of every block in the stage. */
  readonly channels: number;
  /** Number of BasicBlocks. */
  readonly blocks: number;
  /** Stride of the first block (1 or 2); the others use 1. */
  readonly stride: number;
}

/**
 * A CIFAR-style ResNet: conv3x3 stem + BN + ReLU, BasicBlock stages, global pool, linear.
 *
 * @example
 * ```ts
 * import { describeResNet, type ResNetSpec } from "./spec.ts";
 * const spec: ResNetSpec = {
 *   name: "tiny",
 *   input: [1, 8, 8],
 *   stem: 4,
 *   stages: [{ channels: 4, blocks: 1, stride: 1 }, { channels: 8, blocks: 1, stride: 2 }],
 *   classes: 3,
 * };
 * console.log(describeResNet(spec)); // "tiny: 1x8x8 -> 4 -> [4x1, 8x1/2] -> 3"
 * ```
 */
export interface ResNetSpec {
  /** Name used in logs and error messages. */
  readonly name: string;
  /** Input (channels, height, width). */
  readonly input: readonly [number, number, number];
  /** Output channels of the stem convolution. */
  readonly stem: number;
  /** BasicBlock stages, in order. */
  readonly stages: readonly StageSpec[];
  /** Number of classes (outputs of the linear head). */
  readonly classes: number;
}

/**
 * ResNet-8 for 28x28x1 inputs, as in the reference recipe.
 *
 * @example
 * ```ts
 * import { describeResNet, resnet8 } from "./spec.ts";
 * console.log(describeResNet(resnet8()));
 * // "resnet8: 1x28x28 -> 16 -> [16x1, 32x1/2, 64x1/2] -> 10"
 * ```
 */
export function resnet8(
  classes = 10,
  input: readonly [number, number, number] = [1, 28, 28],
): ResNetSpec {
  return resnet("resnet8", input, 16, [16, 32, 64], 1, classes);
}

/**
 * ResNet-20 (3 blocks per stage) for 32x32x3 inputs.
 *
 * @example
 * ```ts
 * import { describeResNet, resnet20 } from "./spec.ts";
 * console.log(describeResNet(resnet20(100)));
 * // "resnet20: 3x32x32 -> 16 -> [16x3, 32x3/2, 64x3/2] -> 100"
 * ```
 */
export function resnet20(
  classes = 10,
  input: readonly [number, number, number] = [3, 32, 32],
): ResNetSpec {
  return resnet("resnet20", input, 16, [16, 32, 64], 3, classes);
}

/**
 * ResNet-32 (5 blocks per stage) for 32x32x3 inputs.
 *
 * @example
 * ```ts
 * import { resnet32 } from "./spec.ts";
 * console.log(resnet32().stages.map((s) => s.blocks)); // [5, 5, 5]
 * ```
 */
export function resnet32(
  classes = 10,
  input: readonly [number, number, number] = [3, 32, 32],
): ResNetSpec {
  return resnet("resnet32", input, 16, [16, 32, 64], 5, classes);
}

/**
 * A ResNet with `widths[i]` channels in stage i, `blocks` per stage, strides 1, 2, 2, ...
 *
 * @example
 * ```ts
 * import { describeResNet, resnet } from "./spec.ts";
 * const spec = resnet("resnet14", [1, 28, 28], 16, [16, 32, 64], 2, 10);
 * console.log(describeResNet(spec)); // "resnet14: 1x28x28 -> 16 -> [16x2, 32x2/2, 64x2/2] -> 10"
 * ```
 */
export function resnet(
  name: string,
  input: readonly [number, number, number],
  stem: number,
  widths: readonly number[],
  blocks: number,
  classes: number,
): ResNetSpec {
  return {
    name,
    input,
    stem,
    stages: widths.map((channels, i) => ({ channels, blocks, stride: i === 0 ? 1 : 2 })),
    classes,
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
  const [c, h, w] = spec.input;
  for (const [name, v] of [["input channels", c], ["input height", h], ["input width", w]]) {
    if (!Number.isInteger(v) || (v as number) < 1) bad(`${name} is ${v}; it must be >= 1`);
  }
  if (!Number.isInteger(spec.stem) || spec.stem < 1) bad(`stem width is ${spec.stem}`);
  if (spec.stages.length === 0) bad("it has no stages");
  for (const [i, s] of spec.stages.entries()) {
    if (!Number.isInteger(s.channels) || s.channels < 1) {
      bad(`stage ${i} has ${s.channels} channels`);
    }
    if (!Number.isInteger(s.blocks) || s.blocks < 1) bad(`stage ${i} has ${s.blocks} blocks`);
    if (s.stride !== 1 && s.stride !== 2) bad(`stage ${i} has stride ${s.stride}; use 1 or 2`);
  }
  if (!Number.isInteger(spec.classes) || spec.classes < 2) {
    bad(`it has ${spec.classes} classes; it needs at least 2`);
  }
}

/**
 * The feature dimension (width of the last stage).
 *
 * @example
 * ```ts
 * import { featureDim, resnet8 } from "./spec.ts";
 * console.log(featureDim(resnet8())); // 64
 * ```
 */
export function featureDim(spec: ResNetSpec): number {
  return spec.stages[spec.stages.length - 1].channels;
}

/**
 * Multiply-adds of one forward pass for one image (convolutions and the linear layer).
 *
 * @example
 * ```ts
 * import { forwardMacs, resnet8 } from "./spec.ts";
 * console.log(`${(forwardMacs(resnet8()) / 1e6).toFixed(1)} M`); // "9.3 M"
 * ```
 */
export function forwardMacs(spec: ResNetSpec): number {
  let [c, h, w] = spec.input;
  let macs = 0;
  const conv = (cin: number, cout: number, k: number, stride: number) => {
    const ho = Math.floor((h + 2 * Math.floor(k / 2) - k) / stride) + 1;
    const wo = Math.floor((w + 2 * Math.floor(k / 2) - k) / stride) + 1;
    macs += cin * cout * k * k * ho * wo;
    return [ho, wo];
  };
  [h, w] = conv(c, spec.stem, 3, 1);
  c = spec.stem;
  for (const stage of spec.stages) {
    for (let b = 0; b < stage.blocks; b++) {
      const stride = b === 0 ? stage.stride : 1;
      const h0 = h, w0 = w;
      [h, w] = conv(c, stage.channels, 3, stride);
      const h1 = h, w1 = w;
      conv(stage.channels, stage.channels, 3, 1);
      if (stride !== 1 || c !== stage.channels) {
        h = h0;
        w = w0;
        conv(c, stage.channels, 1, stride);
        h = h1;
        w = w1;
      }
      c = stage.channels;
    }
  }
  return macs + c * spec.classes;
}

/**
 * One line describing the network: `resnet8: 1x28x28 -> 16 -> [16x1, 32x1/2, 64x1/2] -> 10`.
 *
 * @example
 * ```ts
 * import { describeResNet, resnet8 } from "./spec.ts";
 * console.log(describeResNet(resnet8(100)));
 * // "resnet8: 1x28x28 -> 16 -> [16x1, 32x1/2, 64x1/2] -> 100"
 * ```
 */
export function describeResNet(spec: ResNetSpec): string {
  const stages = spec.stages.map((s) => `${s.channels}x${s.blocks}${s.stride > 1 ? "/2" : ""}`);
  return `${spec.name}: ${spec.input.join("x")} -> ${spec.stem} -> [${stages.join(", ")}] -> ` +
    `${spec.classes}`;
}
