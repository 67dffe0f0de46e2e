/**
 * The image-list benchmarks of the paper (ImageNet-LT, Places-LT, iNaturalist 2018) as rows of a
 * table, and loading a profile's lists into train, val and test entries with class counts and
 * shot groups taken from the lists.
 *
 * Layout on disk: `--data-dir DIR` is the image root (the list paths are relative to it); the
 * list files are found in DIR or in DIR/<listFolder> (the folder names of the paper's code,
 * github.com/facebookresearch/classifier-balancing, `data/ImageNet_LT/` and so on).
 *
 * @module
 */

import { dirExists, fileExists, joinPath } from "./_find.ts";
import {
  drawTuneSet,
  type ImageListEntry,
  listClassCounts,
  type ListOptions,
  type ListProblem,
  readImageList,
  type TuneDraw,
} from "./image_list.ts";
import { PAPER_SHOT_THRESHOLDS, type ShotThresholds } from "./profiles.ts";
import { type ShotGroup, shotGroups } from "./shot_groups.ts";

/**
 * An image-list profile.
 *
 * @example
 * ```ts
 * import type { ImageListProfile } from "./image_list_profiles.ts";
 * const mine: ImageListProfile = {
 *   name: "mine-lt", title: "Mine-LT", listFolder: "Mine_LT", classCount: 3,
 *   lists: { train: "Mine_LT_train.txt", val: "Mine_LT_val.txt", test: "Mine_LT_test.txt" },
 *   shotThresholds: { many: 100, few: 20 },
 *   normalization: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
 * };
 * ```
 */
export interface ImageListProfile {
  /** Registry name, e.g. `imagenet-lt`. */
  name: string;
  /** Human name. */
  title: string;
  /** The folder of the lists in the paper's code (looked for under the data folder). */
  listFolder: string;
  /** The number of classes the lists must give. */
  classCount: number;
  /** List file names: `val` absent when the tuning set is drawn from train (see `tune`). */
  lists: { train: string; val?: string; test: string };
  /** How the tuning set is drawn from train when `lists.val` is absent. */
  tune?: TuneDraw;
  /** Shot-group thresholds on training counts. */
  shotThresholds: ShotThresholds;
  /** Per-channel mean and std of x/255. */
  normalization: { mean: number[]; std: number[] };
  /** Where constants and lists come from, and decisions made. */
  notes?: string;
  /**
   * The network's input: training crops and the evaluation centre crop are `size` pixels square,
   * evaluation first resizes the shorter side to `resize`. Absent: the paper's 224 and 256
   * ({@link profileCrop}).
   */
  crop?: { size: number; resize: number };
}

/**
 * The crop of a profile: its own, or the paper's RandomResizedCrop 224 and Resize 256.
 *
 * @param profile The profile.
 * @returns The crop side and the evaluation resize.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { IMAGE_LIST_PROFILES, profileCrop } from "./image_list_profiles.ts";
 * deepEqual(profileCrop(IMAGE_LIST_PROFILES["imagenet-lt"]), { size: 224, resize: 256 });
 * deepEqual(profileCrop(IMAGE_LIST_PROFILES["fashion-mnist-lt-list"]), { size: 32, resize: 36 });
 * ```
 */
export function profileCrop(
  profile: Readonly<Pick<ImageListProfile, "crop">>,
): { size: number; resize: number } {
  return { size: profile.crop?.size ?? 224, resize: profile.crop?.resize ?? 256 };
}

/**
 * ImageNet's per-channel statistics of x/255 (torchvision's `transforms.Normalize` constants),
 * which the paper's code uses for all three benchmarks.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { IMAGENET_NORMALIZATION } from "./image_list_profiles.ts";
 * equal(IMAGENET_NORMALIZATION.mean[0], 0.485);
 * ```
 */
export const IMAGENET_NORMALIZATION: Readonly<{ mean: number[]; std: number[] }> = Object.freeze({
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
});

function row(
  p:
    & Omit<ImageListProfile, "shotThresholds" | "normalization">
    & Partial<Pick<ImageListProfile, "normalization">>,
): ImageListProfile {
  return {
    ...p,
    shotThresholds: { ...PAPER_SHOT_THRESHOLDS },
    normalization: p.normalization ??
      structuredClone(IMAGENET_NORMALIZATION) as ImageListProfile["normalization"],
  };
}

/**
 * The registered image-list profiles. ImageNet-LT (1000 classes, 115,846 train, 20 val and 50
 * test images per class) and Places-LT (365 classes, 62,500 train, 20 val and 100 test per class)
 * ship all three lists. iNaturalist 2018 (8,142 classes, 437,513 train, 24,426 val) ships train
 * and val only and is evaluated on val, so its val list plays test here and the tuning set is
 * drawn from train: 2 images per class (seed 0) from every class with at least 10 training
 * images; smaller classes give none and keep all their images, so they are missing from the
 * tuning set (listed by `deno task data --info`). `fashion-mnist-lt-list` is a stand-in in the
 * same format for machines without those data sets: Fashion-MNIST images written as JPEG files
 * with ImageNet_LT-style lists (`FashionMNIST_LT_{train,val,test}.txt`), trained at a 32-pixel
 * crop (evaluation resize 36, the paper's 256/224 ratio) so that a small network can learn it;
 * `scripts/fashion_mnist_list.ts` writes it. Frozen: copy with `structuredClone` to edit.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { IMAGE_LIST_PROFILES } from "./image_list_profiles.ts";
 * deepEqual(Object.keys(IMAGE_LIST_PROFILES), [
 *   "imagenet-lt",
 *   "places-lt",
 *   "inat2018",
 *   "fashion-mnist-lt-list",
 * ]);
 * ```
 */
export const IMAGE_LIST_PROFILES: Readonly<Record<string, Readonly<ImageListProfile>>> = Object
  .freeze({
    "imagenet-lt": row({
      name: "imagenet-lt",
      title: "ImageNet-LT",
      listFolder: "ImageNet_LT",
      classCount: 1000,
      lists: {
        train: "ImageNet_LT_train.txt",
        val: "ImageNet_LT_val.txt",
        test: "ImageNet_LT_test.txt",
      },
      notes: "lists of Liu et al. (OLTR, 2019); paths relative to the ImageNet 2012 root; " +
        "normalisation: ImageNet mean/std (torchvision), as in the paper's code",
    }),
    "places-lt": row({
      name: "places-lt",
      title: "Places-LT",
      listFolder: "Places_LT",
      classCount: 365,
      lists: { train: "Places_LT_train.txt", val: "Places_LT_val.txt", test: "Places_LT_test.txt" },
      notes: "lists of Liu et al. (OLTR, 2019); paths relative to the Places-365 root; " +
        "normalisation: ImageNet mean/std (torchvision), as in the paper's code",
    }),
    "inat2018": row({
      name: "inat2018",
      title: "iNaturalist 2018",
      listFolder: "iNaturalist18",
      classCount: 8142,
      lists: { train: "iNaturalist18_train.txt", test: "iNaturalist18_val.txt" },
      tune: { perClass: 2, minClassSize: 10, seed: 0 },
      notes: "the official val list is the test set (the benchmark is evaluated on it); the " +
        "tuning set is 2 images per class drawn from train (seed 0) for classes with at least " +
        "10 training images; smaller classes give none; normalisation: ImageNet mean/std",
    }),
    "fashion-mnist-lt-list": row({
      name: "fashion-mnist-lt-list",
      title: "Fashion-MNIST-LT as an image list (stand-in)",
      listFolder: "FashionMNIST_LT",
      classCount: 10,
      lists: {
        train: "FashionMNIST_LT_train.txt",
        val: "FashionMNIST_LT_val.txt",
        test: "FashionMNIST_LT_test.txt",
      },
      // Grey images written as RGB: Fashion-MNIST's own statistics in every channel.
      normalization: { mean: [0.286, 0.286, 0.286], std: [0.353, 0.353, 0.353] },
      crop: { size: 32, resize: 36 },
      notes: "a stand-in in ImageNet-LT's format: Fashion-MNIST images as JPEG files with " +
        "long-tailed list files (scripts/fashion_mnist_list.ts); crop 32, evaluation resize 36; " +
        "normalisation: Fashion-MNIST's mean/std in each channel",
    }),
  });

/**
 * Look up an image-list profile.
 *
 * @param name A key of {@link IMAGE_LIST_PROFILES}.
 * @returns The profile, or undefined.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { findImageListProfile } from "./image_list_profiles.ts";
 * equal(findImageListProfile("places-lt")?.classCount, 365);
 * equal(findImageListProfile("cifar10-lt-100"), undefined);
 * ```
 */
export function findImageListProfile(name: string): Readonly<ImageListProfile> | undefined {
  return Object.hasOwn(IMAGE_LIST_PROFILES, name) ? IMAGE_LIST_PROFILES[name] : undefined;
}

/**
 * The splits of an image-list profile.
 *
 * @example
 * ```ts
 * import type { ImageListSplits } from "./image_list_profiles.ts";
 * const sizes = (s: ImageListSplits) => [s.train.length, s.val.length, s.test.length];
 * ```
 */
export interface ImageListSplits {
  /** The profile. */
  profile: Readonly<ImageListProfile>;
  /** The image root. */
  root: string;
  /** The list file of each split (`val` may be `train`'s, when drawn from it). */
  files: { train: string; val: string; test: string };
  /** Entries of each split. */
  train: ImageListEntry[];
  /** Tuning entries. */
  val: ImageListEntry[];
  /** Test entries. */
  test: ImageListEntry[];
  /** Training images per class, (C). */
  classCounts: Int32Array;
  /** The shot group of each class, from `classCounts`. */
  groups: ShotGroup[];
  /** Classes too small to give a tuning image (drawn tuning sets only). */
  tooSmall: number[];
  /** Lines skipped (with `skipBad` only), per split. */
  problems: { train: ListProblem[]; val: ListProblem[]; test: ListProblem[] };
}

/**
 * Find a list file: `dir/name`, then `dir/listFolder/name`.
 *
 * @param dir The data folder.
 * @param profile The profile.
 * @param name The list file name.
 * @returns The path.
 * @throws {Deno.errors.NotFound} Naming both places looked at.
 * @example
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { findListFile, IMAGE_LIST_PROFILES } from "./image_list_profiles.ts";
 * await rejects(
 *   async () => findListFile("/nonexistent", IMAGE_LIST_PROFILES["imagenet-lt"], "x.txt"),
 *   /Cannot find list x\.txt/,
 * );
 * ```
 */
export function findListFile(
  dir: string,
  profile: Readonly<ImageListProfile>,
  name: string,
): string {
  const places = [joinPath(dir, name), joinPath(joinPath(dir, profile.listFolder), name)];
  const found = places.find(fileExists);
  if (found) return found;
  throw new Deno.errors.NotFound(
    `Cannot find list ${name} of profile ${profile.name}: looked at ${places.join(" and ")}; ` +
      `give the image root as --data-dir with the lists in it or in ${profile.listFolder}/`,
  );
}

/**
 * Read a profile's lists from a data folder and build its splits. Labels at or above the
 * profile's class count, and a training list without some class, are errors.
 *
 * @param profile The profile.
 * @param dir The image root (and list folder, see {@link findListFile}).
 * @param options Whether to skip (and list) bad lines.
 * @returns The splits.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { loadImageListSplits, type ImageListProfile } from "./image_list_profiles.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/tr.txt`, "a.jpg 0\nb.jpg 0\nc.jpg 1\n");
 * await Deno.writeTextFile(`${dir}/te.txt`, "d.jpg 0\ne.jpg 1\n");
 * const profile: ImageListProfile = {
 *   name: "toy", title: "Toy", listFolder: "Toy", classCount: 2,
 *   lists: { train: "tr.txt", test: "te.txt" }, tune: { perClass: 1, minClassSize: 2, seed: 0 },
 *   shotThresholds: { many: 1, few: 1 }, normalization: { mean: [0.5], std: [0.5] },
 * };
 * const s = await loadImageListSplits(profile, dir);
 * deepEqual([s.train.length, s.val.length, s.test.length, s.tooSmall], [2, 1, 2, [1]]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadImageListSplits(
  profile: Readonly<ImageListProfile>,
  dir: string,
  options: ListOptions = {},
): Promise<ImageListSplits> {
  if (!dirExists(dir)) {
    throw new Deno.errors.NotFound(
      `Cannot load profile ${profile.name}: data folder ${dir} does not exist; give the image ` +
        "root with --data-dir",
    );
  }
  const C = profile.classCount;
  const read = async (name: string) => {
    const list = await readImageList(findListFile(dir, profile, name), options);
    if (list.classCount > C) {
      const e = list.entries.find((x) => x.label >= C)!;
      throw new RangeError(
        `Cannot load profile ${profile.name}: ${list.file} line ${e.line} (${e.path}) has label ` +
          `${e.label} but the profile has ${C} classes (0..${C - 1})`,
      );
    }
    return list;
  };
  const trainList = await read(profile.lists.train);
  const testList = await read(profile.lists.test);
  let train = trainList.entries, val: ImageListEntry[], tooSmall: number[] = [];
  let valFile = trainList.file, valProblems: ListProblem[] = [];
  if (profile.lists.val !== undefined) {
    const valList = await read(profile.lists.val);
    val = valList.entries;
    valFile = valList.file;
    valProblems = valList.problems;
  } else if (profile.tune) {
    ({ train, tune: val, tooSmall } = drawTuneSet(train, C, profile.tune));
  } else {
    throw new TypeError(
      `Cannot load profile ${profile.name}: it has neither lists.val nor tune; give one`,
    );
  }
  const classCounts = listClassCounts(train, C);
  const empty = classCounts.findIndex((n) => n === 0);
  if (empty >= 0) {
    throw new RangeError(
      `Cannot load profile ${profile.name}: class ${empty} has no training image in ` +
        `${trainList.file}; every one of the ${C} classes needs one`,
    );
  }
  return {
    profile,
    root: dir,
    files: { train: trainList.file, val: valFile, test: testList.file },
    train,
    val,
    test: testList.entries,
    classCounts,
    groups: shotGroups(classCounts, profile.shotThresholds),
    tooSmall,
    problems: { train: trainList.problems, val: valProblems, test: testList.problems },
  };
}
