/**
 * A synthetic pack for the loader and stage-1 tests: `count` PNG images of varied sizes, labels
 * `i % classes` (or `label(i)`), packed at `size` into `dir/pack` in shards of at most `shardBytes` bytes.
 *
 * @module
 */

import { packImageList, type PackManifest } from "../../lib/data/mod.ts";
import { encodePng } from "../../lib/data/_png.ts";
import type { Stage1Settings } from "../../lib/train/config.ts";

/** Stage 1 on a tiny pack: 2 epochs of batch 4, augmented (packs are always cropped). */
export const PACK_SETTINGS: Readonly<Stage1Settings> = Object.freeze({
  epochs: 2,
  batch: 4,
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 5e-4,
  sampler: "instance",
  augment: true,
  seed: 5,
  stepsPerEpoch: null,
});

/** Sizes of {@link syntheticPack}'s images and pack. */
export interface SyntheticPackOptions {
  /** Images. */
  count: number;
  /** Labels are `i % classes`. */
  classes: number;
  /** Label of image i instead of `i % classes`. */
  label?: (i: number) => number;
  /** The pack's shorter side. */
  size: number;
  /** Bound on a shard's pixel bytes (small, so the pack has several shards). */
  shardBytes: number;
  /** Width and height of image i. */
  dims: (i: number) => [number, number];
  /** Pixel byte j of image i (default: a pattern that differs per image). */
  pixel?: (i: number, j: number) => number;
  /** Decoding threads. */
  workers?: number;
}

/** Writes the images and `dir/list.txt` and packs them into `dir/pack`. */
export async function syntheticPack(dir: string, o: SyntheticPackOptions): Promise<PackManifest> {
  const pixel = o.pixel ?? ((i: number, j: number) => (j * (i + 3) + i * 11) & 0xff);
  const lines: string[] = [];
  for (let i = 0; i < o.count; i++) {
    const [w, h] = o.dims(i);
    const px = Uint8Array.from({ length: w * h * 3 }, (_, j) => pixel(i, j));
    await Deno.writeFile(`${dir}/${i}.png`, encodePng(px, w, h, 3));
    lines.push(`${i}.png ${o.label ? o.label(i) : i % o.classes}`);
  }
  await Deno.writeTextFile(`${dir}/list.txt`, lines.join("\n"));
  return await packImageList({
    list: `${dir}/list.txt`,
    root: dir,
    size: o.size,
    out: `${dir}/pack`,
    shardMiB: o.shardBytes / 1048576,
    workers: o.workers ?? 1,
  });
}
