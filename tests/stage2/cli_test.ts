import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
import { validateMetricsFile } from "../../lib/eval/metrics.ts";
import { makeSyntheticFeatures, writeFeatureDir } from "../../lib/features/mod.ts";
import { main as featuresMain } from "../../scripts/features.ts";
import { main as stage2Main } from "../../scripts/stage2.ts";
import { quietly } from "../_console.ts";
import { noGpu } from "../_gpu.ts";

const SET = { trainCounts: [80, 20, 6], featureDim: 8, valPerClass: 4, testPerClass: 10, seed: 4 };

Deno.test({
  name: "deno task stage2 writes metrics.json where --out says and prints the table",
  ignore: noGpu,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      await writeFeatureDir(dir, makeSyntheticFeatures(SET));
      const run = await quietly(() =>
        stage2Main([
          ...["--features", `${dir}/`, "--methods", "la,joint", "--seed", "3", "--quiet"],
          ...["--out", `${dir}/first/metrics.json`],
        ])
      );
      equal(run.value, 0, run.out);
      const metrics = validateMetricsFile(
        JSON.parse(await Deno.readTextFile(`${dir}/first/metrics.json`)),
      );
      deepEqual(Object.keys(metrics.methods), ["joint", "la"]);
      equal(metrics.seed, 3);
      equal(run.out.split("\n").filter((l) => /^(Joint|Logit adjustment) /.test(l)).length, 2);

      const out = `${dir}/elsewhere.json`;
      equal(
        (await quietly(() =>
          stage2Main(["--features", dir, "--methods", "ncm", "--out", out, "-q"])
        )).value,
        0,
      );
      deepEqual(
        Object.keys(validateMetricsFile(JSON.parse(await Deno.readTextFile(out))).methods),
        ["ncm"],
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("deno task stage2 rejects bad arguments and bad folders with clear errors", async () => {
  const usage = await quietly(() => stage2Main(["--methods", "crt"]));
  equal(usage.value, 2);
  equal(usage.out.includes("Cannot run stage 2: --features DIR is required"), true);
  const method = await quietly(() => stage2Main(["--features", "x", "--methods", "crt,knn"]));
  equal(method.value, 2);
  equal(method.out.includes(`unknown method "knn"`), true, method.out);
  const seed = await quietly(() => stage2Main(["--features", "x", "--seed", "-1"]));
  equal(seed.value, 2);
  const dir = await Deno.makeTempDir();
  try {
    const missing = await quietly(() => stage2Main(["--features", dir]));
    equal(missing.value, 1);
    equal(missing.out.includes(`Cannot read ${dir}/`), true, missing.out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task features inspects a folder and a file, and flags a bad one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeFeatureDir(dir, makeSyntheticFeatures(SET));
    const folder = await quietly(() => featuresMain([dir, "--rows", "2"]));
    equal(folder.value, 0, folder.out);
    for (
      const text of [
        "feature: fixed_size_list<float32>[8]",
        "ltkit.checkpoint_sha256 = 5e5e",
        "rows per class",
        "feature L2 norms: min",
        "first 2 rows",
        "weight norms: min",
        "the four files belong together",
      ]
    ) equal(folder.out.includes(text), true, `missing "${text}"`);
    const file = await quietly(() => featuresMain([`${dir}/test.arrow`]));
    equal(file.value, 0);
    equal(file.out.includes("first 5 rows"), true);

    const bytes = await Deno.readFile(`${dir}/val.arrow`);
    await Deno.writeFile(`${dir}/val.arrow`, bytes.subarray(0, bytes.length - 40));
    const bad = await quietly(() => featuresMain([dir]));
    equal(bad.value, 1);
    equal(bad.out.includes("check: FAILED: Cannot read"), true, bad.out);
    equal((await quietly(() => featuresMain([]))).value, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
