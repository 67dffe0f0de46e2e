/**
 * Feature extraction: run the frozen backbone in evaluation mode (running BN statistics, no
 * augmentation) over each split and stream the pooled features into Arrow files, batch by batch.
 *
 * @module
 */

import { BatchMaker } from "../data/batch.ts";
import type { Split } from "../data/long_tail.ts";
import { readAll } from "../gpu/tensor.ts";
import type { ResNet } from "../nn/resnet.ts";
import { DEGENERATE_ADVICE, type FeatureDefect, FeatureScan } from "../features/check.ts";
import type { FeatureMetadataInput, FeatureSplit } from "../features/schema.ts";
import { FeatureWriter, writeClassifier } from "../features/writer.ts";

/**
 * Options of {@link extractFeatures}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ExtractOptions } from "./extract.ts";
 * const options: ExtractOptions = {
 *   normalization: { mean: [0.286], std: [0.353] },
 *   limit: 1000, // evenly spaced rows
 *   onProgress: (done, total) => assert.ok(done <= total),
 * };
 * assert.equal(options.limit, 1000);
 * ```
 */
export interface ExtractOptions {
  /** Normalisation of x/255 (per channel). */
  normalization: { mean: readonly number[]; std: readonly number[] };
  /** Cap on rows, taken evenly spaced through the split; null or undefined for all. */
  limit?: number | null;
  /** Called after each batch with rows done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * What extraction of one split yields besides the file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ExtractResult } from "./extract.ts";
 * const result: ExtractResult = { rows: 200, correct: 150 };
 * assert.equal(`joint accuracy ${(100 * result.correct / result.rows).toFixed(1)}%`, "joint accuracy 75.0%");
 * ```
 */
export interface ExtractResult {
  /** Rows written. */
  rows: number;
  /** Rows the network's own (joint) classifier gets right. */
  correct: number;
}

/**
 * Writes `path` (an Arrow IPC file) with the features of `split` computed by `net`.
 *
 * Features that are non-finite, all zero or all equal ({@link FeatureScan}) are refused with an
 * error naming the split, and nothing is left at `path`: a diverged network's dump would
 * otherwise put every stage-2 method at chance without a word.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Split } from "../data/long_tail.ts";
 * import { Rng } from "../data/rng.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { resnet, ResNet } from "../nn/mod.ts";
 * import { extractFeatures } from "./extract.ts";
 * import { readFeatures } from "../features/load.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const net = await ResNet.create(gpu, resnet("tiny", [1, 8, 8], 4, [4], 1, 2), { batch: 4 });
 * net.initialize(new Rng(0));
 * const split: Split = {
 *   set: {
 *     images: Uint8Array.from({ length: 6 * 64 }, (_, i) => i % 251),
 *     labels: Int32Array.from([0, 1, 0, 1, 0, 1]),
 *     count: 6,
 *     channels: 1,
 *     height: 8,
 *     width: 8,
 *     classCount: 2,
 *   },
 *   indices: Int32Array.from([0, 2, 4, 6, 8, 10]),
 * };
 * const metadata = {
 *   profile: { name: "toy" },
 *   trainClassCounts: [3, 3],
 *   backbone: net.spec.name,
 *   checkpointSha256: "0".repeat(64),
 * };
 * const dir = await Deno.makeTempDir();
 * const result = await extractFeatures(net, split, "test", `${dir}/test.arrow`, metadata, {
 *   normalization: { mean: [0.5], std: [0.25] },
 * });
 * const test = await readFeatures(`${dir}/test.arrow`, "test");
 * assert.deepEqual([result.rows, test.dim, test.index], [6, 4, Int32Array.of(0, 2, 4, 6, 8, 10)]);
 * await Deno.remove(dir, { recursive: true });
 * net.destroy();
 * gpu.destroy();
 * ```
 */
export async function extractFeatures(
  net: ResNet,
  split: Split,
  name: FeatureSplit,
  path: string,
  metadata: FeatureMetadataInput,
  options: ExtractOptions,
): Promise<ExtractResult> {
  const set = split.set;
  const total = Math.min(set.count, options.limit ?? Infinity);
  const b = net.batch;
  const maker = new BatchMaker(set, {
    batchSize: b,
    mean: options.normalization.mean,
    std: options.normalization.std,
  });
  const batch = maker.allocate();
  // Rows past the end of the split repeat row 0: BN uses running statistics in evaluation
  // mode, so padding rows cannot change the real rows' features.
  const order = new Int32Array(Math.ceil(total / b) * b);
  for (let i = 0; i < total; i++) order[i] = Math.floor((i * set.count) / total);
  const rows = order.subarray(0, total);
  const labels = Int32Array.from(rows, (r) => set.labels[r]);
  const indices = Int32Array.from(rows, (r) => split.indices[r]);
  return await extractBatches(net, name, path, metadata, {
    total,
    onProgress: options.onProgress,
    fill(start, n) {
      maker.fill(order, start, batch);
      net.input.write(batch.images);
      return { labels: labels.slice(start, start + n), indices: indices.slice(start, start + n) };
    },
  });
}

/**
 * Where {@link extractBatches} gets its rows.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import type { BatchInput } from "./extract.ts";
 * const input: BatchInput = {
 *   total: 0,
 *   fill: () => ({ labels: new Int32Array(0), indices: new Int32Array(0) }),
 * };
 * equal(input.total, 0);
 * ```
 */
export interface BatchInput {
  /** Rows to write. */
  total: number;
  /**
   * Puts rows `start .. start + n - 1` into the network's input (written or recorded, not
   * submitted) and returns their labels and `index` values, (n) each.
   */
  fill(
    start: number,
    n: number,
  ):
    | { labels: Int32Array; indices: Int32Array }
    | Promise<{ labels: Int32Array; indices: Int32Array }>;
  /** Batches per submit (default: as many as fit an 8 MiB readback, at most 32). */
  group?: number;
  /** Recorded as `ltkit.source_pack` (see {@link FeatureWriter}). */
  sourcePack?: string;
  /** Called after each batch with rows done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Runs the network in evaluation mode over the batches `input` fills and writes their features
 * to `path`, refusing degenerate ones as {@link extractFeatures} does.
 *
 * @param net The frozen network.
 * @param name The split.
 * @param path The Arrow file.
 * @param metadata Schema metadata.
 * @param input The rows.
 * @returns Rows written and the joint classifier's correct count.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { Rng } from "../data/rng.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { resnet, ResNet } from "../nn/mod.ts";
 * import { extractBatches } from "./extract.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const net = await ResNet.create(gpu, resnet("tiny", [1, 4, 4], 2, [2], 1, 2), { batch: 2 });
 * net.initialize(new Rng(0));
 * const dir = await Deno.makeTempDir();
 * const metadata = {
 *   profile: {}, trainClassCounts: [1, 1], backbone: "tiny", checkpointSha256: "0".repeat(64),
 * };
 * const result = await extractBatches(net, "val", `${dir}/val.arrow`, metadata, {
 *   total: 3,
 *   fill(start, n) {
 *     net.input.write(Float32Array.from({ length: 32 }, (_, i) => Math.sin(i + 7 * start)));
 *     return { labels: new Int32Array(n), indices: Int32Array.from({ length: n }, (_, i) => start + i) };
 *   },
 * });
 * equal(result.rows, 3);
 * await Deno.remove(dir, { recursive: true });
 * net.destroy();
 * gpu.destroy();
 * ```
 */
export async function extractBatches(
  net: ResNet,
  name: FeatureSplit,
  path: string,
  metadata: FeatureMetadataInput,
  input: BatchInput,
): Promise<ExtractResult> {
  const total = input.total;
  const b = net.batch;
  const writer = await FeatureWriter.create(path, {
    split: name,
    featureDim: net.features.shape[1],
    classCount: net.spec.classes,
    metadata,
    ...(input.sourcePack !== undefined ? { sourcePack: input.sourcePack } : {}),
  });
  try {
    let correct = 0;
    const dim = net.features.shape[1];
    // The features are on the host for the writer anyway, so checking them costs no readback.
    const scan = new FeatureScan(dim);
    const refuse = (defect: FeatureDefect) =>
      new Error(
        `Cannot extract the ${name} features to ${path}: ${defect.detail}` +
          `${scan.rows < total ? ` (stopped after ${scan.rows} of ${total} rows)` : ""}; ` +
          DEGENERATE_ADVICE,
      );
    const classes = net.spec.classes;
    // Several batches share one readback: each batch's features and logits are copied into a
    // staging buffer, which is mapped once per group, so the queue is not drained every batch.
    const group = input.group ??
      Math.max(1, Math.min(32, Math.floor((8 << 20) / (b * (dim + classes) * 4))));
    const featureBytes = b * dim * 4;
    const logitBytes = b * classes * 4;
    const slot = Math.ceil((featureBytes + logitBytes) / 16) * 16;
    const gpu = net.gpu;
    const staging = gpu.device.createBuffer({
      size: slot * group,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      label: "feature readback",
    });
    try {
      for (let first = 0; first < total; first += group * b) {
        const batches = Math.min(group, Math.ceil((total - first) / b));
        const rows: { labels: Int32Array; indices: Int32Array }[] = [];
        for (let j = 0; j < batches; j++) {
          const start = first + j * b;
          rows.push(await input.fill(start, Math.min(b, total - start)));
          net.evalForward.record();
          gpu.copy(net.features.buffer, 0, staging, j * slot, featureBytes);
          gpu.copy(net.logits.buffer, 0, staging, j * slot + featureBytes, logitBytes);
        }
        gpu.submit();
        await staging.mapAsync(GPUMapMode.READ, 0, batches * slot);
        const mapped = staging.getMappedRange(0, batches * slot).slice(0);
        staging.unmap();
        gpu.throwIfFailed();
        for (let j = 0; j < batches; j++) {
          const start = first + j * b;
          const n = Math.min(b, total - start);
          const { labels, indices } = rows[j];
          const logits = new Float32Array(mapped, j * slot + featureBytes, b * classes);
          for (let r = 0; r < n; r++) {
            let best = 0;
            for (let c = 1; c < classes; c++) {
              if (logits[r * classes + c] > logits[r * classes + best]) best = c;
            }
            if (best === labels[r]) correct++;
          }
          const features = new Float32Array(mapped, j * slot, n * dim).slice();
          scan.add(features);
          if (scan.nonFinite > 0) throw refuse(scan.defect()!);
          await writer.append(indices, labels, features);
          input.onProgress?.(start + n, total);
        }
      }
    } finally {
      staging.destroy();
    }
    const defect = scan.defect();
    if (defect) throw refuse(defect);
    await writer.close();
    return { rows: total, correct };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/**
 * Writes the network's linear classifier as `classifier.arrow`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Split } from "../data/long_tail.ts";
 * import { Rng } from "../data/rng.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { resnet, ResNet } from "../nn/mod.ts";
 * import { dumpClassifier } from "./extract.ts";
 * import { readClassifier } from "../features/load.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const net = await ResNet.create(gpu, resnet("tiny", [1, 8, 8], 4, [4], 1, 2), { batch: 4 });
 * net.initialize(new Rng(0));
 * const split: Split = {
 *   set: {
 *     images: Uint8Array.from({ length: 6 * 64 }, (_, i) => i % 251),
 *     labels: Int32Array.from([0, 1, 0, 1, 0, 1]),
 *     count: 6,
 *     channels: 1,
 *     height: 8,
 *     width: 8,
 *     classCount: 2,
 *   },
 *   indices: Int32Array.from([0, 2, 4, 6, 8, 10]),
 * };
 * const metadata = {
 *   profile: { name: "toy" },
 *   trainClassCounts: [3, 3],
 *   backbone: net.spec.name,
 *   checkpointSha256: "0".repeat(64),
 * };
 * const dir = await Deno.makeTempDir();
 * await dumpClassifier(net, `${dir}/classifier.arrow`, metadata);
 * const classifier = await readClassifier(`${dir}/classifier.arrow`);
 * assert.deepEqual([classifier.classCount, classifier.featureDim], [2, 4]);
 * await Deno.remove(dir, { recursive: true });
 * net.destroy();
 * gpu.destroy();
 * ```
 */
export async function dumpClassifier(
  net: ResNet,
  path: string,
  metadata: FeatureMetadataInput,
): Promise<void> {
  const weight = net.params.find((p) => p.name === "fc.weight");
  const bias = net.params.find((p) => p.name === "fc.bias");
  if (!weight || !bias) throw new Error(`Cannot dump the classifier: ${net.spec.name} has no fc`);
  const [w, bb] = await readAll([weight.value, bias.value]);
  await writeClassifier(path, {
    weight: w as Float32Array,
    bias: bb as Float32Array,
    classCount: net.spec.classes,
    featureDim: weight.value.shape[1],
  }, metadata);
}
