/**
 * Serves a folder (by default this checkout) over HTTP with the content types Deno needs to
 * import it by URL: Deno takes a remote module's type from its `content-type` header, and
 * general-purpose servers such as `python3 -m http.server` send `.ts` files as something else
 * (a Qt Linguist or MPEG transport stream type), which Deno refuses to import.
 *
 * ```text
 * deno run --allow-net=127.0.0.1:8000 --allow-read=. scripts/serve.ts [--port 8000]
 *   [--hostname 127.0.0.1] [DIR]
 * ```
 *
 * @module
 */

import { extname, join, normalize, resolve, sep } from "node:path";
import { parseArgs } from "node:util";

/**
 * The content type sent for each file extension; anything else is `application/octet-stream`.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { CONTENT_TYPES } from "./serve.ts";
 * equal(CONTENT_TYPES[".ts"], "application/typescript; charset=utf-8");
 * ```
 */
export const CONTENT_TYPES: Readonly<Record<string, string>> = Object.freeze({
  ".ts": "application/typescript; charset=utf-8",
  ".js": "application/javascript; charset=utf-8",
  ".json": "application/json",
  // Deno's text imports take any type; a WGSL file is plain text to everyone else.
  ".wgsl": "text/plain; charset=utf-8",
});

/**
 * Options of {@link serveFolder}.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import type { ServeOptions } from "./serve.ts";
 * const options: ServeOptions = { root: ".", port: 0 };
 * equal(options.hostname ?? "127.0.0.1", "127.0.0.1");
 * ```
 */
export interface ServeOptions {
  /** The folder served at `/`. */
  root: string;
  /** Address to listen on (default 127.0.0.1: only this machine). */
  hostname?: string;
  /** Port (default 0: any free one; `server.addr.port` tells which). */
  port?: number;
  /** TypeScript modules served from memory at these paths (`/probe.ts`), before any file. */
  modules?: Record<string, string>;
  /** Replacements for {@link CONTENT_TYPES}, by extension (to mimic another server). */
  contentTypes?: Record<string, string>;
  /** Called with each request's path and whether it was answered with a body or a 404. */
  onRequest?: (path: string, found: boolean) => void;
  /** Called once listening (default: silent). */
  onListen?: (addr: Deno.NetAddr) => void;
}

/**
 * Serves `root` over HTTP: files with {@link CONTENT_TYPES}, a 404 for anything missing, outside
 * `root` or inside a `.git` folder.
 *
 * @param options The folder, the address and the hooks.
 * @returns The running server; `await server.shutdown()` stops it.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { serveFolder } from "./serve.ts";
 * const server = serveFolder({ root: ".", modules: { "/hello.ts": "export const x = 1;" } });
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/hello.ts`);
 * equal(response.headers.get("content-type"), "application/typescript; charset=utf-8");
 * equal(await response.text(), "export const x = 1;");
 * await server.shutdown();
 * ```
 */
export function serveFolder(options: ServeOptions): Deno.HttpServer<Deno.NetAddr> {
  const root = resolve(options.root) + sep;
  const types = { ...CONTENT_TYPES, ...options.contentTypes };
  const modules = options.modules ?? {};
  const onRequest = options.onRequest ?? (() => {});
  const answer = (path: string, body: BodyInit, type: string) => {
    onRequest(path, true);
    return new Response(body, { headers: { "content-type": type } });
  };
  const notFound = (path: string) => {
    onRequest(path, false);
    return new Response("not found", { status: 404 });
  };
  return Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    onListen: options.onListen ?? (() => {}),
  }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    if (Object.hasOwn(modules, path)) return answer(path, modules[path], types[".ts"]);
    const file = normalize(join(root, path));
    if (!file.startsWith(root) || file.split(sep).includes(".git")) return notFound(path);
    try {
      const body = await Deno.readFile(file);
      return answer(path, body, types[extname(file)] ?? "application/octet-stream");
    } catch {
      return notFound(path);
    }
  });
}

const USAGE = `Usage:
  deno run --allow-net=127.0.0.1:8000 --allow-read=. scripts/serve.ts [--port 8000]
    [--hostname 127.0.0.1] [DIR]

Serves DIR (default: the current folder) with TypeScript content types, so that another Deno
program can import http://HOST:PORT/mod.ts (with --allow-import=HOST:PORT).`;

/**
 * The command line: parses the flags, checks the folder, serves until interrupted.
 *
 * @param args Command-line arguments.
 * @returns The running server.
 * @example
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { main } from "./serve.ts";
 * await rejects(main(["--port", "http"]), /Cannot serve: --port must be an integer/);
 * ```
 */
export async function main(args: string[]): Promise<Deno.HttpServer<Deno.NetAddr> | null> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        port: { type: "string", default: "8000" },
        hostname: { type: "string", default: "127.0.0.1" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new TypeError(`Cannot serve: ${(error as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return null;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Cannot serve: --port must be an integer from 0 to 65535, got "${values.port}"`,
    );
  }
  if (positionals.length > 1) {
    throw new TypeError(`Cannot serve: give one folder, got ${positionals.length}\n${USAGE}`);
  }
  const root = positionals[0] ?? ".";
  let isDirectory = false;
  try {
    isDirectory = (await Deno.stat(root)).isDirectory;
  } catch {
    // reported below
  }
  if (!isDirectory) {
    throw new TypeError(`Cannot serve ${root}: no such folder; give the folder to serve`);
  }
  return serveFolder({
    root,
    hostname: values.hostname,
    port,
    onListen: ({ hostname, port }) => {
      const host = `${hostname}:${port}`;
      console.log(`Serving ${resolve(root)} at http://${host}/`);
      console.log(`Import it with: deno run --allow-import=${host} your_program.ts`);
    },
  });
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(2);
  }
}
