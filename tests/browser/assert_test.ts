/**
 * The browser suite's `node:assert/strict` subset fails exactly where node's strict assert does,
 * so a kernel test that fails in Deno cannot pass in the page because of a lenient stand-in.
 *
 * The reference is the default export: in Deno 2.9 the named exports of `node:assert/strict`
 * (`import { equal } ...`) are the loose ones (`equal(1, "1")` passes), unlike Node's.
 */

import node from "node:assert/strict";
import * as shim from "./_assert.ts";

type Api = typeof shim;

const CASES: [string, (a: Api) => unknown][] = [
  ["equal same", (a) => a.equal(1, 1)],
  ["equal differs", (a) => a.equal(1, 2)],
  ["equal NaN", (a) => a.equal(NaN, NaN)],
  ["equal 1 and '1'", (a) => a.equal(1, "1" as unknown as number)],
  ["notEqual", (a) => a.notEqual(1, 1)],
  ["ok false", (a) => a.ok(0)],
  ["ok true", (a) => a.ok("x")],
  ["deepEqual arrays", (a) => a.deepEqual([1, [2, 3]], [1, [2, 3]])],
  ["deepEqual arrays differ", (a) => a.deepEqual([1, [2, 3]], [1, [2, 4]])],
  ["deepEqual typed", (a) => a.deepEqual(new Float32Array([1, 2]), new Float32Array([1, 2]))],
  [
    "deepEqual typed differ",
    (a) => a.deepEqual(new Float32Array([1, 2]), new Float32Array([1, 3])),
  ],
  ["deepEqual typed kinds", (a) => a.deepEqual(new Float32Array([1]), new Int32Array([1]))],
  ["deepEqual objects", (a) => a.deepEqual({ x: 1, y: { z: 2 } }, { y: { z: 2 }, x: 1 })],
  ["deepEqual extra key", (a) => a.deepEqual({ x: 1 }, { x: 1, y: undefined })],
  ["deepEqual loose", (a) => a.deepEqual({ x: 1 }, { x: "1" })],
  ["throws none", (a) => a.throws(() => {})],
  ["throws class", (a) =>
    a.throws(() => {
      throw new RangeError("r");
    }, RangeError)],
  ["throws wrong class", (a) =>
    a.throws(() => {
      throw new TypeError("t");
    }, RangeError)],
  ["throws regexp", (a) =>
    a.throws(() => {
      throw new Error("abc");
    }, /b/)],
  ["throws regexp misses", (a) =>
    a.throws(() => {
      throw new Error("abc");
    }, /z/)],
  ["throws predicate", (a) =>
    a.throws(() => {
      throw new Error("abc");
    }, (e: Error) => e.message === "abc")],
  ["throws object", (a) =>
    a.throws(() => {
      throw new Error("abc");
    }, { message: "abc" })],
  ["throws object misses", (a) =>
    a.throws(() => {
      throw new Error("abc");
    }, { message: "x" })],
];

const ASYNC_CASES: [string, (a: Api) => Promise<unknown>][] = [
  ["rejects none", (a) => a.rejects(Promise.resolve(1))],
  ["rejects class", (a) => a.rejects(Promise.reject(new RangeError("r")), RangeError)],
  ["rejects wrong class", (a) => a.rejects(Promise.reject(new TypeError("t")), RangeError)],
  ["rejects fn regexp", (a) => a.rejects(() => Promise.reject(new Error("abc")), /c$/)],
  ["rejects regexp misses", (a) => a.rejects(Promise.reject(new Error("abc")), /z/)],
  ["rejects predicate false", (a) => a.rejects(Promise.reject(new Error("a")), () => false)],
];

function outcome(f: () => unknown): boolean {
  try {
    f();
    return true;
  } catch {
    return false;
  }
}

async function outcomeAsync(f: () => Promise<unknown>): Promise<boolean> {
  try {
    await f();
    return true;
  } catch {
    return false;
  }
}

Deno.test("the assert subset passes and fails exactly where node:assert/strict does", async () => {
  for (const [name, f] of CASES) {
    node.equal(outcome(() => f(shim)), outcome(() => f(node as unknown as Api)), name);
  }
  for (const [name, f] of ASYNC_CASES) {
    node.equal(
      await outcomeAsync(() => f(shim)),
      await outcomeAsync(() => f(node as unknown as Api)),
      name,
    );
  }
});
