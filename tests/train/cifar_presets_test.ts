/**
 * The `cifar10-lt-cpu` preset end to end through runExperiment, on a stand-in in CIFAR-10's
 * official binary format (Fashion-MNIST padded to 32x32 and repeated to RGB; CIFAR itself is not on
 * the test machines), shrunk by flags to a test: width 4, 2 epochs of 20 steps at batch 64, the
 * schedule's boundaries scaled to 2 epochs, 1000 test images, Joint and cRT. It must show the
 * decoupling effect: cRT above Joint on All and on Medium.
 */

import { deepStrictEqual as deepEqual, match, ok, strictEqual as equal } from "node:assert/strict";
import { validateMetricsFile } from "../../lib/eval/metrics.ts";
import { runExperiment } from "../../lib/train/experiment.ts";
import { parseTrainArgs } from "../../lib/train/flags.ts";
import { ignoreRealData } from "../data/_helpers.ts";
import { noGpu } from "../_gpu.ts";
import { writeFashionAsCifar10 } from "./_cifar_standin.ts";

Deno.test({
  name: "cifar10-lt-cpu on a CIFAR-format stand-in: cRT beats Joint on All and Medium",
  ignore: ignoreRealData || noGpu,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ltkit_cifar_presets_test_" });
    try {
      const data = await writeFashionAsCifar10(`${dir}/data`);
      const out = `${dir}/run`;
      const result = await runExperiment(parseTrainArgs([
        ...["--preset", "cifar10-lt-cpu", "--data-dir", data, "--out", out, "--quiet"],
        ...["--width", "4", "--epochs", "2", "--steps-per-epoch", "20", "--batch", "64"],
        ...["--warmup-epochs", "0.05", "--milestones", "1.6:0.01,1.8:0.0001"],
        ...["--eval-limit", "1000", "--methods", "joint,crt"],
      ]));
      const config = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
      deepEqual(config.model, { arch: "resnet32", width: 4, shortcut: "A", init: "fan-in" });
      equal(config.profile, "cifar10-lt-100");
      equal(config.stage1.schedule, "ldam-step");
      // --batch 64 without --lr: the preset's lr 0.1 at batch 128 scaled to 0.05, and said so.
      equal(config.stage1.lr, 0.05);
      deepEqual(config.stage1.lrScaledFrom, { lr: 0.1, batch: 128 });
      match(await Deno.readTextFile(`${out}/report.md`), /lr 0\.05 is lr 0\.1 x batch 64 \/ 128/);

      const metrics = validateMetricsFile(
        JSON.parse(await Deno.readTextFile(`${out}/metrics.json`)),
      );
      deepEqual(metrics, result.metrics);
      const { joint, crt } = metrics.methods;
      const shown = (m: typeof joint) => `All ${m.test.all}, Medium ${m.test.medium}`;
      ok(crt.test.all > joint.test.all, `cRT ${shown(crt)} vs Joint ${shown(joint)}`);
      ok(crt.test.medium! > joint.test.medium!, `cRT ${shown(crt)} vs Joint ${shown(joint)}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
