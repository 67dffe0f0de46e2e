/**
 * Finding and loading Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 60,000 training and 10,000
 * test images, 28x28 uint8, 10 classes, as four IDX files, gzipped or raw.
 *
 * Search order: `options.dataDir`, the `LTKIT_DATA` variable, `data/fashion-mnist/` in the
 * repository (and in the working directory), then Debian's `/usr/share/datasets/fashion-mnist/`.
 * A folder given explicitly (option or variable) must hold the files: it is an error, not a
 * fallback, when it does not.
 *
 * @module
 */

import { FASHION_MNIST_CLASSES, type ImageSet } from "./image_set.ts";
import { idxToImageSet, readIdx } from "./idx.ts";
import { envDataDir, fileExists, joinPath, repositoryDataDirs } from "./_find.ts";

/**
 * The four Fashion-MNIST files by role, with their official (gzipped) names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FASHION_MNIST_FILES } from "./fashion_mnist.ts";
 * assert.equal(FASHION_MNIST_FILES.testLabels, "t10k-labels-idx1-ubyte.gz");
 * ```
 */
export const FASHION_MNIST_FILES: Readonly<{
  trainImages: "train-images-idx3-ubyte.gz";
  trainLabels: "train-labels-idx1-ubyte.gz";
  testImages: "t10k-images-idx3-ubyte.gz";
  testLabels: "t10k-labels-idx1-ubyte.gz";
}> = Object.freeze({
  trainImages: "train-images-idx3-ubyte.gz",
  trainLabels: "train-labels-idx1-ubyte.gz",
  testImages: "t10k-images-idx3-ubyte.gz",
  testLabels: "t10k-labels-idx1-ubyte.gz",
});

/**
 * A role in {@link FASHION_MNIST_FILES}.
 *
 * @example
 * ```ts
 * import type { FashionMnistFile } from "./fashion_mnist.ts";
 * const role: FashionMnistFile = "trainImages";
 * ```
 */
export type FashionMnistFile = keyof typeof FASHION_MNIST_FILES;

/**
 * Debian's `dataset-fashion-mnist` install folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEBIAN_FASHION_MNIST_DIR } from "./fashion_mnist.ts";
 * assert.equal(DEBIAN_FASHION_MNIST_DIR, "/usr/share/datasets/fashion-mnist");
 * ```
 */
export const DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/**
 * Where `deno task data` downloads to, relative to the repository root.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_DOWNLOAD_DIR } from "./fashion_mnist.ts";
 * assert.equal(DEFAULT_DOWNLOAD_DIR, "data/fashion-mnist");
 * ```
 */
export const DEFAULT_DOWNLOAD_DIR = "data/fashion-mnist";

/**
 * Options for {@link findFashionMnist} and {@link loadFashionMnist}.
 *
 * @example
 * ```ts
 * import type { FashionMnistOptions } from "./fashion_mnist.ts";
 * const options: FashionMnistOptions = { dataDir: "/srv/datasets/fashion-mnist" };
 * ```
 */
export interface FashionMnistOptions {
  /** A folder holding the four files (or a `fashion-mnist/` folder that does). */
  dataDir?: string;
}

/**
 * Where the files were found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FashionMnistLocation } from "./fashion_mnist.ts";
 * const say = (where: FashionMnistLocation) => `${where.dir} (via ${where.via})`;
 * const where: FashionMnistLocation = { dir: "data/fashion-mnist", via: "repository", files: {
 *   trainImages: "", trainLabels: "", testImages: "", testLabels: "",
 * } };
 * assert.equal(say(where), "data/fashion-mnist (via repository)");
 * ```
 */
export interface FashionMnistLocation {
  /** The folder. */
  dir: string;
  /** Which search step found it. */
  via: "dataDir" | "LTKIT_DATA" | "repository" | "debian";
  /** Full path of each file. */
  files: Record<FashionMnistFile, string>;
}

/**
 * The search steps and how to get the data, for error messages.
 *
 * @example
 * ```ts
 * import { HOW_TO_GET_FASHION_MNIST } from "./fashion_mnist.ts";
 * console.error(`Fashion-MNIST is missing:\n${HOW_TO_GET_FASHION_MNIST}`);
 * ```
 */
export const HOW_TO_GET_FASHION_MNIST: string = [
  "install the Debian package: apt-get install dataset-fashion-mnist " +
  `(files go to ${DEBIAN_FASHION_MNIST_DIR}/)`,
  "download them: deno task data (into data/fashion-mnist/, SHA-256 verified)",
  "put the four files (" + Object.values(FASHION_MNIST_FILES).join(", ") +
  ", gzipped or not) in a folder and pass --data-dir DIR or set LTKIT_DATA=DIR",
].map((s) => "  - " + s).join("\n");

function candidateNames(gzName: string): string[] {
  const raw = gzName.replace(/\.gz$/, "");
  return [gzName, raw, raw.replace(/-(idx\d)/, ".$1")];
}

/** The files in `dir`, or the names that are missing. */
function probe(dir: string): Record<FashionMnistFile, string> | string[] {
  const found: Partial<Record<FashionMnistFile, string>> = {};
  const missing: string[] = [];
  for (const [role, name] of Object.entries(FASHION_MNIST_FILES)) {
    const hit = candidateNames(name).map((n) => joinPath(dir, n)).find(fileExists);
    if (hit) found[role as FashionMnistFile] = hit;
    else missing.push(name);
  }
  return missing.length ? missing : found as Record<FashionMnistFile, string>;
}

/**
 * Find the four Fashion-MNIST files.
 *
 * @param options An explicit folder to use.
 * @returns The folder, how it was found, and the path of each file.
 * @throws {Deno.errors.NotFound} Listing the places searched and the ways to get the data.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FASHION_MNIST_FILES, findFashionMnist } from "./fashion_mnist.ts";
 * const dir = await Deno.makeTempDir();
 * // Only the names matter for finding; the files are read by loadFashionMnist.
 * for (const name of Object.values(FASHION_MNIST_FILES)) {
 *   await Deno.writeFile(`${dir}/${name}`, new Uint8Array());
 * }
 * const where = findFashionMnist({ dataDir: dir });
 * assert.deepEqual([where.via, where.files.testLabels === `${dir}/t10k-labels-idx1-ubyte.gz`], [
 *   "dataDir",
 *   true,
 * ]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function findFashionMnist(options: FashionMnistOptions = {}): FashionMnistLocation {
  const explicit: [FashionMnistLocation["via"], string | undefined][] = [
    ["dataDir", options.dataDir],
    ["LTKIT_DATA", envDataDir()],
  ];
  for (const [via, dir] of explicit) {
    if (dir === undefined) continue;
    const tried: string[] = [];
    for (const d of [dir, joinPath(dir, "fashion-mnist")]) {
      const files = probe(d);
      if (!Array.isArray(files)) return { dir: d, via, files };
      tried.push(`${d} (missing ${files.join(", ")})`);
    }
    const flag = via === "dataDir" ? "--data-dir / dataDir" : "the LTKIT_DATA variable";
    throw new Deno.errors.NotFound(
      `Cannot find Fashion-MNIST in the folder given by ${flag}: ${tried.join("; ")}.\n` +
        `Fix the folder, or get the files:\n${HOW_TO_GET_FASHION_MNIST}`,
    );
  }
  const tried: string[] = [];
  const auto: [FashionMnistLocation["via"], string][] = [
    ...repositoryDataDirs("fashion-mnist").map((d) =>
      ["repository", d] as [FashionMnistLocation["via"], string]
    ),
    ["debian", DEBIAN_FASHION_MNIST_DIR],
  ];
  for (const [via, dir] of auto) {
    const files = probe(dir);
    if (!Array.isArray(files)) return { dir, via, files };
    tried.push(dir);
  }
  throw new Deno.errors.NotFound(
    `Cannot find Fashion-MNIST: searched --data-dir (not given), LTKIT_DATA (not set), ` +
      `${tried.join(", ")}.\nGet the four files in one of these ways:\n${HOW_TO_GET_FASHION_MNIST}`,
  );
}

/**
 * Load Fashion-MNIST's training and test sets.
 *
 * @param options An explicit folder to use; see the module doc for the search order.
 * @returns `train` (60,000 images) and `test` (10,000), 1x28x28, with class names.
 * @throws {Deno.errors.NotFound} When the files are nowhere; {@link SyntaxError} or
 *   {@link RangeError} when a file is truncated, corrupt or mismatched, naming the file.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadFashionMnist } from "./fashion_mnist.ts";
 * // A stand-in folder in the same format (raw IDX files, 28x28 images): two training images and
 * // one test image. The real files hold 60,000 and 10,000.
 * const idx = (type: number, dims: number[], data: Uint8Array) => {
 *   const header = new DataView(new ArrayBuffer(4 + 4 * dims.length));
 *   header.setUint32(0, (type << 8) | dims.length);
 *   dims.forEach((d, i) => header.setUint32(4 + 4 * i, d));
 *   return new Uint8Array([...new Uint8Array(header.buffer), ...data]);
 * };
 * const dir = await Deno.makeTempDir();
 * const write = (name: string, bytes: Uint8Array) => Deno.writeFile(`${dir}/${name}`, bytes);
 * await write("train-images-idx3-ubyte", idx(8, [2, 28, 28], new Uint8Array(2 * 784)));
 * await write("train-labels-idx1-ubyte", idx(8, [2], Uint8Array.of(9, 0)));
 * await write("t10k-images-idx3-ubyte", idx(8, [1, 28, 28], new Uint8Array(784)));
 * await write("t10k-labels-idx1-ubyte", idx(8, [1], Uint8Array.of(3)));
 * const { train, test } = await loadFashionMnist({ dataDir: dir });
 * assert.deepEqual([train.count, test.count, train.classNames?.[train.labels[0]]], [2, 1, "Ankle boot"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadFashionMnist(
  options: FashionMnistOptions = {},
): Promise<{ train: ImageSet; test: ImageSet; location: FashionMnistLocation }> {
  const location = findFashionMnist(options);
  const f = location.files;
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    [f.trainImages, f.trainLabels, f.testImages, f.testLabels].map(readIdx),
  );
  const common = { classCount: 10, classNames: FASHION_MNIST_CLASSES };
  const train = idxToImageSet(trainImages, trainLabels, {
    imagesName: f.trainImages,
    labelsName: f.trainLabels,
    ...common,
  });
  const test = idxToImageSet(testImages, testLabels, {
    imagesName: f.testImages,
    labelsName: f.testLabels,
    ...common,
  });
  for (const [set, name] of [[train, f.trainImages], [test, f.testImages]] as const) {
    if (set.height !== 28 || set.width !== 28 || set.channels !== 1) {
      throw new RangeError(
        `Cannot load Fashion-MNIST: ${name} holds ${set.channels}x${set.height}x${set.width} ` +
          "images, not 1x28x28; is it another data set?",
      );
    }
  }
  return { train, test, location };
}
