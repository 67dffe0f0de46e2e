import {
  deepStrictEqual as deepEqual,
  ok,
  rejects,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  countPerClass,
  FASHION_MNIST_CLASSES,
  findFashionMnist,
  loadFashionMnist,
} from "../../lib/data/mod.ts";
import {
  ignoreRealData,
  realFashionMnist,
  syntheticSet,
  withEnv,
  withTempDir,
  writeFakeFashionMnist,
} from "./_helpers.ts";

const TRAIN = syntheticSet([3, 3, 2, 2, 2, 2, 2, 2, 2, 2], { height: 28, width: 28 });
const TEST = syntheticSet([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], { height: 28, width: 28 });

Deno.test("dataDir wins, then LTKIT_DATA; a fashion-mnist/ subfolder is found too", async () => {
  await withTempDir(async (root) => {
    const a = `${root}/a`, b = `${root}/b`;
    await Deno.mkdir(a);
    await Deno.mkdir(`${b}/fashion-mnist`, { recursive: true });
    await writeFakeFashionMnist(a, TRAIN, TEST);
    await writeFakeFashionMnist(`${b}/fashion-mnist`, TRAIN, TEST, { gzip: false });
    await withEnv("LTKIT_DATA", b, async () => {
      const viaEnv = findFashionMnist();
      equal(viaEnv.via, "LTKIT_DATA");
      equal(viaEnv.dir, `${b}/fashion-mnist`);
      ok(viaEnv.files.trainImages.endsWith("train-images-idx3-ubyte")); // raw files work
      const viaOption = findFashionMnist({ dataDir: a });
      equal(viaOption.via, "dataDir");
      equal(viaOption.dir, a);
      const { train, test, location } = await loadFashionMnist({ dataDir: a });
      equal(location.via, "dataDir");
      equal(train.count, TRAIN.count);
      equal(test.count, 10);
      deepEqual([...train.labels], [...TRAIN.labels]);
      deepEqual(train.images, TRAIN.images);
      deepEqual(train.classNames, [...FASHION_MNIST_CLASSES]);
    });
  });
});

Deno.test("a folder given explicitly but lacking the files is an error that says how to get them", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/train-images-idx3-ubyte.gz`, new Uint8Array(1));
    throws(
      () => findFashionMnist({ dataDir: dir }),
      (e: Error) =>
        e instanceof Deno.errors.NotFound &&
        e.message.includes("Cannot find Fashion-MNIST in the folder given by --data-dir") &&
        e.message.includes(
          `${dir} (missing train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz`,
        ) &&
        e.message.includes("apt-get install dataset-fashion-mnist") &&
        e.message.includes("deno task data") &&
        e.message.includes("LTKIT_DATA"),
    );
    await withEnv("LTKIT_DATA", `${dir}/nowhere`, () => {
      throws(() => findFashionMnist(), /in the folder given by the LTKIT_DATA variable/);
    });
  });
});

Deno.test("loading names the file when train images and labels disagree or are not 28x28", async () => {
  await withTempDir(async (dir) => {
    const small = syntheticSet([2, 2, 2, 2, 2, 2, 2, 2, 2, 2]); // 4x4 images
    await writeFakeFashionMnist(dir, small, small);
    await rejects(
      loadFashionMnist({ dataDir: dir }),
      /train-images-idx3-ubyte.gz holds 1x4x4 images, not 1x28x28/,
    );
    await writeFakeFashionMnist(dir, TRAIN, TEST);
    await Deno.copyFile(`${dir}/t10k-labels-idx1-ubyte.gz`, `${dir}/train-labels-idx1-ubyte.gz`);
    await rejects(
      loadFashionMnist({ dataDir: dir }),
      new RegExp(
        `Cannot pair images and labels: ${dir}/train-images-idx3-ubyte.gz has 22 images but ` +
          `${dir}/train-labels-idx1-ubyte.gz has 10 labels`,
      ),
    );
  });
});

Deno.test({
  name: "real Fashion-MNIST: 60,000 + 10,000 balanced images with the known labels and pixels",
  ignore: ignoreRealData,
  async fn() {
    const { train, test } = await realFashionMnist();
    deepEqual([train.count, test.count], [60000, 10000]);
    deepEqual([train.channels, train.height, train.width, train.classCount], [1, 28, 28, 10]);
    deepEqual([...countPerClass(train.labels, 10)], new Array(10).fill(6000));
    deepEqual([...countPerClass(test.labels, 10)], new Array(10).fill(1000));
    deepEqual([...train.labels.subarray(0, 10)], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    deepEqual([...test.labels.subarray(0, 10)], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
    equal(sha(train.images), "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012");
    equal(sha(test.images), "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a");
  },
});
