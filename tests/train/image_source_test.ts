/**
 * Stage 1 and extraction from a packed source: the same seed gives the same weights, a run
 * stopped after an epoch resumes to the weights of an uninterrupted one bit for bit, a
 * class-balanced run from a pack is as deterministic, and the dump of a packed split has one row per
 * pack row with `index` = that row and `ltkit.source_pack` = the pack.
 */

import {
  deepStrictEqual as deepEqual,
  notDeepStrictEqual as notDeepEqual,
  ok,
  rejects,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import { arrow } from "../../lib/_deps.ts";
import { type Gpu, requestGpu } from "../../lib/gpu/device.ts";
import { stepMemory } from "../../lib/nn/memory.ts";
import { resnet } from "../../lib/nn/spec.ts";
import { MicroBatchStep } from "../../lib/nn/microbatch.ts";
import { ResNet } from "../../lib/nn/resnet.ts";
import { ImageLoader } from "../../lib/train/image_loader.ts";
import {
  extractPackFeatures,
  packedChunk,
  type PackedSource,
  PackedTrainFeed,
} from "../../lib/train/image_source.ts";
import { snapshot, trainStage1 } from "../../lib/train/stage1.ts";
import { bufferLimits, noGpu, testGpu } from "../_gpu.ts";
import { PACK_SETTINGS as SETTINGS, syntheticPack } from "./_packs.ts";

/** 19 images of 3 classes with sizes `dims`, packed at `side` in `dir`, as a crop-8 source. */
async function packOf(
  dir: string,
  side: number,
  dims: (i: number) => [number, number],
): Promise<PackedSource> {
  await syntheticPack(dir, { count: 19, classes: 3, size: side, shardBytes: 250 * side, dims });
  return {
    pack: `${dir}/pack`,
    rows: 19,
    classCount: 3,
    crop: { size: 8, resize: 9 },
    normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
  };
}

Deno.test({
  name: "stage 1 from a pack: deterministic, resumes bit for bit; its dump maps rows to the pack",
  ignore: noGpu,
  fn: async () => {
    const gpu = (await testGpu())!;
    const dir = await Deno.makeTempDir();
    try {
      const source = await packOf(dir, 10, (i) => [13 + (i % 3), 11 + (i % 2)]);
      const spec = resnet("tiny", [3, 8, 8], 4, [4], 1, 3);
      const base = {
        settings: SETTINGS,
        spec,
        normalization: source.normalization,
        quiet: true,
      };
      const weights = async (options: Parameters<typeof trainStage1>[2]) => {
        const { net } = await trainStage1(gpu, source, options);
        const t = await snapshot(net);
        net.destroy();
        return t;
      };
      const a = await weights(base);
      const b = await weights(base);
      deepEqual(b, a);
      const checkpointPath = `${dir}/c.bin`;
      const first = await trainStage1(gpu, source, {
        ...base,
        checkpointPath,
        stopAfterEpochs: 1,
      });
      first.net.destroy();
      const resumed = await weights({ ...base, checkpointPath, resume: true });
      deepEqual(resumed, a);

      // Class-balanced sampling reads rows by position: as deterministic, and not the same run.
      const balanced = { ...base, settings: { ...SETTINGS, sampler: "class" as const } };
      const c = await weights(balanced);
      deepEqual(await weights(balanced), c);
      notDeepEqual(c, a);
      await rejects(
        trainStage1(gpu, source, { ...base, settings: { ...SETTINGS, augment: false } }),
        /without augmentation/,
      );

      const { net } = await trainStage1(gpu, source, { ...base, settings: { ...SETTINGS } });
      try {
        const metadata = {
          profile: { name: "toy" },
          trainClassCounts: [7, 6, 6],
          backbone: spec.name,
          checkpointSha256: "0".repeat(64),
        };
        const result = await extractPackFeatures(net, source, "test", `${dir}/t.arrow`, metadata);
        equal(result.rows, 19);
        const t = arrow.tableFromIPC(await Deno.readFile(`${dir}/t.arrow`));
        equal(t.schema.metadata.get("ltkit.source_pack"), `${dir}/pack`);
        deepEqual([...t.getChild("index")!.toArray()], Array.from({ length: 19 }, (_, i) => i));
        deepEqual([...t.getChild("label")!.toArray()], Array.from({ length: 19 }, (_, i) => i % 3));
      } finally {
        net.destroy();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "stage 1 from a pack past a tiny per-buffer limit: micro-batches fed in chunks of one " +
    "image hold the whole batch's augmentation and train deterministically",
  ignore: noGpu,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const gpus: Gpu[] = [];
    try {
      const source = await packOf(dir, 24, (i) => [29 + (i % 3), 25 + (i % 2)]);
      const spec = resnet("tiny", [3, 8, 8], 2, [2], 1, 3);
      const settings = { ...SETTINGS, batch: 8 };
      // One image's source bytes (room for 24x48 at 3 bytes) fit; the input of 4 images
      // (3 KiB, the network's largest tensor) fits; the whole batch's does not.
      const limit = 24 * 48 * 3;
      const gpu = await requestGpu({ warnFallback: false, lowerLimits: bufferLimits(limit) });
      gpus.push(gpu);
      equal(stepMemory(spec, 4).largest.bytes <= limit, true);
      equal(packedChunk(gpu, 8, 8, 24), 1);
      // The slots of one fed step hold what a whole-batch loader makes of the same rows.
      const net = await ResNet.create(gpu, spec, { batch: 4, lossScale: 0.5 });
      const micro = await MicroBatchStep.create(net, 2);
      const feed = await PackedTrainFeed.create(gpu, micro, source, { ...SETTINGS, seed: 5 });
      await feed.epoch(0)();
      const got = [...await micro.input(0).read(), ...await micro.input(1).read()];
      await feed.destroy();
      micro.destroy();
      net.destroy();
      const plain = (await testGpu())!;
      const loader = await ImageLoader.create(plain, {
        dir: source.pack,
        batch: 8,
        train: true,
        seed: 5,
        mean: source.normalization.mean,
        std: source.normalization.std,
        size: 8,
        resize: 9,
        firstStream: 1,
      });
      const batches = loader.epoch(0);
      equal((await batches.next()).value!.count, 8);
      const want = [...await loader.images.read()];
      await batches.return(undefined);
      loader.destroy();
      deepEqual(got, want);
      // Training: two micro-batches of 4, the same numbers twice.
      const opts = { settings, spec, normalization: source.normalization, quiet: true };
      const runs = [];
      for (let r = 0; r < 2; r++) {
        const result = await trainStage1(gpu, source, opts);
        deepEqual(result.microBatches, { count: 2, size: 4 });
        const history = result.history.map((h) => [h.loss, h.accuracy]);
        runs.push({ weights: await snapshot(result.net), history });
        result.net.destroy();
      }
      ok(runs[0].history.every(([loss]) => Number.isFinite(loss)));
      deepEqual(runs[1].history, runs[0].history);
      deepEqual(runs[1].weights, runs[0].weights);
      // Not even one image's augmentation fits: refused with the sizes.
      const tiny = await requestGpu({
        warnFallback: false,
        lowerLimits: { maxStorageBufferBindingSize: 512 },
      });
      gpus.push(tiny);
      throws(() => packedChunk(tiny, 8, 8, 10), /one image's augmentation needs 768 bytes/);
    } finally {
      for (const gpu of gpus) gpu.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
