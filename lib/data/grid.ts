/**
 * A picture of a data set: one row per class with sample images, and a bar per row whose length
 * is the class's share of the largest class (people look at data before they trust it).
 *
 * @module
 */

import type { ImageSet } from "./image_set.ts";
import { encodePng } from "./_png.ts";

/**
 * Options for {@link sampleGrid}.
 *
 * @example
 * ```ts
 * import type { GridOptions } from "./grid.ts";
 * const options: GridOptions = { perClass: 8, scale: 3, rows: [9, 8, 7] };
 * ```
 */
export interface GridOptions {
  /** Images per row (default 10); the first ones of each class in row order. */
  perClass?: number;
  /** Nearest-neighbour zoom (default 2). */
  scale?: number;
  /** Gap between cells in output pixels (default 2). */
  gap?: number;
  /** The class of each row, top to bottom (default 0..C-1). */
  rows?: readonly number[];
  /** Per-class counts drawn as bars right of the images (default: counts in `set`). */
  counts?: ArrayLike<number>;
  /** Bar length for the largest count, in output pixels (default 120; 0 for no bars). */
  barWidth?: number;
}

/**
 * A raster image, (H,W,channels) row-major.
 *
 * @example
 * ```ts
 * import type { Raster } from "./grid.ts";
 * const dot: Raster = { pixels: Uint8Array.of(255), width: 1, height: 1, channels: 1 };
 * ```
 */
export interface Raster {
  /** Pixel bytes, (H,W,channels) row-major. */
  pixels: Uint8Array;
  /** W. */
  width: number;
  /** H. */
  height: number;
  /** 1 (gray) or 3 (RGB). */
  channels: 1 | 3;
}

/**
 * Lay out sample images per class on a gray background.
 *
 * @param set The images (1 channel gives gray, 3 give RGB; otherwise the first channel).
 * @param options Layout.
 * @returns The raster.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sampleGrid } from "./grid.ts";
 * const set = {
 *   images: new Uint8Array(4 * 4).fill(255), labels: Int32Array.from([0, 1, 1, 0]),
 *   count: 4, channels: 1, height: 2, width: 2, classCount: 2,
 * };
 * const grid = sampleGrid(set, { perClass: 2, scale: 1, gap: 1, barWidth: 0 });
 * assert.deepEqual([grid.width, grid.height], [7, 7]);
 * ```
 */
export function sampleGrid(set: ImageSet, options: GridOptions = {}): Raster {
  const perClass = options.perClass ?? 10;
  const scale = options.scale ?? 2;
  const gap = options.gap ?? 2;
  const barWidth = options.barWidth ?? 120;
  const rows = options.rows ?? Array.from({ length: set.classCount }, (_, c) => c);
  const counts = options.counts ?? (() => {
    const n = new Int32Array(set.classCount);
    for (const y of set.labels) n[y]++;
    return n;
  })();
  const { height: H, width: W } = set;
  const channels: 1 | 3 = set.channels === 3 ? 3 : 1;
  const cellW = W * scale, cellH = H * scale;
  const imagesWidth = gap + perClass * (cellW + gap);
  const width = imagesWidth + (barWidth > 0 ? barWidth + gap : 0);
  const height = gap + rows.length * (cellH + gap);
  const pixels = new Uint8Array(width * height * channels).fill(96);
  const put = (x: number, y: number, c: number, v: number) => {
    pixels[(y * width + x) * channels + c] = v;
  };
  // The first `perClass` rows of each class, in set order.
  const picks = new Map<number, number[]>(rows.map((c) => [c, []]));
  for (let i = 0; i < set.count; i++) {
    const list = picks.get(set.labels[i]);
    if (list && list.length < perClass) list.push(i);
  }
  const plane = H * W;
  let maxCount = 0;
  for (const c of rows) maxCount = Math.max(maxCount, counts[c] ?? 0);
  rows.forEach((cls, r) => {
    const top = gap + r * (cellH + gap);
    picks.get(cls)!.forEach((i, k) => {
      const left = gap + k * (cellW + gap);
      const base = i * set.channels * plane;
      for (let y = 0; y < cellH; y++) {
        for (let x = 0; x < cellW; x++) {
          const p = Math.floor(y / scale) * W + Math.floor(x / scale);
          for (let c = 0; c < channels; c++) {
            put(left + x, top + y, c, set.images[base + c * plane + p]);
          }
        }
      }
    });
    if (barWidth > 0 && maxCount > 0) {
      const length = Math.max(1, Math.round((barWidth * (counts[cls] ?? 0)) / maxCount));
      for (let y = top + cellH / 4; y < top + (3 * cellH) / 4; y++) {
        for (let x = 0; x < length; x++) {
          for (let c = 0; c < channels; c++) put(imagesWidth + x, Math.floor(y), c, 230);
        }
      }
    }
  });
  return { pixels, width, height, channels };
}

/**
 * {@link sampleGrid} encoded as PNG.
 *
 * @param set The images.
 * @param options Layout.
 * @returns PNG bytes.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sampleGridPng } from "./grid.ts";
 * const set = {
 *   images: new Uint8Array(4), labels: Int32Array.from([0]),
 *   count: 1, channels: 1, height: 2, width: 2, classCount: 1,
 * };
 * assert.ok(sampleGridPng(set).length > 0);
 * ```
 */
export function sampleGridPng(set: ImageSet, options: GridOptions = {}): Uint8Array {
  const grid = sampleGrid(set, options);
  return encodePng(grid.pixels, grid.width, grid.height, grid.channels);
}
