/**
 * Times ltkit's recorded stage-1 training step for any network of the backbone table, and counts
 * the GPU memory it allocates: what the `train` (ResNet-8) and backbone sections share.
 *
 * The step is exactly what `trainStage1` records: input and labels written, forward, loss,
 * backward and SGD with a cosine schedule on the GPU, one submit per step, at most two steps in
 * flight; the figure is the median over timed windows, each ended by `gpu.sync()`. One fixed
 * batch is written every step, so the loss must fall over the windows.
 *
 * @module
 */

import { Rng } from "../../lib/data/rng.ts";
import type { Gpu } from "../../lib/gpu/device.ts";
import { Sequence } from "../../lib/gpu/kernel.ts";
import { readAll } from "../../lib/gpu/tensor.ts";
import { MicroBatchStep } from "../../lib/nn/microbatch.ts";
import { ResNet } from "../../lib/nn/resnet.ts";
import type { ResNetSpec } from "../../lib/nn/spec.ts";
import { cosineSchedule } from "../../lib/train/schedule.ts";
import type { Stage1Settings } from "../../lib/train/config.ts";
import { median } from "./common.ts";

/** How many steps to take: untimed ones first, then timed windows. */
export interface StepPlan {
  /** Untimed steps before the windows (the first one is also the memory figure). */
  warmup: number;
  windows: number;
  stepsPerWindow: number;
}

/** One fixed batch: (B,C,H,W) normalised images and (B) labels. */
export interface FixedBatch {
  images: Float32Array;
  labels: Int32Array;
}

/** What {@link timeLtkitStep} measured. */
export interface LtkitStep {
  imagesPerSecond: number;
  windowMs: number[];
  /** Mean loss of the first step and of the timed windows. */
  firstLoss: number;
  lastLoss: number;
  /** Buffer pool peak after the net, SGD and one step. */
  poolPeak: number;
  /** Uniform buffers created while building (Dispatch sizes), outside the pool. */
  uniformBytes: number;
  parameterCount: number;
}

/** Counts bytes of uniform buffers the device creates while `fn` runs (Dispatch sizes). */
async function countUniformBytes<T>(gpu: Gpu, fn: () => Promise<T>): Promise<[T, number]> {
  const device = gpu.device;
  const create = device.createBuffer;
  let bytes = 0;
  device.createBuffer = function (descriptor: GPUBufferDescriptor): GPUBuffer {
    if (descriptor.usage & GPUBufferUsage.UNIFORM) bytes += descriptor.size;
    return create.call(device, descriptor);
  };
  try {
    return [await fn(), bytes];
  } finally {
    device.createBuffer = create;
  }
}

/**
 * Builds `spec` at `batch` with SGD (the settings' lr, momentum, weight decay; cosine over the
 * plan's steps), takes one step for the memory figure, then times the windows. Use a fresh
 * device so the pool peak holds only training's buffers.
 */
export async function timeLtkitStep(
  gpu: Gpu,
  spec: ResNetSpec,
  batch: FixedBatch,
  settings: Pick<Stage1Settings, "lr" | "momentum" | "weightDecay" | "seed">,
  plan: StepPlan,
): Promise<LtkitStep> {
  const size = batch.labels.length;
  const totalSteps = plan.warmup + plan.windows * plan.stepsPerWindow;
  const [built, uniformBytes] = await countUniformBytes(gpu, async () => {
    const net = await ResNet.create(gpu, spec, { batch: size });
    try {
      // One micro-batch: the update reads the network's own gradients.
      const optimizer = await (await MicroBatchStep.create(net, 1)).prepareSgd({
        momentum: settings.momentum,
        weightDecay: settings.weightDecay,
        schedule: cosineSchedule(settings.lr, totalSteps),
      });
      return { net, optimizer };
    } catch (error) {
      net.destroy();
      throw error;
    }
  });
  const { net, optimizer } = built;
  const step = new Sequence([net.trainStep, optimizer]);
  try {
    net.initialize(new Rng(settings.seed));
    const inFlight: Promise<void>[] = [];
    const takeStep = async () => {
      net.input.write(batch.images);
      net.labels.write(batch.labels);
      step.record();
      gpu.submit();
      inFlight.push(gpu.device.queue.onSubmittedWorkDone());
      if (inFlight.length > 2) await inFlight.shift();
    };
    const meanLoss = async (steps: number) => {
      const [lossSum] = await readAll([net.lossSum]);
      net.resetMetrics();
      return lossSum[0] / steps;
    };

    net.resetMetrics();
    await takeStep();
    await gpu.sync();
    const poolPeak = gpu.pool.peakBytes;
    const firstLoss = await meanLoss(1);
    for (let i = 1; i < plan.warmup; i++) await takeStep();
    await gpu.sync();
    net.resetMetrics();
    const windowMs: number[] = [];
    for (let w = 0; w < plan.windows; w++) {
      const start = performance.now();
      for (let i = 0; i < plan.stepsPerWindow; i++) await takeStep();
      await gpu.sync();
      inFlight.length = 0;
      windowMs.push(performance.now() - start);
    }
    const lastLoss = await meanLoss(plan.windows * plan.stepsPerWindow);
    return {
      imagesPerSecond: (plan.stepsPerWindow * size) / (median(windowMs) / 1000),
      windowMs,
      firstLoss,
      lastLoss,
      poolPeak,
      uniformBytes,
      parameterCount: net.parameterCount,
    };
  } finally {
    optimizer.destroy();
    net.destroy();
    await gpu.sync();
  }
}
