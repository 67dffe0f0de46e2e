/**
 * The kit must work when imported by URL: WGSL arrives through the module graph (text imports),
 * not file reads, and third-party code through full `npm:` specifiers. This test serves the
 * repository over HTTP on 127.0.0.1 and runs a separate `deno run` that may only import from
 * that address (no read, write, env or net permission), computes through the public API, and
 * prints JSON that is checked against a CPU computation.
 */

import {
  deepStrictEqual as deepEqual,
  ok,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { rowSumRef, softmaxRef } from "../../lib/ops/_reference_softmax.ts";
import { CONTENT_TYPES, main as serveMain, serveFolder } from "../../scripts/serve.ts";
import { assertClose, checkExpectedAdapter, expectedAdapter, noGpu, randomArray } from "../_gpu.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

const ROWS = 3;
const COLS = 8;
const X = randomArray(ROWS * COLS, 1, -4, 4);
const Y = randomArray(ROWS * COLS, 2, -4, 4);
const OUT = 5;
const W = randomArray(OUT * COLS, 3, -1, 1);

/** The child program: served at /_probe.ts, so `./mod.ts` is the kit's URL. */
const PROBE = `
import { add, matmul, requestGpu, rowSum, softmax, Tensor } from "./mod.ts";
const gpu = await requestGpu({ warnFallback: false });
const shape = [${ROWS}, ${COLS}];
const x = Tensor.from(gpu, ${JSON.stringify(Array.from(X))}, shape);
const y = Tensor.from(gpu, ${JSON.stringify(Array.from(Y))}, shape);
const s = Tensor.empty(gpu, shape);
const p = Tensor.empty(gpu, shape);
const sums = Tensor.empty(gpu, [${ROWS}]);
await add(gpu, x, y, s, 1, 0.5);
await softmax(gpu, s, p);
await rowSum(gpu, s, sums);
const w = Tensor.from(gpu, ${JSON.stringify(Array.from(W))}, [${OUT}, ${COLS}]);
const product = await matmul(gpu, s, w, { transB: true });
console.log(JSON.stringify({
  product: Array.from(await product.read()),
  adapter: gpu.adapter.description,
  softmax: Array.from(await p.read()),
  sums: Array.from(await sums.read()),
}));
gpu.destroy();
`;

/**
 * Serves the checkout (on `port`, or any free one); records each requested path, and those
 * answered 404 in `missing`.
 */
function serveRepository(
  requested: string[],
  missing: string[] = [],
  contentTypes: Record<string, string> = {},
  port = 0,
): Deno.HttpServer<Deno.NetAddr> {
  return serveFolder({
    root: ROOT,
    port,
    modules: { "/_probe.ts": PROBE },
    contentTypes,
    onRequest(path, found) {
      requested.push(path);
      if (!found) missing.push(path);
    },
  });
}

/**
 * Runs a local program that imports `/_probe.ts` from `host`, as a user's program would, in a
 * child `deno run` with only the given permission flags. (A remote main module may import from
 * its own host without --allow-import; a local one needs it.)
 */
async function runChild(
  host: string,
  flags: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const cwd = await Deno.makeTempDir({ prefix: "ltkit_http_" });
  try {
    await Deno.writeTextFile(`${cwd}/main.ts`, `import "http://${host}/_probe.ts";\n`);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        // Nothing from this checkout's deno.json or lock file: only what the URL gives.
        "--no-config",
        "--no-lock",
        // Ports are reused now and then; never run a stale cached copy of the kit. (No trailing
        // slash: Deno 2.9 reloads nothing for "http://host/".)
        `--reload=http://${host}`,
        ...flags,
        "main.ts",
      ],
      cwd,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    });
    const { code, stdout, stderr } = await child.output();
    const text = new TextDecoder();
    return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

Deno.test({
  name: "the static server gives content types and 404s",
  async fn() {
    const server = serveRepository([]);
    const base = `http://127.0.0.1:${server.addr.port}`;
    try {
      const mod = await fetch(`${base}/mod.ts`);
      equal(mod.status, 200);
      equal(mod.headers.get("content-type"), CONTENT_TYPES[".ts"]);
      ok((await mod.text()).includes('from "./lib/ops/gemm.ts";'));
      const wgsl = await fetch(`${base}/kernels/softmax.wgsl`);
      equal(wgsl.headers.get("content-type"), CONTENT_TYPES[".wgsl"]);
      ok((await wgsl.text()).includes("fn softmax_forward"));
      for (const missing of ["/nope.ts", "/../../etc/passwd", "/.git/config"]) {
        const r = await fetch(`${base}${missing}`);
        await r.body?.cancel();
        equal(r.status, 404, missing);
      }
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test({
  name: "the kit imported over HTTP by a child with only --allow-import computes correctly",
  ignore: noGpu,
  async fn() {
    const requested: string[] = [];
    const missing: string[] = [];
    const server = serveRepository(requested, missing);
    const host = `127.0.0.1:${server.addr.port}`;
    try {
      const { code, stdout, stderr } = await runChild(host, [`--allow-import=${host}`]);
      equal(code, 0, `the child failed:\n${stderr}`);
      const result = JSON.parse(stdout);
      checkExpectedAdapter(result.adapter, expectedAdapter);
      const s = X.map((v, i) => v + 0.5 * Y[i]);
      assertClose(result.softmax, softmaxRef(s, ROWS, COLS), 5e-6, "softmax over HTTP");
      assertClose(result.sums, rowSumRef(s, ROWS, COLS), 1e-5, "row sums over HTTP");
      const product = new Float64Array(ROWS * OUT);
      for (let r = 0; r < ROWS; r++) {
        for (let o = 0; o < OUT; o++) {
          for (let c = 0; c < COLS; c++) product[r * OUT + o] += s[r * COLS + c] * W[o * COLS + c];
        }
      }
      assertClose(result.product, product, 1e-5, "GEMM over HTTP");
      console.log(`  child on "${result.adapter}": GEMM, softmax and row sums match the CPU`);
      // The kernels came over HTTP too, and nothing the child asked for was missing.
      for (const file of ["/mod.ts", "/kernels/gemm.wgsl", "/kernels/softmax.wgsl"]) {
        ok(requested.includes(file), `${file} was not requested: ${requested.join(", ")}`);
      }
      deepEqual(missing, []);
    } finally {
      await server.shutdown();
    }
  },
});

// The README's two warnings, checked against Deno itself; neither child gets as far as a GPU.

Deno.test("a child without --allow-import=HOST is refused, and told the flag", async () => {
  const server = serveRepository([]);
  const host = `127.0.0.1:${server.addr.port}`;
  try {
    const { code, stderr } = await runChild(host, []);
    ok(code !== 0, "the child ran without import permission");
    ok(stderr.includes(`Requires import access to "${host}"`), stderr);
    ok(stderr.includes("--allow-import"), stderr);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a server that sends .ts as another type (python3 -m http.server) is refused", async () => {
  // First the kit is served right, so Deno's cache holds it under this port; then each wrong
  // type is served on the same port. A child that ran a cached copy would pass wrongly, as it
  // did when ports were reused between runs.
  const requested: string[] = [];
  const right = serveRepository(requested);
  const port = right.addr.port;
  const host = `127.0.0.1:${port}`;
  try {
    await runChild(host, [`--allow-import=${host}`]);
  } finally {
    await right.shutdown();
  }
  ok(requested.includes("/mod.ts"), `the kit was not fetched: ${requested.join(", ")}`);
  // The first is what `python3 -m http.server` sends for .ts with Debian's /etc/mime.types.
  // (Deno would take video/mp2t, text/plain or application/octet-stream as TypeScript.)
  for (const type of ["text/vnd.trolltech.linguist", "text/html"]) {
    const server = serveRepository([], [], { ".ts": type }, port);
    try {
      const { code, stderr } = await runChild(host, [`--allow-import=${host}`]);
      ok(code !== 0, `the child imported TypeScript sent as ${type}`);
      ok(stderr.includes("Expected a JavaScript or TypeScript module"), stderr);
    } finally {
      await server.shutdown();
    }
  }
});

Deno.test("scripts/serve.ts refuses bad flags and a missing folder before listening", async () => {
  await rejects(
    serveMain(["--port", "99999"]),
    /^RangeError: Cannot serve: --port must be .*"99999"/,
  );
  await rejects(serveMain(["--bogus"]), /^TypeError: Cannot serve: Unknown option '--bogus'/);
  await rejects(serveMain(["a", "b"]), /Cannot serve: give one folder, got 2/);
  await rejects(
    serveMain([`${ROOT}no-such-folder`]),
    /Cannot serve .*no-such-folder: no such folder/,
  );
});
