/**
 * A plain-text report of a profile's splits: counts per class and split, and shot groups; for
 * image-list profiles a summary (thousands of classes do not fit one line each).
 *
 * @module
 */

import { countPerClass } from "./image_set.ts";
import { formatProblems } from "./image_list.ts";
import type { ImageListSplits } from "./image_list_profiles.ts";
import type { LongTailSplits } from "./long_tail.ts";
import { classesByGroup, SHOT_GROUPS, shotGroups } from "./shot_groups.ts";

/**
 * Describe splits as a table, one line per class in rank order.
 *
 * @param splits From {@link buildLongTail}.
 * @param from Where the source came from (printed in the header), optional.
 * @returns Lines of text, without a trailing newline.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildLongTail } from "./long_tail.ts";
 * import { describeSplits } from "./info.ts";
 * import { getProfile } from "./profiles.ts";
 * const labels = Int32Array.from({ length: 40 }, (_, i) => i % 2);
 * const source = {
 *   images: new Uint8Array(40), labels, count: 40, channels: 1, height: 1, width: 1, classCount: 2,
 * };
 * const profile = { ...structuredClone(getProfile("fashion-mnist-lt-10")), headSize: 18,
 *   classOrder: [0, 1], valPerClass: 2 };
 * const text = describeSplits(buildLongTail(profile, source, source));
 * assert.match(text, /^profile fashion-mnist-lt-10: source fashion-mnist$/m);
 * assert.match(text, /^ +total +19 +4 +40$/m);
 * ```
 */
export function describeSplits(splits: LongTailSplits, from?: string): string {
  const { profile, classCounts } = splits;
  const C = classCounts.length;
  const names = splits.train.set.classNames;
  const val = countPerClass(splits.val.set.labels, C);
  const test = countPerClass(splits.test.set.labels, C);
  const groups = shotGroups(classCounts, profile.shotThresholds);
  const t = profile.shotThresholds;
  const lines = [
    `profile ${profile.name}: source ${profile.source}${from ? ` from ${from}` : ""}`,
    `head size ${profile.headSize}, imbalance ratio ${profile.imbalanceRatio}, seed ` +
    `${profile.seed}, validation ${profile.valPerClass} per class`,
    `shot groups: many > ${t.many}, medium ${t.few}..${t.many}, few < ${t.few} training images`,
    ...(profile.notes ? [`notes: ${profile.notes}`] : []),
    "",
    "rank  class                 target   train    val   test  group",
  ];
  const pad = (v: string | number, n: number) => String(v).padStart(n);
  profile.classOrder.forEach((c, rank) => {
    const label = `${c} ${names?.[c] ?? ""}`.trimEnd().padEnd(20);
    lines.push(
      `${pad(rank, 4)}  ${label} ${pad(splits.targetSizes[rank], 7)} ${pad(classCounts[c], 7)} ` +
        `${pad(val[c], 6)} ${pad(test[c], 6)}  ${groups[c]}`,
    );
  });
  const sum = (a: Int32Array) => a.reduce((x, y) => x + y, 0);
  lines.push(
    `${"".padEnd(4)}  ${"total".padEnd(20)} ${pad("", 7)} ${pad(sum(classCounts), 7)} ` +
      `${pad(sum(val), 6)} ${pad(sum(test), 6)}`,
  );
  lines.push("");
  const by = classesByGroup(groups);
  for (const g of SHOT_GROUPS) {
    const members = by[g].map((c) => names?.[c] ? `${c} ${names[c]}` : String(c));
    lines.push(`${g.padEnd(6)} ${pad(by[g].length, 2)} classes: ${members.join(", ") || "-"}`);
  }
  return lines.join("\n");
}

/**
 * Describe the splits of an image-list profile: images and classes per split, the shot groups,
 * the largest and smallest classes, classes missing from the tuning set, skipped lines.
 *
 * @param splits From {@link loadImageListSplits}.
 * @returns Lines of text, without a trailing newline.
 * @example
 * ```ts
 * import { match } from "node:assert/strict";
 * import { describeImageListSplits } from "./info.ts";
 * import { IMAGE_LIST_PROFILES } from "./image_list_profiles.ts";
 * const e = (label: number, line: number) => ({ path: `${line}.jpg`, label, line });
 * const text = describeImageListSplits({
 *   profile: { ...IMAGE_LIST_PROFILES["places-lt"], classCount: 2 }, root: "/data",
 *   files: { train: "tr.txt", val: "va.txt", test: "te.txt" },
 *   train: [e(0, 1), e(0, 2), e(1, 3)], val: [e(0, 1)], test: [e(0, 1), e(1, 2)],
 *   classCounts: Int32Array.from([2, 1]), groups: ["few", "few"], tooSmall: [],
 *   problems: { train: [], val: [], test: [] },
 * });
 * match(text, /train\s+3 images\s+2 classes/);
 * ```
 */
export function describeImageListSplits(splits: ImageListSplits): string {
  const { profile, classCounts } = splits;
  const C = classCounts.length;
  const t = profile.shotThresholds;
  const classesIn = (entries: readonly { label: number }[]) =>
    new Set(entries.map((e) => e.label)).size;
  const lines = [
    `profile ${profile.name} (${profile.title}): ${C} classes, images under ${splits.root}`,
    `shot groups: many > ${t.many}, medium ${t.few}..${t.many}, few < ${t.few} training images`,
    ...(profile.notes ? [`notes: ${profile.notes}`] : []),
    "",
  ];
  for (const split of ["train", "val", "test"] as const) {
    const entries = splits[split];
    lines.push(
      `${split.padEnd(5)} ${String(entries.length).padStart(8)} images ` +
        `${String(classesIn(entries)).padStart(6)} classes  ${splits.files[split]}` +
        (split === "val" && splits.files.val === splits.files.train ? " (drawn from train)" : ""),
    );
  }
  const order = Array.from({ length: C }, (_, c) => c).sort((a, b) =>
    classCounts[b] - classCounts[a] || a - b
  );
  const max = classCounts[order[0]], min = classCounts[order[C - 1]];
  lines.push(
    "",
    `training images per class: largest ${max} (class ${order[0]}), smallest ${min} (class ${
      order[C - 1]
    }), imbalance ratio ${(max / Math.max(1, min)).toFixed(1)}`,
  );
  const by = classesByGroup(splits.groups);
  for (const g of SHOT_GROUPS) {
    const n = by[g].reduce((s, c) => s + classCounts[c], 0);
    lines.push(`${g.padEnd(6)} ${String(by[g].length).padStart(5)} classes, ${n} training images`);
  }
  if (splits.tooSmall.length > 0) {
    lines.push(
      `${splits.tooSmall.length} classes have too few training images to give a tuning image ` +
        `and are missing from val: ${splits.tooSmall.slice(0, 20).join(", ")}${
          splits.tooSmall.length > 20 ? ", ..." : ""
        }`,
    );
  }
  for (const split of ["train", "val", "test"] as const) {
    const p = splits.problems[split];
    if (p.length > 0) lines.push(`skipped in ${split} (--skip-bad):`, formatProblems(p, 50));
  }
  return lines.join("\n");
}
