/**
 * Random access to a pack: the small columns read through the Arrow footer equal the decoded
 * shards and rows read by position equal their pixels; a sampler's epoch over a pack is the
 * in-memory sampler's index sequence for the same labels and generator (so its class histogram
 * is the same), the same seed gives the same rows, and no more than `ahead` rows are in flight.
 * A training set that leaves rows out (a drawn tuning set) streams without them.
 */
import {
  deepStrictEqual as deepEqual,
  notDeepStrictEqual as notDeepEqual,
  ok,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import {
  countPerClass,
  createSampler,
  decodeShard,
  type PackedImage,
  PackRows,
  readShardColumns,
  Rng,
  sampledPackRows,
  SAMPLER_KINDS,
  ShardStream,
} from "../../lib/data/mod.ts";
import { syntheticPack } from "../train/_packs.ts";
import { waitUntil } from "../_wait.ts";

/** 53 images of 5 long-tailed classes in shards of a few rows. */
const LABELS = Array.from(
  { length: 53 },
  (_, i) => [0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 4][i % 13],
);

async function pack(dir: string) {
  const m = await syntheticPack(dir, {
    count: LABELS.length,
    classes: 5,
    label: (i) => LABELS[i],
    size: 9,
    shardBytes: 2500,
    dims: (i) => [11 + (i % 4), 9 + (i % 3)],
  });
  return m;
}

async function decodedRows(dir: string): Promise<PackedImage[]> {
  const m = (await ShardStream.open(dir)).manifest;
  const rows: PackedImage[] = [];
  for (const s of m.shards) {
    rows.push(...decodeShard(await Deno.readFile(`${dir}/${s.file}`), s.file));
  }
  return rows;
}

const histogram = (labels: ArrayLike<number>, C: number) =>
  countPerClass(Int32Array.from(labels), C);

Deno.test("PackRows: columns from the footer and rows read by position equal the decoded shards", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = await pack(dir);
    ok(m.shards.length >= 5, `${m.shards.length} shards`);
    const want = await decodedRows(`${dir}/pack`);
    const rows = await PackRows.open(`${dir}/pack`);
    equal(rows.rows, want.length);
    deepEqual([...rows.labels], want.map((r) => r.label));
    deepEqual([...rows.lines], want.map((r) => r.line));
    for (const i of [0, 1, 17, want.length - 1, 17]) {
      const r = await rows.read(i);
      deepEqual([r.pixels, r.height, r.width, r.label, r.line, r.index], [
        want[i].pixels,
        want[i].height,
        want[i].width,
        want[i].label,
        want[i].line,
        i,
      ]);
    }
    const c = await readShardColumns(`${dir}/pack/${m.shards[2].file}`);
    equal(c.rows, m.shards[2].rows);
    await rejects(rows.read(want.length), /Cannot read row 53 of the pack .*: it has rows 0\.\.52/);
    // Not a shard: a clear error naming the file.
    await Deno.writeFile(`${dir}/junk.arrow`, new Uint8Array(40));
    await rejects(
      readShardColumns(`${dir}/junk.arrow`),
      /Cannot read shard .*junk\.arrow: it does not end with ARROW1/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sampled epochs over a pack: the in-memory sampler's index sequence, bounded reads, seeded", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await pack(dir);
    const rows = await PackRows.open(`${dir}/pack`);
    const labels = rows.labels;
    const C = 5;
    // A source made of part of the pack, as a training set without its tuning rows.
    const subset = Int32Array.from(labels.keys()).filter((i) => i % 7 !== 3);
    const own = subset.map((r) => labels[r]);
    for (const kind of SAMPLER_KINDS) {
      for (const epoch of [0, 2]) {
        const seq = sampledPackRows(kind, labels, subset, new Rng(9, 1 + 2 * epoch), epoch, 3);
        // What stage 1 draws for an in-memory set with these labels (same stream, same call).
        const memory = createSampler(kind, own, new Rng(9, 1 + 2 * epoch), C).epoch(epoch, 3);
        deepEqual([...seq], [...memory].map((i) => subset[i]), `${kind} epoch ${epoch}`);
        ok(seq.every((r) => r % 7 !== 3), "only rows of the source");
        const seen: number[] = [];
        const labelsSeen: number[] = [];
        for await (const r of rows.sequence(seq, { ahead: 4 })) {
          seen.push(r.index);
          labelsSeen.push(r.label);
          ok(rows.inFlight <= 4);
        }
        deepEqual(seen, [...seq]);
        deepEqual(histogram(labelsSeen, C), histogram([...memory].map((i) => own[i]), C));
      }
    }
    equal(rows.maxInFlight, 4);
    equal(rows.inFlight, 0);
    // Class-balanced really balances: over a long run every class gets about 1/5 of the draws.
    const many: number[] = [];
    for (let e = 0; e < 40; e++) {
      const seq = sampledPackRows("class", labels, undefined, new Rng(2, e), 0, 1);
      many.push(...[...seq].map((r) => labels[r]));
    }
    const h = histogram(many, 5);
    for (const n of h) ok(Math.abs(n / many.length - 0.2) < 0.03, `class share ${h}`);
    const a = sampledPackRows("sqrt", labels, subset, new Rng(5, 3), 1, 2);
    deepEqual(sampledPackRows("sqrt", labels, subset, new Rng(5, 3), 1, 2), a);
    notDeepEqual(sampledPackRows("sqrt", labels, subset, new Rng(6, 3), 1, 2), a);
    // A consumer that stops early leaves no read behind once they finish.
    for await (const _ of rows.sequence(a, { ahead: 6 })) break;
    await waitUntil(() => rows.inFlight === 0, 5, 20);
    equal(rows.inFlight, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ShardStream keep: a source without some rows streams the others in the same order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await pack(dir);
    const stream = await ShardStream.open(`${dir}/pack`);
    const keep = Uint8Array.from({ length: stream.rows }, (_, i) => (i % 7 === 3 ? 0 : 1));
    const order = async (k?: Uint8Array) => {
      const out: number[] = [];
      for await (const r of stream.epoch({ rng: new Rng(4), keep: k })) out.push(r.index);
      return out;
    };
    deepEqual(await order(keep), (await order()).filter((i) => keep[i]));
    await rejects(order(new Uint8Array(3)), /keep has 3 entries but the pack has 53 rows/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
