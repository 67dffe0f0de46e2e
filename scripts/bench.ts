/**
 * Benchmarks for the current adapter: `deno task bench [--quick] [--json] [--only gemm,...]`.
 *
 * Each section (see `scripts/bench/registry.ts`) returns rows of figures, compared with
 * tfjs-webgpu where there is a counterpart. The table (or `--json`) goes to stdout, progress to
 * stderr, and the JSON also to `bench/latest.json`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { requestGpu } from "../lib/gpu/device.ts";
import { hostGpuOptions } from "../lib/io/_gpu_host.ts";
import { writeFileAtomic } from "../lib/io/_atomic.ts";
import type { BenchContext, BenchRow } from "./bench/common.ts";
import { SECTIONS } from "./bench/registry.ts";
import { STAGE2_SCALES } from "./bench/stage2.ts";

const USAGE = `usage: deno task bench [--quick] [--json] [--timings] [--only ${
  SECTIONS.map((s) => s.name).join(",")
}]
  --quick   fewer sizes and runs
  --json    print JSON instead of a table
  --timings also time one training step kernel by kernel (the timings section)
  --only    comma-separated sections (default: all but timings)
  --stage2-scale NAME   stage-2 feature shape: ${Object.keys(STAGE2_SCALES).join(", ")}
                        (default fashion-lt)
  --stage2-epochs N     stage-2 training epochs (default the recipe's 10)`;

function formatNumber(x: number | undefined): string {
  if (x === undefined) return "";
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  return abs >= 100 ? x.toFixed(0) : abs >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function table(rows: readonly BenchRow[]): string {
  const header = ["section", "name", "value", "unit", "peer", "ratio", "note"];
  const cells = rows.map((r) => [
    r.section ?? "",
    r.name,
    formatNumber(r.value),
    r.unit,
    formatNumber(r.peer),
    r.ratio === undefined ? "" : `${formatNumber(r.ratio)}x`,
    r.note ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const right = new Set([2, 4, 5]);
  const line = (c: string[]) =>
    c.map((v, i) => (right.has(i) ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      json: { type: "boolean", default: false },
      quick: { type: "boolean", default: false },
      timings: { type: "boolean", default: false },
      only: { type: "string" },
      "stage2-scale": { type: "string" },
      "stage2-epochs": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const wanted = values.only?.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = wanted?.filter((w) => !SECTIONS.some((s) => s.name === w)) ?? [];
  if (unknown.length > 0) {
    console.error(`Cannot run bench: no section ${unknown.join(", ")}\n${USAGE}`);
    return 2;
  }
  const scale = values["stage2-scale"];
  if (scale !== undefined && !(scale in STAGE2_SCALES)) {
    console.error(`Cannot run bench: no stage-2 scale "${scale}"\n${USAGE}`);
    return 2;
  }
  const epochs = values["stage2-epochs"] === undefined
    ? undefined
    : Number(values["stage2-epochs"]);
  if (epochs !== undefined && !(Number.isInteger(epochs) && epochs > 0)) {
    console.error(
      `Cannot run bench: --stage2-epochs ${values["stage2-epochs"]} is not a positive integer`,
    );
    return 2;
  }
  const sections = SECTIONS.filter((s) =>
    wanted ? wanted.includes(s.name) || (values.timings && s.name === "timings") : !s.optional ||
      (values.timings && s.name === "timings")
  );
  const gpu = await requestGpu({ warnFallback: false, ...hostGpuOptions() });
  const adapter = gpu.adapter;
  const started = performance.now();
  const ctx: BenchContext = {
    gpu,
    quick: values.quick,
    stage2: { scale, epochs },
    log: (message) =>
      console.error(`[${((performance.now() - started) / 1000).toFixed(1)}s] ${message}`),
  };
  ctx.log(
    `adapter "${adapter.description}"${adapter.isFallbackAdapter ? " (software fallback)" : ""}`,
  );
  const rows: BenchRow[] = [];
  for (const section of sections) {
    ctx.log(`section ${section.name}: ${section.description}`);
    for (const row of await section.run(ctx)) rows.push({ section: section.name, ...row });
  }
  const report = {
    adapter,
    date: new Date().toISOString(),
    quick: values.quick,
    seconds: (performance.now() - started) / 1000,
    rows,
  };
  const json = JSON.stringify(report, null, 2);
  if (values.json) console.log(json);
  else {
    console.log(`adapter: ${adapter.description}${adapter.isFallbackAdapter ? " (fallback)" : ""}`);
    const peers = [...new Set(rows.map((r) => r.peerName).filter(Boolean))];
    if (peers.length > 0) console.log(`peer: ${peers.join(", ")}`);
    console.log(table(rows));
  }
  try {
    await Deno.mkdir("bench", { recursive: true });
    await writeFileAtomic("bench/latest.json", json + "\n", "benchmark results");
  } catch (error) {
    ctx.log(`not saved to bench/latest.json: ${(error as Error).message}`);
  }
  gpu.destroy();
  const failed = rows.filter((r) => r.ok === false);
  if (failed.length > 0) {
    console.error(
      `${failed.length} result check(s) failed: ${failed.map((r) => r.name).join(", ")}`,
    );
    return 1;
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
