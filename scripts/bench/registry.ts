/**
 * The benchmark sections, in the order they run. To add one (softmax, conv, training images/s,
 * stage 2): write `scripts/bench/<name>.ts` exporting a {@link BenchSection} whose `run(ctx)`
 * returns rows `{ name, value, unit, peer?, ratio?, note? }`, and list it below.
 *
 * @module
 */

import type { BenchSection } from "./common.ts";
import { gemmSection } from "./gemm.ts";
import { trainSection } from "./train.ts";

/** Every section `scripts/bench.ts` knows; `--only a,b` picks some by name. */
export const SECTIONS: readonly BenchSection[] = [
  gemmSection,
  trainSection,
  // softmax: add `softmaxSection` from ./softmax.ts here (lib/ops/softmax.ts is in progress).
];
