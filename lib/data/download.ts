/**
 * Downloads with SHA-256 verification, progress, resume of a partial file over HTTP Range, and an
 * atomic rename: bytes go to `FILE.part`; only a complete file whose hash matches is renamed to
 * `FILE`. A dropped connection keeps the `.part` file, and the next attempt (automatic, up to
 * `retries`, or the next run) continues from where it stopped.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { writeAll, writeError } from "../io/atomic.ts";
import { DEFAULT_DOWNLOAD_DIR, FASHION_MNIST_FILES } from "./fashion_mnist.ts";

/**
 * The official Fashion-MNIST address (zalandoresearch/fashion-mnist README).
 *
 * @example
 * ```ts
 * import { FASHION_MNIST_BASE_URL } from "./download.ts";
 * console.log(FASHION_MNIST_BASE_URL + "t10k-labels-idx1-ubyte.gz");
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
 * import { FASHION_MNIST_SHA256 } from "./download.ts";
 * console.log(FASHION_MNIST_SHA256["train-labels-idx1-ubyte.gz"].length); // 64
 * ```
 */
export const FASHION_MNIST_SHA256: Readonly<Record<string, string>> = Object.freeze({
  "train-images-idx3-ubyte.gz": "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
  "train-labels-idx1-ubyte.gz": "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
  "t10k-images-idx3-ubyte.gz": "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
  "t10k-labels-idx1-ubyte.gz": "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
});

/**
 * A progress report.
 *
 * @example
 * ```ts
 * import type { DownloadProgress } from "./download.ts";
 * const show = (p: DownloadProgress) => console.log(`${p.file}: ${p.received}/${p.total ?? "?"}`);
 * show({ file: "a.gz", received: 10, total: 20, resumedFrom: 0, attempt: 0 });
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
  /** The expected SHA-256, lowercase hex. */
  sha256: string;
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
 * import type { DownloadResult } from "./download.ts";
 * const r: DownloadResult = { path: "data/a.gz", bytes: 10, cached: false, resumed: true };
 * console.log(r.resumed ? "resumed" : "fresh");
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
 * import { sha256File } from "./download.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "abc");
 * console.log(await sha256File(path)); // ba7816bf...
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
 * console.log(first.bytes, first.cached, again.cached); // 15 false true
 * await server.shutdown();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function downloadFile(
  url: string,
  dest: string,
  options: DownloadFileOptions,
): Promise<DownloadResult> {
  const expected = options.sha256.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(expected)) {
    throw new TypeError(`Cannot download ${url}: sha256 "${options.sha256}" is not 64 hex digits`);
  }
  const name = dest.split("/").pop()!;
  const existing = await fileSize(dest);
  if (existing >= 0 && await sha256File(dest) === expected) {
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
  const actual = await sha256File(part);
  if (actual !== expected) {
    await Deno.remove(part);
    throw new Error(
      `Cannot download ${url}: SHA-256 mismatch, got ${actual} but expected ${expected}; the ` +
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
 * Options for {@link downloadFashionMnist}.
 *
 * @example
 * ```ts
 * import type { DownloadFashionMnistOptions } from "./download.ts";
 * const options: DownloadFashionMnistOptions = { dir: "data/fashion-mnist", retries: 5 };
 * ```
 */
export interface DownloadFashionMnistOptions {
  /** The destination folder (default `data/fashion-mnist`), created when missing. */
  dir?: string;
  /** The address the four file names are appended to (default {@link FASHION_MNIST_BASE_URL}). */
  baseUrl?: string;
  /** Progress of each file. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Expected hashes by file name (default {@link FASHION_MNIST_SHA256}). */
  sha256?: Readonly<Record<string, string>>;
  /** Extra attempts per file (default 3). */
  retries?: number;
  /** Wait before a retry, times the attempt number (default 500 ms). */
  retryDelayMs?: number;
}

/**
 * Download the four Fashion-MNIST files into a folder, verified.
 *
 * @param options Folder, address, progress callback.
 * @returns The result per file name, in download order.
 * @example
 * ```ts
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
 *   onProgress: (p) => console.log(p.file, p.received, p.total),
 * });
 * console.log(results.length, results[3].path === `${dir}/t10k-labels-idx1-ubyte.gz`); // 4 true
 * await server.shutdown();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function downloadFashionMnist(
  options: DownloadFashionMnistOptions = {},
): Promise<DownloadResult[]> {
  const dir = options.dir ?? DEFAULT_DOWNLOAD_DIR;
  let base = options.baseUrl ?? FASHION_MNIST_BASE_URL;
  if (!base.endsWith("/")) base += "/";
  try {
    new URL(base);
  } catch {
    throw new TypeError(`Cannot download Fashion-MNIST: base URL "${base}" is not a valid URL`);
  }
  await Deno.mkdir(dir, { recursive: true });
  const hashes = options.sha256 ?? FASHION_MNIST_SHA256;
  const results: DownloadResult[] = [];
  for (const name of Object.values(FASHION_MNIST_FILES)) {
    const sha256 = hashes[name];
    if (!sha256) throw new TypeError(`Cannot download ${name}: no SHA-256 given for it`);
    results.push(
      await downloadFile(base + name, `${dir.replace(/\/$/, "")}/${name}`, {
        sha256,
        onProgress: options.onProgress,
        retries: options.retries,
        retryDelayMs: options.retryDelayMs,
      }),
    );
  }
  return results;
}
