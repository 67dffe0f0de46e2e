/**
 * Packed image shards: images of different sizes in Arrow IPC files of bounded size, with a
 * manifest, as `deno task pack` writes them ({@link packImageList}) and training reads them
 * ({@link ShardStream}).
 *
 * Shard schema (one record batch per shard; readable by pyarrow, polars, arrow-js):
 *
 * | column   | type   | what                                                   |
 * | -------- | ------ | ------------------------------------------------------ |
 * | `image`  | binary | RGB pixels, (height, width, 3) row-major (HWC), uint8  |
 * | `height` | int32  | rows                                                   |
 * | `width`  | int32  | columns                                                |
 * | `label`  | int32  | class                                                  |
 * | `path`   | utf8   | the image's path as written in the list                |
 * | `line`   | int32  | its 1-based line number in the list file               |
 *
 * Schema metadata: `ltkit.format` = `image-shard-1`, `ltkit.layout` = `HWC`, `channels` = `3`.
 * In pyarrow: `np.frombuffer(t["image"][i].as_py(), np.uint8).reshape(h, w, 3)`.
 *
 * Manifest (`manifest.json`, rewritten atomically after each shard): the settings (list file
 * and its SHA-256, root, size, shard bound), class count and training counts from the list, and
 * per finished shard its file, rows, bytes, SHA-256 and the list entries it consumed; `done` once
 * every entry is packed; `skipped` lists images skipped with `--skip-bad`.
 *
 * @module
 */

import { arrow } from "../_deps.ts";
import type { ListProblem } from "./image_list.ts";

/** The `ltkit.format` of shards this module writes. */
export const SHARD_FORMAT = "image-shard-1";

/**
 * One packed image.
 *
 * @example
 * ```ts
 * import type { PackedImage } from "./shards.ts";
 * const one: PackedImage = {
 *   pixels: new Uint8Array(3), height: 1, width: 1, label: 0, path: "a.jpg", line: 1,
 * };
 * ```
 */
export interface PackedImage {
  /** RGB, (height, width, 3). */
  pixels: Uint8Array;
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
  /** Class. */
  label: number;
  /** Path as in the list. */
  path: string;
  /** 1-based line in the list. */
  line: number;
}

/**
 * Encode images as one shard (an Arrow IPC file, one record batch).
 *
 * @param images The rows, in order.
 * @param metadata Extra schema metadata.
 * @returns The file's bytes.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { decodeShard, encodeShard } from "./shards.ts";
 * const bytes = encodeShard([
 *   { pixels: new Uint8Array(6), height: 1, width: 2, label: 4, path: "x.png", line: 7 },
 * ]);
 * equal(decodeShard(bytes, "mem")[0].path, "x.png");
 * ```
 */
export function encodeShard(
  images: readonly PackedImage[],
  metadata: Record<string, string> = {},
): Uint8Array {
  const n = images.length;
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const im = images[i];
    if (im.pixels.length !== im.height * im.width * 3) {
      throw new RangeError(
        `Cannot encode shard: ${im.path} has ${im.pixels.length} bytes for ${im.height}x` +
          `${im.width}x3`,
      );
    }
    offsets[i + 1] = offsets[i] + im.pixels.length;
  }
  const data = new Uint8Array(offsets[n]);
  images.forEach((im, i) => data.set(im.pixels, offsets[i]));
  const encoder = new TextEncoder();
  const names = images.map((im) => encoder.encode(im.path));
  const nameOffsets = new Int32Array(n + 1);
  names.forEach((b, i) => (nameOffsets[i + 1] = nameOffsets[i] + b.length));
  const nameData = new Uint8Array(nameOffsets[n]);
  names.forEach((b, i) => nameData.set(b, nameOffsets[i]));
  const int = (f: (im: PackedImage) => number) =>
    arrow.makeData({ type: new arrow.Int32(), length: n, data: Int32Array.from(images, f) });
  const columns: [string, arrow.Data][] = [
    ["image", arrow.makeData({ type: new arrow.Binary(), length: n, valueOffsets: offsets, data })],
    ["height", int((im) => im.height)],
    ["width", int((im) => im.width)],
    ["label", int((im) => im.label)],
    [
      "path",
      arrow.makeData({
        type: new arrow.Utf8(),
        length: n,
        valueOffsets: nameOffsets,
        data: nameData,
      }),
    ],
    ["line", int((im) => im.line)],
  ];
  const fields = columns.map(([name, d]) => new arrow.Field(name, d.type, false));
  const meta = new Map(Object.entries({
    ...metadata,
    "ltkit.format": SHARD_FORMAT,
    "ltkit.layout": "HWC",
    channels: "3",
  }));
  const schema = new arrow.Schema(fields, meta);
  const batch = new arrow.RecordBatch(
    schema,
    arrow.makeData({
      type: new arrow.Struct(fields),
      length: n,
      nullCount: 0,
      children: columns.map(([, d]) => d),
    }),
  );
  return arrow.tableToIPC(new arrow.Table([batch]), "file");
}

/**
 * Decode a shard into its images (the pixels are views into the file's bytes).
 *
 * @param bytes The shard file.
 * @param name For messages.
 * @returns The rows, in order.
 * @throws {SyntaxError} For a file that is not an ltkit image shard.
 * @example
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { decodeShard } from "./shards.ts";
 * throws(() => decodeShard(new Uint8Array(8), "junk.arrow"), /Cannot read shard junk\.arrow/);
 * ```
 */
export function decodeShard(bytes: Uint8Array, name: string): PackedImage[] {
  let table: arrow.Table;
  try {
    table = arrow.tableFromIPC(bytes);
  } catch (error) {
    throw new SyntaxError(
      `Cannot read shard ${name}: not an Arrow IPC file (${(error as Error).message})`,
    );
  }
  const format = table.schema.metadata.get("ltkit.format");
  const want = ["image", "height", "width", "label", "path", "line"];
  const have = table.schema.fields.map((f) => f.name);
  if (format !== SHARD_FORMAT || want.some((c) => !have.includes(c))) {
    throw new SyntaxError(
      `Cannot read shard ${name}: ltkit.format is ${JSON.stringify(format)} and columns are ` +
        `[${have.join(", ")}]; expected ${SHARD_FORMAT} with [${want.join(", ")}]`,
    );
  }
  const out: PackedImage[] = [];
  const decoder = new TextDecoder();
  for (const batch of table.batches) {
    const col = (c: string) => batch.getChild(c)!.data[0];
    const image = col("image"), path = col("path");
    const int = (c: string) => {
      const d = col(c);
      return (i: number) => (d.values as Int32Array)[d.offset + i];
    };
    const [height, width, label, line] = ["height", "width", "label", "line"].map(int);
    const io = image.valueOffsets as Int32Array, po = path.valueOffsets as Int32Array;
    const iv = image.values as Uint8Array, pv = path.values as Uint8Array;
    for (let i = 0; i < batch.numRows; i++) {
      const pixels = iv.subarray(io[image.offset + i], io[image.offset + i + 1]);
      const h = height(i), w = width(i);
      if (pixels.length !== h * w * 3) {
        throw new RangeError(
          `Cannot read shard ${name}: row ${i} has ${pixels.length} bytes for ${h}x${w}x3`,
        );
      }
      out.push({
        pixels,
        height: h,
        width: w,
        label: label(i),
        path: decoder.decode(pv.subarray(po[path.offset + i], po[path.offset + i + 1])),
        line: line(i),
      });
    }
  }
  return out;
}

/**
 * A finished shard in the manifest.
 *
 * @example
 * ```ts
 * import type { ShardRecord } from "./shards.ts";
 * const r: ShardRecord = {
 *   file: "shard-00000.arrow", rows: 10, bytes: 4096, sha256: "ab", firstEntry: 0, endEntry: 10,
 * };
 * ```
 */
export interface ShardRecord {
  /** File name inside the pack folder. */
  file: string;
  /** Images in it. */
  rows: number;
  /** File size. */
  bytes: number;
  /** Hex SHA-256 of the file. */
  sha256: string;
  /** Index (in the list's usable entries) of its first entry. */
  firstEntry: number;
  /** One past its last entry (entries skipped as undecodable count too). */
  endEntry: number;
  /** Undecodable images skipped in its range (with --skip-bad). */
  skipped?: ListProblem[];
}

/**
 * The settings a pack was made with; a resume must use the same.
 *
 * @example
 * ```ts
 * import type { PackSettings } from "./shards.ts";
 * const s: PackSettings = {
 *   list: "train.txt", listSha256: "00", root: "/data", size: 256, shardBytes: 1 << 29,
 * };
 * ```
 */
export interface PackSettings {
  /** The list file. */
  list: string;
  /** Hex SHA-256 of its bytes. */
  listSha256: string;
  /** The image root. */
  root: string;
  /** The shorter side after resizing. */
  size: number;
  /** Bound on pixel bytes per shard. */
  shardBytes: number;
}

/**
 * `manifest.json` of a pack folder.
 *
 * @example
 * ```ts
 * import type { PackManifest } from "./shards.ts";
 * const total = (m: PackManifest) => m.shards.reduce((n, s) => n + s.rows, 0);
 * ```
 */
export interface PackManifest {
  /** `ltkit-pack-1`. */
  format: "ltkit-pack-1";
  /** How it was made. */
  settings: PackSettings;
  /** Largest label + 1 over the list. */
  classCount: number;
  /** Images per class in the list (before any skipping of undecodable images). */
  classCounts: number[];
  /** Usable entries in the list. */
  entries: number;
  /** Finished shards, in order. */
  shards: ShardRecord[];
  /** Lines and images skipped with --skip-bad. */
  skipped: ListProblem[];
  /** True once every entry is packed. */
  done: boolean;
}

/** The manifest's file name. */
export const MANIFEST = "manifest.json";

/**
 * The file name of shard `k`.
 *
 * @param k The shard index.
 * @returns `shard-00000.arrow` style.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { shardName } from "./shards.ts";
 * equal(shardName(12), "shard-00012.arrow");
 * ```
 */
export function shardName(k: number): string {
  return `shard-${String(k).padStart(5, "0")}.arrow`;
}

/**
 * Read a pack folder's manifest.
 *
 * @param dir The pack folder.
 * @returns The manifest, or undefined when there is none.
 * @throws {SyntaxError} For a manifest that is not one.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { readManifest } from "./shards.ts";
 * equal(await readManifest(await Deno.makeTempDir()), undefined);
 * ```
 */
export async function readManifest(dir: string): Promise<PackManifest | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/${MANIFEST}`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  let m: PackManifest;
  try {
    m = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`Cannot read ${dir}/${MANIFEST}: ${(error as Error).message}`);
  }
  if (m?.format !== "ltkit-pack-1" || !Array.isArray(m.shards)) {
    throw new SyntaxError(
      `Cannot read ${dir}/${MANIFEST}: format is ${JSON.stringify(m?.format)}, not ltkit-pack-1`,
    );
  }
  return m;
}
