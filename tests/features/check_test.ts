/**
 * Degenerate features: the shared check, and `deno task features` failing a dump that holds them.
 */

import { match, strictEqual as equal, throws } from "node:assert/strict";
import {
  checkFeatures,
  FeatureScan,
  makeSyntheticFeatures,
  writeFeatureDir,
} from "../../lib/features/mod.ts";
import { main as featuresMain } from "../../scripts/features.ts";
import { quietly } from "../_console.ts";
import { randomArray } from "../_gpu.ts";

const ROWS = 13;
const DIM = 7;

function healthy(): Float32Array {
  return randomArray(ROWS * DIM, 3, -1, 2);
}

Deno.test("checkFeatures passes a healthy matrix and one with a single constant dimension", () => {
  equal(checkFeatures(healthy(), ROWS, DIM), null);
  const oneConstant = healthy();
  for (let r = 0; r < ROWS; r++) oneConstant[r * DIM + 4] = 0.25;
  equal(checkFeatures(oneConstant, ROWS, DIM), null);
  const oneZero = healthy();
  for (let r = 0; r < ROWS; r++) oneZero[r * DIM + 2] = 0;
  equal(checkFeatures(oneZero, ROWS, DIM), null);
  // Post-ReLU features: most values zero, a few rows differ.
  const sparse = new Float32Array(ROWS * DIM);
  sparse[5 * DIM + 3] = 0.5;
  equal(checkFeatures(sparse, ROWS, DIM), null);
  equal(checkFeatures(new Float32Array(0), 0, DIM), null);
  equal(checkFeatures(Float32Array.of(0.5, 1), 1, 2), null, "one row cannot be constant");
});

Deno.test("checkFeatures finds NaN and infinities, and says where the first one is", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const x = healthy();
    x[6 * DIM + 5] = bad;
    x[9 * DIM + 1] = bad;
    const defect = checkFeatures(x, ROWS, DIM);
    equal(defect?.kind, "non-finite", String(bad));
    equal(
      defect?.detail,
      `2 of the ${ROWS * DIM} values (${ROWS} rows x ${DIM} dims) are not finite; the first is ` +
        `${bad} at row 6, dim 5`,
    );
  }
  // Non-finite wins over all-zero: it is the more specific symptom.
  const zeros = new Float32Array(ROWS * DIM);
  zeros[3] = NaN;
  equal(checkFeatures(zeros, ROWS, DIM)?.kind, "non-finite");
});

Deno.test("checkFeatures finds all-zero and constant matrices", () => {
  const zero = new Float32Array(ROWS * DIM);
  zero[4] = -0;
  equal(checkFeatures(zero, ROWS, DIM)?.detail, `all ${ROWS} rows x ${DIM} dims are zero`);
  const row = randomArray(DIM, 8);
  const constant = new Float32Array(ROWS * DIM);
  for (let r = 0; r < ROWS; r++) constant.set(row, r * DIM);
  const defect = checkFeatures(constant, ROWS, DIM);
  equal(defect?.kind, "constant");
  equal(defect?.detail, `all ${ROWS} rows are equal (zero variance in each of the ${DIM} dims)`);
  // Differences in the last bits of a float32 are still one point.
  constant[5 * DIM + 2] = row[2] * (1 + 2 ** -22);
  equal(checkFeatures(constant, ROWS, DIM)?.kind, "constant");
  // A real difference in one dimension of one row is not.
  constant[5 * DIM + 2] = row[2] + 0.01;
  equal(checkFeatures(constant, ROWS, DIM), null);
});

Deno.test("FeatureScan over batches agrees with checkFeatures over the whole matrix", () => {
  const cases: Float32Array[] = [healthy(), new Float32Array(ROWS * DIM)];
  const late = healthy();
  late[12 * DIM + 6] = NaN;
  cases.push(late);
  const constant = new Float32Array(ROWS * DIM).fill(1.5);
  cases.push(constant);
  for (const x of cases) {
    const scan = new FeatureScan(DIM);
    for (let r = 0; r < ROWS; r += 4) scan.add(x.subarray(r * DIM, Math.min(ROWS, r + 4) * DIM));
    equal(scan.rows, ROWS);
    equal(JSON.stringify(scan.defect()), JSON.stringify(checkFeatures(x, ROWS, DIM)));
  }
  throws(() => checkFeatures(new Float32Array(5), 2, 3), /5 values for 2 rows of dimension 3/);
  throws(() => new FeatureScan(0), /dimension 0 is not an integer >= 1/);
  throws(() => new FeatureScan(3).add(new Float32Array(4)), /not whole rows of dimension 3/);
});

Deno.test("deno task features fails a dump of non-finite, all-zero or constant features", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const set = makeSyntheticFeatures({
      trainCounts: [30, 9, 4],
      featureDim: 5,
      valPerClass: 3,
      testPerClass: 6,
      seed: 2,
    });
    await writeFeatureDir(`${dir}/good`, set);
    const good = await quietly(() => featuresMain([`${dir}/good`]));
    equal(good.value, 0, good.out);
    equal(good.out.split("\n").filter((l) => l === "  check: ok").length, 4, good.out);

    const degenerate: [string, (f: Float32Array) => void, RegExp][] = [
      ["train", (f) => f.fill(0), /all 43 rows x 5 dims are zero/],
      ["val", (f) => (f[7] = NaN), /1 of the 45 values \(9 rows x 5 dims\) are not finite/],
      ["test", (f) => f.fill(-2.5), /all 18 rows are equal \(zero variance in each of the 5/],
    ];
    for (const [split, spoil, pattern] of degenerate) {
      const bad = structuredClone(set);
      spoil(bad[split as "train" | "val" | "test"].features);
      const folder = `${dir}/${split}`;
      await writeFeatureDir(folder, bad);
      const whole = await quietly(() => featuresMain([folder]));
      equal(whole.value, 1, whole.out);
      match(whole.out, new RegExp(`check: FAILED: Cannot use ${folder}/${split}\\.arrow: `));
      match(whole.out, pattern);
      match(whole.out, /stage 1 likely diverged or collapsed; retrain it with a lower --lr/);
      equal(whole.out.split("\n").filter((l) => l === "  check: ok").length, 3, whole.out);
      const file = await quietly(() => featuresMain([`${folder}/${split}.arrow`]));
      equal(file.value, 1, file.out);
      match(file.out, pattern);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
