/**
 * Reads feature dumps from files: the file access of the features package, beside the writers.
 * Decoding and every check live in reader.ts and take bytes, so that code without a file system
 * (a browser) decodes the same files.
 *
 * @module
 */

import {
  checkFeatureDir,
  checkSplitLayouts,
  type ClassifierData,
  decodeClassifier,
  decodeFeatures,
  type FeatureDir,
  type FeatureSplitData,
} from "./reader.ts";
import { FEATURE_SPLITS, type FeatureSplit } from "./schema.ts";

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(`Cannot read ${path}: no such file`);
    }
    throw error;
  }
}

/**
 * Reads and checks one split file.
 *
 * @param path The file, e.g. `run/features/train.arrow`.
 * @param expected The split it must hold, when known.
 * @returns The split's columns and metadata.
 * @throws See {@link decodeFeatures}; `Deno.errors.NotFound` when the file is absent.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readFeatures } from "./load.ts";
 * import { writeSyntheticFeatureDir } from "./synthetic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeSyntheticFeatureDir(dir, { trainCounts: [6, 2], featureDim: 4 });
 * const train = await readFeatures(`${dir}/train.arrow`, "train");
 * assert.deepEqual([train.rows, train.dim], [8, 4]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readFeatures(
  path: string,
  expected?: FeatureSplit,
): Promise<FeatureSplitData> {
  return decodeFeatures(await readBytes(path), path, expected);
}

/**
 * Reads and checks `classifier.arrow`.
 *
 * @param path The file.
 * @returns W (C, D), b (C) and the metadata.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readClassifier } from "./load.ts";
 * import { writeSyntheticFeatureDir } from "./synthetic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeSyntheticFeatureDir(dir, { trainCounts: [6, 2, 1], featureDim: 4 });
 * const { weight, bias } = await readClassifier(`${dir}/classifier.arrow`);
 * assert.deepEqual([weight.length, bias.length], [12, 3]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readClassifier(path: string): Promise<ClassifierData> {
  return decodeClassifier(await readBytes(path), path);
}

/**
 * Options of {@link readFeatureDir}.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import type { FeatureDirOptions } from "./load.ts";
 * const options: FeatureDirOptions = { classifier: "models/head.arrow" };
 * equal(options.classifier, "models/head.arrow");
 * ```
 */
export interface FeatureDirOptions {
  /**
   * The classifier file (default `DIR/classifier.arrow`). A minimal-layout folder may have none;
   * an ltkit dump must.
   */
  classifier?: string;
}

/**
 * Reads a features folder (`train.arrow`, `val.arrow`, `test.arrow`, `classifier.arrow`) and
 * checks that the files belong together: the same feature dimension, class count, training class
 * counts and stage-1 checkpoint, and training labels that match the recorded class counts.
 *
 * A folder written by another tool in the minimal layout (no `ltkit.*` metadata, see
 * {@link MINIMAL_LAYOUT}) needs the same dimension in every file; its class count is the largest
 * label (or the classifier's row count) + 1, its training class counts come from `train.arrow`,
 * and `classifier.arrow` is optional.
 *
 * @param dir The folder.
 * @param options Another classifier file.
 * @returns All four files, decoded (the classifier null when a minimal folder has none).
 * @throws {RangeError} Naming both files when they disagree.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readFeatureDir } from "./load.ts";
 * import { writeSyntheticFeatureDir } from "./synthetic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeSyntheticFeatureDir(dir, { trainCounts: [6, 2], featureDim: 4, testPerClass: 5 });
 * const { train, val, test, classifier } = await readFeatureDir(dir);
 * assert.deepEqual([train.rows, val.rows, test.rows, classifier?.classCount], [8, 40, 10, 2]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readFeatureDir(
  dir: string,
  options: FeatureDirOptions = {},
): Promise<FeatureDir> {
  const base = dir.replace(/\/+$/, "");
  const [train, val, test] = await Promise.all(
    FEATURE_SPLITS.map((s) => readFeatures(`${base}/${s}.arrow`, s)),
  );
  const minimal = checkSplitLayouts(`Cannot use features in ${base}`, [train, val, test]);
  const classifierPath = options.classifier ?? `${base}/classifier.arrow`;
  let classifier: ClassifierData | null;
  try {
    classifier = await readClassifier(classifierPath);
  } catch (error) {
    // A model from elsewhere may come without its classifier; an ltkit dump always has one.
    const optional = minimal && options.classifier === undefined;
    if (!(optional && error instanceof Deno.errors.NotFound)) throw error;
    classifier = null;
  }
  return checkFeatureDir(
    { train, val, test, classifier },
    base,
    options.classifier ?? "classifier.arrow",
  );
}
