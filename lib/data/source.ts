/**
 * Loading a profile's source and building its splits in one call.
 *
 * Sources: the named ones of {@link NAMED_SOURCES} (`fashion-mnist`, IDX files found as
 * {@link loadFashionMnist} describes; `cifar-10` and `cifar-100`, the binary releases found as
 * {@link loadCifar} describes) or `arrow:DIR`, a folder with `train.arrow` and `test.arrow` image
 * tables ({@link readImageTable}).
 *
 * @module
 */

import { readImageTable } from "./arrow_table.ts";
import { CIFAR_LAYOUTS, loadCifar } from "./cifar.ts";
import { loadFashionMnist } from "./fashion_mnist.ts";
import type { ImageSet } from "./image_set.ts";
import { buildLongTail, type LongTailSplits } from "./long_tail.ts";
import { getProfile, type LongTailProfile } from "./profiles.ts";

/**
 * Options for {@link loadSource} and {@link loadLongTail}.
 *
 * @example
 * ```ts
 * import type { SourceOptions } from "./source.ts";
 * const options: SourceOptions = { dataDir: "/srv/fashion-mnist" };
 * ```
 */
export interface SourceOptions {
  /** The folder for a named source (see {@link loadFashionMnist}, {@link loadCifar}). */
  dataDir?: string;
}

/**
 * A named source's loader: the balanced train and test sets and where they came from.
 *
 * @example
 * ```ts
 * import type { SourceLoader } from "./source.ts";
 * const empty: SourceLoader = () => Promise.reject(new Error("not here"));
 * ```
 */
export type SourceLoader = (
  options: SourceOptions,
) => Promise<{ train: ImageSet; test: ImageSet; from: string }>;

const cifarLoader = (source: string): SourceLoader => async (options) => {
  const { train, test, location } = await loadCifar(source, options);
  return { train, test, from: `${location.path} (via ${location.via})` };
};

/**
 * The named sources a profile's `source` may give, besides `arrow:DIR`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NAMED_SOURCES } from "./source.ts";
 * assert.deepEqual(Object.keys(NAMED_SOURCES), ["fashion-mnist", "cifar-10", "cifar-100"]);
 * ```
 */
export const NAMED_SOURCES: Readonly<Record<string, SourceLoader>> = Object.freeze({
  "fashion-mnist": async (options: SourceOptions) => {
    const { train, test, location } = await loadFashionMnist(options);
    return { train, test, from: `${location.dir} (via ${location.via})` };
  },
  ...Object.fromEntries(Object.keys(CIFAR_LAYOUTS).map((s) => [s, cifarLoader(s)])),
});

/**
 * Load the balanced train and test sets a source names.
 *
 * @param source A key of {@link NAMED_SOURCES} or `arrow:DIR`.
 * @param options Where to look.
 * @returns The two sets and a description of where they came from.
 * @throws {RangeError} For an unknown source.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeImageTable } from "./arrow_table.ts";
 * import type { ImageSet } from "./image_set.ts";
 * import { loadSource } from "./source.ts";
 * // A stand-in source: 2x2 images of 3 classes as Arrow tables (see readImageTable).
 * const set = (count: number): ImageSet => ({
 *   images: Uint8Array.from({ length: count * 4 }, (_, i) => i % 256),
 *   labels: Int32Array.from({ length: count }, (_, i) => i % 3),
 *   count,
 *   channels: 1,
 *   height: 2,
 *   width: 2,
 *   classCount: 3,
 * });
 * const dir = await Deno.makeTempDir();
 * await writeImageTable(`${dir}/train.arrow`, set(90));
 * await writeImageTable(`${dir}/test.arrow`, set(30));
 * const { train, test, from } = await loadSource(`arrow:${dir}`);
 * assert.deepEqual([train.count, test.count, from === dir], [90, 30, true]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadSource(
  source: string,
  options: SourceOptions = {},
): Promise<{ train: ImageSet; test: ImageSet; from: string }> {
  if (Object.hasOwn(NAMED_SOURCES, source)) return await NAMED_SOURCES[source](options);
  if (source.startsWith("arrow:")) {
    const dir = source.slice("arrow:".length).replace(/\/$/, "");
    const [train, test] = await Promise.all([
      readImageTable(`${dir}/train.arrow`),
      readImageTable(`${dir}/test.arrow`),
    ]);
    return { train, test, from: dir };
  }
  throw new RangeError(
    `Cannot load source "${source}": use ${Object.keys(NAMED_SOURCES).join(", ")} or arrow:DIR ` +
      "(DIR/train.arrow and DIR/test.arrow image tables)",
  );
}

/**
 * Load a profile's source and build its long-tailed splits.
 *
 * @param profile A profile or the name of a registered one.
 * @param options Where to look for the source.
 * @returns The splits plus where the source came from.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeImageTable } from "./arrow_table.ts";
 * import type { ImageSet } from "./image_set.ts";
 * import type { LongTailProfile } from "./profiles.ts";
 * import { loadLongTail } from "./source.ts";
 * // A stand-in source: 2x2 images of 3 classes as Arrow tables (see readImageTable).
 * const set = (count: number): ImageSet => ({
 *   images: Uint8Array.from({ length: count * 4 }, (_, i) => i % 256),
 *   labels: Int32Array.from({ length: count }, (_, i) => i % 3),
 *   count,
 *   channels: 1,
 *   height: 2,
 *   width: 2,
 *   classCount: 3,
 * });
 * const dir = await Deno.makeTempDir();
 * await writeImageTable(`${dir}/train.arrow`, set(90));
 * await writeImageTable(`${dir}/test.arrow`, set(30));
 * const profile: LongTailProfile = {
 *   name: "toy-lt-10",
 *   source: `arrow:${dir}`,
 *   headSize: 20,
 *   imbalanceRatio: 10,
 *   classOrder: [0, 1, 2],
 *   valPerClass: 5,
 *   seed: 0,
 *   shotThresholds: { many: 10, few: 3 },
 *   normalization: { mean: [0.5], std: [0.25] },
 * };
 * const splits = await loadLongTail(profile);
 * assert.deepEqual([[...splits.classCounts], splits.val.set.count], [[20, 6, 2], 15]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * With the real data: `await loadLongTail("fashion-mnist-lt-100")` gives the training class
 * counts 5980, 3596, ..., 60.
 */
export async function loadLongTail(
  profile: LongTailProfile | string,
  options: SourceOptions = {},
): Promise<LongTailSplits & { from: string }> {
  const p = typeof profile === "string" ? getProfile(profile) : profile;
  const { train, test, from } = await loadSource(p.source, options);
  return { ...buildLongTail(p, train, test), from };
}
