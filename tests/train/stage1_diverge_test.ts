/**
 * A run that diverges stops in stage 1 with a clear error and a non-zero exit, keeps the
 * checkpoint of the last epoch that passed, and writes nothing of a later stage.
 */

import {
  deepStrictEqual as deepEqual,
  match,
  ok,
  rejects,
  strictEqual as equal,
} from "node:assert/strict";
import { exists } from "../../lib/io/_paths.ts";
import { loadCheckpoint } from "../../lib/train/checkpoint.ts";
import { runExperiment } from "../../lib/train/experiment.ts";
import { parseTrainArgs } from "../../lib/train/flags.ts";
import { checkLoss, DivergenceError } from "../../lib/train/stage1.ts";
import { main as trainMain } from "../../scripts/train.ts";
import { quietly } from "../_console.ts";
import { noGpu } from "../_gpu.ts";

Deno.test({
  name: "a diverging smoke run stops in stage 1, keeps the last good checkpoint and exits 1",
  ignore: noGpu,
  async fn() {
    const dir = await Deno.makeTempDir();
    const out = `${dir}/nan2`;
    const checkpoint = `${out}/checkpoint.bin`;
    try {
      // Epoch 1 passes (loss about 4.4 on lavapipe); epoch 2 explodes.
      const args = parseTrainArgs([
        ...["--preset", "smoke", "--lr", "4", "--momentum", "0.99", "--weight-decay", "0.1"],
        ...["--steps-per-epoch", "20", "--epochs", "4", "--out", out, "--quiet"],
      ]);
      let failure: DivergenceError | undefined;
      await rejects(runExperiment(args), (error: Error) => {
        ok(error instanceof DivergenceError, `${error.name}: ${error.message}`);
        failure = error;
        return true;
      });
      const { epoch, keptEpoch, message } = failure!;
      match(
        message,
        new RegExp(
          `^Cannot continue stage 1: the mean training loss is \\S+ at epoch ${epoch}, ` +
            `steps 1\\.\\.20`,
        ),
      );
      match(
        message,
        /Lower --lr \(now 4\), --momentum \(now 0\.99\) or --weight-decay \(now 0\.1\)/,
      );
      equal(keptEpoch, epoch - 1);
      if (keptEpoch > 0) {
        // Every epoch in the kept checkpoint passed the check; the failing one was not saved.
        const kept = await loadCheckpoint(checkpoint);
        equal(kept.epoch, keptEpoch);
        const history = kept.history as { epoch: number; loss: number }[];
        deepEqual(history.map((h) => h.epoch), Array.from({ length: keptEpoch }, (_, i) => i + 1));
        for (const h of history) equal(checkLoss(h.loss, h.epoch, 20, 10, 20), null);
        match(message, new RegExp(`the checkpoint of epoch ${keptEpoch}, the last that passed, `));
        match(message, /--resume would repeat the divergence .*--from-checkpoint /);
      } else {
        // No epoch passed: no checkpoint, and no run folder left to block --out.
        equal(await exists(out), false, "epoch 1 failed but the run folder stayed");
        return;
      }
      // Nothing of a later stage: no features, no metrics, no run record.
      deepEqual([...Deno.readDirSync(`${out}/features`)], []);
      for (const file of ["metrics.json", "run.json", "report.md"]) {
        equal(await exists(`${out}/${file}`), false, `${file} was written`);
      }

      // `deno task train --resume` repeats the divergence, as the message says, exits 1 and
      // leaves the kept checkpoint as it was.
      const before = keptEpoch > 0 ? await Deno.readFile(checkpoint) : null;
      const resumed = await quietly(() => trainMain(["--resume", "--out", out, "--quiet"]));
      equal(resumed.value, 1, resumed.out);
      match(resumed.out, new RegExp(`error: Cannot continue stage 1: .* at epoch ${epoch}, `));
      if (before) deepEqual(await Deno.readFile(checkpoint), before);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the report's diverging command stops in epoch 1 and leaves no run folder behind",
  ignore: noGpu,
  async fn() {
    const dir = await Deno.makeTempDir();
    const out = `${dir}/nan2`;
    try {
      const args = parseTrainArgs([
        ...["--preset", "smoke", "--lr", "10", "--momentum", "0.999", "--weight-decay", "1"],
        ...["--steps-per-epoch", "20", "--epochs", "3", "--out", out, "--quiet"],
      ]);
      await rejects(
        runExperiment(args),
        (error: Error) =>
          error instanceof DivergenceError &&
          /at epoch 1, steps 1\.\.20, above 23\.03 = 10 x ln\(10 classes\)/.test(error.message),
      );
      equal(await exists(out), false, "the failed run left its folder");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
