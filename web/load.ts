/// <reference lib="dom" />
/**
 * Getting a dump into the page: from the `view` server (the four files of its folder) or from
 * dropped or chosen `.arrow` files, decoded and checked by the kit's own reader, so a bad file
 * gets the same message as `deno task stage2`. Also the check that the dump fits the browser's
 * WebGPU buffer limits, before anything is uploaded.
 *
 * @module
 */

import {
  checkFeatureDir,
  type ClassifierData,
  decodeClassifier,
  decodeFeatures,
  type FeatureDir,
  type FeatureSplitData,
  parseIpcFile,
} from "../lib/features/reader.ts";
import { decodeMetadata } from "../lib/features/schema.ts";

/** The four files of a dump. */
export const DUMP_FILES = ["train.arrow", "val.arrow", "test.arrow", "classifier.arrow"] as const;

/** Files decoded so far, by role. */
export interface PartialDump {
  /** train.arrow. */
  train?: FeatureSplitData;
  /** val.arrow. */
  val?: FeatureSplitData;
  /** test.arrow. */
  test?: FeatureSplitData;
  /** classifier.arrow. */
  classifier?: ClassifierData;
}

/**
 * Decodes one file and puts it where its metadata says (a classifier, or the split it names);
 * the reader's errors pass through unchanged, so they read as the CLI's.
 *
 * @param dump Files so far (updated).
 * @param name The file's name, for messages.
 * @param bytes Its contents.
 */
export function addFile(dump: PartialDump, name: string, bytes: Uint8Array): void {
  const kind = decodeMetadata(parseIpcFile(bytes, name).schema.metadata, name).split;
  if (kind === "classifier") {
    dump.classifier = decodeClassifier(bytes, name);
  } else {
    dump[kind] = decodeFeatures(bytes, name, kind);
  }
}

/** The roles still missing. */
export function missing(dump: PartialDump): string[] {
  return (["train", "val", "test", "classifier"] as const).filter((k) => !dump[k]).map((k) =>
    `${k}.arrow`
  );
}

/**
 * The whole dump, checked across files, once all four are there (or the three splits, when the
 * user runs without a classifier: the methods built on it are then skipped).
 *
 * @param dump Files so far.
 * @param where Where they came from, for messages.
 * @param withoutClassifier Accept a dump without classifier.arrow.
 * @returns The folder, or null while a file is missing.
 */
export function complete(
  dump: PartialDump,
  where: string,
  withoutClassifier = false,
): FeatureDir | null {
  const { train, val, test, classifier } = dump;
  if (!train || !val || !test || (!classifier && !withoutClassifier)) return null;
  return checkFeatureDir({ train, val, test, classifier: classifier ?? null }, where);
}

/** Fetches the view server's folder; null when the page has no server (a static file). */
export async function fetchServed(): Promise<{ dump: PartialDump; where: string } | null> {
  // Opened from disk there is no server to ask, and nothing next to the file is read.
  if (!/^https?:$/.test(globalThis.location?.protocol ?? "")) return null;
  let info: { folder: string };
  try {
    const response = await fetch("dump/info.json");
    if (!response.ok) return null;
    info = await response.json();
  } catch {
    return null;
  }
  const dump: PartialDump = {};
  for (const name of DUMP_FILES) {
    const response = await fetch(`dump/${name}`);
    if (response.status === 404) {
      throw new Error(`Cannot read ${info.folder}/${name}: no such file`);
    }
    if (!response.ok) throw new Error(`Cannot read ${info.folder}/${name}: ${response.statusText}`);
    addFile(dump, `${info.folder}/${name}`, new Uint8Array(await response.arrayBuffer()));
  }
  return { dump, where: info.folder };
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * Refuses a dump whose largest GPU buffer exceeds the device's limits, with both figures.
 * The buffers are the ones stage 2 allocates: features padded to a multiple of four columns,
 * the tau sweep's logits (every tau at once) and the evaluation logits.
 *
 * @param features The dump.
 * @param limits The device's limits.
 * @param taus Points of the tau grid.
 * @throws {RangeError} `Cannot run stage 2 in this browser: ...`.
 */
export function checkLimits(
  features: FeatureDir,
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number },
  taus: number,
): void {
  const dp = Math.ceil(features.train.dim / 4) * 4;
  const c = features.train.classCount;
  const evalRows = features.val.rows + features.test.rows;
  const buffers: [string, number][] = [
    ["train.arrow's features", features.train.rows * dp * 4],
    ["val.arrow and test.arrow's features", evalRows * dp * 4],
    ["the tau sweep's logits", taus * features.val.rows * c * 4],
    ["the evaluation logits", evalRows * c * 4],
  ];
  const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  for (const [what, bytes] of buffers) {
    if (bytes > limit) {
      throw new RangeError(
        `Cannot run stage 2 in this browser: ${what} take ${mib(bytes)} (${bytes} bytes), over ` +
          `this browser's WebGPU buffer limit of ${mib(limit)} (${limit} bytes); run ` +
          "`deno task stage2` on this dump instead",
      );
    }
  }
}
