/**
 * A stand-in for ImageNet-LT in its own on-disk format, for machines without it: Fashion-MNIST
 * images written as JPEG files (libjpeg-turbo's `cjpeg`, quality 90, grey pixels as RGB) with
 * ImageNet_LT-style list files `FashionMNIST_LT/FashionMNIST_LT_{train,val,test}.txt`, one
 * `images/<split>/<class>/<n>.jpg <class>` per line, for the `fashion-mnist-lt-list` profile.
 *
 * Training class c keeps floor(head x ratio^(-c/9)) images, the first of that class in
 * Fashion-MNIST's training file; val takes the next `valPerClass` of each class (balanced, as
 * ImageNet-LT's val); test the first `testPerClass` of each class of the test file.
 *
 * @module
 */

import { joinPath } from "./_find.ts";
import type { ImageSet } from "./image_set.ts";

/**
 * Sizes of the stand-in.
 *
 * @example
 * ```ts
 * import type { StandInOptions } from "./fashion_mnist_list.ts";
 * const small: StandInOptions = { head: 150, ratio: 20, valPerClass: 10, testPerClass: 30 };
 * ```
 */
export interface StandInOptions {
  /** Training images of class 0. */
  head: number;
  /** Imbalance ratio: class 0 over class 9. */
  ratio: number;
  /** Val images per class. */
  valPerClass: number;
  /** Test images per class. */
  testPerClass: number;
}

/**
 * Training images per class of the stand-in.
 *
 * @param o The sizes.
 * @returns (10) counts.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { standInCounts } from "./fashion_mnist_list.ts";
 * deepEqual(standInCounts({ head: 150, ratio: 20, valPerClass: 1, testPerClass: 1 }),
 *   [150, 107, 77, 55, 39, 28, 20, 14, 10, 7]);
 * ```
 */
export function standInCounts(o: StandInOptions): number[] {
  return Array.from({ length: 10 }, (_, c) => Math.floor(o.head * o.ratio ** (-c / 9) + 1e-9));
}

/** One grey image of a set as a binary PPM (P6), the input cjpeg reads. */
function ppm(set: ImageSet, i: number): Uint8Array {
  const { height: h, width: w } = set;
  const head = new TextEncoder().encode(`P6\n${w} ${h}\n255\n`);
  const out = new Uint8Array(head.length + h * w * 3);
  out.set(head);
  const px = set.images.subarray(i * h * w, (i + 1) * h * w);
  for (let p = 0; p < h * w; p++) out.fill(px[p], head.length + 3 * p, head.length + 3 * p + 3);
  return out;
}

async function cjpeg(input: Uint8Array, path: string): Promise<void> {
  const child = new Deno.Command("cjpeg", {
    args: ["-quality", "90", "-outfile", path],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(input);
  await writer.close();
  const { success, stderr } = await child.output();
  if (!success) {
    throw new Error(`Cannot write ${path}: cjpeg failed (${new TextDecoder().decode(stderr)})`);
  }
}

/**
 * Writes the stand-in under `out`: JPEG files and the three lists.
 *
 * @param train Fashion-MNIST's training set (grey, 28x28).
 * @param test Its test set.
 * @param out The image root to create (must not exist yet).
 * @param o The sizes.
 * @returns The list files.
 * @throws {RangeError} When a class has too few images for the sizes asked.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import type { ImageSet } from "./image_set.ts";
 * import { writeFashionMnistList } from "./fashion_mnist_list.ts";
 * // A tiny grey set with two 4x4 images per class stands in for Fashion-MNIST here.
 * const set = (n: number): ImageSet => ({
 *   images: new Uint8Array(n * 10 * 16).fill(128),
 *   labels: Int32Array.from({ length: n * 10 }, (_, i) => i % 10),
 *   count: n * 10, channels: 1, height: 4, width: 4, classCount: 10,
 * });
 * const out = `${await Deno.makeTempDir()}/list`;
 * const lists = await writeFashionMnistList(set(2), set(1), out, {
 *   head: 1, ratio: 1, valPerClass: 1, testPerClass: 1,
 * });
 * const train = (await Deno.readTextFile(lists.train)).trim().split("\n");
 * equal(train.length, 10);
 * equal(train[3], "images/train/3/00003.jpg 3");
 * equal((await Deno.stat(`${out}/images/val/3/00013.jpg`)).isFile, true);
 * await Deno.remove(out, { recursive: true });
 * ```
 */
export async function writeFashionMnistList(
  train: ImageSet,
  test: ImageSet,
  out: string,
  o: StandInOptions,
): Promise<{ train: string; val: string; test: string }> {
  await Deno.mkdir(out);
  const counts = standInCounts(o);
  const lists: Record<"train" | "val" | "test", string[]> = { train: [], val: [], test: [] };
  const jobs: { set: ImageSet; i: number; path: string }[] = [];
  const take = (
    set: ImageSet,
    split: "train" | "val" | "test",
    c: number,
    from: number,
    n: number,
  ) => {
    const of: number[] = [];
    for (let i = 0; i < set.count && of.length < from + n; i++) if (set.labels[i] === c) of.push(i);
    if (of.length < from + n) {
      throw new RangeError(
        `Cannot write the stand-in: class ${c} has ${of.length} images, ${from + n} are needed`,
      );
    }
    for (const i of of.slice(from)) {
      const rel = `images/${split}/${c}/${String(i).padStart(5, "0")}.jpg`;
      lists[split].push(`${rel} ${c}`);
      jobs.push({ set, i, path: joinPath(out, rel) });
    }
  };
  for (let c = 0; c < 10; c++) {
    take(train, "train", c, 0, counts[c]);
    take(train, "val", c, counts[c], o.valPerClass);
    take(test, "test", c, 0, o.testPerClass);
    for (const split of ["train", "val", "test"]) {
      await Deno.mkdir(joinPath(out, `images/${split}/${c}`), { recursive: true });
    }
  }
  // A few encoders at a time: each is a short process.
  for (let k = 0; k < jobs.length; k += 8) {
    await Promise.all(jobs.slice(k, k + 8).map((j) => cjpeg(ppm(j.set, j.i), j.path)));
  }
  const dir = joinPath(out, "FashionMNIST_LT");
  await Deno.mkdir(dir);
  const files = {
    train: joinPath(dir, "FashionMNIST_LT_train.txt"),
    val: joinPath(dir, "FashionMNIST_LT_val.txt"),
    test: joinPath(dir, "FashionMNIST_LT_test.txt"),
  };
  for (const split of ["train", "val", "test"] as const) {
    await Deno.writeTextFile(files[split], lists[split].join("\n") + "\n");
  }
  return files;
}
