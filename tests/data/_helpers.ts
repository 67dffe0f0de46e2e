/**
 * Test helpers for the data package: synthetic IDX files and image sets, and access to the real
 * Fashion-MNIST files that fails under CI=true and skips loudly elsewhere.
 *
 * @module
 */

import { gzipSync } from "node:zlib";
import { findFashionMnist, type ImageSet, loadFashionMnist } from "../../lib/data/mod.ts";

/** Encode an IDX file: magic 0x0000TTRR, big-endian dims, big-endian data. */
export function makeIdx(typeCode: number, dims: number[], values: ArrayLike<number>): Uint8Array {
  const sizes: Record<number, number> = { 8: 1, 9: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };
  const size = sizes[typeCode];
  const out = new Uint8Array(4 + 4 * dims.length + values.length * size);
  const view = new DataView(out.buffer);
  out[2] = typeCode;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  const o = 4 + 4 * dims.length;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeCode === 8) view.setUint8(o + i, v);
    else if (typeCode === 9) view.setInt8(o + i, v);
    else if (typeCode === 0x0b) view.setInt16(o + 2 * i, v);
    else if (typeCode === 0x0c) view.setInt32(o + 4 * i, v);
    else if (typeCode === 0x0d) view.setFloat32(o + 4 * i, v);
    else view.setFloat64(o + 8 * i, v);
  }
  return out;
}

/** gzip bytes (a plain Uint8Array copy). */
export function gzip(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(bytes));
}

/**
 * A synthetic image set: `perClass[c]` images of class c, pixel values a deterministic function of
 * (image, position), interleaved classes.
 */
export function syntheticSet(
  perClass: number[],
  shape: { channels?: number; height?: number; width?: number } = {},
): ImageSet {
  const channels = shape.channels ?? 1, height = shape.height ?? 4, width = shape.width ?? 4;
  const labels: number[] = [];
  const left = [...perClass];
  while (left.some((n) => n > 0)) {
    left.forEach((n, c) => {
      if (n > 0) {
        labels.push(c);
        left[c]--;
      }
    });
  }
  const size = channels * height * width;
  const images = new Uint8Array(labels.length * size);
  for (let i = 0; i < images.length; i++) images[i] = (i * 31 + (i >> 5) * 7) & 0xff;
  return {
    images,
    labels: Int32Array.from(labels),
    count: labels.length,
    channels,
    height,
    width,
    classCount: perClass.length,
  };
}

/** Write the four Fashion-MNIST-named IDX files of two synthetic sets into `dir`, gzipped. */
export async function writeFakeFashionMnist(
  dir: string,
  train: ImageSet,
  test: ImageSet,
  options: { gzip?: boolean } = {},
): Promise<void> {
  const z = options.gzip ?? true;
  const files: [string, Uint8Array][] = [];
  for (const [prefix, set] of [["train", train], ["t10k", test]] as const) {
    const dims = [set.count, set.height, set.width];
    files.push([`${prefix}-images-idx3-ubyte`, makeIdx(8, dims, set.images)]);
    files.push([`${prefix}-labels-idx1-ubyte`, makeIdx(8, [set.count], set.labels)]);
  }
  for (const [name, bytes] of files) {
    await Deno.writeFile(`${dir}/${name}${z ? ".gz" : ""}`, z ? gzip(bytes) : bytes);
  }
}

function envCi(): boolean {
  try {
    return Deno.env.get("CI") === "true";
  } catch {
    return false;
  }
}

/** True under CI=true: tests that need the real files must run (and fail without them). */
export const CI = envCi();

/** Why the real Fashion-MNIST files are unavailable, or undefined when they are found. */
export const REAL_DATA_MISSING: string | undefined = (() => {
  try {
    findFashionMnist();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
})();

/** `ignore` for tests that need the real files: never ignored under CI=true. */
export const ignoreRealData = REAL_DATA_MISSING !== undefined && !CI;

if (ignoreRealData) {
  console.error(
    "\n!!!!! Fashion-MNIST NOT FOUND: tests that need the real files are IGNORED here (they " +
      "fail under CI=true).\n" + REAL_DATA_MISSING + "\n",
  );
}

let cached: Promise<{ train: ImageSet; test: ImageSet }> | undefined;

/** The real data, loaded once per test file; throws a clear error when missing. */
export function realFashionMnist(): Promise<{ train: ImageSet; test: ImageSet }> {
  if (REAL_DATA_MISSING !== undefined) {
    throw new Error(`CI=true but the real Fashion-MNIST files are missing:\n${REAL_DATA_MISSING}`);
  }
  cached ??= loadFashionMnist();
  return cached;
}

/** A temporary directory removed after `fn`. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "ltkit_data_test_" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Run `fn` with environment variable `name` set (or unset with undefined), then restore it. */
export async function withEnv<T>(
  name: string,
  value: string | undefined,
  fn: () => Promise<T> | T,
): Promise<T> {
  const before = Deno.env.get(name);
  if (value === undefined) Deno.env.delete(name);
  else Deno.env.set(name, value);
  try {
    return await fn();
  } finally {
    if (before === undefined) Deno.env.delete(name);
    else Deno.env.set(name, before);
  }
}

/** The synthetic CIFAR pixel of image `i` (counted over a whole split) at channel c, row y, x. */
export function cifarPixel(i: number, c: number, y: number, x: number): number {
  return (i * 7 + c * 85 + y * 3 + x * 5) & 0xff;
}

/**
 * CIFAR binary records in the official layout: the label byte(s), then 1024 red, 1024 green and
 * 1024 blue bytes, each plane row-major. `labels` holds one label (CIFAR-10) or [coarse, fine]
 * (CIFAR-100) per record; pixels follow {@link cifarPixel} with image numbers from `first`.
 */
export function cifarRecords(labels: (number | number[])[], first = 0): Uint8Array {
  const labelBytes = Array.isArray(labels[0]) ? (labels[0] as number[]).length : 1;
  const record = labelBytes + 3072;
  const out = new Uint8Array(labels.length * record);
  labels.forEach((label, k) => {
    const o = k * record;
    out.set(Array.isArray(label) ? label : [label], o);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          out[o + labelBytes + c * 1024 + y * 32 + x] = cifarPixel(first + k, c, y, x);
        }
      }
    }
  });
  return out;
}

/**
 * Write a CIFAR release's extracted folder (`cifar-10-batches-bin/` or `cifar-100-binary/`) into
 * `dir`: CIFAR-10 gets five training batches of `train[b]` labels each, CIFAR-100 one train.bin
 * with [coarse, fine] labels; pixel numbering runs on across a split's files. Returns the folder.
 */
export async function writeCifarFolder(
  dir: string,
  source: "cifar-10" | "cifar-100",
  train: (number | number[])[][],
  test: (number | number[])[],
): Promise<string> {
  const ten = source === "cifar-10";
  const folder = `${dir}/${ten ? "cifar-10-batches-bin" : "cifar-100-binary"}`;
  await Deno.mkdir(folder, { recursive: true });
  const trainNames = ten ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ["train.bin"];
  let first = 0;
  for (const [b, labels] of train.entries()) {
    await Deno.writeFile(`${folder}/${trainNames[b]}`, cifarRecords(labels, first));
    first += labels.length;
  }
  await Deno.writeFile(`${folder}/${ten ? "test_batch.bin" : "test.bin"}`, cifarRecords(test));
  const classes = ten ? 10 : 100;
  const names = Array.from({ length: classes }, (_, c) => `class_${c}`).join("\n") + "\n\n";
  await Deno.writeTextFile(`${folder}/${ten ? "batches.meta.txt" : "fine_label_names.txt"}`, names);
  return folder;
}

/** Pack `dir/member` into `archive` with the system's tar (gzip when the name ends in .gz). */
export async function systemTar(
  dir: string,
  member: string,
  archive: string,
  extra: string[] = [],
) {
  const z = archive.endsWith(".gz") ? ["-z"] : [];
  const out = await new Deno.Command("tar", {
    args: ["-c", ...z, ...extra, "-f", archive, "-C", dir, member],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`tar failed: ${new TextDecoder().decode(out.stderr)}`);
}
