/**
 * Streaming a pack with bounded memory: a synthetic list of 2000 images packed into 1 MiB
 * shards is read one shard at a time (at most the current one and the prefetched one held);
 * feature dumps record the pack so each row leads back to its image.
 */
import {
  deepStrictEqual as deepEqual,
  notDeepStrictEqual as notDeepEqual,
  ok,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import {
  decodeShard,
  packImageList,
  packRowLocation,
  readManifest,
  Rng,
  ShardStream,
} from "../../lib/data/mod.ts";
import { encodePng } from "../../lib/data/_png.ts";
import { FeatureWriter } from "../../lib/features/writer.ts";
import { arrow } from "../../lib/_deps.ts";
import { waitUntil } from "../_wait.ts";

async function pack2000(dir: string) {
  for (let k = 0; k < 10; k++) {
    const w = 40 + k, h = 30 + 2 * k;
    const px = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * (k + 3)) & 0xff);
    await Deno.writeFile(`${dir}/${k}.png`, encodePng(px, w, h, 3));
  }
  const lines = Array.from({ length: 2000 }, (_, i) => `${i % 10}.png ${i % 7}`);
  await Deno.writeTextFile(`${dir}/list.txt`, lines.join("\n"));
  return await packImageList({
    list: `${dir}/list.txt`,
    root: dir,
    size: 24,
    out: `${dir}/pack`,
    shardMiB: 1,
    workers: 2,
  });
}

Deno.test("ShardStream: an epoch visits every row once holding at most current + prefetch shards", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = await pack2000(dir);
    ok(m.shards.length >= 4, `${m.shards.length} shards`);
    for (const s of m.shards) ok(s.bytes < 1.01 * 1048576, `${s.file} has ${s.bytes} bytes`);
    const stream = await ShardStream.open(`${dir}/pack`);
    equal(stream.rows, 2000);
    for (const prefetch of [0, 1, 2]) {
      const s = await ShardStream.open(`${dir}/pack`);
      const seen = new Uint8Array(2000);
      let peak = 0;
      for await (const row of s.epoch({ rng: new Rng(3), prefetch })) {
        seen[row.index]++;
        peak = Math.max(peak, s.held);
      }
      ok(seen.every((v) => v === 1), `prefetch ${prefetch}: every row exactly once`);
      equal(s.maxHeld, prefetch + 1, `prefetch ${prefetch}`);
      equal(peak, prefetch + 1);
      equal(s.held, 0);
    }
    // A consumer that stops early releases the shard it was in and, once they finish, the reads
    // ahead.
    for (const prefetch of [1, 2]) {
      const s = await ShardStream.open(`${dir}/pack`);
      let n = 0;
      for await (const _ of s.epoch({ rng: new Rng(4), prefetch })) if (++n === 10) break;
      await waitUntil(() => s.held === 0, 5, 100);
      equal(s.held, 0, `prefetch ${prefetch}: held after an early stop`);
    }
    // Unshuffled order is the pack's; a seed gives the same order twice and another one differs.
    const order = async (rng?: Rng) => {
      const out: number[] = [];
      for await (const r of stream.epoch({ rng })) out.push(r.index);
      return out;
    };
    deepEqual(await order(), Array.from({ length: 2000 }, (_, i) => i));
    deepEqual(await order(new Rng(5)), await order(new Rng(5)));
    notDeepEqual(await order(new Rng(5)), await order(new Rng(6)));
    // Rows match the shard files, and index -> shard/row/path leads back to the image.
    const first = await Deno.readFile(`${dir}/pack/${m.shards[1].file}`);
    const rows1 = decodeShard(first, m.shards[1].file);
    for await (const r of stream.epoch()) {
      const where = packRowLocation(m, r.index);
      deepEqual([where.shard, where.row], [r.shard, r.row]);
      if (r.shard === 1) deepEqual(r.pixels, rows1[r.row].pixels);
      equal(r.path, `${r.index % 10}.png`);
    }
    equal(stream.maxHeld, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ShardStream refuses an unfinished pack; feature dumps record the pack for the way back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = await pack2000(dir);
    const manifest = (await readManifest(`${dir}/pack`))!;
    await Deno.writeTextFile(
      `${dir}/pack/manifest.json`,
      JSON.stringify({ ...manifest, done: false }),
    );
    await rejects(() => ShardStream.open(`${dir}/pack`), /unfinished/);
    await rejects(() => ShardStream.open(`${dir}/none`), /no manifest\.json/);
    const path = `${dir}/train.arrow`;
    const w = await FeatureWriter.create(path, {
      split: "train",
      featureDim: 1,
      classCount: 7,
      metadata: {
        profile: {},
        trainClassCounts: [1, 1, 1, 1, 1, 1, 1],
        backbone: "toy",
        checkpointSha256: "0".repeat(64),
      },
      sourcePack: `${dir}/pack`,
    });
    await w.append(Int32Array.of(1234), Int32Array.of(1234 % 7), Float32Array.of(1));
    await w.close();
    const t = arrow.tableFromIPC(await Deno.readFile(path));
    equal(t.schema.metadata.get("ltkit.source_pack"), `${dir}/pack`);
    const index = t.getChild("index")!.get(0) as number;
    const where = packRowLocation(m, index);
    const rows = decodeShard(await Deno.readFile(`${dir}/pack/${where.file}`), where.file);
    equal(rows[where.row].path, "4.png");
    equal(rows[where.row].line, 1235);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
