import { rejects, strictEqual as equal, throws } from "node:assert/strict";
import { Tensor } from "../../lib/gpu/tensor.ts";
import { prepareNonFiniteCheck, prepareSgd, prepareSgdFlat, sgdFlat } from "../../lib/ops/optim.ts";
import * as ref from "../../lib/ops/_reference_nn.ts";
import { assertClose, noGpu, randomArray, testGpu, withLowerLimits } from "../_gpu.ts";

const TOL = 1e-6;

Deno.test("sgd reference follows PyTorch's update rule on a hand-worked example", () => {
  const p = [1, -2];
  const v = [0, 0];
  ref.sgdUpdate(p, [0.5, 1], v, { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
  // v = g + wd p = [0.51, 0.98]; p -= 0.1 v
  assertClose(v, [0.51, 0.98], 1e-12, "velocity after step 1");
  assertClose(p, [0.949, -2.098], 1e-12, "params after step 1");
  ref.sgdUpdate(p, [0.5, 1], v, { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
  // v = 0.9 v + g + wd p
  assertClose(v, [0.9 * 0.51 + 0.5 + 0.00949, 0.9 * 0.98 + 1 - 0.02098], 1e-12, "velocity 2");
});

Deno.test({
  name: "sgd flat: several steps with setLr match the reference, tail elements untouched",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    for (const size of [1, 7, 1001]) {
      const count = size === 1001 ? 998 : size; // 998: the last vec4 is partly outside count
      const ps = randomArray(size, 1);
      const p = Tensor.from(gpu, ps);
      const g = Tensor.zeros(gpu, [size]);
      const v = Tensor.zeros(gpu, [size]);
      const sgd = await prepareSgdFlat(gpu, {
        params: p,
        grads: g,
        velocity: v,
        count,
        momentum: 0.9,
        weightDecay: 5e-4,
        lr: 0.1,
      });
      const eps = Float32Array.from(ps);
      const evs = new Float32Array(size);
      for (let step = 0; step < 4; step++) {
        const lr = 0.1 * (1 - step / 4);
        const gs = randomArray(size, 10 + step);
        g.write(gs);
        sgd.setLr(lr);
        sgd.record();
        gpu.submit();
        const head = { p: eps.subarray(0, count), v: evs.subarray(0, count) };
        ref.sgdUpdate(head.p, gs, head.v, { lr, momentum: 0.9, weightDecay: 5e-4 });
      }
      assertClose(await p.read(), eps, TOL, `params size ${size}`);
      assertClose(await v.read(), evs, TOL, `velocity size ${size}`);
      sgd.destroy();
      for (const t of [p, g, v]) t.destroy();
    }
  },
});

Deno.test({
  name: "sgd with a GPU schedule advances its step counter and clamps at the end",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const schedule = [0.1, 0.05, 0.02];
    const ps = randomArray(10, 3);
    const p = Tensor.from(gpu, ps);
    const g = Tensor.zeros(gpu, [10]);
    const v = Tensor.zeros(gpu, [10]);
    const sgd = await prepareSgdFlat(gpu, {
      params: p,
      grads: g,
      velocity: v,
      momentum: 0.9,
      weightDecay: 0,
      schedule,
    });
    const gs = randomArray(10, 4);
    g.write(gs);
    const eps = Float32Array.from(ps);
    const evs = new Float32Array(10);
    for (let step = 0; step < 5; step++) {
      sgd.record(); // recorded back to back in one submit: the counter lives on the GPU
      const lr = schedule[Math.min(step, schedule.length - 1)];
      ref.sgdUpdate(eps, gs, evs, { lr, momentum: 0.9, weightDecay: 0 });
    }
    gpu.submit();
    assertClose(await p.read(), eps, TOL, "params after 5 scheduled steps");
    equal((await sgd.step.read())[0], 5);
    sgd.setStep(1);
    sgd.record();
    ref.sgdUpdate(eps, gs, evs, { lr: schedule[1], momentum: 0.9, weightDecay: 0 });
    assertClose(await p.read(), eps, TOL, "params after resuming at step 1");
    throws(() => sgd.setLr(0.3), /follows a schedule/);
    sgd.destroy();
    for (const t of [p, g, v]) t.destroy();
  },
});

Deno.test({
  name: "sgd over a list of tensors shares one learning rate",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const sizes = [5, 16, 3];
    const ps = sizes.map((n, i) => randomArray(n, i));
    const gs = sizes.map((n, i) => randomArray(n, 10 + i));
    const params = ps.map((d) => Tensor.from(gpu, d));
    const grads = gs.map((d) => Tensor.from(gpu, d));
    const velocities = sizes.map((n) => Tensor.zeros(gpu, [n]));
    const sgd = await prepareSgd(gpu, {
      params,
      grads,
      velocities,
      lr: 0.2,
      momentum: 0.5,
      weightDecay: 0.1,
    });
    const evs = sizes.map((n) => new Float32Array(n));
    const eps = ps.map((d) => Float32Array.from(d));
    for (const lr of [0.2, 0.05]) {
      sgd.setLr(lr);
      sgd.record();
      eps.forEach((e, i) =>
        ref.sgdUpdate(e, gs[i], evs[i], { lr, momentum: 0.5, weightDecay: 0.1 })
      );
    }
    for (let i = 0; i < sizes.length; i++) {
      assertClose(await params[i].read(), eps[i], TOL, `param ${i}`);
      assertClose(await velocities[i].read(), evs[i], TOL, `velocity ${i}`);
    }
    sgd.destroy();
    for (const t of [...params, ...grads, ...velocities]) t.destroy();
  },
});

Deno.test({
  name: "non-finite check flags NaN and Inf and clears between runs",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const a = Tensor.from(gpu, randomArray(1001, 1));
    const b = Tensor.from(gpu, randomArray(5, 2));
    const flag = Tensor.from(gpu, Uint32Array.of(7), [1], "u32");
    const check = await prepareNonFiniteCheck(gpu, { tensors: [a, b], flag });
    check.record();
    equal((await flag.read())[0], 0);
    for (const bad of [NaN, Infinity, -Infinity]) {
      b.write([1, 2, bad, 4, 5]);
      check.record();
      equal((await flag.read())[0], 1, `flags ${bad}`);
    }
    b.write([1, 2, 3, 4, 5]);
    a.write([3.4e38], 1000);
    check.record();
    equal((await flag.read())[0], 0, "large finite values are fine");
    check.destroy();
    for (const t of [a, b, flag]) t.destroy();
  },
});

Deno.test({
  name: "sgd rejects bad arguments before any dispatch",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const p = Tensor.zeros(gpu, [8]);
    const g = Tensor.zeros(gpu, [8]);
    const v = Tensor.zeros(gpu, [8]);
    const short = Tensor.zeros(gpu, [4]);
    const gi = Tensor.zeros(gpu, [8], "i32");
    const base = { params: p, grads: g, velocity: v, momentum: 0.9, weightDecay: 5e-4, lr: 0.1 };
    const before = gpu.dispatchCount;
    await rejects(
      prepareSgdFlat(gpu, { ...base, grads: short }),
      /Cannot run sgd: grads tensor \(4\) has 4 elements, fewer than the 8 to update/,
    );
    await rejects(sgdFlat(gpu, { ...base, grads: gi }), TypeError);
    await rejects(sgdFlat(gpu, { ...base, velocity: g }), /grads and velocity share a buffer/);
    await rejects(sgdFlat(gpu, { ...base, momentum: -1 }), /momentum must be/);
    await rejects(sgdFlat(gpu, { ...base, schedule: [0.1] }), /either lr or schedule/);
    await rejects(sgdFlat(gpu, { ...base, lr: NaN }), /not finite/);
    await rejects(
      prepareSgd(gpu, { ...base, params: [p], grads: [short], velocities: [v] }),
      /grads\[0\] \(4\) does not match params\[0\] \(8\)/,
    );
    equal(gpu.dispatchCount, before);
    for (const t of [p, g, v, short, gi]) t.destroy();
  },
});

Deno.test({
  name: "sgd and the non-finite check fold past a small maxComputeWorkgroupsPerDimension",
  ignore: noGpu,
  async fn() {
    // 3 workgroups per dimension: 4998 values need 5 update workgroups, 1301 need 6 checks.
    await withLowerLimits({ maxComputeWorkgroupsPerDimension: 3 }, async (gpu) => {
      const [size, count] = [5001, 4998];
      const hyper = { momentum: 0.9, weightDecay: 5e-4 };
      const ps = randomArray(size, 1);
      const [p, g, v] = [
        Tensor.from(gpu, ps),
        Tensor.zeros(gpu, [size]),
        Tensor.zeros(gpu, [size]),
      ];
      const flat = await prepareSgdFlat(gpu, {
        params: p,
        grads: g,
        velocity: v,
        count,
        ...hyper,
        lr: 0.1,
      });
      const grids = gpu.capture(() => flat.record()).map((d) => d.workgroups);
      equal(`${grids}`, "3,2,1", "the update grid folds into a second row");
      const eps = Float32Array.from(ps);
      const evs = new Float32Array(size);
      for (let step = 0; step < 3; step++) {
        const gs = randomArray(size, 20 + step);
        g.write(gs);
        flat.record();
        gpu.submit();
        const head = { p: eps.subarray(0, count), v: evs.subarray(0, count) };
        ref.sgdUpdate(head.p, gs, head.v, { lr: 0.1, ...hyper });
      }
      assertClose(await p.read(), eps, TOL, "flat params");
      assertClose(await v.read(), evs, TOL, "flat velocity");
      flat.destroy();
      // The list form over a small, a folded and a small tensor.
      const sizes = [5, 4099, 3];
      const lps = sizes.map((n, i) => randomArray(n, 30 + i));
      const lgs = sizes.map((n, i) => randomArray(n, 40 + i));
      const params = lps.map((d) => Tensor.from(gpu, d));
      const grads = lgs.map((d) => Tensor.from(gpu, d));
      const velocities = sizes.map((n) => Tensor.zeros(gpu, [n]));
      const list = await prepareSgd(gpu, { params, grads, velocities, lr: 0.05, ...hyper });
      list.record();
      for (let i = 0; i < sizes.length; i++) {
        const e = Float32Array.from(lps[i]);
        ref.sgdUpdate(e, lgs[i], new Float32Array(sizes[i]), { lr: 0.05, ...hyper });
        assertClose(await params[i].read(), e, TOL, `list param ${i}`);
      }
      list.destroy();
      // A NaN in the last folded row is seen.
      const a = Tensor.from(gpu, randomArray(1301, 5));
      const flag = Tensor.from(gpu, Uint32Array.of(7), [1], "u32");
      const check = await prepareNonFiniteCheck(gpu, { tensors: [a], flag });
      check.record();
      equal((await flag.read())[0], 0);
      a.write([NaN], 1300);
      check.record();
      equal((await flag.read())[0], 1, "NaN at the last value");
      check.destroy();
      for (const t of [p, g, v, a, flag, ...params, ...grads, ...velocities]) t.destroy();
    });
  },
});
