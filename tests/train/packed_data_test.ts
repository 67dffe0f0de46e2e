/**
 * The checks `deno task train` runs on packed splits before any training: a missing pack (with
 * the command that makes it), a pack of another list, packs of different sizes, a size below the
 * crop, an empty class; and what a good folder gives. A profile without a val list (the
 * iNaturalist 2018 layout) reads DIR/train and DIR/test and draws its tuning set from the train
 * pack's rows exactly as the in-memory path draws it from the list.
 */

import {
  deepStrictEqual as deepEqual,
  ok,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import {
  type ImageListProfile,
  loadImageListSplits,
  packImageList,
  PackRows,
} from "../../lib/data/mod.ts";
import { encodePng } from "../../lib/data/_png.ts";
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

/** The iNaturalist 2018 layout: train and val lists, the val list the test set. */
const DRAWN: ImageListProfile = {
  ...PROFILE,
  name: "toy-inat",
  lists: { train: "Toy_LT_train.txt", test: "Toy_LT_val.txt" },
  tune: { perClass: 1, minClassSize: 3, seed: 4 },
};

Deno.test("openPackedSplits: without a val list, DIR/train and DIR/test, the tuning set drawn from train's rows", async () => {
  const root = await Deno.makeTempDir();
  try {
    const train = [0, 1, 0, 0, 1, 2, 0, 1, 0];
    await lists(root, { train, val: [0, 1, 2, 2] });
    await pack(root, "train", 10);
    await rejects(
      openPackedSplits(DRAWN, `${root}/packs`),
      new RegExp(
        "packs/test has no pack \\(no manifest\\.json\\); make it with deno task pack --list " +
          "ROOT/Toy_LT/Toy_LT_val\\.txt .*--out .*packs/test \\(the packs of toy-inat: DIR/train " +
          "from Toy_LT_train\\.txt, DIR/test from Toy_LT_val\\.txt; the tuning set is drawn " +
          "from DIR/train \\(1 per class with at least 3 images, seed 4\\)\\)$",
      ),
    );
    // The official val list packed under the name val: the message says where it belongs.
    await pack(root, "val", 10);
    await rejects(
      openPackedSplits(DRAWN, `${root}/packs`),
      /packs\/val holds a pack, but toy-inat reads its test list \(Toy_LT_val\.txt\) from DIR\/test/,
    );
    await Deno.rename(`${root}/packs/val`, `${root}/packs/test`);
    const s = await openPackedSplits(DRAWN, `${root}/packs`);
    equal(s.val.pack, s.train.pack);
    deepEqual([s.train.rows, s.val.rows, s.test.rows], [7, 2, 4]);
    deepEqual([...s.classCounts], [4, 2, 1]);
    deepEqual(s.tooSmall, [2]);
    // Disjoint, together every train row, ascending.
    const all = [...s.train.subset!, ...s.val.subset!].sort((a, b) => a - b);
    deepEqual(all, train.map((_, i) => i));
    for (const sub of [s.train.subset!, s.val.subset!]) {
      ok(sub.every((r, i) => i === 0 || r > sub[i - 1]));
    }
    // The same rows as the in-memory draw over the list (the pack holds every line).
    const memory = await loadImageListSplits(DRAWN, root);
    const rows = await PackRows.open(s.train.pack);
    deepEqual([...s.val.subset!].map((r) => rows.lines[r]), memory.val.map((e) => e.line));
    deepEqual([...s.train.subset!].map((r) => rows.lines[r]), memory.train.map((e) => e.line));
    deepEqual(memory.tooSmall, s.tooSmall);
    // A class left without training images by the draw is refused.
    await rejects(
      openPackedSplits(
        { ...DRAWN, tune: { perClass: 3, minClassSize: 3, seed: 0 } },
        `${root}/packs`,
      ),
      /class 1 has no image in the train pack .* \(after drawing the tuning set\)/,
    );
    await rejects(openPackedSplits(DRAWN, null), /DIR\/train from Toy_LT_train\.txt, DIR\/test/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
