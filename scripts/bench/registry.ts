/**
 * The benchmark sections, in the order they run. To add one (softmax, conv, training images/s,
 * stage 2): write `scripts/bench/<name>.ts` exporting a {@link BenchSection} whose `run(ctx)`
 * returns rows `{ name, value, unit, peer?, ratio?, note? }`, and list it below.
 *
 * @module
 */

import type { BenchSection } from "./common.ts";
import { benchConv } from "./conv.ts";
import { gemmSection } from "./gemm.ts";
import { inputSection } from "./input.ts";
import { benchSoftmax } from "./softmax.ts";
import { stage2Section } from "./stage2.ts";
import { trainSection } from "./train.ts";

// softmax.ts, conv.ts and stage2.ts predate BenchSection: these adapt their figures to rows.
const softmax: BenchSection = {
  name: "softmax",
  description: "row softmax and log-softmax 4096x1000 GB/s, against tfjs-webgpu tf.softmax",
  run: (ctx) => benchSoftmax(ctx.gpu, { reps: ctx.quick ? 3 : 5 }),
};
const conv: BenchSection = {
  name: "conv",
  description: "ResNet-8 convolutions at batch 128: forward and backward GFLOP/s",
  run: async (ctx) =>
    (await benchConv(ctx.gpu, { reps: ctx.quick ? 2 : 5 })).map((r) => ({
      name: `conv ${r.name} ${r.pass}`,
      value: r.gflops,
      unit: "GFLOP/s",
      note: `${r.wallMs.toFixed(1)} ms/call` +
        (Number.isFinite(r.cpuMs) ? `, ${r.cpuMs.toFixed(1)} CPU ms/core` : ""),
    })),
};
const stage2: BenchSection = {
  name: stage2Section.name,
  description: stage2Section.description,
  run: async (ctx) => (await stage2Section.run(ctx.gpu)).figures,
};

/** Every section `scripts/bench.ts` knows; `--only a,b` picks some by name. */
export const SECTIONS: readonly BenchSection[] = [
  gemmSection,
  softmax,
  conv,
  trainSection,
  stage2,
  inputSection,
];
