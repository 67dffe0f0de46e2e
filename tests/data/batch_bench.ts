/**
 * CPU cost of the data pipeline per batch of 128 Fashion-MNIST-sized images:
 * `deno bench tests/data/batch_bench.ts`.
 */

import { BatchMaker, createSampler, Rng } from "../../lib/data/mod.ts";
import { syntheticSet } from "./_helpers.ts";

const COUNTS = [5980, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60];
const set = syntheticSet(COUNTS, { height: 28, width: 28 });
const order = createSampler("instance", set.labels, new Rng(0)).epoch();
const norm = { mean: [0.2860], std: [0.3530] };
const plain = new BatchMaker(set, { batchSize: 128, ...norm });
const augmented = new BatchMaker(set, { batchSize: 128, ...norm, augment: true, rng: new Rng(1) });
const batch = plain.allocate();
let start = 0;
const next = () => (start = (start + 128) % (order.length - 128));

Deno.bench("batch of 128, normalise only", { group: "batch" }, () => {
  plain.fill(order, next(), batch);
});

Deno.bench("batch of 128, pad-crop-flip + normalise", { group: "batch", baseline: true }, () => {
  augmented.fill(order, next(), batch);
});

const epochOut = new Int32Array(set.count);
for (const kind of ["instance", "class"] as const) {
  const sampler = createSampler(kind, set.labels, new Rng(2));
  Deno.bench(`${kind} sampler epoch of ${set.count}`, { group: "sampler" }, () => {
    sampler.epoch(0, 1, epochOut);
  });
}
