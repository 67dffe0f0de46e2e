import {
  deepStrictEqual as deepEqual,
  rejects,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import {
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from "../../lib/train/checkpoint.ts";
import { cosineLr, cosineSchedule } from "../../lib/train/schedule.ts";

const sample = {
  epoch: 3,
  step: 30,
  rngState: [1, 2, 3, 4],
  config: { a: 1 },
  history: [{ epoch: 1, loss: 2.5 }],
  tensors: [
    { name: "w", shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6.5]) },
    { name: "b", shape: [1], data: Float32Array.from([Math.PI]) },
  ],
};

Deno.test("checkpoints round-trip bit for bit and are written atomically", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/checkpoint.bin`;
  await saveCheckpoint(path, sample);
  const entries = [...Deno.readDirSync(dir)].map((e) => e.name);
  deepEqual(entries, ["checkpoint.bin"]);
  const loaded = await loadCheckpoint(path);
  equal(loaded.epoch, 3);
  deepEqual(loaded.rngState, [1, 2, 3, 4]);
  deepEqual(loaded.tensors[0].data, sample.tensors[0].data);
  deepEqual(loaded.tensors[1].data, sample.tensors[1].data);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("corrupt and missing checkpoints give clear errors", async () => {
  const bytes = encodeCheckpoint(sample);
  throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 4), "c.bin"), /truncated/);
  throws(() => decodeCheckpoint(new Uint8Array(20), "c.bin"), /is it an ltkit checkpoint/);
  const broken = bytes.slice();
  broken[14] = 0x7b; // damage the JSON header
  throws(() => decodeCheckpoint(broken, "c.bin"), /Cannot read checkpoint c\.bin/);
  await rejects(loadCheckpoint("/nonexistent/c.bin"), /no such file/);
});

Deno.test("cosine schedule starts at the base rate and decays to 0 per iteration", () => {
  equal(cosineLr(0.1, 0, 10), 0.1);
  equal(cosineLr(0.1, 10, 10), 0);
  const s = cosineSchedule(0.1, 100);
  equal(s.length, 100);
  for (let i = 1; i < s.length; i++) {
    if (!(s[i] < s[i - 1])) throw new Error(`not decreasing at ${i}`);
  }
  throws(() => cosineLr(0.1, 11, 10), /outside 0\.\.10/);
});
