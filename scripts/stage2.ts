/**
 * `deno task stage2`: stage 2 from a features folder alone; writes metrics.json into a new folder
 * `runs/stage2-<time>/` (or `--out FILE`, which must not exist yet) and prints the table. It never
 * writes into the features' folder or overwrites a result.
 *
 * ```text
 * deno task stage2 --features DIR [--methods joint,ncm,ncm_l2,crt,tau,lws,la,bsm] [--seed N]
 *                  [--out FILE] [--epochs N] [--batch N] [--lr X] [--quiet]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { formatMetricsTable } from "../lib/eval/metrics.ts";
import { writeMetricsFile } from "../lib/eval/write_metrics.ts";
import { readFeatureDir } from "../lib/features/load.ts";
import { METHOD_NAMES, parseMethods } from "../lib/stage2/method.ts";
import { runStage2 } from "../lib/stage2/run.ts";
import { exists, parentDir } from "../lib/io/paths.ts";
import { checkPaths } from "../lib/train/_permissions.ts";

const USAGE = `Usage:
  deno task stage2 --features DIR [--methods LIST] [--seed N] [--out FILE]
                   [--epochs N] [--batch N] [--lr X] [--quiet]

Runs stage 2 (classifiers on frozen features) on the GPU from DIR/train.arrow, val.arrow,
test.arrow and classifier.arrow, writes the metrics to FILE (default runs/stage2-<time>/
metrics.json; an existing FILE is never overwritten) and prints the table.

  --methods LIST  comma-separated, default all: ${METHOD_NAMES.join(",")}
                  (joint: stage-1 classifier; ncm / ncm_l2: nearest class mean, cosine / centred
                  L2; crt: classifier re-training; tau: tau-normalisation; lws: learnable weight
                  scaling; la: post-hoc logit adjustment; bsm: cRT with balanced softmax)
  --seed N        seed of every random choice (default 0)
  --epochs N, --batch N, --lr X
                  cRT / LWS / balanced-softmax training (default 10, 512, 0.1)`;

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  features: { type: "string" },
  methods: { type: "string" },
  seed: { type: "string" },
  out: { type: "string" },
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
    console.error(`error: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  let methods, seed, epochs, batch, lr;
  try {
    if (!values.features) throw new RangeError("Cannot run stage 2: --features DIR is required");
    methods = parseMethods(values.methods ?? "all");
    seed = integer("seed", values.seed, 0) ?? 0;
    epochs = integer("epochs", values.epochs, 1);
    batch = integer("batch", values.batch, 1);
    lr = values.lr === undefined ? undefined : Number(values.lr);
    if (lr !== undefined && !(lr > 0)) {
      throw new RangeError(`Cannot parse --lr ${values.lr}: expected a number > 0`);
    }
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const dir = values.features.replace(/\/+$/, "") || "/";
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const out = values.out ?? `runs/stage2-${stamp}/metrics.json`;
  const outDir = parentDir(out);
  try {
    // The folder of `out` is read too: whether `out` exists, and the rename of the atomic write.
    await checkPaths("stage2", argv, { read: [dir, outDir], write: [outDir] });
    if (await exists(out)) {
      throw new RangeError(
        `Cannot write the metrics to ${out}: the file exists and holds a finished result; ` +
          `choose another --out`,
      );
    }
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
  try {
    const features = await readFeatureDir(dir);
    const { metrics } = await runStage2(features, {
      methods,
      seed,
      epochs,
      batch,
      lr,
      source: dir,
      log: values.quiet ? undefined : (line) => console.error(`stage 2: ${line}`),
    });
    await Deno.mkdir(outDir, { recursive: true });
    await writeMetricsFile(out, metrics);
    console.log(formatMetricsTable(metrics));
    if (!values.quiet) console.error(`stage 2: metrics written to ${out}`);
    return 0;
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
