import {
  deepStrictEqual as deepEqual,
  ok,
  rejects,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import { arrow } from "../../lib/_deps.ts";
import {
  decodeFeatures,
  encodeMetadata,
  type FeatureMetadataInput,
  FeatureWriter,
  makeSyntheticFeatures,
  META_KEYS,
  metadataInput,
  readClassifier,
  readFeatureDir,
  readFeatures,
  splitSchema,
  vectorType,
  writeClassifier,
  writeFeatureDir,
} from "../../lib/features/mod.ts";
import { injectWriteFault, resetWriteFault } from "../../lib/io/_atomic.ts";

const DIM = 6;
const SMALL = { trainCounts: [40, 12, 5], featureDim: DIM, valPerClass: 3, testPerClass: 7 };

function meta(overrides: Partial<FeatureMetadataInput> = {}): FeatureMetadataInput {
  return {
    profile: { name: "toy", shotThresholds: { many: 20, few: 6 } },
    trainClassCounts: [2, 1, 1],
    backbone: { arch: "toy" },
    checkpointSha256: "ab".repeat(32),
    ...overrides,
  };
}

/** Writes an Arrow file with arbitrary columns (to make bad files the writer refuses to make). */
async function writeRaw(
  path: string,
  columns: Record<string, arrow.Data>,
  metadata: Map<string, string>,
  format: "file" | "stream" = "file",
): Promise<void> {
  const fields = Object.entries(columns).map(([name, d]) => new arrow.Field(name, d.type, false));
  const rows = Object.values(columns)[0].length;
  const schema = new arrow.Schema(fields, metadata);
  const data = arrow.makeData({
    type: new arrow.Struct(fields),
    length: rows,
    nullCount: 0,
    children: Object.values(columns),
  });
  const table = new arrow.Table([new arrow.RecordBatch(schema, data)]);
  await Deno.writeFile(path, arrow.tableToIPC(table, format));
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function int32(values: number[]): arrow.Data {
  return arrow.makeData({
    type: new arrow.Int32(),
    length: values.length,
    data: Int32Array.from(values),
  });
}

function vectors(rows: number, dim: number, type: arrow.Float = new arrow.Float32()): arrow.Data {
  const child = arrow.makeData({
    type,
    length: rows * dim,
    data: new (type.ArrayType as Float32ArrayConstructor)(rows * dim).fill(0.5),
  });
  const listType = new arrow.FixedSizeList(dim, new arrow.Field("item", type, false));
  return arrow.makeData({ type: listType, length: rows, nullCount: 0, child });
}

Deno.test("feature folder round trip: every file, every column, the metadata", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const set = makeSyntheticFeatures({ ...SMALL, seed: 3 });
    await writeFeatureDir(dir, set, 16); // 57 train rows in 4 record batches
    const back = await readFeatureDir(dir);
    for (const split of ["train", "val", "test"] as const) {
      deepEqual(back[split].index, set[split].index, `${split} index`);
      deepEqual(back[split].label, set[split].label, `${split} label`);
      deepEqual(back[split].features, set[split].features, `${split} features`);
      equal(back[split].rows, set[split].rows);
      equal(back[split].dim, DIM);
      deepEqual(back[split].metadata, set[split].metadata);
    }
    deepEqual(back.classifier!.weight, set.classifier.weight);
    deepEqual(back.classifier!.bias, set.classifier.bias);
    deepEqual(back.classifier!.metadata, set.classifier.metadata);
    equal(back.train.metadata.split, "train");
    deepEqual(back.train.metadata.trainClassCounts, [40, 12, 5]);
    const entries = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    deepEqual(entries, ["classifier.arrow", "test.arrow", "train.arrow", "val.arrow"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("feature files use plain Arrow types and record batches (pyarrow, DuckDB, polars)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeFeatureDir(dir, makeSyntheticFeatures({ ...SMALL, seed: 1 }), 16);
    const bytes = await Deno.readFile(`${dir}/train.arrow`);
    const magic = new TextDecoder().decode(bytes.subarray(0, 6));
    equal(magic, "ARROW1", "IPC file format, not stream");
    equal(new TextDecoder().decode(bytes.subarray(bytes.length - 6)), "ARROW1");
    const reader = arrow.RecordBatchReader.from(bytes);
    ok(reader.isFile(), "RecordBatchFileReader");
    const table = arrow.tableFromIPC(bytes);
    equal(table.batches.length, 4, "written as 4 record batches of <= 16 rows");
    // The incremental writer produces exactly what apache-arrow's one-shot file writer would.
    ok(equalBytes(arrow.tableToIPC(table, "file"), bytes), "byte-identical to tableToIPC");
    const [index, label, feature] = table.schema.fields;
    deepEqual(table.schema.fields.map((f) => f.name), ["index", "label", "feature"]);
    for (const f of [index, label]) {
      ok(arrow.DataType.isInt(f.type) && f.type.bitWidth === 32 && f.type.isSigned, f.name);
    }
    ok(arrow.DataType.isFixedSizeList(feature.type));
    equal(feature.type.listSize, DIM);
    const item = feature.type.children[0].type;
    ok(arrow.DataType.isFloat(item) && item.precision === arrow.Precision.SINGLE);
    for (const f of table.schema.fields) {
      ok(!arrow.DataType.isDictionary(f.type), `${f.name} is not dictionary-encoded`);
    }
    for (const key of Object.values(META_KEYS)) ok(table.schema.metadata.has(key), key);
    deepEqual(JSON.parse(table.schema.metadata.get(META_KEYS.profile)!).shotThresholds, {
      many: 1000,
      few: 200,
    });
    const cls = arrow.tableFromIPC(await Deno.readFile(`${dir}/classifier.arrow`));
    deepEqual(cls.schema.fields.map((f) => [f.name, String(f.type)]), [
      ["class", "Int32"],
      ["weight", `FixedSizeList[${DIM}]<Float32>`],
      ["bias", "Float32"],
    ]);
    equal(cls.schema.metadata.get(META_KEYS.split), "classifier");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FeatureWriter flushes each batch to a temporary file and renames on close", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/train.arrow`;
    const w = await FeatureWriter.create(path, {
      split: "train",
      featureDim: 2,
      classCount: 3,
      metadata: meta(),
    });
    const temp = [...Deno.readDirSync(dir)].map((e) => e.name);
    equal(temp.length, 1);
    ok(temp[0].endsWith(".partial") && temp[0].startsWith(".train.arrow"), temp[0]);
    const sizeAt = () => Deno.statSync(`${dir}/${temp[0]}`).size;
    const empty = sizeAt();
    await w.append(Int32Array.of(0, 1), Int32Array.of(0, 1), Float32Array.of(1, 2, 3, 4));
    const one = sizeAt();
    ok(one > empty, "the first batch is on disk before close");
    await w.append(Int32Array.of(5, 9), Int32Array.of(2, 0), Float32Array.of(5, 6, 7, 8));
    ok(sizeAt() > one, "the second batch too");
    await rejects(() => Deno.stat(path), Deno.errors.NotFound);
    equal(w.rows, 4);
    await w.close();
    deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["train.arrow"]);
    const back = await readFeatures(path, "train");
    deepEqual([...back.index], [0, 1, 5, 9]);
    deepEqual([...back.label], [0, 1, 2, 0]);
    deepEqual([...back.features], [1, 2, 3, 4, 5, 6, 7, 8]);

    // A split without rows is still a valid file; abort leaves nothing behind.
    const none = await FeatureWriter.create(`${dir}/val.arrow`, {
      split: "val",
      featureDim: 2,
      classCount: 3,
      metadata: meta(),
    });
    await none.close();
    equal((await readFeatures(`${dir}/val.arrow`)).rows, 0);
    const aborted = await FeatureWriter.create(`${dir}/test.arrow`, {
      split: "test",
      featureDim: 2,
      classCount: 3,
      metadata: meta(),
    });
    await aborted.append(Int32Array.of(0), Int32Array.of(1), Float32Array.of(1, 1));
    await aborted.abort();
    deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["train.arrow", "val.arrow"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FeatureWriter rejects bad rows and metadata before writing them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/train.arrow`;
    await rejects(
      FeatureWriter.create(path, {
        split: "train",
        featureDim: 2,
        classCount: 3,
        metadata: meta({ checkpointSha256: "xyz" }),
      }),
      /Cannot write train features: checkpointSha256 "xyz" is not 64 hexadecimal digits/,
    );
    await rejects(
      FeatureWriter.create(path, {
        split: "train",
        featureDim: 2,
        classCount: 3,
        metadata: meta({ trainClassCounts: [1, 2] }),
      }),
      /trainClassCounts has 2 entries but there are 3 classes/,
    );
    const w = await FeatureWriter.create(path, {
      split: "train",
      featureDim: 2,
      classCount: 3,
      metadata: meta(),
    });
    await rejects(
      w.append(Int32Array.of(0, 1), Int32Array.of(0, 3), Float32Array.of(1, 2, 3, 4)),
      /Cannot append to train features .*: label 3 at row 1 is outside 0\.\.2/,
    );
    await rejects(
      w.append(Int32Array.of(0, 1), Int32Array.of(0, 1), Float32Array.of(1, 2, 3)),
      /3 feature values for 2 rows of dimension 2 \(expected 4\)/,
    );
    await w.close();
    equal((await readFeatures(path)).rows, 0, "nothing from the rejected appends was written");
    await rejects(
      writeClassifier(`${dir}/classifier.arrow`, {
        weight: new Float32Array(5),
        bias: new Float32Array(3),
        classCount: 3,
        featureDim: 2,
      }, meta()),
      /Cannot write classifier .*: weight has 5 values and bias 3 but C=3, D=2 needs 6 and 3/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("each bad feature file gives its own clear error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const good = encodeMetadata("train", 3, 4, meta());
    const p = `${dir}/bad.arrow`;

    await writeRaw(p, { index: int32([0, 1]), feature: vectors(2, 4) }, good);
    await rejects(
      readFeatures(p),
      (e: Error) =>
        e instanceof TypeError &&
        /Cannot read .*bad\.arrow: column "label" is missing/.test(e.message) &&
        /the file has index: int32, feature: fixed_size_list<float32>\[4\]/.test(e.message),
    );

    await writeRaw(
      p,
      { index: int32([0, 1, 2]), label: int32([0, 2, 7]), feature: vectors(3, 4) },
      good,
    );
    await rejects(
      readFeatures(p),
      (e: Error) =>
        e instanceof RangeError &&
        /label 7 at row 2 is outside the class range 0\.\.2 \(ltkit\.class_count is 3\)/.test(
          e.message,
        ),
    );

    await writeRaw(p, {
      index: int32([0]),
      label: int32([0]),
      feature: vectors(1, 4, new arrow.Float64()),
    }, good);
    await rejects(
      readFeatures(p),
      /column "feature" is fixed_size_list<float64>\[4\] but must be fixed_size_list<float32>\[D\]/,
    );

    await writeRaw(p, { index: int32([0]), label: int32([0]), feature: vectors(1, 5) }, good);
    await rejects(
      readFeatures(p),
      /column "feature" has dimension 5 but ltkit\.feature_dim says 4/,
    );

    const noSha = new Map(good);
    noSha.delete(META_KEYS.checkpointSha256);
    await writeRaw(p, { index: int32([0]), label: int32([0]), feature: vectors(1, 4) }, noSha);
    await rejects(
      readFeatures(p),
      (e: Error) =>
        e instanceof TypeError &&
        /schema metadata "ltkit\.checkpoint_sha256" is missing/.test(e.message),
    );

    await writeRaw(
      p,
      { index: int32([0]), label: int32([0]), feature: vectors(1, 4) },
      good,
      "stream",
    );
    await rejects(readFeatures(p), /it is an Arrow IPC stream, not an Arrow IPC file/);

    await Deno.writeTextFile(p, "index,label\n0,1\n");
    await rejects(
      readFeatures(p),
      (e: Error) => e instanceof SyntaxError && /bad\.arrow: not an Arrow IPC file/.test(e.message),
    );

    await writeRaw(p, { index: int32([0]), label: int32([0]), feature: vectors(1, 4) }, good);
    const bytes = await Deno.readFile(p);
    await Deno.writeFile(p, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await rejects(readFeatures(p), /the Arrow IPC file is truncated \(\d+ bytes, no footer\)/);

    await rejects(
      readFeatures(`${dir}/missing.arrow`),
      /Cannot read .*missing\.arrow: no such file/,
    );
    throws(
      () => decodeFeatures(new Uint8Array(0), "empty.arrow"),
      /empty\.arrow: not an Arrow IPC file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("files of one folder must agree: dimension, checkpoint, split, class counts", async () => {
  const base = await Deno.makeTempDir();
  const set = makeSyntheticFeatures({ ...SMALL, seed: 2 });
  const fresh = async (name: string) => {
    const dir = `${base}/${name}`;
    await writeFeatureDir(dir, set);
    return dir;
  };
  try {
    // val.arrow with another feature dimension.
    let dir = await fresh("dim");
    const v = set.val;
    const w = await FeatureWriter.create(`${dir}/val.arrow`, {
      split: "val",
      featureDim: DIM + 2,
      classCount: 3,
      metadata: { ...metadataInput(v.metadata) },
    });
    await w.append(v.index, v.label, new Float32Array(v.rows * (DIM + 2)));
    await w.close();
    await rejects(
      readFeatureDir(dir),
      /the feature dimension differs between files: train\.arrow has 6, val\.arrow has 8/,
    );

    // test.arrow from another checkpoint.
    dir = await fresh("sha");
    const t = set.test;
    const other = await FeatureWriter.create(`${dir}/test.arrow`, {
      split: "test",
      featureDim: DIM,
      classCount: 3,
      metadata: { ...metadataInput(t.metadata), checkpointSha256: "cd".repeat(32) },
    });
    await other.append(t.index, t.label, t.features);
    await other.close();
    await rejects(
      readFeatureDir(dir),
      /train\.arrow and test\.arrow come from different checkpoints \(SHA-256 5e5e5e5e5e5e\.\.\. against cdcdcdcdcdcd\.\.\.\)/,
    );

    // A val file stored as test.arrow.
    dir = await fresh("split");
    await Deno.copyFile(`${dir}/val.arrow`, `${dir}/test.arrow`);
    await rejects(
      readFeatureDir(dir),
      /test\.arrow: its metadata says split "val" but it was read as "test"/,
    );

    // Training labels that do not match ltkit.train_class_counts.
    dir = await fresh("counts");
    const tr = set.train;
    const skewed = await FeatureWriter.create(`${dir}/train.arrow`, {
      split: "train",
      featureDim: DIM,
      classCount: 3,
      metadata: metadataInput(tr.metadata),
    });
    await skewed.append(tr.index.subarray(1), tr.label.subarray(1), tr.features.subarray(DIM));
    await skewed.close();
    await rejects(
      readFeatureDir(dir),
      /train\.arrow has class counts \[.*\] but its ltkit\.train_class_counts says \[40,12,5\]/,
    );

    // The classifier must list every class once, in order.
    dir = await fresh("classifier");
    const cm = metadataInput(set.classifier.metadata);
    const schemaMeta = encodeMetadata("classifier", 3, DIM, cm);
    await writeRaw(`${dir}/classifier.arrow`, {
      class: int32([0, 2, 1]),
      weight: vectors(3, DIM),
      bias: arrow.makeData({ type: new arrow.Float32(), length: 3, data: new Float32Array(3) }),
    }, schemaMeta);
    await rejects(
      readClassifier(`${dir}/classifier.arrow`),
      /column "class" must list 0\.\.2 in order \(one row per class\) but has \[0, 2, 1\]/,
    );
    ok(splitSchema(DIM, new Map()).fields[2].type.toString().includes("Float32"));
    equal(vectorType(3).listSize, 3);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("a failed feature write names the file and leaves no temporary", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/train.arrow`;
    // Write 1 is the schema, 2 the first batch, 3 the second.
    injectWriteFault({ failAt: 3, path: /train\.arrow$/ });
    const w = await FeatureWriter.create(path, {
      split: "train",
      featureDim: 2,
      classCount: 3,
      metadata: meta(),
    });
    await w.append(Int32Array.of(0, 1), Int32Array.of(0, 1), Float32Array.of(1, 2, 3, 4));
    await rejects(
      w.append(Int32Array.of(2), Int32Array.of(2), Float32Array.of(5, 6)),
      { message: `Cannot write train feature dump ${path}: No space left on device (os error 28)` },
    );
    deepEqual([...Deno.readDirSync(dir)], []);
    await w.abort();
    await rejects(w.close(), /already closed/);
  } finally {
    resetWriteFault();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("opening a feature file removes its temporaries left by killed writers", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const dead = 2 ** 22 + 17; // above Linux's largest pid_max: no such process
    const stale = `.train.arrow.${dead}.partial`;
    const other = `.val.arrow.${dead}.partial`; // another file's: not this writer's business
    for (const name of [stale, other]) {
      await Deno.writeTextFile(`${dir}/${name}`, "x");
      await Deno.utime(`${dir}/${name}`, 0, 0); // older than this process, as after a kill
    }
    const w = await FeatureWriter.create(`${dir}/train.arrow`, {
      split: "train",
      featureDim: 2,
      classCount: 3,
      metadata: meta(),
    });
    await w.close();
    deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [other, "train.arrow"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task features on a truncated dump prints only the reader's message", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  const dir = await Deno.makeTempDir();
  try {
    await writeFeatureDir(dir, makeSyntheticFeatures(SMALL));
    const path = `${dir}/train.arrow`;
    const bytes = await Deno.readFile(path);
    for (const size of [bytes.length - 40, 100]) {
      await Deno.writeFile(path, bytes.subarray(0, size));
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["run", `--allow-read=${dir}`, `${root}scripts/features.ts`, path],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
      equal(code, 1, out);
      ok(
        out.includes(
          `check: FAILED: Cannot read ${path}: the Arrow IPC file is truncated (${size} bytes, ` +
            "no footer); it was not closed properly, write it again",
        ),
        out,
      );
      ok(!out.includes("Cannot read properties"), out);
      equal(out.match(/Cannot read/g)?.length, 1, out);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
