/**
 * Reads feature dumps from files: the file access of the features package, beside the writers.
 * Decoding and every check live in reader.ts and take bytes, so that code without a file system
 * (a browser) decodes the same files.
 *
 * @module
 */

import {
  checkFeatureDir,
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
 * Reads a features folder (`train.arrow`, `val.arrow`, `test.arrow`, `classifier.arrow`) and
 * checks that the files belong together: the same feature dimension, class count, training class
 * counts and stage-1 checkpoint, and training labels that match the recorded class counts.
 *
 * @param dir The folder.
 * @returns All four files, decoded.
 * @throws {RangeError} Naming both files when they disagree.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readFeatureDir } from "./load.ts";
 * import { writeSyntheticFeatureDir } from "./synthetic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeSyntheticFeatureDir(dir, { trainCounts: [6, 2], featureDim: 4, testPerClass: 5 });
 * const { train, val, test, classifier } = await readFeatureDir(dir);
 * assert.deepEqual([train.rows, val.rows, test.rows, classifier.classCount], [8, 40, 10, 2]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readFeatureDir(dir: string): Promise<FeatureDir> {
  const base = dir.replace(/\/+$/, "");
  const [train, val, test] = await Promise.all(
    FEATURE_SPLITS.map((s) => readFeatures(`${base}/${s}.arrow`, s)),
  );
  const classifier = await readClassifier(`${base}/classifier.arrow`);
  return checkFeatureDir({ train, val, test, classifier }, base);
}
