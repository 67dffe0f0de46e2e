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
import { Sequence } from "../../lib/gpu/kernel.ts";
import { readAll } from "../../lib/gpu/tensor.ts";
import { ResNet } from "../../lib/nn/resnet.ts";
import { resnet8 } from "../../lib/nn/spec.ts";
import { prepareSgd } from "../../lib/ops/optim.ts";
import { presetConfig, stage1Settings } from "../../lib/train/config.ts";
import { cosineSchedule } from "../../lib/train/schedule.ts";
import { trainStage1 } from "../../lib/train/stage1.ts";
import { type BenchContext, type BenchRow, type BenchSection, median } from "./common.ts";
import { loadTfjs, type Tfjs } from "./tfjs.ts";

const BATCH = 128;
const PROFILE = "fashion-mnist-lt-100";
const MIB = 1024 * 1024;
/** Targets of issue 4. */
const GPU_MEMORY_TARGET = 256 * MIB;
const RSS_TARGET = 2048 * MIB;

interface Plan {
  /** Untimed steps before the windows. */
  warmup: number;
  windows: number;
  stepsPerWindow: number;
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

interface LtkitStep {
  imagesPerSecond: number;
  windowMs: number[];
  firstLoss: number;
  lastLoss: number;
  poolPeak: number;
  uniformBytes: number;
  parameterCount: number;
}

/** Builds the net and optimizer, takes one step for the memory figure, then times windows. */
async function timeLtkitStep(gpu: Gpu, set: ImageSet, plan: Plan): Promise<LtkitStep> {
  const settings = stage1Settings(presetConfig("paper"));
  const normalization = getProfile(PROFILE).normalization;
  const totalSteps = plan.warmup + plan.windows * plan.stepsPerWindow;
  const [built, uniformBytes] = await countUniformBytes(gpu, async () => {
    const net = await ResNet.create(gpu, resnet8(), { batch: BATCH });
    const optimizer = await prepareSgd(gpu, {
      params: net.params.map((p) => p.value),
      grads: net.params.map((p) => p.grad),
      velocities: net.params.map((p) => p.velocity),
      momentum: settings.momentum,
      weightDecay: settings.weightDecay,
      schedule: cosineSchedule(settings.lr, totalSteps),
    });
    return { net, optimizer };
  });
  const { net, optimizer } = built;
  const step = new Sequence([net.trainStep, optimizer]);
  try {
    net.initialize(new Rng(settings.seed));
    // One fixed batch, written every step as training writes each new one: the loss must fall.
    const maker = new BatchMaker(set, { batchSize: BATCH, ...normalization });
    const batch = maker.allocate();
    maker.fill(Int32Array.from({ length: BATCH }, (_, i) => i), 0, batch);
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
      imagesPerSecond: (plan.stepsPerWindow * BATCH) / (median(windowMs) / 1000),
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

type Tf = Tfjs["tf"];
type Variable = ReturnType<Tf["variable"]>;
type Tensor4D = ReturnType<Tf["tensor4d"]>;
type Scalar = ReturnType<Tf["scalar"]>;

type GradConfig = Parameters<Tf["registerGradient"]>[0];
type TfTensor = ReturnType<Tf["tensor"]>;

/**
 * Registers, where missing, the gradients of the kernels the peer's step runs through. tfjs-core's
 * node entry registers no gradients (the `@tensorflow/tfjs` bundle does), and its
 * `dist/register_all_gradients.js` cannot load in Deno (extension-less ESM imports), so these are
 * tfjs-core 4.22.0's own gradient functions, ported with the same ops.
 */
function registerPeerGradients(tf: Tf): void {
  const bu = tf.backend_util;
  const engine = tf.engine();
  // Sums a broadcast gradient back to an input's shape.
  const unbroadcast = (g: TfTensor, shape: number[], out: number[]) => {
    const axes = bu.getReductionAxes(shape, out);
    return tf.reshape(axes.length > 0 ? tf.sum(g, axes) : g, shape);
  };
  const saveAB = { inputsToSave: ["a", "b"] };
  const configs: GradConfig[] = [
    {
      kernelName: "Conv2D",
      inputsToSave: ["x", "filter"],
      gradFunc: (dy, [x, filter], attrs) => {
        const { strides, pad, dataFormat, dimRoundingMode } = attrs;
        const common = { strides, pad, dataFormat, dimRoundingMode };
        return {
          x: () =>
            engine.runKernel("Conv2DBackpropInput", { dy: dy as TfTensor, filter }, {
              ...common,
              inputShape: x.shape,
            }) as TfTensor,
          filter: () =>
            engine.runKernel("Conv2DBackpropFilter", { x, dy: dy as TfTensor }, {
              ...common,
              filterShape: filter.shape,
            }) as TfTensor,
        };
      },
    },
    {
      kernelName: "Add",
      ...saveAB,
      gradFunc: (dy, [a, b]) => {
        const out = bu.assertAndGetBroadcastShape(a.shape, b.shape);
        return {
          a: () => unbroadcast(dy as TfTensor, a.shape, out),
          b: () => unbroadcast(dy as TfTensor, b.shape, out),
        };
      },
    },
    {
      kernelName: "Sub",
      ...saveAB,
      gradFunc: (dy, [a, b]) => {
        const out = bu.assertAndGetBroadcastShape(a.shape, b.shape);
        return {
          a: () => unbroadcast(dy as TfTensor, a.shape, out),
          b: () => tf.neg(unbroadcast(dy as TfTensor, b.shape, out)),
        };
      },
    },
    {
      kernelName: "Multiply",
      ...saveAB,
      gradFunc: (dy, [a, b]) => {
        const out = bu.assertAndGetBroadcastShape(a.shape, b.shape);
        return {
          a: () => unbroadcast(tf.mul(dy as TfTensor, b), a.shape, out),
          b: () => unbroadcast(tf.mul(dy as TfTensor, a), b.shape, out),
        };
      },
    },
    {
      kernelName: "Mean",
      inputsToSave: ["x"],
      gradFunc: (dy, [x], attrs) => {
        const axes = tf.util.parseAxisParam(attrs.axis as number[], x.shape);
        const size = axes.reduce((n, axis) => n * x.shape[axis], 1);
        const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
        return {
          x: () => tf.div(tf.mul(tf.reshape(dy as TfTensor, kept), tf.ones(x.shape)), size),
        };
      },
    },
    {
      kernelName: "Sum",
      inputsToSave: ["x"],
      gradFunc: (dy, [x], attrs) => {
        const axes = tf.util.parseAxisParam(attrs.axis as number[], x.shape);
        const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
        return { x: () => tf.mul(tf.reshape(dy as TfTensor, kept), tf.ones(x.shape)) };
      },
    },
    {
      kernelName: "Reshape",
      inputsToSave: ["x"],
      gradFunc: (dy, [x]) => ({ x: () => tf.reshape(dy as TfTensor, x.shape) }),
    },
    { kernelName: "Cast", gradFunc: (dy) => ({ x: () => (dy as TfTensor).clone() }) },
    { kernelName: "Identity", gradFunc: (dy) => ({ x: () => tf.cast(dy as TfTensor, "float32") }) },
    {
      kernelName: "Square",
      inputsToSave: ["x"],
      gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as TfTensor, tf.mul(x, 2)) }),
    },
    {
      kernelName: "Rsqrt",
      inputsToSave: ["x"],
      gradFunc: (dy, [x]) => ({
        x: () => tf.neg(tf.div(dy as TfTensor, tf.mul(tf.pow(x, 1.5), 2))),
      }),
    },
    {
      kernelName: "Relu",
      inputsToSave: ["x"],
      gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as TfTensor, tf.step(x)) }),
    },
    {
      kernelName: "BatchMatMul",
      ...saveAB,
      gradFunc: (dy, [a, b], attrs) => {
        if (attrs.transposeA || attrs.transposeB) {
          throw new Error("Cannot differentiate matMul: the peer uses no transposes");
        }
        return {
          a: () => tf.matMul(dy as TfTensor, b, false, true),
          b: () => tf.matMul(a, dy as TfTensor, true, false),
        };
      },
    },
  ];
  for (const config of configs) {
    if (!tf.getGradient(config.kernelName)) tf.registerGradient(config);
  }
}

/** ResNet-8 of RECIPE.md in tfjs-core ops, NHWC, trained with momentum SGD. */
async function timeTfjs(
  tfjs: Tfjs,
  set: ImageSet,
  timedSteps: number,
): Promise<{ imagesPerSecond: number; stepMs: number[]; losses: number[]; gpuBytes: number }> {
  const { tf } = tfjs;
  registerPeerGradients(tf);
  const normalization = getProfile(PROFILE).normalization;
  const maker = new BatchMaker(set, { batchSize: BATCH, ...normalization });
  const batch = maker.allocate();
  maker.fill(Int32Array.from({ length: BATCH }, (_, i) => i), 0, batch);
  // (B,1,28,28) and (B,28,28,1) are the same bytes for one channel.
  const x = tf.tensor4d(batch.images, [BATCH, 28, 28, 1]);
  const y = tf.oneHot(tf.tensor1d(batch.labels, "int32"), 10);

  let seed = 1;
  const variables: Variable[] = [];
  const variable = (t: Tensor4D | ReturnType<Tf["ones"]>) => {
    const v = tf.variable(t, true, `v${variables.length}`);
    t.dispose();
    variables.push(v);
    return v;
  };
  const convBn = (k: number, cin: number, cout: number, stride: number) => ({
    // Kaiming normal, fan_out; BN weight 1, bias 0.
    w: variable(
      tf.randomNormal([k, k, cin, cout], 0, Math.sqrt(2 / (cout * k * k)), "float32", seed++),
    ),
    gamma: variable(tf.ones([cout])),
    beta: variable(tf.zeros([cout])),
    stride,
    pad: k === 3 ? 1 : 0,
  });
  type ConvBn = ReturnType<typeof convBn>;
  const applyConvBn = (l: ConvBn, input: Tensor4D, relu: boolean): Tensor4D => {
    const conv = tf.conv2d(input, l.w as unknown as Tensor4D, l.stride, l.pad);
    const { mean, variance } = tf.moments(conv, [0, 1, 2]);
    const norm = tf.add(
      tf.mul(tf.mul(tf.sub(conv, mean), tf.rsqrt(tf.add(variance, 1e-5))), l.gamma),
      l.beta,
    ) as Tensor4D;
    return relu ? tf.relu(norm) : norm;
  };
  const stem = convBn(3, 1, 16, 1);
  const blocks = [[16, 16, 1], [16, 32, 2], [32, 64, 2]].map(([cin, cout, stride]) => ({
    c1: convBn(3, cin, cout, stride),
    c2: convBn(3, cout, cout, 1),
    short: stride !== 1 || cin !== cout ? convBn(1, cin, cout, stride) : null,
  }));
  const bound = 1 / Math.sqrt(64);
  const fcW = variable(tf.randomUniform([64, 10], -bound, bound, "float32", seed++));
  const fcB = variable(tf.randomUniform([10], -bound, bound, "float32", seed++));
  const loss = () => {
    let h = applyConvBn(stem, x, true);
    for (const b of blocks) {
      const main = applyConvBn(b.c2, applyConvBn(b.c1, h, true), false);
      h = tf.relu(tf.add(main, b.short ? applyConvBn(b.short, h, false) : h));
    }
    const logits = tf.add(tf.matMul(tf.mean(h, [1, 2]), fcW), fcB);
    // Per-row losses, then a plain mean (the default reduction divides by a count of weights).
    return tf.mean(
      tf.losses.softmaxCrossEntropy(y, logits, undefined, undefined, tf.Reduction.NONE),
    ) as Scalar;
  };
  const optimizer = tf.train.momentum(0.1, 0.9);
  const losses: number[] = [];
  const stepMs: number[] = [];
  try {
    for (let i = 0; i < 1 + timedSteps; i++) {
      const start = performance.now();
      const value = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(loss, variables);
        // tfjs types the map as variables; applyGradients takes gradient tensors by name.
        optimizer.applyGradients(grads as unknown as Record<string, Variable>);
        return value;
      });
      losses.push((await value.data())[0]);
      value.dispose();
      if (i > 0) stepMs.push(performance.now() - start);
    }
    return {
      imagesPerSecond: BATCH / (median(stepMs) / 1000),
      stepMs,
      losses,
      gpuBytes: tf.memory().numBytes,
    };
  } finally {
    optimizer.dispose();
    tf.dispose([x, y, ...variables]);
  }
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
    const ltkit = await timeLtkitStep(gpu, syntheticSet(BATCH, 1), plan);
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
    const peer = await timeTfjs(tfjs, syntheticSet(BATCH, 1), plan.tfjsTimed);
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
