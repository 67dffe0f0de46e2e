/**
 * The page's file handling, in Deno (no browser needed): files go where their metadata says,
 * bad and mismatched files get the reader's messages, and a dump over the WebGPU buffer limits
 * is refused with the limit and the size.
 */

import assert from "node:assert/strict";
import { makeSyntheticFeatures, writeSyntheticFeatureDir } from "../../lib/features/synthetic.ts";
import { addFile, checkLimits, complete, missing, type PartialDump } from "../../web/load.ts";

async function dumpBytes(featureDim: number): Promise<Record<string, Uint8Array>> {
  const dir = await Deno.makeTempDir({ prefix: "ltkit_load_" });
  try {
    await writeSyntheticFeatureDir(dir, { trainCounts: [30, 10, 4], featureDim, testPerClass: 4 });
    const out: Record<string, Uint8Array> = {};
    for (const name of ["train", "val", "test", "classifier"]) {
      out[name] = await Deno.readFile(`${dir}/${name}.arrow`);
    }
    return out;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("dropped files go where their metadata says, whatever their names", async () => {
  const bytes = await dumpBytes(5);
  const dump: PartialDump = {};
  addFile(dump, "a.arrow", bytes.classifier);
  addFile(dump, "b.arrow", bytes.test);
  assert.deepEqual(missing(dump), ["train.arrow", "val.arrow"]);
  assert.equal(complete(dump, "the chosen files"), null);
  addFile(dump, "c.arrow", bytes.train);
  addFile(dump, "d.arrow", bytes.val);
  const features = complete(dump, "the chosen files")!;
  assert.equal(features.classifier?.featureDim, 5);
  assert.equal(features.test.split, "test");
});

Deno.test("bad and mismatched files get the reader's messages", async () => {
  assert.throws(
    () => addFile({}, "notes.arrow", new TextEncoder().encode("hello")),
    /^SyntaxError: Cannot read notes\.arrow: /,
  );
  const a = await dumpBytes(5), b = await dumpBytes(6);
  const dump: PartialDump = {};
  addFile(dump, "train.arrow", a.train);
  addFile(dump, "val.arrow", a.val);
  addFile(dump, "test.arrow", b.test);
  addFile(dump, "classifier.arrow", a.classifier);
  assert.throws(
    () => complete(dump, "the chosen files"),
    (e: Error) =>
      e instanceof RangeError &&
      e.message === "Cannot use features in the chosen files: the feature dimension differs " +
          "between files: train.arrow has 5, test.arrow has 6",
  );
});

Deno.test("a dump over the WebGPU buffer limits is refused with the limit and the size", () => {
  const features = makeSyntheticFeatures({ trainCounts: [300, 100, 20], featureDim: 7 });
  const roomy = { maxStorageBufferBindingSize: 2 ** 30, maxBufferSize: 2 ** 30 };
  checkLimits(features, roomy, 21);
  // train: 420 rows x 8 padded columns x 4 bytes = 13440 bytes.
  assert.throws(
    () => checkLimits(features, { maxStorageBufferBindingSize: 13439, maxBufferSize: 2 ** 30 }, 21),
    (e: Error) =>
      e instanceof RangeError &&
      e.message.startsWith(
        "Cannot run stage 2 in this browser: train.arrow's features take 0.0 MiB (13440 bytes), " +
          "over this browser's WebGPU buffer limit of 0.0 MiB (13439 bytes)",
      ),
  );
});
