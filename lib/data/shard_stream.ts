/**
 * Reading a packed data set ({@link packImageList}) one shard at a time, so that a data set far
 * larger than memory (ImageNet-LT at 256 is about 30 GB) streams through training: at most the
 * shard being consumed plus `prefetch` shards being read are held at once.
 *
 * Epoch order with an {@link Rng}: the shards in a seeded order, and the rows of each shard in a
 * seeded order (a two-level shuffle: the price of bounded memory is that rows of one shard stay
 * together in an epoch). Without one: the pack's order.
 *
 * Every row carries `index`, its row in the whole pack (shards in order): the `index` column a
 * feature dump gets, which {@link packRowLocation} turns back into shard, row, path and line.
 *
 * @module
 */

import { joinPath } from "./_find.ts";
import { readWhole } from "./_read_at.ts";
import type { Rng } from "./rng.ts";
import { decodeShard, type PackedImage, type PackManifest, readManifest } from "./shards.ts";

/**
 * A row as the stream yields it.
 *
 * @example
 * ```ts
 * import type { StreamRow } from "./shard_stream.ts";
 * const where = (r: StreamRow) => `${r.shard}:${r.row}`;
 * ```
 */
export interface StreamRow extends PackedImage {
  /** Row in the whole pack. */
  index: number;
  /** Shard index. */
  shard: number;
  /** Row inside the shard. */
  row: number;
}

/**
 * Where pack row `index` lives.
 *
 * @param manifest The pack's manifest.
 * @param index A row of the whole pack.
 * @returns The shard index, its file and the row inside it.
 * @throws {RangeError} For an index outside the pack.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { packRowLocation } from "./shard_stream.ts";
 * const shard = (file: string, rows: number) =>
 *   ({ file, rows, bytes: 0, sha256: "", firstEntry: 0, endEntry: 0 });
 * const m = { shards: [shard("a", 3), shard("b", 2)] };
 * deepEqual(packRowLocation(m, 4), { shard: 1, file: "b", row: 1 });
 * ```
 */
export function packRowLocation(
  manifest: Pick<PackManifest, "shards">,
  index: number,
): { shard: number; file: string; row: number } {
  let first = 0;
  for (let k = 0; k < manifest.shards.length; k++) {
    const s = manifest.shards[k];
    if (index >= first && index < first + s.rows) {
      return { shard: k, file: s.file, row: index - first };
    }
    first += s.rows;
  }
  throw new RangeError(
    `Cannot locate pack row ${index}: the pack has ${first} rows (0..${first - 1})`,
  );
}

/**
 * A finished pack, read shard by shard.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { encodePng } from "./_png.ts";
 * import { packImageList } from "./pack.ts";
 * import { ShardStream } from "./shard_stream.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.writeFile(`${root}/a.png`, encodePng(new Uint8Array(4 * 4 * 3), 4, 4, 3));
 * await Deno.writeTextFile(`${root}/l.txt`, "a.png 0\na.png 1\n");
 * await packImageList({ list: `${root}/l.txt`, root, size: 2, out: `${root}/p`, workers: 1 });
 * const stream = await ShardStream.open(`${root}/p`);
 * let n = 0;
 * for await (const row of stream.epoch()) n += row.pixels.length;
 * equal(n, 2 * 2 * 2 * 3);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export class ShardStream {
  /** The pack folder. */
  readonly dir: string;
  /** Its manifest. */
  readonly manifest: PackManifest;
  /** Rows in the pack. */
  readonly rows: number;
  #held = 0;
  #maxHeld = 0;

  private constructor(dir: string, manifest: PackManifest) {
    this.dir = dir;
    this.manifest = manifest;
    this.rows = manifest.shards.reduce((n, s) => n + s.rows, 0);
  }

  /**
   * Opens a finished pack.
   *
   * @param dir The pack folder.
   * @returns The stream.
   * @throws {Deno.errors.NotFound} Without a manifest; {@link RangeError} for an unfinished pack.
   */
  static async open(dir: string): Promise<ShardStream> {
    const manifest = await readManifest(dir);
    if (!manifest) {
      throw new Deno.errors.NotFound(
        `Cannot open pack ${dir}: it has no manifest.json; make it with deno task pack`,
      );
    }
    if (!manifest.done) {
      throw new RangeError(
        `Cannot open pack ${dir}: it is unfinished (${manifest.shards.length} shards so far); ` +
          "rerun the same deno task pack command to finish it",
      );
    }
    return new ShardStream(dir, manifest);
  }

  /** Shards being read or read and not yet passed by the consumer (current and prefetched). */
  get held(): number {
    return this.#held;
  }

  /** The most shards held at once so far. */
  get maxHeld(): number {
    return this.#maxHeld;
  }

  async #read(k: number): Promise<PackedImage[]> {
    const file = this.manifest.shards[k].file;
    // Counted from the start of the read: its buffer is memory from then on.
    this.#held++;
    this.#maxHeld = Math.max(this.#maxHeld, this.#held);
    const bytes = await readWhole(joinPath(this.dir, file));
    const rows = decodeShard(bytes, file);
    if (rows.length !== this.manifest.shards[k].rows) {
      throw new RangeError(
        `Cannot read ${file}: ${rows.length} rows but the manifest says ` +
          `${this.manifest.shards[k].rows}; the pack is damaged, pack it again`,
      );
    }
    return rows;
  }

  /**
   * One pass over every row. A row's pixels view its shard's bytes: copy them to keep them past
   * the shard (the next shards are read while the current one is consumed).
   *
   * @param options `rng` for a seeded shard and row order; `prefetch` shards read ahead (default
   *   1, so at most 2 are held); `keep`, by pack row, 1 for the rows to yield (absent: all), so
   *   that a source made of part of a pack (a training set whose tuning rows were drawn out)
   *   streams in the same order with the other rows left out.
   * @returns The rows.
   */
  async *epoch(
    options: { rng?: Rng; prefetch?: number; keep?: Uint8Array } = {},
  ): AsyncGenerator<StreamRow> {
    const prefetch = options.prefetch ?? 1;
    const keep = options.keep;
    if (keep && keep.length !== this.rows) {
      throw new RangeError(
        `Cannot stream ${this.dir}: keep has ${keep.length} entries but the pack has ${this.rows} rows`,
      );
    }
    if (!Number.isInteger(prefetch) || prefetch < 0 || prefetch > 16) {
      throw new RangeError(`Cannot stream ${this.dir}: prefetch ${prefetch} must be in 0..16`);
    }
    const count = this.manifest.shards.length;
    const order = options.rng
      ? options.rng.permutation(count)
      : Int32Array.from({ length: count }, (_, k) => k);
    const firsts = new Int32Array(count);
    for (let k = 1; k < count; k++) firsts[k] = firsts[k - 1] + this.manifest.shards[k - 1].rows;
    const ahead: Promise<PackedImage[]>[] = [];
    for (let j = 0; j < Math.min(prefetch, count); j++) ahead.push(this.#read(order[j]));
    try {
      for (let j = 0; j < count; j++) {
        const k = order[j];
        const rows = ahead.length > 0 ? await ahead.shift()! : await this.#read(k);
        if (j + prefetch < count && prefetch > 0) ahead.push(this.#read(order[j + prefetch]));
        const within = options.rng ? options.rng.permutation(rows.length) : null;
        try {
          for (let i = 0; i < rows.length; i++) {
            const r = within ? within[i] : i;
            if (keep && !keep[firsts[k] + r]) continue;
            yield { ...rows[r], index: firsts[k] + r, shard: k, row: r };
          }
        } finally {
          this.#held--;
        }
      }
    } finally {
      // A consumer that stops early (stage 1 drops the last partial batch) leaves reads ahead
      // that nobody will consume: they are released once they finish.
      for (const read of ahead) read.then(() => this.#held--, () => this.#held--);
    }
  }
}
