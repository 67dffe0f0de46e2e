import {
  deepStrictEqual as deepEqual,
  match,
  rejects,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import {
  checkListFiles,
  describeImageListSplits,
  drawTuneSet,
  IMAGE_LIST_PROFILES,
  type ImageListProfile,
  listClassCounts,
  loadImageListSplits,
  parseImageList,
  shotGroups,
} from "../../lib/data/mod.ts";

Deno.test("parseImageList: paths with spaces, CRLF, blank lines; classes from the largest label", () => {
  const list = parseImageList("train/n1/a b.JPEG 3\r\n\n  train/n2/c.JPEG\t0  \n", "x.txt");
  deepEqual(list.entries, [
    { path: "train/n1/a b.JPEG", label: 3, line: 1 },
    { path: "train/n2/c.JPEG", label: 0, line: 3 },
  ]);
  equal(list.classCount, 4);
  deepEqual([...listClassCounts(list.entries, 4)], [1, 0, 0, 1]);
});

Deno.test("parseImageList: every kind of bad line is named with its number; --skip-bad lists them", () => {
  const text =
    "ok.jpg 0\nnolabel\nneg.jpg -1\nfrac.jpg 1.5\n/abs.jpg 0\nup/../x.jpg 1\nok2.jpg 1\n";
  const error = (() => {
    try {
      parseImageList(text, "bad.txt");
    } catch (e) {
      return e as Error;
    }
  })();
  equal(error instanceof SyntaxError, true);
  match(error!.message, /^Cannot read list bad\.txt: 5 bad lines; .*--skip-bad/);
  for (const l of [2, 3, 4, 5, 6]) match(error!.message, new RegExp(`line ${l}: `));
  match(error!.message, /line 3: neg\.jpg: label "-1" is not an integer/);
  match(error!.message, /line 5: \/abs\.jpg: the path is absolute/);
  const list = parseImageList(text, "bad.txt", { skipBad: true });
  deepEqual(list.entries.map((e) => e.line), [1, 7]);
  deepEqual(list.problems.map((p) => p.line), [2, 3, 4, 5, 6]);
});

Deno.test("checkListFiles: missing files fail with line and path, or are listed with skipBad", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/d`);
    await Deno.writeTextFile(`${root}/d/a.jpg`, "");
    const text = "d/a.jpg 0\nd/gone.jpg 1\nd 0\n"; // a folder is not an image either
    await rejects(() => checkListFiles(parseImageList(text, "l.txt"), root), (e: Error) => {
      equal(e instanceof Deno.errors.NotFound, true);
      match(e.message, /Cannot use list l\.txt: 2 images are missing/);
      match(e.message, /line 2: d\/gone\.jpg: file not found/);
      match(e.message, /line 3: d: file not found/);
      return true;
    });
    const list = await checkListFiles(parseImageList(text, "l.txt"), root, { skipBad: true });
    deepEqual(list.entries.map((e) => e.path), ["d/a.jpg"]);
    deepEqual(list.problems.map((p) => [p.line, p.path]), [[2, "d/gone.jpg"], [3, "d"]]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("drawTuneSet: perClass from each class large enough, seeded, disjoint, file order kept", () => {
  const sizes = [30, 12, 10, 9, 2];
  const entries = sizes.flatMap((n, c) => Array.from({ length: n }, () => c)).map((label, i) => ({
    path: `${i}.jpg`,
    label,
    line: i + 1,
  }));
  const draw = { perClass: 2, minClassSize: 10, seed: 0 };
  const a = drawTuneSet(entries, 5, draw);
  const b = drawTuneSet(entries, 5, draw);
  deepEqual(a, b);
  deepEqual([...listClassCounts(a.tune, 5)], [2, 2, 2, 0, 0]);
  deepEqual([...listClassCounts(a.train, 5)], [28, 10, 8, 9, 2]);
  deepEqual(a.tooSmall, [3, 4]);
  const lines = new Set(a.tune.map((e) => e.line));
  equal(a.train.some((e) => lines.has(e.line)), false);
  deepEqual(a.train.map((e) => e.line), [...a.train.map((e) => e.line)].sort((x, y) => x - y));
  const other = drawTuneSet(entries, 5, { ...draw, seed: 1 });
  equal(other.tune.map((e) => e.line).join() === a.tune.map((e) => e.line).join(), false);
});

Deno.test("image-list profiles: the three benchmarks, paper shot groups, ImageNet normalisation", () => {
  deepEqual(Object.keys(IMAGE_LIST_PROFILES), [
    "imagenet-lt",
    "places-lt",
    "inat2018",
    "fashion-mnist-lt-list",
  ]);
  deepEqual(Object.values(IMAGE_LIST_PROFILES).map((p) => p.classCount), [1000, 365, 8142, 10]);
  const benchmarks = ["imagenet-lt", "places-lt", "inat2018"].map((k) => IMAGE_LIST_PROFILES[k]);
  for (const p of benchmarks) {
    deepEqual(p.shotThresholds, { many: 100, few: 20 });
    deepEqual(p.normalization, { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
  }
  equal(IMAGE_LIST_PROFILES["inat2018"].lists.val, undefined);
  equal(IMAGE_LIST_PROFILES["inat2018"].lists.test, "iNaturalist18_val.txt");
  deepEqual(IMAGE_LIST_PROFILES["inat2018"].tune, { perClass: 2, minClassSize: 10, seed: 0 });
});

/** A toy list set in the ImageNet-LT layout: lists in DIR/ImageNet_LT/, 4 classes. */
async function toyImageNetLt(dir: string, trainCounts: number[]) {
  await Deno.mkdir(`${dir}/ImageNet_LT`);
  const lines = (split: string, counts: number[]) =>
    counts.flatMap((n, c) =>
      Array.from({ length: n }, (_, k) => `${split}/n${c}/n${c}_${k}.JPEG ${c}`)
    ).join("\n") + "\n";
  await Deno.writeTextFile(`${dir}/ImageNet_LT/ImageNet_LT_train.txt`, lines("train", trainCounts));
  await Deno.writeTextFile(`${dir}/ImageNet_LT/ImageNet_LT_val.txt`, lines("val", [2, 2, 2, 2]));
  await Deno.writeTextFile(`${dir}/ImageNet_LT/ImageNet_LT_test.txt`, lines("val", [5, 5, 5, 5]));
}

Deno.test("loadImageListSplits: counts and shot groups come from the lists", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await toyImageNetLt(dir, [150, 100, 20, 19]);
    const profile = { ...IMAGE_LIST_PROFILES["imagenet-lt"], classCount: 4 };
    const s = await loadImageListSplits(profile, dir);
    deepEqual([...s.classCounts], [150, 100, 20, 19]);
    deepEqual(s.groups, ["many", "medium", "medium", "few"]);
    deepEqual(s.groups, shotGroups([150, 100, 20, 19]));
    deepEqual([s.train.length, s.val.length, s.test.length], [289, 8, 20]);
    const text = describeImageListSplits(s);
    match(text, /train\s+289 images\s+4 classes/);
    match(text, /many\s+1 classes, 150 training images/);
    match(text, /few\s+1 classes, 19 training images/);
    // A label at or above the class count, and a class with no training image, are refused.
    await rejects(
      () => loadImageListSplits({ ...profile, classCount: 3 }, dir),
      /ImageNet_LT_train\.txt line 271 \(train\/n3\/n3_0\.JPEG\) has label 3 but the profile has 3 classes/,
    );
    await rejects(
      () => loadImageListSplits({ ...profile, classCount: 5 }, dir),
      /class 4 has no training image/,
    );
    await rejects(
      () => loadImageListSplits(profile, `${dir}/nope`),
      /data folder .* does not exist/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadImageListSplits: a drawn tuning set names the classes too small to give one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/tr.txt`,
      [12, 10, 3].flatMap((n, c) => Array.from({ length: n }, (_, k) => `t/${c}/${k}.jpg ${c}`))
        .join("\n"),
    );
    await Deno.writeTextFile(`${dir}/va.txt`, "v/0.jpg 0\nv/1.jpg 1\nv/2.jpg 2\n");
    const profile: ImageListProfile = {
      ...structuredClone(IMAGE_LIST_PROFILES["inat2018"]),
      classCount: 3,
      lists: { train: "tr.txt", test: "va.txt" },
    };
    const s = await loadImageListSplits(profile, dir);
    deepEqual([...s.classCounts], [10, 8, 3]);
    deepEqual(s.tooSmall, [2]);
    match(describeImageListSplits(s), /1 classes have too few training images .*: 2/);
    match(describeImageListSplits(s), /val\s+4 images\s+2 classes .*\(drawn from train\)/);
    throws(() => parseImageList("x", "y"), SyntaxError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
