/**
 * Packing an image list once into Arrow shards ({@link encodeShard}) so training reads pixels,
 * not JPEGs: every core decodes and resizes (Web Workers running `_pack_worker.ts`), the main
 * thread writes shards in list order, each atomically, then the manifest.
 *
 * Resume: a rerun with the same settings verifies every finished shard by its SHA-256, keeps the
 * good ones and redoes from the first missing or damaged one; a shard being written when the
 * process died exists only as a temporary (`.shard-00003.arrow.PID.partial`), which is removed.
 * A finished pack is never rewritten.
 *
 * @module
 */

import { sha256Hex } from "../train/checkpoint.ts";
import { removeStaleTemporaries, writeFileAtomic } from "../io/_atomic.ts";
import { dirExists, joinPath } from "./_find.ts";
import { jpegDecoderName } from "./decode.ts";
import {
  checkListFiles,
  type ImageListEntry,
  listClassCounts,
  type ListProblem,
  parseImageList,
} from "./image_list.ts";
import {
  encodeShard,
  MANIFEST,
  type PackedImage,
  type PackManifest,
  type PackSettings,
  readManifest,
  shardName,
  type ShardRecord,
} from "./shards.ts";

/** The largest shard bound: files stay under 1 GiB with room for paths and the footer. */
export const MAX_SHARD_MIB = 1000;

/**
 * Progress of a pack.
 *
 * @example
 * ```ts
 * import type { PackProgress } from "./pack.ts";
 * const line = (p: PackProgress) => `${p.done}/${p.total} ${p.imagesPerSecond.toFixed(0)}/s`;
 * ```
 */
export interface PackProgress {
  /** Entries packed (or skipped) so far, including those of kept shards. */
  done: number;
  /** Entries in all. */
  total: number;
  /** Images per second in this process. */
  imagesPerSecond: number;
  /** Estimated seconds left. */
  secondsLeft: number;
  /** Finished shards. */
  shards: number;
}

/**
 * Options of {@link packImageList}.
 *
 * @example
 * ```ts
 * import type { PackOptions } from "./pack.ts";
 * const o: PackOptions = { list: "train.txt", root: "/imagenet", size: 256, out: "data/in-lt" };
 * ```
 */
export interface PackOptions {
  /** The list file. */
  list: string;
  /** The folder the list's paths are relative to. */
  root: string;
  /** S: the shorter side after resizing. */
  size: number;
  /** The pack folder (created; must be empty or hold a pack of the same settings). */
  out: string;
  /** Bound on a shard's pixel and path bytes, in MiB (default 512, at most 1000). */
  shardMiB?: number;
  /** Decoding workers (default: every core). */
  workers?: number;
  /** Skip (and list) bad lines, missing files and undecodable images instead of failing. */
  skipBad?: boolean;
  /** Called about twice a second and after each shard. */
  onProgress?: (p: PackProgress) => void;
  /** Called after each shard is written (and when kept on resume, with `kept` true). */
  onShard?: (record: ShardRecord, kept: boolean) => void;
}

type WorkerReply = {
  id: number;
  pixels?: Uint8Array;
  width?: number;
  height?: number;
  error?: string;
};

function checkOptions(o: PackOptions): number {
  if (!Number.isInteger(o.size) || o.size < 1 || o.size > 4096) {
    throw new RangeError(
      `Cannot pack: --size ${o.size} must be an integer in 1..4096 (256 is usual)`,
    );
  }
  const mib = o.shardMiB ?? 512;
  if (!(mib > 0 && mib <= MAX_SHARD_MIB)) {
    throw new RangeError(
      `Cannot pack: --shard-mib ${mib} must be above 0 and at most ${MAX_SHARD_MIB} (shards stay under 1 GiB)`,
    );
  }
  const workers = o.workers ?? navigator.hardwareConcurrency;
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) {
    throw new RangeError(`Cannot pack: --workers ${workers} must be an integer in 1..256`);
  }
  return workers;
}

/** Finished shards that are still intact, in order, up to the first missing or damaged one. */
async function keptShards(out: string, manifest: PackManifest): Promise<ShardRecord[]> {
  const kept: ShardRecord[] = [];
  for (const record of manifest.shards) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(joinPath(out, record.file));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) break;
      throw error;
    }
    if (bytes.length !== record.bytes || await sha256Hex(bytes) !== record.sha256) break;
    kept.push(record);
  }
  return kept;
}

function sameSettings(a: PackSettings, b: PackSettings): string | undefined {
  for (const key of Object.keys(a) as (keyof PackSettings)[]) {
    if (a[key] !== b[key]) {
      return `${key} was ${JSON.stringify(a[key])}, now ${JSON.stringify(b[key])}`;
    }
  }
  return undefined;
}

/**
 * Pack an image list into Arrow shards (see the module doc and `lib/data/shards.ts`). Bad lines
 * and missing files are found before any decoding; an undecodable image stops the pack with its
 * line and path (finished shards are kept for a rerun), unless `skipBad`.
 *
 * @param options What to pack, where, how.
 * @returns The final manifest.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { encodePng } from "./_png.ts";
 * import { packImageList } from "./pack.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.writeFile(`${root}/a.png`, encodePng(new Uint8Array(4 * 6 * 3), 6, 4, 3));
 * await Deno.writeTextFile(`${root}/list.txt`, "a.png 1\n");
 * const m = await packImageList({ list: `${root}/list.txt`, root, size: 2, out: `${root}/p`, workers: 1 });
 * equal(m.done && m.shards[0].rows, 1);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function packImageList(options: PackOptions): Promise<PackManifest> {
  const workerCount = checkOptions(options);
  const { out, root, size } = options;
  const skip = { skipBad: options.skipBad };
  const listBytes = await Deno.readFile(options.list).catch((error) => {
    throw error instanceof Deno.errors.NotFound
      ? new Deno.errors.NotFound(`Cannot read list ${options.list}: the file does not exist`)
      : error;
  });
  if (!dirExists(root)) {
    throw new Deno.errors.NotFound(
      `Cannot pack ${options.list}: --root ${root} is not a folder; give the folder the list's ` +
        "paths are relative to",
    );
  }
  const list = parseImageList(new TextDecoder().decode(listBytes), options.list, skip);
  await checkListFiles(list, root, skip);
  const entries = list.entries;
  if (entries.length === 0) throw new RangeError(`Cannot pack ${options.list}: it lists no image`);
  const settings: PackSettings = {
    list: options.list,
    listSha256: await sha256Hex(listBytes),
    root,
    size,
    shardBytes: Math.floor((options.shardMiB ?? 512) * 1024 * 1024),
  };
  await Deno.mkdir(out, { recursive: true });
  await removeStaleTemporaries(out);
  const previous = await readManifest(out);
  let shards: ShardRecord[] = [];
  if (previous) {
    const diff = sameSettings(previous.settings, settings);
    if (diff) {
      throw new RangeError(
        `Cannot resume the pack in ${out}: it was made with other settings (${diff}); use a new ` +
          "--out, or the same --list, --root, --size and --shard-mib",
      );
    }
    if (previous.done && (await keptShards(out, previous)).length === previous.shards.length) {
      return previous;
    }
    shards = await keptShards(out, previous);
    for (const r of shards) options.onShard?.(r, true);
  } else {
    const present = [...Deno.readDirSync(out)].map((e) => e.name);
    if (present.length > 0) {
      throw new RangeError(
        `Cannot pack into ${out}: it holds ${present.slice(0, 3).join(", ")} but no ` +
          `${MANIFEST}; give an empty or new folder (a finished result is never overwritten)`,
      );
    }
  }
  const manifest: PackManifest = {
    format: "ltkit-pack-1",
    settings,
    classCount: list.classCount,
    classCounts: [...listClassCounts(entries, list.classCount)],
    entries: entries.length,
    shards,
    skipped: [],
    done: false,
  };
  const decodeSkips = (): ListProblem[] => shards.flatMap((s) => s.skipped ?? []);
  const writeManifest = async () => {
    manifest.skipped = [...list.problems, ...decodeSkips()];
    await writeFileAtomic(
      joinPath(out, MANIFEST),
      JSON.stringify(manifest, null, 1),
      "pack manifest",
    );
  };
  await writeManifest();

  const start = shards.at(-1)?.endEntry ?? 0;
  const started = performance.now();
  let lastReport = 0;
  const report = (done: number) => {
    const seconds = (performance.now() - started) / 1000;
    const rate = (done - start) / Math.max(seconds, 1e-3);
    options.onProgress?.({
      done,
      total: entries.length,
      imagesPerSecond: rate,
      secondsLeft: rate > 0 ? (entries.length - done) / rate : Infinity,
      shards: shards.length,
    });
  };

  const pool = new DecoderPool(workerCount, size);
  try {
    const window = 4 * workerCount;
    const inFlight = new Map<number, Promise<WorkerReply>>();
    const submit = (i: number) => {
      if (i < entries.length) {
        inFlight.set(i, pool.decode(i, joinPath(root, entries[i].path), entries[i].path));
      }
    };
    for (let i = start; i < start + window; i++) submit(i);
    let rows: PackedImage[] = [], bytes = 0, first = start, skipped: ListProblem[] = [];
    const flush = async (end: number) => {
      const k = shards.length;
      const file = shardName(k);
      const data = encodeShard(rows, { "ltkit.list": settings.list, "ltkit.size": String(size) });
      await writeFileAtomic(joinPath(out, file), data, "image shard");
      const record: ShardRecord = {
        file,
        rows: rows.length,
        bytes: data.length,
        sha256: await sha256Hex(data),
        firstEntry: first,
        endEntry: end,
        ...(skipped.length ? { skipped } : {}),
      };
      shards.push(record);
      await writeManifest();
      options.onShard?.(record, false);
      rows = [];
      bytes = 0;
      first = end;
      skipped = [];
    };
    for (let i = start; i < entries.length; i++) {
      const reply = await inFlight.get(i)!;
      inFlight.delete(i);
      submit(i + window);
      const e: ImageListEntry = entries[i];
      if (reply.error !== undefined) {
        if (!options.skipBad) {
          throw new SyntaxError(
            `Cannot pack ${options.list}: line ${e.line}: ${e.path}: ${reply.error}; the ` +
              `${shards.length} finished shards are kept, so fix or remove the image and rerun, ` +
              "or pass --skip-bad to skip (and list) undecodable images",
          );
        }
        skipped.push({ line: e.line, path: e.path, reason: reply.error });
        continue;
      }
      const image: PackedImage = {
        pixels: reply.pixels!,
        height: reply.height!,
        width: reply.width!,
        label: e.label,
        path: e.path,
        line: e.line,
      };
      const cost = image.pixels.length + e.path.length + 16;
      if (rows.length > 0 && bytes + cost > settings.shardBytes) await flush(i);
      rows.push(image);
      bytes += cost;
      if (performance.now() - lastReport > 500) {
        lastReport = performance.now();
        report(i + 1);
      }
    }
    if (rows.length > 0 || skipped.length > 0) await flush(entries.length);
    manifest.done = true;
    await writeManifest();
    await removeLeftTemporaries(out);
    report(entries.length);
  } finally {
    pool.close();
  }
  return manifest;
}

/**
 * Removes the temporaries of pack files (shards, manifest) that other processes left. At start,
 * {@link removeStaleTemporaries} keeps one written just before this process started (it cannot
 * tell a killed writer from a live one without /proc); once the pack is done every such file is
 * final, so any other writer's temporary of one is garbage.
 */
async function removeLeftTemporaries(out: string): Promise<void> {
  for await (const e of Deno.readDir(out)) {
    const m = /^\.(shard-\d{5}\.arrow|manifest\.json)\.(\d+)\.partial$/.exec(e.name);
    if (m && Number(m[2]) !== Deno.pid) await Deno.remove(joinPath(out, e.name)).catch(() => {});
  }
}

/** Web Workers that decode and resize; replies are matched to requests by id. */
class DecoderPool {
  readonly #workers: Worker[];
  readonly #pending = new Map<number, (reply: WorkerReply) => void>();
  readonly #size: number;
  #next = 0;

  constructor(count: number, size: number) {
    this.#size = size;
    this.#workers = Array.from({ length: count }, () => {
      const w = new Worker(new URL("./_pack_worker.ts", import.meta.url), { type: "module" });
      w.onmessage = (event: MessageEvent<WorkerReply>) => {
        const done = this.#pending.get(event.data.id);
        this.#pending.delete(event.data.id);
        done?.(event.data);
      };
      w.onerror = (event) => {
        event.preventDefault();
        for (const [id, done] of this.#pending) {
          done({ id, error: `decoder worker failed: ${event.message}` });
        }
        this.#pending.clear();
      };
      return w;
    });
  }

  decode(id: number, file: string, name: string): Promise<WorkerReply> {
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#workers[this.#next++ % this.#workers.length].postMessage({
        id,
        file,
        name,
        size: this.#size,
      });
    });
  }

  close(): void {
    for (const w of this.#workers) w.terminate();
  }
}

/**
 * The decoder line a pack prints first: which JPEG decoder, and a warning when it is the slow
 * WebAssembly fallback.
 *
 * @returns One line, or two with the warning.
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { decoderBanner } from "./pack.ts";
 * ok(decoderBanner().startsWith("JPEG decoder: "));
 * ```
 */
export function decoderBanner(): string {
  const name = jpegDecoderName();
  return `JPEG decoder: ${name}` +
    (name.startsWith("@jsquash")
      ? "\nWARNING: the WebAssembly fallback is 3-5 times slower than libjpeg-turbo; install " +
        "libturbojpeg0 (bash scripts/setup.sh) and run with --allow-ffi"
      : "");
}
