/**
 * `deno task features PATH`: inspect a feature dump (one `.arrow` file or a features folder):
 * schema and metadata, rows per class, feature norm statistics, the first rows, and whether the
 * files pass the reader's checks and hold usable features (not non-finite, all zero or constant).
 *
 * ```text
 * deno task features PATH [--rows N]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { checkPaths } from "../lib/train/_permissions.ts";
import type { arrow } from "../lib/_deps.ts";
import { shotGroups } from "../lib/data/shot_groups.ts";
import { thresholdsFromProfile } from "../lib/eval/metrics.ts";
import { checkFeatures, DEGENERATE_ADVICE } from "../lib/features/check.ts";
import {
  type ClassifierData,
  decodeClassifier,
  decodeFeatures,
  type FeatureSplitData,
  parseIpcFile,
} from "../lib/features/reader.ts";
import { readFeatureDir } from "../lib/features/load.ts";
import { describeType, FEATURE_SPLITS, META_KEYS } from "../lib/features/schema.ts";

const USAGE = `Usage:
  deno task features PATH [--rows N]

PATH is a feature file (train.arrow, val.arrow, test.arrow, classifier.arrow) or a features
folder holding them. Prints the schema and metadata, rows per class, feature norm statistics and
the first N rows (default 5), and checks the files as stage 2 would and that their features are
usable (finite, not all zero, not the same in every row). Files written by any tool without
ltkit.* metadata are read in the minimal layout (README, "Features from any model").`;

function stats(values: number[]): string {
  if (values.length === 0) return "n/a (no rows)";
  let min = Infinity, max = -Infinity, sum = 0;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  const mean = sum / values.length;
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
  return `min ${min.toFixed(4)}  mean ${mean.toFixed(4)}  max ${max.toFixed(4)}  std ${
    std.toFixed(4)
  }`;
}

function rowNorms(features: Float32Array, rows: number, dim: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    for (let k = 0; k < dim; k++) acc += features[r * dim + k] ** 2;
    out.push(Math.sqrt(acc));
  }
  return out;
}

function vectorHead(values: Float32Array, at: number, dim: number, shown = 6): string {
  const head = Array.from(values.subarray(at, at + Math.min(dim, shown)), (v) => v.toFixed(4));
  return `[${head.join(", ")}${dim > shown ? `, ... (${dim})` : ""}]`;
}

function printSchema(table: arrow.Table): void {
  console.log(`  ${table.numRows} rows in ${table.batches.length} record batch(es)`);
  console.log("  schema:");
  for (const f of table.schema.fields) {
    console.log(`    ${f.name}: ${describeType(f.type)}${f.nullable ? " (nullable)" : ""}`);
  }
  console.log("  metadata:");
  const keys = [...table.schema.metadata.keys()].sort((a, b) => {
    const known = Object.values(META_KEYS) as string[];
    return (known.indexOf(a) + 1 || 99) - (known.indexOf(b) + 1 || 99) || a.localeCompare(b);
  });
  for (const key of keys) console.log(`    ${key} = ${table.schema.metadata.get(key)}`);
}

function printSplit(data: FeatureSplitData, rowsShown: number): void {
  const { label, features, rows, dim, classCount, metadata } = data;
  const counts = new Array<number>(classCount).fill(0);
  for (const l of label) counts[l]++;
  const groups = shotGroups(metadata.trainClassCounts, thresholdsFromProfile(metadata.profile));
  if (metadata.minimal) {
    console.log(
      "  layout: minimal (no ltkit.* metadata): classes 0..max label, training counts from " +
        "this file's labels (from train.arrow when a folder is read)",
    );
  }
  const norms = rowNorms(features, rows, dim);
  console.log("  rows per class (class: rows, training count, shot group, mean feature norm):");
  for (let c = 0; c < classCount; c++) {
    const mine = norms.filter((_, r) => label[r] === c);
    const mean = mine.length ? (mine.reduce((a, b) => a + b, 0) / mine.length).toFixed(4) : "-";
    console.log(
      `    ${String(c).padStart(3)}: ${String(counts[c]).padStart(7)}  ` +
        `${String(metadata.trainClassCounts[c]).padStart(7)}  ${groups[c].padEnd(6)}  ${mean}`,
    );
  }
  console.log(`  feature L2 norms: ${stats(norms)}`);
  const values = Array.from(features);
  console.log(`  feature values:   ${stats(values)}`);
  console.log(`  first ${Math.min(rowsShown, rows)} rows (index, label, norm, feature):`);
  for (let r = 0; r < Math.min(rowsShown, rows); r++) {
    console.log(
      `    ${data.index[r]}  ${label[r]}  ${norms[r].toFixed(4)}  ${
        vectorHead(features, r * dim, dim)
      }`,
    );
  }
}

function printClassifier(data: ClassifierData): void {
  const { weight, bias, classCount, featureDim } = data;
  const norms = rowNorms(weight, classCount, featureDim);
  console.log("  per class (class: ||w||, bias, training count, weight head):");
  for (let c = 0; c < classCount; c++) {
    console.log(
      `    ${String(c).padStart(3)}: ${norms[c].toFixed(4)}  ${bias[c].toFixed(4)}  ` +
        `${String(data.metadata.trainClassCounts[c]).padStart(7)}  ` +
        vectorHead(weight, c * featureDim, featureDim),
    );
  }
  console.log(`  weight norms: ${stats(norms)}`);
}

async function inspectFile(path: string, rowsShown: number): Promise<boolean> {
  console.log(`${path}:`);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    console.log(`  cannot read: ${(error as Error).message}`);
    return false;
  }
  console.log(`  ${bytes.length} bytes`);
  try {
    // The reader's parse tells a truncated or foreign file apart, once, in the check line.
    printSchema(parseIpcFile(bytes, path));
    const name = path.split("/").pop() ?? path;
    if (name.startsWith("classifier")) {
      printClassifier(decodeClassifier(bytes, path));
    } else {
      const data = decodeFeatures(bytes, path);
      printSplit(data, rowsShown);
      const defect = checkFeatures(data.features, data.rows, data.dim);
      if (defect) throw new Error(`Cannot use ${path}: ${defect.detail}; ${DEGENERATE_ADVICE}`);
    }
    console.log("  check: ok");
    return true;
  } catch (error) {
    console.log(`  check: FAILED: ${(error as Error).message}`);
    return false;
  }
}

/** Runs the CLI; returns the exit code (0 ok, 1 a file fails its checks, 2 usage error). */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { help: { type: "boolean", short: "h" }, rows: { type: "string" } },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const rowsShown = values.rows === undefined ? 5 : Number(values.rows);
  if (positionals.length !== 1 || !Number.isInteger(rowsShown) || rowsShown < 0) {
    console.error(`error: expected one PATH and --rows as an integer >= 0\n\n${USAGE}`);
    return 2;
  }
  const path = positionals[0].replace(/(.)\/+$/, "$1");
  let isDir = false;
  try {
    await checkPaths("features", argv, { read: [path] });
    isDir = (await Deno.stat(path)).isDirectory;
  } catch (error) {
    console.error(`error: Cannot inspect ${path}: ${(error as Error).message}`);
    return 1;
  }
  if (!isDir) return (await inspectFile(path, rowsShown)) ? 0 : 1;
  let ok = true;
  for (const name of [...FEATURE_SPLITS, "classifier"]) {
    const file = `${path}/${name}.arrow`;
    // A dump from another model may have no classifier; readFeatureDir says whether that is fine.
    const absent = name === "classifier" && !(await Deno.stat(file).catch(() => null));
    if (absent) console.log(`${file}: absent`);
    else ok = (await inspectFile(file, rowsShown)) && ok;
    console.log();
  }
  try {
    const { classifier } = await readFeatureDir(path);
    console.log(
      classifier
        ? `${path}: the four files belong together (dimension, checkpoint, class counts)`
        : `${path}: the three splits belong together; without a classifier stage 2 skips ` +
          "the methods built on it",
    );
  } catch (error) {
    console.log(`${path}: FAILED: ${(error as Error).message}`);
    ok = false;
  }
  return ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
