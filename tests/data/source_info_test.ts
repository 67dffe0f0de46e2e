import {
  deepStrictEqual as deepEqual,
  ok,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import {
  describeSplits,
  getProfile,
  loadLongTail,
  loadSource,
  writeImageTable,
} from "../../lib/data/mod.ts";
import { syntheticSet, withTempDir } from "./_helpers.ts";

Deno.test("arrow:DIR sources load train.arrow and test.arrow and build the long tail", async () => {
  await withTempDir(async (dir) => {
    const train = syntheticSet([60, 60, 60, 60]);
    train.classNames = ["a", "b", "c", "d"];
    await writeImageTable(`${dir}/train.arrow`, train);
    await writeImageTable(`${dir}/test.arrow`, syntheticSet([3, 3, 3, 3]));
    const source = await loadSource(`arrow:${dir}/`);
    equal(source.train.count, 240);
    equal(source.from, dir);
    const profile = {
      ...structuredClone(getProfile("fashion-mnist-lt-100")),
      name: "arrow-lt",
      source: `arrow:${dir}`,
      headSize: 50,
      imbalanceRatio: 8,
      classOrder: [0, 1, 2, 3],
      valPerClass: 5,
      shotThresholds: { many: 30, few: 10 },
    };
    const splits = await loadLongTail(profile);
    deepEqual([...splits.classCounts], [50, 25, 12, 6]);
    const text = describeSplits(splits, splits.from);
    const lines = text.split("\n");
    equal(lines[0], `profile arrow-lt: source arrow:${dir} from ${dir}`);
    equal(lines[1], "head size 50, imbalance ratio 8, seed 0, validation 5 per class");
    equal(lines[2], "shot groups: many > 30, medium 10..30, few < 10 training images");
    equal(lines[4], "rank  class                 target   train    val   test  group");
    equal(lines[5], "   0  0 a                       50      50      5      3  many");
    equal(lines[8], "   3  3 d                        6       6      5      3  few");
    equal(lines[9], "      total                             93     20     12");
    ok(
      text.endsWith("many    1 classes: 0 a\nmedium  2 classes: 1 b, 2 c\nfew     1 classes: 3 d"),
    );
  });
  await rejects(
    loadSource("cifar10"),
    /Cannot load source "cifar10": use fashion-mnist, cifar-10, cifar-100 or arrow:DIR/,
  );
  await rejects(loadSource("arrow:/nonexistent"), Deno.errors.NotFound);
});
