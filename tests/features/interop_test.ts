/**
 * The README's "Opening the feature dumps" snippets, run as written with the Python of the
 * virtual environment that `scripts/setup.sh --test` makes (`.venv/`), on a features folder
 * written by the kit's own writer at the path the snippets name (`runs/cpu-x/features`, under a
 * temporary folder used as the working directory). The snippets are read from README.md, so the
 * README and this test cannot drift apart.
 *
 * Without the virtual environment or one of its packages the test is skipped loudly, except
 * under CI=true, where it fails.
 */

import { writePredictionFiles } from "../../lib/eval/predictions.ts";
import { deepStrictEqual as deepEqual, ok, strictEqual as equal } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  type FeatureSplitData,
  makeSyntheticFeatures,
  writeFeatureDir,
} from "../../lib/features/mod.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PYTHON = `${ROOT}.venv/bin/python`;
const PACKAGES = ["pyarrow", "polars", "duckdb", "numpy"];
const SECTION = "## Opening the feature dumps";
/** Where the snippets look for the dump, relative to their working directory. */
const DUMP = "runs/cpu-x/features";
const SETUP_HINT = "run `bash scripts/setup.sh --test`";

/** What is missing to run the snippets: the venv's python, or packages it cannot import. */
async function missingPython(): Promise<string[]> {
  const probe = `import importlib.util, sys
print(" ".join(p for p in sys.argv[1:] if importlib.util.find_spec(p) is None))`;
  try {
    const out = await new Deno.Command(PYTHON, {
      args: ["-c", probe, ...PACKAGES],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    if (out.code !== 0) return [`${PYTHON} (exits with ${out.code})`];
    return text === "" ? [] : text.split(" ").map((p) => `the ${p} package in ${PYTHON}`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [PYTHON];
    throw error;
  }
}

const missing = await missingPython();
const inCi = Deno.env.get("CI") === "true";
if (missing.length > 0 && !inCi) {
  console.warn(
    `\n!!! SKIPPING THE README PYTHON SNIPPETS TEST: missing ${missing.join(", ")}; ` +
      `${SETUP_HINT} !!!\n`,
  );
}

/** The fenced code blocks of one README section: language, code, and the prose just before. */
function sectionBlocks(
  readme: string,
  heading: string,
): { lang: string; code: string; before: string }[] {
  const start = readme.indexOf(`\n${heading}\n`);
  ok(start >= 0, `README.md has no "${heading}" section`);
  const rest = readme.slice(start + heading.length + 2);
  const end = rest.search(/^## /m);
  const section = end < 0 ? rest : rest.slice(0, end);
  let after = 0;
  return [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => {
    const before = section.slice(after, m.index);
    after = m.index + m[0].length;
    return { lang: m[1], code: m[2], before };
  });
}

/**
 * The snippet's name: `predictions` for the query of the prediction files, else the first of
 * duckdb, polars, pyarrow that it imports.
 */
function library(code: string): string {
  if (code.includes("/predictions/")) return "predictions";
  return ["duckdb", "polars", "pyarrow"].find((p) =>
    new RegExp(`^import ${p}\\b`, "m").test(code)
  )!;
}

/** `{label: rows}` of a split. */
function countsOf(split: FeatureSplitData): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const y of split.label) counts[y] = (counts[y] ?? 0) + 1;
  return counts;
}

/** `{label: count}` from the rows of a printed two-column table (DuckDB's and polars' boxes). */
function printedCounts(stdout: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of stdout.split("\n")) {
    const m = line.trim().match(/^[│|]\s*(-?\d+)\s*[│┆|]\s*(\d+)\s*[│|]$/u);
    if (m) counts[m[1]] = Number(m[2]);
  }
  return counts;
}

/** `[label, pred, len]` rows of a printed three-column table (the confused pairs). */
function printedTriples(stdout: string): [number, number, number][] {
  const rows: [number, number, number][] = [];
  for (const line of stdout.split("\n")) {
    const m = line.trim().match(/^[│|]\s*(\d+)\s*[│┆|]\s*(\d+)\s*[│┆|]\s*(\d+)\s*[│|]$/u);
    if (m) rows.push([Number(m[1]), Number(m[2]), Number(m[3])]);
  }
  return rows;
}

/** The first `rows` rows of a split, whatever their classes (the rows are shuffled). */
function head(split: FeatureSplitData, rows: number): FeatureSplitData {
  return {
    ...split,
    index: split.index.slice(0, rows),
    label: split.label.slice(0, rows),
    features: split.features.slice(0, rows * split.dim),
    rows,
  };
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test({
  name: "the README's pyarrow, DuckDB and polars snippets read a feature dump the kit wrote",
  ignore: missing.length > 0 && !inCi,
  async fn() {
    if (missing.length > 0) {
      throw new Error(
        `Cannot run the README's Python snippets: CI=true but ${missing.join(", ")} is missing; ` +
          SETUP_HINT,
      );
    }
    const blocks = sectionBlocks(await Deno.readTextFile(`${ROOT}README.md`), SECTION);
    const snippets = blocks.filter((b) => b.lang === "python");
    deepEqual(snippets.map((s) => library(s.code)).sort(), [
      "duckdb",
      "polars",
      "predictions",
      "pyarrow",
    ]);
    const run = DUMP.replace(/\/features$/, "");
    for (const s of snippets) ok(s.code.includes(run), `a snippet does not read ${run}`);

    const cwd = await Deno.makeTempDir({ prefix: "ltkit_interop_" });
    try {
      // A long-tailed train split in several record batches; a test split whose classes differ
      // in size too (the first rows of a shuffled balanced one), so that counts tell classes apart.
      const set = makeSyntheticFeatures({
        trainCounts: [150, 61, 24, 9],
        featureDim: 64,
        valPerClass: 3,
        testPerClass: 12,
        seed: 5,
      });
      set.test = head(set.test, 29);
      const sha = await sha256Hex("interop checkpoint");
      for (const part of [set.train, set.val, set.test, set.classifier]) {
        part.metadata = { ...part.metadata, checkpointSha256: sha };
      }
      await writeFeatureDir(`${cwd}/${DUMP}`, set, 64);
      // cRT's predictions: right, except every fifth row, which goes to the next class.
      const classes = 4;
      const scores = new Float32Array(set.test.rows * classes);
      for (let r = 0; r < set.test.rows; r++) {
        const y = set.test.label[r];
        scores[r * classes + (r % 5 === 0 ? (y + 1) % classes : y)] = 1;
      }
      await writePredictionFiles(
        `${cwd}/${run}`,
        set.test,
        [{ method: "crt", label: "cRT", scores, classes }],
        sha,
      );

      const outputs: Record<string, string> = {};
      for (const { code } of snippets) {
        const out = await new Deno.Command(PYTHON, {
          args: ["-c", code],
          cwd,
          env: { PYTHONIOENCODING: "utf-8", PYTHONDONTWRITEBYTECODE: "1" },
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(120_000),
        }).output();
        const stdout = new TextDecoder().decode(out.stdout);
        const stderr = new TextDecoder().decode(out.stderr);
        equal(out.code, 0, `the ${library(code)} snippet failed:\n${code}\n${stderr}`);
        outputs[library(code)] = stdout;
      }

      const lines = outputs.pyarrow.trim().split("\n");
      deepEqual(lines, [`b'${sha}' ${set.train.rows}`, `(${set.train.rows}, 64)`]);
      const train = countsOf(set.train);
      deepEqual(train, { 0: 150, 1: 61, 2: 24, 3: 9 });
      deepEqual(printedCounts(outputs.duckdb), train, `DuckDB printed:\n${outputs.duckdb}`);
      const test = countsOf(set.test);
      equal(Object.values(test).reduce((a, b) => a + b), 29);
      ok(new Set(Object.values(test)).size > 1, "the test split's classes differ in size");
      deepEqual(printedCounts(outputs.polars), test, `polars printed:\n${outputs.polars}`);
      // The query prints the confused pairs (rows 0, 5, 10, ... are wrong) and, per class, its
      // training images beside accuracy and confidence.
      const wrong = Math.ceil(set.test.rows / 5);
      const pairs = printedTriples(outputs.predictions);
      equal(pairs.reduce((a, p) => a + p[2], 0) <= wrong, true, outputs.predictions);
      ok(pairs.length > 0, `no confused pair printed:\n${outputs.predictions}`);
      for (const [y, pred] of pairs) equal(pred, (y + 1) % classes, outputs.predictions);
      for (const n of [150, 61, 24, 9]) {
        ok(new RegExp(`[│┆]\\s*${n}\\s*[│┆]`, "u").test(outputs.predictions), `${n} train images`);
      }
      console.log(
        `  pyarrow, DuckDB and polars read ${set.train.rows} train and ${set.test.rows} test rows`,
      );
    } finally {
      await Deno.remove(cwd, { recursive: true });
    }
  },
});

Deno.test("the README's DuckDB file reader is marked as needing a download", async () => {
  const blocks = sectionBlocks(await Deno.readTextFile(`${ROOT}README.md`), SECTION);
  const sql = blocks.filter((b) => b.lang === "sql");
  equal(sql.length, 1);
  ok(sql[0].code.includes("INSTALL nanoarrow FROM community"), sql[0].code);
  ok(/needs the network/.test(sql[0].before), `no word of the download before:\n${sql[0].before}`);
});
