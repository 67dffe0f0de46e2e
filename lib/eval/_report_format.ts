/**
 * How the report writes numbers: percentages, taus, durations, and shot-group titles.
 *
 * @module
 */

import type { ShotGroup } from "../data/shot_groups.ts";

/** Display title of each shot group. */
export const GROUP_TITLES: Record<ShotGroup, string> = {
  many: "Many",
  medium: "Medium",
  few: "Few",
};

/**
 * Tau as on the grid ("0.9", "1.0"), more digits only when it is off the 0.1 grid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTau } from "./_report_format.ts";
 * assert.equal(formatTau(1), "1.0");
 * assert.equal(formatTau(0.25), "0.25");
 * ```
 */
export function formatTau(tau: number): string {
  return Math.abs(tau * 10 - Math.round(tau * 10)) < 1e-9 ? tau.toFixed(1) : String(tau);
}

/**
 * A fraction as a percentage with two decimals, or "–" for a missing value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPercent } from "./_report_format.ts";
 * assert.equal(formatPercent(0.8512), "85.12");
 * assert.equal(formatPercent(null), "–");
 * assert.equal(formatPercent(NaN), "–");
 * ```
 */
export function formatPercent(v: number | null | undefined): string {
  return typeof v === "number" && Number.isFinite(v) ? (100 * v).toFixed(2) : "–";
}

/**
 * Seconds as `12.3 s`, `3 min 05 s` or `1 h 02 min`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSeconds } from "./_report_format.ts";
 * assert.equal(formatSeconds(3.25), "3.3 s");
 * assert.equal(formatSeconds(125), "2 min 05 s");
 * assert.equal(formatSeconds(3725), "1 h 02 min");
 * ```
 */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "–";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

/** A fraction as a percentage, or null for a missing value (a gap in a figure). */
export function percentOrNull(v: number | null | undefined): number | null {
  return typeof v === "number" && Number.isFinite(v) ? 100 * v : null;
}
