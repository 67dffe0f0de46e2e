/**
 * The sample grid of an image-list profile: a few training images of classes spread over the
 * rank order (head first), each decoded from its file, resized (shorter side 48) and centre
 * cropped to 48x48, with bars for the training counts ({@link sampleGridPng}).
 *
 * @module
 */

import { joinPath } from "./_find.ts";
import { decodeImage } from "./decode.ts";
import { sampleGridPng } from "./grid.ts";
import type { ImageListSplits } from "./image_list_profiles.ts";
import { resizeShorterSide } from "./resize.ts";

/** Cell size of the grid, in source pixels. */
const CELL = 48;

/**
 * Classes to show: all of them when at most `rows`, else `rows` spread evenly over the rank
 * order (largest class first, the smallest last).
 *
 * @param counts Training images per class.
 * @param rows How many rows at most.
 * @returns Class indices, head first.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { gridClasses } from "./image_list_grid.ts";
 * deepEqual(gridClasses([5, 50, 1, 20], 2), [1, 2]);
 * ```
 */
export function gridClasses(counts: ArrayLike<number>, rows: number): number[] {
  const order = Array.from({ length: counts.length }, (_, c) => c)
    .sort((a, b) => counts[b] - counts[a] || a - b);
  if (order.length <= rows) return order;
  return Array.from(
    { length: rows },
    (_, r) => order[Math.round((r * (order.length - 1)) / Math.max(1, rows - 1))],
  );
}

/**
 * Decode sample training images and lay them out as a PNG.
 *
 * @param splits The profile's splits.
 * @param perClass Images per row.
 * @param rows Classes at most (default 20).
 * @returns The PNG bytes.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { imageListGridPng } from "./image_list_grid.ts";
 * import { IMAGE_LIST_PROFILES } from "./image_list_profiles.ts";
 * import { encodePng } from "./_png.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.writeFile(`${root}/a.png`, encodePng(new Uint8Array(60 * 50 * 3), 60, 50, 3));
 * const e = { path: "a.png", label: 0, line: 1 };
 * const png = await imageListGridPng({
 *   profile: { ...IMAGE_LIST_PROFILES["places-lt"], classCount: 1 }, root,
 *   files: { train: "t", val: "v", test: "t" }, train: [e], val: [], test: [],
 *   classCounts: Int32Array.of(1), groups: ["few"], tooSmall: [],
 *   problems: { train: [], val: [], test: [] },
 * }, 2);
 * equal(png[1], 0x50); // "PNG"
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function imageListGridPng(
  splits: ImageListSplits,
  perClass: number,
  rows = 20,
): Promise<Uint8Array> {
  const classes = gridClasses(splits.classCounts, rows);
  const wanted = new Map(classes.map((c) => [c, 0]));
  const picked = splits.train.filter((e) => {
    const n = wanted.get(e.label);
    if (n === undefined || n >= perClass) return false;
    wanted.set(e.label, n + 1);
    return true;
  });
  const plane = CELL * CELL;
  const images = new Uint8Array(picked.length * 3 * plane);
  for (let k = 0; k < picked.length; k++) {
    const e = picked[k];
    const bytes = await Deno.readFile(joinPath(splits.root, e.path));
    const im = resizeShorterSide(await decodeImage(bytes, e.path), CELL);
    const top = (im.height - CELL) >> 1, left = (im.width - CELL) >> 1;
    for (let y = 0; y < CELL; y++) {
      for (let x = 0; x < CELL; x++) {
        const s = ((y + top) * im.width + x + left) * 3;
        for (let c = 0; c < 3; c++) images[(k * 3 + c) * plane + y * CELL + x] = im.pixels[s + c];
      }
    }
  }
  return sampleGridPng({
    images,
    labels: Int32Array.from(picked, (e) => e.label),
    count: picked.length,
    channels: 3,
    height: CELL,
    width: CELL,
    classCount: splits.classCounts.length,
  }, { perClass, rows: classes, counts: splits.classCounts, scale: 1 });
}
