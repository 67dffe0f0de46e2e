/**
 * Training from packs of a profile without a val list (the iNaturalist 2018 layout) end to end
 * on a tiny synthetic list of real JPEG (cjpeg) and PNG files: DIR/train from the train list and
 * DIR/test from the val list; the tuning set is drawn from the train pack's rows, is the same as
 * the in-memory draw over the list, is never handed to stage 1 (instance-balanced streaming and
 * class-balanced reading by position alike), and every feature dump row leads back to its list
 * line. Also `deno task train --profile inat2018` names the folder layout when a pack is missing.
 */

import { deepStrictEqual as deepEqual, ok, strictEqual as equal } from "node:assert/strict";
import { arrow } from "../../lib/_deps.ts";
import {
  decodeShard,
  type ImageListProfile,
  loadImageListSplits,
  packImageList,
  packRowLocation,
  PackRows,
  readManifest,
  ShardStream,
} from "../../lib/data/mod.ts";
import { encodePng } from "../../lib/data/_png.ts";
import { resnet } from "../../lib/nn/spec.ts";
import { extractPackFeatures } from "../../lib/train/image_source.ts";
import { openPackedSplits, PACK_SPLITS } from "../../lib/train/packed_data.ts";
import { trainStage1 } from "../../lib/train/stage1.ts";
import { noGpu, testGpu } from "../_gpu.ts";
import { cjpeg, picture } from "../data/_images.ts";
import { PACK_SETTINGS as SETTINGS } from "./_packs.ts";
import { runTask } from "./_tasks.ts";

const PROFILE: ImageListProfile = {
  name: "toy-inat",
  title: "Toy iNaturalist",
  listFolder: "ToyNat",
  classCount: 4,
  lists: { train: "ToyNat_train.txt", test: "ToyNat_val.txt" },
  tune: { perClass: 2, minClassSize: 5, seed: 3 },
  shotThresholds: { many: 8, few: 4 },
  normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
  crop: { size: 8, resize: 9 },
};

/** Train class counts 12, 7, 5, 3 (class 3 too small to give tuning images); val 3 per class. */
async function writeLists(root: string): Promise<void> {
  await Deno.mkdir(`${root}/ToyNat`, { recursive: true });
  const lines = (counts: number[], split: string) => {
    const out: string[] = [];
    let k = 0;
    // Classes interleaved, as in the real lists (not sorted by class).
    for (let round = 0; out.length < counts.reduce((a, b) => a + b); round++) {
      counts.forEach((n, c) => {
        if (round < n) out.push(`${split}/${c}/${k++}.${k % 3 === 0 ? "png" : "jpg"} ${c}`);
      });
    }
    return out;
  };
  for (const [split, counts] of [["train", [12, 7, 5, 3]], ["val", [3, 3, 3, 3]]] as const) {
    const list = lines([...counts], split);
    for (const [i, line] of list.entries()) {
      const path = line.split(" ")[0];
      await Deno.mkdir(`${root}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
      const im = picture(12 + (i % 4), 10 + (i % 3), i);
      await Deno.writeFile(
        `${root}/${path}`,
        path.endsWith(".png") ? encodePng(im.pixels, im.width, im.height, 3) : await cjpeg(im),
      );
    }
    await Deno.writeTextFile(`${root}/ToyNat/ToyNat_${split}.txt`, list.join("\n") + "\n");
  }
}

/** Every pack row handed to stage 1 while `fn` runs (streamed or read by position). */
async function rowsTrainedOn(fn: () => Promise<void>): Promise<Set<number>> {
  const seen = new Set<number>();
  const epoch = ShardStream.prototype.epoch;
  const read = PackRows.prototype.read;
  ShardStream.prototype.epoch = async function* (this: ShardStream, options) {
    for await (const row of epoch.call(this, options)) {
      seen.add(row.index);
      yield row;
    }
  };
  PackRows.prototype.read = async function (this: PackRows, index: number) {
    seen.add(index);
    return await read.call(this, index);
  };
  try {
    await fn();
  } finally {
    ShardStream.prototype.epoch = epoch;
    PackRows.prototype.read = read;
  }
  return seen;
}

Deno.test({
  name:
    "packs without a val list: tuning rows drawn from train, never trained on, dumps lead back to list lines",
  ignore: noGpu,
  fn: async () => {
    const gpu = (await testGpu())!;
    const root = await Deno.makeTempDir({ prefix: "ltkit_drawn_" });
    try {
      await writeLists(root);
      for (const [folder, list] of [["train", "train"], ["test", "val"]]) {
        await packImageList({
          list: `${root}/ToyNat/ToyNat_${list}.txt`,
          root,
          size: 10,
          out: `${root}/packs/${folder}`,
          shardMiB: 1500 / 1048576,
          workers: 2,
        });
      }
      const splits = await openPackedSplits(PROFILE, `${root}/packs`);
      ok((await readManifest(`${root}/packs/train`))!.shards.length > 3, "several shards");
      deepEqual([splits.train.rows, splits.val.rows, splits.test.rows], [21, 6, 12]);
      deepEqual([...splits.classCounts], [10, 5, 3, 3]);
      deepEqual(splits.tooSmall, [3]);
      const tune = new Set(splits.val.subset!);
      // The in-memory path draws the same tuning images from the list.
      const memory = await loadImageListSplits(PROFILE, root);
      const rows = await PackRows.open(splits.train.pack);
      deepEqual([...splits.val.subset!].map((r) => rows.lines[r]), memory.val.map((e) => e.line));

      const spec = resnet("tiny", [3, 8, 8], 4, [4], 1, 4);
      const options = { spec, normalization: PROFILE.normalization, quiet: true };
      for (const sampler of ["instance", "class"] as const) {
        const settings = { ...SETTINGS, sampler };
        const seen = await rowsTrainedOn(async () => {
          const { net } = await trainStage1(gpu, splits.train, { ...options, settings });
          net.destroy();
        });
        ok(seen.size > 0);
        ok([...seen].every((r) => !tune.has(r)), `${sampler}: a tuning row was trained on`);
        if (sampler === "instance") {
          deepEqual([...seen].sort((a, b) => a - b), [...splits.train.subset!]);
        }
      }

      const { net } = await trainStage1(gpu, splits.train, { ...options, settings: SETTINGS });
      try {
        const metadata = {
          profile: { name: PROFILE.name },
          trainClassCounts: [...splits.classCounts],
          backbone: spec.name,
          checkpointSha256: "0".repeat(64),
        };
        for (const name of PACK_SPLITS) {
          const source = splits[name];
          const path = `${root}/${name}.arrow`;
          const result = await extractPackFeatures(net, source, name, path, metadata);
          equal(result.rows, source.rows);
          const t = arrow.tableFromIPC(await Deno.readFile(path));
          const pack = t.schema.metadata.get("ltkit.source_pack")!;
          equal(pack, name === "test" ? `${root}/packs/test` : `${root}/packs/train`);
          const index = [...t.getChild("index")!.toArray() as Int32Array];
          const labels = t.getChild("label")!.toArray() as Int32Array;
          if (source.subset) deepEqual(index, [...source.subset]);
          else deepEqual(index, Array.from({ length: source.rows }, (_, i) => i));
          // Every row: pack row -> shard row -> list line holding the dump's label.
          const manifest = (await readManifest(pack))!;
          const list = (await Deno.readTextFile(manifest.settings.list)).split("\n");
          for (let i = 0; i < t.numRows; i++) {
            const where = packRowLocation(manifest, index[i]);
            const shard = decodeShard(await Deno.readFile(`${pack}/${where.file}`), where.file);
            const row = shard[where.row];
            equal(list[row.line - 1], `${row.path} ${labels[i]}`);
          }
        }
      } finally {
        net.destroy();
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "deno task train --profile inat2018: names DIR/train and DIR/test, draws from the train pack",
  ignore: noGpu,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ltkit_inat_" });
    try {
      const { code, out } = await runTask("train", [
        ...["--profile", "inat2018", "--data-dir", dir, "--out", `runs/_test-inat-${Deno.pid}`],
      ]);
      ok(code !== 0, out);
      ok(
        out.includes(
          `${dir}/train has no pack (no manifest.json); make it with deno task pack --list ` +
            `ROOT/iNaturalist18/iNaturalist18_train.txt --root ROOT --size 256 --out ${dir}/train ` +
            "(the packs of inat2018: DIR/train from iNaturalist18_train.txt, DIR/test from " +
            "iNaturalist18_val.txt; the tuning set is drawn from DIR/train (2 per class with at " +
            "least 10 images, seed 0))",
        ),
        out,
      );
      // Packs of the two iNaturalist lists (one class only): the run gets to the draw, and says
      // which class it leaves without training images.
      const lists = `${dir}/images/iNaturalist18`;
      await Deno.mkdir(lists, { recursive: true });
      const im = picture(14, 11);
      await Deno.writeFile(`${dir}/images/a.png`, encodePng(im.pixels, im.width, im.height, 3));
      for (const [folder, list, n] of [["train", "train", 12], ["test", "val", 3]] as const) {
        await Deno.writeTextFile(`${lists}/iNaturalist18_${list}.txt`, "a.png 0\n".repeat(n));
        await packImageList({
          list: `${lists}/iNaturalist18_${list}.txt`,
          root: `${dir}/images`,
          size: 224,
          out: `${dir}/packs/${folder}`,
          workers: 1,
        });
      }
      const drawn = await runTask("train", [
        ...["--profile", "inat2018", "--data-dir", `${dir}/packs`],
        ...["--out", `runs/_test-inat-${Deno.pid}`],
      ]);
      ok(drawn.code !== 0, drawn.out);
      ok(
        drawn.out.includes(
          `class 1 has no image in the train pack ${dir}/packs/train (after drawing the tuning ` +
            "set); every one of the 8142 classes needs one",
        ),
        drawn.out,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
