/**
 * Benchmark section "input": what feeds stage 1 on image-list data sets, so the table shows
 * whether the input or the network limits. On a synthetic pack of ImageNet-shaped images
 * (256x341 RGB, as `deno task pack --size 256` makes them) written under `bench/input-pack/`:
 * images/s of reading shards ({@link ShardStream}), of the augmentation (RandomResizedCrop 224,
 * flip, ColorJitter, normalisation) on the CPU (the plain reference, one thread) and on the GPU
 * (`kernels/augment.wgsl`, batch 64), and of the whole loader (stream, draw parameters, upload,
 * augment, wait).
 *
 * @module
 */

import {
  augmentReference,
  type AugmentSource,
  encodeShard,
  IMAGENET_NORMALIZATION,
  MANIFEST,
  type PackedImage,
  type PackManifest,
  Rng,
  shardName,
  ShardStream,
  trainAugmentParams,
} from "../../lib/data/mod.ts";
import { sha256Hex } from "../../lib/train/checkpoint.ts";
import { GpuAugmenter } from "../../lib/ops/augment.ts";
import type { BenchRow, BenchSection } from "./common.ts";

const H = 256, W = 341, S = 224, BATCH = 64;

/** Writes a pack of `count` synthetic images in shards of `perShard` (bench/ is writable). */
async function syntheticPack(dir: string, count: number, perShard: number): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const shards = [];
  for (let k = 0; k * perShard < count; k++) {
    const rows: PackedImage[] = [];
    for (let i = k * perShard; i < Math.min(count, (k + 1) * perShard); i++) {
      const pixels = new Uint8Array(H * W * 3);
      for (let j = 0; j < pixels.length; j++) pixels[j] = (j * 7 + i * 13 + (j >> 9)) & 0xff;
      rows.push({ pixels, height: H, width: W, label: i % 10, path: `${i}.JPEG`, line: i + 1 });
    }
    const bytes = encodeShard(rows);
    await Deno.writeFile(`${dir}/${shardName(k)}`, bytes);
    shards.push({
      file: shardName(k),
      rows: rows.length,
      bytes: bytes.length,
      sha256: await sha256Hex(bytes),
      firstEntry: k * perShard,
      endEntry: k * perShard + rows.length,
    });
  }
  const manifest: PackManifest = {
    format: "ltkit-pack-1",
    settings: { list: "synthetic", listSha256: "", root: "", size: H, shardBytes: 0 },
    classCount: 10,
    classCounts: Array.from({ length: 10 }, (_, c) => Math.floor((count - c - 1) / 10) + 1),
    entries: count,
    shards,
    skipped: [],
    done: true,
  };
  await Deno.writeTextFile(`${dir}/${MANIFEST}`, JSON.stringify(manifest));
}

/** The section: see the module doc. */
export const inputSection: BenchSection = {
  name: "input",
  description: `image input at ${S}: shard reading, augmentation on CPU and GPU, whole loader`,
  async run(ctx) {
    const count = ctx.quick ? 128 : 512;
    const dir = "bench/input-pack";
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await syntheticPack(dir, count, 32);
    const { mean, std } = IMAGENET_NORMALIZATION;
    const rows: BenchRow[] = [];
    try {
      const stream = await ShardStream.open(dir);
      let t = performance.now(), n = 0;
      for await (const _ of stream.epoch({ rng: new Rng(0) })) n++;
      const readRate = n / ((performance.now() - t) / 1000);
      rows.push({
        name: "read shards",
        value: readRate,
        unit: "images/s",
        note: `${(readRate * H * W * 3 / 1e6).toFixed(0)} MB/s, ${H}x${W} RGB, 32 per shard`,
      });

      const rng = new Rng(1);
      const sample: AugmentSource[] = [];
      for await (const r of stream.epoch()) {
        sample.push({ pixels: r.pixels.slice(), height: r.height, width: r.width });
        if (sample.length === BATCH) break;
      }
      const cpuCount = ctx.quick ? 4 : 16;
      t = performance.now();
      for (let i = 0; i < cpuCount; i++) {
        augmentReference([sample[i]], [trainAugmentParams(rng, H, W)], S, mean, std);
      }
      const cpuRate = cpuCount / ((performance.now() - t) / 1000);
      rows.push({
        name: "augment CPU",
        value: cpuRate,
        unit: "images/s",
        note: "plain f64 reference, one thread",
      });

      const aug = await GpuAugmenter.create(ctx.gpu, {
        batch: BATCH,
        size: S,
        maxBytes: BATCH * H * W * 3,
        mean,
        std,
      });
      try {
        const params = () => sample.map((s) => trainAugmentParams(rng, s.height, s.width));
        aug.run(sample, params());
        await ctx.gpu.sync();
        const reps = ctx.quick ? 2 : 6;
        t = performance.now();
        for (let r = 0; r < reps; r++) aug.run(sample, params());
        await ctx.gpu.sync();
        const gpuRate = reps * BATCH / ((performance.now() - t) / 1000);
        rows.push({
          name: "augment GPU",
          value: gpuRate,
          unit: "images/s",
          ratio: gpuRate / cpuRate,
          note: `batch ${BATCH}, ratio against the CPU row`,
        });

        t = performance.now();
        let done = 0, batch: AugmentSource[] = [];
        for await (const r of stream.epoch({ rng: new Rng(2) })) {
          batch.push(r);
          if (batch.length === BATCH) {
            aug.run(batch, params().slice(0, batch.length));
            await ctx.gpu.sync();
            done += batch.length;
            batch = [];
          }
        }
        const loaderRate = done / ((performance.now() - t) / 1000);
        rows.push({
          name: "whole loader",
          value: loaderRate,
          unit: "images/s",
          note: `stream + parameters + upload + GPU augment, batch ${BATCH}, one epoch of ${done}`,
        });
      } finally {
        aug.destroy();
      }
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
    for (const r of rows) ctx.log(`${r.name}: ${r.value.toFixed(1)} ${r.unit}`);
    return rows;
  },
};
