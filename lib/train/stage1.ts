/**
 * Stage 1: train the representation (and the joint classifier) with plain sampling.
 *
 * One training step is one submit: the batch and learning rate are queued as buffer writes,
 * then forward, loss, backward and the SGD update are recorded and submitted together. A batch
 * whose tensors exceed the device's per-buffer limit runs as equal micro-batches
 * ({@link stage1Plan}; lib/nn/microbatch.ts), still one submit and one update per step, with
 * batch-norm statistics per micro-batch. Loss and
 * accuracy accumulate on the GPU and are read back only every `logEvery` steps. At most two
 * steps are in flight, so the CPU prepares the next batch while the GPU runs the last one.
 *
 * @module
 */

import { BatchMaker } from "../data/batch.ts";
import type { ImageSet } from "../data/image_set.ts";
import { Rng } from "../data/rng.ts";
import { createSampler } from "../data/sampler.ts";
import type { Gpu } from "../gpu/device.ts";
import { Sequence } from "../gpu/kernel.ts";
import { readAll } from "../gpu/tensor.ts";
import { formatSplit, type MicroBatchPlan, planMicroBatches } from "../nn/memory.ts";
import { MicroBatchStep } from "../nn/microbatch.ts";
import { ResNet } from "../nn/resnet.ts";
import type { ResNetSpec } from "../nn/spec.ts";
import { type CheckpointTensor, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import type { Stage1Settings } from "./config.ts";
import { Progress } from "./_progress.ts";
import { buildSchedule, scheduleProblem } from "./schedule.ts";
import { tuningRecord } from "../ops/tune.ts";
import { imageCount, type ImageSource, isPackedSource, PackedTrainFeed } from "./image_source.ts";

/**
 * Per-epoch record of training.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EpochRecord } from "./stage1.ts";
 * const record: EpochRecord = {
 *   epoch: 1,
 *   loss: 1.02,
 *   accuracy: 0.61,
 *   lr: 0.0997,
 *   seconds: 95,
 *   imagesPerSecond: 420,
 * };
 * assert.equal(record.accuracy, 0.61);
 * ```
 */
export interface EpochRecord {
  /** The epoch, from 1. */
  epoch: number;
  /** Mean training loss over the epoch. */
  loss: number;
  /** Training accuracy over the epoch, 0..1. */
  accuracy: number;
  /** Learning rate of the epoch's last step. */
  lr: number;
  /** Wall time of the epoch. */
  seconds: number;
  /** Throughput over the epoch. */
  imagesPerSecond: number;
  /** Further figures (e.g. validation accuracy) added by the caller. */
  [key: string]: number;
}

/**
 * Options of {@link trainStage1}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resnet8 } from "../nn/spec.ts";
 * import { presetConfig, stage1Settings } from "./config.ts";
 * import type { Stage1Options } from "./stage1.ts";
 * const options: Stage1Options = {
 *   settings: stage1Settings(presetConfig("paper")),
 *   spec: resnet8(),
 *   normalization: { mean: [0.286], std: [0.353] },
 *   checkpointPath: "runs/example/checkpoint.bin",
 *   resume: true,
 *   logEvery: 50,
 * };
 * assert.equal(options.settings.epochs, 30);
 * ```
 */
export interface Stage1Options {
  /** Hyper-parameters. */
  settings: Stage1Settings;
  /** The network to train. */
  spec: ResNetSpec;
  /** Normalisation of x/255 (per channel). */
  normalization: { mean: readonly number[]; std: readonly number[] };
  /** Zero padding of the random crop when augmenting: the profile's (default 2). */
  augmentPad?: number;
  /** Where the checkpoint goes (written at the end of every epoch). */
  checkpointPath?: string;
  /** Continue from `checkpointPath` when it exists. */
  resume?: boolean;
  /** Stored in the checkpoint so a run can be reproduced. */
  config?: unknown;
  /** Read back loss and accuracy every this many steps (default 20). */
  logEvery?: number;
  /** No progress output. */
  quiet?: boolean;
  /** Called after each epoch's checkpoint is written. */
  onEpoch?: (record: EpochRecord) => void | Promise<void>;
  /** Stop after this many epochs in this call (tests use it to simulate a crash). */
  stopAfterEpochs?: number;
}

/**
 * Thrown when stage 1 diverges: the training loss is non-finite, or too large after the first
 * epoch ({@link checkLoss}). The checkpoint of the last epoch that passed is kept.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DivergenceError } from "./stage1.ts";
 * const error = new DivergenceError("Cannot continue stage 1: the loss became NaN", 2, 0);
 * assert.deepEqual([error.name, error.epoch, error.keptEpoch], ["DivergenceError", 2, 0]);
 * ```
 */
export class DivergenceError extends Error {
  /** The epoch (from 1) where the loss failed the check. */
  readonly epoch: number;
  /** The epoch of the checkpoint left on disk (0: none was written). */
  readonly keptEpoch: number;

  /**
   * Creates the error.
   *
   * @param message What was seen, where, which checkpoint is kept and what to change.
   * @param epoch The epoch (from 1) where the loss failed the check.
   * @param keptEpoch The epoch of the checkpoint left on disk (0: none).
   */
  constructor(message: string, epoch: number, keptEpoch: number) {
    super(message);
    this.name = "DivergenceError";
    this.epoch = epoch;
    this.keptEpoch = keptEpoch;
  }
}

/**
 * The largest training loss stage 1 accepts after its first epoch: ten times the loss of a
 * uniform guess over `classes`. A healthy run is far below a uniform guess by then; the first
 * epoch is exempt because a high learning rate may briefly overshoot while it warms up.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lossLimit } from "./stage1.ts";
 * assert.equal(lossLimit(10).toFixed(2), "23.03");
 * ```
 */
export function lossLimit(classes: number): number {
  return 10 * Math.log(classes);
}

/**
 * Checks a training loss read back in stage 1: it must be finite, and at most {@link lossLimit}
 * from the end of the first epoch on (windows inside the first epoch may overshoot while the
 * network starts; the first epoch's mean may not).
 *
 * @param loss The mean loss of `window` steps.
 * @param epoch The epoch, from 1.
 * @param step The last of those steps in the epoch, from 1.
 * @param classes Classes of the task.
 * @param window How many steps `loss` is the mean of (default 1).
 * @param wholeEpoch True when `loss` is the mean of the whole epoch.
 * @returns Null when the loss passes, else what was seen and where, in words.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { checkLoss } from "./stage1.ts";
 * equal(checkLoss(1.9, 2, 40, 10), null);
 * equal(checkLoss(1e9, 1, 20, 10), null); // steps of the first epoch may overshoot
 * equal(
 *   checkLoss(1e9, 1, 20, 10, 20, true),
 *   "the mean training loss is 1.000e+9 at epoch 1, steps 1..20, above 23.03 = 10 x ln(10 " +
 *     "classes)",
 * );
 * equal(checkLoss(NaN, 1, 20, 10), "the training loss is NaN at epoch 1, step 20");
 * equal(
 *   checkLoss(4.2e23, 2, 20, 10, 20),
 *   "the mean training loss is 4.200e+23 at epoch 2, steps 1..20, above 23.03 = 10 x ln(10 " +
 *     "classes)",
 * );
 * ```
 */
export function checkLoss(
  loss: number,
  epoch: number,
  step: number,
  classes: number,
  window = 1,
  wholeEpoch = false,
): string | null {
  const value = Number.isFinite(loss) ? loss.toPrecision(4) : String(loss);
  const seen = window > 1
    ? `the mean training loss is ${value} at epoch ${epoch}, steps ${step - window + 1}..${step}`
    : `the training loss is ${value} at epoch ${epoch}, step ${step}`;
  if (!Number.isFinite(loss)) return seen;
  const limit = lossLimit(classes);
  if ((epoch > 1 || wholeEpoch) && loss > limit) {
    return `${seen}, above ${limit.toFixed(2)} = 10 x ln(${classes} classes)`;
  }
  return null;
}

/**
 * The error for a loss that failed {@link checkLoss}: what was seen, which checkpoint is kept,
 * and what to change.
 *
 * @param seen What {@link checkLoss} returned.
 * @param epoch The epoch (from 1) where the loss failed.
 * @param s The run's settings (their values are quoted).
 * @param checkpointPath Where the checkpoints go, if anywhere.
 * @param keptEpoch The epoch of the checkpoint on disk (0: none).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { presetConfig, stage1Settings } from "./config.ts";
 * import { divergenceError } from "./stage1.ts";
 * const settings = stage1Settings(presetConfig("smoke"));
 * const error = divergenceError("the training loss is NaN", 3, settings, "runs/x/c.bin", 2);
 * assert.ok(error.message.includes("the checkpoint of epoch 2"));
 * ```
 */
export function divergenceError(
  seen: string,
  epoch: number,
  s: Stage1Settings,
  checkpointPath: string | undefined,
  keptEpoch: number,
): DivergenceError {
  const kept = !checkpointPath
    ? "no checkpoint is written (no checkpoint path was given)"
    : keptEpoch === 0
    ? `no checkpoint was written to ${checkpointPath} (no epoch passed)`
    : `the checkpoint of epoch ${keptEpoch}, the last that passed, is kept in ` +
      `${checkpointPath}. --resume would repeat the divergence (and refuses changed settings): ` +
      `start a new run with other settings and another --out, or use epoch ${keptEpoch}'s ` +
      `network as it is with --from-checkpoint ${checkpointPath} and another --out`;
  return new DivergenceError(
    `Cannot continue stage 1: ${seen}, so training diverged. Lower --lr (now ${s.lr}), ` +
      `--momentum (now ${s.momentum}) or --weight-decay (now ${s.weightDecay}); ${kept}`,
    epoch,
    keptEpoch,
  );
}

/**
 * What {@link trainStage1} returns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ImageSet } from "../data/image_set.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { resnet } from "../nn/spec.ts";
 * import type { Stage1Settings } from "./config.ts";
 * import { type Stage1Result, trainStage1 } from "./stage1.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const train: ImageSet = {
 *   images: Uint8Array.from({ length: 8 * 64 }, (_, i) => (i * 37) % 256),
 *   labels: Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1]),
 *   count: 8,
 *   channels: 1,
 *   height: 8,
 *   width: 8,
 *   classCount: 2,
 * };
 * const settings: Stage1Settings = {
 *   epochs: 3,
 *   batch: 4,
 *   lr: 0.1,
 *   momentum: 0.9,
 *   weightDecay: 5e-4,
 *   sampler: "instance",
 *   augment: false,
 *   seed: 0,
 *   stepsPerEpoch: null,
 * };
 * const spec = resnet("tiny", [1, 8, 8], 4, [4], 1, 2);
 * const normalization = { mean: [0.5], std: [0.25] };
 * const options = { settings, spec, normalization, quiet: true, stopAfterEpochs: 1 };
 * const result: Stage1Result = await trainStage1(gpu, train, options);
 * assert.deepEqual([result.epochsDone, result.history.length], [1, 1]);
 * result.net.destroy();
 * gpu.destroy();
 * ```
 */
export interface Stage1Result {
  /** The trained network, still on the GPU; the caller destroys it. */
  net: ResNet;
  /** One record per epoch, including epochs restored from a checkpoint. */
  history: EpochRecord[];
  /** Epochs completed (equals settings.epochs unless stopped early). */
  epochsDone: number;
  /** How each step split its batch (count 1: whole); the network is built for `size` images. */
  microBatches: { count: number; size: number };
}

/**
 * How stage 1 runs a step of `spec` at `batch` on `gpu`: whole, or as the fewest equal
 * micro-batches whose tensors fit the device's per-buffer limit (see `planMicroBatches` in
 * lib/nn/memory.ts, which refuses when not even one image fits).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { resnet32 } from "../nn/spec.ts";
 * import { stage1Plan } from "./stage1.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const plan = stage1Plan(gpu, resnet32(), 128);
 * assert.deepEqual([plan.count, plan.size], [1, 128]);
 * gpu.destroy();
 * ```
 */
export function stage1Plan(gpu: Gpu, spec: ResNetSpec, batch: number): MicroBatchPlan {
  return planMicroBatches(spec, batch, {
    maxTensorBytes: gpu.maxTensorBytes,
  });
}

/**
 * Checks settings and throws a clear error naming the bad one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { presetConfig, stage1Settings } from "./config.ts";
 * import { validateStage1Settings } from "./stage1.ts";
 * const settings = stage1Settings(presetConfig("paper"));
 * validateStage1Settings(settings); // fine
 * assert.throws(() => validateStage1Settings({ ...settings, momentum: 1 }), /momentum is 1/);
 * ```
 */
export function validateStage1Settings(s: Stage1Settings): void {
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`Cannot train stage 1: ${name} is ${v}; it must be an integer >= 1`);
    }
  };
  positiveInt("epochs", s.epochs);
  positiveInt("batch", s.batch);
  if (s.stepsPerEpoch !== null) positiveInt("stepsPerEpoch", s.stepsPerEpoch);
  if (!(s.lr > 0 && Number.isFinite(s.lr))) {
    throw new RangeError(`Cannot train stage 1: lr is ${s.lr}; it must be > 0`);
  }
  if (!(s.momentum >= 0 && s.momentum < 1)) {
    throw new RangeError(`Cannot train stage 1: momentum is ${s.momentum}; use 0 <= m < 1`);
  }
  if (!(s.weightDecay >= 0 && Number.isFinite(s.weightDecay))) {
    throw new RangeError(`Cannot train stage 1: weightDecay is ${s.weightDecay}; use >= 0`);
  }
  if (!Number.isInteger(s.seed) || s.seed < 0) {
    throw new RangeError(`Cannot train stage 1: seed is ${s.seed}; use an integer >= 0`);
  }
  const problem = scheduleProblem({
    kind: s.schedule ?? "cosine",
    epochs: s.epochs,
    warmupEpochs: s.warmupEpochs ?? 0,
    milestones: s.milestones ?? [],
  });
  if (problem) throw new RangeError(`Cannot train stage 1: ${problem}`);
}

/**
 * Steps per epoch: full batches only, so BN statistics always see a whole batch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { presetConfig, stage1Settings } from "./config.ts";
 * import { stepsPerEpoch } from "./stage1.ts";
 * assert.equal(stepsPerEpoch(12000, stage1Settings(presetConfig("paper"))), 93);
 * assert.equal(stepsPerEpoch(12000, stage1Settings(presetConfig("smoke"))), 4);
 * ```
 */
export function stepsPerEpoch(trainCount: number, s: Stage1Settings): number {
  const full = Math.floor(trainCount / s.batch);
  if (full < 1) {
    throw new RangeError(
      `Cannot train stage 1: batch ${s.batch} is larger than the ${trainCount} training images`,
    );
  }
  return s.stepsPerEpoch === null ? full : Math.min(full, s.stepsPerEpoch);
}

/** Streams of the seeded generator: initialisation, then two per epoch. */
const INIT_STREAM = 0;
const samplerStream = (epoch: number) => 1 + 2 * epoch;
const augmentStream = (epoch: number) => 2 + 2 * epoch;

/**
 * Trains stage 1 and returns the network (still on the GPU).
 *
 * Each epoch draws its order and augmentation from generators seeded by (seed, epoch), so a
 * resumed run continues with exactly the numbers an uninterrupted one would have used.
 *
 * `train` is an in-memory set (batched and augmented on the CPU) or a packed source, streamed
 * and augmented on the GPU (lib/train/image_source.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ImageSet } from "../data/image_set.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { resnet } from "../nn/spec.ts";
 * import { loadCheckpoint } from "./checkpoint.ts";
 * import type { Stage1Settings } from "./config.ts";
 * import { trainStage1 } from "./stage1.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // A tiny set and network so that the example runs in a moment; see RECIPE.md for real ones.
 * const train: ImageSet = {
 *   images: Uint8Array.from({ length: 8 * 64 }, (_, i) => (i * 37) % 256),
 *   labels: Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1]),
 *   count: 8,
 *   channels: 1,
 *   height: 8,
 *   width: 8,
 *   classCount: 2,
 * };
 * const settings: Stage1Settings = {
 *   epochs: 1,
 *   batch: 4,
 *   lr: 0.1,
 *   momentum: 0.9,
 *   weightDecay: 5e-4,
 *   sampler: "instance",
 *   augment: false,
 *   seed: 0,
 *   stepsPerEpoch: null,
 * };
 * const dir = await Deno.makeTempDir();
 * const { net, history } = await trainStage1(gpu, train, {
 *   settings,
 *   spec: resnet("tiny", [1, 8, 8], 4, [4], 1, 2),
 *   normalization: { mean: [0.5], std: [0.25] },
 *   checkpointPath: `${dir}/checkpoint.bin`,
 *   quiet: true,
 * });
 * assert.deepEqual([history.length, Number.isFinite(history[0].loss)], [1, true]);
 * assert.equal((await loadCheckpoint(`${dir}/checkpoint.bin`)).epoch, 1);
 * net.destroy();
 * await Deno.remove(dir, { recursive: true });
 * gpu.destroy();
 * ```
 */
export async function trainStage1(
  gpu: Gpu,
  train: ImageSource,
  options: Stage1Options,
): Promise<Stage1Result> {
  const s = options.settings;
  validateStage1Settings(s);
  if (isPackedSource(train)) {
    if (!s.augment) {
      throw new RangeError(
        `Cannot train stage 1 on the packed data set ${train.pack} without augmentation: its ` +
          "images differ in size, so training crops them (RandomResizedCrop); drop --augment false",
      );
    }
  }
  const steps = stepsPerEpoch(imageCount(train), s);
  const totalSteps = steps * s.epochs;
  const logEvery = Math.max(1, options.logEvery ?? 20);
  const progress = new Progress("stage 1", { quiet: options.quiet });

  const plan = stage1Plan(gpu, options.spec, s.batch);
  const net = await ResNet.create(gpu, options.spec, {
    batch: plan.size,
    lossScale: plan.size / s.batch,
  });
  let micro: MicroBatchStep;
  try {
    micro = await MicroBatchStep.create(net, plan.count);
  } catch (error) {
    net.destroy();
    throw error;
  }
  // The learning rate of every step lives on the GPU; the update advances its own step counter.
  const schedule = buildSchedule({
    kind: s.schedule ?? "cosine",
    lr: s.lr,
    epochs: s.epochs,
    stepsPerEpoch: steps,
    warmupEpochs: s.warmupEpochs ?? 0,
    milestones: s.milestones ?? [],
  });
  const optimizer = await micro.prepareSgd({
    momentum: s.momentum,
    weightDecay: s.weightDecay,
    schedule,
  });
  const step = new Sequence([micro, optimizer]);

  let startEpoch = 0;
  let history: EpochRecord[] = [];
  const cleanup: (() => void)[] = [];
  try {
    const resumed = options.resume && options.checkpointPath
      ? await tryLoad(options.checkpointPath)
      : null;
    if (resumed) {
      checkResumedSplit(options.checkpointPath!, resumed.microBatches, plan);
      await restore(net, resumed.tensors);
      startEpoch = resumed.epoch;
      optimizer.setStep(startEpoch * steps);
      history = resumed.history as EpochRecord[];
      progress.info(`stage 1: resuming from ${options.checkpointPath} after epoch ${startEpoch}`);
    } else {
      net.initialize(new Rng(s.seed, INIT_STREAM));
    }

    const feed = isPackedSource(train) ? await PackedTrainFeed.create(gpu, micro, train, s) : null;
    if (feed) cleanup.push(() => void feed.destroy());
    const memoryEpoch = (set: ImageSet, epoch: number) => {
      const sampler = createSampler(
        s.sampler,
        set.labels,
        new Rng(s.seed, samplerStream(epoch)),
        set.classCount,
      );
      const order = sampler.epoch(epoch, s.epochs);
      const maker = new BatchMaker(set, {
        batchSize: s.batch,
        mean: options.normalization.mean,
        std: options.normalization.std,
        augment: s.augment && { pad: options.augmentPad ?? 2 },
        rng: new Rng(s.seed, augmentStream(epoch)),
      });
      if (batch.images.length === 0) Object.assign(batch, maker.allocate());
      return (i: number) => {
        maker.fill(order, i * s.batch, batch);
        micro.write(batch.images, batch.labels);
      };
    };
    const batch = { images: new Float32Array(0), labels: new Int32Array(0) };
    const staging = [0, 1].map(() =>
      gpu.device.createBuffer({
        size: 16,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        label: "stage-1 metrics",
      })
    );
    cleanup.push(() => staging.forEach((b) => b.destroy()));
    let windowCount = 0;
    const lastEpoch = Math.min(s.epochs, startEpoch + (options.stopAfterEpochs ?? Infinity));
    for (let epoch = startEpoch; epoch < lastEpoch; epoch++) {
      const fill = feed ? feed.epoch(epoch) : memoryEpoch(train as ImageSet, epoch);
      net.resetMetrics();
      const started = performance.now();
      const inFlight: Promise<void>[] = [];
      let windowSteps = 0;
      let epochLoss = 0;
      let epochCorrect = 0;
      let lr = 0;
      // Loss and accuracy of a window of steps are copied to a staging buffer and mapped without
      // waiting; each window is read when the next one starts, long after the GPU finished it.
      let pending: MetricsWindow | null = null;
      const settle = async (w: MetricsWindow) => {
        await w.mapped;
        const [lossSum, correct] = w.read();
        // Each micro-batch adds its own mean loss: equal sizes make their mean the batch's.
        const meanLoss = lossSum / (w.steps * micro.count);
        const seen = checkLoss(meanLoss, epoch + 1, w.last + 1, train.classCount, w.steps);
        if (seen) throw divergenceError(seen, epoch + 1, s, options.checkpointPath, epoch);
        epochLoss += lossSum / micro.count;
        epochCorrect += correct;
        const elapsed = (performance.now() - started) / 1000;
        const rate = ((w.last + 1) * s.batch) / elapsed;
        progress.step({
          epoch: epoch + 1,
          epochs: s.epochs,
          step: w.last + 1,
          steps,
          loss: meanLoss,
          accuracy: correct / (w.steps * s.batch),
          imagesPerSecond: rate,
          secondsLeft: ((totalSteps - epoch * steps - w.last - 1) * s.batch) / rate,
        });
      };
      for (let i = 0; i < steps; i++) {
        const globalStep = epoch * steps + i;
        await fill(i);
        lr = schedule[globalStep];
        step.record();
        gpu.submit();
        inFlight.push(gpu.device.queue.onSubmittedWorkDone());
        if (inFlight.length > 2) await inFlight.shift();
        windowSteps++;
        if (windowSteps === logEvery || i === steps - 1) {
          const window = readMetricsLater(net, staging[windowCount++ % 2], windowSteps, i);
          if (pending) await settle(pending);
          pending = window;
          windowSteps = 0;
        }
      }
      if (pending) await settle(pending);
      await gpu.sync();
      const seconds = (performance.now() - started) / 1000;
      const record: EpochRecord = {
        epoch: epoch + 1,
        loss: epochLoss / steps,
        accuracy: epochCorrect / (steps * s.batch),
        lr,
        seconds,
        imagesPerSecond: (steps * s.batch) / seconds,
      };
      // The windows have passed; the epoch mean is checked again right before the write, so
      // that nothing replaces the last good checkpoint without passing.
      const seen = checkLoss(record.loss, epoch + 1, steps, train.classCount, steps, true);
      if (seen) throw divergenceError(seen, epoch + 1, s, options.checkpointPath, epoch);
      history.push(record);
      if (options.checkpointPath) {
        await saveCheckpoint(options.checkpointPath, {
          epoch: epoch + 1,
          step: (epoch + 1) * steps,
          rngState: [s.seed, epoch + 1],
          config: options.config ?? null,
          history,
          tensors: await snapshot(net),
          tuning: tuningRecord(gpu),
          microBatches: { count: plan.count, size: plan.size },
        });
      }
      progress.epoch({
        epoch: epoch + 1,
        epochs: s.epochs,
        step: steps,
        steps,
        loss: record.loss,
        accuracy: record.accuracy,
        imagesPerSecond: record.imagesPerSecond,
        secondsLeft: (s.epochs - epoch - 1) * seconds,
      });
      await options.onEpoch?.(record);
    }
    return {
      net,
      history,
      epochsDone: lastEpoch,
      microBatches: { count: plan.count, size: plan.size },
    };
  } catch (error) {
    net.destroy();
    throw error;
  } finally {
    optimizer.destroy();
    micro.destroy();
    for (const fn of cleanup) fn();
  }
}

/** A window of steps whose summed loss and correct count are on their way to the host. */
interface MetricsWindow {
  steps: number;
  /** Index in the epoch of the window's last step. */
  last: number;
  mapped: Promise<void>;
  read(): [number, number];
}

/** Copies the accumulated loss and correct count to `staging`, zeroes them, and maps it. */
function readMetricsLater(
  net: ResNet,
  staging: GPUBuffer,
  steps: number,
  last: number,
): MetricsWindow {
  const gpu = net.gpu;
  gpu.copy(net.lossSum.buffer, 0, staging, 0, 4);
  gpu.copy(net.correct.buffer, 0, staging, 4, 4);
  net.resetMetrics();
  const mapped = staging.mapAsync(GPUMapMode.READ);
  // A run that stops on a bad loss destroys the buffer before this window is read.
  mapped.catch(() => {});
  return {
    steps,
    last,
    mapped,
    read() {
      const view = staging.getMappedRange(0, 8);
      const values: [number, number] = [
        new Float32Array(view, 0, 1)[0],
        new Uint32Array(view, 4, 1)[0],
      ];
      staging.unmap();
      gpu.throwIfFailed();
      return values;
    },
  };
}

/**
 * Refuses to resume a run whose checkpoint split its batch otherwise than this device would:
 * batch-norm statistics are per micro-batch, so the rest of the run would compute other numbers
 * than the run it continues. A checkpoint without the record ran its batch whole.
 */
function checkResumedSplit(
  path: string,
  recorded: { count: number; size: number } | null | undefined,
  plan: MicroBatchPlan,
): void {
  const was = recorded ?? { count: 1, size: plan.batch };
  if (was.count === plan.count) return;
  throw new RangeError(
    `Cannot resume stage 1 from ${path}: it ran batch ${plan.batch} ${formatSplit(was)} but ` +
      `this device runs it ${formatSplit(plan)} (its per-buffer limit differs), and batch-norm ` +
      "statistics are per micro-batch, so the numbers would change; resume on a device with " +
      "the same limits, or start a new run without --resume",
  );
}

async function tryLoad(path: string) {
  try {
    await Deno.stat(path);
  } catch {
    return null;
  }
  return await loadCheckpoint(path);
}

/**
 * Everything a checkpoint stores of a network: parameters, velocities, state buffers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "../data/rng.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { resnet, ResNet } from "../nn/mod.ts";
 * import { restore, snapshot } from "./stage1.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const spec = resnet("tiny", [1, 4, 4], 2, [2], 1, 2);
 * const a = await ResNet.create(gpu, spec, { batch: 2 });
 * const b = await ResNet.create(gpu, spec, { batch: 2 });
 * a.initialize(new Rng(1));
 * b.initialize(new Rng(2));
 * const tensors = await snapshot(a);
 * await restore(b, tensors); // b now holds a's parameters, velocities and BN statistics
 * const [wa, wb] = await Promise.all([a.params[0].value.read(), b.params[0].value.read()]);
 * assert.deepEqual([tensors.length, tensors[0].name], [28, "stem.conv.weight"]);
 * assert.ok(wa.every((v, i) => v === wb[i]));
 * a.destroy();
 * b.destroy();
 * gpu.destroy();
 * ```
 */
export async function snapshot(net: ResNet): Promise<CheckpointTensor[]> {
  const tensors = [
    ...net.params.map((p) => ({ name: p.name, t: p.value })),
    ...net.params.map((p) => ({ name: `${p.name}.velocity`, t: p.velocity })),
    ...net.state.map((b) => ({ name: b.name, t: b.value })),
  ];
  const data = await readAll(tensors.map((x) => x.t));
  return tensors.map((x, i) => ({
    name: x.name,
    shape: x.t.shape,
    data: data[i] as Float32Array,
  }));
}

/**
 * Loads a checkpoint's tensors into a network, checking names and shapes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "../data/rng.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { resnet, ResNet } from "../nn/mod.ts";
 * import { restore, snapshot } from "./stage1.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const spec = resnet("tiny", [1, 4, 4], 2, [2], 1, 2);
 * const a = await ResNet.create(gpu, spec, { batch: 2 });
 * const b = await ResNet.create(gpu, spec, { batch: 2 });
 * a.initialize(new Rng(1));
 * b.initialize(new Rng(2));
 * const tensors = await snapshot(a);
 * await restore(b, tensors); // b now holds a's parameters, velocities and BN statistics
 * const [wa, wb] = await Promise.all([a.params[0].value.read(), b.params[0].value.read()]);
 * assert.ok(wa.every((v, i) => v === wb[i]));
 * await assert.rejects(restore(b, tensors.slice(1)), /it has no tensor "stem.conv.weight"/);
 * a.destroy();
 * b.destroy();
 * gpu.destroy();
 * ```
 */
export async function restore(
  net: ResNet,
  tensors: readonly { name: string; shape: readonly number[]; data: Float32Array }[],
): Promise<void> {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const targets = [
    ...net.params.map((p) => ({ name: p.name, t: p.value })),
    ...net.params.map((p) => ({ name: `${p.name}.velocity`, t: p.velocity })),
    ...net.state.map((b) => ({ name: b.name, t: b.value })),
  ];
  for (const { name, t } of targets) {
    const stored = byName.get(name);
    if (!stored) {
      throw new RangeError(
        `Cannot load checkpoint: it has no tensor "${name}"; was it made for another network ` +
          `than ${net.spec.name}?`,
      );
    }
    if (stored.data.length !== t.size) {
      throw new RangeError(
        `Cannot load checkpoint: "${name}" has shape (${stored.shape.join(",")}) but ` +
          `${net.spec.name} expects (${t.shape.join(",")})`,
      );
    }
    t.write(stored.data);
  }
  await net.gpu.sync();
}
