/**
 * A CIFAR-10 stand-in in the official binary format, made from the real Fashion-MNIST files:
 * each 28x28 grey image padded by 2 zero pixels to 32x32 and repeated in the three channels, 5000
 * training images per class (the first of each class, in file order) written as
 * `cifar-10-batches-bin/data_batch_1..5.bin` and the whole test set as `test_batch.bin`.
 *
 * @module
 */

import type { ImageSet } from "../../lib/data/mod.ts";
import { realFashionMnist } from "../data/_helpers.ts";

const SIDE = 32, PAD = 2, RECORD = 1 + 3 * SIDE * SIDE;

/** CIFAR-10 records (label byte, then CHW pixels) of `indices` of a 28x28 grey set. */
function records(set: ImageSet, indices: number[]): Uint8Array {
  const out = new Uint8Array(indices.length * RECORD);
  indices.forEach((index, k) => {
    const o = k * RECORD;
    out[o] = set.labels[index];
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 28; y++) {
        const from = index * 784 + y * 28;
        out.set(
          set.images.subarray(from, from + 28),
          o + 1 + c * SIDE * SIDE + (y + PAD) * SIDE + PAD,
        );
      }
    }
  });
  return out;
}

/**
 * Writes the stand-in into `dir/cifar-10-batches-bin/` (once: an existing folder is kept) and
 * returns that folder.
 */
export async function writeFashionAsCifar10(dir: string): Promise<string> {
  const folder = `${dir}/cifar-10-batches-bin`;
  try {
    await Deno.stat(`${folder}/test_batch.bin`);
    return folder;
  } catch {
    // not written yet
  }
  const { train, test } = await realFashionMnist();
  const taken = new Array(10).fill(0);
  const chosen: number[] = [];
  for (let i = 0; i < train.count; i++) {
    if (taken[train.labels[i]]++ < 5000) chosen.push(i);
  }
  const tmp = `${folder}.tmp-${Deno.pid}`;
  await Deno.mkdir(tmp, { recursive: true });
  for (let b = 0; b < 5; b++) {
    await Deno.writeFile(
      `${tmp}/data_batch_${b + 1}.bin`,
      records(train, chosen.slice(b * 10000, (b + 1) * 10000)),
    );
  }
  await Deno.writeFile(
    `${tmp}/test_batch.bin`,
    records(test, Array.from({ length: test.count }, (_, i) => i)),
  );
  const names = ["tshirt", "trouser", "pullover", "dress", "coat"]
    .concat(["sandal", "shirt", "sneaker", "bag", "boot"]);
  await Deno.writeTextFile(`${tmp}/batches.meta.txt`, names.join("\n") + "\n\n");
  await Deno.rename(tmp, folder);
  return folder;
}

if (import.meta.main) {
  console.log(await writeFashionAsCifar10(Deno.args[0] ?? "/tmp/ltkit-cifar-standin"));
}
