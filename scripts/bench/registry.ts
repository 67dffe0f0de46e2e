/**
 * The benchmark sections, in the order they run. To add one (softmax, conv, training images/s,
 * stage 2): write `scripts/bench/<name>.ts` exporting a {@link BenchSection} whose `run(ctx)`
 * returns rows `{ name, value, unit, peer?, ratio?, note? }`, and list it below.
 *
 * @module
 */

import { conv2dTuneShape, conv2dVariant, formatConv2dVariant } from "../../lib/ops/conv2d.ts";
import { batchNormVariant } from "../../lib/ops/batchnorm.ts";
import { formatRowRule } from "../../lib/ops/reduce.ts";
import { softmaxRowRule } from "../../lib/ops/softmax.ts";
import { backboneSections } from "./backbones.ts";
import { type BenchRow, type BenchSection, tuningRows } from "./common.ts";
import { benchConv } from "./conv.ts";
import { groupedConvSection } from "./conv_grouped.ts";
import { gemmSection } from "./gemm.ts";
import { inputSection } from "./input.ts";
import { benchSoftmax } from "./softmax.ts";
import { stage2Section } from "./stage2.ts";
import { timingsSection } from "./timings.ts";
import { trainSection } from "./train.ts";

// softmax.ts, conv.ts and stage2.ts predate BenchSection: these adapt their figures to rows.
const softmax: BenchSection = {
  name: "softmax",
  description: "row softmax and log-softmax 4096x1000 GB/s, against tfjs-webgpu tf.softmax",
  run: async (ctx) => {
    // Every row rule is timed afresh (interleaved rounds, median), so the table shows them.
    const rule = await softmaxRowRule(ctx.gpu, { force: true });
    return [
      ...tuningRows("softmax", rule, formatRowRule),
      ...await benchSoftmax(ctx.gpu, { runs: ctx.quick ? 3 : 5 }),
    ];
  },
};
const conv: BenchSection = {
  name: "conv",
  description: "ResNet-8 convolutions at batch 128: tuned variants, forward and backward GFLOP/s",
  run: async (ctx) => {
    const rows: BenchRow[] = [];
    const { flop } = conv2dTuneShape(ctx.gpu);
    for (const pass of ["forward", "backward_input", "backward_weight"] as const) {
      // Every candidate is timed afresh (interleaved rounds, median), so the table shows them.
      const result = await conv2dVariant(ctx.gpu, pass, { force: true });
      rows.push(...tuningRows(`conv ${pass}`, result, formatConv2dVariant, flop));
    }
    for (const r of await benchConv(ctx.gpu, { reps: ctx.quick ? 2 : 5 })) {
      rows.push({
        name: `conv ${r.name} ${r.pass}`,
        value: r.gflops,
        unit: "GFLOP/s",
        note: `${r.variant}, ${r.wallMs.toFixed(1)} ms/call` +
          (Number.isFinite(r.cpuMs) ? `, ${r.cpuMs.toFixed(1)} CPU ms/core` : ""),
      });
    }
    return rows;
  },
};
const stage2: BenchSection = {
  name: stage2Section.name,
  description: stage2Section.description,
  run: async (ctx) => (await stage2Section.run(ctx.gpu, ctx.stage2)).figures,
};

const batchnorm: BenchSection = {
  name: "batchnorm",
  description: "batch-norm reduction variants: training forward + backward, candidates and winner",
  run: async (ctx) =>
    tuningRows("batchnorm", await batchNormVariant(ctx.gpu, { force: true }), String),
};

/** Every section `scripts/bench.ts` knows; `--only a,b` picks some by name. */
export const SECTIONS: readonly BenchSection[] = [
  gemmSection,
  softmax,
  conv,
  groupedConvSection,
  batchnorm,
  trainSection,
  ...backboneSections,
  stage2,
  timingsSection,
  inputSection,
];
