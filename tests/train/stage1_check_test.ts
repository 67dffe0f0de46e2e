/** The stage-1 loss check: threshold, where it applies, and the error it leads to. */

import { match, strictEqual as equal } from "node:assert/strict";
import { presetConfig, stage1Settings } from "../../lib/train/config.ts";
import { checkLoss, DivergenceError, divergenceError, lossLimit } from "../../lib/train/stage1.ts";

Deno.test("checkLoss: non-finite always fails, above 10 x ln(classes) fails after epoch 1", () => {
  equal(lossLimit(10), 10 * Math.log(10));
  equal(lossLimit(1000), 10 * Math.log(1000));
  const limit = lossLimit(10);
  // A sequence as one run might read it back: warm-up overshoot in epoch 1, then learning.
  for (const [loss, epoch] of [[2.3, 1], [1e6, 1], [limit, 2], [0.4, 2], [0, 30]]) {
    equal(checkLoss(loss, epoch, 20, 10), null, `loss ${loss} at epoch ${epoch}`);
  }
  for (const bad of [NaN, Infinity, -Infinity]) {
    for (const epoch of [1, 2]) {
      equal(checkLoss(bad, epoch, 7, 10), `the training loss is ${bad} at epoch ${epoch}, step 7`);
    }
  }
  equal(
    checkLoss(limit * 1.001, 2, 7, 10),
    "the training loss is 23.05 at epoch 2, step 7, above 23.03 = 10 x ln(10 classes)",
  );
  equal(checkLoss(30, 2, 7, 100), null, "100 classes allow up to 46.05");
  equal(
    checkLoss(4.178e23, 3, 40, 10, 20),
    "the mean training loss is 4.178e+23 at epoch 3, steps 21..40, above 23.03 = 10 x ln(10 " +
      "classes)",
  );
});

Deno.test("divergenceError says what was seen, what to change and which checkpoint is kept", () => {
  const settings = { ...stage1Settings(presetConfig("smoke")), lr: 10, momentum: 0.999 };
  const seen = checkLoss(NaN, 3, 5, 10)!;
  const kept = divergenceError(seen, 3, settings, "runs/x/checkpoint.bin", 2);
  equal(kept instanceof DivergenceError, true);
  equal(kept.epoch, 3);
  equal(kept.keptEpoch, 2);
  match(
    kept.message,
    /^Cannot continue stage 1: the training loss is NaN at epoch 3, step 5, so training diverged/,
  );
  match(kept.message, /Lower --lr \(now 10\), --momentum \(now 0\.999\) or --weight-decay \(now/);
  match(kept.message, /the checkpoint of epoch 2, the last that passed, is kept in runs\/x\//);
  match(kept.message, /--resume would repeat the divergence/);
  match(kept.message, /--from-checkpoint runs\/x\/checkpoint\.bin and another --out$/);
  match(
    divergenceError(seen, 1, settings, "runs/x/checkpoint.bin", 0).message,
    /no checkpoint was written to runs\/x\/checkpoint\.bin \(no epoch passed\)$/,
  );
  match(divergenceError(seen, 1, settings, undefined, 0).message, /no checkpoint is written/);
});
