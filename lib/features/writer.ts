/**
 * Writes feature dumps as Arrow IPC files, one record batch per {@link FeatureWriter.append}, to a
 * temporary name that is renamed into place by {@link FeatureWriter.close} (see
 * `lib/io/_atomic.ts`). A reader never sees a half-written file, a failed write leaves no temporary
 * and names the file, and a split is never held in memory twice: each batch goes to disk as soon
 * as it is appended. Opening a file first removes its temporaries left by killed writers.
 *
 * @module
 */

import { arrow } from "../_deps.ts";
import { AtomicFile, removeStaleTemporaries } from "../io/_atomic.ts";
import {
  classifierSchema,
  encodeMetadata,
  type FeatureMetadataInput,
  type FeatureSplit,
  splitSchema,
  vectorType,
} from "./schema.ts";

/**
 * An Arrow file writer whose bytes go to a caller-drained list instead of the library's internal
 * queue, which would keep every batch alive until the end.
 */
class DrainingFileWriter extends arrow.RecordBatchFileWriter {
  pending: Uint8Array[] = [];

  protected override _write(chunk: unknown): this {
    if (this._started) {
      const view = chunk as ArrayBufferView;
      const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
      if (bytes.byteLength > 0) {
        this.pending.push(bytes);
        this._position += bytes.byteLength;
      }
    }
    return this;
  }
}

/** An Arrow IPC file being written under a temporary name. */
class IpcFile {
  readonly schema: arrow.Schema;
  #file: AtomicFile;
  #writer: DrainingFileWriter;

  private constructor(file: AtomicFile, schema: arrow.Schema) {
    this.schema = schema;
    this.#file = file;
    this.#writer = new DrainingFileWriter();
    // Starting with the schema makes a file with no batches still valid.
    this.#writer.reset(undefined, schema);
  }

  static async open(path: string, schema: arrow.Schema, what: string): Promise<IpcFile> {
    const slash = path.lastIndexOf("/");
    // Temporaries of a killed earlier writer would stay beside the new file forever.
    await removeStaleTemporaries(slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".", {
      of: path.slice(slash + 1),
    });
    const ipc = new IpcFile(await AtomicFile.open(path, what), schema);
    await ipc.#flush();
    return ipc;
  }

  get path(): string {
    return this.#file.path;
  }

  get open(): boolean {
    return this.#file.open;
  }

  async write(batch: arrow.RecordBatch): Promise<void> {
    this.#writer.write(batch);
    await this.#flush();
  }

  async close(): Promise<void> {
    this.#writer.close();
    await this.#flush();
    await this.#file.commit();
  }

  async abort(): Promise<void> {
    await this.#file.abort();
  }

  async #flush(): Promise<void> {
    const chunks = this.#writer.pending;
    this.#writer.pending = [];
    if (chunks.length > 0) await this.#file.write(chunks);
  }
}

/**
 * Options of {@link FeatureWriter.create}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FeatureWriter, type FeatureWriterOptions } from "./writer.ts";
 * const options: FeatureWriterOptions = {
 *   split: "val",
 *   featureDim: 2,
 *   classCount: 3,
 *   metadata: {
 *     profile: {},
 *     trainClassCounts: [5, 2, 1],
 *     backbone: "toy",
 *     checkpointSha256: "0".repeat(64),
 *   },
 * };
 * const dir = await Deno.makeTempDir();
 * const writer = await FeatureWriter.create(`${dir}/val.arrow`, options);
 * await writer.abort(); // nothing is left behind
 * assert.equal([...Deno.readDirSync(dir)].length, 0);
 * await Deno.remove(dir);
 * ```
 */
export interface FeatureWriterOptions {
  /** The split the file holds. */
  split: FeatureSplit;
  /** D, the feature dimension. */
  featureDim: number;
  /** C, the number of classes (labels must be below it). */
  classCount: number;
  /** The rest of the schema metadata. */
  metadata: FeatureMetadataInput;
  /**
   * The packed data set the rows come from (`deno task pack`'s folder), recorded as
   * `ltkit.source_pack`: each row's `index` is then its row in that pack, which
   * `packRowLocation` (lib/data/shard_stream.ts) turns back into shard, row, path and line.
   */
  sourcePack?: string;
}

/**
 * Writes one split's features in record batches as extraction runs.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { readFeatures } from "./load.ts";
 * import { FeatureWriter } from "./writer.ts";
 * const path = await Deno.makeTempFile({ suffix: ".arrow" });
 * const w = await FeatureWriter.create(path, {
 *   split: "train",
 *   featureDim: 2,
 *   classCount: 2,
 *   metadata: {
 *     profile: {},
 *     trainClassCounts: [1, 1],
 *     backbone: "toy",
 *     checkpointSha256: "0".repeat(64),
 *   },
 * });
 * await w.append(Int32Array.of(0, 1), Int32Array.of(0, 1), Float32Array.of(1, 2, 3, 4));
 * await w.close();
 * deepEqual(Array.from((await readFeatures(path, "train")).features), [1, 2, 3, 4]);
 * await Deno.remove(path);
 * ```
 */
export class FeatureWriter {
  /** The split being written. */
  readonly split: FeatureSplit;
  /** D. */
  readonly featureDim: number;
  /** C. */
  readonly classCount: number;
  readonly #ipc: IpcFile;
  #rows = 0;

  private constructor(ipc: IpcFile, options: FeatureWriterOptions) {
    this.#ipc = ipc;
    this.split = options.split;
    this.featureDim = options.featureDim;
    this.classCount = options.classCount;
  }

  /**
   * Opens `path`'s temporary sibling for writing; nothing appears at `path` until {@link close}.
   *
   * @param path The final file name, e.g. `run/features/train.arrow`.
   * @param options Split, dimension, class count and metadata.
   * @returns The writer.
   * @throws {RangeError} When the metadata is invalid (before any file is created).
   */
  static async create(path: string, options: FeatureWriterOptions): Promise<FeatureWriter> {
    const meta = encodeMetadata(
      options.split,
      options.classCount,
      options.featureDim,
      options.metadata,
    );
    if (options.sourcePack !== undefined) meta.set("ltkit.source_pack", options.sourcePack);
    if (!["train", "val", "test"].includes(options.split)) {
      throw new RangeError(
        `Cannot write features to ${path}: split "${options.split}" is not train, val or test`,
      );
    }
    const ipc = await IpcFile.open(
      path,
      splitSchema(options.featureDim, meta),
      `${options.split} feature dump`,
    );
    return new FeatureWriter(ipc, options);
  }

  /** Rows appended so far. */
  get rows(): number {
    return this.#rows;
  }

  /** The final path. */
  get path(): string {
    return this.#ipc.path;
  }

  /**
   * Appends rows as one record batch and writes it to disk before resolving. The arrays are
   * referenced, not copied, until then; they may be reused afterwards.
   *
   * @param indices Row of each sample in the source split, (n).
   * @param labels Class of each sample, (n), each in 0..C-1.
   * @param features Features, (n, D) row-major.
   * @throws {RangeError} On a length mismatch or a label outside 0..C-1; nothing is written.
   */
  async append(indices: Int32Array, labels: Int32Array, features: Float32Array): Promise<void> {
    const n = indices.length;
    const where = `Cannot append to ${this.split} features ${this.path}`;
    if (!this.#ipc.open) throw new Error(`${where}: the writer is closed`);
    if (labels.length !== n) {
      throw new RangeError(`${where}: ${n} indices but ${labels.length} labels`);
    }
    if (features.length !== n * this.featureDim) {
      throw new RangeError(
        `${where}: ${features.length} feature values for ${n} rows of dimension ` +
          `${this.featureDim} (expected ${n * this.featureDim})`,
      );
    }
    for (let i = 0; i < n; i++) {
      const label = labels[i];
      if (label < 0 || label >= this.classCount) {
        throw new RangeError(
          `${where}: label ${label} at row ${i} is outside 0..${this.classCount - 1}`,
        );
      }
      if (indices[i] < 0) throw new RangeError(`${where}: index ${indices[i]} at row ${i} is < 0`);
    }
    if (n === 0) return;
    const schema = this.#ipc.schema;
    const data = arrow.makeData({
      type: new arrow.Struct(schema.fields),
      length: n,
      nullCount: 0,
      children: [
        arrow.makeData({ type: new arrow.Int32(), length: n, nullCount: 0, data: indices }),
        arrow.makeData({ type: new arrow.Int32(), length: n, nullCount: 0, data: labels }),
        vectorData(this.featureDim, n, features),
      ],
    });
    await this.#ipc.write(new arrow.RecordBatch(schema, data));
    this.#rows += n;
  }

  /** Finishes the file (footer) and renames it into place. */
  async close(): Promise<void> {
    if (!this.#ipc.open) throw new Error(`Cannot close features ${this.path}: already closed`);
    await this.#ipc.close();
  }

  /** Deletes the temporary file; `path` is left untouched. Safe to call more than once. */
  async abort(): Promise<void> {
    await this.#ipc.abort();
  }
}

/**
 * Arrow data of `rows` fixed-size float32 vectors of `dim` items, from one row-major array.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { vectorData } from "./writer.ts";
 * equal(vectorData(3, 2, new Float32Array(6)).length, 2);
 * ```
 */
export function vectorData(dim: number, rows: number, values: Float32Array): arrow.Data {
  return arrow.makeData({
    type: vectorType(dim),
    length: rows,
    nullCount: 0,
    child: arrow.makeData({ type: new arrow.Float32(), length: rows * dim, data: values }),
  });
}

/**
 * The stage-1 linear classifier, as stored in `classifier.arrow`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ClassifierWeights } from "./writer.ts";
 * const identity: ClassifierWeights = {
 *   weight: Float32Array.of(1, 0, 0, 1), // (C=2, D=2)
 *   bias: new Float32Array(2),
 *   classCount: 2,
 *   featureDim: 2,
 * };
 * assert.ok(identity.weight.length === identity.classCount * identity.featureDim);
 * ```
 */
export interface ClassifierWeights {
  /** W, (C, D) row-major. */
  weight: Float32Array;
  /** b, (C). */
  bias: Float32Array;
  /** C. */
  classCount: number;
  /** D. */
  featureDim: number;
}

/**
 * Writes `classifier.arrow`: one row per class with its weight vector and bias, under a temporary
 * name renamed into place.
 *
 * @param path The final file name.
 * @param classifier W (C, D) and b (C).
 * @param metadata The rest of the schema metadata (the same as the split files').
 * @throws {RangeError} When the arrays do not match C and D.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { readClassifier } from "./load.ts";
 * import { writeClassifier } from "./writer.ts";
 * const path = await Deno.makeTempFile({ suffix: ".arrow" });
 * await writeClassifier(path, {
 *   weight: new Float32Array(6), bias: Float32Array.of(0.5, -1), classCount: 2, featureDim: 3,
 * }, { profile: {}, trainClassCounts: [2, 1], backbone: "toy", checkpointSha256: "0".repeat(64) });
 * deepEqual(Array.from((await readClassifier(path)).bias), [0.5, -1]);
 * await Deno.remove(path);
 * ```
 */
export async function writeClassifier(
  path: string,
  classifier: ClassifierWeights,
  metadata: FeatureMetadataInput,
): Promise<void> {
  const { classCount: c, featureDim: d } = classifier;
  const meta = encodeMetadata("classifier", c, d, metadata);
  if (classifier.weight.length !== c * d || classifier.bias.length !== c) {
    throw new RangeError(
      `Cannot write classifier ${path}: weight has ${classifier.weight.length} values and bias ` +
        `${classifier.bias.length} but C=${c}, D=${d} needs ${c * d} and ${c}`,
    );
  }
  const schema = classifierSchema(d, meta);
  const classes = new Int32Array(c);
  for (let i = 0; i < c; i++) classes[i] = i;
  const data = arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length: c,
    nullCount: 0,
    children: [
      arrow.makeData({ type: new arrow.Int32(), length: c, nullCount: 0, data: classes }),
      vectorData(d, c, classifier.weight),
      arrow.makeData({ type: new arrow.Float32(), length: c, nullCount: 0, data: classifier.bias }),
    ],
  });
  await writeArrowFile(path, new arrow.RecordBatch(schema, data), "classifier dump");
}

/**
 * Writes one record batch as an Arrow IPC file under a temporary name renamed into place, so a
 * reader never sees a half-written file (the classifier and the per-sample prediction files).
 *
 * @param path The final file name.
 * @param batch The rows, with their schema.
 * @param what What the file holds, for error messages.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { arrow } from "../_deps.ts";
 * import { writeArrowFile } from "./writer.ts";
 * const path = await Deno.makeTempFile({ suffix: ".arrow" });
 * await writeArrowFile(path, arrow.tableFromArrays({ x: Int32Array.of(4, 5) }).batches[0]);
 * equal(arrow.tableFromIPC(await Deno.readFile(path)).numRows, 2);
 * await Deno.remove(path);
 * ```
 */
export async function writeArrowFile(
  path: string,
  batch: arrow.RecordBatch,
  what = "Arrow file",
): Promise<void> {
  const ipc = await IpcFile.open(path, batch.schema, what);
  try {
    await ipc.write(batch);
    await ipc.close();
  } catch (error) {
    await ipc.abort();
    throw error;
  }
}
