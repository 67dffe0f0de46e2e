/**
 * Synthetic feature folders for tests, benchmarks and end-to-end checks: Gaussian class clusters
 * with long-tailed training counts, balanced val and test splits, and a "joint" classifier
 * trained on them with instance-balanced sampling (plain softmax regression on the CPU), which
 * is therefore biased towards the head classes, like a stage-1 classifier.
 *
 * @module
 */

import { Rng } from "../data/rng.ts";
import type { ClassifierData, FeatureDir, FeatureSplitData } from "./reader.ts";
import {
  FEATURE_SPLITS,
  type FeatureMetadata,
  type FeatureMetadataInput,
  type FeatureSplit,
  KIT_VERSION,
} from "./schema.ts";
import { type ClassifierWeights, FeatureWriter, writeClassifier } from "./writer.ts";

/**
 * Options of {@link makeSyntheticFeatures}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures, type SyntheticOptions } from "./synthetic.ts";
 * const options: SyntheticOptions = {
 *   trainCounts: [40, 8],
 *   featureDim: 4,
 *   testPerClass: 5,
 *   seed: 3,
 * };
 * const set = makeSyntheticFeatures(options);
 * assert.deepEqual([set.train.classCount, set.test.rows, set.classifier.featureDim], [2, 10, 4]);
 * ```
 */
export interface SyntheticOptions {
  /** Training images per class (C = its length). Default: Fashion-MNIST-LT-100's counts. */
  trainCounts?: number[];
  /** D (default 64). */
  featureDim?: number;
  /** Validation rows per class (default 20). */
  valPerClass?: number;
  /** Test rows per class (default 1000). */
  testPerClass?: number;
  /** Seed of every draw (default 0). */
  seed?: number;
  /** Distance scale between class centres (default 2.5): smaller overlaps more. */
  separation?: number;
  /** Added to every feature coordinate, as after a ReLU and pooling (default 1). */
  shift?: number;
  /** Epochs of the joint classifier's training (default 4). */
  jointEpochs?: number;
  /** Shot thresholds written into the profile (default Fashion's: many 1000, few 200). */
  shotThresholds?: { many: number; few: number };
}

/**
 * Fashion-MNIST-LT-100's training counts (RECIPE.md).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FASHION_LT100_COUNTS } from "./synthetic.ts";
 * const head = FASHION_LT100_COUNTS[0];
 * const tail = FASHION_LT100_COUNTS[FASHION_LT100_COUNTS.length - 1];
 * assert.equal(head / tail, 5980 / 60); // an imbalance factor of about 100
 * ```
 */
export const FASHION_LT100_COUNTS: readonly number[] = Object.freeze([
  5980,
  3596,
  2156,
  1292,
  774,
  464,
  278,
  166,
  100,
  60,
]);

/**
 * The checksum recorded by synthetic folders (they have no checkpoint).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures, SYNTHETIC_SHA256 } from "./synthetic.ts";
 * const set = makeSyntheticFeatures({ trainCounts: [4, 2], featureDim: 2, testPerClass: 1 });
 * assert.ok(set.train.metadata.checkpointSha256 === SYNTHETIC_SHA256);
 * ```
 */
export const SYNTHETIC_SHA256: string = "5e".repeat(32);

/**
 * A whole feature folder in memory, with its classifier (as the synthetic sets make it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type FeatureSet, makeSyntheticFeatures } from "./synthetic.ts";
 * const set: FeatureSet = makeSyntheticFeatures({ trainCounts: [4, 2], featureDim: 2 });
 * assert.deepEqual(Object.keys(set), ["train", "val", "test", "classifier"]);
 * ```
 */
export type FeatureSet = FeatureDir & { classifier: ClassifierData };

/**
 * Makes a synthetic long-tailed feature set in memory. Deterministic for a seed.
 *
 * @param options Sizes, seed and difficulty.
 * @returns train, val, test and the joint classifier, with their metadata.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures } from "./synthetic.ts";
 * const set = makeSyntheticFeatures({ trainCounts: [50, 10, 5], featureDim: 8, testPerClass: 20 });
 * assert.deepEqual([set.train.rows, set.test.rows], [65, 60]);
 * ```
 */
export function makeSyntheticFeatures(options: SyntheticOptions = {}): FeatureSet {
  const counts = [...(options.trainCounts ?? FASHION_LT100_COUNTS)];
  const c = counts.length;
  const d = options.featureDim ?? 64;
  const seed = options.seed ?? 0;
  const separation = options.separation ?? 2.5;
  const shift = options.shift ?? 1;
  const rng = new Rng(seed, 11);
  // Class centres: random directions of length `separation`.
  const centres = new Float64Array(c * d);
  for (let k = 0; k < c; k++) {
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const v = rng.normal();
      centres[k * d + j] = v;
      norm += v * v;
    }
    for (let j = 0; j < d; j++) centres[k * d + j] *= separation / Math.sqrt(norm);
  }
  const draw = (perClass: number[], stream: number) => {
    const r = new Rng(seed, stream);
    const rows = perClass.reduce((a, b) => a + b, 0);
    const label = new Int32Array(rows);
    const features = new Float32Array(rows * d);
    let at = 0;
    perClass.forEach((n, k) => {
      for (let i = 0; i < n; i++, at++) {
        label[at] = k;
        for (let j = 0; j < d; j++) {
          features[at * d + j] = centres[k * d + j] + r.normal() + shift;
        }
      }
    });
    // Shuffle rows so that files are not sorted by class.
    const order = r.permutation(rows);
    const shuffledLabels = new Int32Array(rows);
    const shuffled = new Float32Array(rows * d);
    order.forEach((src, dst) => {
      shuffledLabels[dst] = label[src];
      shuffled.set(features.subarray(src * d, (src + 1) * d), dst * d);
    });
    return { label: shuffledLabels, features: shuffled, rows };
  };
  const train = draw(counts, 12);
  const val = draw(new Array(c).fill(options.valPerClass ?? 20), 13);
  const test = draw(new Array(c).fill(options.testPerClass ?? 1000), 14);
  const classifier = trainJoint(train.features, train.label, c, d, options.jointEpochs ?? 4, seed);
  const profile = {
    name: "synthetic-lt",
    source: "synthetic",
    seed,
    shotThresholds: options.shotThresholds ?? { many: 1000, few: 200 },
  };
  const meta = (split: FeatureSplit | "classifier"): FeatureMetadata => ({
    version: KIT_VERSION,
    profile,
    split,
    classCount: c,
    trainClassCounts: counts,
    featureDim: d,
    backbone: { arch: "synthetic-gaussian", separation, shift },
    checkpointSha256: SYNTHETIC_SHA256,
    extra: {},
  });
  const split = (
    name: FeatureSplit,
    s: { label: Int32Array; features: Float32Array; rows: number },
  ): FeatureSplitData => ({
    split: name,
    index: Int32Array.from({ length: s.rows }, (_, i) => i),
    label: s.label,
    features: s.features,
    rows: s.rows,
    dim: d,
    classCount: c,
    metadata: meta(name),
  });
  return {
    train: split("train", train),
    val: split("val", val),
    test: split("test", test),
    classifier: { ...classifier, metadata: meta("classifier") },
  };
}

/**
 * Softmax regression with instance-balanced SGD (batch 128, momentum 0.9, lr 0.1 cosine, weight
 * decay 5e-4), like stage 1's classifier head: biased towards the head classes.
 */
function trainJoint(
  x: Float32Array,
  labels: Int32Array,
  c: number,
  d: number,
  epochs: number,
  seed: number,
): ClassifierWeights {
  const rng = new Rng(seed, 15);
  const n = labels.length;
  const bound = 1 / Math.sqrt(d);
  const w = Float64Array.from({ length: c * d + c }, () => (2 * rng.nextFloat() - 1) * bound);
  const v = new Float64Array(w.length);
  const g = new Float64Array(w.length);
  const a = new Float64Array(c);
  const batch = 128;
  const perEpoch = Math.ceil(n / batch);
  const steps = epochs * perEpoch;
  const order = new Int32Array(n);
  for (let s = 0; s < steps; s++) {
    if (s % perEpoch === 0) {
      for (let i = 0; i < n; i++) order[i] = i;
      rng.shuffle(order);
    }
    const start = (s % perEpoch) * batch;
    const count = Math.min(batch, n - start);
    g.fill(0);
    for (let r = 0; r < count; r++) {
      const row = order[start + r];
      let top = -Infinity;
      for (let k = 0; k < c; k++) {
        let acc = w[c * d + k];
        for (let j = 0; j < d; j++) acc += w[k * d + j] * x[row * d + j];
        a[k] = acc;
        top = Math.max(top, acc);
      }
      let total = 0;
      for (let k = 0; k < c; k++) total += a[k] = Math.exp(a[k] - top);
      for (let k = 0; k < c; k++) {
        const dz = (a[k] / total - (k === labels[row] ? 1 : 0)) / count;
        for (let j = 0; j < d; j++) g[k * d + j] += dz * x[row * d + j];
        g[c * d + k] += dz;
      }
    }
    const lr = (0.1 * (1 + Math.cos((Math.PI * s) / steps))) / 2;
    for (let i = 0; i < w.length; i++) {
      v[i] = 0.9 * v[i] + g[i] + 5e-4 * w[i];
      w[i] -= lr * v[i];
    }
  }
  return {
    weight: Float32Array.from(w.subarray(0, c * d)),
    bias: Float32Array.from(w.subarray(c * d)),
    classCount: c,
    featureDim: d,
  };
}

/**
 * The writer metadata of a set's (shared) metadata.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures, metadataInput } from "./synthetic.ts";
 * const set = makeSyntheticFeatures({ trainCounts: [4, 2], featureDim: 2, testPerClass: 1 });
 * assert.deepEqual(metadataInput(set.train.metadata).trainClassCounts, [4, 2]);
 * ```
 */
export function metadataInput(meta: FeatureMetadata): FeatureMetadataInput {
  return {
    version: meta.version,
    profile: meta.profile,
    trainClassCounts: meta.trainClassCounts,
    backbone: meta.backbone,
    checkpointSha256: meta.checkpointSha256,
    extra: meta.extra,
  };
}

/**
 * Writes a feature set as a features folder (`train.arrow`, `val.arrow`, `test.arrow`,
 * `classifier.arrow`), each split in record batches of `batchRows` rows.
 *
 * @param dir The folder (created if missing).
 * @param set The feature set.
 * @param batchRows Rows per record batch (default 4096).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readFeatureDir } from "./load.ts";
 * import { makeSyntheticFeatures, writeFeatureDir } from "./synthetic.ts";
 * const dir = await Deno.makeTempDir();
 * const set = makeSyntheticFeatures({ trainCounts: [30, 6], featureDim: 4, testPerClass: 10 });
 * await writeFeatureDir(dir, set, 16); // train.arrow in record batches of 16 rows
 * assert.equal((await readFeatureDir(dir)).train.rows, 36);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFeatureDir(
  dir: string,
  set: FeatureDir,
  batchRows = 4096,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const base = dir.replace(/\/+$/, "");
  for (const name of FEATURE_SPLITS) {
    const s = set[name];
    const writer = await FeatureWriter.create(`${base}/${name}.arrow`, {
      split: name,
      featureDim: s.dim,
      classCount: s.classCount,
      metadata: metadataInput(s.metadata),
    });
    try {
      for (let r = 0; r < s.rows; r += batchRows) {
        const end = Math.min(s.rows, r + batchRows);
        await writer.append(
          s.index.subarray(r, end),
          s.label.subarray(r, end),
          s.features.subarray(r * s.dim, end * s.dim),
        );
      }
      await writer.close();
    } catch (error) {
      await writer.abort();
      throw error;
    }
  }
  if (set.classifier) {
    await writeClassifier(
      `${base}/classifier.arrow`,
      set.classifier,
      metadataInput(set.classifier.metadata),
    );
  }
}

/**
 * Makes a synthetic feature set and writes it as a features folder.
 *
 * @param dir The folder.
 * @param options See {@link makeSyntheticFeatures}.
 * @returns The set that was written.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeSyntheticFeatureDir } from "./synthetic.ts";
 * const dir = await Deno.makeTempDir();
 * const set = await writeSyntheticFeatureDir(dir, {
 *   trainCounts: [20, 5],
 *   featureDim: 4,
 *   seed: 0,
 * });
 * assert.deepEqual([set.val.rows, [...Deno.readDirSync(dir)].length], [40, 4]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeSyntheticFeatureDir(
  dir: string,
  options: SyntheticOptions = {},
): Promise<FeatureSet> {
  const set = makeSyntheticFeatures(options);
  await writeFeatureDir(dir, set);
  return set;
}
