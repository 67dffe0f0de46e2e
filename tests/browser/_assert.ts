/**
 * The subset of `node:assert/strict` that the kernel tests use, for the browser bundle (an
 * import map points `node:assert/strict` here): strict equality, deep strict equality over
 * arrays, typed arrays, plain objects, maps and sets, and `throws`/`rejects` with a class, a
 * predicate, a RegExp or an object of expected properties.
 *
 * @module
 */

/** Thrown when an assertion fails. */
export class AssertionError extends Error {
  /** @param message What differed. */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

type Message = string | Error | undefined;

function fail(message: Message, fallback: string): never {
  if (message instanceof Error) throw message;
  throw new AssertionError(message ?? fallback);
}

function show(value: unknown): string {
  try {
    if (ArrayBuffer.isView(value)) {
      return `${value.constructor.name}(${Array.from(value as never)})`;
    }
    return typeof value === "string"
      ? JSON.stringify(value)
      : String(JSON.stringify(value) ?? value);
  } catch {
    return String(value);
  }
}

/** `Object.is` equality. */
export function equal(actual: unknown, expected: unknown, message?: Message): void {
  if (!Object.is(actual, expected)) {
    fail(message, `Expected values to be strictly equal:\n${show(actual)} !== ${show(expected)}`);
  }
}

/** `Object.is` inequality. */
export function notEqual(actual: unknown, expected: unknown, message?: Message): void {
  if (Object.is(actual, expected)) fail(message, `Expected ${show(actual)} to differ`);
}

/** Truthiness. */
export function ok(value: unknown, message?: Message): asserts value {
  if (!value) fail(message, `Expected a truthy value, got ${show(value)}`);
}

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (ArrayBuffer.isView(a)) {
    const x = a as unknown as ArrayLike<unknown>, y = b as unknown as ArrayLike<unknown>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
    return true;
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !same(v, b.get(k))) return false;
    return true;
  }
  if (a instanceof Set && b instanceof Set) {
    if (a.size !== b.size) return false;
    for (const v of a) if (!b.has(v)) return false;
    return true;
  }
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k)) return false;
    if (!same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** Deep strict equality. */
export function deepEqual(actual: unknown, expected: unknown, message?: Message): void {
  if (!same(actual, expected)) {
    fail(message, `Expected values to be deeply equal:\n${show(actual)}\n${show(expected)}`);
  }
}

/** Deep strict inequality. */
export function notDeepEqual(actual: unknown, expected: unknown, message?: Message): void {
  if (same(actual, expected)) fail(message, `Expected ${show(actual)} to differ deeply`);
}

type Matcher =
  | (new (...args: never[]) => unknown)
  | ((error: never) => boolean)
  | RegExp
  | Record<string, unknown>;

function matches(error: unknown, expected: Matcher | undefined): boolean {
  if (expected === undefined) return true;
  if (expected instanceof RegExp) return expected.test(String(error));
  if (typeof expected === "function") {
    if (expected.prototype !== undefined && error instanceof (expected as new () => unknown)) {
      return true;
    }
    // An Error subclass that did not match is a mismatch, not a predicate to call.
    if (expected.prototype instanceof Error || expected === Error) return false;
    return (expected as (e: unknown) => boolean)(error) === true;
  }
  for (const [key, want] of Object.entries(expected)) {
    const got = (error as Record<string, unknown>)?.[key];
    if (want instanceof RegExp ? !want.test(String(got)) : !same(got, want)) return false;
  }
  return true;
}

function check(error: unknown, expected: Matcher | string | undefined, message: Message): void {
  if (typeof expected === "string") return;
  if (!matches(error, expected)) {
    if (error instanceof Error && message === undefined) throw error;
    fail(message, `The error did not match: ${String(error)}`);
  }
}

/** The function throws (an error that matches `expected`). */
export function throws(fn: () => unknown, expected?: Matcher | string, message?: Message): void {
  try {
    fn();
  } catch (error) {
    check(error, expected, typeof expected === "string" ? expected : message);
    return;
  }
  fail(typeof expected === "string" ? expected : message, "Missing expected exception");
}

/** The promise (or the promise the function returns) rejects with a matching error. */
export async function rejects(
  promise: Promise<unknown> | (() => Promise<unknown>),
  expected?: Matcher | string,
  message?: Message,
): Promise<void> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    check(error, expected, typeof expected === "string" ? expected : message);
    return;
  }
  fail(typeof expected === "string" ? expected : message, "Missing expected rejection");
}

// The strict names: the tests import these, since Deno 2.9's named `equal` and `deepEqual` of
// `node:assert/strict` are the loose ones.
export {
  deepEqual as deepStrictEqual,
  equal as strictEqual,
  notDeepEqual as notDeepStrictEqual,
  notEqual as notStrictEqual,
};

/** `assert(value)` is `ok(value)`; the named checks hang off it as in node. */
const assert = Object.assign(
  (value: unknown, message?: Message) => ok(value, message),
  {
    equal,
    notEqual,
    ok,
    deepEqual,
    notDeepEqual,
    strictEqual: equal,
    deepStrictEqual: deepEqual,
    notStrictEqual: notEqual,
    notDeepStrictEqual: notDeepEqual,
    throws,
    rejects,
    AssertionError,
    strict: ok,
  },
);
export default assert;
