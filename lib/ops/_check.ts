/**
 * Argument checks shared by the op wrappers: every message reads `Cannot run <op>: ...` and says
 * which tensor was wrong, what it was and what is needed.
 *
 * @module
 */

import { type DType, formatShape, type Tensor } from "../gpu/tensor.ts";

/** Throws a TypeError unless every named tensor is f32. */
export function checkF32(op: string, tensors: Readonly<Record<string, Tensor>>): void {
  for (const [name, t] of Object.entries(tensors)) checkDType(op, name, t, "f32");
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

/** Throws a TypeError unless `t` has dtype `dtype`. */
export function checkDType(op: string, name: string, t: Tensor, dtype: DType): void {
  if (t.dtype !== dtype) {
    throw new TypeError(
      `Cannot run ${op}: ${name} must be ${dtype} but ${t.label} ${formatShape(t.shape)} is ` +
        t.dtype,
    );
  }
}

/** Throws a RangeError unless `t` holds exactly `size` elements; `why` names who needs them. */
export function checkSize(op: string, name: string, t: Tensor, size: number, why: string): void {
  if (t.size !== size) {
    throw new RangeError(
      `Cannot run ${op}: ${name} ${formatShape(t.shape)} has ${t.size} elements but ${why} ` +
        `needs ${size}`,
    );
  }
}

/** Throws a RangeError when two of the named tensors share a buffer. */
export function checkDistinct(op: string, tensors: Readonly<Record<string, Tensor>>): void {
  const names = Object.keys(tensors);
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      if (tensors[names[i]].buffer === tensors[names[j]].buffer) {
        throw new RangeError(`Cannot run ${op}: ${names[i]} and ${names[j]} share a buffer`);
      }
    }
  }
}
