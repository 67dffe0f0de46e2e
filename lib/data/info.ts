/**
 * A plain-text report of a profile's splits: counts per class and split, and shot groups.
 *
 * @module
 */

import { countPerClass } from "./image_set.ts";
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
