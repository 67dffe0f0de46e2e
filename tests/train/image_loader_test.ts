/**
 * The image loader: a pack streamed shard by shard, augmented on the GPU; every batch equals the
 * CPU reference for the parameters it reports (tolerance 2e-4, as tests/ops/augment_test.ts),
 * each epoch covers every row once, and an epoch replays exactly from its number.
 */
import {
  deepStrictEqual as deepEqual,
  notDeepStrictEqual as notDeepEqual,
  ok,
  strictEqual as equal,
} from "node:assert/strict";
import {
  augmentReference,
  decodeShard,
  IMAGENET_NORMALIZATION,
  type PackedImage,
} from "../../lib/data/mod.ts";
import { ImageLoader } from "../../lib/train/image_loader.ts";
import { noGpu, testGpu } from "../_gpu.ts";
import { syntheticPack } from "./_packs.ts";

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
              const got = (await loader.images.read()).subarray(0, b.count * 3 * 13 * 13);
              const want = augmentReference(
                [...b.indices].map((i) => rows[i]),
                b.params,
                13,
                mean,
                std,
              );
              let err = 0;
              for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
              ok(err <= 2e-4, `train ${train}: max |diff| ${err}`);
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
