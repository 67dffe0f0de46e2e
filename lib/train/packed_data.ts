/**
 * The packed splits of an image-list profile, as `deno task train --profile imagenet-lt
 * --data-dir DIR` finds them: DIR holds one pack per list of the profile, made by `deno task
 * pack` from that list:
 *
 * - ImageNet-LT, Places-LT (train, val and test lists): `DIR/train`, `DIR/val`, `DIR/test`;
 * - iNaturalist 2018 (train and val lists only): `DIR/train` from `iNaturalist18_train.txt` and
 *   `DIR/test` from `iNaturalist18_val.txt`, the official val list, on which the benchmark is
 *   evaluated. The tuning set is drawn from the train pack's rows by the profile's
 *   {@link TuneDraw} ({@link drawTuneRows}, the rule `deno task data` applies to the list): those
 *   rows are the val split, read from the train pack, and training leaves them out.
 *
 * Every check that can fail runs here, before any long work: a missing or unfinished pack, a
 * pack made from another list or from a list edited since, packs of different sizes, a size
 * below the crop, labels outside the profile's classes, a training class without images.
 *
 * @module
 */

import { joinPath } from "../data/_find.ts";
import { drawTuneRows, readImageList, type TuneDraw } from "../data/image_list.ts";
import { countPerClass } from "../data/image_set.ts";
import { PackRows } from "../data/pack_rows.ts";
import { type ImageListProfile, profileCrop } from "../data/image_list_profiles.ts";
import { type PackManifest, readManifest } from "../data/shards.ts";
import { sha256Hex } from "./checkpoint.ts";
import type { PackedSource } from "./image_source.ts";

/** The three splits of a packed profile (each gets a feature dump). */
export const PACK_SPLITS = ["train", "val", "test"] as const;

/**
 * The pack folders a profile's packed data folder holds: one per list, so a profile whose tuning
 * set is drawn from train (no val list) has no `val` folder.
 *
 * @param profile The profile.
 * @returns The folder names, in split order.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { IMAGE_LIST_PROFILES } from "../data/image_list_profiles.ts";
 * import { packFolders } from "./packed_data.ts";
 * deepEqual(packFolders(IMAGE_LIST_PROFILES["imagenet-lt"]), ["train", "val", "test"]);
 * deepEqual(packFolders(IMAGE_LIST_PROFILES["inat2018"]), ["train", "test"]);
 * ```
 */
export function packFolders(
  profile: Readonly<Pick<ImageListProfile, "lists">>,
): (typeof PACK_SPLITS)[number][] {
  return PACK_SPLITS.filter((s) => profile.lists[s] !== undefined);
}

/**
 * The packs of a profile.
 *
 * @example
 * ```ts
 * import type { PackedSplits } from "./packed_data.ts";
 * const rows = (p: PackedSplits) => p.train.rows + p.val.rows + p.test.rows;
 * ```
 */
export interface PackedSplits {
  /** The profile. */
  profile: Readonly<ImageListProfile>;
  /** The training pack. */
  train: PackedSource;
  /** The tuning pack. */
  val: PackedSource;
  /** The test pack. */
  test: PackedSource;
  /** Training images per class (what the training source holds), (C). */
  classCounts: Int32Array;
  /** Classes too small to give a tuning image (tuning set drawn from train only). */
  tooSmall: number[];
  /** The packed folder. */
  from: string;
  /** The size the packs were made at (shorter side). */
  size: number;
}

const base = (path: string) => path.split(/[\\/]/).filter(Boolean).pop() ?? path;

/**
 * Finds and checks the packs of an image-list profile in `dir` ({@link packFolders}), drawing
 * the tuning set from the train pack when the profile has no val list.
 *
 * @param profile The profile (its lists, class count, crop and normalisation).
 * @param dir The packed folder given as `--data-dir`.
 * @returns The three sources and the training class counts.
 * @throws {Deno.errors.NotFound} For a missing pack, with the command that makes it;
 *   {@link RangeError} for a pack that does not fit the profile.
 * @example
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { IMAGE_LIST_PROFILES } from "../data/image_list_profiles.ts";
 * import { openPackedSplits } from "./packed_data.ts";
 * const dir = await Deno.makeTempDir();
 * await rejects(
 *   openPackedSplits(IMAGE_LIST_PROFILES["imagenet-lt"], dir),
 *   /Cannot load profile imagenet-lt: .*train has no pack/,
 * );
 * await Deno.remove(dir);
 * ```
 */
export async function openPackedSplits(
  profile: Readonly<ImageListProfile>,
  dir: string | null,
): Promise<PackedSplits> {
  const what = `Cannot load profile ${profile.name}`;
  const folders = packFolders(profile);
  const layout = folders.map((s) => `DIR/${s} from ${profile.lists[s]}`).join(", ");
  const drawn = profile.lists.val === undefined
    ? `; the tuning set is drawn from DIR/train (${describeDraw(profile.tune)})`
    : "";
  if (dir === null) {
    throw new TypeError(
      `${what}: it reads packed image lists; give --data-dir DIR, a folder holding the packs ` +
        `${layout} made by deno task pack${drawn}`,
    );
  }
  if (profile.lists.val === undefined && !profile.tune) {
    throw new TypeError(`${what}: it has neither lists.val nor tune; give one`);
  }
  const crop = profileCrop(profile);
  const manifests: Partial<Record<(typeof PACK_SPLITS)[number], PackManifest>> = {};
  for (const split of folders) {
    const pack = joinPath(dir, split);
    const list = profile.lists[split]!;
    const command = `deno task pack --list ROOT/${profile.listFolder}/${list} --root ROOT ` +
      `--size ${crop.resize} --out ${pack}`;
    const m = await readManifest(pack);
    if (!m) {
      // A val pack of a profile without a val list most likely holds the list that is its test.
      const stray = split === "test" && !folders.includes("val") &&
          await readManifest(joinPath(dir, "val")).catch(() => undefined)
        ? `; ${joinPath(dir, "val")} holds a pack, but ${profile.name} reads its test list ` +
          `(${list}) from DIR/test: rename the folder if it was packed from that list`
        : "";
      throw new Deno.errors.NotFound(
        `${what}: ${pack} has no pack (no manifest.json); make it with ${command} (the packs ` +
          `of ${profile.name}: ${layout}${drawn})${stray}`,
      );
    }
    if (!m.done) {
      throw new RangeError(
        `${what}: the pack ${pack} is unfinished (${m.shards.length} shards so far); rerun the ` +
          "deno task pack command that made it to finish it",
      );
    }
    if (base(m.settings.list) !== list) {
      throw new RangeError(
        `${what}: the pack ${pack} was made from ${m.settings.list}, not from the ${split} ` +
          `list ${list}; pack that list into ${pack} with ${command}`,
      );
    }
    // A list edited since packing no longer describes the pack; a list moved away cannot be
    // compared and the pack, which holds its own paths and labels, is used as it is.
    const listBytes = await Deno.readFile(m.settings.list).catch(() => null);
    if (listBytes && await sha256Hex(listBytes) !== m.settings.listSha256) {
      throw new RangeError(
        `${what}: the list ${m.settings.list} changed since the pack ${pack} was made from it ` +
          `(its SHA-256 differs from the manifest's); pack it again into a new folder with ` +
          command,
      );
    }
    if (m.settings.size < crop.size) {
      throw new RangeError(
        `${what}: the pack ${pack} has images of size ${m.settings.size} (shorter side), ` +
          `smaller than the profile's ${crop.size}-pixel crop; pack again with --size ` +
          `${crop.resize} (the evaluation resize) or larger`,
      );
    }
    if (m.classCount > profile.classCount) {
      throw new RangeError(
        `${what}: the pack ${pack} has labels up to ${m.classCount - 1} but the profile has ` +
          `${profile.classCount} classes (0..${profile.classCount - 1})`,
      );
    }
    manifests[split] = m;
  }
  const sizes = folders.map((s) => manifests[s]!.settings.size);
  if (new Set(sizes).size > 1) {
    throw new RangeError(
      `${what}: the packs have different sizes (${
        folders.map((s, i) => `${s} ${sizes[i]}`).join(", ")
      }); pack every split at the same --size so that training and evaluation see the same ` +
        "scale",
    );
  }
  const train = manifests.train!;
  const trainPack = joinPath(dir, "train");
  const common = {
    classCount: profile.classCount,
    crop,
    normalization: profile.normalization,
  };
  const source = (split: (typeof PACK_SPLITS)[number]): PackedSource => ({
    pack: joinPath(dir, split),
    rows: manifests[split]!.shards.reduce((n, s) => n + s.rows, 0),
    ...common,
  });
  let classCounts: Int32Array, tooSmall: number[] = [];
  let trainSource = source("train"), valSource: PackedSource;
  if (profile.lists.val === undefined) {
    const rows = await PackRows.open(trainPack);
    const drawnRows = drawTuneRows(rows.labels, profile.classCount, profile.tune!);
    tooSmall = drawnRows.tooSmall;
    const pick = (v: number) =>
      Int32Array.from(drawnRows.tune.keys()).filter((i) => drawnRows.tune[i] === v);
    const kept = pick(0), tune = pick(1);
    trainSource = { pack: trainPack, rows: kept.length, subset: kept, ...common };
    valSource = { pack: trainPack, rows: tune.length, subset: tune, ...common };
    classCounts = countPerClass(kept.map((r) => rows.labels[r]), profile.classCount);
  } else {
    classCounts = await packClassCounts(train, profile.classCount);
    valSource = source("val");
  }
  const empty = classCounts.findIndex((n) => n === 0);
  if (empty >= 0) {
    throw new RangeError(
      `${what}: class ${empty} has no image in the train pack ${trainPack}` +
        (profile.lists.val === undefined ? " (after drawing the tuning set)" : "") +
        `; every one of the ${profile.classCount} classes needs one`,
    );
  }
  return {
    profile,
    train: trainSource,
    val: valSource,
    test: source("test"),
    classCounts,
    tooSmall,
    from: dir,
    size: sizes[0],
  };
}

function describeDraw(draw: TuneDraw | undefined): string {
  return draw
    ? `${draw.perClass} per class with at least ${draw.minClassSize} images, seed ${draw.seed}`
    : "no rule given";
}

/**
 * The images per class a pack holds: the manifest's counts (of the list's usable entries, so
 * bad lines and missing files are already out), less the undecodable images skipped with
 * `--skip-bad` (their labels are read from the list the manifest names).
 */
async function packClassCounts(m: PackManifest, classCount: number): Promise<Int32Array> {
  const counts = new Int32Array(classCount);
  m.classCounts.forEach((n, c) => (counts[c] = n));
  const skipped = m.shards.flatMap((s) => s.skipped ?? []);
  if (skipped.length === 0) return counts;
  let labels: Map<number, number>;
  try {
    const list = await readImageList(m.settings.list, { skipBad: true });
    labels = new Map(list.entries.map((e) => [e.line, e.label]));
  } catch (error) {
    throw new Deno.errors.NotFound(
      `Cannot count the training images per class: the pack skipped ${skipped.length} images ` +
        `and their labels are in its list ${m.settings.list}, which cannot be read ` +
        `(${(error as Error).message}); put the list back there`,
    );
  }
  const seen = new Set<number>();
  for (const p of skipped) {
    const label = labels.get(p.line);
    if (label === undefined || seen.has(p.line)) continue;
    seen.add(p.line);
    counts[label]--;
  }
  return counts;
}
