/**
 * Stage-1 training benchmark: ResNet-8 (RECIPE.md, 28x28x1, width 16) at batch 128.
 *
 * Figures:
 * - images/s of the recorded training step (forward, loss, backward, SGD with the cosine schedule
 *   on the GPU), exactly as `trainStage1` records it: input and labels written, one submit per
 *   step, at most two steps in flight; median over timed windows, each ended by `gpu.sync()`;
 * - images/s of a short `trainStage1` epoch on the real Fashion-MNIST-LT-100 training split
 *   (synthetic images when it cannot be loaded), which adds the host's batch preparation
 *   (sampling, augmentation, normalisation) and the periodic loss read-back;
 * - peak GPU bytes for training (buffer pool peak, plus uniform buffers counted separately);
 * - resident host memory after the ltkit runs and after the tfjs peer;
 * - tfjs-webgpu training the same network on the same adapter, with the ratio.
 *
 * ltkit runs on a fresh device of its own so the memory figure holds only training's buffers.
 *
 * @module
 */

import { BatchMaker } from "../../lib/data/batch.ts";
import type { ImageSet } from "../../lib/data/image_set.ts";
import { getProfile } from "../../lib/data/profiles.ts";
import { Rng } from "../../lib/data/rng.ts";
import { loadLongTail } from "../../lib/data/source.ts";
import { type Gpu, requestGpu } from "../../lib/gpu/device.ts";
import { hostGpuOptions } from "../../lib/io/_gpu_host.ts";
import { resnet8 } from "../../lib/nn/spec.ts";
import { presetConfig, stage1Settings } from "../../lib/train/config.ts";
import { trainStage1 } from "../../lib/train/stage1.ts";
import type { BenchContext, BenchRow, BenchSection } from "./common.ts";
import { loadTfjs } from "./tfjs.ts";
import { timeTfjsResNet } from "./tfjs_resnet.ts";
import { type FixedBatch, type StepPlan, timeLtkitStep } from "./train_step.ts";

const BATCH = 128;
const PROFILE = "fashion-mnist-lt-100";
const MIB = 1024 * 1024;
/** Targets of issue 4. */
const GPU_MEMORY_TARGET = 256 * MIB;
const RSS_TARGET = 2048 * MIB;

interface Plan extends StepPlan {
  /** Steps of the capped `trainStage1` epoch. */
  stage1Steps: number;
  /** tfjs steps: one untimed (compilation), then timed ones. */
  tfjsTimed: number;
}

// tfjs-webgpu takes 10-20 s a step on lavapipe: it dominates the section's time.
const FULL: Plan = { warmup: 3, windows: 4, stepsPerWindow: 3, stage1Steps: 8, tfjsTimed: 3 };
const QUICK: Plan = { warmup: 2, windows: 3, stepsPerWindow: 2, stage1Steps: 4, tfjsTimed: 1 };

const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;

/** Fashion-MNIST-like uint8 images (about half background) with random labels. */
function syntheticSet(count: number, seed: number): ImageSet {
  const rng = new Rng(seed);
  const images = new Uint8Array(count * 28 * 28);
  for (let i = 0; i < images.length; i++) {
    images[i] = rng.nextFloat() < 0.5 ? 0 : rng.nextInt(256);
  }
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) labels[i] = rng.nextInt(10);
  return { images, labels, count, channels: 1, height: 28, width: 28, classCount: 10 };
}

/** The first BATCH images of `set`, normalised as training normalises them. */
function fixedBatch(set: ImageSet): FixedBatch {
  const maker = new BatchMaker(set, { batchSize: BATCH, ...getProfile(PROFILE).normalization });
  const batch = maker.allocate();
  maker.fill(Int32Array.from({ length: BATCH }, (_, i) => i), 0, batch);
  return { images: batch.images, labels: batch.labels };
}

/** One capped `trainStage1` epoch: images/s including host batch preparation. */
async function timeStage1(
  gpu: Gpu,
  set: ImageSet,
  steps: number,
): Promise<{ imagesPerSecond: number; loss: number }> {
  const settings = { ...stage1Settings(presetConfig("paper")), epochs: 1, stepsPerEpoch: steps };
  const { net, history } = await trainStage1(gpu, set, {
    settings,
    spec: resnet8(),
    normalization: getProfile(PROFILE).normalization,
    quiet: true,
  });
  net.destroy();
  await gpu.sync();
  return { imagesPerSecond: history[0].imagesPerSecond, loss: history[0].loss };
}

async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const plan = ctx.quick ? QUICK : FULL;
  const rows: BenchRow[] = [];
  const gpu = await requestGpu({
    warnFallback: false,
    ...hostGpuOptions(),
    label: "ltkit bench train",
  });
  let ltkitRate: number;
  try {
    ctx.log(`train: ltkit step, ${plan.warmup} warm-up + ${plan.windows}x${plan.stepsPerWindow}`);
    const settings = stage1Settings(presetConfig("paper"));
    const ltkit = await timeLtkitStep(
      gpu,
      resnet8(),
      fixedBatch(syntheticSet(BATCH, 1)),
      settings,
      plan,
    );
    ltkitRate = ltkit.imagesPerSecond;
    const lossFell = Number.isFinite(ltkit.lastLoss) && ltkit.lastLoss < ltkit.firstLoss;
    rows.push({
      name: "resnet8 stage-1 step, batch 128",
      value: ltkit.imagesPerSecond,
      unit: "images/s",
      ok: lossFell,
      note: `median of ${plan.windows} windows of ${plan.stepsPerWindow} steps ` +
        `(${ltkit.windowMs.map((ms) => (ms / plan.stepsPerWindow).toFixed(0)).join("/")} ` +
        `ms/step), loss ${ltkit.firstLoss.toFixed(3)} -> ${ltkit.lastLoss.toFixed(3)}` +
        (lossFell ? "" : " DID NOT FALL"),
    });
    const gpuBytes = ltkit.poolPeak + ltkit.uniformBytes;
    const uniformKib = (ltkit.uniformBytes / 1024).toFixed(1);
    rows.push({
      name: "resnet8 training GPU memory, batch 128",
      value: gpuBytes / MIB,
      unit: "MiB",
      ok: gpuBytes < GPU_MEMORY_TARGET,
      note: `pool peak ${mib(ltkit.poolPeak)} + uniforms ${uniformKib} KiB, after net + SGD + ` +
        `one step; ${ltkit.parameterCount} parameters; pipelines and bind groups not counted; ` +
        `target < ${mib(GPU_MEMORY_TARGET)}`,
    });

    let train: ImageSet;
    let source: string;
    try {
      ctx.log(`train: loading ${PROFILE}`);
      train = (await loadLongTail(PROFILE)).train.set;
      source = `${PROFILE} train (${train.count} images)`;
    } catch (error) {
      ctx.log(`train: ${PROFILE} unavailable, synthetic images: ${(error as Error).message}`);
      train = syntheticSet(BATCH * plan.stage1Steps, 2);
      source = "synthetic images (the real split could not be loaded)";
    }
    ctx.log(`train: trainStage1, one epoch capped at ${plan.stage1Steps} steps`);
    const stage1 = await timeStage1(gpu, train, plan.stage1Steps);
    const rssLtkit = Deno.memoryUsage().rss;
    rows.push({
      name: "resnet8 trainStage1 epoch, batch 128",
      value: stage1.imagesPerSecond,
      unit: "images/s",
      ok: Number.isFinite(stage1.loss),
      note: `${plan.stage1Steps} steps on ${source}, with sampling, augmentation and ` +
        `loss read-back (trainStage1 itself); mean loss ${stage1.loss.toFixed(3)}`,
    });
    rows.push({
      name: "host RSS after ltkit stage 1",
      value: rssLtkit / MIB,
      unit: "MiB",
      ok: rssLtkit < RSS_TARGET,
      note: `whole process after the capped epoch (data set loaded; lavapipe's buffers live in ` +
        `host memory); stage 1 allocates its buffers before its first step; target < ` +
        `${mib(RSS_TARGET)}`,
    });
  } finally {
    // The pool keeps freed buffers: give them back before tfjs allocates its own.
    gpu.destroy();
  }

  const tfjs = await loadTfjs(ctx.log);
  if (tfjs) {
    ctx.log(`train: tfjs-webgpu, 1 warm-up + ${plan.tfjsTimed} steps`);
    const peer = await timeTfjsResNet(
      tfjs,
      resnet8(),
      fixedBatch(syntheticSet(BATCH, 1)),
      plan.tfjsTimed,
      0.1,
    );
    const finite = peer.losses.every(Number.isFinite);
    const fell = finite && peer.losses[peer.losses.length - 1] < peer.losses[0];
    rows.push({
      name: "resnet8 training step, batch 128, vs tfjs",
      value: ltkitRate,
      unit: "images/s",
      peer: peer.imagesPerSecond,
      peerName: tfjs.name,
      ratio: ltkitRate / peer.imagesPerSecond,
      ok: fell,
      note: `tfjs ${peer.stepMs.map((ms) => ms.toFixed(0)).join("/")} ms/step, losses ` +
        `${peer.losses.map((l) => l.toFixed(3)).join(" ")}${fell ? "" : " DID NOT FALL"}; ` +
        `tfjs: no weight decay, no BN running stats; ${mib(peer.gpuBytes)} live tfjs tensors`,
    });
    const rss = Deno.memoryUsage().rss;
    rows.push({
      name: "host RSS after tfjs peer",
      value: rss / MIB,
      unit: "MiB",
      note: "tfjs and its device are loaded in the same process",
    });
  }
  return rows;
}

/** The stage-1 training section. */
export const trainSection: BenchSection = {
  name: "train",
  description: "ResNet-8 stage-1 training images/s and memory at batch 128, against tfjs-webgpu",
  run,
};
