import {
  deepStrictEqual as deepEqual,
  rejects,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import { idxToImageSet, parseIdx, readIdx } from "../../lib/data/mod.ts";
import { gzip, makeIdx, withTempDir } from "./_helpers.ts";

Deno.test("parseIdx reads every IDX type, raw and gzipped", () => {
  const cases: [number, string, number[]][] = [
    [0x08, "uint8", [0, 7, 255]],
    [0x09, "int8", [-128, 0, 127]],
    [0x0b, "int16", [-30000, 1, 30000]],
    [0x0c, "int32", [-(2 ** 31), 5, 2 ** 31 - 1]],
    [0x0d, "float32", [-1.5, 0, 3.25]],
    [0x0e, "float64", [Math.PI, -1e300, 0.1]],
  ];
  for (const [code, dtype, values] of cases) {
    const bytes = makeIdx(code, [3], values);
    for (const input of [bytes, gzip(bytes)]) {
      const idx = parseIdx(input, `t.${dtype}`);
      equal(idx.dtype, dtype);
      deepEqual(idx.dims, [3]);
      deepEqual([...idx.data], values);
    }
  }
  const image = parseIdx(makeIdx(8, [2, 3, 4], Array.from({ length: 24 }, (_, i) => i)), "img");
  deepEqual(image.dims, [2, 3, 4]);
  equal(image.data[23], 23);
});

Deno.test("readIdx reads files from disk and idxToImageSet pairs images with labels", async () => {
  await withTempDir(async (dir) => {
    const pixels = Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 10);
    await Deno.writeFile(`${dir}/img.gz`, gzip(makeIdx(8, [3, 2, 2], pixels)));
    await Deno.writeFile(`${dir}/lab`, makeIdx(8, [3], [2, 0, 1]));
    const set = idxToImageSet(await readIdx(`${dir}/img.gz`), await readIdx(`${dir}/lab`), {
      imagesName: "img.gz",
      labelsName: "lab",
      classCount: 3,
      classNames: ["a", "b", "c"],
    });
    equal(set.count, 3);
    deepEqual([set.channels, set.height, set.width, set.classCount], [1, 2, 2, 3]);
    deepEqual([...set.labels], [2, 0, 1]);
    deepEqual([...set.images], pixels);
    deepEqual(set.classNames, ["a", "b", "c"]);
    // rank 4 is (N,C,H,W); the class count defaults to the largest label + 1
    const four = idxToImageSet(
      parseIdx(makeIdx(8, [1, 3, 1, 2], [1, 2, 3, 4, 5, 6]), "i4"),
      parseIdx(makeIdx(8, [1], [4]), "l4"),
      { imagesName: "i4", labelsName: "l4" },
    );
    deepEqual([four.channels, four.height, four.width, four.classCount], [3, 1, 2, 5]);
  });
});

Deno.test("a wrong magic number is reported with the file name and the value", () => {
  const bytes = makeIdx(8, [3], [1, 2, 3]);
  bytes[0] = 0x12;
  throws(
    () => parseIdx(bytes, "bad-magic.idx"),
    (e: Error) =>
      e instanceof SyntaxError &&
      /Cannot read IDX file bad-magic.idx: wrong magic/.test(e.message) &&
      e.message.includes("0x12000801"),
  );
  const html = new TextEncoder().encode("<html><body>404</body></html>");
  throws(() => parseIdx(html, "page.gz"), /page.gz: wrong magic number 0x3c68746d/);
  const badType = makeIdx(8, [1], [1]);
  badType[2] = 0x0a;
  throws(() => parseIdx(badType, "t"), /wrong magic number 0x00000a01/);
  throws(() => parseIdx(new Uint8Array(2), "tiny"), /tiny: it has 2 bytes/);
});

Deno.test("truncated and corrupt files are reported, raw and gzipped", async () => {
  const bytes = makeIdx(8, [100, 28, 28], new Uint8Array(78400).map((_, i) => i % 251));
  throws(
    () => parseIdx(bytes.subarray(0, 1000), "short.idx"),
    (e: Error) =>
      e instanceof SyntaxError &&
      /short.idx: truncated: dims \(100,28,28\) of uint8 need 78416 bytes but the file has 1000/
        .test(e.message),
  );
  throws(() => parseIdx(bytes.subarray(0, 10), "head.idx"), /head.idx: truncated header/);
  const long = new Uint8Array(bytes.length + 3);
  long.set(bytes);
  throws(() => parseIdx(long, "long.idx"), /long.idx: too long/);
  const z = gzip(bytes);
  throws(
    () => parseIdx(z.subarray(0, Math.floor(z.length / 2)), "cut.gz"),
    (e: Error) =>
      e instanceof SyntaxError &&
      /Cannot read cut.gz: the gzip stream is truncated/.test(e.message),
  );
  const corrupt = z.slice();
  corrupt[z.length - 6] ^= 0xff; // CRC trailer
  throws(() => parseIdx(corrupt, "crc.gz"), /Cannot read crc.gz: the gzip stream is corrupt/);
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/cut.gz`, z.subarray(0, 100));
    await rejects(
      readIdx(`${dir}/cut.gz`),
      new RegExp(`${dir}/cut.gz: the gzip stream is truncated`),
    );
  });
});

Deno.test("images and labels of different counts, and labels out of range, are rejected", () => {
  const images = parseIdx(makeIdx(8, [3, 2, 2], new Uint8Array(12)), "train-images");
  const labels = parseIdx(makeIdx(8, [2], [0, 1]), "train-labels");
  throws(
    () => idxToImageSet(images, labels, { imagesName: "train-images", labelsName: "train-labels" }),
    (e: Error) =>
      e instanceof RangeError &&
      e.message === "Cannot pair images and labels: train-images has 3 images but train-labels " +
          "has 2 labels; use the labels file that belongs to these images",
  );
  const outOfRange = parseIdx(makeIdx(8, [3], [0, 11, 2]), "labels-idx1");
  throws(
    () =>
      idxToImageSet(images, outOfRange, {
        imagesName: "images",
        labelsName: "labels-idx1",
        classCount: 10,
      }),
    /Cannot use labels-idx1 as labels: label 11 at index 1 is outside 0..9/,
  );
  const negative = parseIdx(makeIdx(9, [3], [0, -1, 2]), "neg");
  throws(
    () => idxToImageSet(images, negative, { imagesName: "i", labelsName: "neg" }),
    /label -1 at index 1/,
  );
  const float = parseIdx(makeIdx(0x0d, [3], [0, 1, 2]), "f");
  throws(
    () => idxToImageSet(images, float, { imagesName: "i", labelsName: "f" }),
    /expected integers/,
  );
  const flat = parseIdx(makeIdx(8, [12], new Uint8Array(12)), "flat");
  throws(
    () => idxToImageSet(flat, labels, { imagesName: "flat", labelsName: "l" }),
    /Cannot use flat as images: rank 1/,
  );
});
