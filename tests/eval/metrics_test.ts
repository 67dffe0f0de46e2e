import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  argmaxRows,
  balancedAccuracy,
  chooseTau,
  classWeightNorms,
  confusionMatrix,
  formatMetricsTable,
  groupsFor,
  type MetricsFile,
  splitMetrics,
  thresholdsFromProfile,
  validateMetricsFile,
} from "../../lib/eval/metrics.ts";
import { writeMetricsFile } from "../../lib/eval/write_metrics.ts";

Deno.test("All is the mean of per-class accuracies; groups average their classes", () => {
  // Class 0: 3/4 right, class 1: 1/2, class 2: 0/1, class 3: no rows.
  const labels = Int32Array.of(0, 0, 0, 0, 1, 1, 2);
  const preds = Int32Array.of(0, 0, 0, 1, 1, 0, 1);
  const m = splitMetrics(preds, labels, ["many", "medium", "few", "few"]);
  deepEqual(m.per_class, [0.75, 0.5, 0, null]);
  equal(m.all, (0.75 + 0.5 + 0) / 3);
  equal(m.many, 0.75);
  equal(m.medium, 0.5);
  equal(m.few, 0, "the class without rows is left out of the Few mean");
  equal(m.accuracy, 4 / 7);
  equal(m.rows, 7);
  deepEqual(m.confusion, [
    [3, 1, 0, 0],
    [1, 1, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 0, 0],
  ]);
  const noFew = splitMetrics(Int32Array.of(0, 1), Int32Array.of(0, 1), ["many", "many"]);
  equal(noFew.few, null);
  equal(noFew.medium, null);
});

Deno.test("shot groups come from the profile's thresholds, the paper's by default", () => {
  const fashion = [5980, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60];
  const { thresholds, groups } = groupsFor(fashion, { shotThresholds: { many: 1000, few: 200 } });
  deepEqual(thresholds, { many: 1000, few: 200 });
  deepEqual(groups, [
    "many",
    "many",
    "many",
    "many",
    "medium",
    "medium",
    "medium",
    "few",
    "few",
    "few",
  ]);
  deepEqual(thresholdsFromProfile({ name: "x" }), { many: 100, few: 20 });
  deepEqual(groupsFor([101, 100, 20, 19]).groups, ["many", "medium", "medium", "few"]);
});

Deno.test("argmax ties go to the smallest class; tau ties to the smallest tau", () => {
  deepEqual([...argmaxRows(Float32Array.of(1, 3, 3, 2, 2, 2), 3)], [1, 0]);
  equal(
    chooseTau([
      { tau: 0.3, val_all: 0.8 },
      { tau: 0, val_all: 0.5 },
      { tau: 0.1, val_all: 0.8 },
      { tau: 0.2, val_all: 0.8 - 1e-15 },
    ]),
    0.1,
  );
  equal(chooseTau([{ tau: 1.2, val_all: 0.1 }]), 1.2);
  throws(() => chooseTau([]), /Cannot choose tau: the validation curve is empty/);
  equal(balancedAccuracy(Float32Array.of(1, 0, 0, 1, 1, 0), Int32Array.of(0, 1, 1), 2), 0.75);
});

Deno.test("confusion and weight norms check their inputs", () => {
  throws(
    () => confusionMatrix(Int32Array.of(0, 4), Int32Array.of(0, 1), 3),
    /row 1 has label 1 and prediction 4, outside 0\.\.2/,
  );
  throws(
    () => confusionMatrix(Int32Array.of(0), Int32Array.of(0, 1), 3),
    /1 predictions for 2 labels/,
  );
  throws(() => argmaxRows(new Float32Array(5), 3), /5 logits are not rows of 3 classes/);
  deepEqual(classWeightNorms(Float32Array.of(3, 4, 6, 8), 2, 2), [5, 10]);
  deepEqual(classWeightNorms(Float32Array.of(3, 4, 6, 8), 2, 2, [-2, 0.5]), [10, 5]);
});

function sampleFile(): MetricsFile {
  const split = splitMetrics(Int32Array.of(0, 1), Int32Array.of(0, 0), ["many", "few"]);
  return {
    schema: "ltkit.stage2.metrics",
    version: 1,
    created: new Date(0).toISOString(),
    kit_version: "0.1.0",
    source: {
      features: "x",
      checkpoint_sha256: "0".repeat(64),
      profile: {},
      backbone: "toy",
      feature_dim: 2,
      class_count: 2,
    },
    train_class_counts: [200, 3],
    shot_thresholds: { many: 100, few: 20 },
    shot_groups: ["many", "few"],
    seed: 0,
    settings: {},
    methods: {
      joint: { label: "Joint", wall_ms: 3.2, val: split, test: split, weight_norms: [1, 2] },
      tau: {
        label: "tau-norm",
        wall_ms: 12,
        val: split,
        test: split,
        weight_norms: [1, 1],
        tau: 0.7,
        tau_curve: [{ tau: 0.7, val_all: 0.5 }],
      },
    },
  };
}

Deno.test("metrics.json round trip and the printed table", async () => {
  const file = sampleFile();
  const dir = await Deno.makeTempDir();
  try {
    await writeMetricsFile(`${dir}/metrics.json`, file);
    deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["metrics.json"]);
    const back = validateMetricsFile(JSON.parse(await Deno.readTextFile(`${dir}/metrics.json`)));
    deepEqual(back, file);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  throws(
    () => validateMetricsFile({ ...file, version: 2 }),
    /version 2 but this kit reads version 1/,
  );
  throws(() => validateMetricsFile({}), /its "schema" is not "ltkit\.stage2\.metrics"/);
  const table = formatMetricsTable(file);
  const lines = table.split("\n");
  equal(lines.length, 5);
  ok(lines[0].includes("Many > 100, Few < 20"));
  // Class 0 is half right, class 1 (Few) has no test rows: Few is "-".
  ok(/^Joint\s+50\.00\s+50\.00\s+50\.00\s+-\s+-\s+-\s+3$/.test(lines[3]), lines[3]);
  ok(/^tau-norm .* 0\.7\s+12$/.test(lines[4]), lines[4]);
});
