/**
 * The experiment's configuration: one typed object, JSON on disk, three presets, and validation
 * that names the bad field, its value and what is allowed.
 *
 * @module
 */

import { SAMPLER_KINDS, type SamplerKind } from "../data/sampler.ts";
import { BACKBONE_NAMES, type BackboneName, BACKBONES } from "../nn/backbones.ts";
import { INITS, type ResNetSpec, type Shortcut, SHORTCUTS, type WeightInit } from "../nn/spec.ts";
import type { MethodName } from "../stage2/method.ts";
import { METHOD_NAMES } from "../stage2/registry.ts";
import { type Milestone, SCHEDULE_KINDS, type ScheduleKind, scheduleProblem } from "./schedule.ts";

/**
 * Stage-1 hyper-parameters (RECIPE.md defaults in the `paper` preset).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Stage1Settings } from "./config.ts";
 * const settings: Stage1Settings = {
 *   epochs: 30,
 *   batch: 128,
 *   lr: 0.1,
 *   momentum: 0.9,
 *   weightDecay: 5e-4,
 *   sampler: "instance",
 *   augment: true,
 *   seed: 0,
 *   stepsPerEpoch: null,
 * };
 * assert.equal(settings.sampler, "instance");
 * ```
 */
export interface Stage1Settings {
  /** Passes over the training set; the schedule spans all of them. */
  epochs: number;
  /** Images per step. */
  batch: number;
  /** Peak learning rate, shaped per step by {@link Stage1Settings.schedule}. */
  lr: number;
  /** SGD momentum. */
  momentum: number;
  /** L2 weight decay. */
  weightDecay: number;
  /** Which images each epoch draws. */
  sampler: SamplerKind;
  /** Random crops and flips. */
  augment: boolean;
  /** Seeds initialisation, sampling and augmentation. */
  seed: number;
  /** Cap on steps per epoch (null: the whole training set, floor(N / batch) steps). */
  stepsPerEpoch: number | null;
  /**
   * Learning-rate schedule, a row of `SCHEDULES` (lib/train/schedule.ts). Absent in a config.json
   * written before schedules were configurable, which means `"cosine"`, as then.
   */
  schedule?: ScheduleKind;
  /** Epochs of linear warm-up (`ldam-step` only; absent means 0). */
  warmupEpochs?: number;
  /** Step decays (`ldam-step` only; absent means none). */
  milestones?: Milestone[];
}

/**
 * Names of the presets.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type PresetName, presetConfig } from "./config.ts";
 * const name: PresetName = "smoke";
 * assert.equal(presetConfig(name).stage1.epochs, 2);
 * ```
 */
export type PresetName =
  | "smoke"
  | "cpu"
  | "paper"
  | "imagenet-lt-r10"
  | "imagenet-lt-r10-cpu"
  | "cifar10-lt"
  | "cifar100-lt"
  | "cifar10-lt-cpu"
  | "cifar100-lt-cpu"
  | "imagenet-lt-rx50"
  | "imagenet-lt-rx50-cpu";

/**
 * All presets, for flag parsing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PRESET_NAMES } from "./config.ts";
 * assert.equal(PRESET_NAMES.slice(0, 3).join(", "), "smoke, cpu, paper");
 * ```
 */
export const PRESET_NAMES: readonly PresetName[] = [
  "smoke",
  "cpu",
  "paper",
  "imagenet-lt-r10",
  "imagenet-lt-r10-cpu",
  "cifar10-lt",
  "cifar100-lt",
  "cifar10-lt-cpu",
  "cifar100-lt-cpu",
  "imagenet-lt-rx50",
  "imagenet-lt-rx50-cpu",
];

/**
 * Backbone architectures: the names of the backbone table (lib/nn/backbones.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ARCHITECTURES } from "./config.ts";
 * assert.ok(ARCHITECTURES.includes("resnext50"));
 * ```
 */
export const ARCHITECTURES: readonly BackboneName[] = BACKBONE_NAMES;

/**
 * One of {@link ARCHITECTURES}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Architecture } from "./config.ts";
 * const arch: Architecture = "resnet8";
 * assert.equal(arch, "resnet8");
 * ```
 */
export type Architecture = BackboneName;

/**
 * Stage-2 methods, in the order they run: the keys of the table in lib/stage2/registry.ts (a live
 * list, so a registered method is accepted too).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { STAGE2_METHODS } from "./config.ts";
 * assert.equal(STAGE2_METHODS.join(" "), "joint ncm ncm_l2 crt tau lws la bsm");
 * ```
 */
export const STAGE2_METHODS: readonly MethodName[] = METHOD_NAMES;

/**
 * One of {@link STAGE2_METHODS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { presetConfig, type Stage2Method } from "./config.ts";
 * const methods: Stage2Method[] = ["joint", "crt", "tau"];
 * const config = presetConfig("smoke");
 * config.stage2.methods = methods;
 * assert.equal(config.stage2.methods.length, 3);
 * ```
 */
export type Stage2Method = MethodName;

/**
 * The whole experiment.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ExperimentConfig, presetConfig, validateConfig } from "./config.ts";
 * const config: ExperimentConfig = presetConfig("cpu");
 * config.model.width = 8;
 * config.stage2.methods = ["joint", "crt"];
 * assert.deepEqual(validateConfig(config).model, {
 *   arch: "resnet8",
 *   width: 8,
 *   shortcut: "B",
 *   init: "fan-out",
 * });
 * ```
 */
export interface ExperimentConfig {
  /** The preset the config started from. */
  preset: PresetName;
  /** Long-tailed data profile, e.g. `fashion-mnist-lt-100`. */
  profile: string;
  /** Folder with the source data (null: search the usual places). */
  dataDir: string | null;
  /** Seeds every random choice of the experiment. */
  seed: number;
  /** The backbone. */
  model: {
    /** One of {@link ARCHITECTURES}. */
    arch: Architecture;
    /** Channels of the stem and first stage; later stages double it. */
    width: number;
    /**
     * Shortcut of blocks that change shape: `"B"` a 1x1 convolution + BN, `"A"` subsampling and
     * zero channels (LDAM-DRW's CIFAR ResNet-32). A config.json written before this field existed
     * has none and means `"B"`, what every network was then; {@link validateConfig} fills it in.
     */
    shortcut: Shortcut;
    /**
     * How weights start: `"fan-out"` (the recipe: Kaiming-normal fan_out convolutions, uniform
     * linear layer) or `"fan-in"` (Kaiming-normal fan_in, as LDAM-DRW's CIFAR ResNet-32). Absent
     * in a config.json written before this field existed, which means `"fan-out"`.
     */
    init: WeightInit;
  };
  /** Stage-1 settings (the seed is the config's). */
  stage1: Omit<Stage1Settings, "seed"> & {
    /**
     * Set when `lr` was scaled linearly with a batch given without `--lr`: the learning rate and
     * batch it was scaled from (`lr = from.lr * batch / from.batch`).
     */
    lrScaledFrom?: { lr: number; batch: number };
  };
  /** Cap on validation and test images when extracting features (null: all). */
  evalLimit: number | null;
  /** Stage-2 methods and the training settings of the trained ones (cRT, LWS, bsm). */
  stage2: {
    /** Methods to run, a subset of {@link STAGE2_METHODS}. */
    methods: Stage2Method[];
    /** Epochs over the features. */
    epochs: number;
    /** Features per step. */
    batch: number;
    /** Peak learning rate (cosine decay). */
    lr: number;
  };
}

const PAPER: ExperimentConfig = {
  preset: "paper",
  profile: "fashion-mnist-lt-100",
  dataDir: null,
  seed: 0,
  model: { arch: "resnet8", width: 16, shortcut: "B", init: "fan-out" },
  stage1: {
    epochs: 30,
    batch: 128,
    lr: 0.1,
    momentum: 0.9,
    weightDecay: 5e-4,
    sampler: "instance",
    augment: true,
    stepsPerEpoch: null,
    schedule: "cosine",
    warmupEpochs: 0,
    milestones: [],
  },
  evalLimit: null,
  stage2: { methods: [...STAGE2_METHODS], epochs: 10, batch: 512, lr: 0.1 },
};

/**
 * The paper's ImageNet-LT recipe for ResNet-10 (Kang et al., ICLR 2020, and the configs of its
 * code, github.com/facebookresearch/classifier-balancing `config/ImageNet_LT/feat_uniform.yaml`
 * and `cls_crt.yaml`, which the paper uses for ResNet-10 too): 90 epochs of
 * instance-balanced SGD, batch 512, lr 0.2 with cosine decay, momentum 0.9, weight decay 5e-4,
 * RandomResizedCrop 224 + flip + ColorJitter; stage 2 10 epochs at batch 512, lr 0.2. Trained from
 * packs (`--data-dir` with train/, val/, test/).
 */
const IMAGENET_LT_R10: ExperimentConfig = {
  ...PAPER,
  preset: "imagenet-lt-r10",
  profile: "imagenet-lt",
  model: { ...PAPER.model, arch: "resnet10", width: 64 },
  // The rest of stage 1 (momentum, weight decay, sampler, augmentation) is the recipe's too.
  stage1: { ...PAPER.stage1, epochs: 90, batch: 512, lr: 0.2 },
  stage2: { ...PAPER.stage2, lr: 0.2 },
};

/**
 * The paper's ImageNet-LT recipe for ResNeXt-50 (32x4d), its headline network: the same
 * configs of its code (`feat_uniform.yaml` and `cls_crt.yaml` are the ResNeXt-50 ones) and so the
 * same schedule as {@link IMAGENET_LT_R10}, with `--arch resnext50` at width 64 (2048-d feature).
 */
const IMAGENET_LT_RX50: ExperimentConfig = {
  ...IMAGENET_LT_R10,
  preset: "imagenet-lt-rx50",
  model: { ...IMAGENET_LT_R10.model, arch: "resnext50" },
};

/** Epochs of `imagenet-lt-rx50-cpu`: about ten minutes on 2 lavapipe cores (see its row). */
const RX50_CPU_EPOCHS = 16;

/**
 * LDAM-DRW's CIFAR-LT protocol (Cao et al., NeurIPS 2019, `cifar_train.py`) with plain
 * cross-entropy and no re-weighting, as cRT, LWS and tau-norm are reported on CIFAR-LT
 * (BagofTricks-LT, logit adjustment): ResNet-32 with option-A shortcuts and fan-in
 * initialisation, 200 epochs of SGD 0.9, batch 128, lr 0.1 with 5 epochs of linear warm-up,
 * x0.01 from epoch 160 and x0.0001 from 180, weight decay 2e-4, pad-4 crop and flip (the
 * profile's), CIFAR-10-LT IF 100; stage 2 as in the paper.
 */
const CIFAR10_LT: ExperimentConfig = {
  ...PAPER,
  preset: "cifar10-lt",
  profile: "cifar10-lt-100",
  model: { arch: "resnet32", width: 16, shortcut: "A", init: "fan-in" },
  stage1: {
    ...PAPER.stage1,
    epochs: 200,
    weightDecay: 2e-4,
    schedule: "ldam-step",
    warmupEpochs: 5,
    milestones: [{ epoch: 160, factor: 0.01 }, { epoch: 180, factor: 0.0001 }],
  },
};

/**
 * The CIFAR-LT protocol shrunk for a 2-core software adapter: ResNet-32 at width 8 (8/16/32
 * channels, a quarter of the multiply-adds) and 4 epochs, with every boundary of the 200-epoch
 * schedule scaled by 4/200 (warm-up 0.1 epochs, x0.01 from 3.2, x0.0001 from 3.6).
 */
const CIFAR_CPU_EPOCHS = 4;
const cifarCpu = (full: ExperimentConfig, preset: PresetName): ExperimentConfig => {
  const scale = CIFAR_CPU_EPOCHS / full.stage1.epochs;
  return {
    ...full,
    preset,
    model: { ...full.model, width: 8 },
    stage1: {
      ...full.stage1,
      epochs: CIFAR_CPU_EPOCHS,
      warmupEpochs: full.stage1.warmupEpochs! * scale,
      milestones: full.stage1.milestones!.map((m) => ({ ...m, epoch: m.epoch * scale })),
    },
  };
};

const CIFAR100_LT: ExperimentConfig = {
  ...CIFAR10_LT,
  preset: "cifar100-lt",
  profile: "cifar100-lt-100",
};

/**
 * The presets. `paper` is RECIPE.md exactly. `cpu` keeps the recipe's data, network and
 * optimiser but trains fewer epochs, so stage 1 fits in about ten minutes on a 2-core software
 * adapter. `smoke` is a tiny network on a few batches, for tests. `cifar10-lt` and `cifar100-lt`
 * are LDAM-DRW's CIFAR-LT protocol with cross-entropy (IF 100); their `-cpu` variants are the
 * same at width 8 and 4 epochs, the schedule scaled to them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PRESETS } from "./config.ts";
 * assert.deepEqual([PRESETS.paper.stage1.epochs, PRESETS.cpu.stage1.epochs], [30, 6]);
 * ```
 */
export const PRESETS: Readonly<Record<PresetName, ExperimentConfig>> = {
  paper: PAPER,
  cpu: {
    ...PAPER,
    preset: "cpu",
    stage1: { ...PAPER.stage1, epochs: 6 },
  },
  "imagenet-lt-r10": IMAGENET_LT_R10,
  // ImageNet-LT cannot be trained on a software adapter; this keeps the recipe's network family,
  // optimiser and augmentation and changes the data (the Fashion-MNIST JPEG stand-in at crop 32),
  // the width (16, not 64), the epochs (60) and the batch (128, lr 0.2 x 128 / 512).
  "imagenet-lt-r10-cpu": {
    ...IMAGENET_LT_R10,
    preset: "imagenet-lt-r10-cpu",
    profile: "fashion-mnist-lt-list",
    model: { ...IMAGENET_LT_R10.model, width: 16 },
    stage1: { ...IMAGENET_LT_R10.stage1, epochs: 60, batch: 128, lr: 0.05 },
  },
  smoke: {
    ...PAPER,
    preset: "smoke",
    model: { arch: "resnet8", width: 4, shortcut: "B", init: "fan-out" },
    stage1: { ...PAPER.stage1, epochs: 2, batch: 32, stepsPerEpoch: 4 },
    evalLimit: 256,
    stage2: { ...PAPER.stage2, epochs: 2 },
  },
  "cifar10-lt": CIFAR10_LT,
  "cifar100-lt": CIFAR100_LT,
  "cifar10-lt-cpu": cifarCpu(CIFAR10_LT, "cifar10-lt-cpu"),
  "cifar100-lt-cpu": cifarCpu(CIFAR100_LT, "cifar100-lt-cpu"),
  "imagenet-lt-rx50": IMAGENET_LT_RX50,
  // As imagenet-lt-r10-cpu: the stand-in at crop 32, batch 128 at lr 0.05, and width 16, the
  // narrowest that keeps 32 groups (one channel each in the first stage); 16 epochs, not 60,
  // since a step of its 16 bottlenecks takes about 10 times ResNet-10's on lavapipe.
  "imagenet-lt-rx50-cpu": {
    ...IMAGENET_LT_RX50,
    preset: "imagenet-lt-rx50-cpu",
    profile: "fashion-mnist-lt-list",
    model: { ...IMAGENET_LT_RX50.model, width: 16 },
    stage1: { ...IMAGENET_LT_RX50.stage1, epochs: RX50_CPU_EPOCHS, batch: 128, lr: 0.05 },
  },
};

/**
 * A deep copy of a preset.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { presetConfig, PRESETS } from "./config.ts";
 * const config = presetConfig("paper");
 * config.seed = 1; // the preset itself is untouched
 * assert.equal(PRESETS.paper.seed, 0);
 * ```
 */
export function presetConfig(name: PresetName): ExperimentConfig {
  const preset = PRESETS[name];
  if (!preset) {
    throw new RangeError(`Unknown preset "${name}": use one of ${PRESET_NAMES.join(", ")}`);
  }
  return structuredClone(preset);
}

/**
 * The network a config describes, built by its row of the backbone table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeResNet } from "../nn/spec.ts";
 * import { modelSpec, presetConfig } from "./config.ts";
 * const spec = modelSpec(presetConfig("smoke"), 10, [1, 28, 28]);
 * assert.equal(
 *   describeResNet(spec),
 *   "resnet8: 1x28x28 -> 4 -> [4x1, 8x1/2, 16x1/2] -> 10, shortcut B, 5142 parameters",
 * );
 * ```
 */
export function modelSpec(
  config: ExperimentConfig,
  classes: number,
  input: [number, number, number],
): ResNetSpec {
  const { arch, width, shortcut, init } = config.model;
  return BACKBONES[arch].build({
    width,
    shortcut: shortcut ?? "B",
    init: init ?? "fan-out",
    classes,
    input,
  });
}

/**
 * Stage-1 settings of a config.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { presetConfig, stage1Settings } from "./config.ts";
 * const config = presetConfig("paper");
 * config.seed = 7;
 * const settings = stage1Settings(config);
 * assert.deepEqual([settings.seed, settings.batch], [7, 128]);
 * ```
 */
export function stage1Settings(config: ExperimentConfig): Stage1Settings {
  return { ...config.stage1, seed: config.seed };
}

/**
 * Bounds of the numeric settings that size allocations or loops. They are checked before anything
 * is created, so an absurd value (`--epochs 1e12`) is refused with its name instead of failing
 * later in an allocation. Flags ({@link validateConfig} and `--help`) read the same table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SETTING_LIMITS } from "./config.ts";
 * assert.deepEqual(SETTING_LIMITS["stage1.epochs"], { min: 1, max: 10000 });
 * ```
 */
export const SETTING_LIMITS: Readonly<Record<string, { min: number; max: number }>> = {
  "model.width": { min: 1, max: 512 },
  "stage1.epochs": { min: 1, max: 10000 },
  "stage1.batch": { min: 2, max: 4096 },
  "stage1.stepsPerEpoch": { min: 1, max: 1_000_000 },
  evalLimit: { min: 1, max: 100_000_000 },
  "stage2.epochs": { min: 1, max: 10000 },
  "stage2.batch": { min: 1, max: 65536 },
};

/**
 * Checks every field and returns the config typed; the error names the field, the value and what
 * is allowed. Fields added since a config.json could be written are filled in with what they
 * meant before they existed (`model.shortcut`: `"B"`, `model.init`: `"fan-out"`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { presetConfig, validateConfig } from "./config.ts";
 * validateConfig(presetConfig("paper")); // fine
 * const bad = { ...presetConfig("paper"), seed: -1 };
 * assert.throws(() => validateConfig(bad), /seed is -1; expected an integer >= 0/);
 * ```
 */
export function validateConfig(value: unknown, source = "config"): ExperimentConfig {
  const fail = (field: string, got: unknown, allowed: string): never => {
    throw new RangeError(
      `Invalid ${source}: ${field} is ${JSON.stringify(got)}; ${allowed}`,
    );
  };
  if (typeof value !== "object" || value === null) fail("the config", value, "expected an object");
  const c = value as ExperimentConfig;
  const int = (field: string, v: unknown, min: number) => {
    const max = SETTING_LIMITS[field]?.max ?? Infinity;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      fail(
        field,
        v,
        max === Infinity ? `expected an integer >= ${min}` : `expected an integer ${min}..${max}`,
      );
    }
  };
  const num = (field: string, v: unknown, min: number, max: number, openMin = false) => {
    if (typeof v !== "number" || !Number.isFinite(v) || (openMin ? v <= min : v < min) || v > max) {
      fail(field, v, `expected a number ${openMin ? ">" : ">="} ${min} and <= ${max}`);
    }
  };
  if (!PRESET_NAMES.includes(c.preset)) fail("preset", c.preset, `use ${PRESET_NAMES.join(", ")}`);
  if (typeof c.profile !== "string" || c.profile === "") {
    fail("profile", c.profile, "expected a name");
  }
  if (c.dataDir !== null && typeof c.dataDir !== "string") {
    fail("dataDir", c.dataDir, "expected a path or null");
  }
  int("seed", c.seed, 0);
  if (typeof c.model !== "object" || c.model === null) fail("model", c.model, "expected an object");
  if (!ARCHITECTURES.includes(c.model.arch)) {
    fail("model.arch", c.model.arch, `use ${ARCHITECTURES.join(", ")}`);
  }
  int("model.width", c.model.width, 1);
  // Written before shortcuts were configurable: every network then used option B.
  if (c.model.shortcut === undefined) c.model.shortcut = "B";
  if (!SHORTCUTS.includes(c.model.shortcut)) {
    fail("model.shortcut", c.model.shortcut, `use ${SHORTCUTS.join(" or ")}`);
  }
  if (c.model.init === undefined) c.model.init = "fan-out";
  if (!INITS.includes(c.model.init)) {
    fail("model.init", c.model.init, `use ${INITS.join(" or ")}`);
  }
  const s = c.stage1;
  if (typeof s !== "object" || s === null) fail("stage1", s, "expected an object");
  int("stage1.epochs", s.epochs, 1);
  int("stage1.batch", s.batch, 2);
  num("stage1.lr", s.lr, 0, 10, true);
  num("stage1.momentum", s.momentum, 0, 0.999);
  num("stage1.weightDecay", s.weightDecay, 0, 1);
  if (!SAMPLER_KINDS.includes(s.sampler as SamplerKind)) {
    fail("stage1.sampler", s.sampler, `use ${SAMPLER_KINDS.join(", ")}`);
  }
  if (typeof s.augment !== "boolean") fail("stage1.augment", s.augment, "expected true or false");
  if (s.stepsPerEpoch !== null) int("stage1.stepsPerEpoch", s.stepsPerEpoch, 1);
  if (s.lrScaledFrom !== undefined) {
    const f = s.lrScaledFrom;
    if (typeof f !== "object" || f === null) {
      fail("stage1.lrScaledFrom", f, "expected {lr, batch} or no field");
    }
    num("stage1.lrScaledFrom.lr", f.lr, 0, 10, true);
    int("stage1.lrScaledFrom.batch", f.batch, 2);
  }
  // Written before schedules were configurable: every run then used the cosine schedule.
  if (s.schedule === undefined) s.schedule = "cosine";
  if (s.warmupEpochs === undefined) s.warmupEpochs = 0;
  if (s.milestones === undefined) s.milestones = [];
  if (!SCHEDULE_KINDS.includes(s.schedule)) {
    fail("stage1.schedule", s.schedule, `use ${SCHEDULE_KINDS.join(", ")}`);
  }
  if (!Array.isArray(s.milestones)) {
    fail("stage1.milestones", s.milestones, "expected a list of {epoch, factor}");
  }
  const problem = scheduleProblem({
    kind: s.schedule,
    epochs: s.epochs,
    warmupEpochs: s.warmupEpochs,
    milestones: s.milestones,
  });
  if (problem) throw new RangeError(`Invalid ${source}: ${problem}`);
  if (c.evalLimit !== null) int("evalLimit", c.evalLimit, 1);
  const t = c.stage2;
  if (typeof t !== "object" || t === null) fail("stage2", t, "expected an object");
  if (!Array.isArray(t.methods) || t.methods.length === 0) {
    fail("stage2.methods", t.methods, `expected a non-empty list of ${STAGE2_METHODS.join(", ")}`);
  }
  for (const m of t.methods) {
    if (!STAGE2_METHODS.includes(m)) fail("stage2.methods", m, `use ${STAGE2_METHODS.join(", ")}`);
  }
  int("stage2.epochs", t.epochs, 1);
  int("stage2.batch", t.batch, 1);
  num("stage2.lr", t.lr, 0, 10, true);
  const known = new Set(Object.keys(PAPER));
  for (const key of Object.keys(c)) {
    if (!known.has(key)) fail(key, (c as unknown as Record<string, unknown>)[key], "unknown field");
  }
  return c;
}
