/**
 * CIFAR-10 and CIFAR-100 (Krizhevsky, 2009) from their official binary releases, read from the
 * downloaded archive itself (`cifar-10-binary.tar.gz`, `cifar-100-binary.tar.gz`) or from its
 * extracted folder.
 *
 * Records: CIFAR-10 rows are 1 label byte + 3072 pixel bytes (`data_batch_1..5.bin`,
 * `test_batch.bin`, class names in `batches.meta.txt`); CIFAR-100 rows are a coarse label byte, a
 * fine label byte + 3072 pixel bytes (`train.bin`, `test.bin`, `fine_label_names.txt`; ltkit uses
 * the 100 fine labels). Pixels are 1024 red, 1024 green, then 1024 blue bytes, each plane 32 rows
 * of 32, which is already the (C,H,W) layout of an {@link ImageSet}.
 *
 * Search order, as for Fashion-MNIST: `options.dataDir`, the `LTKIT_DATA` variable, then
 * `data/cifar-10/` (or `data/cifar-100/`) in the repository and in the working directory. In each
 * folder D: the extracted folder `D/cifar-10-batches-bin/`, D itself holding the files, then the
 * archive `D/cifar-10-binary.tar.gz`; the same again under `D/cifar-10/`. A folder given
 * explicitly must hold the data: it is an error, not a fallback, when it does not.
 *
 * @module
 */

import { dirExists, envDataDir, fileExists, joinPath, repositoryDataDirs } from "./_find.ts";
import type { ImageSet } from "./image_set.ts";
import { readTarFile } from "./_tar.ts";

/**
 * How one CIFAR release is laid out: a row of {@link CIFAR_LAYOUTS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CIFAR_LAYOUTS, type CifarLayout } from "./cifar.ts";
 * const layout: CifarLayout = CIFAR_LAYOUTS["cifar-100"];
 * assert.equal(layout.labelBytes + 3072, 3074);
 * ```
 */
export interface CifarLayout {
  /** The source name profiles use. */
  source: string;
  /** The data set's name in messages. */
  title: string;
  /** The official archive's file name. */
  archive: string;
  /** The folder the archive extracts to. */
  folder: string;
  /** Training files, in row order. */
  train: readonly string[];
  /** Test files, in row order. */
  test: readonly string[];
  /** The class-name file, one name per line in label order. */
  namesFile: string;
  /** Label bytes before the 3072 pixel bytes of each record. */
  labelBytes: 1 | 2;
  /** Upper bound (exclusive) of each label byte; the last one is the class. */
  labelRanges: readonly number[];
  /** The number of classes. */
  classCount: number;
  /** A profile that uses this source, for the download hint. */
  exampleProfile: string;
}

/**
 * The two releases, keyed by source name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CIFAR_LAYOUTS } from "./cifar.ts";
 * assert.equal(CIFAR_LAYOUTS["cifar-10"].train.length, 5);
 * ```
 */
export const CIFAR_LAYOUTS: Readonly<Record<string, Readonly<CifarLayout>>> = Object.freeze({
  "cifar-10": Object.freeze({
    source: "cifar-10",
    title: "CIFAR-10",
    archive: "cifar-10-binary.tar.gz",
    folder: "cifar-10-batches-bin",
    train: Object.freeze([1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`)),
    test: Object.freeze(["test_batch.bin"]),
    namesFile: "batches.meta.txt",
    labelBytes: 1,
    labelRanges: Object.freeze([10]),
    classCount: 10,
    exampleProfile: "cifar10-lt-100",
  }),
  "cifar-100": Object.freeze({
    source: "cifar-100",
    title: "CIFAR-100",
    archive: "cifar-100-binary.tar.gz",
    folder: "cifar-100-binary",
    train: Object.freeze(["train.bin"]),
    test: Object.freeze(["test.bin"]),
    namesFile: "fine_label_names.txt",
    labelBytes: 2,
    labelRanges: Object.freeze([20, 100]),
    classCount: 100,
    exampleProfile: "cifar100-lt-100",
  }),
});

/** Pixel bytes per CIFAR image: 3 channels of 32x32. */
const PIXELS = 3 * 32 * 32;

function layoutOf(source: string): Readonly<CifarLayout> {
  const layout = CIFAR_LAYOUTS[source];
  if (!layout) {
    throw new RangeError(
      `Cannot use CIFAR source "${source}": use ${Object.keys(CIFAR_LAYOUTS).join(" or ")}`,
    );
  }
  return layout;
}

function howToGet(layout: Readonly<CifarLayout>): string {
  return [
    `download it: deno task data --profile ${layout.exampleProfile} (into data/${layout.source}/, ` +
    "MD5 verified)",
    `or put ${layout.archive} (the binary version, not the python or matlab one), or the ` +
    `${layout.folder}/ folder it extracts to, in a folder and pass --data-dir DIR or set ` +
    "LTKIT_DATA=DIR",
  ].map((s) => "  - " + s).join("\n");
}

/**
 * Parse the records of one CIFAR binary file.
 *
 * @param bytes The file's contents.
 * @param name The file's name, for error messages.
 * @param source `cifar-10` or `cifar-100`.
 * @returns Pixels (N,3,32,32) and class labels (N): CIFAR-100's fine labels.
 * @throws {RangeError} For a size that is not a whole number of records or a label out of range,
 *   naming the file, the value and the record.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
 * import { parseCifarRecords } from "./cifar.ts";
 * const record = new Uint8Array(3073);
 * record[0] = 7; // the label
 * record[1 + 2 * 1024 + 5 * 32 + 9] = 200; // blue channel, row 5, column 9
 * const { images, labels } = parseCifarRecords(record, "one.bin", "cifar-10");
 * deepEqual([...labels], [7]);
 * equal(images[2 * 1024 + 5 * 32 + 9], 200);
 * ```
 */
export function parseCifarRecords(
  bytes: Uint8Array,
  name: string,
  source: string,
): { images: Uint8Array; labels: Int32Array } {
  const layout = layoutOf(source);
  const record = layout.labelBytes + PIXELS;
  if (bytes.length === 0 || bytes.length % record !== 0) {
    throw new RangeError(
      `Cannot read ${layout.title} file ${name}: it has ${bytes.length} bytes, not a positive ` +
        `multiple of the ${record}-byte record (${layout.labelBytes} label byte` +
        `${layout.labelBytes > 1 ? "s" : ""} + 3072 pixels); the file is truncated or from ` +
        `another release: use the binary version (${layout.archive})`,
    );
  }
  const count = bytes.length / record;
  const images = new Uint8Array(count * PIXELS);
  const labels = new Int32Array(count);
  const last = layout.labelBytes - 1;
  for (let i = 0; i < count; i++) {
    const o = i * record;
    for (let b = 0; b < layout.labelBytes; b++) {
      const v = bytes[o + b];
      if (v >= layout.labelRanges[b]) {
        const what = layout.labelBytes === 1 ? "label" : b === 0 ? "coarse label" : "fine label";
        throw new RangeError(
          `Cannot read ${layout.title} file ${name}: record ${i} (byte ${o + b}) has ${what} ${v}` +
            `, outside 0..${layout.labelRanges[b] - 1}; the file is corrupt or belongs to ` +
            "another data set: download it again",
        );
      }
    }
    labels[i] = bytes[o + last];
    images.set(bytes.subarray(o + layout.labelBytes, o + record), i * PIXELS);
  }
  return { images, labels };
}

/**
 * Parse a class-name file: one name per line, blank lines ignored.
 *
 * @param text The file's contents.
 * @param name The file's name, for error messages.
 * @param classCount The number of names it must hold.
 * @returns The names in label order.
 * @throws {RangeError} When the number of names is not `classCount`.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { parseClassNames } from "./cifar.ts";
 * deepEqual(parseClassNames("cat\ndog\n\n", "meta.txt", 2), ["cat", "dog"]);
 * ```
 */
export function parseClassNames(text: string, name: string, classCount: number): string[] {
  const names = text.split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== "");
  if (names.length !== classCount) {
    throw new RangeError(
      `Cannot read class names from ${name}: it has ${names.length} names but the data set has ` +
        `${classCount} classes; the file is corrupt or belongs to another release`,
    );
  }
  return names;
}

/**
 * Where a CIFAR release was found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CifarLocation } from "./cifar.ts";
 * const say = (where: CifarLocation) => `${where.path} (via ${where.via})`;
 * assert.equal(say({ path: "data/cifar-10", kind: "folder", via: "dataDir" }), "data/cifar-10 (via dataDir)");
 * ```
 */
export interface CifarLocation {
  /** The archive, or the folder holding the extracted files. */
  path: string;
  /** Whether `path` is the archive or a folder. */
  kind: "archive" | "folder";
  /** Which search step found it. */
  via: "dataDir" | "LTKIT_DATA" | "repository";
}

/** The member names of a release: train, test, then the class names. */
function memberNames(layout: Readonly<CifarLayout>): string[] {
  return [...layout.train, ...layout.test, layout.namesFile];
}

/** A complete location in `dir`, or a note on what is missing there (undefined: nothing). */
function probe(
  dir: string,
  layout: Readonly<CifarLayout>,
): { path: string; kind: "archive" | "folder" } | { partial: string } | undefined {
  const names = memberNames(layout);
  let partial: string | undefined;
  for (const folder of [joinPath(dir, layout.folder), dir]) {
    if (!dirExists(folder)) continue;
    const missing = names.filter((n) => !fileExists(joinPath(folder, n)));
    if (missing.length === 0) return { path: folder, kind: "folder" };
    if (missing.length < names.length) partial ??= `${folder} lacks ${missing.join(", ")}`;
  }
  const archive = joinPath(dir, layout.archive);
  if (fileExists(archive)) return { path: archive, kind: "archive" };
  return partial ? { partial } : undefined;
}

/**
 * Find a CIFAR release: its archive or extracted folder.
 *
 * @param source `cifar-10` or `cifar-100`.
 * @param options An explicit folder to search first.
 * @returns Where it is.
 * @throws {Deno.errors.NotFound} Listing the places searched and how to get the data.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { findCifar } from "./cifar.ts";
 * const dir = await Deno.makeTempDir();
 * // Only the name matters for finding; loadCifar reads the archive.
 * await Deno.writeFile(`${dir}/cifar-100-binary.tar.gz`, new Uint8Array());
 * const where = findCifar("cifar-100", { dataDir: dir });
 * equal(where.kind, "archive");
 * equal(where.path, `${dir}/cifar-100-binary.tar.gz`);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function findCifar(source: string, options: { dataDir?: string } = {}): CifarLocation {
  const layout = layoutOf(source);
  const search = (dir: string, notes: string[]) => {
    for (const d of [dir, joinPath(dir, layout.source)]) {
      const hit = probe(d, layout);
      if (hit && "path" in hit) return hit;
      notes.push(hit ? hit.partial : `${d} (no ${layout.archive} or ${layout.folder}/)`);
    }
    return undefined;
  };
  const explicit: [CifarLocation["via"], string | undefined][] = [
    ["dataDir", options.dataDir],
    ["LTKIT_DATA", envDataDir()],
  ];
  for (const [via, dir] of explicit) {
    if (dir === undefined) continue;
    const notes: string[] = [];
    const hit = search(dir, notes);
    if (hit) return { ...hit, via };
    const flag = via === "dataDir" ? "--data-dir / dataDir" : "the LTKIT_DATA variable";
    throw new Deno.errors.NotFound(
      `Cannot find ${layout.title} in the folder given by ${flag}: ${notes.join("; ")}.\n` +
        `Fix the folder, or get the data:\n${howToGet(layout)}`,
    );
  }
  const notes: string[] = [];
  for (const dir of repositoryDataDirs(layout.source)) {
    const hit = probe(dir, layout);
    if (hit && "path" in hit) return { ...hit, via: "repository" };
    notes.push(hit ? hit.partial : dir);
  }
  throw new Deno.errors.NotFound(
    `Cannot find ${layout.title}: searched --data-dir (not given), LTKIT_DATA (not set), ` +
      `${notes.join(", ")}.\nGet it in one of these ways:\n${howToGet(layout)}`,
  );
}

/** The files of a release by member name, read from the archive or the folder. */
async function readMembers(
  where: CifarLocation,
  layout: Readonly<CifarLayout>,
): Promise<Map<string, { bytes: Uint8Array; name: string }>> {
  const names = memberNames(layout);
  const out = new Map<string, { bytes: Uint8Array; name: string }>();
  if (where.kind === "folder") {
    for (const n of names) {
      const path = joinPath(where.path, n);
      out.set(n, { bytes: await Deno.readFile(path), name: path });
    }
    return out;
  }
  const inArchive = (path: string) => {
    const p = path.replace(/^(\.\/)+/, "");
    const slash = p.indexOf("/");
    return slash > 0 && p.slice(0, slash) === layout.folder && names.includes(p.slice(slash + 1))
      ? p.slice(slash + 1)
      : undefined;
  };
  const { members, files } = await readTarFile(where.path, (p) => inArchive(p) !== undefined);
  for (const [path, bytes] of files) {
    out.set(inArchive(path)!, { bytes, name: `${where.path}:${path}` });
  }
  const missing = names.filter((n) => !out.has(n));
  if (missing.length > 0) {
    const python = members.some((m) => /-py\/|batches-py|\/meta$/.test(m.path));
    throw new RangeError(
      `Cannot load ${layout.title} from ${where.path}: the archive lacks ` +
        missing.map((n) => `${layout.folder}/${n}`).join(", ") +
        (python
          ? `; it is the Python (pickle) release, but ltkit reads the binary one, ${layout.archive}`
          : `; it is not the official ${layout.archive}`) +
        `: download it again (deno task data --profile ${layout.exampleProfile})`,
    );
  }
  return out;
}

/**
 * Load a CIFAR release's training and test sets.
 *
 * @param source `cifar-10` or `cifar-100`.
 * @param options An explicit folder to search first; see the module doc for the search order.
 * @returns `train` (50,000 images in the official release) and `test` (10,000), 3x32x32, with
 *   class names, and where they came from.
 * @throws {Deno.errors.NotFound} When the data is nowhere; {@link RangeError} or
 *   {@link SyntaxError} for a missing member, a wrong size, a bad label or a corrupt archive,
 *   naming the file.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
 * import { loadCifar } from "./cifar.ts";
 * // A stand-in extracted folder in the official format: three training records and one test
 * // record. The real files hold 50,000 and 10,000.
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/cifar-100-binary`);
 * const records = (labels: number[][]) => {
 *   const bytes = new Uint8Array(labels.length * 3074);
 *   labels.forEach(([coarse, fine], i) => bytes.set([coarse, fine], i * 3074));
 *   return bytes;
 * };
 * await Deno.writeFile(`${dir}/cifar-100-binary/train.bin`, records([[4, 30], [1, 99], [4, 0]]));
 * await Deno.writeFile(`${dir}/cifar-100-binary/test.bin`, records([[19, 42]]));
 * const names = Array.from({ length: 100 }, (_, i) => `class${i}`).join("\n");
 * await Deno.writeTextFile(`${dir}/cifar-100-binary/fine_label_names.txt`, names);
 * const { train, test, location } = await loadCifar("cifar-100", { dataDir: dir });
 * deepEqual([...train.labels], [30, 99, 0]);
 * equal(test.classNames?.[test.labels[0]], "class42");
 * equal(location.kind, "folder");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadCifar(
  source: string,
  options: { dataDir?: string } = {},
): Promise<{ train: ImageSet; test: ImageSet; location: CifarLocation }> {
  const layout = layoutOf(source);
  const location = findCifar(source, options);
  const files = await readMembers(location, layout);
  const names = files.get(layout.namesFile)!;
  const classNames = parseClassNames(
    new TextDecoder().decode(names.bytes),
    names.name,
    layout.classCount,
  );
  const build = (members: readonly string[]): ImageSet => {
    const parts = members.map((n) => {
      const file = files.get(n)!;
      const part = parseCifarRecords(file.bytes, file.name, source);
      files.delete(n); // let the raw bytes go before the next file is copied
      return part;
    });
    let { images, labels } = parts[0];
    if (parts.length > 1) {
      images = new Uint8Array(parts.reduce((s, p) => s + p.images.length, 0));
      labels = new Int32Array(images.length / PIXELS);
      let at = 0;
      for (const p of parts) {
        images.set(p.images, at * PIXELS);
        labels.set(p.labels, at);
        at += p.labels.length;
      }
    }
    return {
      images,
      labels,
      count: labels.length,
      channels: 3,
      height: 32,
      width: 32,
      classCount: layout.classCount,
      classNames: [...classNames],
    };
  };
  return { train: build(layout.train), test: build(layout.test), location };
}
