/**
 * Streaming memory measured, not counted: a subprocess reads a synthetic pack of 120 MiB (16
 * shards of 7.5 MiB) shard by shard, and by position in a class-balanced order, and its peak
 * resident memory (VmHWM) must stay below
 *
 *   baseline (the same process opening the pack and reading no row)
 *   + the reader's budget ((prefetch + 1) shards streamed; `ahead` rows read by position)
 *   + 32 MiB slack (a dead shard between collections, the JS heap, the allocator).
 *
 * The subprocess collects garbage every 16 rows (`--expose-gc`), so that the peak measures what
 * the reader retains, not when V8 gets round to freeing dead buffers (without it V8 leaves up to
 * about 100 MiB of dead shards in this test; see the README). A run that keeps every row must
 * exceed the same bound, so the test can fail.
 */

import { ok, strictEqual as equal } from "node:assert/strict";
import { encodeShard, MANIFEST, type PackManifest, shardName } from "../../lib/data/mod.ts";

const SCRIPT = new URL("./_stream_memory.ts", import.meta.url).pathname;
const SHARDS = 16, ROWS = 40, SIDE = 256;
const ROW_BYTES = SIDE * SIDE * 3;
const MiB = 1 << 20;
const SLACK = 32 * MiB;

/** Writes the pack's shards and manifest directly (packing 640 images would take longer). */
async function writePack(dir: string): Promise<PackManifest> {
  const shards: PackManifest["shards"] = [];
  for (let k = 0; k < SHARDS; k++) {
    const images = Array.from({ length: ROWS }, (_, i) => {
      const n = k * ROWS + i;
      return {
        pixels: new Uint8Array(ROW_BYTES).fill(n & 0xff),
        height: SIDE,
        width: SIDE,
        label: n % 5,
        path: `${n}.jpg`,
        line: n + 1,
      };
    });
    const bytes = encodeShard(images, {});
    await Deno.writeFile(`${dir}/${shardName(k)}`, bytes);
    shards.push({
      file: shardName(k),
      rows: ROWS,
      bytes: bytes.length,
      sha256: "",
      firstEntry: k * ROWS,
      endEntry: (k + 1) * ROWS,
    });
  }
  const manifest: PackManifest = {
    format: "ltkit-pack-1",
    settings: { list: "list.txt", listSha256: "", root: dir, size: SIDE, shardBytes: 8 * MiB },
    classCount: 5,
    classCounts: [128, 128, 128, 128, 128],
    entries: SHARDS * ROWS,
    shards,
    skipped: [],
    done: true,
  };
  await Deno.writeTextFile(`${dir}/${MANIFEST}`, JSON.stringify(manifest));
  return manifest;
}

async function measure(mode: string, pack: string): Promise<{ peakRss: number; rows: number }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", SCRIPT, mode, pack],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr);
  equal(code, 0, err);
  return JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").pop()!);
}

Deno.test("streaming a pack 2.5 times the bound: peak RSS stays below baseline + budget + slack", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ltkit_memory_" });
  try {
    const m = await writePack(dir);
    const packBytes = m.shards.reduce((n, s) => n + s.bytes, 0);
    const shardBytes = Math.max(...m.shards.map((s) => s.bytes));
    const baseline = (await measure("idle", dir)).peakRss;
    const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
    const budgets = { stream: 2 * shardBytes, sampled: 8 * ROW_BYTES, hold: 2 * shardBytes };
    for (const mode of ["stream", "sampled", "hold"] as const) {
      const bound = baseline + budgets[mode] + SLACK;
      // Holding every row must clearly exceed the bound, or the test could not fail.
      ok(packBytes > 2 * (bound - baseline), `${mib(packBytes)} pack vs ${mib(bound - baseline)}`);
      const { peakRss, rows } = await measure(mode, dir);
      equal(rows, SHARDS * ROWS);
      const line = `${mode}: peak ${mib(peakRss)}, baseline ${mib(baseline)}, bound ${mib(bound)}`;
      console.log(line);
      if (mode === "hold") ok(peakRss > bound, `keeping every row stayed under the bound: ${line}`);
      else ok(peakRss < bound, line);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
