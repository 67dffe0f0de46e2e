import {
  notStrictEqual as notEqual,
  ok,
  rejects,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import {
  Dispatch,
  getPipeline,
  grid1d,
  type KernelSource,
  Sequence,
} from "../../lib/gpu/kernel.ts";
import { Tensor } from "../../lib/gpu/tensor.ts";
import { assertClose, noGpu, testGpu, withLowerLimits } from "../_gpu.ts";

// A small kernel family for exercising the loader: `axpy` adds alpha * x into out.
const AXPY: KernelSource = {
  file: "kernels/test_axpy.wgsl",
  source: `override WG: u32 = 64u;
struct Params {
  n: u32,
  alpha: f32,
  _pad0: u32,
  _pad1: u32,
}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> fixed: array<f32, 64>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn axpy(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < p.n) { out[gid.x] += p.alpha * x[gid.x]; }
}

@compute @workgroup_size(WG)
fn add_fixed(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < p.n) { out[gid.x] = x[gid.x] + fixed[gid.x % 64u]; }
}
`,
};

/** A unique copy of AXPY so that a test sees a cold pipeline cache. */
function freshAxpy(tag: string): KernelSource {
  return { file: AXPY.file, source: `// ${tag} ${crypto.randomUUID()}\n${AXPY.source}` };
}

Deno.test({
  name: "a WGSL syntax error reports kernels/<file>.wgsl:LINE:COL and the message",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    // wgsl_reflect rejects this one (missing ';' on line 4), so the device compiler is asked.
    const missingSemicolon: KernelSource = {
      file: "kernels/broken.wgsl",
      source:
        "// a comment\n@compute @workgroup_size(1)\nfn main() {\n  let a = 1\n  let b = 2;\n}\n",
    };
    await rejects(getPipeline(gpu, missingSemicolon, "main"), (e: Error) => {
      ok(e instanceof SyntaxError, `${e.name}: ${e.message}`);
      ok(/^Cannot compile kernels\/broken\.wgsl:main:\n/.test(e.message), e.message);
      // naga (Deno) and Tint (Chromium) report where they found the next token: line 5, column 3.
      ok(
        /\nkernels\/broken\.wgsl:5:3 (parsing error: )?expected [`']?;/.test(e.message),
        e.message,
      );
      return true;
    });
    // wgsl_reflect accepts this one; naga rejects it at line 6, column 15.
    const badExpression: KernelSource = {
      file: "kernels/broken2.wgsl",
      source: "\n\n// line 3\n@compute @workgroup_size(1)\nfn main() {\n  let a = 1 + ;\n}\n",
    };
    await rejects(getPipeline(gpu, badExpression, "main"), (e: Error) => {
      ok(e instanceof SyntaxError, `${e.name}: ${e.message}`);
      ok(
        /\nkernels\/broken2\.wgsl:6:15 (parsing error: expected expression|unable to parse)/
          .test(e.message),
        e.message,
      );
      return true;
    });
    // A type error found after parsing also points at its line.
    const typeError: KernelSource = {
      file: "kernels/broken3.wgsl",
      source: "@compute @workgroup_size(1)\nfn main() {\n  let a: u32 = 1.5;\n}\n",
    };
    // naga points at the declaration (column 7), Tint at the value (column 16).
    await rejects(getPipeline(gpu, typeError, "main"), /\nkernels\/broken3\.wgsl:3:(7|16) .*u32/);
    // A failed compile is not cached: asking again fails again (and does not hang).
    await rejects(getPipeline(gpu, badExpression, "main"), /broken2\.wgsl:6:15/);
    await rejects(
      getPipeline(gpu, AXPY, "nope"),
      /no compute entry point "nope" \(has: axpy, add_fixed\)/,
    );
  },
});

Deno.test({
  name: "an unknown override constant is rejected before compiling",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    throws(
      () => getPipeline(gpu, AXPY, "axpy", { WG: 64, TILE: 8 }),
      /Cannot compile kernels\/test_axpy\.wgsl:axpy: it has no override constant "TILE" \(it has: WG\)/,
    );
  },
});

Deno.test({
  name: "the pipeline cache keys on (source, entry, constants) and shares concurrent compiles",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const src = freshAxpy("cache");
    const device = gpu.device as GPUDevice & {
      createShaderModule: GPUDevice["createShaderModule"];
    };
    const original = device.createShaderModule;
    let modules = 0;
    device.createShaderModule = (descriptor: GPUShaderModuleDescriptor) => {
      modules++;
      return original.call(device, descriptor);
    };
    try {
      const [a, b] = await Promise.all([
        getPipeline(gpu, src, "axpy", { WG: 32 }),
        getPipeline(gpu, src, "axpy", { WG: 32 }),
      ]);
      equal(a, b, "concurrent requests get the same Pipeline");
      equal(modules, 1, "one compile for two concurrent requests");
      equal(await getPipeline(gpu, src, "axpy", { WG: 32 }), a, "later requests hit the cache");
      equal(modules, 1);
      const other = await getPipeline(gpu, src, "axpy", { WG: 64 });
      notEqual(other, a, "different constants, different pipeline");
      notEqual(await getPipeline(gpu, src, "axpy"), a, "defaults are not WG: 32");
      notEqual(await getPipeline(gpu, src, "add_fixed", { WG: 32 }), a, "another entry point");
      equal(await getPipeline(gpu, { ...src, file: "elsewhere.wgsl" }, "axpy", { WG: 32 }), a);
    } finally {
      device.createShaderModule = original;
      delete (device as unknown as Record<string, unknown>).createShaderModule;
    }
    ok(gpu.device.createShaderModule === original, "spy removed");
  },
});

Deno.test({
  name: "Dispatch checks bindings, buffers and uniforms by name before any dispatch",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const axpy = await getPipeline(gpu, AXPY, "axpy");
    const x = Tensor.zeros(gpu, [8]);
    const out = Tensor.zeros(gpu, [8]);
    const xi = Tensor.zeros(gpu, [8], "i32");
    const u = { n: 8, alpha: 1 };
    const before = gpu.dispatchCount;
    const cases: [() => unknown, RegExp][] = [
      [() => new Dispatch(gpu, axpy, { x }, u), /axpy: binding "out" was not supplied/],
      [
        () => new Dispatch(gpu, axpy, { x, out, y: x }, u),
        /axpy: it has no storage binding "y" \(it binds: x, out\)/,
      ],
      [
        () => new Dispatch(gpu, axpy, { x: xi, out }, u),
        /axpy: "x" must be f32 but tensor \(8\) is i32/,
      ],
      [
        () => new Dispatch(gpu, axpy, { x: out, out }, u),
        /"out" and "x" are the same buffer and one is written/,
      ],
      [() => new Dispatch(gpu, axpy, { x, out }, { n: 8 }), /uniform "alpha" was not supplied/],
      [
        () => new Dispatch(gpu, axpy, { x, out }, { n: 1.5, alpha: 1 }),
        /uniform "n" is u32 but got 1\.5/,
      ],
      [
        () => new Dispatch(gpu, axpy, { x, out }, { ...u, beta: 2 }),
        /its uniforms have no member "beta" \(has: n, alpha, _pad0, _pad1\)/,
      ],
    ];
    for (const [make, pattern] of cases) {
      throws(make, (e: Error) => {
        ok(pattern.test(e.message), `${e.message} !~ ${pattern}`);
        return true;
      });
    }
    equal(gpu.dispatchCount, before, "nothing was dispatched");
    await gpu.sync(); // no GPU validation error either
    for (const t of [x, out, xi]) t.destroy();
  },
});

Deno.test({
  name: "a too-small or non-storage buffer is caught before any dispatch",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const addFixed = await getPipeline(gpu, AXPY, "add_fixed");
    const x = Tensor.zeros(gpu, [8]);
    const out = Tensor.zeros(gpu, [8]);
    const tiny = Tensor.zeros(gpu, [60]);
    throws(
      () => new Dispatch(gpu, addFixed, { x, fixed: tiny, out }, { n: 8, alpha: 0 }),
      /add_fixed: "fixed" needs at least 256 bytes, tensor \(60\) has 240/,
    );
    const rawSmall = gpu.device.createBuffer({ size: 128, usage: GPUBufferUsage.STORAGE });
    throws(
      () => new Dispatch(gpu, addFixed, { x, fixed: rawSmall, out }, { n: 8, alpha: 0 }),
      /add_fixed: "fixed" needs at least 256 bytes, the buffer has 128/,
    );
    rawSmall.destroy();
    const raw = gpu.device.createBuffer({ size: 256, usage: GPUBufferUsage.COPY_DST });
    throws(
      () => new Dispatch(gpu, addFixed, { x, fixed: raw, out }, { n: 8, alpha: 0 }),
      /the buffer for "fixed" lacks STORAGE usage/,
    );
    // 63 floats pad to 256 bytes (tensors round up to 16 bytes), which is enough.
    const padded = Tensor.zeros(gpu, [63]);
    new Dispatch(gpu, addFixed, { x, fixed: padded, out }, { n: 8, alpha: 0 }).destroy();
    raw.destroy();
    for (const t of [x, out, tiny, padded]) t.destroy();
  },
});

Deno.test({
  name: "setUniforms between recordings keeps earlier recordings' values",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const axpy = await getPipeline(gpu, AXPY, "axpy");
    const x = Tensor.from(gpu, [1, 2, 3]);
    const out = Tensor.zeros(gpu, [3]);
    const d = new Dispatch(gpu, axpy, { x, out }, { n: 3, alpha: 1 }, [1, 1, 1]);
    const seq = new Sequence([d]);
    seq.record();
    d.setUniforms({ alpha: 10 });
    seq.record();
    await gpu.sync();
    assertClose(await out.read(), [11, 22, 33], 0, "1 * x + 10 * x");
    seq.destroy();
    x.destroy();
    out.destroy();
  },
});

Deno.test({
  name: "grid1d folds large launches into two dimensions",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const max = gpu.limits.maxComputeWorkgroupsPerDimension;
    const small = grid1d(gpu, 1000, 64);
    equal(small.workgroups.join(), "16,1,1");
    equal(small.row, 1024);
    const big = grid1d(gpu, (max + 1) * 64, 64);
    equal(big.workgroups.join(), `${max},2,1`);
    equal(big.row, max * 64);
    equal(grid1d(gpu, 0, 64).workgroups.join(), "1,1,1");
    // Past limit x limit workgroups even the folded grid is refused, before any dispatch.
    await withLowerLimits({ maxComputeWorkgroupsPerDimension: 3 }, (low) => {
      equal(grid1d(low, 9 * 64, 64).workgroups.join(), "3,3,1");
      throws(
        () => grid1d(low, 9 * 64 + 1, 64),
        /^RangeError: Cannot dispatch 10 workgroups: more than the 3 x 3 a folded grid holds on this device \(limit 3 per dimension\); split the work$/,
      );
      return Promise.resolve();
    });
  },
});
