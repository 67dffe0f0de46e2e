/**
 * Image tables in Arrow IPC, so users can bring their own data set in a format anyone can write
 * (pyarrow, polars, arrow-rs, apache-arrow in JS).
 *
 * Layout: column `image` is a fixed-size list of uint8 with C*H*W items (one image, CHW
 * row-major); column `label` is an integer (int32 written; any integer type read). The schema
 * metadata holds `height`, `width` and `channels` (decimal strings) and optionally `class_count`
 * and `class_names` (a JSON array of strings). In pyarrow:
 *
 * ```text
 * schema = pa.schema([("image", pa.list_(pa.uint8(), 784)), ("label", pa.int32())],
 *                    metadata={"height": "28", "width": "28", "channels": "1"})
 * ```
 *
 * @module
 */

import { arrow } from "../_deps.ts";
import { writeFileAtomic } from "../io/_atomic.ts";
import { type ImageSet, validateImageSet } from "./image_set.ts";

const LAYOUT_HINT = "expected columns image: fixed_size_list<uint8>[C*H*W] and label: int32, " +
  "with height/width/channels in the schema metadata";

/**
 * Encode an image set as an Arrow IPC file (the random-access "file" format).
 *
 * @param set The images and labels.
 * @param metadata Extra schema metadata to record (how the set was made, say).
 * @returns The IPC bytes.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imageTableFromIPC, imageTableToIPC } from "./arrow_table.ts";
 * const set = {
 *   images: Uint8Array.from([1, 2, 3, 4]), labels: Int32Array.from([0, 1]),
 *   count: 2, channels: 1, height: 1, width: 2, classCount: 2,
 * };
 * const back = imageTableFromIPC(imageTableToIPC(set), "memory");
 * assert.deepEqual([[...back.images], [...back.labels]], [[1, 2, 3, 4], [0, 1]]);
 * ```
 */
export function imageTableToIPC(set: ImageSet, metadata: Record<string, string> = {}): Uint8Array {
  validateImageSet(set, "to write");
  const size = set.channels * set.height * set.width;
  const pixelType = new arrow.Uint8();
  const imageType = new arrow.FixedSizeList(size, new arrow.Field("pixel", pixelType, false));
  const labelType = new arrow.Int32();
  const imageData = arrow.makeData({
    type: imageType,
    length: set.count,
    nullCount: 0,
    child: arrow.makeData({ type: pixelType, length: set.count * size, data: set.images }),
  });
  const labelData = arrow.makeData({ type: labelType, length: set.count, data: set.labels });
  const meta = new Map<string, string>(Object.entries(metadata));
  meta.set("height", String(set.height));
  meta.set("width", String(set.width));
  meta.set("channels", String(set.channels));
  meta.set("class_count", String(set.classCount));
  if (set.classNames) meta.set("class_names", JSON.stringify(set.classNames));
  const fields = [
    new arrow.Field("image", imageType, false),
    new arrow.Field("label", labelType, false),
  ];
  const schema = new arrow.Schema(fields, meta);
  const batch = new arrow.RecordBatch(
    schema,
    arrow.makeData({
      type: new arrow.Struct(fields),
      length: set.count,
      nullCount: 0,
      children: [imageData, labelData],
    }),
  );
  return arrow.tableToIPC(new arrow.Table([batch]), "file");
}

function metaInt(meta: Map<string, string>, key: string, name: string): number {
  const text = meta.get(key);
  const value = Number(text);
  if (text === undefined || !/^\s*\d+\s*$/.test(text) || value < 1) {
    throw new SyntaxError(
      `Cannot read image table ${name}: schema metadata "${key}" is ${
        text === undefined ? "missing" : JSON.stringify(text)
      }; it must be a positive integer (${LAYOUT_HINT})`,
    );
  }
  return value;
}

function isUint8(type: arrow.DataType): boolean {
  return type.typeId === arrow.Type.Int && (type as unknown as arrow.Uint8).bitWidth === 8 &&
    !(type as unknown as arrow.Uint8).isSigned;
}

/**
 * Decode an image table from Arrow IPC bytes (file or stream format).
 *
 * @param bytes The IPC bytes.
 * @param name A name for error messages (the file path).
 * @returns The image set; `classCount` from the metadata, else the largest label + 1.
 * @throws {SyntaxError} When columns or metadata are missing or of the wrong type;
 *   {@link RangeError} when sizes disagree or a label is out of range.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imageTableFromIPC, imageTableToIPC } from "./arrow_table.ts";
 * const set = {
 *   images: new Uint8Array(12), labels: Int32Array.from([2, 0, 1]),
 *   count: 3, channels: 1, height: 2, width: 2, classCount: 3,
 * };
 * assert.equal(imageTableFromIPC(imageTableToIPC(set), "memory").count, 3);
 * ```
 */
export function imageTableFromIPC(bytes: Uint8Array, name: string): ImageSet {
  let table: arrow.Table;
  try {
    table = arrow.tableFromIPC(bytes);
  } catch (error) {
    throw new SyntaxError(
      `Cannot read image table ${name}: not a readable Arrow IPC file ` +
        `(${(error as Error).message}); ${LAYOUT_HINT}`,
    );
  }
  const imageField = table.schema.fields.find((f) => f.name === "image");
  const labelField = table.schema.fields.find((f) => f.name === "label");
  if (!imageField || !labelField) {
    throw new SyntaxError(
      `Cannot read image table ${name}: columns are [${
        table.schema.fields.map((f) => f.name).join(", ")
      }]; ${LAYOUT_HINT}`,
    );
  }
  const meta = table.schema.metadata;
  const height = metaInt(meta, "height", name);
  const width = metaInt(meta, "width", name);
  const channels = meta.has("channels") ? metaInt(meta, "channels", name) : 1;
  const size = channels * height * width;
  const it = imageField.type;
  if (
    it.typeId !== arrow.Type.FixedSizeList || !isUint8((it as arrow.FixedSizeList).children[0].type)
  ) {
    throw new SyntaxError(
      `Cannot read image table ${name}: column image has type ${it}; ${LAYOUT_HINT}`,
    );
  }
  const listSize = (it as arrow.FixedSizeList).listSize;
  if (listSize !== size) {
    throw new RangeError(
      `Cannot read image table ${name}: image lists have ${listSize} bytes but metadata says ` +
        `${channels}x${height}x${width} = ${size}`,
    );
  }
  if (labelField.type.typeId !== arrow.Type.Int) {
    throw new SyntaxError(
      `Cannot read image table ${name}: column label has type ${labelField.type}; ${LAYOUT_HINT}`,
    );
  }
  const count = table.numRows;
  const images = new Uint8Array(count * size);
  const labels = new Int32Array(count);
  let row = 0;
  for (const batch of table.batches) {
    const imageData = batch.getChild("image")!.data as arrow.Data[];
    const labelData = batch.getChild("label")!.data as arrow.Data[];
    let labelRow = row;
    for (const d of imageData) {
      if (d.nullCount > 0) {
        throw new RangeError(`Cannot read image table ${name}: column image has null rows`);
      }
      // NOTE: arrow-js slices a fixed-size list's child along with it, so values start at row 0.
      images.set((d.children[0].values as Uint8Array).subarray(0, d.length * size), row * size);
      row += d.length;
    }
    for (const d of labelData) {
      if (d.nullCount > 0) {
        throw new RangeError(`Cannot read image table ${name}: column label has null rows`);
      }
      const values = d.values as ArrayLike<number | bigint>;
      for (let i = 0; i < d.length; i++) {
        const v = Number(values[i]);
        if (!Number.isSafeInteger(v) || v < 0 || v > 0x7fffffff) {
          throw new RangeError(
            `Cannot read image table ${name}: label ${v} at row ${labelRow + i} is negative or ` +
              "too large",
          );
        }
        labels[labelRow + i] = v;
      }
      labelRow += d.length;
    }
  }
  let classCount: number;
  if (meta.has("class_count")) classCount = metaInt(meta, "class_count", name);
  else classCount = Math.max(1, ...Array.from(new Set(labels)).map((y) => y + 1));
  const set: ImageSet = { images, labels, count, channels, height, width, classCount };
  const namesText = meta.get("class_names");
  if (namesText !== undefined) {
    let names: unknown;
    try {
      names = JSON.parse(namesText);
    } catch {
      names = undefined;
    }
    if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) {
      throw new SyntaxError(
        `Cannot read image table ${name}: metadata class_names must be a JSON array of strings`,
      );
    }
    set.classNames = names as string[];
  }
  return validateImageSet(set, name);
}

/**
 * Read an image table from an Arrow IPC file.
 *
 * @param path The file path.
 * @returns The image set.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readImageTable, writeImageTable } from "./arrow_table.ts";
 * const path = await Deno.makeTempFile({ suffix: ".arrow" });
 * await writeImageTable(path, {
 *   images: new Uint8Array(4), labels: Int32Array.from([1]),
 *   count: 1, channels: 1, height: 2, width: 2, classCount: 2,
 * });
 * assert.equal((await readImageTable(path)).classCount, 2);
 * await Deno.remove(path);
 * ```
 */
export async function readImageTable(path: string): Promise<ImageSet> {
  return imageTableFromIPC(await Deno.readFile(path), path);
}

/**
 * Write an image set to an Arrow IPC file, atomically ({@link writeFileAtomic}).
 *
 * @param path The file path.
 * @param set The images and labels.
 * @param metadata Extra schema metadata.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { readImageTable, writeImageTable } from "./arrow_table.ts";
 * const path = await Deno.makeTempFile({ suffix: ".arrow" });
 * await writeImageTable(path, {
 *   images: Uint8Array.of(1, 2, 3, 4), labels: Int32Array.from([0]),
 *   count: 1, channels: 1, height: 2, width: 2, classCount: 1,
 * }, { source: "example" });
 * deepEqual(Array.from((await readImageTable(path)).images), [1, 2, 3, 4]);
 * await Deno.remove(path);
 * ```
 */
export async function writeImageTable(
  path: string,
  set: ImageSet,
  metadata: Record<string, string> = {},
): Promise<void> {
  const bytes = imageTableToIPC(set, metadata);
  await writeFileAtomic(path, bytes, "image table");
}
