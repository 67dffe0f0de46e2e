/**
 * Argument checks shared by the op wrappers: every message reads `Cannot run <op>: ...` and says
 * which tensor was wrong, what it was and what is needed.
 *
 * @module
 */

import { formatShape, type Tensor } from "../gpu/tensor.ts";

/** Throws a TypeError unless every named tensor is f32. */
export function checkF32(op: string, tensors: Readonly<Record<string, Tensor>>): void {
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== "f32") {
      throw new TypeError(`Cannot run ${op}: ${name} must be f32 but is ${t.dtype}`);
    }
  }
}

/** Throws a RangeError unless `t` has `legend.length` dimensions; returns its shape. */
export function checkRank(
  op: string,
  name: string,
  t: Tensor,
  legend: readonly string[],
): number[] {
  if (t.shape.length !== legend.length) {
    throw new RangeError(
      `Cannot run ${op}: ${name} has ${t.shape.length} dimensions but needs ${legend.length} ` +
        `(${legend.join(", ")})`,
    );
  }
  return [...t.shape];
}

/** Throws a RangeError unless `t` has exactly the `expected` shape. */
export function checkShape(op: string, name: string, t: Tensor, expected: readonly number[]): void {
  const same = t.shape.length === expected.length && t.shape.every((d, i) => d === expected[i]);
  if (!same) {
    throw new RangeError(
      `Cannot run ${op}: ${name} has shape ${formatShape(t.shape)} but ${formatShape(expected)} ` +
        `is expected`,
    );
  }
}

/** Throws a RangeError unless `v` is a whole number >= `min`. */
export function checkWhole(op: string, name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    throw new RangeError(`Cannot run ${op}: ${name} must be a whole number >= ${min}, got ${v}`);
  }
}
