import {
  deepStrictEqual as deepEqual,
  ok,
  rejects,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import { arrow } from "../../lib/_deps.ts";
import { argmaxRows, validateMetricsFile } from "../../lib/eval/metrics.ts";
import {
  predictionBatch,
  topK,
  writePredictionFiles,
  writeStage2Predictions,
} from "../../lib/eval/predictions.ts";
import { makeSyntheticFeatures, writeFeatureDir } from "../../lib/features/mod.ts";
import { METHOD_NAMES } from "../../lib/stage2/registry.ts";
import { runStage2 } from "../../lib/stage2/run.ts";
import { main as stage2Main } from "../../scripts/stage2.ts";
import { quietly } from "../_console.ts";
import { noGpu, testGpu } from "../_gpu.ts";

const SET = {
  trainCounts: [70, 25, 9, 4],
  featureDim: 6,
  valPerClass: 5,
  testPerClass: 9,
  seed: 8,
};

async function readTable(path: string): Promise<arrow.Table> {
  return arrow.tableFromIPC(await Deno.readFile(path));
}

function column(table: arrow.Table, name: string): number[] {
  return [...table.getChild(name)!.toArray()] as number[];
}

/** The (rows, k) values of a fixed-size-list column, flattened. */
function listColumn(table: arrow.Table, name: string): number[] {
  const out: number[] = [];
  for (const row of table.getChild(name)!) out.push(...(row as arrow.Vector).toArray());
  return out;
}

Deno.test({
  name: "predictions: one file per method, rows = test set, pred = argmax of its logits",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const dir = await Deno.makeTempDir();
    try {
      // The test split's index is shuffled so that a join on `index` is tested, not row order.
      const features = makeSyntheticFeatures(SET);
      features.test.index = Int32Array.from(features.test.index, (_, r) => 1000 + 7 * r);
      const { results, metrics } = await runStage2(features, {
        epochs: 2,
        batch: 32,
        seed: 1,
        gpu,
      });
      const paths = await writeStage2Predictions(dir, features.test, results, metrics);
      deepEqual(paths, METHOD_NAMES.map((m) => `${dir}/predictions/${m}.arrow`));
      const classes = SET.trainCounts.length;
      for (const method of METHOD_NAMES) {
        const table = await readTable(`${dir}/predictions/${method}.arrow`);
        const logits = results[method]!.logits.test;
        equal(table.numRows, features.test.rows, method);
        deepEqual(table.schema.fields.map((f) => f.name), [
          "index",
          "label",
          "pred",
          "confidence",
          "logits",
        ]);
        deepEqual(column(table, "index"), [...features.test.index]);
        deepEqual(column(table, "label"), [...features.test.label]);
        deepEqual(column(table, "pred"), [...argmaxRows(logits, classes)], method);
        deepEqual(listColumn(table, "logits"), [...logits], method);
        const conf = column(table, "confidence");
        ok(conf.every((p) => p >= 1 / classes - 1e-6 && p <= 1), `${method} confidence`);
        const meta = table.schema.metadata;
        equal(meta.get("ltkit.method"), method);
        equal(meta.get("ltkit.kind"), "predictions");
        equal(meta.get("ltkit.scores"), "logits");
        // The file agrees with metrics.json: its accuracy per class is the metrics' one.
        const pred = column(table, "pred");
        const hits = new Array(classes).fill(0);
        const rows = new Array(classes).fill(0);
        column(table, "label").forEach((y, r) => {
          rows[y]++;
          if (pred[r] === y) hits[y]++;
        });
        deepEqual(hits.map((h, c) => h / rows[c]), metrics.methods[method].test.per_class);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("predictions above the class bound keep the top 5 classes and scores, highest first", async () => {
  const rows = 4;
  const classes = 9;
  const scores = Float32Array.from({ length: rows * classes }, (_, i) => Math.sin(i * 1.7) * 3);
  scores[2 * classes + 4] = scores[2 * classes + 1]; // a tie: the smaller class comes first
  const batch = predictionBatch({
    method: "x",
    label: "X",
    split: { index: Int32Array.of(3, 1, 4, 1), label: Int32Array.of(0, 8, 1, 2), rows },
    scores,
    classes,
    checkpointSha256: "0".repeat(64),
    fullLogitsMaxClasses: 8,
  });
  const dir = await Deno.makeTempDir();
  try {
    await writePredictionFiles(dir, {
      index: Int32Array.of(3, 1, 4, 1),
      label: Int32Array.of(0, 8, 1, 2),
      rows,
    }, [
      { method: "x", label: "X", scores, classes },
    ], "0".repeat(64));
    // 9 classes are within the default bound: every logit is kept.
    equal((await readTable(`${dir}/predictions/x.arrow`)).schema.fields.at(-1)?.name, "logits");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const table = new arrow.Table([batch]);
  deepEqual(table.schema.fields.map((f) => f.name), [
    "index",
    "label",
    "pred",
    "confidence",
    "top_class",
    "top_logit",
  ]);
  equal(table.schema.metadata.get("ltkit.scores"), "top5");
  const topClass = listColumn(table, "top_class");
  const topLogit = listColumn(table, "top_logit");
  for (let r = 0; r < rows; r++) {
    // Independent reference: sort (score, class) pairs.
    const ref = Array.from({ length: classes }, (_, c) => [scores[r * classes + c], c])
      .sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, 5);
    deepEqual(topClass.slice(r * 5, r * 5 + 5), ref.map((p) => p[1]), `row ${r}`);
    deepEqual(topLogit.slice(r * 5, r * 5 + 5), ref.map((p) => Math.fround(p[0])));
    equal(column(table, "pred")[r], topClass[r * 5]);
  }
  deepEqual([...topK(Float32Array.of(1, NaN, 2), 3, 3).classes], [2, 0, 1]);
  throws(
    () =>
      predictionBatch({
        method: "x",
        label: "X",
        split: { index: Int32Array.of(0), label: Int32Array.of(0), rows: 1 },
        scores: new Float32Array(5),
        classes: 3,
        checkpointSha256: "",
      }),
    /Cannot write the predictions of x: 5 scores and 1 labels for 1 rows of 3 classes/,
  );
});

Deno.test({
  name: "deno task stage2 writes predictions/<method>.arrow beside metrics.json",
  ignore: noGpu,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      await writeFeatureDir(`${dir}/features`, makeSyntheticFeatures(SET));
      await Deno.mkdir(`${dir}/out`);
      const { value: code, out } = await quietly(() =>
        stage2Main([
          "--features",
          `${dir}/features`,
          "--methods",
          "crt,ncm",
          "--out",
          `${dir}/out/m.json`,
        ])
      );
      equal(code, 0, out);
      const metrics = validateMetricsFile(JSON.parse(await Deno.readTextFile(`${dir}/out/m.json`)));
      deepEqual(Object.keys(metrics.methods), ["ncm", "crt"]);
      const files = [...Deno.readDirSync(`${dir}/out/predictions`)].map((e) => e.name).sort();
      deepEqual(files, ["crt.arrow", "ncm.arrow"]);
      ok(out.includes(`predictions to ${dir}/out/predictions/`), out);
      const table = await readTable(`${dir}/out/predictions/crt.arrow`);
      equal(table.numRows, metrics.methods.crt.test.rows);
      await rejects(Deno.stat(`${dir}/features/predictions`), Deno.errors.NotFound);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
