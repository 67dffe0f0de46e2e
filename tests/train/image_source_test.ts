/**
 * Stage 1 and extraction from a packed source: the same seed gives the same weights, a run
 * stopped after an epoch resumes to the weights of an uninterrupted one bit for bit, a
 * class-balanced run from a pack is as deterministic, and the dump of a packed split has one row per
 * pack row with `index` = that row and `ltkit.source_pack` = the pack.
 */

import {
  deepStrictEqual as deepEqual,
  notDeepStrictEqual as notDeepEqual,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import { arrow } from "../../lib/_deps.ts";
import { resnet } from "../../lib/nn/spec.ts";
import { extractPackFeatures, type PackedSource } from "../../lib/train/image_source.ts";
import { snapshot, trainStage1 } from "../../lib/train/stage1.ts";
import { noGpu, testGpu } from "../_gpu.ts";
import { PACK_SETTINGS as SETTINGS, syntheticPack } from "./_packs.ts";

Deno.test({
  name: "stage 1 from a pack: deterministic, resumes bit for bit; its dump maps rows to the pack",
  ignore: noGpu,
  fn: async () => {
    const gpu = (await testGpu())!;
    const dir = await Deno.makeTempDir();
    try {
      await syntheticPack(dir, {
        count: 19,
        classes: 3,
        size: 10,
        shardBytes: 1500,
        dims: (i) => [13 + (i % 3), 11 + (i % 2)],
      });
      const source: PackedSource = {
        pack: `${dir}/pack`,
        rows: 19,
        classCount: 3,
        crop: { size: 8, resize: 9 },
        normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
      };
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
