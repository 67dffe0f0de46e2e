/**
 * Writes the `fashion-mnist-lt-list` stand-in: Fashion-MNIST images as JPEG files (cjpeg) with
 * ImageNet_LT-style lists, under `--out`, ready for `deno task pack`.
 *
 * ```text
 * deno run --allow-read --allow-write=data --allow-run=cjpeg scripts/fashion_mnist_list.ts \
 *   --out data/fmnist-list [--head 300] [--ratio 20] [--val 10] [--test 40]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadFashionMnist, writeFashionMnistList } from "../lib/data/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    out: { type: "string" },
    head: { type: "string", default: "300" },
    ratio: { type: "string", default: "20" },
    val: { type: "string", default: "10" },
    test: { type: "string", default: "40" },
  },
});
if (!values.out) {
  console.error("error: Cannot write the stand-in: give --out DIR (a folder that does not exist)");
  Deno.exit(2);
}
const int = (name: "head" | "ratio" | "val" | "test") => {
  const v = Number(values[name]);
  if (!Number.isInteger(v) || v < 1) {
    console.error(
      `error: Cannot write the stand-in: --${name} ${values[name]} is not an integer >= 1`,
    );
    Deno.exit(2);
  }
  return v;
};
const { train, test } = await loadFashionMnist();
const files = await writeFashionMnistList(train, test, values.out, {
  head: int("head"),
  ratio: int("ratio"),
  valPerClass: int("val"),
  testPerClass: int("test"),
});
console.log(`wrote ${files.train}, ${files.val}, ${files.test}`);
