/**
 * Downloads with SHA-256 (or, where only that is published, MD5) verification, progress, resume
 * of a partial file over HTTP Range, and an atomic rename: bytes go to `FILE.part`; only a
 * complete file whose hash matches is renamed to `FILE`. A dropped connection keeps the `.part`
 * file, and the next attempt (automatic, up to `retries`, or the next run) continues from where
 * it stopped.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { writeAll, writeError } from "../io/_atomic.ts";
import { DEFAULT_DOWNLOAD_DIR, FASHION_MNIST_FILES } from "./fashion_mnist.ts";
import { md5File } from "./_md5.ts";

/**
 * The official Fashion-MNIST address (zalandoresearch/fashion-mnist README).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FASHION_MNIST_BASE_URL } from "./download.ts";
 * assert.match(FASHION_MNIST_BASE_URL + "t10k-labels-idx1-ubyte.gz", /^https?:\/\/.+\/t10k-labels-idx1-ubyte\.gz$/);
 * ```
 */
export const FASHION_MNIST_BASE_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";

/**
 * SHA-256 of the official gzipped files at {@link FASHION_MNIST_BASE_URL}. The official README
 * publishes MD5s (8d4fb7e6..., 25c81989..., bef4ecab..., bb300cfd...); these SHA-256 values are
 * the ones two independent downloaders pin for the same files (batchup's `fashion_mnist.py` and
 * Connor Olding's `mnists`). Debian's package recompresses the files, so its .gz bytes differ
 * while the decompressed IDX data is the same.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FASHION_MNIST_SHA256 } from "./download.ts";
 * assert.equal(FASHION_MNIST_SHA256["train-labels-idx1-ubyte.gz"].length, 64);
 * ```
 */
export const FASHION_MNIST_SHA256: Readonly<Record<string, string>> = Object.freeze({
  "train-images-idx3-ubyte.gz": "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
  "train-labels-idx1-ubyte.gz": "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
  "t10k-images-idx3-ubyte.gz": "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
  "t10k-labels-idx1-ubyte.gz": "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
});

/**
 * One file of a {@link DatasetDownload}, with its published checksum.
 *
 * @example
 * ```ts
 * import type { DownloadEntry } from "./download.ts";
 * const entry: DownloadEntry = { name: "a.tar.gz", md5: "0".repeat(32) };
 * ```
 */
export interface DownloadEntry {
  /** The file name, appended to the base URL and to the folder. */
  name: string;
  /** SHA-256, lowercase hex, when known. */
  sha256?: string;
  /** MD5, lowercase hex, where that is all the publisher gives. */
  md5?: string;
}

/**
 * How to download one source: where from, where to, which files.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DATASET_DOWNLOADS, type DatasetDownload } from "./download.ts";
 * const cifar: DatasetDownload = DATASET_DOWNLOADS["cifar-10"];
 * assert.equal(cifar.baseUrl + cifar.files[0].name, "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz");
 * ```
 */
export interface DatasetDownload {
  /** The data set's name in messages. */
  title: string;
  /** The default destination folder, relative to the repository root. */
  dir: string;
  /** The official address the file names are appended to. */
  baseUrl: string;
  /** The files and their checksums. */
  files: readonly DownloadEntry[];
}

/**
 * The downloadable sources, keyed by source name. CIFAR's address and MD5 sums are the ones
 * published on www.cs.toronto.edu/~kriz/cifar.html for the binary versions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DATASET_DOWNLOADS } from "./download.ts";
 * assert.deepEqual(Object.keys(DATASET_DOWNLOADS), ["fashion-mnist", "cifar-10", "cifar-100"]);
 * ```
 */
export const DATASET_DOWNLOADS: Readonly<Record<string, Readonly<DatasetDownload>>> = Object
  .freeze({
    "fashion-mnist": {
      title: "Fashion-MNIST",
      dir: DEFAULT_DOWNLOAD_DIR,
      baseUrl: FASHION_MNIST_BASE_URL,
      files: Object.values(FASHION_MNIST_FILES).map((name) => ({
        name,
        sha256: FASHION_MNIST_SHA256[name],
      })),
    },
    "cifar-10": {
      title: "CIFAR-10",
      dir: "data/cifar-10",
      baseUrl: "https://www.cs.toronto.edu/~kriz/",
      files: [{ name: "cifar-10-binary.tar.gz", md5: "c32a1d4ab5d03f1284b67883e8d87530" }],
    },
    "cifar-100": {
      title: "CIFAR-100",
      dir: "data/cifar-100",
      baseUrl: "https://www.cs.toronto.edu/~kriz/",
      files: [{ name: "cifar-100-binary.tar.gz", md5: "03b5dce01913d631647c71ecec9e9cb8" }],
    },
  });

/**
 * A progress report.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DownloadProgress } from "./download.ts";
 * const show = (p: DownloadProgress) => `${p.file}: ${p.received}/${p.total ?? "?"}`;
 * assert.equal(show({ file: "a.gz", received: 10, total: 20, resumedFrom: 0, attempt: 0 }), "a.gz: 10/20");
 * ```
 */
export interface DownloadProgress {
  /** The file name (last path part of the destination). */
  file: string;
  /** Bytes of the file on disk so far, including a resumed part. */
  received: number;
  /** The full size when the server said it. */
  total?: number;
  /** Bytes that were already on disk when this attempt started (0 for a fresh download). */
  resumedFrom: number;
  /** The attempt number, from 0. */
  attempt: number;
}

/**
 * Options for {@link downloadFile}.
 *
 * @example
 * ```ts
 * import type { DownloadFileOptions } from "./download.ts";
 * const options: DownloadFileOptions = { sha256: "0".repeat(64), retries: 5, retryDelayMs: 1000 };
 * ```
 */
export interface DownloadFileOptions {
  /** The expected SHA-256, lowercase hex (give this or `md5`). */
  sha256?: string;
  /** The expected MD5, lowercase hex, for files whose publisher gives only that. */
  md5?: string;
  /** Called after every chunk written. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Extra attempts after a dropped connection or a 5xx (default 3); each one resumes. */
  retries?: number;
  /** Wait before a retry, multiplied by the attempt number (default 500 ms). */
  retryDelayMs?: number;
  /** The fetch to use (default the global one). */
  fetch?: typeof fetch;
}

/**
 * The outcome of {@link downloadFile}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DownloadResult } from "./download.ts";
 * const r: DownloadResult = { path: "data/a.gz", bytes: 10, cached: false, resumed: true };
 * assert.equal(r.resumed ? "resumed" : "fresh", "resumed");
 * ```
 */
export interface DownloadResult {
  /** The destination path. */
  path: string;
  /** Its size in bytes. */
  bytes: number;
  /** True when a valid file was already there and nothing was fetched. */
  cached: boolean;
  /** True when some attempt resumed a partial file. */
  resumed: boolean;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return -1;
    throw error;
  }
}

/**
 * SHA-256 of a file, read in 1 MiB chunks.
 *
 * @param path The file.
 * @returns Lowercase hex.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256File } from "./download.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "abc");
 * assert.equal(
 *   await sha256File(path),
 *   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 * );
 * await Deno.remove(path);
 * ```
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(1 << 20);
  for (;;) {
    const n = await file.read(buffer);
    if (n === null) break;
    hash.update(buffer.subarray(0, n));
  }
  return hash.digest("hex");
}

class RetryableError extends Error {}

/** One request that appends to `part`; throws RetryableError when a retry may help. */
async function attemptOnce(
  url: string,
  part: string,
  name: string,
  attempt: number,
  options: DownloadFileOptions,
): Promise<{ resumedFrom: number }> {
  let offset = Math.max(0, await fileSize(part));
  const headers = new Headers();
  if (offset > 0) headers.set("range", `bytes=${offset}-`);
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(url, { headers });
  } catch (error) {
    throw new RetryableError(`cannot connect (${(error as Error).message})`);
  }
  if (response.status === 416 && offset > 0) {
    await response.body?.cancel();
    return { resumedFrom: offset }; // the part already holds the whole file; verify it
  }
  if (!response.ok) {
    await response.body?.cancel();
    const message = `HTTP ${response.status} ${response.statusText}`;
    if (response.status >= 500) throw new RetryableError(message);
    throw new Error(`Cannot download ${url}: ${message}; check the address (--base-url)`);
  }
  let total: number | undefined;
  const length = Number(response.headers.get("content-length") ?? NaN);
  if (response.status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get("content-range") ?? "");
    if (!range || Number(range[1]) !== offset) {
      await response.body?.cancel();
      await Deno.remove(part).catch(() => {});
      throw new RetryableError(
        `server answered range ${response.headers.get("content-range")} for bytes=${offset}-`,
      );
    }
    if (range[3] !== "*") total = Number(range[3]);
  } else {
    offset = 0; // 200: the server ignored the range, start over
    if (Number.isFinite(length)) total = length;
  }
  if (total === undefined && Number.isFinite(length)) total = offset + length;
  const resumedFrom = offset;
  using file = await Deno.open(part, {
    write: true,
    create: true,
    append: offset > 0,
    truncate: offset === 0,
  }).catch(async (error) => {
    await response.body?.cancel();
    throw writeError("download", part, error);
  });
  let received = offset;
  options.onProgress?.({ file: name, received, total, resumedFrom, attempt });
  let failed: Error | null = null;
  try {
    for await (const chunk of response.body ?? []) {
      try {
        await writeAll(file, chunk, part);
      } catch (error) {
        failed = writeError("download", part, error);
        break;
      }
      received += chunk.length;
      options.onProgress?.({ file: name, received, total, resumedFrom, attempt });
    }
  } catch (error) {
    throw new RetryableError(
      `connection dropped after ${received}${total ? ` of ${total}` : ""} bytes ` +
        `(${(error as Error).message.split("\n")[0]})`,
    );
  }
  if (failed) {
    // A local failure (a full disk) is not retried, and its bytes are not kept to fill the disk.
    await Deno.remove(part).catch(() => {});
    throw failed;
  }
  if (total !== undefined && received < total) {
    throw new RetryableError(`connection closed after ${received} of ${total} bytes`);
  }
  return { resumedFrom };
}

/**
 * Download `url` to `dest` with SHA-256 verification, resume and an atomic rename.
 *
 * @param url The address.
 * @param dest The destination path; its folder must exist.
 * @param options Expected hash, progress callback, retries.
 * @returns What happened.
 * @throws {Error} "Cannot download URL: ..." on an HTTP error, on a connection dropped more often
 *   than `retries` (the `.part` file is kept: run again to resume), or on a SHA-256 mismatch (the
 *   `.part` file is deleted).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { downloadFile } from "./download.ts";
 * const body = new TextEncoder().encode("not really gzip");
 * const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
 * const sha256 = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
 * const server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () => new Response(body),
 * );
 * const dir = await Deno.makeTempDir();
 * const url = `http://127.0.0.1:${server.addr.port}/a.gz`;
 * const first = await downloadFile(url, `${dir}/a.gz`, { sha256 });
 * const again = await downloadFile(url, `${dir}/a.gz`, { sha256 }); // verified, not fetched
 * assert.deepEqual([first.bytes, first.cached, again.cached], [15, false, true]);
 * await server.shutdown();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function downloadFile(
  url: string,
  dest: string,
  options: DownloadFileOptions,
): Promise<DownloadResult> {
  const md5 = options.sha256 === undefined && options.md5 !== undefined;
  const [label, given, digits] = md5 ? ["MD5", options.md5!, 32] : ["SHA-256", options.sha256, 64];
  const hashFile = md5 ? md5File : sha256File;
  const expected = String(given).toLowerCase();
  if (!new RegExp(`^[0-9a-f]{${digits}}$`).test(expected)) {
    throw new TypeError(
      `Cannot download ${url}: ${md5 ? "md5" : "sha256"} "${given}" is not ${digits} hex digits`,
    );
  }
  const name = dest.split("/").pop()!;
  const existing = await fileSize(dest);
  if (existing >= 0 && await hashFile(dest) === expected) {
    return { path: dest, bytes: existing, cached: true, resumed: false };
  }
  const part = `${dest}.part`;
  const retries = options.retries ?? 3;
  const delay = options.retryDelayMs ?? 500;
  let resumed = false;
  for (let attempt = 0;; attempt++) {
    try {
      const { resumedFrom } = await attemptOnce(url, part, name, attempt, options);
      resumed ||= resumedFrom > 0;
      break;
    } catch (error) {
      if (!(error instanceof RetryableError)) throw error;
      if (attempt >= retries) {
        const kept = await fileSize(part);
        throw new Error(
          `Cannot download ${url}: ${error.message} (after ${attempt + 1} attempts); ` +
            (kept > 0 ? `${kept} bytes kept in ${part}, run again to resume` : "run again"),
        );
      }
      if (delay > 0) await new Promise((r) => setTimeout(r, delay * (attempt + 1)));
    }
  }
  const actual = await hashFile(part);
  if (actual !== expected) {
    await Deno.remove(part);
    throw new Error(
      `Cannot download ${url}: ${label} mismatch, got ${actual} but expected ${expected}; the ` +
        "partial file was deleted. Run again; if it persists the server's file is not the " +
        "official one (check --base-url)",
    );
  }
  try {
    await Deno.rename(part, dest);
  } catch (error) {
    throw writeError("download", dest, error);
  }
  return { path: dest, bytes: await fileSize(dest), cached: false, resumed };
}

/**
 * Options for {@link downloadSource} and {@link downloadFashionMnist}.
 *
 * @example
 * ```ts
 * import type { DownloadFashionMnistOptions } from "./download.ts";
 * const options: DownloadFashionMnistOptions = { dir: "data/fashion-mnist", retries: 5 };
 * ```
 */
export interface DownloadFashionMnistOptions {
  /** The destination folder (default: the source's, e.g. `data/fashion-mnist`); made if missing. */
  dir?: string;
  /** The address the file names are appended to (default the official one). */
  baseUrl?: string;
  /** Progress of each file. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Expected SHA-256 by file name (default: the table's checksums). */
  sha256?: Readonly<Record<string, string>>;
  /** Expected MD5 by file name (default: the table's checksums). */
  md5?: Readonly<Record<string, string>>;
  /** Extra attempts per file (default 3). */
  retries?: number;
  /** Wait before a retry, times the attempt number (default 500 ms). */
  retryDelayMs?: number;
}

/**
 * Download a source's files (a key of {@link DATASET_DOWNLOADS}) into a folder, verified.
 *
 * @param source `fashion-mnist`, `cifar-10` or `cifar-100`.
 * @param options Folder, address, progress callback, checksums to use instead of the table's.
 * @returns The result per file name, in download order.
 * @throws {RangeError} For a source that cannot be downloaded; as {@link downloadFile} otherwise.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { downloadSource } from "./download.ts";
 * import { md5Hex } from "./_md5.ts";
 * // A local stand-in for the official server; by default the official address and sums are used.
 * const body = new TextEncoder().encode("not really an archive");
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
 *   new Response(body));
 * const dir = await Deno.makeTempDir();
 * const [result] = await downloadSource("cifar-100", {
 *   dir,
 *   baseUrl: `http://127.0.0.1:${server.addr.port}/`,
 *   md5: { "cifar-100-binary.tar.gz": md5Hex(body) },
 * });
 * equal(result.path, `${dir}/cifar-100-binary.tar.gz`);
 * await server.shutdown();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function downloadSource(
  source: string,
  options: DownloadFashionMnistOptions = {},
): Promise<DownloadResult[]> {
  const table = DATASET_DOWNLOADS[source];
  if (!table) {
    throw new RangeError(
      `Cannot download source "${source}": downloadable sources are ` +
        `${Object.keys(DATASET_DOWNLOADS).join(", ")}`,
    );
  }
  const dir = options.dir ?? table.dir;
  let base = options.baseUrl ?? table.baseUrl;
  if (!base.endsWith("/")) base += "/";
  try {
    new URL(base);
  } catch {
    throw new TypeError(`Cannot download ${table.title}: base URL "${base}" is not a valid URL`);
  }
  await Deno.mkdir(dir, { recursive: true });
  const results: DownloadResult[] = [];
  for (const entry of table.files) {
    const name = entry.name;
    const sha256 = options.sha256 ? options.sha256[name] : entry.sha256;
    const md5 = options.md5 ? options.md5[name] : entry.md5;
    if (!sha256 && !md5) throw new TypeError(`Cannot download ${name}: no checksum given for it`);
    results.push(
      await downloadFile(base + name, `${dir.replace(/\/$/, "")}/${name}`, {
        ...(sha256 ? { sha256 } : { md5 }),
        onProgress: options.onProgress,
        retries: options.retries,
        retryDelayMs: options.retryDelayMs,
      }),
    );
  }
  return results;
}

/**
 * Download the four Fashion-MNIST files into a folder, verified.
 *
 * @param options Folder, address, progress callback.
 * @returns The result per file name, in download order.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { downloadFashionMnist } from "./download.ts";
 * import { FASHION_MNIST_FILES } from "./fashion_mnist.ts";
 * // A local stand-in for the official server, with its own hashes; by default the official
 * // address and hashes are used.
 * const files = new Map<string, string>(
 *   Object.values(FASHION_MNIST_FILES).map((name) => [name, `contents of ${name}`]),
 * );
 * const sha256: Record<string, string> = {};
 * for (const [name, body] of files) {
 *   const bytes = new TextEncoder().encode(body);
 *   const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
 *   sha256[name] = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
 * }
 * const server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (request) => new Response(files.get(new URL(request.url).pathname.slice(1))),
 * );
 * const dir = await Deno.makeTempDir();
 * const results = await downloadFashionMnist({
 *   dir,
 *   baseUrl: `http://127.0.0.1:${server.addr.port}/`,
 *   sha256,
 *   onProgress: (p) => assert.ok(p.received <= (p.total ?? Infinity)),
 * });
 * assert.deepEqual([results.length, results[3].path === `${dir}/t10k-labels-idx1-ubyte.gz`], [4, true]);
 * await server.shutdown();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function downloadFashionMnist(
  options: DownloadFashionMnistOptions = {},
): Promise<DownloadResult[]> {
  return downloadSource("fashion-mnist", options);
}
