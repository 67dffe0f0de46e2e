/**
 * Image lists as the long-tailed benchmarks ship them (ImageNet-LT, Places-LT, iNaturalist 2018):
 * a text file with one `relative/path.JPEG label` per line, paths relative to an image root.
 * Class count, class counts and shot groups come from the lists themselves.
 *
 * Bad lines (no label, a label that is not a non-negative integer, an absolute path or one with
 * `..`) and missing files are reported with their line number and path. Nothing is skipped unless
 * the caller asks (`skipBad`); skipped lines are then returned in `problems`, never dropped
 * silently.
 *
 * @module
 */

import { joinPath } from "./_find.ts";
import { Rng } from "./rng.ts";

/**
 * One line of a list.
 *
 * @example
 * ```ts
 * import type { ImageListEntry } from "./image_list.ts";
 * const entry: ImageListEntry = { path: "train/n01440764/a.JPEG", label: 0, line: 1 };
 * ```
 */
export interface ImageListEntry {
  /** The image path relative to the root, as written in the list. */
  path: string;
  /** The class label. */
  label: number;
  /** 1-based line number in the list file. */
  line: number;
}

/**
 * A line or file that could not be used.
 *
 * @example
 * ```ts
 * import type { ListProblem } from "./image_list.ts";
 * const p: ListProblem = { line: 3, path: "a.jpg", reason: "file not found" };
 * ```
 */
export interface ListProblem {
  /** 1-based line number in the list file. */
  line: number;
  /** The path on that line (or the line itself when it has no label). */
  path: string;
  /** What is wrong. */
  reason: string;
}

/**
 * A parsed list.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseImageList } from "./image_list.ts";
 * const list = parseImageList("a.jpg 0\nb.jpg 2\n", "train.txt");
 * assert.deepEqual([list.classCount, list.entries.length], [3, 2]);
 * ```
 */
export interface ImageList {
  /** The list file (for messages). */
  file: string;
  /** The usable lines, in file order. */
  entries: ImageListEntry[];
  /** Lines skipped because the caller allowed it (empty otherwise). */
  problems: ListProblem[];
  /** Largest label + 1 (0 for an empty list). */
  classCount: number;
}

/**
 * Options of {@link parseImageList} and {@link checkListFiles}.
 *
 * @example
 * ```ts
 * import type { ListOptions } from "./image_list.ts";
 * const lenient: ListOptions = { skipBad: true };
 * ```
 */
export interface ListOptions {
  /** Skip (and list) bad lines or missing files instead of failing (default false). */
  skipBad?: boolean;
}

/**
 * Format problems for an error or a report: one `line N: PATH: REASON` per problem, at most
 * `limit` of them and a count of the rest.
 *
 * @param problems The problems.
 * @param limit How many to show (default 10).
 * @returns Lines joined with newlines.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { formatProblems } from "./image_list.ts";
 * equal(formatProblems([{ line: 2, path: "x.jpg", reason: "file not found" }]),
 *   "  line 2: x.jpg: file not found");
 * ```
 */
export function formatProblems(problems: readonly ListProblem[], limit = 10): string {
  const shown = problems.slice(0, limit).map((p) => `  line ${p.line}: ${p.path}: ${p.reason}`);
  if (problems.length > limit) shown.push(`  ... and ${problems.length - limit} more`);
  return shown.join("\n");
}

/**
 * Throws for problems unless skipping was asked for.
 *
 * @param problems What went wrong.
 * @param action What could not be done ("read list train.txt").
 * @param options Whether to skip.
 * @throws {SyntaxError} Listing the problems and naming `--skip-bad`.
 * @example
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { failOnProblems } from "./image_list.ts";
 * throws(() => failOnProblems([{ line: 1, path: "a", reason: "no label" }], "read list l.txt"),
 *   /Cannot read list l\.txt: 1 bad line/);
 * failOnProblems([{ line: 1, path: "a", reason: "no label" }], "read", { skipBad: true });
 * ```
 */
export function failOnProblems(
  problems: readonly ListProblem[],
  action: string,
  options: ListOptions = {},
): void {
  if (problems.length === 0 || options.skipBad) return;
  throw new SyntaxError(
    `Cannot ${action}: ${problems.length} bad line${problems.length > 1 ? "s" : ""}; fix the ` +
      "list or pass --skip-bad to skip (and list) them\n" + formatProblems(problems),
  );
}

function lineProblem(path: string): string | undefined {
  if (path.startsWith("/")) return "the path is absolute; list paths are relative to the root";
  if (path.split("/").includes("..")) return "the path has '..'; it must stay inside the root";
  return undefined;
}

/**
 * Parse a list: `PATH LABEL` per line, the label the last whitespace-separated field (so paths
 * may hold spaces); blank lines are ignored; Windows line ends are accepted.
 *
 * @param text The file's text.
 * @param file Its name, for messages.
 * @param options Whether to skip bad lines.
 * @returns The entries and, with `skipBad`, the skipped lines.
 * @throws {SyntaxError} For bad lines, naming each with its line number, unless `skipBad`.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual, throws } from "node:assert/strict";
 * import { parseImageList } from "./image_list.ts";
 * const text = "train/a b.jpg 1\n\nbroken\n";
 * throws(() => parseImageList(text, "t.txt"), /line 3: broken: no label/);
 * const list = parseImageList(text, "t.txt", { skipBad: true });
 * deepEqual(list.entries, [{ path: "train/a b.jpg", label: 1, line: 1 }]);
 * deepEqual(list.problems.map((p) => p.line), [3]);
 * ```
 */
export function parseImageList(text: string, file: string, options: ListOptions = {}): ImageList {
  const entries: ImageListEntry[] = [];
  const problems: ListProblem[] = [];
  const lines = text.split("\n");
  let classCount = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, "").trim();
    if (raw === "") continue;
    const line = i + 1;
    const m = /^(.*\S)\s+(\S+)$/.exec(raw);
    if (!m) {
      problems.push({ line, path: raw, reason: "no label (expected 'relative/path label')" });
      continue;
    }
    const [, path, labelText] = m;
    if (!/^\d+$/.test(labelText) || Number(labelText) > 0x7fffffff) {
      problems.push({
        line,
        path,
        reason: `label ${JSON.stringify(labelText)} is not an integer in 0..2^31-1`,
      });
      continue;
    }
    const bad = lineProblem(path);
    if (bad) {
      problems.push({ line, path, reason: bad });
      continue;
    }
    const label = Number(labelText);
    entries.push({ path, label, line });
    if (label + 1 > classCount) classCount = label + 1;
  }
  failOnProblems(problems, `read list ${file}`, options);
  return { file, entries, problems, classCount };
}

/**
 * Read and parse a list file ({@link parseImageList}).
 *
 * @param file The list file.
 * @param options Whether to skip bad lines.
 * @returns The list.
 * @throws {Deno.errors.NotFound} Naming the file.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { readImageList } from "./image_list.ts";
 * const file = await Deno.makeTempFile({ suffix: ".txt" });
 * await Deno.writeTextFile(file, "a.jpg 0\nb.jpg 1\n");
 * equal((await readImageList(file)).entries.length, 2);
 * await Deno.remove(file);
 * ```
 */
export async function readImageList(file: string, options: ListOptions = {}): Promise<ImageList> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(`Cannot read list ${file}: the file does not exist`);
    }
    throw error;
  }
  return parseImageList(text, file, options);
}

/**
 * Check that every image of a list exists under `root` (one stat each, before long work starts).
 * With `skipBad`, missing ones are moved from `entries` to `problems`.
 *
 * @param list The list (changed in place when skipping).
 * @param root The folder the list's paths are relative to.
 * @param options Whether to skip missing files.
 * @returns The same list.
 * @throws {Deno.errors.NotFound} Listing the missing files with line numbers, unless `skipBad`.
 * @example
 * ```ts
 * import { strictEqual as equal, rejects } from "node:assert/strict";
 * import { checkListFiles, parseImageList } from "./image_list.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${root}/a.jpg`, "");
 * await rejects(() => checkListFiles(parseImageList("a.jpg 0\nb.jpg 1", "l"), root),
 *   /line 2: b\.jpg: file not found/);
 * const list = await checkListFiles(parseImageList("a.jpg 0\nb.jpg 1", "l"), root,
 *   { skipBad: true });
 * equal(list.entries.length, 1);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function checkListFiles(
  list: ImageList,
  root: string,
  options: ListOptions = {},
): Promise<ImageList> {
  const missing: ListProblem[] = [];
  const kept: ImageListEntry[] = [];
  for (const e of list.entries) {
    let ok = false;
    try {
      ok = (await Deno.stat(joinPath(root, e.path))).isFile;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (ok) kept.push(e);
    else missing.push({ line: e.line, path: e.path, reason: `file not found under ${root}` });
  }
  if (missing.length > 0 && !options.skipBad) {
    throw new Deno.errors.NotFound(
      `Cannot use list ${list.file}: ${missing.length} image${
        missing.length > 1 ? "s are" : " is"
      } missing; check --root or pass --skip-bad to skip (and list) them\n` +
        formatProblems(missing),
    );
  }
  list.entries = kept;
  list.problems.push(...missing);
  return list;
}

/**
 * Images per class.
 *
 * @param entries The list's entries.
 * @param classCount C.
 * @returns Counts, (C).
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { listClassCounts } from "./image_list.ts";
 * deepEqual([...listClassCounts([{ path: "a", label: 1, line: 1 }], 2)], [0, 1]);
 * ```
 */
export function listClassCounts(
  entries: readonly ImageListEntry[],
  classCount: number,
): Int32Array {
  const counts = new Int32Array(classCount);
  for (const e of entries) {
    if (e.label >= classCount) {
      throw new RangeError(
        `Cannot count classes: line ${e.line} (${e.path}) has label ${e.label} but there are ` +
          `${classCount} classes`,
      );
    }
    counts[e.label]++;
  }
  return counts;
}

/**
 * How a tuning (validation) set is drawn from a training list when the benchmark ships none.
 *
 * @example
 * ```ts
 * import type { TuneDraw } from "./image_list.ts";
 * const inat: TuneDraw = { perClass: 2, minClassSize: 10, seed: 0 };
 * ```
 */
export interface TuneDraw {
  /** Images per class taken for tuning. */
  perClass: number;
  /** Classes with fewer training images than this give none and keep all of theirs. */
  minClassSize: number;
  /** Seed of the shuffle that picks them. */
  seed: number;
}

/**
 * The rule of {@link TuneDraw} over labels alone, so that a list (in memory) and a pack (its
 * rows' labels, read without the pixels) draw the same tuning set: shuffle the positions with
 * `Rng(seed)`, then walking that order take the first `perClass` of every class that has at
 * least `minClassSize`.
 *
 * @param labels The label of each training image, in list (or pack) order.
 * @param classCount C.
 * @param draw The rule.
 * @returns `tune[i]` = 1 for the images drawn, and the classes too small to give one.
 * @throws {RangeError} For a label outside 0..C-1.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { drawTuneRows } from "./image_list.ts";
 * const { tune, tooSmall } = drawTuneRows([0, 0, 0, 1], 2, { perClass: 1, minClassSize: 3, seed: 0 });
 * deepEqual([tune.reduce((a, b) => a + b, 0), tooSmall], [1, [1]]);
 * ```
 */
export function drawTuneRows(
  labels: ArrayLike<number>,
  classCount: number,
  draw: TuneDraw,
): { tune: Uint8Array; tooSmall: number[] } {
  const counts = new Int32Array(classCount);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!(c >= 0 && c < classCount)) {
      throw new RangeError(
        `Cannot draw the tuning set: image ${i} has label ${c} but there are ${classCount} ` +
          `classes (0..${classCount - 1})`,
      );
    }
    counts[c]++;
  }
  const taken = new Int32Array(classCount);
  const tune = new Uint8Array(labels.length);
  for (const i of new Rng(draw.seed).permutation(labels.length)) {
    const c = labels[i];
    if (counts[c] >= draw.minClassSize && taken[c] < draw.perClass) {
      taken[c]++;
      tune[i] = 1;
    }
  }
  const tooSmall: number[] = [];
  for (let c = 0; c < classCount; c++) {
    if (counts[c] > 0 && counts[c] < draw.minClassSize) tooSmall.push(c);
  }
  return { tune, tooSmall };
}

/**
 * Split a training list into training and tuning entries by {@link drawTuneRows}. Both outputs
 * keep file order.
 *
 * @param entries The training entries.
 * @param classCount C.
 * @param draw The rule.
 * @returns The two lists and the classes that gave no tuning image (too small).
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { drawTuneSet } from "./image_list.ts";
 * const entries = [0, 0, 0, 0, 1].map((label, i) => ({ path: `${i}.jpg`, label, line: i + 1 }));
 * const { train, tune, tooSmall } = drawTuneSet(entries, 2, { perClass: 1, minClassSize: 3, seed: 0 });
 * deepEqual([train.length, tune.length, tooSmall], [4, 1, [1]]);
 * ```
 */
export function drawTuneSet(
  entries: readonly ImageListEntry[],
  classCount: number,
  draw: TuneDraw,
): { train: ImageListEntry[]; tune: ImageListEntry[]; tooSmall: number[] } {
  // Checks the labels with the list's own message (line and path).
  listClassCounts(entries, classCount);
  const { tune: toTune, tooSmall } = drawTuneRows(entries.map((e) => e.label), classCount, draw);
  const train: ImageListEntry[] = [], tune: ImageListEntry[] = [];
  entries.forEach((e, i) => (toTune[i] ? tune : train).push(e));
  return { train, tune, tooSmall };
}
