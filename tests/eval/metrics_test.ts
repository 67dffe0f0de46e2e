import { deepStrictEqual as deepEqual, ok, strictEqual as equal, throws } from "node:assert/strict";
import {
  argmaxRows,
  balancedAccuracy,
  calibrationMetrics,
  chooseTau,
  classWeightNorms,
  confidenceBin,
  CONFUSION_MAX_CLASSES,
  confusionMatrix,
  ECE_BINS,
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

Deno.test("past CONFUSION_MAX_CLASSES classes the confusion matrix is dropped, per-class kept", () => {
  const classes = CONFUSION_MAX_CLASSES + 7;
  // Row i has label i % C; every third row is predicted as the next class.
  const labels = Int32Array.from({ length: 3 * classes }, (_, i) => i % classes);
  const preds = labels.map((y, i) => (i % 3 === 0 ? (y + 1) % classes : y));
  const groups = Array.from({ length: classes }, () => "many" as const);
  const big = splitMetrics(preds, labels, groups);
  equal(big.confusion, null);
  // The same per-class figures as the confusion-matrix path on the first C_max classes.
  const perClass = Array.from({ length: classes }, (_, c) => {
    let hits = 0;
    for (let k = 0; k < 3; k++) hits += (c + k * classes) % 3 === 0 ? 0 : 1;
    return hits / 3;
  });
  deepEqual(big.per_class, perClass);
  ok(Math.abs(big.accuracy - perClass.reduce((a, b) => a + b, 0) / classes) < 1e-12);
  const keep = labels.subarray(0, CONFUSION_MAX_CLASSES).map((y) => y % CONFUSION_MAX_CLASSES);
  const small = splitMetrics(keep, keep, groups.slice(0, CONFUSION_MAX_CLASSES));
  equal(small.confusion?.length, CONFUSION_MAX_CLASSES);
  throws(
    () => splitMetrics(Int32Array.of(classes), Int32Array.of(0), groups),
    /Cannot score predictions: row 0 has label 0 and prediction 1007, outside 0..1006/,
  );
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

/** Close to within `tol` (absolute), with both values in the message. */
function near(actual: number, expected: number, tol: number, what: string) {
  ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);
}

Deno.test("ECE and NLL of a hand-computed case: 15 bins (b/15, (b+1)/15], per shot group", () => {
  // Rows (C = 3) and their top-1 softmax confidence p, chosen away from bin edges:
  // 0: [0, 0, 0], label 0: p = 1/3 (tie -> class 0, right), bin 4 = (4/15, 5/15]
  // 1: [ln 5, 0, 0], label 1: p = 5/7 (wrong), bin 10; p(label) = 1/7
  // 2: [0, ln 9, 0], label 1: p = 9/11 (right), bin 12
  // 3: [0, 0, ln 18], label 2: p = 18/20 (right), bin 13
  // 4: [0, 0, ln 19], label 0: p = 19/21 (wrong), bin 13; p(label) = 1/21
  const L = Math.log;
  const logits = Float32Array.of(0, 0, 0, L(5), 0, 0, 0, L(9), 0, 0, 0, L(18), 0, 0, L(19));
  const labels = Int32Array.of(0, 1, 1, 2, 0);
  const m = calibrationMetrics(logits, labels, ["many", "medium", "few"]);
  const p = [1 / 3, 5 / 7, 9 / 11, 18 / 20, 19 / 21];
  deepEqual(p.map((v) => confidenceBin(v, ECE_BINS)), [4, 10, 12, 13, 13]);
  const ece = (1 - p[0] + p[1] + (1 - p[2]) + Math.abs(1 - (p[3] + p[4]))) / 5;
  near(m.ece, ece, 1e-6, "ECE");
  near(m.nll, (L(3) + L(7) + L(11 / 9) + L(20 / 18) + L(21)) / 5, 1e-6, "NLL");
  equal(m.rows, 5);
  // Many: rows 0 and 4 (label 0), in bins 4 and 13.
  near(m.many!.ece, (1 - p[0] + p[4]) / 2, 1e-6, "Many ECE");
  near(m.many!.nll, (L(3) + L(21)) / 2, 1e-6, "Many NLL");
  near(m.medium!.ece, (p[1] + 1 - p[2]) / 2, 1e-6, "Medium ECE");
  near(m.few!.ece, 1 - p[3], 1e-6, "Few ECE");
  equal(m.few!.rows, 1);
  deepEqual(m.bins.count, [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 2, 0]);
  near(m.bins.confidence[13]!, (p[3] + p[4]) / 2, 1e-6, "bin 13 confidence");
  equal(m.bins.accuracy[13], 0.5);
  equal(m.bins.accuracy[0], null);
  // Bin edges: the top of a bin is in it; 1 is in the last bin.
  deepEqual([0.2, 0.2000001, 1, 1e-9].map((v) => confidenceBin(v, 15)), [2, 3, 14, 0]);
  // Perfectly confident and right: no error; a group without rows is null.
  const sure = calibrationMetrics(Float32Array.of(100, 0, 0, 100), Int32Array.of(0, 1), [
    "many",
    "many",
  ]);
  near(sure.ece, 0, 1e-12, "confident ECE");
  near(sure.nll, 0, 1e-12, "confident NLL");
  equal(sure.few, null);
  throws(() => calibrationMetrics(Float32Array.of(0, 0), Int32Array.of(2), ["many", "few"]), {
    name: "RangeError",
    message: /row 0 has label 2, outside 0\.\.1/,
  });
});

/** A second, plain implementation: naive softmax, bins by interval test, ECE as a sum of gaps. */
function eceNaive(logits: Float32Array, labels: Int32Array, classes: number) {
  const n = labels.length;
  const gaps = new Float64Array(15);
  const counts = new Float64Array(15);
  let nll = 0;
  for (let r = 0; r < n; r++) {
    const row = Array.from(logits.subarray(r * classes, (r + 1) * classes), (v) => Math.exp(v));
    const z = row.reduce((a, b) => a + b, 0);
    const probs = row.map((e) => e / z);
    let top = 0;
    for (let c = 1; c < classes; c++) if (probs[c] > probs[top]) top = c;
    nll -= Math.log(probs[labels[r]]);
    for (let b = 0; b < 15; b++) {
      if (probs[top] > b / 15 && probs[top] <= (b + 1) / 15) {
        gaps[b] += (top === labels[r] ? 1 : 0) - probs[top];
        counts[b]++;
      }
    }
  }
  let ece = 0;
  for (let b = 0; b < 15; b++) ece += Math.abs(gaps[b]) / n;
  return { ece, nll: nll / n, counts: [...counts] };
}

Deno.test("ECE and NLL agree with a second implementation on fixed random logits", () => {
  const classes = 7;
  const n = 613;
  let s = 12345;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const labels = Int32Array.from({ length: n }, () => Math.floor(next() * classes));
  // Logits with a signal towards the label so that every confidence range is used.
  const logits = Float32Array.from({ length: n * classes }, (_, i) => {
    const r = Math.floor(i / classes);
    return 3 * (next() - 0.5) * (1 + (r % 5)) + (i % classes === labels[r] ? 2 * next() : 0);
  });
  const groups = ["many", "many", "medium", "medium", "medium", "few", "few"] as const;
  const m = calibrationMetrics(logits, labels, groups);
  const ref = eceNaive(logits, labels, classes);
  near(m.ece, ref.ece, 1e-9, "ECE");
  near(m.nll, ref.nll, 1e-9, "NLL");
  deepEqual(m.bins.count, ref.counts);
  ok(m.bins.count.filter((c) => c > 0).length >= 10, `bins used: ${m.bins.count}`);
  ok(m.ece > 0.01, "a miscalibrated fixture");
  // Per group: the same formula on the rows of the group's classes.
  for (const g of ["many", "medium", "few"] as const) {
    const rows = [...labels.keys()].filter((r) => groups[labels[r]] === g);
    const sub = eceNaive(
      Float32Array.from(rows.flatMap((r) => [...logits.subarray(r * classes, (r + 1) * classes)])),
      Int32Array.from(rows, (r) => labels[r]),
      classes,
    );
    near(m[g]!.ece, sub.ece, 1e-9, `${g} ECE`);
    near(m[g]!.nll, sub.nll, 1e-9, `${g} NLL`);
    equal(m[g]!.rows, rows.length);
  }
});
