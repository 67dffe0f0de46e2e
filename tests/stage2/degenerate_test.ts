import { rejects } from "node:assert/strict";
import { makeSyntheticFeatures } from "../../lib/features/synthetic.ts";
import { runStage2 } from "../../lib/stage2/run.ts";

Deno.test("stage 2 refuses degenerate features before any method runs, naming the split", async () => {
  const spoil: [string, (x: Float32Array) => void, RegExp][] = [
    ["test", (x) => x.fill(0), /the test features all \d+ rows x 6 dims are zero/],
    ["val", (x) => (x[3] = NaN), /the val features .*non-finite|the val features .*NaN/],
    ["train", (x) => x.fill(0.5), /the train features .*(equal|same)/],
  ];
  for (const [split, fn, pattern] of spoil) {
    const features = makeSyntheticFeatures({ trainCounts: [40, 10, 4], featureDim: 6 });
    fn(features[split as "train" | "val" | "test"].features);
    // No GPU is asked for: the check comes first.
    await rejects(runStage2(features, { methods: ["ncm"] }), pattern);
  }
});
