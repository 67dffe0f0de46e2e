import {
  deepStrictEqual as deepEqual,
  ok,
  rejects,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import {
  buildLongTail,
  classesByGroup,
  countPerClass,
  getProfile,
  type ImageSet,
  loadCifar,
  loadLongTail,
  loadSource,
  parseCifarRecords,
  PROFILES,
  sampleGrid,
  shotGroups,
  validateProfile,
} from "../../lib/data/mod.ts";
import {
  cifarPixel,
  cifarRecords,
  gzip,
  systemTar,
  withEnv,
  withTempDir,
  writeCifarFolder,
} from "./_helpers.ts";

/** Every pixel of image k of `set` is the synthetic pixel of image `first + k`. */
function assertPixels(set: ImageSet, first = 0) {
  for (let k = 0; k < set.count; k++) {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const got = set.images[k * 3072 + c * 1024 + y * 32 + x];
          if (got !== cifarPixel(first + k, c, y, x)) {
            throw new Error(`image ${k} (c ${c}, y ${y}, x ${x}) is ${got}`);
          }
        }
      }
    }
  }
}

const tenLabels = (n: number, offset = 0) => Array.from({ length: n }, (_, i) => (i + offset) % 10);

Deno.test("CIFAR-10: label byte then CHW pixels, five batches in order, from folder and .tar.gz", async () => {
  await withTempDir(async (dir) => {
    const sizes = [30, 25, 20, 15, 10];
    const train = sizes.map((n, b) => tenLabels(n, b));
    await writeCifarFolder(`${dir}/x`, "cifar-10", train, tenLabels(12, 3));
    const fromFolder = await loadCifar("cifar-10", { dataDir: `${dir}/x` });
    equal(fromFolder.location.kind, "folder");
    equal(fromFolder.location.path, `${dir}/x/cifar-10-batches-bin`);
    equal(fromFolder.location.via, "dataDir");
    const { train: set, test } = fromFolder;
    deepEqual([set.count, set.channels, set.height, set.width, set.classCount], [
      100,
      3,
      32,
      32,
      10,
    ]);
    deepEqual([...set.labels], train.flat());
    deepEqual([...test.labels], tenLabels(12, 3));
    assertPixels(set);
    assertPixels(test);
    deepEqual(set.classNames, Array.from({ length: 10 }, (_, c) => `class_${c}`));

    // the archive as users download it, made by the system's tar
    await Deno.mkdir(`${dir}/z`);
    await systemTar(`${dir}/x`, "cifar-10-batches-bin", `${dir}/z/cifar-10-binary.tar.gz`);
    const fromArchive = await loadCifar("cifar-10", { dataDir: `${dir}/z` });
    equal(fromArchive.location.kind, "archive");
    equal(fromArchive.location.path, `${dir}/z/cifar-10-binary.tar.gz`);
    deepEqual(fromArchive.train, fromFolder.train);
    deepEqual(fromArchive.test, fromFolder.test);

    // the extracted folder itself, and LTKIT_DATA naming a parent with a cifar-10/ folder
    const itself = await loadCifar("cifar-10", { dataDir: `${dir}/x/cifar-10-batches-bin` });
    equal(itself.location.path, `${dir}/x/cifar-10-batches-bin`);
    await Deno.rename(`${dir}/z`, `${dir}/cifar-10`);
    const viaEnv = await withEnv("LTKIT_DATA", dir, () => loadCifar("cifar-10"));
    equal(viaEnv.location.via, "LTKIT_DATA");
    equal(viaEnv.location.path, `${dir}/cifar-10/cifar-10-binary.tar.gz`);
  });
});

Deno.test("CIFAR-100: coarse and fine label bytes, fine labels used, from folder and .tar.gz", async () => {
  await withTempDir(async (dir) => {
    const train = Array.from({ length: 230 }, (_, i) => [(i * 3) % 20, (i * 7) % 100]);
    const test = Array.from({ length: 17 }, (_, i) => [19 - (i % 20), 99 - i]);
    await writeCifarFolder(dir, "cifar-100", [train], test);
    const folder = await loadCifar("cifar-100", { dataDir: dir });
    deepEqual([...folder.train.labels], train.map((l) => l[1]));
    deepEqual([...folder.test.labels], test.map((l) => l[1]));
    equal(folder.train.classCount, 100);
    equal(folder.train.classNames?.[99], "class_99");
    assertPixels(folder.train);
    assertPixels(folder.test);
    await Deno.mkdir(`${dir}/a`);
    await systemTar(dir, "cifar-100-binary", `${dir}/a/cifar-100-binary.tar.gz`);
    await Deno.remove(`${dir}/cifar-100-binary`, { recursive: true });
    const archive = await loadCifar("cifar-100", { dataDir: `${dir}/a` });
    deepEqual(archive.train, folder.train);
    deepEqual(archive.test, folder.test);
    // through the source table, as profiles use it
    const source = await loadSource("cifar-100", { dataDir: `${dir}/a` });
    equal(source.from, `${dir}/a/cifar-100-binary.tar.gz (via dataDir)`);
  });
});

Deno.test("CIFAR records with a wrong size or label fail naming the file, value and fix", () => {
  const good = cifarRecords([3, 4]);
  throws(
    () => parseCifarRecords(good.subarray(0, 3073 + 5), "data_batch_2.bin", "cifar-10"),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "Cannot read CIFAR-10 file data_batch_2.bin: it has 3078 bytes, not a positive multiple " +
          "of the 3073-byte record (1 label byte + 3072 pixels); the file is truncated or from " +
          "another release: use the binary version (cifar-10-binary.tar.gz)",
  );
  throws(() => parseCifarRecords(new Uint8Array(0), "e.bin", "cifar-10"), /has 0 bytes/);
  // a CIFAR-10 file read as CIFAR-100: 3073 is no multiple of 3074
  throws(() => parseCifarRecords(good, "train.bin", "cifar-100"), /3074-byte record \(2 label/);
  const bad = good.slice();
  bad[3073] = 10;
  throws(
    () => parseCifarRecords(bad, "test_batch.bin", "cifar-10"),
    /test_batch.bin: record 1 \(byte 3073\) has label 10, outside 0..9; the file is corrupt/,
  );
  const hundred = cifarRecords([[0, 5], [20, 5]]);
  throws(
    () => parseCifarRecords(hundred, "train.bin", "cifar-100"),
    /record 1 \(byte 3074\) has coarse label 20, outside 0..19/,
  );
  hundred[3074] = 1;
  hundred[3075] = 100;
  throws(() => parseCifarRecords(hundred, "train.bin", "cifar-100"), /fine label 100, outside/);
  throws(() => parseCifarRecords(good, "x", "cifar-1000"), /use cifar-10 or cifar-100/);
});

Deno.test("CIFAR sources: missing members, wrong archives and corrupt archives fail clearly", async () => {
  await withTempDir(async (dir) => {
    // nothing there
    await rejects(
      loadCifar("cifar-10", { dataDir: dir }),
      (e: Error) =>
        e instanceof Deno.errors.NotFound &&
        e.message.startsWith("Cannot find CIFAR-10 in the folder given by --data-dir") &&
        e.message.includes("deno task data --profile cifar10-lt-100") &&
        e.message.includes("cifar-10-binary.tar.gz (the binary version"),
    );
    // an extracted folder lacking a batch
    const folder = await writeCifarFolder(dir, "cifar-10", [[1], [2], [3], [4], [5]], [6]);
    await Deno.rename(`${folder}/data_batch_3.bin`, `${dir}/moved.bin`);
    await rejects(
      loadCifar("cifar-10", { dataDir: dir }),
      new RegExp(`${folder} lacks data_batch_3.bin`),
    );
    await Deno.rename(`${dir}/moved.bin`, `${folder}/data_batch_3.bin`);
    // a wrong class-name file
    await Deno.writeTextFile(`${folder}/batches.meta.txt`, "cat\ndog\n");
    await rejects(
      loadCifar("cifar-10", { dataDir: dir }),
      /Cannot read class names from .*batches.meta.txt: it has 2 names but the data set has 10/,
    );
    // an archive without one member
    await Deno.mkdir(`${dir}/a`);
    await Deno.remove(`${folder}/data_batch_5.bin`);
    await systemTar(dir, "cifar-10-batches-bin", `${dir}/a/cifar-10-binary.tar.gz`);
    await rejects(
      loadCifar("cifar-10", { dataDir: `${dir}/a` }),
      (e: Error) =>
        e instanceof RangeError &&
        e.message.includes(
          `Cannot load CIFAR-10 from ${dir}/a/cifar-10-binary.tar.gz: the archive lacks ` +
            "cifar-10-batches-bin/data_batch_5.bin; it is not the official cifar-10-binary.tar.gz",
        ),
    );
    // the Python release saved under the binary name
    await Deno.mkdir(`${dir}/cifar-10-batches-py`);
    await Deno.writeFile(`${dir}/cifar-10-batches-py/data_batch_1`, new Uint8Array(10));
    await systemTar(dir, "cifar-10-batches-py", `${dir}/a/cifar-10-binary.tar.gz`);
    await rejects(
      loadCifar("cifar-10", { dataDir: `${dir}/a` }),
      /it is the Python \(pickle\) release, but ltkit reads the binary one/,
    );
    // a damaged header: its checksum no longer matches
    await systemTar(dir, "cifar-10-batches-bin", `${dir}/plain.tar`);
    const tar = await Deno.readFile(`${dir}/plain.tar`);
    tar[0] ^= 1;
    await Deno.writeFile(`${dir}/a/cifar-10-binary.tar.gz`, gzip(tar));
    await rejects(
      loadCifar("cifar-10", { dataDir: `${dir}/a` }),
      (e: Error) =>
        e instanceof SyntaxError &&
        new RegExp(
          `^Cannot read tar archive ${dir}/a/cifar-10-binary.tar.gz: the header at byte 0 has ` +
            "checksum \\d+ but its bytes sum to \\d+; the file is corrupt",
        ).test(e.message),
    );
    // a truncated download
    tar[0] ^= 1;
    const z = gzip(tar);
    await Deno.writeFile(`${dir}/a/cifar-10-binary.tar.gz`, z.subarray(0, z.length >> 1));
    await rejects(
      loadCifar("cifar-10", { dataDir: `${dir}/a` }),
      (e: Error) =>
        e instanceof SyntaxError &&
        e.message.startsWith(`Cannot read tar archive ${dir}/a/cifar-10-binary.tar.gz: `) &&
        /truncated/.test(e.message),
    );
  });
});

// The literature's class sizes, computed as LDAM-DRW's get_img_num_per_cls does:
// int(img_max * (1 / ratio) ** (i / (C - 1))), independently of longTailSizes.
function literatureCounts(nMax: number, ratio: number, classes: number): number[] {
  return Array.from(
    { length: classes },
    (_, i) => Math.trunc(nMax * (1 / ratio) ** (i / (classes - 1))),
  );
}

/** A balanced source of `perClass` 1x1x1 images per class (the construction needs only labels). */
function labelsOnly(classes: number, perClass: number): ImageSet {
  const count = classes * perClass;
  return {
    images: Uint8Array.from({ length: count }, (_, i) => i & 0xff),
    labels: Int32Array.from({ length: count }, (_, i) => i % classes),
    count,
    channels: 1,
    height: 1,
    width: 1,
    classCount: classes,
  };
}

const CIFAR_PROFILES = [
  "cifar10-lt-100",
  "cifar10-lt-50",
  "cifar10-lt-10",
  "cifar100-lt-100",
  "cifar100-lt-50",
  "cifar100-lt-10",
];

Deno.test("CIFAR-LT profiles are rows with the literature's settings and LDAM-DRW's constants", () => {
  deepEqual(Object.keys(PROFILES).filter((n) => n.startsWith("cifar")), CIFAR_PROFILES);
  for (const name of CIFAR_PROFILES) {
    const p = getProfile(name);
    const classes = name.startsWith("cifar100") ? 100 : 10;
    equal(p.source, `cifar-${classes}`);
    equal(p.headSize, classes === 10 ? 5000 : 500);
    equal(p.imbalanceRatio, Number(name.split("-").at(-1)));
    deepEqual(p.classOrder, Array.from({ length: classes }, (_, c) => c));
    equal(p.valPerClass, 20);
    deepEqual(p.shotThresholds, { many: 100, few: 20 });
    deepEqual(p.normalization, { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010] });
    equal(p.augmentPad, 4);
    ok(p.notes?.includes("LDAM-DRW"), name);
    // plain data: survives JSON and validates against the source's class count
    deepEqual(validateProfile(JSON.parse(JSON.stringify(p)), classes), structuredClone(p));
  }
  const p = structuredClone(getProfile("cifar10-lt-10"));
  throws(
    () => validateProfile({ ...p, augmentPad: -1 }),
    /Cannot use profile cifar10-lt-10: augmentPad is -1 but must be an integer >= 0/,
  );
  throws(() => validateProfile({ ...p, augmentPad: 1.5 }), /augmentPad is 1.5/);
  throws(() => validateProfile({ ...p, notes: 3 as unknown as string }), /notes must be a string/);
});

Deno.test("CIFAR-LT splits: 20 per class for validation first, then the literature's counts", () => {
  const sources = { 10: labelsOnly(10, 5000), 100: labelsOnly(100, 500) };
  for (const name of CIFAR_PROFILES) {
    const p = getProfile(name);
    const C = p.classOrder.length as 10 | 100;
    const source = sources[C];
    const splits = buildLongTail(structuredClone(p), source, source);
    // a class keeps at most what validation left of it: 4980 of 5000, 480 of 500
    const literature = literatureCounts(p.headSize, p.imbalanceRatio, C);
    const expected = literature.map((n) => Math.min(n, p.headSize - 20));
    deepEqual([...splits.classCounts], expected, name);
    // only the head differs from the literature, except CIFAR-100-LT-10 where rank 1 (488) does too
    const differ = literature.flatMap((n, rank) => n === splits.classCounts[rank] ? [] : [rank]);
    deepEqual(differ, name === "cifar100-lt-10" ? [0, 1] : [0], name);
    deepEqual([...countPerClass(splits.val.set.labels, C)], new Array(C).fill(20), name);
    equal(splits.test.set.count, source.count);
    // validation and training rows are disjoint
    const val = new Set(splits.val.indices);
    ok(splits.train.indices.every((i) => !val.has(i)), name);
    // seeded: the same profile gives the same rows; another seed other rows
    const again = buildLongTail(structuredClone(p), source, source);
    deepEqual(again.train.indices, splits.train.indices);
    const other = buildLongTail({ ...structuredClone(p), seed: 1 }, source, source);
    ok(other.val.indices.some((v, k) => v !== splits.val.indices[k]), name);
  }
  const ten = buildLongTail(
    structuredClone(getProfile("cifar10-lt-100")),
    sources[10],
    sources[10],
  );
  deepEqual([...ten.classCounts], [4980, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]);
  const hundred = buildLongTail(
    structuredClone(getProfile("cifar100-lt-100")),
    sources[100],
    sources[100],
  );
  equal(hundred.classCounts[0], 480);
  equal(hundred.classCounts[99], 5);
});

Deno.test("CIFAR-LT shot groups: Many > 100, Medium 20..100, Few < 20", () => {
  const groupSizes = (name: string) => {
    const p = getProfile(name);
    const C = p.classOrder.length;
    const counts = literatureCounts(p.headSize, p.imbalanceRatio, C).map((n) =>
      Math.min(n, p.headSize - 20)
    );
    const by = classesByGroup(shotGroups(counts, p.shotThresholds));
    return [by.many.length, by.medium.length, by.few.length];
  };
  deepEqual(groupSizes("cifar100-lt-100"), [35, 35, 30]);
  deepEqual(groupSizes("cifar100-lt-50"), [41, 41, 18]);
  deepEqual(groupSizes("cifar100-lt-10"), [69, 31, 0]);
  deepEqual(groupSizes("cifar10-lt-100"), [8, 2, 0]);
  deepEqual(groupSizes("cifar10-lt-10"), [10, 0, 0]);
});

Deno.test("a CIFAR profile over a small release builds its splits; the grid is RGB", async () => {
  await withTempDir(async (dir) => {
    const perClass = 12;
    const batches = [0, 1, 2, 3, 4].map((b) => tenLabels(2 * perClass, b * 2 * perClass));
    await writeCifarFolder(dir, "cifar-10", batches, tenLabels(20));
    const profile = {
      ...structuredClone(getProfile("cifar10-lt-100")),
      headSize: 10,
      valPerClass: 2,
    };
    profile.imbalanceRatio = 10;
    const splits = await loadLongTail(profile, { dataDir: dir });
    deepEqual([...splits.classCounts], literatureCounts(10, 10, 10));
    equal(splits.val.set.count, 20);
    equal(splits.test.set.count, 20);
    const set = splits.train.set;
    // the grid interleaves the three planes: cell pixel (y, x) is (R, G, B) of the image
    const grid = sampleGrid(set, { perClass: 1, scale: 1, gap: 2, barWidth: 0 });
    equal(grid.channels, 3);
    const first = set.labels.indexOf(0);
    const image = splits.train.indices[first]; // its row in the source = its pixel number
    for (const [y, x] of [[0, 0], [5, 17], [31, 31]]) {
      const at = ((2 + y) * grid.width + 2 + x) * 3;
      deepEqual(
        [...grid.pixels.subarray(at, at + 3)],
        [0, 1, 2].map((c) => cifarPixel(image, c, y, x)),
      );
    }
  });
});
