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

/**
 * Names of the learning-rate schedules, the rows of {@link SCHEDULES}.
 *
 * @example
 * ```ts
 * import type { ScheduleKind } from "./schedule.ts";
 * const kind: ScheduleKind = "ldam-step";
 * console.log(kind); // "ldam-step"
 * ```
 */
export type ScheduleKind = "cosine" | "ldam-step";

/**
 * A step decay: from `epoch` (0-based: the first epoch it applies to) on, the learning rate is
 * `factor` times the peak (not times the previous rate).
 *
 * @example
 * ```ts
 * import type { Milestone } from "./schedule.ts";
 * const m: Milestone = { epoch: 160, factor: 0.01 };
 * console.log(m.factor); // 0.01
 * ```
 */
export interface Milestone {
  /**
   * Where the new rate starts, in epochs from the start (0-based, so 160 is the 161st epoch); a
   * fraction starts it at the first step at or past that point, for schedules scaled to few epochs.
   */
  epoch: number;
  /** The rate from then on, as a multiple of the peak learning rate. */
  factor: number;
}

/**
 * What a schedule is built from.
 *
 * @example
 * ```ts
 * import { buildSchedule, type SchedulePlan } from "./schedule.ts";
 * const plan: SchedulePlan = {
 *   kind: "cosine",
 *   lr: 1,
 *   epochs: 2,
 *   stepsPerEpoch: 2,
 *   warmupEpochs: 0,
 *   milestones: [],
 * };
 * console.log(buildSchedule(plan).length); // 4
 * ```
 */
export interface SchedulePlan {
  /** Which row of {@link SCHEDULES}. */
  kind: ScheduleKind;
  /** Peak learning rate. */
  lr: number;
  /** Epochs the schedule spans. */
  epochs: number;
  /** Optimiser steps per epoch. */
  stepsPerEpoch: number;
  /** Epochs of linear warm-up, a fraction allowed (ldam-step only; 0 for cosine). */
  warmupEpochs: number;
  /** Step decays, by increasing epoch (ldam-step only; none for cosine). */
  milestones: readonly Milestone[];
}

/**
 * The learning rate of step `step` of an `ldam-step` schedule, as LDAM-DRW's CIFAR recipe
 * (Cao et al., 2019) defines it but per iteration: a linear warm-up over `warmupEpochs` epochs
 * reaching the peak on its last step (step t gets `lr * min(1, (t + 1) / warmupSteps)`), times
 * the factor of the last milestone reached (1 before the first).
 *
 * @example
 * ```ts
 * import { ldamStepLr, type SchedulePlan } from "./schedule.ts";
 * const plan: SchedulePlan = {
 *   kind: "ldam-step",
 *   lr: 0.1,
 *   epochs: 200,
 *   stepsPerEpoch: 10,
 *   warmupEpochs: 5,
 *   milestones: [{ epoch: 160, factor: 0.01 }, { epoch: 180, factor: 0.0001 }],
 * };
 * console.log(ldamStepLr(plan, 0), ldamStepLr(plan, 49), ldamStepLr(plan, 1600)); // 0.002 0.1 0.001
 * ```
 */
export function ldamStepLr(plan: SchedulePlan, step: number): number {
  const total = plan.epochs * plan.stepsPerEpoch;
  if (!(step >= 0 && step < total && Number.isInteger(step))) {
    throw new RangeError(
      `Cannot compute the learning rate of step ${step}: outside 0..${total - 1}`,
    );
  }
  const warmupSteps = plan.warmupEpochs * plan.stepsPerEpoch;
  const ramp = Math.min(1, (step + 1) / warmupSteps);
  let factor = 1;
  for (const m of plan.milestones) if (step >= m.epoch * plan.stepsPerEpoch) factor = m.factor;
  return plan.lr * ramp * factor;
}

/**
 * One learning-rate schedule: what it is and how it fills the per-step table.
 *
 * @example
 * ```ts
 * import { SCHEDULES, type ScheduleRow } from "./schedule.ts";
 * const row: ScheduleRow = SCHEDULES.cosine;
 * console.log(row.usesSteps); // false
 * ```
 */
export interface ScheduleRow {
  /** One line for `--help` and the README. */
  readonly description: string;
  /** Whether it takes warm-up epochs and milestones. */
  readonly usesSteps: boolean;
  /** Every step's learning rate, (epochs * stepsPerEpoch). */
  readonly build: (plan: SchedulePlan) => Float32Array;
}

/**
 * The schedules, by name. `cosine` is the recipe's; `ldam-step` is LDAM-DRW's CIFAR schedule.
 *
 * @example
 * ```ts
 * import { SCHEDULES } from "./schedule.ts";
 * console.log(Object.keys(SCHEDULES).join(" ")); // "cosine ldam-step"
 * ```
 */
export const SCHEDULES: Readonly<Record<ScheduleKind, ScheduleRow>> = {
  cosine: {
    description: "per-step cosine decay from lr to 0 (the recipe)",
    usesSteps: false,
    build: (plan) => cosineSchedule(plan.lr, plan.epochs * plan.stepsPerEpoch),
  },
  "ldam-step": {
    description: "linear warm-up to lr, then lr x factor from each milestone epoch (LDAM-DRW)",
    usesSteps: true,
    build: (plan) => {
      const out = new Float32Array(plan.epochs * plan.stepsPerEpoch);
      for (let t = 0; t < out.length; t++) out[t] = ldamStepLr(plan, t);
      return out;
    },
  },
};

/**
 * The schedule names, for flags and validation.
 *
 * @example
 * ```ts
 * import { SCHEDULE_KINDS } from "./schedule.ts";
 * console.log(SCHEDULE_KINDS.includes("cosine")); // true
 * ```
 */
export const SCHEDULE_KINDS: readonly ScheduleKind[] = Object.keys(SCHEDULES) as ScheduleKind[];

/**
 * What is wrong with a plan's warm-up and milestones, or null when nothing is: each names the
 * setting, its value and the fix. The schedule kind must be a known one.
 *
 * @example
 * ```ts
 * import { scheduleProblem } from "./schedule.ts";
 * const plan = {
 *   kind: "ldam-step" as const,
 *   lr: 0.1,
 *   epochs: 10,
 *   stepsPerEpoch: 1,
 *   warmupEpochs: 1,
 *   milestones: [{ epoch: 160, factor: 0.01 }],
 * };
 * console.log(scheduleProblem(plan));
 * // "stage1.milestones has epoch 160, not below stage1.epochs 10; give --milestones with epochs below 10, scaled to the epochs (e.g. 8:0.01)"
 * ```
 */
export function scheduleProblem(plan: Omit<SchedulePlan, "stepsPerEpoch" | "lr">): string | null {
  const row = SCHEDULES[plan.kind];
  if (!row) {
    return `stage1.schedule is ${JSON.stringify(plan.kind)}; use ${SCHEDULE_KINDS.join(", ")}`;
  }
  if (!row.usesSteps) {
    if (plan.warmupEpochs !== 0 || plan.milestones.length > 0) {
      return `stage1.warmupEpochs and stage1.milestones apply only to schedule ldam-step, and ` +
        `schedule ${plan.kind} has ${plan.warmupEpochs} and ${plan.milestones.length}; give ` +
        `--schedule ldam-step, or --warmup-epochs 0 --milestones none`;
    }
    return null;
  }
  if (!Number.isFinite(plan.warmupEpochs) || plan.warmupEpochs < 0) {
    return `stage1.warmupEpochs is ${plan.warmupEpochs}; expected a number >= 0`;
  }
  if (plan.warmupEpochs >= plan.epochs) {
    return `stage1.warmupEpochs is ${plan.warmupEpochs}, not below stage1.epochs ${plan.epochs}; ` +
      `give --warmup-epochs ${Math.max(0, Math.floor(plan.epochs / 40))} or more --epochs`;
  }
  let previous = 0;
  for (const m of plan.milestones) {
    if (!(Number.isFinite(m?.epoch) && m.epoch > 0) || !(m.factor > 0 && m.factor <= 10)) {
      return `stage1.milestones has ${JSON.stringify(m)}; expected {epoch: > 0, factor: > 0 ` +
        `and <= 10}`;
    }
    if (m.epoch >= plan.epochs) {
      return `stage1.milestones has epoch ${m.epoch}, not below stage1.epochs ${plan.epochs}; ` +
        `give --milestones with epochs below ${plan.epochs}, scaled to the epochs (e.g. ` +
        `${+(plan.epochs * 0.8).toFixed(3)}:${m.factor})`;
    }
    if (m.epoch <= previous) {
      return `stage1.milestones has epoch ${m.epoch} after ${previous}; expected increasing ` +
        `epochs > 0`;
    }
    previous = m.epoch;
  }
  return null;
}

/**
 * Every step's learning rate of a plan, by its row of {@link SCHEDULES}; a bad plan is refused
 * with {@link scheduleProblem}'s message.
 *
 * @example
 * ```ts
 * import { buildSchedule } from "./schedule.ts";
 * const lr = buildSchedule({
 *   kind: "ldam-step",
 *   lr: 1,
 *   epochs: 4,
 *   stepsPerEpoch: 2,
 *   warmupEpochs: 1,
 *   milestones: [{ epoch: 3, factor: 0.1 }],
 * });
 * console.log(lr); // Float32Array(8) [0.5, 1, 1, 1, 1, 1, 0.10000000149011612, 0.10000000149011612]
 * ```
 */
export function buildSchedule(plan: SchedulePlan): Float32Array {
  const problem = scheduleProblem(plan);
  if (problem) throw new RangeError(`Cannot build the learning-rate schedule: ${problem}`);
  if (!(plan.stepsPerEpoch >= 1 && plan.epochs >= 1)) {
    throw new RangeError(
      `Cannot build the learning-rate schedule: ${plan.epochs} epochs of ${plan.stepsPerEpoch} ` +
        `steps; both must be >= 1`,
    );
  }
  return SCHEDULES[plan.kind].build(plan);
}
