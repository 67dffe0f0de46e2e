/**
 * `--timings`: one ResNet-8 training step at batch 128, timed kernel by kernel (GPU timestamps
 * where the adapter has them), as rows per kernel family and per layer: ms, share of the step,
 * GFLOP/s and GB/s. The formatted tables also go to stderr.
 *
 * @module
 */

import { summarizeTimings } from "../../lib/gpu/_timing.ts";
import { resnet8 } from "../../lib/nn/spec.ts";
import { presetConfig, stage1Settings } from "../../lib/train/config.ts";
import { timeTrainingStep } from "../../lib/train/_step_timings.ts";
import type { BenchRow, BenchSection } from "./common.ts";

/** The per-kernel timing section; runs with `--timings` or `--only timings`. */
export const timingsSection: BenchSection = {
  name: "timings",
  description: "ResNet-8 training step at batch 128, time per kernel family and per layer",
  optional: true,
  async run(ctx) {
    const settings = stage1Settings(presetConfig("paper"));
    const { timings, text } = await timeTrainingStep(ctx.gpu, resnet8(), settings);
    console.error(text);
    const rows: BenchRow[] = [];
    for (const by of ["family", "layer"] as const) {
      const summary = summarizeTimings(timings.dispatches, by, by === "layer" ? "step" : "time");
      for (const r of summary) {
        rows.push({
          name: `${by} ${r.name}`,
          value: r.ms,
          unit: "ms",
          note: `${(r.share * 100).toFixed(1)}% of the step, ${
            r.gflops === null ? "-" : r.gflops.toFixed(2)
          } GFLOP/s, ${r.gbps.toFixed(2)} GB/s, ${r.dispatches} dispatches (${timings.method})`,
        });
      }
    }
    return rows;
  },
};
