/**
 * Serves the stage-2 page for one feature dump on 127.0.0.1: the page (built on the fly from
 * web/) and, read-only, the four files of the dump, nothing else. Prints the URL; Ctrl-C stops.
 *
 * ```text
 * deno task view runs/<run>            # or runs/<run>/features, or any features folder
 * deno task view --port 8123 runs/<run>
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { DUMP_FILES } from "../web/load.ts";
import { buildPage } from "./build_web.ts";

/**
 * Options of {@link serveView}.
 *
 * @example
 * ```ts
 * import type { ViewOptions } from "./view.ts";
 * const options: ViewOptions = { folder: "runs/cpu-x", port: 0 };
 * console.log(options.port); // 0
 * ```
 */
export interface ViewOptions {
  /** A run folder (its features/ is used) or a features folder. */
  folder: string;
  /** Port (default 0: any free one). */
  port?: number;
}

/**
 * The features folder of `folder`: `folder/features` when that holds train.arrow, else
 * `folder` itself when it does.
 *
 * @param folder A run or features folder.
 * @returns The features folder.
 * @throws {Deno.errors.NotFound} `Cannot view <folder>: ...` when neither holds train.arrow.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { featuresFolder } from "./view.ts";
 * await assert.rejects(featuresFolder("/nonexistent"), /^NotFound: Cannot view \/nonexistent/);
 * ```
 */
export async function featuresFolder(folder: string): Promise<string> {
  for (const dir of [`${folder}/features`, folder]) {
    try {
      if ((await Deno.stat(`${dir}/train.arrow`)).isFile) return dir;
    } catch {
      // not here
    }
  }
  throw new Deno.errors.NotFound(
    `Cannot view ${folder}: neither ${folder}/features/train.arrow nor ${folder}/train.arrow ` +
      "exists; pass a run folder (runs/<run>) or a features folder",
  );
}

/**
 * Starts the server.
 *
 * @param options The folder and port.
 * @returns The server (`await server.shutdown()` stops it) and the page's URL.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { writeSyntheticFeatureDir } from "../lib/features/synthetic.ts";
 * import { serveView } from "./view.ts";
 * const dir = await Deno.makeTempDir();
 * await writeSyntheticFeatureDir(dir, { trainCounts: [6, 2], featureDim: 4, testPerClass: 3 });
 * const { server, url } = await serveView({ folder: dir });
 * equal((await fetch(`${url}dump/train.arrow`)).status, 200);
 * const outside = await fetch(`${url}dump/../../etc/passwd`);
 * equal(outside.status, 404);
 * await outside.body?.cancel();
 * await server.shutdown();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function serveView(
  options: ViewOptions,
): Promise<{ server: Deno.HttpServer<Deno.NetAddr>; url: string; folder: string }> {
  const given = await featuresFolder(options.folder);
  const folder = resolve(given);
  const { html, csp } = await buildPage();
  const headers = {
    "content-security-policy": csp,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
  };
  const info = JSON.stringify({ folder: given });
  const files = new Set<string>(DUMP_FILES);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    async (request) => {
      const path = new URL(request.url).pathname;
      if (request.method !== "GET" && request.method !== "HEAD") {
        return new Response("read-only", { status: 405, headers });
      }
      if (path === "/") {
        return new Response(html, { headers: { ...headers, "content-type": "text/html" } });
      }
      if (path === "/favicon.ico") return new Response(null, { status: 204, headers });
      if (path === "/dump/info.json") {
        return new Response(info, { headers: { ...headers, "content-type": "application/json" } });
      }
      const name = path.startsWith("/dump/") ? path.slice(6) : "";
      if (!files.has(name)) return new Response("not found", { status: 404, headers });
      try {
        const bytes = await Deno.readFile(`${folder}/${name}`);
        return new Response(bytes, {
          headers: { ...headers, "content-type": "application/vnd.apache.arrow.file" },
        });
      } catch {
        return new Response("not found", { status: 404, headers });
      }
    },
  );
  return { server, url: `http://127.0.0.1:${server.addr.port}/`, folder };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { port: { type: "string", default: "0" }, help: { type: "boolean" } },
  });
  if (values.help || positionals.length !== 1) {
    console.log("usage: deno task view [--port N] runs/<run> | <features folder>");
    Deno.exit(values.help ? 0 : 2);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`error: Cannot serve the page: --port ${values.port} must be 0..65535`);
    Deno.exit(2);
  }
  try {
    const { url, folder } = await serveView({ folder: positionals[0], port });
    console.log(
      `Serving ${folder} (read-only) at ${url}\nOpen it in a browser with WebGPU; Ctrl-C stops`,
    );
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
