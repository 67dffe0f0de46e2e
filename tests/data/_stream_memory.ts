/**
 * The subprocess of tests/data/stream_memory_test.ts: reads a pack once in one mode and prints
 * its peak resident memory (VmHWM of /proc/self/status) as JSON. Run with
 * `--v8-flags=--expose-gc` it collects garbage every 16 rows, so that the peak shows what the
 * reader retains rather than when V8 chooses to free dead buffers.
 *
 * Usage: deno run -A _stream_memory.ts MODE PACK
 * - idle: opens the pack (the manifest, and the small columns for random access), reads no row;
 * - stream: one epoch shard by shard (ShardStream, prefetch 1);
 * - sampled: one class-balanced epoch read by position (PackRows, 8 rows ahead);
 * - hold: the stream, keeping every row (what the bound must catch).
 *
 * @module
 */

import { PackRows, Rng, sampledPackRows, ShardStream } from "../../lib/data/mod.ts";

const [mode, pack] = Deno.args;
const gc = (globalThis as { gc?: () => void }).gc;
let bytes = 0, rows = 0;
const stream = await ShardStream.open(pack);
const random = await PackRows.open(pack);
const count = (pixels: Uint8Array) => {
  bytes += pixels.length;
  if (++rows % 16 === 0) gc?.();
};
const held: Uint8Array[] = [];
if (mode === "stream" || mode === "hold") {
  for await (const row of stream.epoch({ rng: new Rng(1), prefetch: 1 })) {
    count(row.pixels);
    if (mode === "hold") held.push(row.pixels);
  }
} else if (mode === "sampled") {
  const order = sampledPackRows("class", random.labels, undefined, new Rng(1), 0, 1);
  for await (const row of random.sequence(order, { ahead: 8 })) count(row.pixels);
} else if (mode !== "idle") {
  throw new TypeError(`Cannot measure: mode ${mode} is not idle, stream, sampled or hold`);
}
gc?.();
const status = Deno.readTextFileSync("/proc/self/status");
const peakRss = Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
console.log(JSON.stringify({ mode, rows, bytes, peakRss, held: held.length }));
