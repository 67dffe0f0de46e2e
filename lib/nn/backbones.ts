/**
 * The backbones ltkit can train, as rows of one table: name, what it is, how to build its
 * description, its native input size and width, the shortcut its paper uses, and the preset that
 * trains it. `--arch`, `--help`, config validation and the run's model all read this table; a new
 * backbone is a new row.
 *
 * @module
 */

import {
  imagenetResNet,
  type ImageNetResNetOptions,
  resnet,
  type ResNetSpec,
  type Shortcut,
  type WeightInit,
} from "./spec.ts";

/**
 * What a row's builder gets: the config's width and shortcut, and the data's classes and input.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BACKBONES, type BackboneArgs } from "./backbones.ts";
 * const args: BackboneArgs = { width: 16, shortcut: "A", classes: 10, input: [3, 32, 32] };
 * assert.equal(BACKBONES.resnet32.build(args).stages.length, 3);
 * ```
 */
export interface BackboneArgs {
  /** Stem channels and first-stage width (later stages double it). */
  width: number;
  /** Shortcut of blocks that change shape. */
  shortcut: Shortcut;
  /** How weights start (default `"fan-out"`). */
  init?: WeightInit;
  /** Outputs of the linear head. */
  classes: number;
  /** Input (C,H,W), from the data. */
  input: readonly [number, number, number];
}

/**
 * One row of {@link BACKBONES}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Backbone, BACKBONES } from "./backbones.ts";
 * const row: Backbone = BACKBONES.resnet10;
 * assert.deepEqual([row.input, row.width, row.shortcut], [[3, 224, 224], 64, "B"]);
 * ```
 */
export interface Backbone {
  /** One line for `--help`. */
  readonly description: string;
  /** Builds the network description. */
  readonly build: (args: BackboneArgs) => ResNetSpec;
  /** The input size it was designed for (C,H,W); the data decides the actual input. */
  readonly input: readonly [number, number, number];
  /** The width its papers use. */
  readonly width: number;
  /** The shortcut its papers use (what presets for it set). */
  readonly shortcut: Shortcut;
  /** The initialisation its papers' code uses (what presets for it set). */
  readonly init: WeightInit;
  /** The preset that trains it, or null when none exists yet. */
  readonly defaultPreset: string | null;
}

/** The spec with `init` set, left out when it is the default. */
const withInit = (spec: ResNetSpec, init: WeightInit = "fan-out"): ResNetSpec =>
  init === "fan-out" ? spec : { ...spec, init };

const cifar = (blocks: number) => (name: string) => (a: BackboneArgs) => {
  const widths = [a.width, 2 * a.width, 4 * a.width];
  return withInit(resnet(name, a.input, a.width, widths, blocks, a.classes, a.shortcut), a.init);
};

const imagenet =
  (blocks: readonly number[], options: ImageNetResNetOptions = {}) =>
  (name: string) =>
  (a: BackboneArgs) => {
    const spec = imagenetResNet(name, a.input, a.width, blocks, a.classes, {
      ...options,
      shortcut: a.shortcut,
    });
    return withInit(spec, a.init);
  };

const BOTTLENECK = { block: "bottleneck" } as const;

/**
 * Name of a row of {@link BACKBONES}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { BackboneName } from "./backbones.ts";
 * const name: BackboneName = "resnext50";
 * assert.equal(name, "resnext50");
 * ```
 */
export type BackboneName =
  | "resnet8"
  | "resnet20"
  | "resnet32"
  | "resnet10"
  | "resnet18"
  | "resnet34"
  | "resnet50"
  | "resnext50";

/** Rows before their names are bound into the builders. */
const ROWS: Record<
  BackboneName,
  Omit<Backbone, "build"> & { make: (name: string) => Backbone["build"] }
> = {
  resnet8: {
    description: "CIFAR-style, 3 stages of 1 BasicBlock (the reference recipe's ResNet-8)",
    make: cifar(1),
    input: [1, 28, 28],
    width: 16,
    shortcut: "B",
    init: "fan-out",
    defaultPreset: "paper",
  },
  resnet20: {
    description: "CIFAR-style, 3 stages of 3 BasicBlocks (He et al. 2016)",
    make: cifar(3),
    input: [3, 32, 32],
    width: 16,
    shortcut: "A",
    init: "fan-in",
    defaultPreset: null,
  },
  resnet32: {
    description: "CIFAR-style, 3 stages of 5 BasicBlocks, 64-d feature (LDAM-DRW's CIFAR-LT net)",
    make: cifar(5),
    input: [3, 32, 32],
    width: 16,
    shortcut: "A",
    init: "fan-in",
    defaultPreset: "cifar10-lt",
  },
  resnet10: {
    description: "ImageNet-style, BasicBlocks [1,1,1,1], 512-d feature (the paper's ImageNet-LT)",
    make: imagenet([1, 1, 1, 1]),
    input: [3, 224, 224],
    width: 64,
    shortcut: "B",
    init: "fan-out",
    defaultPreset: "imagenet-lt-r10",
  },
  resnet18: {
    description: "ImageNet-style, BasicBlocks [2,2,2,2], 512-d feature",
    make: imagenet([2, 2, 2, 2]),
    input: [3, 224, 224],
    width: 64,
    shortcut: "B",
    init: "fan-out",
    defaultPreset: null,
  },
  resnet34: {
    description: "ImageNet-style, BasicBlocks [3,4,6,3], 512-d feature",
    make: imagenet([3, 4, 6, 3]),
    input: [3, 224, 224],
    width: 64,
    shortcut: "B",
    init: "fan-out",
    defaultPreset: null,
  },
  resnet50: {
    description: "ImageNet-style, bottlenecks [3,4,6,3], 2048-d feature",
    make: imagenet([3, 4, 6, 3], BOTTLENECK),
    input: [3, 224, 224],
    width: 64,
    shortcut: "B",
    init: "fan-out",
    defaultPreset: null,
  },
  resnext50: {
    description: "ResNeXt-50 32x4d: grouped bottlenecks [3,4,6,3], 2048-d feature (the paper's)",
    make: imagenet([3, 4, 6, 3], { ...BOTTLENECK, groups: 32, groupWidth: 4 }),
    input: [3, 224, 224],
    width: 64,
    shortcut: "B",
    init: "fan-out",
    defaultPreset: "imagenet-lt-rx50",
  },
};

/**
 * The backbone table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BACKBONES } from "./backbones.ts";
 * import { describeResNet } from "./spec.ts";
 * const row = BACKBONES.resnet32;
 * const { width, shortcut, init, input } = row;
 * const spec = row.build({ width, shortcut, init, classes: 100, input });
 * assert.equal(
 *   describeResNet(spec),
 *   "resnet32: 3x32x32 -> 16 -> [16x5, 32x5/2, 64x5/2] -> 100, shortcut A, init fan-in, " +
 *     "0.470 M parameters",
 * );
 * ```
 */
export const BACKBONES: Readonly<Record<BackboneName, Backbone>> = Object.fromEntries(
  Object.entries(ROWS).map(([name, { make, ...row }]) => [name, { ...row, build: make(name) }]),
) as Record<BackboneName, Backbone>;

/**
 * Every backbone name, in table order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BACKBONE_NAMES } from "./backbones.ts";
 * assert.deepEqual(BACKBONE_NAMES.slice(0, 3), ["resnet8", "resnet20", "resnet32"]);
 * ```
 */
export const BACKBONE_NAMES: readonly BackboneName[] = Object.keys(ROWS) as BackboneName[];
