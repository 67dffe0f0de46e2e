/**
 * `deno task train` on an image-list profile end to end, on a stand-in in ImageNet-LT's format:
 * Fashion-MNIST images written as JPEG files by cjpeg with long-tailed ImageNet_LT-style lists
 * (`fashion-mnist-lt-list`), packed by `deno task pack` at size 40 into train/, val/ and test/,
 * trained at crop 32 by the `imagenet-lt-r10-cpu` preset (ResNet-10 at width 16) for 10 epochs,
 * through stage 2 and the report; each task runs with
 * its own permission flags. Also: the checks that run before any training.
 */

import { deepStrictEqual as deepEqual, ok, strictEqual as equal } from "node:assert/strict";
import { arrow } from "../../lib/_deps.ts";
import {
  decodeShard,
  loadFashionMnist,
  packRowLocation,
  readManifest,
  standInCounts,
  writeFashionMnistList,
} from "../../lib/data/mod.ts";
import { validateMetricsFile } from "../../lib/eval/metrics.ts";
import { noGpu } from "../_gpu.ts";
import { ignoreRealData } from "../data/_helpers.ts";
import { runTask } from "./_tasks.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SIZES = { head: 300, ratio: 20, valPerClass: 10, testPerClass: 40 };

/** The stand-in's images and lists in `root`, packed at 40 into `packs`/{train,val,test}. */
async function standIn(root: string, packs: string): Promise<void> {
  const { train, test } = await loadFashionMnist();
  const lists = await writeFashionMnistList(train, test, root, SIZES);
  for (const split of ["train", "val", "test"] as const) {
    const r = await runTask("pack", [
      ...["--list", lists[split], "--root", root, "--size", "40", "--out", `${packs}/${split}`],
      ...["--workers", "2", "--quiet"],
    ]);
    equal(r.code, 0, r.out);
  }
}

/** The cpu variant of the ResNet-10 ImageNet-LT preset, shortened to fit a test. */
const TRAIN = ["--preset", "imagenet-lt-r10-cpu", "--epochs", "10", "--batch", "64", "--quiet"];

Deno.test({
  name: "train on packed image lists: stage 1 streamed, dumps lead back to list lines, cRT > Joint",
  ignore: noGpu || ignoreRealData,
  sanitizeResources: false,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "ltkit_imagelist_" });
    const packs = `data/_test-imagelist-${Deno.pid}`;
    const out = `runs/_test-imagelist-${Deno.pid}`;
    try {
      await standIn(`${tmp}/images`, packs);
      const t0 = performance.now();
      const r = await runTask("train", [...TRAIN, "--data-dir", packs, "--out", out]);
      equal(r.code, 0, r.out);
      console.log(`train: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const run = `${ROOT}${out}`;
      for (const f of ["config.json", "checkpoint.bin", "metrics.json", "report.md", "run.json"]) {
        ok((await Deno.stat(`${run}/${f}`)).isFile, f);
      }
      // Every dump row leads back to its image: ltkit.source_pack, index = pack row, and the
      // shard row names the list line whose label the dump holds.
      const counts = standInCounts(SIZES);
      const want = { train: counts.reduce((a, b) => a + b), val: 100, test: 400 };
      for (const split of ["train", "val", "test"] as const) {
        const t = arrow.tableFromIPC(await Deno.readFile(`${run}/features/${split}.arrow`));
        const pack = t.schema.metadata.get("ltkit.source_pack")!;
        equal(pack, `${packs}/${split}`);
        equal(t.numRows, want[split]);
        const index = [...t.getChild("index")!.toArray() as Int32Array];
        deepEqual([...index].sort((a, b) => a - b), Array.from({ length: t.numRows }, (_, i) => i));
        const manifest = (await readManifest(`${ROOT}${pack}`))!;
        const list = (await Deno.readTextFile(manifest.settings.list)).split("\n");
        const labels = t.getChild("label")!.toArray() as Int32Array;
        for (const i of [0, 7, t.numRows - 1]) {
          const where = packRowLocation(manifest, index[i]);
          const rows = decodeShard(await Deno.readFile(`${ROOT}${pack}/${where.file}`), where.file);
          const row = rows[where.row];
          equal(list[row.line - 1], `${row.path} ${labels[i]}`);
        }
      }
      const metrics = validateMetricsFile(
        JSON.parse(await Deno.readTextFile(`${run}/metrics.json`)),
      );
      deepEqual(metrics.train_class_counts, counts);
      const joint = metrics.methods.joint.test, crt = metrics.methods.crt.test;
      console.log(
        `joint all ${joint.all.toFixed(3)} medium ${joint.medium!.toFixed(3)}; ` +
          `crt all ${crt.all.toFixed(3)} medium ${crt.medium!.toFixed(3)}`,
      );
      ok(crt.medium! > joint.medium!, `cRT Medium ${crt.medium} <= Joint ${joint.medium}`);
      ok(crt.all > joint.all, `cRT All ${crt.all} <= Joint ${joint.all}`);
    } finally {
      await Deno.remove(tmp, { recursive: true });
      await Deno.remove(`${ROOT}${packs}`, { recursive: true }).catch(() => {});
      await Deno.remove(`${ROOT}${out}`, { recursive: true }).catch(() => {});
    }
  },
});
