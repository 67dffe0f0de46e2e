/**
 * `deno task stage2`: stage 2 from a features folder alone; writes metrics.json into a new folder
 * `runs/stage2-<time>/` (or `--out FILE`, which must not exist yet) and prints the table. It never
 * writes into the features' folder or overwrites a result.
 *
 * ```text
 * deno task stage2 --features DIR [--methods LIST] [--seed N | --seeds LIST] [--classifier FILE]
 *                  [--out FILE] [--epochs N] [--batch N] [--lr X] [--quiet]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { formatMetricsTable, type MetricsFile } from "../lib/eval/metrics.ts";
import { writeMetricsFile } from "../lib/eval/write_metrics.ts";
import { formatSeedTable, summarizeSeeds } from "../lib/eval/seeds.ts";
import { requestGpu } from "../lib/gpu/device.ts";
import { writeStage2Predictions } from "../lib/eval/predictions.ts";
import { readFeatureDir } from "../lib/features/load.ts";
import type { FeatureDir } from "../lib/features/reader.ts";
import { MINIMAL_LAYOUT } from "../lib/features/schema.ts";
import { DEFAULT_TRAIN_SETTINGS } from "../lib/stage2/method.ts";
import { METHOD_NAMES, methodHelpLines, METHODS, parseMethods } from "../lib/stage2/registry.ts";
import { runStage2, type Stage2Options } from "../lib/stage2/run.ts";
import { parseSeeds } from "../lib/train/flags.ts";
import { openSeedGroup, readMetrics, writeSeedSummary } from "../lib/train/seeds.ts";
import { exists, parentDir, runStamp } from "../lib/io/_paths.ts";
import { checkPaths } from "../lib/train/_permissions.ts";

/** The usage text, built from the method table when asked, so registered methods show too. */
function usage(): string {
  const trained = METHODS.filter((m) => m.trains).map((m) => m.label).join(" / ");
  const d = DEFAULT_TRAIN_SETTINGS;
  return `Usage:
  deno task stage2 --features DIR [--methods LIST] [--seed N | --seeds LIST] [--out FILE]
                   [--classifier FILE] [--epochs N] [--batch N] [--lr X] [--quiet]

Runs stage 2 (classifiers on frozen features) on the GPU from DIR/train.arrow, val.arrow,
test.arrow and classifier.arrow, writes the metrics to FILE (default runs/stage2-<time>/
metrics.json) and each method's test predictions to predictions/<method>.arrow beside it, and
prints the table. An existing FILE or predictions folder is never overwritten.

  --methods LIST  comma-separated, default all: ${METHOD_NAMES.join(",")}
${methodHelpLines(18).join("\n")}
  --seed N        seed of every random choice (default 0)
  --seeds LIST    run once per seed (e.g. 0,1,2) into --out DIR/seed-<n>/ (default
                  runs/stage2-seeds-<time>/) and write DIR/summary/ with mean and std; rerun the
                  same command to continue an interrupted group
  --classifier FILE
                  the model's linear classifier (default DIR/classifier.arrow; a dump from
                  another tool may have none: ${
    METHODS.filter((m) => m.needsClassifier).map((m) => m.name).join(", ")
  } are then skipped)
  --epochs N, --batch N, --lr X
                  ${trained} training (default ${d.epochs}, ${d.batch}, ${d.lr})

DIR may hold features of any model: files without ltkit.* metadata are read in the minimal
layout (${MINIMAL_LAYOUT}); the class counts come from train.arrow's labels. See the README,
"Features from any model".`;
}

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  features: { type: "string" },
  methods: { type: "string" },
  seed: { type: "string" },
  seeds: { type: "string" },
  out: { type: "string" },
  classifier: { type: "string" },
  epochs: { type: "string" },
  batch: { type: "string" },
  lr: { type: "string" },
  quiet: { type: "boolean", short: "q" },
} as const;

function integer(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min) {
    throw new RangeError(`Cannot parse --${name} ${text}: expected an integer >= ${min}`);
  }
  return value;
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage error). */
export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false })
      .values;
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n\n${usage()}`);
    return 2;
  }
  if (values.help) {
    console.log(usage());
    return 0;
  }
  let methods, seed, seeds, epochs, batch, lr;
  try {
    if (!values.features) throw new RangeError("Cannot run stage 2: --features DIR is required");
    methods = parseMethods(values.methods ?? "all");
    seed = integer("seed", values.seed, 0) ?? 0;
    seeds = values.seeds === undefined ? null : parseSeeds(values.seeds);
    if (seeds && values.seed !== undefined) {
      throw new RangeError("Cannot run stage 2: --seeds and --seed exclude each other");
    }
    epochs = integer("epochs", values.epochs, 1);
    batch = integer("batch", values.batch, 1);
    lr = values.lr === undefined ? undefined : Number(values.lr);
    if (lr !== undefined && !(lr > 0)) {
      throw new RangeError(`Cannot parse --lr ${values.lr}: expected a number > 0`);
    }
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n\n${usage()}`);
    return 2;
  }
  const dir = values.features.replace(/\/+$/, "") || "/";
  const stamp = runStamp();
  const group = seeds ? (values.out ?? `runs/stage2-seeds-${stamp}`).replace(/\/+$/, "") : null;
  const out = group ? `${group}/seed-${seeds![0]}/metrics.json` : values.out ??
    `runs/stage2-${stamp}/metrics.json`;
  const outDir = group ?? parentDir(out);
  const settings = { methods, epochs, batch, lr };
  try {
    // The folder of `out` is read too: whether `out` exists, and the rename of the atomic write.
    const read = [dir, outDir, ...(values.classifier ? [values.classifier] : [])];
    await checkPaths("stage2", argv, { read, write: [outDir] });
    if (group) {
      const config = { features: dir, classifier: values.classifier ?? null, ...settings };
      await openSeedGroup(group, { seeds: seeds!, config }, "deno task stage2");
    } else await refuseOverwrite(out);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
  try {
    const features = await readFeatureDir(dir, { classifier: values.classifier });
    const log = values.quiet ? undefined : (line: string) => console.error(`stage 2: ${line}`);
    if (!group) {
      const metrics = await runOnce(features, { ...settings, seed, source: dir, log }, out);
      console.log(formatMetricsTable(metrics));
      log?.(`metrics written to ${out}, predictions to ${outDir}/predictions/`);
      return 0;
    }
    const gpu = await requestGpu({ warnFallback: false });
    try {
      const runs: { metrics: MetricsFile; from: string }[] = [];
      for (const s of seeds!) {
        const file = `${group}/seed-${s}/metrics.json`;
        if (await exists(file)) {
          log?.(`seed ${s} finished before; kept`);
          runs.push({ metrics: await readMetrics(file), from: parentDir(file) });
          continue;
        }
        // An interrupted seed left no metrics.json (written last): its predictions are redone.
        await Deno.remove(`${group}/seed-${s}`, { recursive: true }).catch(() => {});
        log?.(`seed ${s}`);
        const metrics = await runOnce(
          features,
          { ...settings, seed: s, source: dir, log, gpu },
          file,
        );
        runs.push({ metrics, from: parentDir(file) });
      }
      const summary = summarizeSeeds(runs);
      await writeSeedSummary(
        `${group}/summary`,
        summary,
        `stage 2 on ${dir}, ${seeds!.length} seeds`,
      );
      console.log(formatSeedTable(summary));
      log?.(`summary written to ${group}/summary/`);
      return 0;
    } finally {
      gpu.destroy();
    }
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 1;
  }
}

/** Refuses an --out whose metrics file or predictions folder exists: no result is overwritten. */
async function refuseOverwrite(out: string): Promise<void> {
  if (await exists(out)) {
    throw new RangeError(
      `Cannot write the metrics to ${out}: the file exists and holds a finished result; ` +
        `choose another --out`,
    );
  }
  if (await exists(`${parentDir(out)}/predictions`)) {
    throw new RangeError(
      `Cannot write predictions to ${parentDir(out)}/predictions: it holds the predictions of ` +
        `another run; choose an --out in another folder`,
    );
  }
}

/** One stage-2 run: the predictions, then metrics.json (its presence marks the run finished). */
async function runOnce(
  features: FeatureDir,
  options: Stage2Options,
  out: string,
): Promise<MetricsFile> {
  const { metrics, results } = await runStage2(features, options);
  await Deno.mkdir(parentDir(out), { recursive: true });
  await writeStage2Predictions(parentDir(out), features.test, results, metrics);
  await writeMetricsFile(out, metrics);
  return metrics;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
