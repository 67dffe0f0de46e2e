import {
  deepStrictEqual as deepEqual,
  rejects,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import { arrow } from "../../lib/_deps.ts";
import {
  imageTableFromIPC,
  imageTableToIPC,
  readImageTable,
  writeImageTable,
} from "../../lib/data/mod.ts";
import { syntheticSet, withTempDir } from "./_helpers.ts";

Deno.test("image tables round-trip through an Arrow IPC file with shape and class metadata", async () => {
  const set = { ...syntheticSet([5, 3, 2], { channels: 3, height: 5, width: 7 }) };
  set.classNames = ["cat", "dog", "eel"];
  await withTempDir(async (dir) => {
    const path = `${dir}/set.arrow`;
    await writeImageTable(path, set, { source: "synthetic" });
    const back = await readImageTable(path);
    deepEqual(back, set);
    const table = arrow.tableFromIPC(await Deno.readFile(path));
    deepEqual(
      [...table.schema.metadata.entries()].sort(),
      [
        ["channels", "3"],
        ["class_count", "3"],
        ["class_names", '["cat","dog","eel"]'],
        ["height", "5"],
        ["source", "synthetic"],
        ["width", "7"],
      ],
    );
    equal(String(table.schema.fields[0].type), "FixedSizeList[105]<Uint8>");
    equal(String(table.schema.fields[1].type), "Int32");
  });
});

/** A table built by hand, the way another tool would write it. */
function foreignTable(
  options: { listSize?: number; metadata?: Record<string, string>; batches?: number } = {},
) {
  const size = options.listSize ?? 4;
  const batches: arrow.RecordBatch[] = [];
  let label = 0;
  for (let b = 0; b < (options.batches ?? 1); b++) {
    const rows = 3;
    const imageType = new arrow.FixedSizeList(
      size,
      new arrow.Field("item", new arrow.Uint8(), false),
    );
    const pixels = new Uint8Array(rows * size).map((_, i) => b * 100 + i);
    const images = arrow.makeData({
      type: imageType,
      length: rows,
      nullCount: 0,
      child: arrow.makeData({ type: new arrow.Uint8(), length: rows * size, data: pixels }),
    });
    const labels = arrow.makeData({
      type: new arrow.Int32(),
      length: rows,
      data: Int32Array.from([label++, label++, label++]),
    });
    const fields = [
      new arrow.Field("image", imageType, false),
      new arrow.Field("label", new arrow.Int32(), false),
    ];
    const schema = new arrow.Schema(
      fields,
      new Map(Object.entries(options.metadata ?? { height: "2", width: "2" })),
    );
    batches.push(
      new arrow.RecordBatch(
        schema,
        arrow.makeData({
          type: new arrow.Struct(fields),
          length: rows,
          children: [images, labels],
        }),
      ),
    );
  }
  return arrow.tableToIPC(new arrow.Table(batches), "stream");
}

Deno.test("tables from other writers: stream format, several batches, no class metadata", () => {
  const set = imageTableFromIPC(foreignTable({ batches: 2 }), "foreign.arrows");
  deepEqual([set.count, set.channels, set.height, set.width, set.classCount], [6, 1, 2, 2, 6]);
  deepEqual([...set.labels], [0, 1, 2, 3, 4, 5]);
  deepEqual([...set.images.subarray(0, 4)], [0, 1, 2, 3]);
  deepEqual([...set.images.subarray(12, 16)], [100, 101, 102, 103]);
  equal(set.classNames, undefined);
});

Deno.test("malformed image tables give errors that name the file and the problem", async () => {
  throws(
    () => imageTableFromIPC(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), "junk.arrow"),
    (e: Error) =>
      e instanceof SyntaxError &&
      e.message.startsWith("Cannot read image table junk.arrow: not a readable Arrow IPC file"),
  );
  throws(
    () => imageTableFromIPC(foreignTable({ metadata: { width: "2" } }), "nometa.arrow"),
    /nometa.arrow: schema metadata "height" is missing/,
  );
  throws(
    () => imageTableFromIPC(foreignTable({ metadata: { height: "x", width: "2" } }), "m"),
    /schema metadata "height" is "x"/,
  );
  throws(
    () => imageTableFromIPC(foreignTable({ listSize: 5 }), "size.arrow"),
    /size.arrow: image lists have 5 bytes but metadata says 1x2x2 = 4/,
  );
  throws(
    () =>
      imageTableFromIPC(
        foreignTable({ metadata: { height: "2", width: "2", class_count: "2" } }),
        "range.arrow",
      ),
    /range.arrow: label 2 at index 2 is outside 0..1/,
  );
  const wrongColumns = arrow.tableToIPC(
    new arrow.Table({
      pixels: arrow.makeData({ type: new arrow.Int32(), length: 1, data: Int32Array.of(1) }),
    }),
    "file",
  );
  throws(() => imageTableFromIPC(wrongColumns, "cols.arrow"), /cols.arrow: columns are \[pixels\]/);
  await rejects(readImageTable("/nonexistent/x.arrow"), Deno.errors.NotFound);
  throws(
    () => imageTableToIPC({ ...syntheticSet([1]), count: 2 }),
    /Cannot use image set to write: images has 16 bytes but count 2/,
  );
});

Deno.test("int64 labels (pyarrow's default integer type) are read as int32", () => {
  const imageType = new arrow.FixedSizeList(1, new arrow.Field("item", new arrow.Uint8(), false));
  const fields = [
    new arrow.Field("image", imageType, false),
    new arrow.Field("label", new arrow.Int64(), false),
  ];
  const images = arrow.makeData({
    type: imageType,
    length: 2,
    nullCount: 0,
    child: arrow.makeData({ type: new arrow.Uint8(), length: 2, data: Uint8Array.of(5, 6) }),
  });
  const labels = arrow.makeData({
    type: new arrow.Int64(),
    length: 2,
    data: BigInt64Array.of(1n, 0n),
  });
  const schema = new arrow.Schema(fields, new Map([["height", "1"], ["width", "1"]]));
  const batch = new arrow.RecordBatch(
    schema,
    arrow.makeData({ type: new arrow.Struct(fields), length: 2, children: [images, labels] }),
  );
  const set = imageTableFromIPC(arrow.tableToIPC(new arrow.Table([batch]), "file"), "int64.arrow");
  deepEqual([...set.labels], [1, 0]);
  deepEqual([...set.images], [5, 6]);
  equal(set.classCount, 2);
});
