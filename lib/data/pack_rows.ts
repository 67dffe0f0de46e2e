/**
 * Random access to the rows of a pack ({@link packImageList}), for what streaming shard by shard
 * ({@link ShardStream}) cannot give: the class-balanced, square-root and progressive samplers,
 * which draw any image at any step, and a subset of a pack read in order (a tuning set drawn
 * from the training pack).
 *
 * Opening reads only the small columns of every shard (label, height, width, line and the
 * offsets of the pixels), located through the Arrow IPC footer and the record batch's metadata:
 * about 24 bytes per row in memory, never the pixels. A row's pixels are then read by position
 * (`pread`), so an epoch in any order holds only the rows being read ({@link PackRows.sequence})
 * and what the consumer keeps (one batch), whatever the pack's size.
 *
 * @module
 */

import { open } from "node:fs/promises";
import { arrow, ArrowFooter } from "../_deps.ts";
import { joinPath } from "./_find.ts";
import { readAt } from "./_read_at.ts";
import type { Rng } from "./rng.ts";
import { createSampler, type SamplerKind } from "./sampler.ts";
import { packRowLocation, ShardStream } from "./shard_stream.ts";
import { type PackManifest, SHARD_FORMAT } from "./shards.ts";

/**
 * A shard's small columns and where each row's pixels are in the file.
 *
 * @example
 * ```ts
 * import type { ShardColumns } from "./pack_rows.ts";
 * const bytes = (c: ShardColumns, i: number) => c.heights[i] * c.widths[i] * 3;
 * ```
 */
export interface ShardColumns {
  /** Rows. */
  rows: number;
  /** Classes, (rows). */
  labels: Int32Array;
  /** Image heights, (rows). */
  heights: Int32Array;
  /** Image widths, (rows). */
  widths: Int32Array;
  /** 1-based list lines, (rows). */
  lines: Int32Array;
  /** Byte position of each row's pixels in the file, (rows). */
  pixelStart: Float64Array;
}

const SHARD_COLUMNS: Record<string, "binary" | "int32" | "utf8"> = {
  image: "binary",
  height: "int32",
  width: "int32",
  label: "int32",
  path: "utf8",
  line: "int32",
};

const isInt32 = (t: arrow.DataType) => arrow.DataType.isInt(t) && t.bitWidth === 32 && t.isSigned;
const kindOf = (t: arrow.DataType) =>
  arrow.DataType.isBinary(t)
    ? "binary"
    : arrow.DataType.isUtf8(t)
    ? "utf8"
    : isInt32(t)
    ? "int32"
    : undefined;
/** Arrow buffers per column: validity, then offsets and data (binary, utf8) or data (int32). */
const bufferCount = (t: arrow.DataType) => kindOf(t) === "int32" ? 2 : 3;

/**
 * Reads a shard's small columns without its pixels: the footer, each record batch's metadata and
 * the label, height, width, line and pixel-offset buffers.
 *
 * @param path The shard file.
 * @returns The columns.
 * @throws {SyntaxError} For a file that is not an ltkit image shard.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { readShardColumns } from "./pack_rows.ts";
 * import { encodeShard } from "./shards.ts";
 * const file = await Deno.makeTempFile({ suffix: ".arrow" });
 * const image = (label: number) =>
 *   ({ pixels: new Uint8Array(6).fill(label), height: 1, width: 2, label, path: "a", line: 1 });
 * await Deno.writeFile(file, encodeShard([image(4), image(2)], {}));
 * const c = await readShardColumns(file);
 * deepEqual([c.rows, [...c.labels]], [2, [4, 2]]);
 * await Deno.remove(file);
 * ```
 */
export async function readShardColumns(path: string): Promise<ShardColumns> {
  const bad = (why: string) => new SyntaxError(`Cannot read shard ${path}: ${why}`);
  const file = await open(path, "r");
  try {
    const size = (await file.stat()).size;
    if (size < 18) throw bad(`${size} bytes is too short for an Arrow IPC file`);
    const tail = await readAt(file, size - 10, 10, path);
    const footerLength = new DataView(tail.buffer).getInt32(0, true);
    if (new TextDecoder().decode(tail.subarray(4)) !== "ARROW1") {
      throw bad("it does not end with ARROW1, so it is not an Arrow IPC file");
    }
    if (footerLength <= 0 || footerLength > size - 18) {
      throw bad(`footer length ${footerLength} does not fit a file of ${size} bytes`);
    }
    const footer = ArrowFooter.decode(
      await readAt(file, size - 10 - footerLength, footerLength, path),
    );
    const schema = footer.schema;
    const format = schema.metadata.get("ltkit.format");
    const first: Record<string, number> = {};
    const field: Record<string, number> = {};
    let buffer = 0;
    schema.fields.forEach((f, k) => {
      first[f.name] = buffer;
      field[f.name] = k;
      buffer += bufferCount(f.type);
    });
    const typeOk = (name: string) =>
      field[name] !== undefined && kindOf(schema.fields[field[name]].type) === SHARD_COLUMNS[name];
    const want = Object.keys(SHARD_COLUMNS);
    // Other columns are allowed when their buffers can be counted (to find the ones read).
    const known = schema.fields.every((f) => kindOf(f.type) !== undefined);
    if (format !== SHARD_FORMAT || !want.every(typeOk) || !known) {
      throw bad(
        `ltkit.format is ${JSON.stringify(format)} and columns are [${
          schema.fields.map((f) => `${f.name}: ${f.type}`).join(", ")
        }]; expected ${SHARD_FORMAT} with [${
          want.map((c) => `${c}: ${SHARD_COLUMNS[c]}`).join(", ")
        }]`,
      );
    }
    const parts: ShardColumns[] = [];
    for (const block of footer.recordBatches()) {
      const meta = await readAt(file, block.offset, block.metaDataLength, path);
      const view = new DataView(meta.buffer);
      // The continuation marker 0xFFFFFFFF precedes the length since Arrow 0.15.
      let at = 0, length = view.getInt32(0, true);
      if (length === -1) length = view.getInt32(at = 4, true);
      at += 4;
      const message = arrow.Message.decode(meta.subarray(at, at + length));
      if (!message.isRecordBatch()) throw bad(`block at byte ${block.offset} is no record batch`);
      const batch = message.header();
      if (batch.compression) throw bad("its record batch is compressed; pack it again");
      const n = batch.length;
      for (const name of want) {
        if (batch.nodes[field[name]].nullCount !== 0) throw bad(`column ${name} has nulls`);
      }
      const body = block.offset + block.metaDataLength;
      const ints = async (name: string, k: number, count: number) => {
        const region = batch.buffers[first[name] + k];
        if (region.length < 4 * count) {
          throw bad(`column ${name} has ${region.length} bytes for ${count} int32 values`);
        }
        return new Int32Array((await readAt(file, body + region.offset, 4 * count, path)).buffer);
      };
      const offsets = await ints("image", 1, n + 1);
      const dataAt = body + batch.buffers[first.image + 2].offset;
      const part: ShardColumns = {
        rows: n,
        labels: await ints("label", 1, n),
        heights: await ints("height", 1, n),
        widths: await ints("width", 1, n),
        lines: await ints("line", 1, n),
        pixelStart: new Float64Array(n),
      };
      for (let i = 0; i < n; i++) {
        part.pixelStart[i] = dataAt + offsets[i];
        const bytes = offsets[i + 1] - offsets[i];
        if (bytes !== part.heights[i] * part.widths[i] * 3) {
          throw bad(`row ${i} has ${bytes} bytes for ${part.heights[i]}x${part.widths[i]}x3`);
        }
      }
      parts.push(part);
    }
    return parts.length === 1 ? parts[0] : joinColumns(parts);
  } finally {
    await file.close();
  }
}

function joinColumns(parts: readonly ShardColumns[]): ShardColumns {
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const out: ShardColumns = {
    rows,
    labels: new Int32Array(rows),
    heights: new Int32Array(rows),
    widths: new Int32Array(rows),
    lines: new Int32Array(rows),
    pixelStart: new Float64Array(rows),
  };
  let at = 0;
  for (const p of parts) {
    for (const k of ["labels", "heights", "widths", "lines", "pixelStart"] as const) {
      out[k].set(p[k], at);
    }
    at += p.rows;
  }
  return out;
}

/**
 * A row read by position: the {@link StreamRow} fields but the path (the pack's `path` column
 * and {@link packRowLocation} give it from `index`).
 *
 * @example
 * ```ts
 * import type { PackRow } from "./pack_rows.ts";
 * const where = (r: PackRow) => `${r.shard}:${r.row} line ${r.line}`;
 * ```
 */
export interface PackRow {
  /** RGB, (height, width, 3), a copy owned by the caller. */
  pixels: Uint8Array;
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
  /** Class. */
  label: number;
  /** 1-based line in the list. */
  line: number;
  /** Row in the whole pack. */
  index: number;
  /** Shard index. */
  shard: number;
  /** Row inside the shard. */
  row: number;
}

/**
 * A finished pack with random access to its rows.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { encodePng } from "./_png.ts";
 * import { packImageList } from "./pack.ts";
 * import { PackRows } from "./pack_rows.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.writeFile(`${root}/a.png`, encodePng(new Uint8Array(4 * 4 * 3), 4, 4, 3));
 * await Deno.writeTextFile(`${root}/l.txt`, "a.png 0\na.png 1\na.png 2\n");
 * await packImageList({ list: `${root}/l.txt`, root, size: 2, out: `${root}/p`, workers: 1 });
 * const rows = await PackRows.open(`${root}/p`);
 * const got = [];
 * for await (const r of rows.sequence(Int32Array.of(2, 0, 2))) got.push([r.label, r.line]);
 * deepEqual(got, [[2, 3], [0, 1], [2, 3]]);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export class PackRows {
  /** The pack folder. */
  readonly dir: string;
  /** Its manifest. */
  readonly manifest: PackManifest;
  /** Rows in the pack. */
  readonly rows: number;
  /** Class of every pack row, (rows). */
  readonly labels: Int32Array;
  /** List line of every pack row, (rows). */
  readonly lines: Int32Array;
  readonly #heights: Int32Array;
  readonly #widths: Int32Array;
  readonly #start: Float64Array;
  #inFlight = 0;
  #maxInFlight = 0;

  private constructor(dir: string, manifest: PackManifest, columns: ShardColumns[]) {
    this.dir = dir;
    this.manifest = manifest;
    const all = joinColumns(columns);
    this.rows = all.rows;
    this.labels = all.labels;
    this.lines = all.lines;
    this.#heights = all.heights;
    this.#widths = all.widths;
    this.#start = all.pixelStart;
  }

  /**
   * Opens a finished pack and reads the small columns of every shard.
   *
   * @param dir The pack folder.
   * @returns The reader.
   * @throws {Deno.errors.NotFound} Without a manifest; {@link RangeError} for an unfinished pack
   *   or a shard whose rows differ from the manifest's.
   */
  static async open(dir: string): Promise<PackRows> {
    const { manifest } = await ShardStream.open(dir);
    const columns: ShardColumns[] = [];
    for (const s of manifest.shards) {
      const c = await readShardColumns(joinPath(dir, s.file));
      if (c.rows !== s.rows) {
        throw new RangeError(
          `Cannot read ${joinPath(dir, s.file)}: ${c.rows} rows but the manifest says ${s.rows}; ` +
            "the pack is damaged, pack it again",
        );
      }
      columns.push(c);
    }
    return new PackRows(dir, manifest, columns);
  }

  /** Rows being read and not yet handed to the consumer. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** The most rows in flight at once so far. */
  get maxInFlight(): number {
    return this.#maxInFlight;
  }

  /**
   * Reads one row.
   *
   * @param index A row of the whole pack.
   * @returns The row (its pixels a fresh copy).
   * @throws {RangeError} For an index outside the pack.
   */
  async read(index: number): Promise<PackRow> {
    if (!Number.isInteger(index) || index < 0 || index >= this.rows) {
      throw new RangeError(
        `Cannot read row ${index} of the pack ${this.dir}: it has rows 0..${this.rows - 1}`,
      );
    }
    const { shard, row, file: name } = packRowLocation(this.manifest, index);
    const file = joinPath(this.dir, name);
    const height = this.#heights[index], width = this.#widths[index];
    this.#inFlight++;
    this.#maxInFlight = Math.max(this.#maxInFlight, this.#inFlight);
    try {
      // One open per read keeps nothing between reads; an open costs microseconds beside the
      // read of a whole image.
      const handle = await open(file, "r");
      let pixels: Uint8Array;
      try {
        pixels = await readAt(handle, this.#start[index], height * width * 3, file);
      } finally {
        await handle.close();
      }
      return {
        pixels,
        height,
        width,
        label: this.labels[index],
        line: this.lines[index],
        index,
        shard,
        row,
      };
    } finally {
      this.#inFlight--;
    }
  }

  /**
   * The rows `indices` in that order, reading up to `ahead` of them at once: at most `ahead`
   * rows are held besides those the consumer keeps.
   *
   * @param indices Pack rows (repeats allowed).
   * @param options `ahead`: rows read ahead (default 8, 1..256).
   * @returns The rows.
   */
  async *sequence(
    indices: ArrayLike<number>,
    options: { ahead?: number } = {},
  ): AsyncGenerator<PackRow> {
    const ahead = options.ahead ?? 8;
    if (!Number.isInteger(ahead) || ahead < 1 || ahead > 256) {
      throw new RangeError(`Cannot read rows of ${this.dir}: ahead ${ahead} must be in 1..256`);
    }
    const queue: Promise<PackRow>[] = [];
    let next = 0;
    const fill = () => {
      while (queue.length < ahead && next < indices.length) queue.push(this.read(indices[next++]));
    };
    try {
      fill();
      while (queue.length > 0) {
        const row = await queue.shift()!;
        fill();
        yield row;
      }
    } finally {
      // A consumer that stops early leaves reads that nobody awaits: keep their errors quiet.
      for (const read of queue) read.catch(() => {});
    }
  }
}

/**
 * The pack rows of one training epoch drawn by a stage-1 sampler over a source made of the pack
 * rows `subset` (all rows when absent): exactly the sequence {@link createSampler} gives for the
 * source's labels in pack order and the same generator, mapped to pack rows, so a pack and an
 * in-memory set with the same labels train on the same index sequence.
 *
 * @param kind The sampler.
 * @param labels Class of every pack row.
 * @param subset The pack rows of the source, ascending (absent: every row).
 * @param rng The epoch's generator.
 * @param epoch t.
 * @param epochs T.
 * @returns Pack rows, (subset length).
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { Rng } from "./rng.ts";
 * import { createSampler } from "./sampler.ts";
 * import { sampledPackRows } from "./pack_rows.ts";
 * const labels = Int32Array.of(0, 0, 0, 1, 1, 2);
 * const subset = Int32Array.of(0, 1, 3, 5);
 * const rows = sampledPackRows("class", labels, subset, new Rng(1, 3), 0, 2);
 * const own = createSampler("class", Int32Array.of(0, 0, 1, 2), new Rng(1, 3)).epoch(0, 2);
 * deepEqual([...rows], [...own].map((i) => subset[i]));
 * ```
 */
export function sampledPackRows(
  kind: SamplerKind,
  labels: Int32Array,
  subset: Int32Array | undefined,
  rng: Rng,
  epoch: number,
  epochs: number,
): Int32Array {
  const own = subset ? subset.map((r) => labels[r]) : labels;
  const order = createSampler(kind, own, rng).epoch(epoch, epochs);
  return subset ? order.map((i) => subset[i]) : order;
}
