import {
  deepStrictEqual as deepEqual,
  notDeepStrictEqual as notDeepEqual,
  ok,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  buildLongTail,
  countPerClass,
  getProfile,
  type LongTailProfile,
  longTailSizes,
  PROFILES,
  shotGroups,
  validateProfile,
} from "../../lib/data/mod.ts";
import { ignoreRealData, realFashionMnist, syntheticSet } from "./_helpers.ts";

const sha = (a: Int32Array) =>
  createHash("sha256").update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest("hex");

const RECIPE_COUNTS = [5980, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60];

function profile(overrides: Partial<LongTailProfile>): LongTailProfile {
  return { ...structuredClone(getProfile("fashion-mnist-lt-100")), ...overrides };
}

Deno.test("longTailSizes follows n_i = floor(n_max * ratio^(-i/(C-1)))", () => {
  deepEqual(longTailSizes(6000, 100, 10), [6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60]);
  deepEqual(longTailSizes(6000, 10, 10), [
    6000,
    4645,
    3596,
    2784,
    2156,
    1669,
    1292,
    1000,
    774,
    600,
  ]);
  // these expectations were computed independently: int(n_max * r ** (-i / (C - 1))) in Python
  deepEqual(longTailSizes(6000, 200, 10), [6000, 3330, 1848, 1025, 569, 316, 175, 97, 54, 30]);
  deepEqual(longTailSizes(5000, 100, 10), [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]);
  deepEqual(longTailSizes(500, 1, 3), [500, 500, 500]);
  deepEqual(longTailSizes(7, 100, 1), [7]);
  throws(() => longTailSizes(10, 0.5, 3), /imbalance ratio 0.5 is below 1/);
});

Deno.test("the registry holds the recipe's profile and its ratio 10 and 200 variants", () => {
  deepEqual(Object.keys(PROFILES).filter((n) => n.startsWith("fashion")).sort(), [
    "fashion-mnist-lt-10",
    "fashion-mnist-lt-100",
    "fashion-mnist-lt-200",
  ]);
  const p = getProfile("fashion-mnist-lt-100");
  deepEqual(
    [p.source, p.headSize, p.imbalanceRatio, p.valPerClass, p.seed],
    ["fashion-mnist", 6000, 100, 20, 0],
  );
  deepEqual(p.classOrder, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  deepEqual(p.shotThresholds, { many: 1000, few: 200 });
  deepEqual(p.normalization, { mean: [0.2860], std: [0.3530] });
  equal(getProfile("fashion-mnist-lt-10").imbalanceRatio, 10);
  equal(getProfile("fashion-mnist-lt-200").imbalanceRatio, 200);
  ok(Object.isFrozen(p) && Object.isFrozen(p.classOrder));
  throws(() => getProfile("cifar-lt"), /Cannot find profile "cifar-lt": known profiles are/);
  // profiles are plain data: they survive JSON
  deepEqual(validateProfile(JSON.parse(JSON.stringify(p)), 10), structuredClone(p));
});

Deno.test("validateProfile rejects bad fields by name", () => {
  throws(
    () => validateProfile(profile({ imbalanceRatio: 0.5 })),
    (e: Error) =>
      e instanceof RangeError &&
      e.message.startsWith("Cannot use profile fashion-mnist-lt-100: imbalanceRatio is 0.5"),
  );
  throws(() => validateProfile(profile({ headSize: 0 })), /headSize is 0/);
  throws(() => validateProfile(profile({ classOrder: [0, 0, 1] })), /classOrder has 0/);
  throws(() => validateProfile(profile({ classOrder: [0, 1] }), 10), /permutation of 0..9/);
  throws(() => validateProfile(profile({ valPerClass: -1 })), /valPerClass is -1/);
  throws(() => validateProfile(profile({ seed: 1.5 })), /seed is 1.5/);
  throws(() => validateProfile(profile({ shotThresholds: { many: 10, few: 50 } })), /few 50 above/);
  throws(
    () => validateProfile(profile({ normalization: { mean: [0.5], std: [0] } })),
    /std must be > 0/,
  );
  throws(() => validateProfile(null), TypeError);
});

Deno.test("buildLongTail: validation first, balanced and disjoint, deterministic for a seed", () => {
  const source = syntheticSet([100, 90, 80, 100]);
  const test = syntheticSet([5, 5, 5, 5]);
  const p = profile({
    name: "syn",
    headSize: 90,
    imbalanceRatio: 10,
    classOrder: [0, 1, 2, 3],
    valPerClass: 5,
  });
  const a = buildLongTail(p, source, test);
  deepEqual(a.targetSizes, [90, 41, 19, 9]);
  deepEqual([...a.classCounts], [90, 41, 19, 9]);
  deepEqual([...countPerClass(a.val.set.labels, 4)], [5, 5, 5, 5]);
  deepEqual([...countPerClass(a.train.set.labels, 4)], [90, 41, 19, 9]);
  const trainRows = new Set(a.train.indices), valRows = new Set(a.val.indices);
  ok([...valRows].every((i) => !trainRows.has(i)), "val and train overlap");
  ok(a.train.indices.every((v, i, arr) => i === 0 || arr[i - 1] < v), "indices ascending");
  a.train.indices.forEach((row, k) => {
    equal(a.train.set.labels[k], source.labels[row]);
    deepEqual(
      a.train.set.images.subarray(k * 16, k * 16 + 16),
      source.images.subarray(row * 16, row * 16 + 16),
    );
  });
  equal(a.test.set, test);
  deepEqual([...a.test.indices], Array.from({ length: 20 }, (_, i) => i));
  const again = buildLongTail(p, source, test);
  deepEqual([...again.train.indices], [...a.train.indices]);
  deepEqual([...again.val.indices], [...a.val.indices]);
  const otherSeed = buildLongTail({ ...p, seed: 1 }, source, test);
  notDeepEqual([...otherSeed.train.indices], [...a.train.indices]);
  // a capped head keeps everything that is left after validation
  const capped = buildLongTail({ ...p, headSize: 100 }, source, test);
  equal(capped.classCounts[0], 95);
});

Deno.test("buildLongTail: nested for a seed - a smaller ratio keeps a superset of each class", () => {
  const source = syntheticSet([100, 100, 100]);
  const p = profile({ name: "syn", headSize: 90, classOrder: [0, 1, 2], valPerClass: 5 });
  const steep = buildLongTail({ ...p, imbalanceRatio: 50 }, source, source);
  const flat = buildLongTail({ ...p, imbalanceRatio: 5 }, source, source);
  const flatRows = new Set(flat.train.indices);
  ok(steep.train.indices.every((i) => flatRows.has(i)));
  deepEqual([...steep.val.indices], [...flat.val.indices]);
});

Deno.test("class order: classOrder[i] is the source class that plays rank i", () => {
  const source = syntheticSet([50, 50, 50]);
  const p = profile({
    name: "rev",
    headSize: 40,
    imbalanceRatio: 4,
    classOrder: [2, 0, 1],
    valPerClass: 2,
  });
  const s = buildLongTail(p, source, source);
  deepEqual(s.targetSizes, [40, 20, 10]);
  deepEqual([...s.classCounts], [20, 10, 40]); // labels keep the source's numbers
  deepEqual(shotGroups(s.classCounts, { many: 30, few: 15 }), ["medium", "few", "many"]);
});

Deno.test("bad inputs: empty class, ratio below 1, head size larger than the data, and more", () => {
  const p = profile({
    name: "bad",
    headSize: 40,
    imbalanceRatio: 4,
    classOrder: [0, 1, 2],
    valPerClass: 2,
  });
  const source = syntheticSet([50, 50, 50]);
  source.classNames = ["a", "b", "c"];
  const empty = syntheticSet([50, 0, 50]);
  throws(() => buildLongTail(p, empty, empty), (e: Error) =>
    e instanceof RangeError &&
    e.message === "Cannot build long tail for profile bad: class 1 has no training images; every " +
        "class needs images (check the labels, or drop the class from the source)");
  throws(
    () => buildLongTail({ ...p, imbalanceRatio: 0.9 }, source, source),
    /Cannot use profile bad: imbalanceRatio is 0.9 but must be a finite number >= 1/,
  );
  throws(
    () => buildLongTail({ ...p, headSize: 51 }, source, source),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "Cannot build long tail for profile bad: headSize 51 is larger than the largest " +
          'class (50 images in class 0 ("a")); use headSize <= 50',
  );
  throws(
    () => buildLongTail({ ...p, valPerClass: 50 }, source, source),
    /class 0 \("a"\) has 50 training images, not more than valPerClass 50/,
  );
  throws(
    () => buildLongTail({ ...p, imbalanceRatio: 100 }, source, source),
    /class 2 \("c"\) at rank 2 would keep 0 images .* lower imbalanceRatio below 40 or raise headSize/,
  );
  throws(() => buildLongTail({ ...p, classOrder: [0, 1] }, source, source), /permutation of 0..2/);
  throws(
    () => buildLongTail(p, source, syntheticSet([1, 1, 1], { height: 5 })),
    /train is 1x4x4 with 3 classes but test is 1x5x4 with 3/,
  );
});

Deno.test({
  name:
    "real data: fashion-mnist-lt-100 has exactly the recipe's counts; -10 and -200 follow the formula",
  ignore: ignoreRealData,
  async fn() {
    const { train, test } = await realFashionMnist();
    const s = buildLongTail(structuredClone(getProfile("fashion-mnist-lt-100")), train, test);
    deepEqual([...s.classCounts], RECIPE_COUNTS);
    equal(s.train.set.count, 14866);
    deepEqual([...countPerClass(s.val.set.labels, 10)], new Array(10).fill(20));
    equal(s.test.set.count, 10000);
    deepEqual(
      shotGroups(s.classCounts, s.profile.shotThresholds),
      ["many", "many", "many", "many", "medium", "medium", "medium", "few", "few", "few"],
    );
    // pinned membership: the seeded split is the same on every machine
    equal(sha(s.train.indices), "751b3d6354787c72eb2b0f2fb738e5e139e001a789711052c673e68ee0b10512");
    equal(sha(s.val.indices), "7825840c9d712bfa803b0dc472c632bd92b33aa08b94c91806854b38b9511138");
    const again = buildLongTail(structuredClone(getProfile("fashion-mnist-lt-100")), train, test);
    deepEqual(again.train.indices, s.train.indices);
    const ten = buildLongTail(structuredClone(getProfile("fashion-mnist-lt-10")), train, test);
    deepEqual([...ten.classCounts], [5980, 4645, 3596, 2784, 2156, 1669, 1292, 1000, 774, 600]);
    const twoHundred = buildLongTail(
      structuredClone(getProfile("fashion-mnist-lt-200")),
      train,
      test,
    );
    deepEqual([...twoHundred.classCounts], [5980, 3330, 1848, 1025, 569, 316, 175, 97, 54, 30]);
  },
});
