/**
 * Data: IDX, CIFAR binary, tar and Arrow image sources and their discovery and download
 * (Fashion-MNIST, CIFAR), long-tailed profiles and splits, shot groups, samplers, normalised and
 * augmented batches, a seeded PRNG, sample grids as PNG, and image lists packed into shards.
 *
 * A layer barrel: every public module of the layer, for the kit's own scripts and tests;
 * internal `_name.ts` modules are imported from their files, and programs import the root
 * `mod.ts`, whose list is the public API (tests/api_test.ts checks both rules).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BatchMaker, buildLongTail, createSampler, getProfile, Rng } from "./mod.ts";
 * // A balanced 3-class source of 8x8 grey images; a real one comes from `loadLongTail`.
 * const labels = Int32Array.from({ length: 300 }, (_, i) => i % 3);
 * const source = {
 *   images: new Uint8Array(300 * 64), labels, count: 300, channels: 1, height: 8, width: 8,
 *   classCount: 3,
 * };
 * const profile = { ...structuredClone(getProfile("fashion-mnist-lt-10")), headSize: 90,
 *   classOrder: [0, 1, 2], valPerClass: 5 };
 * const splits = buildLongTail(profile, source, source);
 * const train = splits.train.set;
 * const sampler = createSampler("instance", train.labels, new Rng(0, 1));
 * const maker = new BatchMaker(train, {
 *   batchSize: 32, ...profile.normalization, augment: true, rng: new Rng(0, 2),
 * });
 * const batch = maker.allocate();
 * const order = sampler.epoch(0, 30);
 * assert.equal(order.length, 90 + 28 + 9);
 * assert.equal(maker.fill(order, 0, batch), 32);
 * assert.equal(batch.images.length, 32 * 64);
 * ```
 *
 * @module
 */

export * from "./arrow_table.ts";
export * from "./augment.ts";
export * from "./cifar.ts";
export * from "./batch.ts";
export * from "./decode.ts";
export * from "./download.ts";
export * from "./fashion_mnist.ts";
export * from "./fashion_mnist_list.ts";
export * from "./grid.ts";
export * from "./idx.ts";
export * from "./image_list.ts";
export * from "./image_list_grid.ts";
export * from "./image_list_profiles.ts";
export * from "./image_set.ts";
export * from "./imagenet_augment.ts";
export * from "./info.ts";
export * from "./long_tail.ts";
export * from "./profiles.ts";
export * from "./rng.ts";
export * from "./pack.ts";
export * from "./resize.ts";
export * from "./sampler.ts";
export * from "./pack_rows.ts";
export * from "./shard_stream.ts";
export * from "./shards.ts";
export * from "./shot_groups.ts";
export * from "./source.ts";
