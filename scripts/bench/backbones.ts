/**
 * Training images/s and GPU memory of the benchmarks' own networks, beside tfjs-webgpu: one
 * section per row of {@link BACKBONE_BENCHES} (`--only resnet32,resnet10`).
 *
 * - `resnet32`: ResNet-32 with option-A shortcuts and fan-in initialisation (the `cifar10-lt`
 *   preset's network) at 32x32x3, batch 128, the preset's lr, momentum and weight decay.
 * - `resnet10`: ResNet-10 (the `imagenet-lt-r10` preset's network, 1000 classes) at 224x224x3:
 *   a few steps after one warm-up, at batch 8 on a software adapter (so the ltkit part stays
 *   within about a minute on 2 lavapipe cores), otherwise the largest batch the device's buffer
 *   limit allows (`largestBatch`), at most 64; the lr scaled linearly from the preset's batch 512.
 *
 * Each takes one fixed batch of seeded values in [-1, 1) (already normalised images) with labels
 * i mod classes, so no data set is needed; the step is `trainStage1`'s (see `train_step.ts`).
 * ltkit runs on a fresh device of its own, so the memory figure holds only training's buffers.
 *
 * @module
 */

import { requestGpu } from "../../lib/gpu/device.ts";
import { hostGpuOptions } from "../../lib/io/_gpu_host.ts";
import { largestBatch, stepMemory } from "../../lib/nn/memory.ts";
import type { ResNetSpec } from "../../lib/nn/spec.ts";
import {
  modelSpec,
  presetConfig,
  type PresetName,
  stage1Settings,
} from "../../lib/train/config.ts";
import { applyTrainOverrides } from "../../lib/train/flags.ts";
import { type BenchContext, type BenchRow, type BenchSection, seeded } from "./common.ts";
import { loadTfjs } from "./tfjs.ts";
import { tfjsUnsupported, timeTfjsResNet } from "./tfjs_resnet.ts";
import { type FixedBatch, type StepPlan, timeLtkitStep } from "./train_step.ts";

const MIB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;

/** A backbone benchmark: which preset's network, at which input and batch, for how long. */
export interface BackboneBench {
  /** Section name (`--only`). */
  readonly name: string;
  /** The preset whose network and optimiser settings it uses. */
  readonly preset: PresetName;
  readonly input: readonly [number, number, number];
  readonly classes: number;
  /** The batch and, for the table, why that one. */
  readonly batch: (spec: ResNetSpec, ctx: BenchContext) => { batch: number; why: string };
  readonly full: StepPlan & { tfjsTimed: number };
  readonly quick: StepPlan & { tfjsTimed: number };
  /** Whether the loss must fall over the steps (too few steps at a small batch may not show it). */
  readonly lossMustFall: boolean;
  /** Said in the note: what to expect of its run time. */
  readonly timeNote: string;
}

/** On a software adapter ResNet-10 at 224 takes seconds per image: keep the batch small. */
const SOFTWARE_BATCH_224 = 8;
/** On hardware: the largest batch that fits, capped so the bench stays short. */
const HARDWARE_BATCH_CAP_224 = 64;

/** The rows: each becomes a bench section. */
export const BACKBONE_BENCHES: readonly BackboneBench[] = [
  {
    name: "resnet32",
    preset: "cifar10-lt",
    input: [3, 32, 32],
    classes: 10,
    batch: () => ({ batch: 128, why: "the preset's batch" }),
    // tfjs takes 25-70 s a step here on 2 lavapipe cores: one timed step.
    full: { warmup: 2, windows: 3, stepsPerWindow: 1, tfjsTimed: 1 },
    quick: { warmup: 1, windows: 2, stepsPerWindow: 1, tfjsTimed: 1 },
    lossMustFall: true,
    timeNote: "",
  },
  {
    name: "resnet10",
    preset: "imagenet-lt-r10",
    input: [3, 224, 224],
    classes: 1000,
    batch: (spec, ctx) => {
      const fits = largestBatch(spec, limitsOf(ctx));
      if (ctx.gpu.isFallback) {
        return {
          batch: SOFTWARE_BATCH_224,
          why: `fixed small batch on a software adapter (largestBatch allows ${fits})`,
        };
      }
      return {
        batch: Math.min(fits, HARDWARE_BATCH_CAP_224),
        why: `largestBatch ${fits} by the buffer limit, capped at ${HARDWARE_BATCH_CAP_224}`,
      };
    },
    full: { warmup: 1, windows: 2, stepsPerWindow: 1, tfjsTimed: 1 },
    quick: { warmup: 1, windows: 1, stepsPerWindow: 1, tfjsTimed: 1 },
    lossMustFall: false,
    timeNote: "; few steps at a small batch on purpose: on 2 lavapipe cores the whole entry, " +
      "tfjs included, takes about a minute (two on a loaded machine)",
  },
];

function limitsOf(ctx: BenchContext) {
  return { maxTensorBytes: ctx.gpu.maxTensorBytes };
}

/** `batch` images of seeded values in [-1, 1), labels i mod classes. */
function syntheticBatch(spec: ResNetSpec, batch: number): FixedBatch {
  const [c, h, w] = spec.input;
  return {
    images: seeded(batch * c * h * w, 7),
    labels: Int32Array.from({ length: batch }, (_, i) => i % spec.classes),
  };
}

/**
 * Runs one row: ltkit's step and memory, then tfjs's step where it can build the network (unless
 * `options.tfjs` is false).
 */
export async function runBackboneBench(
  bench: BackboneBench,
  ctx: BenchContext,
  options: { tfjs?: boolean } = {},
): Promise<BenchRow[]> {
  const config = presetConfig(bench.preset);
  const spec = modelSpec(config, bench.classes, [...bench.input]);
  const { batch, why } = bench.batch(spec, ctx);
  const plan = ctx.quick ? bench.quick : bench.full;
  // The preset's settings at this batch, its lr scaled linearly as --batch scales it.
  applyTrainOverrides(config, new Map([["stage1.batch", batch]]));
  const settings = stage1Settings(config);
  const lr = settings.lr;
  const data = syntheticBatch(spec, batch);
  const label = `${bench.name} ${bench.input.join("x")}, batch ${batch}`;
  const rows: BenchRow[] = [];
  const gpu = await requestGpu({
    warnFallback: false,
    ...hostGpuOptions(),
    label: `ltkit bench ${bench.name}`,
  });
  let ltkitRate: number;
  try {
    ctx.log(
      `${bench.name}: batch ${batch} (${why}), ${plan.warmup} warm-up + ` +
        `${plan.windows}x${plan.stepsPerWindow} steps`,
    );
    const ltkit = await timeLtkitStep(gpu, spec, data, settings, plan);
    ltkitRate = ltkit.imagesPerSecond;
    const finite = Number.isFinite(ltkit.firstLoss) && Number.isFinite(ltkit.lastLoss);
    const fell = finite && ltkit.lastLoss < ltkit.firstLoss;
    const steps = plan.windows * plan.stepsPerWindow;
    rows.push({
      name: `${label} stage-1 step`,
      value: ltkit.imagesPerSecond,
      unit: "images/s",
      ok: bench.lossMustFall ? fell : finite,
      note: `batch: ${why}; median of ${plan.windows} windows of ${plan.stepsPerWindow} ` +
        `steps (${ltkit.windowMs.map((ms) => (ms / plan.stepsPerWindow).toFixed(0)).join("/")} ` +
        `ms/step) after ${plan.warmup} warm-up; lr ${lr}; loss ${ltkit.firstLoss.toFixed(3)} -> ` +
        `${ltkit.lastLoss.toFixed(3)} over ${steps} steps` +
        (fell ? "" : bench.lossMustFall || !finite ? " DID NOT FALL" : " (too few steps to fall)") +
        bench.timeNote,
    });
    const estimate = stepMemory(spec, batch).totalBytes;
    rows.push({
      name: `${label} training GPU memory`,
      value: (ltkit.poolPeak + ltkit.uniformBytes) / MIB,
      unit: "MiB",
      note:
        `pool peak ${mib(ltkit.poolPeak)} + uniforms ${
          (ltkit.uniformBytes / 1024).toFixed(1)
        } KiB, after net + SGD + one step; stepMemory estimate ${mib(estimate)}; ` +
        `${ltkit.parameterCount} parameters; pipelines and bind groups not counted`,
    });
  } finally {
    // The pool keeps freed buffers: give them back before tfjs allocates its own.
    gpu.destroy();
  }

  const unsupported = options.tfjs === false ? "not asked for" : tfjsUnsupported(spec);
  const tfjs = unsupported ? null : await loadTfjs(ctx.log);
  if (unsupported || !tfjs) {
    rows.push({
      name: `${label} vs tfjs`,
      value: ltkitRate,
      unit: "images/s",
      note: `no tfjs figure: ${unsupported ?? "tfjs-webgpu could not be loaded (see the log)"}`,
    });
    return rows;
  }
  ctx.log(`${bench.name}: tfjs-webgpu, 1 warm-up + ${plan.tfjsTimed} steps`);
  let peer;
  try {
    peer = await timeTfjsResNet(tfjs, spec, data, plan.tfjsTimed, lr);
  } catch (error) {
    // A tfjs failure (e.g. a buffer past the adapter's limits) is its result, not the bench's.
    rows.push({
      name: `${label} vs tfjs`,
      value: ltkitRate,
      unit: "images/s",
      note: `no tfjs figure: tfjs-webgpu failed: ${(error as Error).message}`,
    });
    return rows;
  }
  const finite = peer.losses.every(Number.isFinite);
  const fell = finite && peer.losses[peer.losses.length - 1] < peer.losses[0];
  rows.push({
    name: `${label} vs tfjs`,
    value: ltkitRate,
    unit: "images/s",
    peer: peer.imagesPerSecond,
    peerName: tfjs.name,
    ratio: ltkitRate / peer.imagesPerSecond,
    ok: bench.lossMustFall ? fell : finite,
    note: `tfjs ${peer.stepMs.map((ms) => ms.toFixed(0)).join("/")} ms/step after 1 warm-up, ` +
      `losses ${peer.losses.map((l) => l.toFixed(3)).join(" ")}${
        fell ? "" : bench.lossMustFall || !finite ? " DID NOT FALL" : ""
      }; ` +
      `tfjs: no weight decay, no BN running stats; ${mib(peer.gpuBytes)} live tfjs tensors`,
  });
  return rows;
}

/** One bench section per row, named as the row. */
export const backboneSections: readonly BenchSection[] = BACKBONE_BENCHES.map((bench) => {
  const { arch, shortcut } = presetConfig(bench.preset).model;
  return {
    name: bench.name,
    description: `${arch} (shortcut ${shortcut}, the ${bench.preset} preset's) at ` +
      `${bench.input.join("x")}: training images/s and GPU memory, against tfjs-webgpu`,
    run: (ctx: BenchContext) => runBackboneBench(bench, ctx),
  };
});
