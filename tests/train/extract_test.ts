/**
 * Feature extraction refuses the dump of a diverged or collapsed network and leaves no file.
 */

import {
  deepStrictEqual as deepEqual,
  match,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import type { Split } from "../../lib/data/long_tail.ts";
import { Rng } from "../../lib/data/rng.ts";
import { extractFeatures } from "../../lib/train/extract.ts";
import { readFeatures } from "../../lib/features/load.ts";
import { ResNet, resnet } from "../../lib/nn/mod.ts";
import { restore, snapshot } from "../../lib/train/stage1.ts";
import { noGpu, testGpu } from "../_gpu.ts";

/** 11 images: not a multiple of the batch, so the last batch is padded. */
function split(): Split {
  const count = 11;
  const rng = new Rng(4);
  return {
    set: {
      images: Uint8Array.from({ length: count * 64 }, () => rng.nextInt(256)),
      labels: Int32Array.from({ length: count }, (_, i) => i % 3),
      count,
      channels: 1,
      height: 8,
      width: 8,
      classCount: 3,
    },
    indices: Int32Array.from({ length: count }, (_, i) => 2 * i),
  };
}

const METADATA = {
  profile: { name: "toy" },
  trainClassCounts: [4, 4, 3],
  backbone: "toy",
  checkpointSha256: "0".repeat(64),
};
const OPTIONS = { normalization: { mean: [0.5], std: [0.25] } };

Deno.test({
  name: "extraction refuses non-finite, all-zero and constant features and writes nothing",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const net = await ResNet.create(gpu, resnet("tiny", [1, 8, 8], 4, [4, 6], 1, 3), {
      batch: 4,
    });
    const dir = await Deno.makeTempDir();
    try {
      net.initialize(new Rng(0));
      const healthy = await snapshot(net);
      const path = `${dir}/val.arrow`;
      const result = await extractFeatures(net, split(), "val", path, METADATA, OPTIONS);
      equal(result.rows, 11);
      equal((await readFeatures(path, "val")).rows, 11);
      await Deno.remove(path);

      // Weights a diverged run could leave: every convolution zero, so that only the BN shifts
      // reach the features, the same for every image; or an infinite shift in the last BN.
      const lastBn = healthy.findLast((t) => t.name.endsWith(".bn.bias"))!.name;
      const collapsed = (shift: number) =>
        healthy.map((t) => ({
          ...t,
          data: t.name.endsWith("conv.weight")
            ? t.data.map(() => 0)
            : t.name.endsWith(".bn.bias")
            ? t.data.map(() => shift)
            : t.data,
        }));
      const infinite = healthy.map((t) =>
        t.name === lastBn ? { ...t, data: t.data.map(() => Infinity) } : t
      );
      const cases: [typeof healthy, RegExp][] = [
        [collapsed(0), /: all 11 rows x 6 dims are zero; /],
        [collapsed(0.5), /: all 11 rows are equal \(zero variance in each of the 6 dims\); /],
        [
          infinite,
          /: 24 of the 24 values \(4 rows x 6 dims\) are not finite; the first is Infinity at row 0, dim 0 \(stopped after 4 of 11 rows\); /,
        ],
      ];
      for (const [tensors, pattern] of cases) {
        await restore(net, tensors);
        await rejects(
          extractFeatures(net, split(), "val", path, METADATA, OPTIONS),
          (error: Error) => {
            match(error.message, new RegExp(`^Cannot extract the val features to ${path}: `));
            match(error.message, pattern);
            match(error.message, /stage 1 likely diverged or collapsed/);
            return true;
          },
        );
        deepEqual([...Deno.readDirSync(dir)], [], "extraction left a file behind");
      }
    } finally {
      net.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
