import { ok, rejects, strictEqual as equal, throws } from "node:assert/strict";
import { formatShape, readAll, shapeSize, Tensor } from "../../lib/gpu/tensor.ts";
import { noGpu, testGpu } from "../_gpu.ts";

function sameValues(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void {
  equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    ok(Object.is(actual[i], expected[i]), `${label}[${i}]: ${actual[i]} !== ${expected[i]}`);
  }
}

Deno.test({
  name: "from / read round-trips f32, i32 and u32 exactly",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const f = Float32Array.from([1.5, -2, 0, -0, NaN, Infinity, 3.4028234663852886e38, 1e-45, 7]);
    const i = Int32Array.from([-2147483648, 2147483647, 0, -1, 5]);
    const u = Uint32Array.from([0, 4294967295, 1, 2147483648]);
    const tf = Tensor.from(gpu, f, [3, 3]);
    const ti = Tensor.from(gpu, i);
    const tu = Tensor.from(gpu, u);
    equal(tf.dtype, "f32");
    equal(ti.dtype, "i32");
    equal(tu.dtype, "u32");
    sameValues(await tf.read(), f, "f32");
    sameValues(await ti.read(), i, "i32");
    sameValues(await tu.read(), u, "u32");
    const [rf, ri, ru] = await readAll([tf, ti, tu]);
    sameValues(rf, f, "readAll f32");
    sameValues(ri, i, "readAll i32");
    sameValues(ru, u, "readAll u32");
    // Plain arrays take the dtype they are given; integers are checked.
    const fromArray = Tensor.from(gpu, [3, -4], [2], "i32");
    sameValues(await fromArray.read(), [3, -4], "i32 from number[]");
    throws(
      () => Tensor.from(gpu, [1, 2.5], [2], "u32"),
      (e: Error) =>
        e instanceof TypeError && /Cannot write 2\.5 at index 1 into a u32/.test(e.message),
    );
    throws(
      () => Tensor.from(gpu, [1], [1], "f16" as "f32"),
      (e: Error) =>
        e instanceof TypeError && /dtype "f16": use "f32", "i32" or "u32"/.test(e.message),
    );
    for (const t of [tf, ti, tu, fromArray]) t.destroy();
  },
});

Deno.test({
  name: "zeros is zero even on a reused, dirty buffer; write at an offset; bounds are checked",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const dirty = Tensor.from(gpu, [1, 2, 3, 4, 5, 6], [2, 3]);
    const buffer = dirty.buffer;
    dirty.destroy();
    gpu.submit();
    const t = Tensor.zeros(gpu, [2, 3]);
    equal(t.buffer, buffer, "the pool handed the same buffer back");
    sameValues(await t.read(), [0, 0, 0, 0, 0, 0], "zeros");
    t.write([7, 8], 4);
    sameValues(await t.read(), [0, 0, 0, 0, 7, 8], "write at offset 4");
    throws(
      () => t.write([1, 2, 3], 4),
      /Cannot write 3 values at offset 4 into tensor \(2,3\) of 6 elements/,
    );
    throws(() => t.write(new Float32Array(7)), /Cannot write 7 values at offset 0/);
    t.write([]); // nothing to write is fine
    sameValues(await t.read(), [0, 0, 0, 0, 7, 8], "unchanged");
    t.destroy();
  },
});

Deno.test({
  name: "reshape views share the buffer; destroying a view leaves the tensor alive",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const t = Tensor.from(gpu, [1, 2, 3, 4, 5, 6], [2, 3], undefined, "weights");
    const v = t.reshape([3, 2]);
    equal(v.buffer, t.buffer);
    equal(formatShape(v.shape), "(3,2)");
    equal(v.label, "weights");
    v.write([9], 5);
    sameValues(await t.read(), [1, 2, 3, 4, 5, 9], "write through the view");
    v.destroy();
    ok(v.destroyed && !t.destroyed);
    sameValues(await t.read(), [1, 2, 3, 4, 5, 9], "tensor still readable");
    throws(
      () => t.reshape([4, 2]),
      (e: Error) =>
        e instanceof RangeError &&
        e.message === "Cannot reshape weights (2,3) to (4,2): 6 elements against 8",
    );
    throws(() => t.reshape([-1, 6]), /shape \[-1, 6\] has dimension -1/);
    t.destroy();
  },
});

Deno.test({
  name: "a destroyed tensor gives a clear error on every use",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const t = Tensor.from(gpu, [1, 2, 3, 4, 5, 6], [2, 3], "f32", "activations");
    t.destroy();
    t.destroy(); // twice is harmless
    ok(t.destroyed);
    const message = /Cannot use activations \(2,3\): it was destroyed/;
    throws(() => t.buffer, message);
    throws(() => t.write([1]), message);
    throws(() => t.reshape([6]), message);
    await rejects(t.read(), message);
  },
});

Deno.test({
  name: "size mismatches and bad shapes are rejected",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const before = gpu.pool.allocatedBytes;
    throws(
      () => Tensor.from(gpu, [1, 2, 3], [2, 2]),
      (e: Error) =>
        e instanceof RangeError &&
        e.message === "Cannot make tensor: 3 values do not fill shape (2,2) (4 elements)",
    );
    throws(() => Tensor.empty(gpu, [2, 1.5]), /shape \[2, 1\.5\] has dimension 1\.5/);
    equal(shapeSize([]), 1);
    equal(shapeSize([3, 0, 2]), 0);
    // The rejected `from` gave its buffer back; nothing new stays allocated.
    gpu.submit();
    const again = Tensor.empty(gpu, [2, 2]);
    ok(gpu.pool.allocatedBytes - before <= 256, "at most one small buffer in total");
    again.destroy();
  },
});

Deno.test({
  name: "a tensor beyond maxStorageBufferBindingSize is refused before any allocation",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const max = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
    // [2**26, 2] f32 is 512 MiB (lavapipe binds 128 MiB); larger still if the device binds more.
    const rows = Math.max(2 ** 26, Math.floor(max / 8) + 1);
    const allocated = gpu.pool.allocatedBytes;
    const peak = gpu.pool.peakBytes;
    throws(
      () => Tensor.empty(gpu, [rows, 2], "f32", "features"),
      (e: Error) =>
        e instanceof RangeError &&
        e.message.startsWith(`Cannot allocate features (${rows},2) f32: `) &&
        /exceeds this device's limit of [\d.]+ [KMG]i?B per storage buffer/.test(e.message) &&
        e.message.includes(gpu.adapter.description),
    );
    throws(() => Tensor.zeros(gpu, [rows, 2]), /Cannot allocate tensor/);
    equal(gpu.pool.allocatedBytes, allocated, "nothing was allocated");
    equal(gpu.pool.peakBytes, peak, "not even for a moment");
  },
});
