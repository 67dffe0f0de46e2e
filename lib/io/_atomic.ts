/**
 * Atomic file writes, the one implementation every writer of the kit uses (checkpoints, configs,
 * metrics, reports, feature dumps, image tables): bytes go to a temporary sibling
 * `DIR/.NAME.PID.partial`, which is synced and renamed over `DIR/NAME`, so a reader sees the old
 * file or the new one, never half of one. On any failure the temporary is removed and the error
 * says what was being written where: `Cannot write checkpoint runs/x/checkpoint.bin: No space left
 * on device (os error 28)`, of the original error's class, with the original as `cause`.
 *
 * A process killed mid-write leaves its temporary behind; {@link removeStaleTemporaries} removes
 * those of processes that are gone when a folder is reused.
 *
 * Tests make the Nth write fail with {@link injectWriteFault}.
 *
 * @module
 */

/** The suffix of temporaries; the pid before it tells whose they are. */
const PARTIAL = ".partial";

/**
 * The temporary name of `path` for process `pid`: `DIR/.NAME.PID.partial`. Hidden, beside the
 * final file (so the rename stays on one file system), and tagged with the writer's pid so
 * {@link removeStaleTemporaries} can tell whether its writer is still running.
 *
 * @param path The final file name.
 * @param pid The writing process (default this one).
 * @returns The temporary name.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { temporaryPath } from "./_atomic.ts";
 * assert.equal(temporaryPath("runs/x/checkpoint.bin", 42), "runs/x/.checkpoint.bin.42.partial");
 * assert.equal(temporaryPath("run.json", 7), ".run.json.7.partial");
 * ```
 */
export function temporaryPath(path: string, pid: number = Deno.pid): string {
  const slash = path.lastIndexOf("/");
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${pid}${PARTIAL}`;
}

/** Temporaries this process has open: a second writer of one file would share its temporary. */
const writing = new Set<string>();

/** Errors already phrased as "Cannot write WHAT PATH: ...", so they are not wrapped twice. */
const phrased = new WeakSet<Error>();

/** Classes whose constructor takes (message, options); a wrapped error keeps one of these. */
const KEPT_CLASSES: ErrorConstructor[] = [
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  // Guarded: a browser bundle imports this module (through eval/metrics.ts) without running it.
  ...(Object.values(globalThis.Deno?.errors ?? {}) as ErrorConstructor[]),
];

/**
 * Rephrases a failure of writing `path` as `Cannot write WHAT PATH: REASON`, keeping the error's
 * class when it is a built-in or `Deno.errors` one (callers test for `Deno.errors.NotFound`), its
 * `code` (`ENOSPC`) and the original as `cause`. An error that already went through here is
 * returned as it is.
 *
 * @param what What was being written ("checkpoint", "metrics", ...).
 * @param path The final file name.
 * @param error What was thrown.
 * @returns The error to throw.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeError } from "./_atomic.ts";
 * const cause = new Deno.errors.PermissionDenied("Permission denied (os error 13)");
 * const error = writeError("metrics", "runs/x/metrics.json", cause);
 * assert.equal(
 *   error.message,
 *   "Cannot write metrics runs/x/metrics.json: Permission denied (os error 13)",
 * );
 * assert.ok(error instanceof Deno.errors.PermissionDenied);
 * assert.equal(error.cause, cause);
 * ```
 */
export function writeError(what: string, path: string, error: unknown): Error {
  if (error instanceof Error && phrased.has(error)) return error;
  return rephrase(`Cannot write ${what} ${path}`, error);
}

/** `HEAD: REASON`, of the error's class where it can be kept, with its code and cause. */
function rephrase(head: string, error: unknown): Error {
  const reason = error instanceof Error ? error.message : String(error);
  const Class = error instanceof Error &&
      KEPT_CLASSES.includes(error.constructor as ErrorConstructor)
    ? error.constructor as ErrorConstructor
    : Error;
  const wrapped = new Class(`${head}: ${reason}`, { cause: error });
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== undefined) Object.assign(wrapped, { code });
  phrased.add(wrapped);
  return wrapped;
}

/** A pending injected fault: the `failAt`-th matching write fails. */
let fault: { failAt: number; seen: number; path?: string | RegExp } | null = null;

/**
 * Options of {@link injectWriteFault}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { WriteFaultOptions } from "./_atomic.ts";
 * const options: WriteFaultOptions = { failAt: 2, path: /checkpoint\.bin$/ };
 * assert.equal(options.failAt, 2);
 * ```
 */
export interface WriteFaultOptions {
  /** Which write fails, counting from 1. */
  failAt: number;
  /** Count only writes to final paths that contain this string or match this pattern. */
  path?: string | RegExp;
}

/**
 * TEST ONLY: makes the `failAt`-th write through this module fail as a full disk does (an Error
 * "No space left on device (os error 28)" with code ENOSPC), after half of its bytes reached the
 * temporary file. A write is one {@link writeAll} call: one per {@link writeFileAtomic}, one per
 * {@link AtomicFile.write} of a streamed file (a feature dump: its schema, each batch, its
 * footer). The fault fires once; {@link resetWriteFault} cancels it.
 *
 * @param options Which write fails, and optionally which files count.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { injectWriteFault, resetWriteFault, writeFileAtomic } from "./_atomic.ts";
 * const dir = await Deno.makeTempDir();
 * injectWriteFault({ failAt: 2 });
 * try {
 *   await writeFileAtomic(`${dir}/a.txt`, "first", "example");
 *   await assert.rejects(
 *     () => writeFileAtomic(`${dir}/b.txt`, "second", "example"),
 *     { message: `Cannot write example ${dir}/b.txt: No space left on device (os error 28)` },
 *   );
 *   assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.txt"]); // no temporary
 * } finally {
 *   resetWriteFault();
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export function injectWriteFault(options: WriteFaultOptions): void {
  if (!Number.isInteger(options.failAt) || options.failAt < 1) {
    throw new RangeError(
      `Cannot inject a write fault: failAt ${options.failAt} is not an integer >= 1`,
    );
  }
  fault = { failAt: options.failAt, seen: 0, path: options.path };
}

/**
 * TEST ONLY: cancels a fault set by {@link injectWriteFault}.
 *
 * @example
 * ```ts
 * import { injectWriteFault, resetWriteFault, writeFileAtomic } from "./_atomic.ts";
 * injectWriteFault({ failAt: 1 });
 * resetWriteFault();
 * const path = await Deno.makeTempFile();
 * await writeFileAtomic(path, "fine", "example"); // does not fail
 * await Deno.remove(path);
 * ```
 */
export function resetWriteFault(): void {
  fault = null;
}

/** True when this write is the one a pending fault picked. */
function faultHits(path: string): boolean {
  if (fault === null) return false;
  const p = fault.path;
  if (p !== undefined && !(typeof p === "string" ? path.includes(p) : p.test(path))) return false;
  if (++fault.seen < fault.failAt) return false;
  fault = null;
  return true;
}

/**
 * Writes all of `bytes` to `file` (one `write` may take only part), given as one array or as
 * pieces. This is the write that {@link injectWriteFault} counts, once per call; errors are not
 * rephrased here.
 *
 * @param file An open file.
 * @param bytes The bytes, or pieces written one after the other.
 * @param path The final file the bytes are for (what a fault's `path` is matched against).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeAll } from "./_atomic.ts";
 * const path = await Deno.makeTempFile();
 * using file = await Deno.open(path, { write: true });
 * await writeAll(file, new Uint8Array([1, 2, 3]), path);
 * await writeAll(file, [new Uint8Array([4]), new Uint8Array([5, 6])], path);
 * assert.deepEqual(await Deno.readFile(path), new Uint8Array([1, 2, 3, 4, 5, 6]));
 * await Deno.remove(path);
 * ```
 */
export async function writeAll(
  file: Deno.FsFile,
  bytes: Uint8Array | readonly Uint8Array[],
  path: string,
): Promise<void> {
  const pieces = bytes instanceof Uint8Array ? [bytes] : bytes;
  const failing = faultHits(path);
  // A full disk takes part of the data before it fails.
  let budget = failing ? pieces.reduce((n, p) => n + p.length, 0) >> 1 : Infinity;
  for (const piece of pieces) {
    const end = Math.min(piece.length, budget);
    let done = 0;
    while (done < end) done += await file.write(piece.subarray(done, end));
    budget -= end;
  }
  if (failing) {
    throw Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });
  }
}

/**
 * A file being written under its temporary name: {@link AtomicFile.write} the bytes in as many
 * pieces as needed, then {@link AtomicFile.commit} (sync, rename into place) or
 * {@link AtomicFile.abort}. A failed write or commit removes the temporary itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AtomicFile } from "./_atomic.ts";
 * const dir = await Deno.makeTempDir();
 * const file = await AtomicFile.open(`${dir}/log.txt`, "log");
 * await file.write(new TextEncoder().encode("one "));
 * await file.write(new TextEncoder().encode("two"));
 * const names = [...Deno.readDirSync(dir)].map((e) => e.name);
 * assert.deepEqual(names, [`.log.txt.${Deno.pid}.partial`]);
 * await file.commit();
 * assert.equal(await Deno.readTextFile(`${dir}/log.txt`), "one two");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class AtomicFile {
  /** The final file name. */
  readonly path: string;
  /** What is written, for messages ("feature dump"). */
  readonly what: string;
  /** The temporary file, see {@link temporaryPath}. */
  readonly tempPath: string;
  #file: Deno.FsFile | null;
  #finished = false;

  private constructor(path: string, what: string, tempPath: string, file: Deno.FsFile) {
    this.path = path;
    this.what = what;
    this.tempPath = tempPath;
    this.#file = file;
  }

  /**
   * Creates (or truncates) the temporary file of `path`.
   *
   * @param path The final file name; its folder must exist.
   * @param what What is written, for messages.
   * @returns The open file.
   * @throws The open error, rephrased by {@link writeError}; an Error when this process is
   *   writing `path` already (both would share one temporary).
   */
  static async open(path: string, what: string): Promise<AtomicFile> {
    const tempPath = temporaryPath(path);
    if (writing.has(tempPath)) {
      throw new Error(`Cannot write ${what} ${path}: this process is writing it already`);
    }
    writing.add(tempPath);
    try {
      const file = await Deno.open(tempPath, { write: true, create: true, truncate: true });
      return new AtomicFile(path, what, tempPath, file);
    } catch (error) {
      writing.delete(tempPath);
      throw writeError(what, path, error);
    }
  }

  /** False once committed or aborted. */
  get open(): boolean {
    return !this.#finished;
  }

  /**
   * Appends bytes to the temporary file.
   *
   * @param bytes The next piece, or pieces (one write for {@link injectWriteFault}).
   * @throws The write error, rephrased; the temporary is removed first.
   */
  async write(bytes: Uint8Array | readonly Uint8Array[]): Promise<void> {
    const file = this.#handle("write to");
    try {
      await writeAll(file, bytes, this.path);
    } catch (error) {
      await this.abort();
      throw writeError(this.what, this.path, error);
    }
  }

  /**
   * Syncs the temporary file to disk and renames it to {@link AtomicFile.path}.
   *
   * @throws The sync, close or rename error, rephrased; the temporary is removed first.
   */
  async commit(): Promise<void> {
    const file = this.#handle("commit");
    try {
      await file.sync();
      file.close();
      this.#file = null;
      await Deno.rename(this.tempPath, this.path);
    } catch (error) {
      await this.abort();
      throw writeError(this.what, this.path, error);
    }
    this.#finish();
  }

  /** Closes and removes the temporary file; the final file is untouched. Safe to repeat. */
  async abort(): Promise<void> {
    if (this.#finished) return;
    try {
      this.#file?.close();
    } catch { /* already closed by a failed operation */ }
    this.#file = null;
    await Deno.remove(this.tempPath).catch(() => {});
    this.#finish();
  }

  #finish(): void {
    this.#finished = true;
    writing.delete(this.tempPath);
  }

  #handle(action: string): Deno.FsFile {
    if (this.#file === null) {
      throw new Error(`Cannot ${action} ${this.what} ${this.path}: it is already closed`);
    }
    return this.#file;
  }
}

/**
 * Writes a file atomically, streamed: `fill` writes the bytes in pieces to the temporary file,
 * which is then committed. If `fill` throws, the temporary is removed and its error passes
 * through unchanged (write errors are already rephrased by {@link AtomicFile.write}).
 *
 * @param path The final file name; its folder must exist.
 * @param what What is written, for messages.
 * @param fill Writes the content.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeAtomic } from "./_atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeAtomic(`${dir}/n.txt`, "numbers", async (file) => {
 *   for (const n of [1, 2, 3]) await file.write(new TextEncoder().encode(`${n}\n`));
 * });
 * assert.equal(await Deno.readTextFile(`${dir}/n.txt`), "1\n2\n3\n");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeAtomic(
  path: string,
  what: string,
  fill: (file: AtomicFile) => Promise<void>,
): Promise<void> {
  const file = await AtomicFile.open(path, what);
  try {
    await fill(file);
  } catch (error) {
    await file.abort();
    throw error;
  }
  await file.commit();
}

/**
 * Writes `data` (bytes, or text as UTF-8) to `path` atomically: a crash leaves the old file or
 * the new one, a failure leaves the old file and no temporary.
 *
 * @param path The final file name; its folder must exist.
 * @param data The content.
 * @param what What is written, for messages ("checkpoint", "config").
 * @throws The file system's error, rephrased by {@link writeError}.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFileAtomic } from "./_atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.bin`, new Uint8Array([1, 2, 3]), "example");
 * assert.deepEqual(await Deno.readFile(`${dir}/a.bin`), new Uint8Array([1, 2, 3]));
 * await assert.rejects(
 *   () => writeFileAtomic(`${dir}/missing/b.txt`, "text", "example"),
 *   (e) => e instanceof Deno.errors.NotFound && e.message.startsWith(`Cannot write example ${dir}/`),
 * );
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  what: string,
): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  await writeAtomic(path, what, (file) => file.write(bytes));
}

/**
 * The final name and pid of a temporary: this module's `.NAME.PID.partial`, or the older
 * `NAME.PID.partial` and `NAME.tmp-PID`; null for any other file.
 */
function parseTemporary(name: string): { of: string; pid: number } | null {
  const m = /^\.(.+)\.(\d+)\.partial$/.exec(name) ?? /^(.+)\.(\d+)\.partial$/.exec(name) ??
    /^(.+)\.tmp-(\d+)$/.exec(name);
  return m ? { of: m[1], pid: Number(m[2]) } : null;
}

/**
 * Files written within this long before the process started are kept by the age test: file
 * system clocks are coarse, and a false "stale" would delete a live write.
 */
const AGE_MARGIN_MS = 100;

/**
 * Whether `/proc/PID` tells if a process is alive. Deno grants `/proc` only with --allow-all,
 * so under the tasks' narrower permissions this is false and the age test decides.
 */
function procAvailable(): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    Deno.statSync(`/proc/${Deno.pid}`);
    return true;
  } catch {
    return false;
  }
}

/** True when `/proc` says the process is gone, false when alive, null when it cannot tell. */
function processGone(pid: number): boolean | null {
  try {
    Deno.statSync(`/proc/${pid}`);
    return false;
  } catch (error) {
    return error instanceof Deno.errors.NotFound ? true : null;
  }
}

/**
 * Options of {@link removeStaleTemporaries}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StaleOptions } from "./_atomic.ts";
 * const options: StaleOptions = { useProc: false };
 * assert.equal(options.useProc, false);
 * ```
 */
export interface StaleOptions {
  /** Only temporaries of this final file name (e.g. `train.arrow`); default all. */
  of?: string;
  /** Ask `/proc` whether a writer is alive (default: when `/proc` is readable). */
  useProc?: boolean;
}

/**
 * Removes, from `dir` (not its subfolders), the temporaries of writers that are gone: left by a
 * process killed mid-write, they would otherwise stay forever and fill the disk. Both this
 * module's names and the older `NAME.tmp-PID` and `NAME.PID.partial` are recognised.
 *
 * A temporary is stale when its pid is this process's but it is older than this process (an
 * earlier process had the same pid, as in containers); or, for another pid, when `/proc/PID` is
 * absent. Without `/proc` (Deno grants it only with --allow-all; other systems) another pid's
 * temporary is stale when it is older than this process: a writer that was running before this
 * process started and has not written since would lose its file (its commit then fails, loudly);
 * two runs writing into one folder at once are not supported anyway.
 *
 * @param dir The folder; a missing one holds nothing.
 * @param options Which file's temporaries, whether to use `/proc`.
 * @returns The names removed.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { removeStaleTemporaries, temporaryPath } from "./_atomic.ts";
 * const dir = await Deno.makeTempDir();
 * const mine = temporaryPath(`${dir}/a.bin`); // being written by this process
 * await Deno.writeTextFile(mine, "");
 * assert.deepEqual(await removeStaleTemporaries(dir), []);
 * await Deno.utime(mine, 0, 0); // older than this process: an earlier one with the same pid
 * assert.deepEqual(await removeStaleTemporaries(dir), [`.a.bin.${Deno.pid}.partial`]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function removeStaleTemporaries(
  dir: string,
  options: StaleOptions = {},
): Promise<string[]> {
  const useProc = options.useProc ?? procAvailable();
  const startedBefore = performance.timeOrigin - AGE_MARGIN_MS;
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return removed;
    throw error;
  }
  for (const entry of entries) {
    const temporary = entry.isFile ? parseTemporary(entry.name) : null;
    if (temporary === null || (options.of !== undefined && temporary.of !== options.of)) continue;
    const pid = temporary.pid;
    const path = `${dir}/${entry.name}`;
    let mtime: number;
    try {
      mtime = (await Deno.stat(path)).mtime?.getTime() ?? Infinity;
    } catch {
      continue; // gone meanwhile
    }
    const older = mtime < startedBefore;
    // Where /proc cannot tell (no permission), the age test decides.
    const stale = pid === Deno.pid || !useProc ? older : processGone(pid) ?? older;
    if (!stale) continue;
    try {
      await Deno.remove(path);
      removed.push(entry.name);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        throw rephrase(`Cannot remove the stale temporary ${path}`, error);
      }
    }
  }
  return removed.sort();
}
