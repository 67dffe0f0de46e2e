/**
 * The checks `deno task train` runs on packed splits before any training: a missing pack (with
 * the command that makes it), a pack of another list, packs of different sizes, a size below the
 * crop, an empty class; and what a good folder gives. Also the samplers a pack refuses.
 */

import {
  deepStrictEqual as deepEqual,
  rejects,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import { type ImageListProfile, packImageList } from "../../lib/data/mod.ts";
import { encodePng } from "../../lib/data/_png.ts";
import { checkPackedSampler } from "../../lib/train/image_source.ts";
import { openPackedSplits } from "../../lib/train/packed_data.ts";

const PROFILE: ImageListProfile = {
  name: "toy-lt",
  title: "Toy-LT",
  listFolder: "Toy_LT",
  classCount: 3,
  lists: { train: "Toy_LT_train.txt", val: "Toy_LT_val.txt", test: "Toy_LT_test.txt" },
  shotThresholds: { many: 2, few: 1 },
  normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
  crop: { size: 8, resize: 9 },
};

/** Lists of `labels` per split under `root`, every image a 12x10 PNG. */
async function lists(root: string, labels: Record<string, number[]>): Promise<void> {
  await Deno.writeFile(
    `${root}/a.png`,
    encodePng(Uint8Array.from({ length: 360 }, (_, i) => i & 0xff), 12, 10, 3),
  );
  for (const [split, ls] of Object.entries(labels)) {
    await Deno.writeTextFile(
      `${root}/Toy_LT_${split}.txt`,
      ls.map((l) => `a.png ${l}`).join("\n") + "\n",
    );
  }
}

const pack = (root: string, split: string, size: number, list = split) =>
  packImageList({
    list: `${root}/Toy_LT_${list}.txt`,
    root,
    size,
    out: `${root}/packs/${split}`,
    workers: 1,
  });

Deno.test("openPackedSplits: finds train/val/test packs and refuses what does not fit", async () => {
  const root = await Deno.makeTempDir();
  try {
    await lists(root, { train: [0, 0, 0, 1, 2], val: [0, 1, 2], test: [0, 1, 2, 2], bad: [0, 1] });
    await rejects(openPackedSplits(PROFILE, null), /give --data-dir DIR/);
    await pack(root, "train", 10);
    await rejects(
      openPackedSplits(PROFILE, `${root}/packs`),
      /packs\/val has no pack \(no manifest\.json\); make it with deno task pack --list ROOT\/Toy_LT\/Toy_LT_val\.txt/,
    );
    await pack(root, "val", 10, "bad");
    await rejects(
      openPackedSplits(PROFILE, `${root}/packs`),
      /was made from .*Toy_LT_bad\.txt, not from the val list Toy_LT_val\.txt/,
    );
    await Deno.remove(`${root}/packs/val`, { recursive: true });
    await pack(root, "val", 10);
    await pack(root, "test", 12);
    await rejects(
      openPackedSplits(PROFILE, `${root}/packs`),
      /different sizes \(train 10, val 10, test 12\)/,
    );
    await Deno.remove(`${root}/packs/test`, { recursive: true });
    await pack(root, "test", 10);
    const s = await openPackedSplits(PROFILE, `${root}/packs`);
    deepEqual([s.train.rows, s.val.rows, s.test.rows], [5, 3, 4]);
    deepEqual([...s.classCounts], [3, 1, 1]);
    deepEqual(s.train.crop, { size: 8, resize: 9 });
    equal(s.size, 10);
    await rejects(
      openPackedSplits({ ...PROFILE, crop: { size: 16, resize: 18 } }, `${root}/packs`),
      /has images of size 10 \(shorter side\), smaller than the profile's 16-pixel crop/,
    );
    await rejects(
      openPackedSplits({ ...PROFILE, classCount: 2 }, `${root}/packs`),
      /labels up to 2 but the profile has 2 classes/,
    );
    await rejects(
      openPackedSplits({ ...PROFILE, classCount: 4 }, `${root}/packs`),
      /class 3 has no image in the train pack/,
    );
    await Deno.writeTextFile(`${root}/Toy_LT_test.txt`, "a.png 0\n", { append: true });
    await rejects(
      openPackedSplits(PROFILE, `${root}/packs`),
      /the list .*Toy_LT_test\.txt changed since the pack .*test was made from it/,
    );
    await Deno.remove(`${root}/Toy_LT_test.txt`);
    equal((await openPackedSplits(PROFILE, `${root}/packs`)).test.rows, 4);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("packed sources stream instance-balanced batches only", () => {
  checkPackedSampler("instance", "p");
  for (const s of ["class", "sqrt", "progressive"] as const) {
    throws(() => checkPackedSampler(s, "data/p"), /packs are streamed shard by shard/);
  }
});
