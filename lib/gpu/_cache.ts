/**
 * A per-device cache whose keys carry the type of their value: `cacheKey<Tensor>("x")` can only
 * store and return a Tensor, so readers need no casts and two writers cannot disagree about
 * what a key holds without the type checker seeing it.
 *
 * @module
 */

declare const valueType: unique symbol;

/**
 * A cache key that holds values of type `T`; make one with {@link cacheKey}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CacheKey, cacheKey } from "./_cache.ts";
 * const key: CacheKey<number[]> = cacheKey("example:sizes");
 * assert.equal(key, "example:sizes");
 * ```
 */
export type CacheKey<T> = string & { readonly [valueType]: T };

/**
 * Names a cache entry holding values of type `T`. Keys with the same name are the same entry,
 * so one name must always be given one type: define each key once, beside its only user.
 *
 * @param name Unique name, by convention `<module>:<what>`.
 * @returns The typed key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cacheKey, GpuCache } from "./_cache.ts";
 * const SIZES = cacheKey<number[]>("example:sizes");
 * const cache = new GpuCache();
 * cache.set(SIZES, [1, 2]);
 * assert.deepEqual(cache.get(SIZES), [1, 2]);
 * ```
 */
export function cacheKey<T>(name: string): CacheKey<T> {
  return name as CacheKey<T>;
}

/**
 * What a device keeps for its lifetime: compiled pipelines, tuned kernel choices, stand-in
 * tensors. Values are typed by their {@link CacheKey}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cacheKey, GpuCache } from "./_cache.ts";
 * const COUNTS = cacheKey<Map<string, number>>("example:counts");
 * const cache = new GpuCache();
 * const counts = cache.getOrCreate(COUNTS, () => new Map());
 * counts.set("a", 1);
 * assert.equal(cache.getOrCreate(COUNTS, () => new Map()).get("a"), 1); // made once
 * assert.equal(cache.has(COUNTS), true);
 * cache.delete(COUNTS);
 * assert.equal(cache.get(COUNTS), undefined);
 * ```
 */
export class GpuCache {
  readonly #entries = new Map<string, unknown>();

  /** The value under `key`, or undefined. */
  get<T>(key: CacheKey<T>): T | undefined {
    return this.#entries.get(key) as T | undefined;
  }

  /** Whether `key` holds a value. */
  has<T>(key: CacheKey<T>): boolean {
    return this.#entries.has(key);
  }

  /** Stores `value` under `key`, replacing any earlier one. */
  set<T>(key: CacheKey<T>, value: T): void {
    this.#entries.set(key, value);
  }

  /** Removes `key`; returns whether it held a value. */
  delete<T>(key: CacheKey<T>): boolean {
    return this.#entries.delete(key);
  }

  /** The value under `key`, made by `make` and stored when there is none. */
  getOrCreate<T>(key: CacheKey<T>, make: () => T): T {
    if (this.#entries.has(key)) return this.#entries.get(key) as T;
    const value = make();
    this.#entries.set(key, value);
    return value;
  }
}
