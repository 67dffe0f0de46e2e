import {
  deepStrictEqual as deepEqual,
  match,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import { presetConfig, validateConfig } from "../../lib/train/config.ts";
import { parseTrainArgs } from "../../lib/train/flags.ts";
import {
  buildSchedule,
  cosineSchedule,
  type SchedulePlan,
  SCHEDULES,
} from "../../lib/train/schedule.ts";

const STEPS = 7; // odd, so epoch boundaries are not powers of two

const LDAM: SchedulePlan = {
  kind: "ldam-step",
  lr: 0.1,
  epochs: 200,
  stepsPerEpoch: STEPS,
  warmupEpochs: 5,
  milestones: [{ epoch: 160, factor: 0.01 }, { epoch: 180, factor: 0.0001 }],
};

/**
 * LDAM-DRW's `adjust_learning_rate` (cifar_train.py), written as that code is: 1-based epochs
 * compared with `<= 5`, `> 180`, `> 160`, with the warm-up made per iteration (the fraction of the
 * five warm-up epochs done after this step).
 */
function ldamReference(lr: number, step: number, steps: number): number {
  const epoch = Math.floor(step / steps) + 1;
  if (epoch <= 5) return lr * ((step + 1) / steps) / 5;
  if (epoch > 180) return lr * 0.0001;
  if (epoch > 160) return lr * 0.01;
  return lr;
}

Deno.test("ldam-step: per-iteration warm-up to lr, x0.01 from epoch 160, x0.0001 from 180", () => {
  const table = buildSchedule(LDAM);
  equal(table.length, 200 * STEPS);
  for (let t = 0; t < table.length; t++) {
    const want = Math.fround(ldamReference(0.1, t, STEPS));
    if (table[t] !== want) throw new Error(`step ${t}: ${table[t]}, expected ${want}`);
  }
  const at = (epoch: number, k = 0) => table[epoch * STEPS + k];
  // Boundaries, by value: the first step, the end of each warm-up epoch (LDAM's per-epoch rate
  // lr * e / 5 for 1-based epoch e), the steps around each milestone, the last step.
  equal(table[0], Math.fround(0.1 / (5 * STEPS)));
  for (let e = 1; e <= 5; e++) equal(at(e - 1, STEPS - 1), Math.fround(0.1 * e / 5));
  equal(at(5), Math.fround(0.1));
  equal(at(159, STEPS - 1), Math.fround(0.1));
  equal(at(160), Math.fround(0.001));
  equal(at(179, STEPS - 1), Math.fround(0.001));
  equal(at(180), Math.fround(0.00001));
  equal(table[table.length - 1], Math.fround(0.00001));
});

Deno.test("cosine is the same table as before schedules had a kind", () => {
  const plan: SchedulePlan = { ...LDAM, kind: "cosine", warmupEpochs: 0, milestones: [] };
  deepEqual(buildSchedule(plan), cosineSchedule(0.1, 200 * STEPS));
  deepEqual(Object.keys(SCHEDULES), ["cosine", "ldam-step"]);
});

Deno.test("a config.json without a schedule means cosine; bad warm-up and milestones are refused", () => {
  const json = JSON.parse(JSON.stringify(presetConfig("paper")));
  delete json.stage1.schedule;
  delete json.stage1.warmupEpochs;
  delete json.stage1.milestones;
  const config = validateConfig(json, "runs/old/config.json");
  deepEqual(
    [config.stage1.schedule, config.stage1.warmupEpochs, config.stage1.milestones],
    ["cosine", 0, []],
  );
  const bad = (change: (s: typeof config.stage1) => void, pattern: RegExp) => {
    const c = presetConfig("paper");
    change(c.stage1);
    throws(() => validateConfig(c), pattern);
  };
  bad((s) => (s.schedule = "step" as never), /stage1\.schedule is "step"; use cosine, ldam-step/);
  bad((s) => (s.warmupEpochs = 2), /apply only to schedule ldam-step.*--schedule ldam-step/);
  bad(
    (s) => {
      s.schedule = "ldam-step";
      s.milestones = [{ epoch: 30, factor: 0.01 }];
    },
    /milestones has epoch 30, not below stage1\.epochs 30; give --milestones with epochs below 30, scaled to the epochs \(e\.g\. 24:0\.01\)/,
  );
  bad((s) => {
    s.schedule = "ldam-step";
    s.milestones = [{ epoch: 20, factor: 0.01 }, { epoch: 10, factor: 0.001 }];
  }, /epoch 10 after 20; expected increasing/);
  bad((s) => {
    s.schedule = "ldam-step";
    s.warmupEpochs = 30;
  }, /warmupEpochs is 30, not below stage1\.epochs 30/);
});

Deno.test("--schedule, --warmup-epochs and --milestones set the schedule", () => {
  const args = parseTrainArgs([
    "--schedule",
    "ldam-step",
    "--warmup-epochs",
    "5",
    "--milestones",
    "160:0.01,180:1e-4",
  ]);
  deepEqual(args.overrides.get("stage1.milestones"), LDAM.milestones);
  equal(args.overrides.get("stage1.warmupEpochs"), 5);
  equal(args.overrides.get("stage1.schedule"), "ldam-step");
  throws(() => parseTrainArgs(["--milestones", "160:0"]), /"160:0" is not EPOCH:FACTOR/);
  match(String(parseTrainArgs(["--milestones", "none"]).overrides.get("stage1.milestones")), /^$/);
});
