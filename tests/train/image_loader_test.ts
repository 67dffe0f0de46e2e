/**
 * The image loader: a pack streamed shard by shard, augmented on the GPU; every batch equals the
 * CPU reference for the parameters it reports (tolerance 2e-4, as tests/ops/augment_test.ts),
 * each epoch covers every row once, and an epoch replays exactly from its number. The other
 * samplers give stage 1's in-memory index sequence; a subset of the pack leaves the other rows
 * out.
 */
import {
  deepStrictEqual as deepEqual,
  notDeepStrictEqual as notDeepEqual,
  ok,
  strictEqual as equal,
} from "node:assert/strict";
import {
  augmentReference,
  createSampler,
  decodeShard,
  IMAGENET_NORMALIZATION,
  type PackedImage,
  readManifest,
  Rng,
} from "../../lib/data/mod.ts";
import { type ImageBatch, ImageLoader } from "../../lib/train/image_loader.ts";
import { noGpu, testGpu } from "../_gpu.ts";
import { syntheticPack } from "./_packs.ts";

/** The loader's batch equals the CPU reference of its rows and parameters (tolerance 2e-4). */
async function checkBatch(
  loader: ImageLoader,
  b: ImageBatch,
  rows: PackedImage[],
  what: string,
): Promise<void> {
  const S = loader.options.size!;
  const got = (await loader.images.read()).subarray(0, b.count * 3 * S * S);
  const { mean, std } = loader.options;
  const want = augmentReference([...b.indices].map((i) => rows[i]), b.params, S, mean, std);
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  ok(err <= 2e-4, `${what}: max |diff| ${err}`);
}

Deno.test({
  name: "ImageLoader: batches equal the CPU reference; epochs cover every row and replay by number",
  ignore: noGpu,
  fn: async () => {
    const gpu = (await testGpu())!;
    const dir = await Deno.makeTempDir();
    try {
      const m = await syntheticPack(dir, {
        count: 37,
        classes: 4,
        size: 16,
        shardBytes: 3000,
        dims: (i) => [21 + (i % 5) * 3, 17 + (i % 3) * 4],
        pixel: (i, j) => (j * (i + 5) + (j >> 4)) & 0xff,
        workers: 2,
      });
      ok(m.shards.length > 3);
      const rows: PackedImage[] = [];
      for (const s of m.shards) {
        rows.push(...decodeShard(await Deno.readFile(`${dir}/pack/${s.file}`), s.file));
      }
      const { mean, std } = IMAGENET_NORMALIZATION;
      for (const train of [true, false]) {
        const loader = await ImageLoader.create(gpu, {
          dir: `${dir}/pack`,
          batch: 8,
          train,
          seed: 3,
          mean,
          std,
          size: 13,
          resize: 15,
        });
        try {
          const run = async (epoch: number) => {
            const seen: number[] = [];
            for await (const b of loader.epoch(epoch)) {
              await checkBatch(loader, b, rows, `train ${train}`);
              deepEqual([...b.labels], [...b.indices].map((i) => rows[i].label));
              seen.push(...b.indices);
            }
            return seen;
          };
          const first = await run(0);
          deepEqual([...first].sort((a, b) => a - b), Array.from({ length: 37 }, (_, i) => i));
          deepEqual(await run(0), first);
          if (train) notDeepEqual(await run(1), first);
          else deepEqual(first, Array.from({ length: 37 }, (_, i) => i));
          equal(loader.stream.maxHeld, 2);
        } finally {
          loader.destroy();
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "ImageLoader: sampled epochs are stage 1's in-memory index sequence; a subset leaves its other rows out",
  ignore: noGpu,
  fn: async () => {
    const gpu = (await testGpu())!;
    const dir = await Deno.makeTempDir();
    try {
      const label = (i: number) => [0, 0, 0, 0, 0, 1, 1, 2][i % 8];
      await syntheticPack(dir, {
        count: 29,
        classes: 3,
        label,
        size: 12,
        shardBytes: 2000,
        dims: (i) => [13 + (i % 3), 12 + (i % 2)],
      });
      const rows: PackedImage[] = [];
      for (const s of (await readManifest(`${dir}/pack`))!.shards) {
        rows.push(...decodeShard(await Deno.readFile(`${dir}/pack/${s.file}`), s.file));
      }
      const { mean, std } = IMAGENET_NORMALIZATION;
      // The training source of a pack whose tuning rows (every 5th) were drawn out.
      const subset = Int32Array.from({ length: 29 }, (_, i) => i).filter((i) => i % 5 !== 2);
      const own = subset.map(label);
      const options = { dir: `${dir}/pack`, batch: 6, seed: 4, mean, std, size: 10, resize: 11 };
      for (const sampler of ["class", "sqrt", "progressive", "instance"] as const) {
        const loader = await ImageLoader.create(gpu, {
          ...options,
          train: true,
          sampler,
          epochs: 3,
          subset,
          firstStream: 1,
        });
        try {
          for (const epoch of [0, 2]) {
            const seen: number[] = [];
            for await (const b of loader.epoch(epoch)) {
              deepEqual([...b.labels], [...b.indices].map(label));
              // The pixels read by position are the rows'.
              await checkBatch(loader, b, rows, sampler);
              seen.push(...b.indices);
            }
            ok(seen.every((r) => r % 5 !== 2), `${sampler}: a left-out row was trained on`);
            equal(seen.length, subset.length);
            if (sampler === "instance") {
              deepEqual([...seen].sort((a, b) => a - b), [...subset]);
              continue;
            }
            // Stage 1 on an in-memory set with these labels: Rng(seed, 1 + 2e), createSampler.
            const memory = createSampler(sampler, own, new Rng(4, 1 + 2 * epoch), 3).epoch(
              epoch,
              3,
            );
            deepEqual(seen, [...memory].map((i) => subset[i]), `${sampler} epoch ${epoch}`);
          }
          ok((loader.rows?.maxInFlight ?? 0) <= 12);
        } finally {
          loader.destroy();
        }
      }
      // Evaluation of a subset (a tuning set drawn from the training pack): its rows in order.
      const tune = Int32Array.of(2, 7, 12, 17, 22, 27);
      const loader = await ImageLoader.create(gpu, { ...options, train: false, subset: tune });
      try {
        const seen: number[] = [];
        for await (const b of loader.epoch(0)) seen.push(...b.indices);
        deepEqual(seen, [...tune]);
        equal(loader.count, 6);
        equal(loader.stream.maxHeld, 0, "read by position, not streamed");
      } finally {
        loader.destroy();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
