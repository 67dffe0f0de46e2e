import {
  deepStrictEqual as deepEqual,
  ok,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import { arrow } from "../../lib/_deps.ts";
import { validateMetricsFile } from "../../lib/eval/metrics.ts";
import { fromMetrics } from "../../lib/eval/report.ts";
import { makeSyntheticFeatures, readFeatureDir, writeFeatureDir } from "../../lib/features/mod.ts";
import { METHOD_NAMES, METHODS } from "../../lib/stage2/registry.ts";
import { runStage2 } from "../../lib/stage2/run.ts";
import { main as featuresMain } from "../../scripts/features.ts";
import { main as stage2Main } from "../../scripts/stage2.ts";
import { quietly } from "../_console.ts";
import { noGpu, testGpu } from "../_gpu.ts";

const C = 4;
const D = 6;
const COUNTS = { train: [40, 16, 7, 3], val: [5, 5, 5, 5], test: [9, 9, 9, 9] };

/** Blob rows of one split: values on a 1/8 grid, so float16 holds them exactly. */
function blobs(split: keyof typeof COUNTS, seed: number): { label: number[]; x: number[] } {
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const label: number[] = [];
  const x: number[] = [];
  COUNTS[split].forEach((n, c) => {
    for (let i = 0; i < n; i++) {
      label.push(c);
      for (let k = 0; k < D; k++) {
        const centre = k === c ? 2 : k === (c + 1) % D ? 0.5 : 0;
        x.push(Math.round((centre + (next() - 0.5) * 1.5) * 8) / 8);
      }
    }
  });
  return { label, x };
}

function vectorColumn(values: number[], dim: number, half: boolean): arrow.Data {
  const child = half
    ? arrow.makeData({
      type: new arrow.Float16(),
      length: values.length,
      data: Uint16Array.from(values, (v) => arrow.util.float64ToUint16(v)),
    })
    : arrow.makeData({
      type: new arrow.Float32(),
      length: values.length,
      data: Float32Array.from(values),
    });
  return arrow.makeData({
    type: new arrow.FixedSizeList(dim, new arrow.Field("item", child.type, false)),
    length: values.length / dim,
    nullCount: 0,
    child,
  });
}

async function writeTable(path: string, columns: Record<string, arrow.Data>): Promise<void> {
  const fields = Object.entries(columns).map(([name, d]) => new arrow.Field(name, d.type, false));
  const rows = Object.values(columns)[0].length;
  const batch = new arrow.RecordBatch(
    new arrow.Schema(fields),
    arrow.makeData({
      type: new arrow.Struct(fields),
      length: rows,
      nullCount: 0,
      children: Object.values(columns),
    }),
  );
  await Deno.writeFile(path, arrow.tableToIPC(new arrow.Table([batch]), "file"));
}

function ints(values: number[], wide: boolean): arrow.Data {
  return wide
    ? arrow.makeData({
      type: new arrow.Int64(),
      length: values.length,
      data: BigInt64Array.from(values, BigInt),
    })
    : arrow.makeData({
      type: new arrow.Int32(),
      length: values.length,
      data: Int32Array.from(values),
    });
}

/**
 * The minimal layout as another tool writes it, with apache-arrow directly and no metadata:
 * train with int64 labels and indices and float16 features, val without an index, test with
 * int32 labels and float32 features; the classifier (class means, no class column) optional.
 */
async function writeMinimalDump(dir: string, classifier: boolean): Promise<void> {
  const train = blobs("train", 1);
  const val = blobs("val", 2);
  const test = blobs("test", 3);
  await writeTable(`${dir}/train.arrow`, {
    index: ints(train.label.map((_, r) => 500 + r), true),
    label: ints(train.label, true),
    feature: vectorColumn(train.x, D, true),
  });
  await writeTable(`${dir}/val.arrow`, {
    label: ints(val.label, true),
    feature: vectorColumn(val.x, D, false),
  });
  await writeTable(`${dir}/test.arrow`, {
    index: ints(test.label.map((_, r) => r), false),
    label: ints(test.label, false),
    feature: vectorColumn(test.x, D, false),
  });
  if (classifier) {
    const means = new Array(C * D).fill(0);
    train.label.forEach((c, r) => {
      for (let k = 0; k < D; k++) means[c * D + k] += train.x[r * D + k] / COUNTS.train[c];
    });
    await writeTable(`${dir}/classifier.arrow`, {
      weight: vectorColumn(means, D, true),
      bias: arrow.makeData({ type: new arrow.Float32(), length: C, data: new Float32Array(C) }),
    });
  }
}

const NEEDS_CLASSIFIER = METHODS.filter((m) => m.needsClassifier).map((m) => m.name);

Deno.test("a minimal-layout dump reads back: derived class counts, float16, int64, no index", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeMinimalDump(dir, true);
    const f = await readFeatureDir(dir);
    equal(f.train.classCount, C);
    deepEqual(f.train.metadata.trainClassCounts, COUNTS.train);
    deepEqual(f.test.metadata.trainClassCounts, COUNTS.train, "every split gets train's counts");
    equal(f.train.metadata.minimal, true);
    equal(f.train.metadata.checkpointSha256, "");
    deepEqual([...f.train.features], blobs("train", 1).x, "float16 values widened exactly");
    deepEqual([...f.train.label], blobs("train", 1).label);
    equal(f.train.index[0], 500);
    deepEqual([...f.val.index], [...Array(20).keys()], "no index column: the row number");
    equal(f.classifier?.classCount, C);
    deepEqual([...f.classifier!.bias], [0, 0, 0, 0]);

    await Deno.remove(`${dir}/classifier.arrow`);
    equal((await readFeatureDir(dir)).classifier, null);
    const inspect = await quietly(() => featuresMain([dir]));
    equal(inspect.value, 0, inspect.out);
    ok(inspect.out.includes("layout: minimal"), inspect.out);
    ok(inspect.out.includes("without a classifier stage 2 skips"), inspect.out);
    // An explicit classifier file must exist.
    await rejects(
      readFeatureDir(dir, { classifier: `${dir}/head.arrow` }),
      /Cannot read .*head\.arrow: no such file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("minimal-layout dumps: each mistake gets its own clear error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeMinimalDump(dir, true);
    const bad = `${dir}/bad`;
    await Deno.mkdir(bad);
    for (const s of ["train", "val", "test", "classifier"]) {
      await Deno.copyFile(`${dir}/${s}.arrow`, `${bad}/${s}.arrow`);
    }
    await writeTable(`${bad}/test.arrow`, {
      label: ints([0, -2], false),
      feature: vectorColumn(new Array(2 * D).fill(0), D, false),
    });
    await rejects(readFeatureDir(bad), /test\.arrow: label -2 at row 1 is negative/);
    await writeTable(`${bad}/test.arrow`, {
      label: ints([0, 1], false),
      feature: arrow.makeData({
        type: new arrow.FixedSizeList(D, new arrow.Field("item", new arrow.Float64(), false)),
        length: 2,
        nullCount: 0,
        child: arrow.makeData({
          type: new arrow.Float64(),
          length: 2 * D,
          data: new Float64Array(2 * D),
        }),
      }),
    });
    await rejects(
      readFeatureDir(bad),
      /column "feature" is fixed_size_list<float64>\[6\] but must be fixed_size_list<float32 or float16>\[D\]/,
    );
    await writeTable(`${bad}/test.arrow`, {
      label: ints([0, 9], false),
      feature: vectorColumn(new Array(2 * D).fill(0), D, false),
    });
    await rejects(
      readFeatureDir(bad),
      /the classifier has 4 rows \(classes\) but test\.arrow has label 9; it needs one row per class/,
    );
    await writeTable(`${bad}/test.arrow`, {
      label: ints([0, 1], false),
      feature: vectorColumn(new Array(2 * (D + 1)).fill(0), D + 1, false),
    });
    await rejects(readFeatureDir(bad), /train\.arrow has 6, test\.arrow has 7/);
    // ltkit splits and minimal ones do not mix.
    await writeFeatureDir(
      `${dir}/kit`,
      makeSyntheticFeatures({ trainCounts: [9, 3], featureDim: D, testPerClass: 2 }),
    );
    await Deno.copyFile(`${dir}/val.arrow`, `${dir}/kit/val.arrow`);
    await rejects(
      readFeatureDir(`${dir}/kit`),
      /train\.arrow and test\.arrow carry ltkit\.\* metadata but val\.arrow do not/,
    );
    // An ltkit dump still needs its classifier.
    await writeFeatureDir(
      `${dir}/kit`,
      makeSyntheticFeatures({ trainCounts: [9, 3], featureDim: D, testPerClass: 2 }),
    );
    await Deno.remove(`${dir}/kit/classifier.arrow`);
    await rejects(readFeatureDir(`${dir}/kit`), /classifier\.arrow: no such file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "every stage-2 method runs on a minimal-layout dump; without a classifier four are skipped",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const dir = await Deno.makeTempDir();
    try {
      await writeMinimalDump(dir, true);
      const full = await runStage2(await readFeatureDir(dir), { epochs: 3, batch: 16, gpu });
      deepEqual(Object.keys(full.metrics.methods), METHOD_NAMES);
      equal(full.metrics.skipped, undefined);
      equal(full.metrics.source.class_count, C);
      deepEqual(full.metrics.train_class_counts, COUNTS.train);
      for (const [name, m] of Object.entries(full.metrics.methods)) {
        ok(m.test.all > 0.5, `${name} learns the blobs: ${m.test.all}`);
      }

      await Deno.rename(`${dir}/classifier.arrow`, `${dir}/head.arrow`);
      const run = await quietly(() =>
        stage2Main(["--features", dir, "--out", `${dir}/a/metrics.json`])
      );
      equal(run.value, 0, run.out);
      const metrics = validateMetricsFile(
        JSON.parse(await Deno.readTextFile(`${dir}/a/metrics.json`)),
      );
      deepEqual(
        Object.keys(metrics.methods),
        METHOD_NAMES.filter((m) => !NEEDS_CLASSIFIER.includes(m)),
      );
      deepEqual(Object.keys(metrics.skipped ?? {}), NEEDS_CLASSIFIER);
      ok(run.out.includes("skipped joint: needs the model's linear classifier"), run.out);
      const report = fromMetrics(metrics, {
        name: "mine",
        adapter: "test",
        preset: "none",
        presetReason: "features from another model",
        config: {},
      });
      deepEqual(
        report.notes?.map((n) => n.split(":")[0]),
        NEEDS_CLASSIFIER.map((m) => `Skipped ${m}`),
      );
      const files = [...Deno.readDirSync(`${dir}/a/predictions`)].map((e) => e.name).sort();
      deepEqual(files, ["bsm.arrow", "crt.arrow", "ncm.arrow", "ncm_l2.arrow"]);

      const given = await quietly(() =>
        stage2Main([
          "--features",
          dir,
          "--classifier",
          `${dir}/head.arrow`,
          "--out",
          `${dir}/m.json`,
        ])
      );
      equal(given.value, 0, given.out);
      const again = validateMetricsFile(JSON.parse(await Deno.readTextFile(`${dir}/m.json`)));
      deepEqual(Object.keys(again.methods), METHOD_NAMES);
      deepEqual(again.methods.joint.test, full.metrics.methods.joint.test);

      const only = await quietly(() => stage2Main(["--features", dir, "--methods", "joint,tau"]));
      equal(only.value, 1);
      ok(
        only.out.includes("every method asked for (joint, tau) needs the model's linear"),
        only.out,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** A Python with pyarrow: the project's .venv first, then python3; null when there is none. */
async function pyarrowPython(): Promise<string | null> {
  for (const python of [".venv/bin/python", "python3"]) {
    try {
      const { success } = await new Deno.Command(python, {
        args: ["-c", "import pyarrow"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (success) return python;
    } catch {
      // Not installed: try the next one.
    }
  }
  return null;
}

const python = await pyarrowPython();
if (!python) {
  console.error(
    "\n!!! SKIPPING the pyarrow dump test: no Python with pyarrow (.venv/bin/python or " +
      "python3); `bash scripts/setup.sh --test` installs one !!!\n",
  );
}

Deno.test({
  name: "a dump written by pyarrow runs through deno task features and every stage-2 method",
  ignore: noGpu || !python,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const script = new URL("./_write_minimal_dump.py", import.meta.url).pathname;
      for (const variant of ["with", "without"]) {
        const out = `${dir}/${variant}`;
        await Deno.mkdir(out);
        const args = [script, out, ...(variant === "without" ? ["--no-classifier"] : [])];
        const made = await new Deno.Command(python!, { args }).output();
        equal(made.success, true, new TextDecoder().decode(made.stderr));
        const inspect = await quietly(() => featuresMain([out]));
        equal(inspect.value, 0, inspect.out);
        const run = await quietly(() =>
          stage2Main([
            ...["--features", out, "--epochs", "5", "--batch", "16"],
            ...["--out", `${out}/res/metrics.json`],
          ])
        );
        equal(run.value, 0, run.out);
        const metrics = validateMetricsFile(
          JSON.parse(await Deno.readTextFile(`${out}/res/metrics.json`)),
        );
        deepEqual(metrics.train_class_counts, [40, 16, 7, 3]);
        const expected = variant === "with"
          ? METHOD_NAMES
          : METHOD_NAMES.filter((m) => !NEEDS_CLASSIFIER.includes(m));
        deepEqual(Object.keys(metrics.methods), expected);
        for (const m of expected) {
          ok(metrics.methods[m].test.all > 0.5, `${variant} ${m}: ${metrics.methods[m].test.all}`);
          await Deno.stat(`${out}/res/predictions/${m}.arrow`);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
