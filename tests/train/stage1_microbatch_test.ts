import {
  deepStrictEqual as deepEqual,
  ok,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import type { ImageSet } from "../../lib/data/image_set.ts";
import { Rng } from "../../lib/data/rng.ts";
import { requestGpu } from "../../lib/gpu/device.ts";
import { readAll } from "../../lib/gpu/tensor.ts";
import { stepMemory } from "../../lib/nn/memory.ts";
import { loadCheckpoint } from "../../lib/train/checkpoint.ts";
import { ResNet } from "../../lib/nn/resnet.ts";
import { resnet } from "../../lib/nn/spec.ts";
import type { Stage1Settings } from "../../lib/train/config.ts";
import { trainStage1 } from "../../lib/train/stage1.ts";
import { bufferLimits, noGpu } from "../_gpu.ts";

const SPEC = resnet("tiny", [1, 8, 8], 4, [4, 6], 1, 2);
const NORMALIZATION = { mean: [0.2], std: [0.3] };
/** A workgroup limit the tiny network's step passes in several dispatches. */
const LIMIT = 5;

/** Two classes: a bright left or right half over noise. */
function halves(count: number): ImageSet {
  const rng = new Rng(1);
  const images = new Uint8Array(count * 64);
  const labels = Int32Array.from({ length: count }, (_, i) => i % 2);
  for (let i = 0; i < count; i++) {
    for (let p = 0; p < 64; p++) {
      images[i * 64 + p] = rng.nextInt(100) + (((p % 8) < 4) === (labels[i] === 0) ? 120 : 0);
    }
  }
  return { images, labels, count, channels: 1, height: 8, width: 8, classCount: 2 };
}

const SETTINGS: Stage1Settings = {
  epochs: 3,
  batch: 12,
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 5e-4,
  sampler: "instance",
  augment: false,
  seed: 2,
  stepsPerEpoch: null,
};

Deno.test({
  name: "stage 1 past a tiny per-buffer limit trains in 3 micro-batches, deterministically, " +
    "where the unsplit batch is refused",
  ignore: noGpu,
  async fn() {
    // Room for 4 images' largest tensor: batch 12 runs as 3 micro-batches of 4.
    const limit = stepMemory(SPEC, 4).largest.bytes;
    const gpu = await requestGpu({
      warnFallback: false,
      lowerLimits: { maxStorageBufferBindingSize: limit, maxBufferSize: limit },
    });
    try {
      await rejects(
        ResNet.create(gpu, SPEC, { batch: 12 }),
        /Cannot train tiny at batch 12: its largest tensor, stem.conv.out, needs 12 KiB but one storage buffer holds at most 4 KiB/,
      );
      const opts = { settings: SETTINGS, spec: SPEC, normalization: NORMALIZATION, quiet: true };
      const data = halves(48);
      const runs = [];
      for (let r = 0; r < 2; r++) {
        const result = await trainStage1(gpu, data, opts);
        const weights = await readAll(result.net.params.map((p) => p.value));
        equal(result.net.batch, 4);
        result.net.destroy();
        runs.push({ result, weights });
      }
      const [first, second] = runs;
      deepEqual(first.result.microBatches, { count: 3, size: 4 });
      const last = first.result.history.at(-1)!;
      console.log(`  final epoch: loss ${last.loss.toFixed(4)}, accuracy ${last.accuracy}`);
      // It learns: the epoch loss (the mean over micro-batches, not their sum) falls below a
      // uniform guess's ln 2 and from the first epoch's, and accuracy beats chance.
      equal(last.loss < Math.log(2), true);
      equal(last.loss < first.result.history[0].loss, true);
      equal(last.accuracy > 0.6, true);
      deepEqual(second.result.history.map((h) => h.loss), first.result.history.map((h) => h.loss));
      deepEqual(second.weights, first.weights);
    } finally {
      gpu.destroy();
    }
  },
});

Deno.test({
  name: "stage 1 refuses, before allocating, a batch whose single image does not fit",
  ignore: noGpu,
  async fn() {
    // At 16x16 the stem's output (4 KiB per image) outgrows every parameter and packed weight.
    const spec = resnet("tiny", [1, 16, 16], 4, [4, 6], 1, 2);
    const limit = stepMemory(spec, 1).largest.bytes - 16;
    const gpu = await requestGpu({
      warnFallback: false,
      lowerLimits: { maxStorageBufferBindingSize: limit },
    });
    try {
      const before = gpu.pool.allocatedBytes;
      await rejects(
        trainStage1(gpu, halves(24), {
          settings: SETTINGS,
          spec,
          normalization: NORMALIZATION,
          quiet: true,
        }),
        (e: Error) =>
          e instanceof RangeError &&
          e.message ===
            "Cannot train tiny at batch 12: even one image per micro-batch needs 4 KiB for " +
              "stem.conv.out but one storage buffer holds at most 4.0 KiB on this device; use a " +
              "smaller input size or a narrower network",
      );
      equal(gpu.pool.allocatedBytes, before, "nothing was allocated");
    } finally {
      gpu.destroy();
    }
  },
});

Deno.test({
  name: "stage 1 refuses to resume a checkpoint on a device that splits its batch otherwise",
  ignore: noGpu,
  async fn() {
    const limit = stepMemory(SPEC, 4).largest.bytes;
    const small = await requestGpu({ warnFallback: false, lowerLimits: bufferLimits(limit) });
    const plain = await requestGpu({ warnFallback: false });
    const dir = await Deno.makeTempDir();
    try {
      const checkpointPath = `${dir}/c.bin`;
      const opts = { settings: SETTINGS, spec: SPEC, normalization: NORMALIZATION, quiet: true };
      const data = halves(48);
      const first = await trainStage1(small, data, { ...opts, checkpointPath, stopAfterEpochs: 1 });
      first.net.destroy();
      deepEqual((await loadCheckpoint(checkpointPath)).microBatches, { count: 3, size: 4 });
      await rejects(
        trainStage1(plain, data, { ...opts, checkpointPath, resume: true }),
        (e: Error) =>
          e instanceof RangeError &&
          e.message ===
            `Cannot resume stage 1 from ${checkpointPath}: it ran batch 12 as 3 micro-batches ` +
              "of 4 but this device runs it whole (its per-buffer limit differs), and " +
              "batch-norm statistics are per micro-batch, so the numbers would change; resume " +
              "on a device with the same limits, or start a new run without --resume",
      );
      // On a device with the same limits it resumes, to the uninterrupted run's weights.
      const resumed = await trainStage1(small, data, { ...opts, checkpointPath, resume: true });
      const whole = await trainStage1(small, data, opts);
      deepEqual(
        await readAll(resumed.net.params.map((p) => p.value)),
        await readAll(whole.net.params.map((p) => p.value)),
      );
      resumed.net.destroy();
      whole.net.destroy();
    } finally {
      small.destroy();
      plain.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "stage 1 at a tiny maxComputeWorkgroupsPerDimension folds every dispatch and computes " +
    "the same numbers as without the limit",
  ignore: noGpu,
  async fn() {
    const opts = { settings: SETTINGS, spec: SPEC, normalization: NORMALIZATION, quiet: true };
    const data = halves(48);
    const runs = [];
    for (const lowerLimits of [{}, { maxComputeWorkgroupsPerDimension: LIMIT }]) {
      // The kernels' defaults, not a timed choice, so both runs use the same variants.
      const gpu = await requestGpu({ warnFallback: false, tune: "off", lowerLimits });
      try {
        const result = await trainStage1(gpu, data, opts);
        // Some of the step's dispatches need more than LIMIT workgroups: they ran folded.
        const grids = gpu.capture(() => result.net.trainStep.record()).map((d) => d.workgroups);
        runs.push({
          folded: grids.some(([, y, z]) => y > 1 || z > 1),
          widest: Math.max(...grids.flat()),
          weights: await readAll(result.net.params.map((p) => p.value)),
          losses: result.history.map((h) => h.loss),
        });
        result.net.destroy();
      } finally {
        gpu.destroy();
      }
    }
    const [free, limited] = runs;
    ok(free.widest > LIMIT, `the widest dispatch needs ${free.widest} workgroups`);
    ok(limited.folded && limited.widest <= LIMIT, `widest ${limited.widest}`);
    deepEqual(limited.losses, free.losses);
    deepEqual(limited.weights, free.weights);
  },
});
