import {
  deepStrictEqual as deepEqual,
  match,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import type { ImageSet } from "../../lib/data/image_set.ts";
import { Rng } from "../../lib/data/rng.ts";
import { readAll } from "../../lib/gpu/tensor.ts";
import { resnet } from "../../lib/nn/spec.ts";
import { loadCheckpoint, saveCheckpoint } from "../../lib/train/checkpoint.ts";
import type { Stage1Settings } from "../../lib/train/config.ts";
import { DivergenceError, trainStage1 } from "../../lib/train/stage1.ts";
import { noGpu, testGpu } from "../_gpu.ts";

const SPEC = resnet("tiny", [1, 8, 8], 4, [4, 6, 8], 1, 4);
const NORMALIZATION = { mean: [0.2], std: [0.3] };

/** Four classes, each a bright 4x4 quadrant over noise: separable, but not trivially. */
function quadrants(count: number, seed: number): ImageSet {
  const rng = new Rng(seed);
  const images = new Uint8Array(count * 64);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const c = i % 4;
    labels[i] = c;
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        const inside = (y < 4) === (c < 2) && (x < 4) === (c % 2 === 0);
        images[i * 64 + y * 8 + x] = Math.min(255, rng.nextInt(120) + (inside ? 110 : 0));
      }
    }
  }
  return { images, labels, count, channels: 1, height: 8, width: 8, classCount: 4 };
}

const SETTINGS: Stage1Settings = {
  epochs: 8,
  batch: 32,
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 5e-4,
  sampler: "instance",
  augment: false,
  seed: 5,
  stepsPerEpoch: null,
};

async function weights(result: Awaited<ReturnType<typeof trainStage1>>) {
  const values = await readAll(result.net.params.map((p) => p.value));
  result.net.destroy();
  return values;
}

Deno.test({
  name: "stage 1 learns separable data to 95% training accuracy, deterministically",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const data = quadrants(256, 1);
    const opts = { settings: SETTINGS, spec: SPEC, normalization: NORMALIZATION, quiet: true };
    const first = await trainStage1(gpu, data, opts);
    const last = first.history[first.history.length - 1];
    console.log(`final epoch: loss ${last.loss.toFixed(4)}, accuracy ${last.accuracy}`);
    if (!(last.accuracy >= 0.95)) throw new Error(`training accuracy ${last.accuracy} < 0.95`);
    const w1 = await weights(first);
    const second = await trainStage1(gpu, data, opts);
    deepEqual(second.history.map((h) => h.loss), first.history.map((h) => h.loss));
    deepEqual(await weights(second), w1);
  },
});

Deno.test({
  name: "an interrupted run resumes to the same weights, bit for bit",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const dir = await Deno.makeTempDir();
    const data = quadrants(128, 2);
    const settings = { ...SETTINGS, epochs: 4, augment: true, sampler: "progressive" as const };
    const base = { settings, spec: SPEC, normalization: NORMALIZATION, quiet: true };
    const whole = await weights(
      await trainStage1(gpu, data, { ...base, checkpointPath: `${dir}/a.bin` }),
    );
    const cut = await trainStage1(gpu, data, {
      ...base,
      checkpointPath: `${dir}/b.bin`,
      stopAfterEpochs: 2,
    });
    equal(cut.epochsDone, 2);
    cut.net.destroy();
    equal((await loadCheckpoint(`${dir}/b.bin`)).epoch, 2);
    const resumed = await trainStage1(gpu, data, {
      ...base,
      checkpointPath: `${dir}/b.bin`,
      resume: true,
    });
    equal(resumed.history.length, 4);
    deepEqual(await weights(resumed), whole);
    await Deno.remove(dir, { recursive: true });
  },
});

/**
 * Trains one epoch of `data` to a checkpoint, rewrites the tensor `name` in it with `poison`,
 * resumes, and checks that the run fails as `expected` says and leaves the checkpoint as it was.
 */
async function resumePoisoned(
  data: ImageSet,
  logEvery: number,
  name: string,
  poison: (data: Float32Array) => Float32Array,
  expected: (error: DivergenceError) => void,
): Promise<void> {
  const gpu = (await testGpu())!;
  const dir = await Deno.makeTempDir();
  const path = `${dir}/c.bin`;
  const base = {
    settings: { ...SETTINGS, epochs: 3 },
    spec: SPEC,
    normalization: NORMALIZATION,
    quiet: true,
    checkpointPath: path,
    logEvery,
  };
  try {
    (await trainStage1(gpu, data, { ...base, stopAfterEpochs: 1 })).net.destroy();
    const good = await loadCheckpoint(path);
    const tensors = good.tensors.map((t) => t.name === name ? { ...t, data: poison(t.data) } : t);
    await saveCheckpoint(path, { ...good, tensors });
    const poisoned = await Deno.readFile(path);
    await rejects(trainStage1(gpu, data, { ...base, resume: true }), (error: Error) => {
      equal(error instanceof DivergenceError, true, error.message);
      match(
        error.message,
        new RegExp(`the checkpoint of epoch 1, the last that passed, is kept in ${path}`),
      );
      equal((error as DivergenceError).keptEpoch, 1);
      expected(error as DivergenceError);
      return true;
    });
    deepEqual(await Deno.readFile(path), poisoned);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "a non-finite loss stops the run with its epoch and step and keeps the checkpoint",
  ignore: noGpu,
  async fn() {
    // A NaN classifier: the next epoch's first loss is NaN.
    await resumePoisoned(quadrants(64, 3), 20, "fc.weight", (w) => w.map(() => NaN), (error) => {
      match(error.message, /loss is NaN at epoch 2, steps 1\.\.2, so training diverged/);
    });
  },
});

Deno.test({
  name: "a finite loss above 10 x ln(classes) after epoch 1 stops the run at its window",
  ignore: noGpu,
  async fn() {
    // 8 steps of 32 read back every 2. A bias of 1e4 for class 0 gives a loss near 7500 for
    // three images in four, far above the limit 13.86 for 4 classes, yet finite; a few SGD steps
    // cannot bring it down.
    const poison = (b: Float32Array) => b.map((_, i) => (i === 0 ? 1e4 : 0));
    await resumePoisoned(quadrants(256, 4), 2, "fc.bias", poison, (error) => {
      // The first window of epoch 2, caught before the epoch's end.
      match(error.message, /loss is \d+(\.\d+)? at epoch 2, steps 1\.\.2, above 13\.86 = /);
    });
  },
});
