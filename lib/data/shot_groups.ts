/**
 * Many / Medium / Few shot groups from training class counts.
 *
 * @module
 */

import { PAPER_SHOT_THRESHOLDS, type ShotThresholds } from "./profiles.ts";

/**
 * A class's shot group.
 *
 * @example
 * ```ts
 * import type { ShotGroup } from "./shot_groups.ts";
 * const group: ShotGroup = "few";
 * ```
 */
export type ShotGroup = "many" | "medium" | "few";

/**
 * The three groups, in reporting order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SHOT_GROUPS } from "./shot_groups.ts";
 * assert.deepEqual(SHOT_GROUPS, ["many", "medium", "few"]);
 * ```
 */
export const SHOT_GROUPS: readonly ShotGroup[] = Object.freeze(["many", "medium", "few"]);

/**
 * Map each class to its shot group: Many when n > thresholds.many, Few when n < thresholds.few,
 * Medium otherwise.
 *
 * @param classCounts Training images per class, (C).
 * @param thresholds The profile's thresholds (default: the paper's, Many > 100, Few < 20).
 * @returns The group of each class, (C).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shotGroups } from "./shot_groups.ts";
 * const groups = shotGroups([5980, 774, 60], { many: 1000, few: 200 });
 * assert.deepEqual(groups, ["many", "medium", "few"]);
 * ```
 */
export function shotGroups(
  classCounts: ArrayLike<number>,
  thresholds: ShotThresholds = PAPER_SHOT_THRESHOLDS,
): ShotGroup[] {
  const { many, few } = thresholds;
  if (!Number.isFinite(many) || !Number.isFinite(few) || few > many + 1) {
    throw new RangeError(
      `Cannot compute shot groups: thresholds many ${many} and few ${few} must be finite ` +
        "with few <= many + 1",
    );
  }
  return Array.from(classCounts, (n) => n > many ? "many" : n < few ? "few" : "medium");
}

/**
 * The classes of each group.
 *
 * @param groups The output of {@link shotGroups}.
 * @returns Class indices per group.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classesByGroup } from "./shot_groups.ts";
 * assert.deepEqual(classesByGroup(["many", "few", "many"]).many, [0, 2]);
 * ```
 */
export function classesByGroup(groups: readonly ShotGroup[]): Record<ShotGroup, number[]> {
  const out: Record<ShotGroup, number[]> = { many: [], medium: [], few: [] };
  groups.forEach((g, c) => out[g].push(c));
  return out;
}
