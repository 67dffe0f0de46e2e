/**
 * Several seeds of one experiment (`deno task train --seeds 0,1,2`, `deno task stage2 --seeds`):
 * each seed is a run folder of its own under one group folder, and the group's `summary/` holds
 * the mean and standard deviation of every method. Rerunning the same command continues the group:
 * finished seeds are kept and skipped, an interrupted one is resumed.
 *
 * Group folder: `seeds.json` (the seeds and the shared config), `seed-<n>/` per seed, and
 * `summary/{summary.json, summary.md, summary.html, figures/seeds.svg}`, written last.
 *
 * @module
 */

import { renderHtml } from "../eval/_report_html.ts";
import { type MetricsFile, validateMetricsFile } from "../eval/metrics.ts";
import { publishedFor, type PublishedProtocol } from "../eval/published.ts";
import { renderMarkdown } from "../eval/report.ts";
import {
  formatSeedTable,
  type SeedSummary,
  seedSummaryDocument,
  summarizeSeeds,
} from "../eval/seeds.ts";
import { requestGpu } from "../gpu/device.ts";
import { writeFileAtomic } from "../io/_atomic.ts";
import { exists, runStamp } from "../io/_paths.ts";
import type { ExperimentConfig } from "./config.ts";
import { resolveConfig, runExperiment } from "./experiment.ts";
import type { TrainArgs } from "./flags.ts";
import { formatDuration, Progress } from "./_progress.ts";

/**
 * What a group of seeds leaves.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SeedsResult } from "./seeds.ts";
 * const result: SeedsResult = { dir: "runs/cpu-seeds-x", runs: [], summary: null };
 * assert.equal(result.summary, null);
 * ```
 */
export interface SeedsResult {
  /** The group folder. */
  dir: string;
  /** Each seed's run folder, in seed order. */
  runs: string[];
  /** The summary (null when stage 2 did not run, as with --stage1-only). */
  summary: SeedSummary | null;
}

/**
 * A group's record of what it is (`seeds.json`): a rerun must ask for the same seeds and
 * settings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SeedGroup } from "./seeds.ts";
 * const group: SeedGroup = { seeds: [0, 1], config: { methods: ["crt"] } };
 * assert.equal(group.seeds.length, 2);
 * ```
 */
export interface SeedGroup {
  /** The seeds, in order. */
  seeds: number[];
  /** Every setting the seeds share (the config without its seed). */
  config: unknown;
}

function withoutSeed(config: ExperimentConfig): Omit<ExperimentConfig, "seed"> {
  const { seed: _, ...rest } = config;
  return rest;
}

/** Fields (dotted paths) where two JSON values differ. */
function differences(a: unknown, b: unknown, path = ""): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
    return [`${path || "the config"} (${JSON.stringify(a)} there, ${JSON.stringify(b)} now)`];
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return [`${path} (${JSON.stringify(a)} there, ${JSON.stringify(b)} now)`];
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) =>
    differences(
      (a as Record<string, unknown>)[k],
      (b as Record<string, unknown>)[k],
      path ? `${path}.${k}` : k,
    )
  );
}

/**
 * Checks or creates a group folder's `seeds.json` and refuses, before any work, a group whose
 * summary is finished or that was started with other seeds or settings.
 *
 * @param dir The group folder.
 * @param record The seeds and the shared settings asked for now.
 * @param command How to name the command in messages, e.g. `deno task train`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openSeedGroup } from "./seeds.ts";
 * const dir = await Deno.makeTempDir();
 * await openSeedGroup(`${dir}/g`, { seeds: [0, 1], config: { lr: 0.1 } }, "deno task stage2");
 * await openSeedGroup(`${dir}/g`, { seeds: [0, 1], config: { lr: 0.1 } }, "deno task stage2");
 * await assert.rejects(
 *   openSeedGroup(`${dir}/g`, { seeds: [0, 1], config: { lr: 0.5 } }, "deno task stage2"),
 *   /started with other settings: lr \(0\.1 there, 0\.5 now\)/,
 * );
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openSeedGroup(
  dir: string,
  record: SeedGroup,
  command: string,
): Promise<void> {
  if (await exists(`${dir}/summary/summary.json`)) {
    throw new RangeError(
      `Cannot run seeds in ${dir}: its summary is finished (${dir}/summary/summary.json) and ` +
        `stays as it is; choose another --out`,
    );
  }
  const path = `${dir}/seeds.json`;
  if (await exists(path)) {
    let stored: SeedGroup;
    try {
      stored = JSON.parse(await Deno.readTextFile(path));
    } catch (error) {
      throw new SyntaxError(`Cannot read seed group ${path}: ${(error as Error).message}`);
    }
    const diff = [
      ...differences(stored.seeds, record.seeds, "seeds"),
      ...differences(stored.config, record.config),
    ];
    if (diff.length > 0) {
      throw new RangeError(
        `Cannot continue the seed group ${dir}: it was started with other settings: ` +
          `${diff.join("; ")}. Rerun the ${command} command that started it, or choose another ` +
          `--out`,
      );
    }
    return;
  }
  if (await exists(dir) && [...Deno.readDirSync(dir)].length > 0) {
    throw new RangeError(
      `Cannot start a seed group in ${dir}: the folder holds other files; choose another --out`,
    );
  }
  await Deno.mkdir(dir, { recursive: true });
  await writeFileAtomic(path, JSON.stringify(record, null, 2) + "\n", "seed group");
}

/**
 * Writes `summary.json`, `summary.md`, `summary.html` and `figures/seeds.svg` into `dir`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarizeSeeds } from "../eval/seeds.ts";
 * import { writeSeedSummary } from "./seeds.ts";
 * import type { MetricsFile } from "../eval/metrics.ts";
 * const split = { rows: 2, all: 0.5, many: 0.5, medium: null, few: 0.5, accuracy: 0.5,
 *   per_class: [], confusion: [] };
 * const metrics = (seed: number) => ({
 *   seed,
 *   train_class_counts: [2, 1],
 *   methods: { ncm: { label: "NCM", wall_ms: 1, val: split, test: split, weight_norms: [] } },
 * }) as unknown as MetricsFile;
 * const dir = await Deno.makeTempDir();
 * const summary = summarizeSeeds([
 *   { metrics: metrics(0), from: "seed-0" },
 *   { metrics: metrics(1), from: "seed-1" },
 * ]);
 * await writeSeedSummary(`${dir}/summary`, summary, "example");
 * assert.match(await Deno.readTextFile(`${dir}/summary/summary.md`), /50\.00 ± 0\.00/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeSeedSummary(
  dir: string,
  summary: SeedSummary,
  title: string,
  published: PublishedProtocol | null = null,
): Promise<void> {
  const doc = seedSummaryDocument(summary, title, published);
  await Deno.mkdir(`${dir}/figures`, { recursive: true });
  for (const figure of doc.figures) {
    await writeFileAtomic(`${dir}/${figure.file}`, figure.svg, "figure");
  }
  await writeFileAtomic(`${dir}/summary.md`, renderMarkdown(doc), "seed summary");
  await writeFileAtomic(`${dir}/summary.html`, renderHtml(doc), "seed summary");
  // summary.json last: its presence marks the group as finished.
  await writeFileAtomic(
    `${dir}/summary.json`,
    JSON.stringify(summary, null, 2) + "\n",
    "seed summary",
  );
}

/**
 * Reads and checks a `metrics.json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readMetrics } from "./seeds.ts";
 * await assert.rejects(readMetrics("/no/such/metrics.json"), Deno.errors.NotFound);
 * ```
 */
export async function readMetrics(path: string): Promise<MetricsFile> {
  return validateMetricsFile(JSON.parse(await Deno.readTextFile(path)), path);
}

/**
 * Runs `deno task train` once per seed, each into `DIR/seed-<n>/`, then writes the summary.
 * Finished seeds (their `run.json` exists) are kept and skipped; an interrupted one is resumed
 * with its own settings.
 *
 * The example is not run by `deno test --doc`: it trains several networks;
 * tests/train/seeds_test.ts runs it.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { parseTrainArgs } from "./flags.ts";
 * const args = parseTrainArgs(["--preset", "smoke", "--out", "runs/s"]);
 * const result = await runSeeds(args, [0, 1, 2]);
 * const all = result.summary?.methods.crt.stats["test.all"];
 * assert.equal(all?.values.length, 3);
 * ```
 */
export async function runSeeds(args: TrainArgs, seeds: readonly number[]): Promise<SeedsResult> {
  const started = performance.now();
  const gpu = await requestGpu({ warnFallback: false });
  let config: ExperimentConfig;
  try {
    ({ config } = await resolveConfig(args, gpu));
  } finally {
    gpu.destroy();
  }
  const dir = (args.out ?? `runs/${config.preset}-seeds-${runStamp()}`).replace(/\/+$/, "");
  await openSeedGroup(
    dir,
    { seeds: [...seeds], config: withoutSeed(config) },
    "deno task train",
  );
  const log = new Progress("seeds", { quiet: args.quiet });
  const runs: string[] = [];
  for (const [i, seed] of seeds.entries()) {
    const out = `${dir}/seed-${seed}`;
    runs.push(out);
    if (await exists(`${out}/run.json`)) {
      log.info(`seeds: seed ${seed} (${i + 1}/${seeds.length}) finished before; kept`);
      continue;
    }
    const resume = await exists(`${out}/config.json`);
    log.info(
      `seeds: seed ${seed} (${i + 1}/${seeds.length}) ${resume ? "resumed" : "starts"} in ${out}`,
    );
    const overrides = new Map(args.overrides);
    overrides.set("seed", seed);
    await runExperiment({
      ...args,
      out,
      resume,
      // A resumed seed keeps its own config; the group check above already matched the settings.
      preset: resume ? null : args.preset,
      config: resume ? null : args.config,
      overrides: resume ? new Map() : overrides,
    });
  }
  if (args.stage1Only) return { dir, runs, summary: null };
  const summary = summarizeSeeds(
    await Promise.all(
      runs.map(async (run) => ({ metrics: await readMetrics(`${run}/metrics.json`), from: run })),
    ),
  );
  await writeSeedSummary(
    `${dir}/summary`,
    summary,
    `${config.preset} preset, ${config.profile}, ${seeds.length} seeds`,
    publishedFor(config.profile, config.model.arch, config.model.shortcut),
  );
  if (!args.quiet) console.log(formatSeedTable(summary));
  log.info(
    `seeds: ${seeds.length} seeds done in ${
      formatDuration((performance.now() - started) / 1000)
    }; summary in ${dir}/summary`,
  );
  return { dir, runs, summary };
}
