/**
 * The feature-dump contract: column layout, the `ltkit.*` schema metadata and their checks.
 *
 * A split file (`train.arrow`, `val.arrow`, `test.arrow`) has columns
 * `index: int32` (row in the source split), `label: int32` and
 * `feature: fixed_size_list<item: float32>[D]`. The classifier file (`classifier.arrow`) has
 * `class: int32`, `weight: fixed_size_list<item: float32>[D]` and `bias: float32`, one row per
 * class. Every file carries the same schema metadata (all values are strings):
 *
 * | key                         | value                                                  |
 * | --------------------------- | ------------------------------------------------------ |
 * | `ltkit.version`             | kit version that wrote the file, e.g. `0.1.0`          |
 * | `ltkit.profile`             | the data-set profile, JSON object                      |
 * | `ltkit.split`               | `train`, `val`, `test` or `classifier`                 |
 * | `ltkit.class_count`         | C, decimal                                             |
 * | `ltkit.train_class_counts`  | JSON array of C training-set class sizes               |
 * | `ltkit.feature_dim`         | D, decimal                                             |
 * | `ltkit.backbone`            | backbone description, JSON or plain text              |
 * | `ltkit.checkpoint_sha256`   | SHA-256 of the stage-1 checkpoint, 64 lowercase hex    |
 *
 * Only plain Arrow types are used so that pyarrow, DuckDB and polars read the files as they are.
 *
 * @module
 */

import { arrow } from "../_deps.ts";
import denoJson from "../../deno.json" with { type: "json" };

/**
 * The kit version recorded in new files (from deno.json).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KIT_VERSION } from "./schema.ts";
 * assert.ok(/^\d+\.\d+\.\d+/.test(KIT_VERSION));
 * ```
 */
export const KIT_VERSION: string = denoJson.version;

/**
 * A split stored in a feature file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FeatureSplit } from "./schema.ts";
 * const split: FeatureSplit = "val";
 * assert.equal(`${split}.arrow`, "val.arrow");
 * ```
 */
export type FeatureSplit = "train" | "val" | "test";

/**
 * What a feature-dump file holds: a split, or the stage-1 classifier.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FEATURE_SPLITS, type FeatureFileKind } from "./schema.ts";
 * const files: FeatureFileKind[] = [...FEATURE_SPLITS, "classifier"];
 * assert.equal(
 *   files.map((f) => `${f}.arrow`).join(" "),
 *   "train.arrow val.arrow test.arrow classifier.arrow",
 * );
 * ```
 */
export type FeatureFileKind = FeatureSplit | "classifier";

/**
 * The three feature splits, in the order files are read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FEATURE_SPLITS } from "./schema.ts";
 * assert.deepEqual(FEATURE_SPLITS, ["train", "val", "test"]);
 * ```
 */
export const FEATURE_SPLITS: readonly FeatureSplit[] = Object.freeze(["train", "val", "test"]);

/**
 * Schema-metadata keys of the contract.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { META_KEYS } from "./schema.ts";
 * assert.equal(META_KEYS.checkpointSha256, "ltkit.checkpoint_sha256");
 * ```
 */
export const META_KEYS: Readonly<{
  version: "ltkit.version";
  profile: "ltkit.profile";
  split: "ltkit.split";
  classCount: "ltkit.class_count";
  trainClassCounts: "ltkit.train_class_counts";
  featureDim: "ltkit.feature_dim";
  backbone: "ltkit.backbone";
  checkpointSha256: "ltkit.checkpoint_sha256";
}> = Object.freeze(
  {
    version: "ltkit.version",
    profile: "ltkit.profile",
    split: "ltkit.split",
    classCount: "ltkit.class_count",
    trainClassCounts: "ltkit.train_class_counts",
    featureDim: "ltkit.feature_dim",
    backbone: "ltkit.backbone",
    checkpointSha256: "ltkit.checkpoint_sha256",
  } as const,
);

/**
 * The metadata every feature-dump file carries, decoded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeMetadata, encodeMetadata, type FeatureMetadata } from "./schema.ts";
 * const encoded = encodeMetadata("test", 2, 8, {
 *   profile: { name: "toy" },
 *   trainClassCounts: [5, 1],
 *   backbone: "resnet8",
 *   checkpointSha256: "ab".repeat(32),
 *   extra: { note: "example" },
 * });
 * const meta: FeatureMetadata = decodeMetadata(encoded, "test.arrow");
 * assert.deepEqual([meta.split, meta.featureDim, meta.trainClassCounts, meta.extra], [
 *   "test",
 *   8,
 *   [5, 1],
 *   { note: "example" },
 * ]);
 * ```
 */
export interface FeatureMetadata {
  /** Kit version that wrote the file. */
  version: string;
  /** The data-set profile (a JSON object; see lib/data/profiles.ts). */
  profile: Record<string, unknown>;
  /** Which split (or `classifier`). */
  split: FeatureFileKind;
  /** C, the number of classes. */
  classCount: number;
  /** Training-set size of each class, (C). */
  trainClassCounts: number[];
  /** D, the feature dimension. */
  featureDim: number;
  /** Backbone description: parsed JSON when the stored text is JSON, else the text. */
  backbone: unknown;
  /** SHA-256 of the stage-1 checkpoint the features came from, 64 lowercase hex digits. */
  checkpointSha256: string;
  /** Any other schema-metadata entries, as stored. */
  extra: Record<string, string>;
  /**
   * True for a dump written by another tool in the minimal layout ({@link MINIMAL_LAYOUT}),
   * without `ltkit.*` metadata: the class count and training counts are derived from the labels
   * and there is no checkpoint (`checkpointSha256` is "").
   */
  minimal?: boolean;
}

/**
 * What a writer needs besides split, class count and dimension.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeMetadata, type FeatureMetadataInput } from "./schema.ts";
 * const input: FeatureMetadataInput = {
 *   profile: { name: "fashion-mnist-lt-100" },
 *   trainClassCounts: [6, 3, 1],
 *   backbone: { arch: "resnet8", width: 16 },
 *   checkpointSha256: "0".repeat(64),
 * };
 * assert.equal(encodeMetadata("train", 3, 64, input).get("ltkit.train_class_counts"), "[6,3,1]");
 * ```
 */
export interface FeatureMetadataInput {
  /** Kit version; defaults to {@link KIT_VERSION}. */
  version?: string;
  /** The data-set profile, a JSON object. */
  profile: Record<string, unknown>;
  /** Training-set size of each class, (C). */
  trainClassCounts: ArrayLike<number>;
  /** Backbone description: any JSON value or a string. */
  backbone: unknown;
  /** SHA-256 of the stage-1 checkpoint, 64 hex digits. */
  checkpointSha256: string;
  /** Other entries to store; keys must not start with `ltkit.`. */
  extra?: Record<string, string>;
}

/**
 * Column names and types of a split file, for messages.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SPLIT_LAYOUT } from "./schema.ts";
 * assert.match(`expected ${SPLIT_LAYOUT}`, /^expected index: int32, label: int32, feature: /);
 * ```
 */
export const SPLIT_LAYOUT = "index: int32, label: int32, feature: fixed_size_list<float32>[D]";

/**
 * Column names and types of the classifier file, for messages.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CLASSIFIER_LAYOUT } from "./schema.ts";
 * assert.equal(CLASSIFIER_LAYOUT.split(", ")[0], "class: int32");
 * ```
 */
export const CLASSIFIER_LAYOUT = "class: int32, weight: fixed_size_list<float32>[D], bias: float32";

/**
 * The least a split file written by any tool must hold, for messages: a file without `ltkit.*`
 * schema metadata is read in this layout (see the README's "Features from any model").
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { MINIMAL_LAYOUT } from "./schema.ts";
 * ok(MINIMAL_LAYOUT.startsWith("label: int32 or int64"));
 * ```
 */
export const MINIMAL_LAYOUT: string =
  "label: int32 or int64, feature: fixed_size_list<float32 or " +
  "float16>[D], optionally index: int32 or int64";

/**
 * The least a classifier file written by any tool must hold: one row per class, in class order.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { MINIMAL_CLASSIFIER_LAYOUT } from "./schema.ts";
 * ok(MINIMAL_CLASSIFIER_LAYOUT.startsWith("weight:"));
 * ```
 */
export const MINIMAL_CLASSIFIER_LAYOUT: string =
  "weight: fixed_size_list<float32 or float16>[D], " +
  "optionally bias: float32 or float16 and class: int32 or int64 (0..C-1 in order)";

/**
 * Whether schema metadata carries any `ltkit.*` key: such a file is an ltkit dump and all its
 * keys are required; a file without any is read in {@link MINIMAL_LAYOUT}.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { hasKitMetadata } from "./schema.ts";
 * equal(hasKitMetadata(new Map([["ltkit.split", "train"]])), true);
 * equal(hasKitMetadata(new Map([["producer", "pyarrow"]])), false);
 * ```
 */
export function hasKitMetadata(meta: ReadonlyMap<string, string>): boolean {
  for (const key of meta.keys()) if (key.startsWith("ltkit.")) return true;
  return false;
}

/**
 * The metadata of a minimal-layout file: the given split, class count, training counts and
 * dimension, an empty profile (so the paper's shot thresholds apply), no backbone, no
 * checkpoint, and every schema-metadata entry under `extra`.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { minimalMetadata } from "./schema.ts";
 * const meta = minimalMetadata("train", 3, [5, 2, 1], 8, new Map([["producer", "numpy"]]));
 * equal(meta.minimal, true);
 * equal(meta.checkpointSha256, "");
 * equal(meta.extra.producer, "numpy");
 * ```
 */
export function minimalMetadata(
  kind: FeatureFileKind,
  classCount: number,
  trainClassCounts: readonly number[],
  featureDim: number,
  meta: ReadonlyMap<string, string>,
): FeatureMetadata {
  return {
    version: "",
    profile: {},
    split: kind,
    classCount,
    trainClassCounts: [...trainClassCounts],
    featureDim,
    backbone: null,
    checkpointSha256: "",
    extra: Object.fromEntries(meta),
    minimal: true,
  };
}

/**
 * The Arrow type of a D-dimensional feature (or weight) row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeType, vectorType } from "./schema.ts";
 * assert.equal(describeType(vectorType(64)), "fixed_size_list<float32>[64]");
 * ```
 */
export function vectorType(dim: number): arrow.FixedSizeList<arrow.Float32> {
  return new arrow.FixedSizeList(dim, new arrow.Field("item", new arrow.Float32(), false));
}

/**
 * Encodes metadata into schema-metadata strings, checking it first.
 *
 * @param kind The file kind.
 * @param classCount C.
 * @param featureDim D.
 * @param input The rest of the metadata.
 * @returns The `ltkit.*` map, plus `extra`.
 * @throws {RangeError} On a bad class count, dimension, count array or checksum.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeMetadata } from "./schema.ts";
 * const meta = encodeMetadata("train", 2, 4, {
 *   profile: { name: "toy" }, trainClassCounts: [3, 1], backbone: "toy",
 *   checkpointSha256: "0".repeat(64),
 * });
 * assert.equal(meta.get("ltkit.feature_dim"), "4");
 * ```
 */
export function encodeMetadata(
  kind: FeatureFileKind,
  classCount: number,
  featureDim: number,
  input: FeatureMetadataInput,
): Map<string, string> {
  const fail = (why: string): never => {
    throw new RangeError(`Cannot write ${kind} features: ${why}`);
  };
  if (!["train", "val", "test", "classifier"].includes(kind)) {
    fail(`split "${kind}" is not one of train, val, test, classifier`);
  }
  if (!Number.isInteger(classCount) || classCount < 1) {
    fail(`class count ${classCount} must be a positive integer`);
  }
  if (!Number.isInteger(featureDim) || featureDim < 1) {
    fail(`feature dimension ${featureDim} must be a positive integer`);
  }
  const counts = Array.from(input.trainClassCounts);
  if (counts.length !== classCount) {
    fail(`trainClassCounts has ${counts.length} entries but there are ${classCount} classes`);
  }
  if (counts.some((n) => !Number.isInteger(n) || n < 0)) {
    fail(`trainClassCounts [${counts}] must hold non-negative integers`);
  }
  const sha = input.checkpointSha256;
  if (typeof sha !== "string" || !/^[0-9a-fA-F]{64}$/.test(sha)) {
    fail(`checkpointSha256 ${JSON.stringify(sha)} is not 64 hexadecimal digits`);
  }
  if (typeof input.profile !== "object" || input.profile === null || Array.isArray(input.profile)) {
    fail("profile must be a JSON object");
  }
  const meta = new Map<string, string>();
  for (const [key, value] of Object.entries(input.extra ?? {})) {
    if (key.startsWith("ltkit.")) {
      fail(`extra metadata key "${key}" uses the reserved ltkit. prefix`);
    }
    meta.set(key, String(value));
  }
  meta.set(META_KEYS.version, input.version ?? KIT_VERSION);
  meta.set(META_KEYS.profile, JSON.stringify(input.profile));
  meta.set(META_KEYS.split, kind);
  meta.set(META_KEYS.classCount, String(classCount));
  meta.set(META_KEYS.trainClassCounts, JSON.stringify(counts));
  meta.set(META_KEYS.featureDim, String(featureDim));
  meta.set(
    META_KEYS.backbone,
    typeof input.backbone === "string" ? input.backbone : JSON.stringify(input.backbone),
  );
  meta.set(META_KEYS.checkpointSha256, sha.toLowerCase());
  return meta;
}

/**
 * Decodes and checks the `ltkit.*` schema metadata of a file.
 *
 * @param meta The schema metadata.
 * @param name The file name, for messages.
 * @returns The decoded metadata.
 * @throws {TypeError} When a key is missing or does not parse; {@link RangeError} for a bad value.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeMetadata, encodeMetadata } from "./schema.ts";
 * const meta = encodeMetadata("val", 2, 4, {
 *   profile: {}, trainClassCounts: [3, 1], backbone: { arch: "resnet8" },
 *   checkpointSha256: "a".repeat(64),
 * });
 * assert.deepEqual(decodeMetadata(meta, "val.arrow").backbone, { arch: "resnet8" });
 * ```
 */
export function decodeMetadata(meta: Map<string, string>, name: string): FeatureMetadata {
  const get = (key: string): string => {
    const value = meta.get(key);
    if (value === undefined) {
      throw new TypeError(
        `Cannot read ${name}: schema metadata "${key}" is missing (a feature dump carries ` +
          `${Object.values(META_KEYS).join(", ")})`,
      );
    }
    return value;
  };
  const bad = (key: string, value: string, why: string, Cls = RangeError): never => {
    throw new Cls(
      `Cannot read ${name}: schema metadata "${key}" is ${JSON.stringify(value)}; ${why}`,
    );
  };
  const positive = (key: string): number => {
    const text = get(key);
    if (!/^\d+$/.test(text) || Number(text) < 1) bad(key, text, "it must be a positive integer");
    return Number(text);
  };
  const json = (key: string): unknown => {
    const text = get(key);
    try {
      return JSON.parse(text);
    } catch {
      return bad(key, text, "it is not valid JSON", TypeError);
    }
  };
  const version = get(META_KEYS.version);
  const profile = json(META_KEYS.profile);
  if (typeof profile !== "object" || profile === null || Array.isArray(profile)) {
    bad(META_KEYS.profile, get(META_KEYS.profile), "it must be a JSON object", TypeError);
  }
  const split = get(META_KEYS.split);
  if (!["train", "val", "test", "classifier"].includes(split)) {
    bad(META_KEYS.split, split, "it must be train, val, test or classifier");
  }
  const classCount = positive(META_KEYS.classCount);
  const counts = json(META_KEYS.trainClassCounts);
  if (
    !Array.isArray(counts) || counts.length !== classCount ||
    counts.some((n) => !Number.isInteger(n) || n < 0)
  ) {
    bad(
      META_KEYS.trainClassCounts,
      get(META_KEYS.trainClassCounts),
      `it must be a JSON array of ${classCount} non-negative integers (one per class)`,
    );
  }
  const featureDim = positive(META_KEYS.featureDim);
  const backboneText = get(META_KEYS.backbone);
  let backbone: unknown = backboneText;
  try {
    backbone = JSON.parse(backboneText);
  } catch {
    // A plain-text description is allowed.
  }
  const sha = get(META_KEYS.checkpointSha256);
  if (!/^[0-9a-f]{64}$/.test(sha)) {
    bad(META_KEYS.checkpointSha256, sha, "it must be 64 lowercase hexadecimal digits");
  }
  const reserved = new Set<string>(Object.values(META_KEYS));
  const extra: Record<string, string> = {};
  for (const [key, value] of meta) if (!reserved.has(key)) extra[key] = value;
  return {
    version,
    profile: profile as Record<string, unknown>,
    split: split as FeatureFileKind,
    classCount,
    trainClassCounts: counts as number[],
    featureDim,
    backbone,
    checkpointSha256: sha,
    extra,
  };
}

/**
 * The schema of a split file.
 *
 * @param dim D, the feature dimension.
 * @param metadata Encoded metadata from {@link encodeMetadata}.
 * @returns The Arrow schema: index int32, label int32, feature fixed_size_list<float32>[D].
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitSchema } from "./schema.ts";
 * assert.deepEqual(splitSchema(64, new Map()).fields.map((f) => f.name), ["index", "label", "feature"]);
 * ```
 */
export function splitSchema(dim: number, metadata: Map<string, string>): ArrowSchema {
  return new arrow.Schema(
    [
      new arrow.Field("index", new arrow.Int32(), false),
      new arrow.Field("label", new arrow.Int32(), false),
      new arrow.Field("feature", vectorType(dim), false),
    ],
    metadata,
  );
}

/**
 * The schema of the classifier file.
 *
 * @param dim D, the feature dimension.
 * @param metadata Encoded metadata from {@link encodeMetadata}.
 * @returns The Arrow schema: class int32, weight fixed_size_list<float32>[D], bias float32.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classifierSchema } from "./schema.ts";
 * assert.equal(classifierSchema(8, new Map()).fields.length, 3);
 * ```
 */
export function classifierSchema(dim: number, metadata: Map<string, string>): ArrowSchema {
  return new arrow.Schema(
    [
      new arrow.Field("class", new arrow.Int32(), false),
      new arrow.Field("weight", vectorType(dim), false),
      new arrow.Field("bias", new arrow.Float32(), false),
    ],
    metadata,
  );
}

// deno doc --lint flags npm types in public signatures as private (denoland/deno#27364); these
// aliases name them. They are the very same types.

/**
 * An Apache Arrow schema (`Schema` of the pinned `npm:apache-arrow`), as the schema functions
 * return it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ArrowSchema, splitSchema } from "./schema.ts";
 * const schema: ArrowSchema = splitSchema(4, new Map([["note", "example"]]));
 * assert.equal(schema.metadata.get("note"), "example");
 * ```
 */
export type ArrowSchema = arrow.Schema;

/**
 * An Apache Arrow data type (`DataType` of the pinned `npm:apache-arrow`), as the type checks
 * take it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ArrowDataType, splitSchema } from "./schema.ts";
 * const type: ArrowDataType = splitSchema(4, new Map()).fields[2].type;
 * assert.equal(String(type), "FixedSizeList[4]<Float32>");
 * ```
 */
export type ArrowDataType = arrow.DataType;

/**
 * Describes an Arrow type the way the layout strings do (`int32`, `fixed_size_list<float32>[64]`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeType, splitSchema } from "./schema.ts";
 * assert.deepEqual(splitSchema(64, new Map()).fields.map((f) => describeType(f.type)), [
 *   "int32",
 *   "int32",
 *   "fixed_size_list<float32>[64]",
 * ]);
 * ```
 */
export function describeType(type: ArrowDataType): string {
  if (arrow.DataType.isInt(type)) return `${type.isSigned ? "int" : "uint"}${type.bitWidth}`;
  if (arrow.DataType.isFloat(type)) {
    return ["float16", "float32", "float64"][type.precision] ?? "float";
  }
  if (arrow.DataType.isFixedSizeList(type)) {
    return `fixed_size_list<${describeType(type.children[0].type)}>[${type.listSize}]`;
  }
  return String(type);
}

/**
 * True for a signed 32-bit integer type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classifierSchema, isInt32 } from "./schema.ts";
 * const [cls, , bias] = classifierSchema(8, new Map()).fields;
 * assert.deepEqual([isInt32(cls.type), isInt32(bias.type)], [true, false]);
 * ```
 */
export function isInt32(type: ArrowDataType): boolean {
  return arrow.DataType.isInt(type) && type.isSigned && type.bitWidth === 32;
}

/**
 * True for a 32-bit float type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classifierSchema, isFloat32 } from "./schema.ts";
 * const [cls, , bias] = classifierSchema(8, new Map()).fields;
 * assert.deepEqual([isFloat32(cls.type), isFloat32(bias.type)], [false, true]);
 * ```
 */
export function isFloat32(type: ArrowDataType): boolean {
  return arrow.DataType.isFloat(type) && type.precision === arrow.Precision.SINGLE;
}

/**
 * True for fixed_size_list<float32>[dim] (any dim when `dim` is omitted).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isFloat32Vector, vectorType } from "./schema.ts";
 * assert.deepEqual([isFloat32Vector(vectorType(8)), isFloat32Vector(vectorType(8), 16)], [true, false]);
 * ```
 */
export function isFloat32Vector(type: ArrowDataType, dim?: number): boolean {
  return arrow.DataType.isFixedSizeList(type) && isFloat32(type.children[0].type) &&
    (dim === undefined || type.listSize === dim);
}

/**
 * True for a signed 32- or 64-bit integer type (labels and indices of a minimal-layout file).
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { arrow } from "../_deps.ts";
 * import { isInt32or64 } from "./schema.ts";
 * equal(isInt32or64(new arrow.Int64()), true);
 * equal(isInt32or64(new arrow.Uint8()), false);
 * ```
 */
export function isInt32or64(type: ArrowDataType): boolean {
  return arrow.DataType.isInt(type) && type.isSigned &&
    (type.bitWidth === 32 || type.bitWidth === 64);
}

/**
 * True for a 32- or 16-bit float type.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { arrow } from "../_deps.ts";
 * import { isFloat32or16 } from "./schema.ts";
 * equal(isFloat32or16(new arrow.Float16()), true);
 * equal(isFloat32or16(new arrow.Float64()), false);
 * ```
 */
export function isFloat32or16(type: ArrowDataType): boolean {
  return arrow.DataType.isFloat(type) &&
    (type.precision === arrow.Precision.SINGLE || type.precision === arrow.Precision.HALF);
}

/**
 * True for fixed_size_list<float32> or fixed_size_list<float16> of any size.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { arrow } from "../_deps.ts";
 * import { isFloat32or16Vector, vectorType } from "./schema.ts";
 * const half = new arrow.FixedSizeList(4, new arrow.Field("item", new arrow.Float16()));
 * equal(isFloat32or16Vector(half) && isFloat32or16Vector(vectorType(4)), true);
 * ```
 */
export function isFloat32or16Vector(type: ArrowDataType): boolean {
  return arrow.DataType.isFixedSizeList(type) && isFloat32or16(type.children[0].type);
}
