/**
 * IDX reader, the format of MNIST and Fashion-MNIST: a 4-byte magic (two zero bytes, a type code,
 * the rank), one big-endian uint32 per dimension, then the data, big-endian. Files may be gzipped.
 *
 * @module
 */

import { maybeGunzip } from "./_gzip.ts";
import { findLabelOutOfRange, type ImageSet } from "./image_set.ts";

/**
 * Element types an IDX file can hold.
 *
 * @example
 * ```ts
 * import type { IdxDtype } from "./idx.ts";
 * const dtype: IdxDtype = "uint8";
 * ```
 */
export type IdxDtype = "uint8" | "int8" | "int16" | "int32" | "float32" | "float64";

/**
 * A parsed IDX array.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type IdxArray, parseIdx } from "./idx.ts";
 * const idx: IdxArray = parseIdx(Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 1, 42]), "one");
 * assert.deepEqual([idx.dtype, idx.dims], ["uint8", [1]]);
 * ```
 */
export interface IdxArray {
  /** Element type. */
  dtype: IdxDtype;
  /** Dimensions, outermost first. */
  dims: number[];
  /** The values, in native byte order, row-major. */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, { dtype: IdxDtype; bytes: number }> = {
  0x08: { dtype: "uint8", bytes: 1 },
  0x09: { dtype: "int8", bytes: 1 },
  0x0b: { dtype: "int16", bytes: 2 },
  0x0c: { dtype: "int32", bytes: 4 },
  0x0d: { dtype: "float32", bytes: 4 },
  0x0e: { dtype: "float64", bytes: 8 },
};

const hex = (v: number, width: number) => "0x" + v.toString(16).padStart(width, "0");

/**
 * Parse an IDX array from (already decompressed) bytes, checking the magic number, type, rank,
 * dimensions and length.
 *
 * @param bytes The file contents; gzip is decompressed first when present.
 * @param name The file name, for error messages.
 * @returns The array; uint8 data is a view into `bytes`, other types are converted copies.
 * @throws {SyntaxError} On a wrong magic number, an unknown type, or a truncated or too long file.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIdx } from "./idx.ts";
 * const bytes = Uint8Array.from([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9]);
 * const idx = parseIdx(bytes, "labels");
 * assert.deepEqual([idx.dims, [...idx.data]], [[3], [7, 8, 9]]);
 * ```
 */
export function parseIdx(bytes: Uint8Array, name: string): IdxArray {
  bytes = maybeGunzip(bytes, name);
  if (bytes.length < 4) {
    throw new SyntaxError(
      `Cannot read IDX file ${name}: it has ${bytes.length} bytes, fewer than the 4-byte header`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const type = TYPES[bytes[2]];
  const rank = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0 || type === undefined || rank === 0) {
    throw new SyntaxError(
      `Cannot read IDX file ${name}: wrong magic number ${hex(magic, 8)}; an IDX file starts ` +
        "with 0x0000TTRR (TT a type code 08/09/0b/0c/0d/0e, RR the rank > 0). " +
        "Is this the right file, or a HTML error page saved by a failed download?",
    );
  }
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new SyntaxError(
      `Cannot read IDX file ${name}: truncated header (${bytes.length} bytes, rank ${rank} ` +
        `needs ${headerBytes})`,
    );
  }
  const dims: number[] = [];
  let elements = 1;
  for (let d = 0; d < rank; d++) {
    const n = view.getUint32(4 + 4 * d);
    dims.push(n);
    elements *= n;
  }
  const expected = headerBytes + elements * type.bytes;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? "truncated" : "too long";
    throw new SyntaxError(
      `Cannot read IDX file ${name}: ${what}: dims (${dims.join(",")}) of ${type.dtype} need ` +
        `${expected} bytes but the file has ${bytes.length}; download the file again`,
    );
  }
  const body = bytes.subarray(headerBytes);
  const data = convert(body, type.dtype, elements);
  return { dtype: type.dtype, dims, data };
}

function convert(body: Uint8Array, dtype: IdxDtype, n: number): IdxArray["data"] {
  if (dtype === "uint8") return body;
  if (dtype === "int8") return new Int8Array(body.buffer, body.byteOffset, n);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  switch (dtype) {
    case "int16":
      return Int16Array.from({ length: n }, (_, i) => view.getInt16(2 * i));
    case "int32":
      return Int32Array.from({ length: n }, (_, i) => view.getInt32(4 * i));
    case "float32":
      return Float32Array.from({ length: n }, (_, i) => view.getFloat32(4 * i));
    default:
      return Float64Array.from({ length: n }, (_, i) => view.getFloat64(8 * i));
  }
}

/**
 * Read and parse an IDX file, gzipped or raw.
 *
 * @param path The file path.
 * @returns The parsed array.
 * @throws {SyntaxError} See {@link parseIdx}; also for a truncated or corrupt gzip stream.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readIdx } from "./idx.ts";
 * const dir = await Deno.makeTempDir();
 * // Three uint8 labels: magic 0x00000801 (uint8, one dimension), the dimension, the data.
 * await Deno.writeFile(`${dir}/labels-idx1-ubyte`, Uint8Array.of(0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1));
 * const labels = await readIdx(`${dir}/labels-idx1-ubyte`);
 * assert.deepEqual([labels.dtype, labels.dims, labels.data], ["uint8", [3], Uint8Array.of(7, 2, 1)]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readIdx(path: string): Promise<IdxArray> {
  return parseIdx(await Deno.readFile(path), path);
}

/**
 * Options for {@link idxToImageSet}.
 *
 * @example
 * ```ts
 * import type { IdxImageSetOptions } from "./idx.ts";
 * const options: IdxImageSetOptions = {
 *   imagesName: "train-images-idx3-ubyte.gz",
 *   labelsName: "train-labels-idx1-ubyte.gz",
 *   classCount: 10,
 * };
 * ```
 */
export interface IdxImageSetOptions {
  /** The images file name, for error messages. */
  imagesName: string;
  /** The labels file name, for error messages. */
  labelsName: string;
  /** The number of classes; by default the largest label + 1. */
  classCount?: number;
  /** Class names, one per class. */
  classNames?: readonly string[];
}

/**
 * Combine an images IDX array (N,H,W) or (N,C,H,W) of uint8 and a labels IDX array (N) into an
 * {@link ImageSet}, checking that counts match and labels are in range.
 *
 * @param images The images array.
 * @param labels The labels array (any integer type).
 * @param options File names for errors, class count and names.
 * @returns The image set (pixels are not copied).
 * @throws {RangeError} On a count mismatch or a label out of range, naming the file.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { idxToImageSet, parseIdx } from "./idx.ts";
 * const images = parseIdx(
 *   Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 255]),
 *   "i",
 * );
 * const labels = parseIdx(Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 1, 4]), "l");
 * const set = idxToImageSet(images, labels, { imagesName: "i", labelsName: "l", classCount: 5 });
 * assert.deepEqual([set.count, set.labels[0]], [1, 4]);
 * ```
 */
export function idxToImageSet(
  images: IdxArray,
  labels: IdxArray,
  options: IdxImageSetOptions,
): ImageSet {
  const { imagesName, labelsName } = options;
  if (images.dtype !== "uint8") {
    throw new TypeError(
      `Cannot use ${imagesName} as images: its type is ${images.dtype} but must be uint8`,
    );
  }
  if (images.dims.length !== 3 && images.dims.length !== 4) {
    throw new RangeError(
      `Cannot use ${imagesName} as images: rank ${images.dims.length} with dims ` +
        `(${images.dims.join(",")}); expected (N,H,W) or (N,C,H,W)`,
    );
  }
  if (labels.dims.length !== 1 || labels.dtype.startsWith("float")) {
    throw new RangeError(
      `Cannot use ${labelsName} as labels: ${labels.dtype} dims (${labels.dims.join(",")}); ` +
        "expected integers of rank 1",
    );
  }
  const [count, ...rest] = images.dims;
  const [channels, height, width] = rest.length === 2 ? [1, rest[0], rest[1]] : rest;
  if (labels.dims[0] !== count) {
    throw new RangeError(
      `Cannot pair images and labels: ${imagesName} has ${count} images but ${labelsName} has ` +
        `${labels.dims[0]} labels; use the labels file that belongs to these images`,
    );
  }
  const labelArray = Int32Array.from(labels.data as ArrayLike<number>);
  let classCount = options.classCount;
  if (classCount === undefined) {
    classCount = 0;
    for (let i = 0; i < labelArray.length; i++) {
      classCount = Math.max(classCount, labelArray[i] + 1);
    }
    classCount = Math.max(classCount, 1);
  }
  const bad = findLabelOutOfRange(labelArray, classCount);
  if (bad >= 0) {
    throw new RangeError(
      `Cannot use ${labelsName} as labels: label ${labelArray[bad]} at index ${bad} is outside ` +
        `0..${classCount - 1}; the file is corrupt or belongs to another data set`,
    );
  }
  const set: ImageSet = {
    images: images.data as Uint8Array,
    labels: labelArray,
    count,
    channels,
    height,
    width,
    classCount,
  };
  if (options.classNames) set.classNames = [...options.classNames];
  return set;
}
