/**
 * Several seeds of one experiment: mean and standard deviation of every method's figures, and the
 * summary's document (tables with mean ± std, a figure with error bars). Pure: no file access.
 *
 * The standard deviation is the sample one (n - 1 in the denominator), as long-tailed papers
 * report "mean ± std" over seeds; with one seed it is null.
 *
 * @module
 */

import { barChart } from "./figures.ts";
import type { MethodMetrics, MetricsFile } from "./metrics.ts";
import { publishedBlocks, type PublishedProtocol } from "./published.ts";
import type { ReportDocument, ReportFigure, ReportTable } from "./_report_model.ts";

/**
 * Mean, standard deviation and the values of one figure over seeds (fractions in 0..1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SeedStat } from "./seeds.ts";
 * const stat: SeedStat = { mean: 0.5, std: 0.1, values: [0.4, 0.5, 0.6] };
 * assert.equal(stat.values.length, 3);
 * ```
 */
export interface SeedStat {
  /** Mean over the seeds that have the figure; null when none has it. */
  mean: number | null;
  /** Sample standard deviation (n - 1); null with fewer than two values. */
  std: number | null;
  /** The figure of each seed, in seed order (null where a group is empty). */
  values: (number | null)[];
}

/**
 * The figures a summary covers: one row each, read from a method's metrics. Adding a figure to
 * every summary is adding a row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SUMMARY_FIELDS } from "./seeds.ts";
 * assert.deepEqual(SUMMARY_FIELDS.map((f) => f.id).slice(0, 4), [
 *   "test.all",
 *   "test.many",
 *   "test.medium",
 *   "test.few",
 * ]);
 * ```
 */
export const SUMMARY_FIELDS: readonly {
  id: string;
  label: string;
  get: (m: MethodMetrics) => number | null;
  lowerIsBetter?: boolean;
}[] = [
  { id: "test.all", label: "All", get: (m) => m.test.all },
  { id: "test.many", label: "Many", get: (m) => m.test.many },
  { id: "test.medium", label: "Medium", get: (m) => m.test.medium },
  { id: "test.few", label: "Few", get: (m) => m.test.few },
  { id: "val.all", label: "val All", get: (m) => m.val.all },
  { id: "test.ece", label: "ECE", get: (m) => m.calibration?.ece ?? null, lowerIsBetter: true },
];

/**
 * One method over the seeds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { MethodSummary } from "./seeds.ts";
 * const crt: MethodSummary = {
 *   label: "cRT",
 *   stats: { "test.all": { mean: 0.8, std: 0.01, values: [0.79, 0.81] } },
 * };
 * assert.equal(crt.stats["test.all"].mean, 0.8);
 * ```
 */
export interface MethodSummary {
  /** Display name. */
  label: string;
  /** Statistics by {@link SUMMARY_FIELDS} id. */
  stats: Record<string, SeedStat>;
}

/**
 * The summary of several seeds, as written to `summary.json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SeedSummary } from "./seeds.ts";
 * const summary: SeedSummary = {
 *   schema: "ltkit.seeds.summary",
 *   version: 1,
 *   seeds: [0, 1],
 *   runs: ["seed-0", "seed-1"],
 *   std: "sample (n - 1)",
 *   methods: {},
 * };
 * assert.equal(summary.seeds.length, 2);
 * ```
 */
export interface SeedSummary {
  /** Always `ltkit.seeds.summary`. */
  schema: "ltkit.seeds.summary";
  /** Always 1. */
  version: 1;
  /** The seeds, in order. */
  seeds: number[];
  /** Where each seed's results are (run folders or metrics files), in seed order. */
  runs: string[];
  /** How the standard deviation is computed. */
  std: "sample (n - 1)";
  /** By method key, in run order. */
  methods: Record<string, MethodSummary>;
}

/**
 * Mean and sample standard deviation of the finite values (nulls are skipped).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seedStat } from "./seeds.ts";
 * const s = seedStat([0.7, 0.8, null, 0.9]);
 * assert.ok(Math.abs(s.mean! - 0.8) < 1e-12);
 * assert.ok(Math.abs(s.std! - 0.1) < 1e-12);
 * assert.deepEqual(seedStat([0.5]), { mean: 0.5, std: null, values: [0.5] });
 * ```
 */
export function seedStat(values: readonly (number | null)[]): SeedStat {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (xs.length === 0) return { mean: null, std: null, values: [...values] };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length < 2
    ? null
    : Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  return { mean, std, values: [...values] };
}

/**
 * Summarises the metrics of several seeds of one experiment. Every seed must have the same
 * methods, classes and features' origin; otherwise the runs are not seeds of one experiment.
 *
 * @param runs Each seed's metrics and where they came from, in seed order.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarizeSeeds } from "./seeds.ts";
 * import type { MetricsFile } from "./metrics.ts";
 * const split = (all: number) => ({
 *   rows: 4, all, many: all, medium: null, few: all, accuracy: all, per_class: [], confusion: [],
 * });
 * const file = (seed: number, all: number) => ({
 *   seed,
 *   train_class_counts: [3, 1],
 *   methods: {
 *     crt: { label: "cRT", wall_ms: 1, val: split(all), test: split(all), weight_norms: [] },
 *   },
 * }) as unknown as MetricsFile;
 * const summary = summarizeSeeds([
 *   { metrics: file(0, 0.6), from: "seed-0" },
 *   { metrics: file(1, 0.8), from: "seed-1" },
 * ]);
 * assert.ok(Math.abs(summary.methods.crt.stats["test.all"].mean! - 0.7) < 1e-12);
 * assert.equal(summary.methods.crt.stats["test.medium"].mean, null);
 * ```
 */
export function summarizeSeeds(
  runs: readonly { metrics: MetricsFile; from: string }[],
): SeedSummary {
  if (runs.length === 0) throw new RangeError("Cannot summarise seeds: there are no runs");
  const first = runs[0].metrics;
  const keys = Object.keys(first.methods);
  for (const { metrics, from } of runs.slice(1)) {
    const other = Object.keys(metrics.methods);
    if (other.join(",") !== keys.join(",")) {
      throw new RangeError(
        `Cannot summarise seeds: ${from} has the methods ${other.join(",")} but ` +
          `${runs[0].from} has ${keys.join(",")}`,
      );
    }
    if (metrics.train_class_counts.join(",") !== first.train_class_counts.join(",")) {
      throw new RangeError(
        `Cannot summarise seeds: ${from} and ${runs[0].from} were trained on different ` +
          `class counts, so they are not seeds of one experiment`,
      );
    }
  }
  const methods: Record<string, MethodSummary> = {};
  for (const key of keys) {
    const stats: Record<string, SeedStat> = {};
    for (const field of SUMMARY_FIELDS) {
      stats[field.id] = seedStat(runs.map((r) => field.get(r.metrics.methods[key])));
    }
    methods[key] = { label: first.methods[key].label, stats };
  }
  return {
    schema: "ltkit.seeds.summary",
    version: 1,
    seeds: runs.map((r) => r.metrics.seed),
    runs: runs.map((r) => r.from),
    std: "sample (n - 1)",
    methods,
  };
}

/**
 * `mean ± std` in percent with two decimals (`-` when the group is empty).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatStat } from "./seeds.ts";
 * assert.equal(formatStat({ mean: 0.8246, std: 0.0031, values: [] }), "82.46 ± 0.31");
 * assert.equal(formatStat({ mean: 0.5, std: null, values: [0.5] }), "50.00");
 * assert.equal(formatStat({ mean: null, std: null, values: [null] }), "-");
 * ```
 */
export function formatStat(stat: SeedStat): string {
  if (stat.mean === null) return "-";
  const mean = (100 * stat.mean).toFixed(2);
  return stat.std === null ? mean : `${mean} ± ${(100 * stat.std).toFixed(2)}`;
}

/**
 * The summary as a plain-text table for the terminal: one row per method, `mean ± std` in
 * percent per figure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSeedTable, type SeedSummary } from "./seeds.ts";
 * const stat = { mean: 0.8, std: 0.01, values: [0.79, 0.81] };
 * const summary = {
 *   seeds: [0, 1],
 *   methods: { crt: { label: "cRT", stats: { "test.all": stat } } },
 * } as unknown as SeedSummary;
 * assert.match(formatSeedTable(summary).split("\n")[2], /^cRT +80\.00 ± 1\.00/);
 * ```
 */
export function formatSeedTable(summary: SeedSummary): string {
  const keys = Object.keys(summary.methods);
  const rows = [
    ["method", ...SUMMARY_FIELDS.map((f) => f.label)],
    ...keys.map((k) => [
      summary.methods[k].label,
      ...SUMMARY_FIELDS.map((f) => {
        const stat = summary.methods[k].stats[f.id];
        return stat ? formatStat(stat) : "-";
      }),
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
  return [
    line(rows[0]),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.slice(1).map(line),
  ].join("\n");
}

/**
 * The summary as a document: the mean ± std table, a bar chart with error bars, and each seed's
 * All. Rendered by the report's Markdown and HTML writers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seedSummaryDocument, type SeedSummary } from "./seeds.ts";
 * const stat = { mean: 0.8, std: 0.01, values: [0.79, 0.81] };
 * const summary: SeedSummary = {
 *   schema: "ltkit.seeds.summary",
 *   version: 1,
 *   seeds: [0, 1],
 *   runs: ["seed-0", "seed-1"],
 *   std: "sample (n - 1)",
 *   methods: {
 *     crt: {
 *       label: "cRT",
 *       stats: {
 *         "test.all": stat,
 *         "test.many": stat,
 *         "test.medium": stat,
 *         "test.few": stat,
 *         "val.all": stat,
 *         "test.ece": stat,
 *       },
 *     },
 *   },
 * };
 * const doc = seedSummaryDocument(summary, "cpu, 2 seeds");
 * assert.equal(doc.figures[0].file, "figures/seeds.svg");
 * assert.equal(doc.sections[0].blocks.length, 3);
 * ```
 */
export function seedSummaryDocument(
  summary: SeedSummary,
  title: string,
  published: PublishedProtocol | null = null,
): ReportDocument {
  const keys = Object.keys(summary.methods);
  const best = (f: (typeof SUMMARY_FIELDS)[number]) => {
    const means = keys.map((k) => summary.methods[k].stats[f.id]?.mean ?? null)
      .filter((v): v is number => v !== null);
    return f.lowerIsBetter ? Math.min(...means) : Math.max(...means);
  };
  const table: ReportTable = {
    header: ["method", ...SUMMARY_FIELDS.map((f) => f.label)],
    align: ["left", ...SUMMARY_FIELDS.map(() => "right" as const)],
    rows: keys.map((k) => {
      const m = summary.methods[k];
      return [
        { text: m.label },
        ...SUMMARY_FIELDS.map((f) => ({
          text: formatStat(m.stats[f.id]),
          bold: m.stats[f.id].mean !== null && m.stats[f.id].mean === best(f),
        })),
      ];
    }),
  };
  const perSeed: ReportTable = {
    header: ["method", ...summary.seeds.map((s) => `seed ${s}`)],
    align: ["left", ...summary.seeds.map(() => "right" as const)],
    rows: keys.map((k) => [
      { text: summary.methods[k].label },
      ...summary.methods[k].stats["test.all"].values.map((v) => ({
        text: v === null ? "-" : (100 * v).toFixed(2),
      })),
    ]),
  };
  const groups = SUMMARY_FIELDS.filter((f) => /^test\.(all|many|medium|few)$/.test(f.id));
  const svg = barChart({
    title: `Test accuracy over ${summary.seeds.length} seeds (mean ± std)`,
    xLabel: "shot group",
    yLabel: "accuracy (%)",
    yInclude: [0],
    categories: groups.map((f) => f.label),
    series: keys.map((k) => {
      const stats = groups.map((f) => summary.methods[k].stats[f.id]);
      return {
        label: summary.methods[k].label,
        values: stats.map((s) => (s.mean === null ? null : 100 * s.mean)),
        errors: stats.map((s) => (s.std === null ? null : 100 * s.std)),
      };
    }),
  });
  const figure: ReportFigure = {
    id: "seeds",
    file: "figures/seeds.svg",
    number: 1,
    title: "Test accuracy over seeds",
    caption: `Bars are the mean over seeds ${summary.seeds.join(", ")}; whiskers one sample ` +
      `standard deviation either side.`,
    svg,
  };
  return {
    title: `Seeds summary: ${title}`,
    sections: [
      {
        id: "summary",
        heading: "Mean ± std over seeds",
        blocks: [
          {
            kind: "paragraph",
            text: `Test accuracy (%) per method and shot group, mean ± sample standard ` +
              `deviation over seeds ${summary.seeds.join(", ")} (All is the mean of per-class ` +
              `accuracies; val All is the validation split that chose tau; ECE is the test ` +
              `expected calibration error, lower is better).`,
          },
          { kind: "table", table },
          { kind: "figure", figure },
        ],
      },
      ...(published
        ? [{
          id: "published",
          heading: "Published figures",
          blocks: publishedBlocks(
            published,
            keys.flatMap((k) => {
              const all = summary.methods[k].stats["test.all"].mean;
              return all === null ? [] : [{ name: k, label: summary.methods[k].label, all }];
            }),
            `mean of ${summary.seeds.length} seeds`,
          ),
        }]
        : []),
      {
        id: "per-seed",
        heading: "Each seed",
        blocks: [
          { kind: "paragraph", text: "Test All (%) of each seed's run." },
          { kind: "table", table: perSeed },
          { kind: "list", items: summary.runs.map((r, i) => `seed ${summary.seeds[i]}: ${r}`) },
        ],
      },
    ],
    figures: [figure],
  };
}
