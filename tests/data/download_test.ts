import {
  deepStrictEqual as deepEqual,
  ok,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  DATASET_DOWNLOADS,
  downloadFashionMnist,
  downloadFile,
  type DownloadProgress,
  downloadSource,
  FASHION_MNIST_BASE_URL,
  FASHION_MNIST_FILES,
  FASHION_MNIST_SHA256,
  loadCifar,
  loadFashionMnist,
  sha256File,
} from "../../lib/data/mod.ts";
import { md5Hex } from "../../lib/data/_md5.ts";
import {
  gzip,
  makeIdx,
  syntheticSet,
  systemTar,
  withTempDir,
  writeCifarFolder,
} from "./_helpers.ts";

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

interface ServerOptions {
  /** Bytes after which the first `drops` responses for a file close the connection. */
  dropAfter?: number;
  /** How many responses drop the connection (default 1). */
  drops?: number;
  /** Ignore Range headers and always send the whole file with 200. */
  ignoreRange?: boolean;
}

/**
 * A minimal HTTP/1.1 server on 127.0.0.1 (raw TCP, so it can really close a connection mid-body)
 * serving fixture files, with Range support. One request per connection.
 */
function serve(files: Record<string, Uint8Array>, options: ServerOptions = {}) {
  const requests: { path: string; range: string | null }[] = [];
  let drops = options.drops ?? 1;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const encoder = new TextEncoder();
  async function writeAll(conn: Deno.Conn, bytes: Uint8Array) {
    for (let o = 0; o < bytes.length;) o += await conn.write(bytes.subarray(o));
  }
  async function handle(conn: Deno.Conn) {
    let head = "";
    const buffer = new Uint8Array(4096);
    while (!head.includes("\r\n\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) return;
      head += new TextDecoder().decode(buffer.subarray(0, n));
    }
    const [requestLine, ...headerLines] = head.split("\r\n");
    const path = requestLine.split(" ")[1].slice(1);
    const rangeLine = headerLines.find((l) => l.toLowerCase().startsWith("range:"));
    const range = rangeLine ? rangeLine.slice(6).trim() : null;
    requests.push({ path, range });
    const body = files[path];
    const reply = async (status: string, headers: Record<string, string>, bytes: Uint8Array) => {
      const lines = [`HTTP/1.1 ${status}`, "connection: close"];
      for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
      await writeAll(conn, encoder.encode(lines.join("\r\n") + "\r\n\r\n"));
      await writeAll(conn, bytes);
    };
    if (!body) {
      return await reply("404 Not Found", { "content-length": "9" }, encoder.encode("not found"));
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(range ?? "");
    if (m && !options.ignoreRange) {
      start = Number(m[1]);
      if (start >= body.length) {
        return await reply("416 Range Not Satisfiable", {
          "content-range": `bytes */${body.length}`,
          "content-length": "0",
        }, new Uint8Array(0));
      }
    }
    const slice = body.subarray(start);
    const headers: Record<string, string> = { "content-length": String(slice.length) };
    if (start > 0) headers["content-range"] = `bytes ${start}-${body.length - 1}/${body.length}`;
    const status = start > 0 ? "206 Partial Content" : "200 OK";
    if (options.dropAfter !== undefined && drops > 0 && slice.length > options.dropAfter) {
      drops--;
      // Announce the whole length, send part of it, then close: a connection dropped mid-body.
      return await reply(status, headers, slice.subarray(0, options.dropAfter));
    }
    await reply(status, headers, slice);
  }
  const done = (async () => {
    for await (const conn of listener) {
      await handle(conn).catch(() => {}).finally(() => {
        try {
          conn.close();
        } catch { /* already closed */ }
      });
    }
  })();
  const base = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/`;
  return {
    base,
    requests,
    close: async () => {
      listener.close();
      await done.catch(() => {});
    },
  };
}

const BIG = new Uint8Array(300_000).map((_, i) => (i * 2654435761) >>> 24);
const SMALL = new TextEncoder().encode("small fixture file\n");

Deno.test("downloads verify SHA-256, report progress and rename atomically", async () => {
  const server = serve({ "big.bin": BIG, "small.txt": SMALL });
  try {
    await withTempDir(async (dir) => {
      const progress: DownloadProgress[] = [];
      const result = await downloadFile(`${server.base}big.bin`, `${dir}/big.bin`, {
        sha256: sha(BIG),
        onProgress: (p) => progress.push({ ...p }),
      });
      deepEqual(result, {
        path: `${dir}/big.bin`,
        bytes: BIG.length,
        cached: false,
        resumed: false,
      });
      deepEqual(await Deno.readFile(`${dir}/big.bin`), BIG);
      await rejects(Deno.stat(`${dir}/big.bin.part`), Deno.errors.NotFound);
      ok(progress.length >= 2);
      ok(progress.every((p, i) => i === 0 || p.received >= progress[i - 1].received));
      deepEqual(progress.at(-1), {
        file: "big.bin",
        received: BIG.length,
        total: BIG.length,
        resumedFrom: 0,
        attempt: 0,
      });
      // a valid file is not fetched again
      const before = server.requests.length;
      const again = await downloadFile(`${server.base}big.bin`, `${dir}/big.bin`, {
        sha256: sha(BIG),
      });
      equal(again.cached, true);
      equal(server.requests.length, before);
    });
  } finally {
    await server.close();
  }
});

Deno.test("a wrong checksum fails clearly and leaves neither the file nor a partial file", async () => {
  const server = serve({ "small.txt": SMALL });
  try {
    await withTempDir(async (dir) => {
      const wrong = "0".repeat(64);
      await rejects(
        downloadFile(`${server.base}small.txt`, `${dir}/small.txt`, { sha256: wrong }),
        (e: Error) =>
          e.message.startsWith(
            `Cannot download ${server.base}small.txt: SHA-256 mismatch, got ${
              sha(SMALL)
            } but expected ${wrong}`,
          ) &&
          e.message.includes("partial file was deleted"),
      );
      deepEqual([...Deno.readDirSync(dir)], []);
      await rejects(
        downloadFile(`${server.base}small.txt`, `${dir}/s`, { sha256: "abc" }),
        /sha256 "abc" is not 64 hex digits/,
      );
    });
  } finally {
    await server.close();
  }
});

Deno.test("a dropped connection keeps the .part file and the next run resumes with Range", async () => {
  const server = serve({ "big.bin": BIG }, { dropAfter: 100_000 });
  try {
    await withTempDir(async (dir) => {
      const dest = `${dir}/big.bin`;
      await rejects(
        downloadFile(`${server.base}big.bin`, dest, { sha256: sha(BIG), retries: 0 }),
        (e: Error) =>
          e.message.startsWith(`Cannot download ${server.base}big.bin: connection dropped after`) &&
          e.message.includes(`of ${BIG.length} bytes`) &&
          e.message.includes(`kept in ${dest}.part, run again to resume`),
      );
      const kept = (await Deno.stat(`${dest}.part`)).size;
      ok(kept > 0 && kept <= 100_000, `kept ${kept}`);
      await rejects(Deno.stat(dest), Deno.errors.NotFound);
      const progress: DownloadProgress[] = [];
      const result = await downloadFile(`${server.base}big.bin`, dest, {
        sha256: sha(BIG),
        retries: 0,
        onProgress: (p) => progress.push({ ...p }),
      });
      equal(result.resumed, true);
      equal(progress[0].resumedFrom, kept);
      deepEqual(server.requests.map((r) => r.range), [null, `bytes=${kept}-`]);
      deepEqual(await Deno.readFile(dest), BIG);
      await rejects(Deno.stat(`${dest}.part`), Deno.errors.NotFound);
    });
  } finally {
    await server.close();
  }
});

Deno.test("retries resume automatically within one call; a server ignoring Range restarts", async () => {
  const dropping = serve({ "big.bin": BIG }, { dropAfter: 50_000, drops: 2 });
  try {
    await withTempDir(async (dir) => {
      const result = await downloadFile(`${dropping.base}big.bin`, `${dir}/big.bin`, {
        sha256: sha(BIG),
        retries: 2,
        retryDelayMs: 0,
      });
      equal(result.resumed, true);
      equal(dropping.requests.length, 3);
      ok(dropping.requests.slice(1).every((r) => r.range?.startsWith("bytes=")));
      deepEqual(await Deno.readFile(`${dir}/big.bin`), BIG);
    });
  } finally {
    await dropping.close();
  }
  const stubborn = serve({ "big.bin": BIG }, { dropAfter: 50_000, ignoreRange: true });
  try {
    await withTempDir(async (dir) => {
      const result = await downloadFile(`${stubborn.base}big.bin`, `${dir}/big.bin`, {
        sha256: sha(BIG),
        retries: 1,
        retryDelayMs: 0,
      });
      equal(result.resumed, false);
      deepEqual(await Deno.readFile(`${dir}/big.bin`), BIG);
    });
  } finally {
    await stubborn.close();
  }
});

Deno.test("a complete .part file (416 on resume) is verified and renamed; 404 is not retried", async () => {
  const server = serve({ "small.txt": SMALL });
  try {
    await withTempDir(async (dir) => {
      await Deno.writeFile(`${dir}/small.txt.part`, SMALL);
      const result = await downloadFile(`${server.base}small.txt`, `${dir}/small.txt`, {
        sha256: sha(SMALL),
      });
      equal(result.resumed, true);
      equal(await sha256File(`${dir}/small.txt`), sha(SMALL));
      const before = server.requests.length;
      await rejects(
        downloadFile(`${server.base}missing.gz`, `${dir}/missing.gz`, { sha256: sha(SMALL) }),
        /Cannot download http:\/\/127.0.0.1:\d+\/missing.gz: HTTP 404 Not Found; check the address/,
      );
      equal(server.requests.length, before + 1);
    });
  } finally {
    await server.close();
  }
  await rejects(
    downloadFile("http://127.0.0.1:9/x", "/tmp/never", {
      sha256: sha(SMALL),
      retries: 0,
    }),
    /Cannot download http:\/\/127.0.0.1:9\/x: cannot connect/,
  );
});

Deno.test("downloadFashionMnist fetches the four files from a base URL; loading them works", async () => {
  const train = syntheticSet([3, 3, 3, 3, 3, 3, 3, 3, 3, 3], { height: 28, width: 28 });
  const test = syntheticSet([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], { height: 28, width: 28 });
  const fixtures: Record<string, Uint8Array> = {
    [FASHION_MNIST_FILES.trainImages]: gzip(makeIdx(8, [30, 28, 28], train.images)),
    [FASHION_MNIST_FILES.trainLabels]: gzip(makeIdx(8, [30], train.labels)),
    [FASHION_MNIST_FILES.testImages]: gzip(makeIdx(8, [10, 28, 28], test.images)),
    [FASHION_MNIST_FILES.testLabels]: gzip(makeIdx(8, [10], test.labels)),
  };
  const hashes = Object.fromEntries(Object.entries(fixtures).map(([k, v]) => [k, sha(v)]));
  const server = serve(fixtures);
  try {
    await withTempDir(async (dir) => {
      const seen = new Set<string>();
      const results = await downloadFashionMnist({
        dir: `${dir}/fm`,
        baseUrl: server.base.slice(0, -1), // no trailing slash: added
        sha256: hashes,
        onProgress: (p) => seen.add(p.file),
      });
      deepEqual(results.map((r) => r.path.split("/").pop()), Object.values(FASHION_MNIST_FILES));
      deepEqual([...seen].sort(), Object.values(FASHION_MNIST_FILES).sort());
      const loaded = await loadFashionMnist({ dataDir: `${dir}/fm` });
      deepEqual(loaded.train.labels, train.labels);
      deepEqual(loaded.test.images, test.images);
      // with the official hashes these fixtures are rejected
      await rejects(
        downloadFashionMnist({ dir: `${dir}/official`, baseUrl: server.base, retryDelayMs: 0 }),
        new RegExp(
          `SHA-256 mismatch, got [0-9a-f]{64} but expected ${
            FASHION_MNIST_SHA256[FASHION_MNIST_FILES.trainImages]
          }`,
        ),
      );
    });
  } finally {
    await server.close();
  }
  equal(FASHION_MNIST_BASE_URL, "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/");
  await rejects(
    downloadFashionMnist({ baseUrl: "not a url" }),
    /base URL "not a url\/" is not a valid URL/,
  );
});

Deno.test("CIFAR archives download with resume, are checked against MD5 and then load", async () => {
  equal(DATASET_DOWNLOADS["cifar-10"].files[0].md5, "c32a1d4ab5d03f1284b67883e8d87530");
  equal(DATASET_DOWNLOADS["cifar-100"].files[0].md5, "03b5dce01913d631647c71ecec9e9cb8");
  equal(DATASET_DOWNLOADS["cifar-10"].baseUrl, "https://www.cs.toronto.edu/~kriz/");
  await withTempDir(async (dir) => {
    const labels = (b: number) => Array.from({ length: 20 }, (_, i) => (i + b) % 10);
    await writeCifarFolder(`${dir}/src`, "cifar-10", [0, 1, 2, 3, 4].map(labels), labels(7));
    await systemTar(`${dir}/src`, "cifar-10-batches-bin", `${dir}/cifar-10-binary.tar.gz`);
    const archive = await Deno.readFile(`${dir}/cifar-10-binary.tar.gz`);
    const half = archive.length >> 1;
    const server = serve({ "cifar-10-binary.tar.gz": archive }, { dropAfter: half });
    try {
      const md5 = { "cifar-10-binary.tar.gz": md5Hex(archive) };
      const options = { dir: `${dir}/data`, baseUrl: server.base, md5, retryDelayMs: 0 };
      const [result] = await downloadSource("cifar-10", options);
      equal(result.resumed, true, "the dropped connection was resumed");
      deepEqual(server.requests.map((r) => r.range), [null, `bytes=${half}-`]);
      deepEqual(await Deno.readFile(`${dir}/data/cifar-10-binary.tar.gz`), archive);
      const loaded = await loadCifar("cifar-10", { dataDir: `${dir}/data` });
      equal(loaded.train.count, 100);
      equal((await downloadSource("cifar-10", options))[0].cached, true);
      // with the published sum the fixture is rejected and nothing is left behind
      await rejects(
        downloadSource("cifar-10", { dir: `${dir}/official`, baseUrl: server.base }),
        (e: Error) =>
          e.message.startsWith(
            `Cannot download ${server.base}cifar-10-binary.tar.gz: MD5 mismatch, got ` +
              `${md5Hex(archive)} but expected c32a1d4ab5d03f1284b67883e8d87530`,
          ),
      );
      deepEqual([...Deno.readDirSync(`${dir}/official`)], []);
    } finally {
      await server.close();
    }
  });
  await rejects(
    downloadFile("http://127.0.0.1:9/x", "/tmp/never", { md5: "abc" }),
    /md5 "abc" is not 32 hex digits/,
  );
  await rejects(downloadSource("imagenet-lt"), /Cannot download source "imagenet-lt"/);
});
