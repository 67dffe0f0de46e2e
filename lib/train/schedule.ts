/**
 * Learning-rate schedules.
 *
 * @module
 */

/**
 * Cosine decay from `base` to 0 over `total` iterations, applied per iteration: step t in
 * 0..total-1 gets `base * (1 + cos(pi * t / total)) / 2`, so the last step is just above 0 and
 * the schedule reaches 0 at t = total.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cosineLr } from "./schedule.ts";
 * assert.equal(cosineLr(0.1, 0, 100), 0.1);
 * assert.equal(cosineLr(0.1, 50, 100), 0.05);
 * ```
 */
export function cosineLr(base: number, step: number, total: number): number {
  if (!(total >= 1)) throw new RangeError(`Cannot compute a cosine schedule over ${total} steps`);
  if (!(step >= 0 && step <= total)) {
    throw new RangeError(`Cannot compute the learning rate of step ${step}: outside 0..${total}`);
  }
  return base * 0.5 * (1 + Math.cos((Math.PI * step) / total));
}

/**
 * Every step's learning rate of a cosine schedule, (total).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cosineSchedule } from "./schedule.ts";
 * assert.deepEqual(cosineSchedule(1, 4), Float32Array.of(1, 0.8535534143447876, 0.5, 0.1464466154575348));
 * ```
 */
export function cosineSchedule(base: number, total: number): Float32Array {
  const out = new Float32Array(total);
  for (let t = 0; t < total; t++) out[t] = cosineLr(base, t, total);
  return out;
}
