/**
 * The SGD runner behind cRT, LWS and balanced softmax: every sample of every epoch is drawn on
 * the host with the stage-1 sampler and uploaded once (in chunks of whole steps when they exceed
 * one storage buffer, {@link planSampleChunks}), the per-step learning rates too, and all steps
 * are recorded into a single submit; features never leave the GPU. How the samples are chunked
 * changes no number: each step draws the same rows and runs the same arithmetic.
 *
 * @module
 */

import type { Rng } from "../data/rng.ts";
import { createSampler, type SamplerKind } from "../data/sampler.ts";
import { Tensor } from "../gpu/tensor.ts";
import { cosineSchedule } from "../train/schedule.ts";
import {
  type LinearModel,
  modelSize,
  planSampleChunks,
  prepareTrainStep,
  workSize,
} from "../ops/classifier.ts";
import type { Stage2Context } from "./context.ts";
import type { TrainSettings } from "./method.ts";

/**
 * What {@link trainLinear} trains and how.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "../data/rng.ts";
 * import { DEFAULT_TRAIN_SETTINGS } from "./method.ts";
 * import type { TrainLinearSpec } from "./train.ts";
 * const spec: TrainLinearSpec = {
 *   ...DEFAULT_TRAIN_SETTINGS,
 *   mode: "lws",
 *   init: { weight: new Float32Array(6), bias: new Float32Array(2), scale: Float32Array.of(1, 1) },
 *   sampler: "class",
 *   rng: new Rng(0, 203),
 *   loss: "ce",
 *   weightDecay: 0,
 * };
 * assert.equal(spec.epochs, 10);
 * assert.equal(spec.mode, "lws");
 * ```
 */
export interface TrainLinearSpec extends TrainSettings {
  /** `crt` trains W and b (f stays 1); `lws` trains the per-class scales f only. */
  mode: "crt" | "lws";
  /** The starting classifier. */
  init: LinearModel;
  /** The sampler (RECIPE.md: class-balanced for cRT and LWS). */
  sampler: SamplerKind;
  /** Seeds the sampler. */
  rng: Rng;
  /** `balanced-softmax` adds log prior to the logits inside the loss only. */
  loss: "ce" | "balanced-softmax";
}

/**
 * A finished training run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { Stage2Context } from "./context.ts";
 * import { Rng } from "../data/rng.ts";
 * import { initLinear } from "./crt.ts";
 * import { trainLinear, type TrainLinearResult } from "./train.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({
 *   trainCounts: [60, 15, 5],
 *   featureDim: 6,
 *   testPerClass: 10,
 * });
 * const ctx = await Stage2Context.create(gpu, features);
 * const init = initLinear(ctx.classes, ctx.dim, new Rng(0));
 * const settings = { epochs: 1, batch: 40, lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
 * const run: TrainLinearResult = await trainLinear(ctx, {
 *   ...settings,
 *   mode: "crt",
 *   init,
 *   sampler: "class",
 *   rng: new Rng(0, 1),
 *   loss: "ce",
 * });
 * assert.equal(run.stepsPerEpoch, 2); // ceil(80 / 40)
 * assert.equal(run.stepLoss.length, 2);
 * run.model.destroy();
 * ctx.destroy();
 * gpu.destroy();
 * ```
 */
export interface TrainLinearResult {
  /** The trained classifier, in the kernels' layout, on the GPU (the caller destroys it). */
  model: Tensor;
  /** Mean batch loss of each step. */
  stepLoss: Float32Array;
  /** Steps per epoch. */
  stepsPerEpoch: number;
}

/**
 * Draws every epoch's samples up front: (row, label) pairs, (epochs * N, 2) u32.
 *
 * @param labels Training labels, (N).
 * @param classes C.
 * @param kind Sampler kind.
 * @param epochs Number of epochs.
 * @param rng The generator (advanced).
 * @returns The pairs, epoch after epoch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "../data/rng.ts";
 * import { drawSamples } from "./train.ts";
 * const labels = Int32Array.from([0, 0, 0, 1]);
 * const pairs = drawSamples(labels, 2, "class", 2, new Rng(0));
 * assert.equal(pairs.length, 16); // 2 epochs of 4 (row, label) pairs
 * assert.ok([0, 2, 4, 6].every((i) => labels[pairs[i]] === pairs[i + 1]));
 * ```
 */
export function drawSamples(
  labels: Int32Array,
  classes: number,
  kind: SamplerKind,
  epochs: number,
  rng: Rng,
): Uint32Array {
  const n = labels.length;
  const sampler = createSampler(kind, labels, rng, classes);
  const out = new Uint32Array(2 * epochs * n);
  const rows = new Int32Array(n);
  for (let e = 0; e < epochs; e++) {
    sampler.epoch(e, epochs, rows);
    for (let i = 0; i < n; i++) {
      out[2 * (e * n + i)] = rows[i];
      out[2 * (e * n + i) + 1] = labels[rows[i]];
    }
  }
  return out;
}

/**
 * Trains a linear classifier (cRT) or per-class scales (LWS) on the training features with SGD
 * momentum and a per-step cosine rate, all steps in one submit.
 *
 * @param ctx The stage-2 context.
 * @param spec Mode, initial model, sampler, loss and SGD settings.
 * @returns The trained model tensor and the loss of each step.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { Stage2Context } from "./context.ts";
 * import { Rng } from "../data/rng.ts";
 * import { DEFAULT_TRAIN_SETTINGS } from "./method.ts";
 * import { trainLinear } from "./train.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({
 *   trainCounts: [60, 15, 5],
 *   featureDim: 6,
 *   testPerClass: 10,
 * });
 * const ctx = await Stage2Context.create(gpu, features);
 * const { weight, bias } = features.classifier;
 * const init = { weight, bias, scale: new Float32Array(ctx.classes).fill(1) };
 * const run = await trainLinear(ctx, {
 *   ...DEFAULT_TRAIN_SETTINGS,
 *   epochs: 2,
 *   batch: 32,
 *   mode: "lws",
 *   init,
 *   sampler: "class",
 *   rng: new Rng(0),
 *   loss: "ce",
 * });
 * const trained = await ctx.readModel(run.model);
 * assert.ok(trained.weight.every((w, i) => w === weight[i])); // LWS leaves W alone
 * run.model.destroy();
 * ctx.destroy();
 * gpu.destroy();
 * ```
 */
export async function trainLinear(
  ctx: Stage2Context,
  spec: TrainLinearSpec,
): Promise<TrainLinearResult> {
  const { gpu, classes, dimPadded } = ctx;
  const train = ctx.features.train;
  const { epochs, batch } = spec;
  if (!Number.isInteger(epochs) || epochs < 1) {
    throw new RangeError(`Cannot train stage 2: epochs ${epochs} must be a positive integer`);
  }
  if (!Number.isInteger(batch) || batch < 1) {
    throw new RangeError(`Cannot train stage 2: batch ${batch} must be a positive integer`);
  }
  // A step's work, (2 B C + B) floats, and its gathered (B, Dp) rows each take one buffer.
  const perRow = 4 * Math.max(workSize(1, classes), dimPadded);
  if (batch * perRow > gpu.maxTensorBytes) {
    const fits = Math.floor(gpu.maxTensorBytes / perRow);
    throw new RangeError(
      `Cannot train stage 2 at batch ${batch}: a step's scratch needs ${batch * perRow} bytes ` +
        `in one storage buffer but this device holds ${gpu.maxTensorBytes}; ` +
        (fits > 0 ? `the largest batch that fits is ${fits}` : "not even one row fits"),
    );
  }
  const stepsPerEpoch = Math.ceil(train.rows / batch);
  const steps = epochs * stepsPerEpoch;
  // (row, label) pairs are 8 bytes: as many whole steps per chunk as one buffer holds.
  const parts = planSampleChunks(train.rows, batch, epochs, Math.floor(gpu.maxTensorBytes / 8));
  const samples = drawSamples(train.label, classes, spec.sampler, epochs, spec.rng);
  const owned: Tensor[] = [];
  const own = <T extends Tensor>(t: T): T => {
    owned.push(t);
    return t;
  };
  let model: Tensor | null = null;
  try {
    const samplesT = parts.map(({ start, end }) =>
      own(Tensor.from(
        gpu,
        samples.subarray(2 * start, 2 * end),
        [end - start, 2],
        "u32",
        parts.length === 1 ? "stage-2 samples" : `stage-2 samples ${start}..${end - 1}`,
      ))
    );
    const lrT = own(
      Tensor.from(gpu, cosineSchedule(spec.lr, steps), [steps], "f32", "stage-2 rates"),
    );
    const velocity = own(
      Tensor.zeros(gpu, [modelSize(classes, dimPadded)], "f32", "stage-2 velocity"),
    );
    const work = own(Tensor.zeros(gpu, [workSize(batch, classes)], "f32", "stage-2 work"));
    const trace = own(Tensor.zeros(gpu, [1 + steps], "u32", "stage-2 trace"));
    model = ctx.modelTensor(spec.init, `${spec.mode} model`);
    const step = await prepareTrainStep(gpu, {
      x: ctx.trainX,
      samples: samplesT,
      lr: lrT,
      offset: spec.loss === "balanced-softmax" ? ctx.logPriorTensor : ctx.zeros,
      model,
      velocity,
      work,
      trace,
      epochLength: train.rows,
      batch,
      mode: spec.mode,
      momentum: spec.momentum,
      weightDecay: spec.weightDecay,
    });
    for (let s = 0; s < steps; s++) step.record();
    step.destroy();
    const traced = await trace.read();
    if (traced[0] !== steps) {
      throw new Error(`Cannot train stage 2: the GPU ran ${traced[0]} of ${steps} steps`);
    }
    const stepLoss = new Float32Array(traced.buffer, 4, steps).slice();
    return { model, stepLoss, stepsPerEpoch };
  } catch (error) {
    model?.destroy();
    throw error;
  } finally {
    for (const t of owned) t.destroy();
  }
}
