/**
 * Reads and checks feature dumps. Every check names the file and says exactly what is wrong: not
 * an Arrow IPC file, a truncated file, a missing or mistyped column, missing metadata, a label
 * outside the class range, a feature dimension or checkpoint that differs between files.
 *
 * @module
 */

import { arrow } from "../_deps.ts";
import {
  CLASSIFIER_LAYOUT,
  decodeMetadata,
  describeType,
  FEATURE_SPLITS,
  type FeatureFileKind,
  type FeatureMetadata,
  type FeatureSplit,
  hasKitMetadata,
  isFloat32,
  isFloat32or16,
  isFloat32or16Vector,
  isFloat32Vector,
  isInt32,
  isInt32or64,
  MINIMAL_CLASSIFIER_LAYOUT,
  MINIMAL_LAYOUT,
  minimalMetadata,
  SPLIT_LAYOUT,
} from "./schema.ts";
import type { ClassifierWeights } from "./writer.ts";

/**
 * One split read from its file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FeatureSplitData } from "./reader.ts";
 * import { makeSyntheticFeatures } from "./synthetic.ts";
 * const test: FeatureSplitData =
 *   makeSyntheticFeatures({ trainCounts: [4, 2], featureDim: 3 }).test;
 * const firstRow = test.features.subarray(0, test.dim);
 * assert.deepEqual([test.split, firstRow.length, test.label.length === test.rows], ["test", 3, true]);
 * ```
 */
export interface FeatureSplitData {
  /** Which split. */
  split: FeatureSplit;
  /** Row of each sample in the source split, (N). */
  index: Int32Array;
  /** Class of each sample, (N). */
  label: Int32Array;
  /** Features, (N, D) row-major. */
  features: Float32Array;
  /** N. */
  rows: number;
  /** D. */
  dim: number;
  /** C. */
  classCount: number;
  /** The decoded schema metadata. */
  metadata: FeatureMetadata;
}

/**
 * The stage-1 classifier read from `classifier.arrow`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ClassifierData } from "./reader.ts";
 * import { makeSyntheticFeatures } from "./synthetic.ts";
 * const classifier: ClassifierData = makeSyntheticFeatures({ trainCounts: [4, 2], featureDim: 3 })
 *   .classifier;
 * assert.deepEqual(
 *   [classifier.weight.length, classifier.bias.length, classifier.metadata.split],
 *   [6, 2, "classifier"],
 * );
 * ```
 */
export interface ClassifierData extends ClassifierWeights {
  /** The decoded schema metadata. */
  metadata: FeatureMetadata;
}

/**
 * A whole features folder: what stage 2 needs, and nothing else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FeatureDir } from "./reader.ts";
 * import { makeSyntheticFeatures } from "./synthetic.ts";
 * const features: FeatureDir = makeSyntheticFeatures({ trainCounts: [8, 2], featureDim: 2 });
 * assert.deepEqual(features.train.metadata.trainClassCounts, [8, 2]);
 * ```
 */
export interface FeatureDir {
  /** `train.arrow`. */
  train: FeatureSplitData;
  /** `val.arrow`. */
  val: FeatureSplitData;
  /** `test.arrow`. */
  test: FeatureSplitData;
  /**
   * `classifier.arrow`, the model's linear classifier; null for a minimal-layout dump without one
   * (stage 2 then skips the methods that need it).
   */
  classifier: ClassifierData | null;
}

const MAGIC = new TextEncoder().encode("ARROW1");

function hasMagic(bytes: Uint8Array, at: number): boolean {
  if (at < 0 || at + MAGIC.length > bytes.length) return false;
  for (let i = 0; i < MAGIC.length; i++) if (bytes[at + i] !== MAGIC[i]) return false;
  return true;
}

/**
 * Parses Arrow IPC file bytes into a table, with errors that tell a stream, a truncated file and
 * something else apart (apache-arrow itself fails on a truncated file with "Cannot read
 * properties of null").
 *
 * @param bytes Arrow IPC file bytes.
 * @param name The file name, for messages.
 * @returns The table.
 * @throws {SyntaxError} Not an Arrow IPC file, a stream, truncated or corrupt.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIpcFile } from "./reader.ts";
 * import { writeSyntheticFeatureDir } from "./synthetic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeSyntheticFeatureDir(dir, { trainCounts: [6, 2], featureDim: 4, testPerClass: 3 });
 * const bytes = await Deno.readFile(`${dir}/test.arrow`);
 * assert.equal(parseIpcFile(bytes, "test.arrow").numRows, 6);
 * assert.throws(() => parseIpcFile(bytes.subarray(0, 100), "test.arrow"), {
 *   name: "SyntaxError",
 *   message: "Cannot read test.arrow: the Arrow IPC file is truncated (100 bytes, no footer); " +
 *     "it was not closed properly, write it again",
 * });
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function parseIpcFile(bytes: Uint8Array, name: string): arrow.Table {
  if (!hasMagic(bytes, 0)) {
    const isStream = bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xff &&
      bytes[2] === 0xff && bytes[3] === 0xff;
    throw new SyntaxError(
      isStream
        ? `Cannot read ${name}: it is an Arrow IPC stream, not an Arrow IPC file; feature dumps ` +
          `use the file format (tableToIPC(table, "file"))`
        : `Cannot read ${name}: not an Arrow IPC file (it does not start with the ARROW1 magic; ` +
          `${bytes.length} bytes)`,
    );
  }
  if (bytes.length < 2 * MAGIC.length + 8 || !hasMagic(bytes, bytes.length - MAGIC.length)) {
    throw new SyntaxError(
      `Cannot read ${name}: the Arrow IPC file is truncated (${bytes.length} bytes, no footer); ` +
        `it was not closed properly, write it again`,
    );
  }
  try {
    return arrow.tableFromIPC(bytes);
  } catch (error) {
    throw new SyntaxError(
      `Cannot read ${name}: the Arrow IPC file is corrupt (${(error as Error).message})`,
    );
  }
}

function column(
  table: arrow.Table,
  name: string,
  file: string,
  layout: string,
  check: (type: arrow.DataType) => boolean,
  expected: string,
): arrow.Vector {
  const field = table.schema.fields.find((f) => f.name === name);
  if (!field) {
    const have = table.schema.fields.map((f) => `${f.name}: ${describeType(f.type)}`).join(", ");
    throw new TypeError(
      `Cannot read ${file}: column "${name}" is missing (the file has ${have || "no columns"}; ` +
        `expected ${layout})`,
    );
  }
  if (!check(field.type)) {
    throw new TypeError(
      `Cannot read ${file}: column "${name}" is ${
        describeType(field.type)
      } but must be ${expected}`,
    );
  }
  const vector = table.getChild(name)!;
  if (vector.nullCount > 0) {
    throw new TypeError(`Cannot read ${file}: column "${name}" has ${vector.nullCount} nulls`);
  }
  return vector;
}

/** Concatenates an int32 or float32 column's chunks into one array. */
function flatScalars<T extends Int32Array | Float32Array>(
  vector: arrow.Vector,
  Ctor: { new (n: number): T },
): T {
  const out = new Ctor(vector.length);
  let at = 0;
  for (const data of vector.data) {
    const values = data.values as T;
    out.set(values.subarray(data.offset, data.offset + data.length) as ArrayLike<number>, at);
    at += data.length;
  }
  return out;
}

/** Copies float32 values, or float16 ones (raw halves) widened, into `out` at `at`. */
function putFloats(
  out: Float32Array,
  at: number,
  values: Float32Array | Uint16Array,
  half: boolean,
) {
  if (!half) {
    out.set(values as Float32Array, at);
    return;
  }
  for (let i = 0; i < values.length; i++) out[at + i] = arrow.util.uint16ToFloat64(values[i]);
}

function isHalf(type: arrow.DataType): boolean {
  return arrow.DataType.isFloat(type) && type.precision === arrow.Precision.HALF;
}

/**
 * Concatenates a fixed_size_list<float32 or float16>[dim] column into (rows, dim) row-major
 * float32.
 */
function flatVectors(vector: arrow.Vector, dim: number): Float32Array {
  const out = new Float32Array(vector.length * dim);
  let at = 0;
  for (const data of vector.data) {
    const child = data.children[0];
    if (child.nullCount > 0) throw new TypeError("null values inside a feature vector");
    const values = child.values as Float32Array | Uint16Array;
    const start = child.offset + data.offset * dim;
    putFloats(out, at, values.subarray(start, start + data.length * dim), isHalf(child.type));
    at += data.length * dim;
  }
  return out;
}

/** Concatenates a float32 or float16 column into float32. */
function flatFloats(vector: arrow.Vector): Float32Array {
  const out = new Float32Array(vector.length);
  let at = 0;
  for (const data of vector.data) {
    const values = data.values as Float32Array | Uint16Array;
    putFloats(out, at, values.subarray(data.offset, data.offset + data.length), isHalf(data.type));
    at += data.length;
  }
  return out;
}

/** Concatenates an int32 or int64 column into int32; a value beyond int32 is an error. */
function flatInts(vector: arrow.Vector, file: string, name: string): Int32Array {
  const out = new Int32Array(vector.length);
  let at = 0;
  for (const data of vector.data) {
    const values = data.values as Int32Array | BigInt64Array;
    for (let i = 0; i < data.length; i++) {
      const v = Number(values[data.offset + i]);
      if (!(v >= -(2 ** 31) && v < 2 ** 31)) {
        throw new RangeError(
          `Cannot read ${file}: column "${name}" has ${values[data.offset + i]} at row ${at}, ` +
            `beyond the int32 range`,
        );
      }
      out[at++] = v;
    }
  }
  return out;
}

function checkKind(meta: FeatureMetadata, expected: FeatureFileKind | undefined, name: string) {
  if (expected !== undefined && meta.split !== expected) {
    throw new RangeError(
      `Cannot read ${name}: its metadata says split "${meta.split}" but it was read as ` +
        `"${expected}"`,
    );
  }
}

/**
 * Decodes a split file from IPC bytes and checks it.
 *
 * @param bytes Arrow IPC file bytes.
 * @param name The file name, for messages.
 * @param expected The split it must hold, when known.
 * @returns The split's columns and metadata.
 * @throws {SyntaxError} Not an Arrow file or truncated; {@link TypeError} for a missing or
 *   mistyped column or metadata; {@link RangeError} for a label outside 0..C-1 or a dimension
 *   that differs from `ltkit.feature_dim`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeFeatures } from "./reader.ts";
 * import { writeSyntheticFeatureDir } from "./synthetic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeSyntheticFeatureDir(dir, { trainCounts: [6, 2], featureDim: 4, testPerClass: 3 });
 * const bytes = await Deno.readFile(`${dir}/test.arrow`);
 * assert.equal(decodeFeatures(bytes, "test.arrow", "test").rows, 6);
 * assert.throws(() => decodeFeatures(bytes.subarray(0, 100), "test.arrow"), SyntaxError);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function decodeFeatures(
  bytes: Uint8Array,
  name: string,
  expected?: FeatureSplit,
): FeatureSplitData {
  const table = parseIpcFile(bytes, name);
  if (!hasKitMetadata(table.schema.metadata)) return decodeMinimal(table, name, expected);
  const layout = SPLIT_LAYOUT;
  const index = column(table, "index", name, layout, isInt32, "int32");
  const label = column(table, "label", name, layout, isInt32, "int32");
  const feature = column(
    table,
    "feature",
    name,
    layout,
    (t) => isFloat32Vector(t),
    "fixed_size_list<float32>[D]",
  );
  const metadata = decodeMetadata(table.schema.metadata, name);
  checkKind(metadata, expected, name);
  if (metadata.split === "classifier") {
    throw new RangeError(`Cannot read ${name} as features: it holds the classifier`);
  }
  const dim = (feature.type as arrow.FixedSizeList).listSize;
  if (dim !== metadata.featureDim) {
    throw new RangeError(
      `Cannot read ${name}: column "feature" has dimension ${dim} but ltkit.feature_dim says ` +
        `${metadata.featureDim}`,
    );
  }
  const labels = flatScalars(label, Int32Array);
  const c = metadata.classCount;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0 || labels[i] >= c) {
      throw new RangeError(
        `Cannot read ${name}: label ${labels[i]} at row ${i} is outside the class range ` +
          `0..${c - 1} (ltkit.class_count is ${c})`,
      );
    }
  }
  return {
    split: metadata.split as FeatureSplit,
    index: flatScalars(index, Int32Array),
    label: labels,
    features: flatVectors(feature, dim),
    rows: table.numRows,
    dim,
    classCount: c,
    metadata,
  };
}

/** A fixed_size_list<float32 or float16>[D] column of a minimal-layout file. */
function minimalVectors(table: arrow.Table, col: string, name: string, layout: string) {
  return column(
    table,
    col,
    name,
    layout,
    isFloat32or16Vector,
    "fixed_size_list<float32 or float16>[D]",
  );
}

/** A classifier's `class` column must be 0..C-1 in order: one row per class. */
function checkClassOrder(classes: Int32Array, c: number, name: string): void {
  if (classes.length !== c || classes.some((v, i) => v !== i)) {
    throw new RangeError(
      `Cannot read ${name}: column "class" must list 0..${c - 1} in order (one row per class) ` +
        `but has [${[...classes.slice(0, 12)].join(", ")}${classes.length > 12 ? ", ..." : ""}]`,
    );
  }
}

/** The split a file name says (`.../val.arrow` is val), else train. */
function splitOfName(name: string): FeatureSplit {
  const base = name.split("/").pop()?.replace(/\.arrow$/, "") ?? "";
  return (FEATURE_SPLITS as readonly string[]).includes(base) ? base as FeatureSplit : "train";
}

/**
 * A split in the minimal layout (no `ltkit.*` metadata): `label` int32/int64, `feature`
 * fixed_size_list<float32/float16>[D], optional `index` (default: the row number). The class
 * count is the largest label + 1 and the training counts are this file's own label counts until
 * readFeatureDir aligns the files of a folder.
 */
function decodeMinimal(
  table: arrow.Table,
  name: string,
  expected: FeatureSplit | undefined,
): FeatureSplitData {
  const layout = MINIMAL_LAYOUT;
  const label = column(table, "label", name, layout, isInt32or64, "int32 or int64");
  const feature = minimalVectors(table, "feature", name, layout);
  const rows = table.numRows;
  const index = table.schema.fields.some((f) => f.name === "index")
    ? flatInts(column(table, "index", name, layout, isInt32or64, "int32 or int64"), name, "index")
    : Int32Array.from({ length: rows }, (_, r) => r);
  const labels = flatInts(label, name, "label");
  let top = -1;
  for (let i = 0; i < rows; i++) {
    if (labels[i] < 0) {
      throw new RangeError(
        `Cannot read ${name}: label ${labels[i]} at row ${i} is negative; labels are class ` +
          `numbers 0..C-1`,
      );
    }
    top = Math.max(top, labels[i]);
  }
  const classCount = Math.max(top + 1, 1);
  const counts = new Array<number>(classCount).fill(0);
  for (const l of labels) counts[l]++;
  const dim = (feature.type as arrow.FixedSizeList).listSize;
  const split = expected ?? splitOfName(name);
  return {
    split,
    index,
    label: labels,
    features: flatVectors(feature, dim),
    rows,
    dim,
    classCount,
    metadata: minimalMetadata(split, classCount, counts, dim, table.schema.metadata),
  };
}

/**
 * Decodes `classifier.arrow` from IPC bytes and checks it: one row per class, in class order.
 *
 * @param bytes Arrow IPC file bytes.
 * @param name The file name, for messages.
 * @returns W (C, D), b (C) and the metadata.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeClassifier } from "./reader.ts";
 * import { writeClassifier } from "./writer.ts";
 * const dir = await Deno.makeTempDir();
 * await writeClassifier(`${dir}/classifier.arrow`, {
 *   weight: Float32Array.of(1, 0, 0, 1),
 *   bias: Float32Array.of(0.5, -0.5),
 *   classCount: 2,
 *   featureDim: 2,
 * }, { profile: {}, trainClassCounts: [3, 1], backbone: "toy", checkpointSha256: "0".repeat(64) });
 * const bytes = await Deno.readFile(`${dir}/classifier.arrow`);
 * assert.deepEqual(decodeClassifier(bytes, "classifier.arrow").bias, Float32Array.of(0.5, -0.5));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function decodeClassifier(bytes: Uint8Array, name: string): ClassifierData {
  const table = parseIpcFile(bytes, name);
  if (!hasKitMetadata(table.schema.metadata)) return decodeMinimalClassifier(table, name);
  const layout = CLASSIFIER_LAYOUT;
  const cls = column(table, "class", name, layout, isInt32, "int32");
  const weight = column(
    table,
    "weight",
    name,
    layout,
    (t) => isFloat32Vector(t),
    "fixed_size_list<float32>[D]",
  );
  const bias = column(table, "bias", name, layout, isFloat32, "float32");
  const metadata = decodeMetadata(table.schema.metadata, name);
  checkKind(metadata, "classifier", name);
  const dim = (weight.type as arrow.FixedSizeList).listSize;
  if (dim !== metadata.featureDim) {
    throw new RangeError(
      `Cannot read ${name}: column "weight" has dimension ${dim} but ltkit.feature_dim says ` +
        `${metadata.featureDim}`,
    );
  }
  const c = metadata.classCount;
  checkClassOrder(flatScalars(cls, Int32Array), c, name);
  return {
    weight: flatVectors(weight, dim),
    bias: flatScalars(bias, Float32Array),
    classCount: c,
    featureDim: dim,
    metadata,
  };
}

/**
 * A classifier in the minimal layout: one row per class with `weight`
 * fixed_size_list<float32/float16>[D], optional `bias` (default 0) and optional `class` (must be
 * 0..C-1 in order).
 */
function decodeMinimalClassifier(table: arrow.Table, name: string): ClassifierData {
  const layout = MINIMAL_CLASSIFIER_LAYOUT;
  const weight = minimalVectors(table, "weight", name, layout);
  const has = (col: string) => table.schema.fields.some((f) => f.name === col);
  const c = table.numRows;
  const dim = (weight.type as arrow.FixedSizeList).listSize;
  if (c === 0) throw new RangeError(`Cannot read ${name}: the classifier has no rows (classes)`);
  if (has("class")) {
    const cls = column(table, "class", name, layout, isInt32or64, "int32 or int64");
    checkClassOrder(flatInts(cls, name, "class"), c, name);
  }
  const bias = has("bias")
    ? flatFloats(column(table, "bias", name, layout, isFloat32or16, "float32 or float16"))
    : new Float32Array(c);
  return {
    weight: flatVectors(weight, dim),
    bias,
    classCount: c,
    featureDim: dim,
    metadata: minimalMetadata("classifier", c, new Array(c).fill(0), dim, table.schema.metadata),
  };
}

/**
 * Gives the files of a minimal-layout folder one class count (the largest over the files and
 * the classifier's rows) and the training counts of `train.arrow`.
 */
function alignMinimal(
  where: string,
  train: FeatureSplitData,
  val: FeatureSplitData,
  test: FeatureSplitData,
  classifier: ClassifierData | null,
): FeatureDir {
  for (const s of [val, test]) {
    if (s.dim !== train.dim) {
      throw new RangeError(
        `${where}: the feature dimension differs between files: train.arrow has ${train.dim}, ` +
          `${s.split}.arrow has ${s.dim}`,
      );
    }
  }
  const classes = Math.max(train.classCount, val.classCount, test.classCount);
  if (classifier && classifier.classCount < classes) {
    const top = [train, val, test].find((s) => s.classCount === classes)!;
    throw new RangeError(
      `${where}: the classifier has ${classifier.classCount} rows (classes) but ` +
        `${top.split}.arrow has label ${classes - 1}; it needs one row per class`,
    );
  }
  const c = classifier?.classCount ?? classes;
  const counts = new Array<number>(c).fill(0);
  for (const l of train.label) counts[l]++;
  const align = <T extends { classCount: number; metadata: FeatureMetadata }>(x: T): T => ({
    ...x,
    classCount: c,
    metadata: { ...x.metadata, classCount: c, trainClassCounts: [...counts] },
  });
  return {
    train: align(train),
    val: align(val),
    test: align(test),
    classifier: classifier ? align(classifier) : null,
  };
}

/**
 * Checks the layouts of a folder's three splits: all ltkit dumps or all minimal, never mixed.
 *
 * @param where The message prefix, e.g. `Cannot use features in runs/x/features`.
 * @param splits train, val and test, decoded.
 * @returns Whether all three are in the minimal layout.
 * @throws {RangeError} Naming the files when the layouts are mixed.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkSplitLayouts } from "./reader.ts";
 * import { makeSyntheticFeatures } from "./synthetic.ts";
 * const { train, val, test } = makeSyntheticFeatures({ trainCounts: [6, 2], featureDim: 4 });
 * assert.equal(checkSplitLayouts("Cannot use features", [train, val, test]), false);
 * ```
 */
export function checkSplitLayouts(where: string, splits: readonly FeatureSplitData[]): boolean {
  const minimal = splits.filter((s) => s.metadata.minimal);
  if (minimal.length > 0 && minimal.length < splits.length) {
    const names = (m: boolean) =>
      splits.filter((s) => Boolean(s.metadata.minimal) === m).map((s) => `${s.split}.arrow`);
    throw new RangeError(
      `${where}: ${names(false).join(" and ")} carry ltkit.* metadata but ` +
        `${names(true).join(" and ")} do not; write all three splits the same way`,
    );
  }
  return minimal.length === splits.length;
}

/**
 * Checks that the decoded files of a features folder belong together: the same feature
 * dimension, class count, training class counts and stage-1 checkpoint, and training labels that
 * match the recorded class counts. A minimal-layout folder (see {@link MINIMAL_LAYOUT}) needs the
 * same dimension in every file; its class count is the largest label (or the classifier's row
 * count) + 1 and its training class counts come from `train.arrow`.
 *
 * @param dir The decoded files (the classifier null when a minimal folder has none).
 * @param base The folder, for messages.
 * @param classifierName The classifier's name in messages (default `classifier.arrow`).
 * @returns The folder, its minimal files given one class count.
 * @throws {RangeError} Naming both files when they disagree.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkFeatureDir } from "./reader.ts";
 * import { makeSyntheticFeatures } from "./synthetic.ts";
 * const dir = makeSyntheticFeatures({ trainCounts: [6, 2], featureDim: 4 });
 * assert.equal(checkFeatureDir(dir, "synthetic"), dir);
 * const other = makeSyntheticFeatures({ trainCounts: [6, 2], featureDim: 5 });
 * assert.throws(() => checkFeatureDir({ ...dir, test: other.test }, "mixed"), /feature dimension/);
 * ```
 */
export function checkFeatureDir(
  dir: FeatureDir,
  base: string,
  classifierName = "classifier.arrow",
): FeatureDir {
  const { train, val, test, classifier } = dir;
  const where = `Cannot use features in ${base}`;
  const minimal = checkSplitLayouts(where, [train, val, test]);
  if (classifier && classifier.featureDim !== train.dim) {
    throw new RangeError(
      `${where}: the feature dimension differs between files: train.arrow has ${train.dim}, ` +
        `${classifierName} has ${classifier.featureDim}`,
    );
  }
  if (minimal) return alignMinimal(where, train, val, test, classifier);
  const files: [string, FeatureMetadata][] = [
    ["train.arrow", train.metadata],
    ["val.arrow", val.metadata],
    ["test.arrow", test.metadata],
  ];
  if (classifier && !classifier.metadata.minimal) {
    files.push([classifierName, classifier.metadata]);
  } else if (classifier && classifier.classCount !== train.classCount) {
    throw new RangeError(
      `${where}: the class count differs between files: train.arrow has ${train.classCount}, ` +
        `${classifierName} has ${classifier.classCount} rows (classes)`,
    );
  }
  const [refName, ref] = files[0];
  for (const [name, meta] of files.slice(1)) {
    if (meta.featureDim !== ref.featureDim) {
      throw new RangeError(
        `${where}: the feature dimension differs between files: ${refName} has ` +
          `${ref.featureDim}, ${name} has ${meta.featureDim}`,
      );
    }
    if (meta.checkpointSha256 !== ref.checkpointSha256) {
      throw new RangeError(
        `${where}: ${refName} and ${name} come from different checkpoints (SHA-256 ` +
          `${ref.checkpointSha256.slice(0, 12)}... against ${
            meta.checkpointSha256.slice(0, 12)
          }...)`,
      );
    }
    if (meta.classCount !== ref.classCount) {
      throw new RangeError(
        `${where}: the class count differs between files: ${refName} has ${ref.classCount}, ` +
          `${name} has ${meta.classCount}`,
      );
    }
    if (meta.trainClassCounts.join() !== ref.trainClassCounts.join()) {
      throw new RangeError(
        `${where}: ltkit.train_class_counts differs between ${refName} ` +
          `[${ref.trainClassCounts}] and ${name} [${meta.trainClassCounts}]`,
      );
    }
  }
  const counts = new Array<number>(train.classCount).fill(0);
  for (const l of train.label) counts[l]++;
  if (counts.join() !== ref.trainClassCounts.join()) {
    throw new RangeError(
      `${where}: train.arrow has class counts [${counts}] but its ltkit.train_class_counts ` +
        `says [${ref.trainClassCounts}]`,
    );
  }
  return dir;
}
