import { deepStrictEqual as deepEqual, rejects, strictEqual as equal } from "node:assert/strict";
import { decodeCheckpoint, encodeCheckpoint, saveCheckpoint } from "../../lib/train/checkpoint.ts";
import { findRecordedTuning } from "../../lib/train/_tuning.ts";

const RECORD = {
  adapter: "llvmpipe (LLVM 15.0.6, 256 bits)|65541||0|Mesa 25.0.7|deno 2.9.6",
  choices: { "conv2d.forward.v1": { kernel: "direct", wg: 16 } },
};

Deno.test("checkpoints keep the run's kernel choices; older ones read back as none", () => {
  const base = {
    epoch: 1,
    step: 10,
    rngState: [0, 1],
    config: null,
    history: [],
    tensors: [{ name: "b", shape: [1], data: Float32Array.of(2) }],
  };
  deepEqual(decodeCheckpoint(encodeCheckpoint({ ...base, tuning: RECORD }), "m").tuning, RECORD);
  equal(decodeCheckpoint(encodeCheckpoint(base), "m").tuning, null);
});

Deno.test("a run finds the choices of the run it resumes or repeats, from the right file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const other = { ...RECORD, choices: { "gemm.v2": { kernel: "rb", bm: 32, bn: 16, wg: 64 } } };
    await saveCheckpoint(`${dir}/checkpoint.bin`, {
      epoch: 1,
      step: 1,
      rngState: [0, 1],
      config: null,
      history: [],
      tensors: [],
      tuning: RECORD,
    });
    await Deno.writeTextFile(`${dir}/run.json`, JSON.stringify({ name: "x", tuning: other }));
    // --resume: the checkpoint (written every epoch) before run.json (written at the end).
    deepEqual(await findRecordedTuning({ resume: true }, dir), {
      record: RECORD,
      from: `${dir}/checkpoint.bin`,
    });
    // --config FILE: the run.json beside FILE.
    deepEqual(await findRecordedTuning({ config: `${dir}/config.json` }, "runs/new"), {
      record: other,
      from: `${dir}/run.json`,
    });
    deepEqual(
      (await findRecordedTuning({ fromCheckpoint: `${dir}/checkpoint.bin` }, "runs/new"))?.record,
      RECORD,
    );
    deepEqual(
      (await findRecordedTuning({ stage2Only: true, features: `${dir}/features` }, "x"))?.record,
      other,
    );
    // A fresh run, or a run folder without records, tunes.
    equal(await findRecordedTuning({}, dir), null);
    equal(await findRecordedTuning({ resume: true }, `${dir}/empty`), null);
    await Deno.writeTextFile(`${dir}/run.json`, JSON.stringify({ tuning: { adapter: 3 } }));
    await rejects(
      findRecordedTuning({ config: `${dir}/config.json` }, "runs/new"),
      /^TypeError: Cannot reuse the kernel choices in .*run\.json: "tuning" must be \{ adapter, choices \}/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
