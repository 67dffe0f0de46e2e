import {
  deepStrictEqual as deepEqual,
  notStrictEqual as notEqual,
  ok,
  rejects,
  strictEqual as equal,
  throws,
} from "node:assert/strict";
import {
  formatBytes,
  GpuLostError,
  GpuUnavailableError,
  requestGpu,
} from "../../lib/gpu/device.ts";
import { Dispatch, getPipeline, type KernelSource } from "../../lib/gpu/kernel.ts";
import { BufferPool } from "../../lib/gpu/_pool.ts";
import { Tensor } from "../../lib/gpu/tensor.ts";
import { checkExpectedAdapter, expectedAdapter, noGpu, testGpu } from "../_gpu.ts";

const NOOP: KernelSource = {
  file: "kernels/test_noop.wgsl",
  // Atomic: workgroups may run at once (SwiftShader's do), and a plain += would lose counts.
  source: `@group(0) @binding(0) var<storage, read_write> out: array<atomic<u32>>;
@compute @workgroup_size(1)
fn touch() { atomicAdd(&out[0], 1u); }
`,
};

/** Captures what `fn` writes with console.error. */
async function stderrOf(fn: () => Promise<void>): Promise<string> {
  const original = console.error;
  const lines: string[] = [];
  console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  try {
    await fn();
  } finally {
    console.error = original;
  }
  return lines.join("\n");
}

/** A WebGPU stand-in whose adapter (or its absence) the test controls. */
function fakeNavigator(adapter: unknown, seen: GPURequestAdapterOptions[] = []): { gpu: GPU } {
  const gpu = {
    requestAdapter(options: GPURequestAdapterOptions) {
      seen.push(options);
      return Promise.resolve(adapter);
    },
  };
  return { gpu: gpu as unknown as GPU };
}

Deno.test("GpuUnavailableError says what is missing and how to get it", async () => {
  await rejects(requestGpu({ navigator: {} }), (e: Error) => {
    ok(e instanceof GpuUnavailableError, e.name);
    equal(e.name, "GpuUnavailableError");
    ok(
      new RegExp(
        `^Cannot get a GPU: navigator\\.gpu is missing in Deno ${
          Deno.version.deno.replaceAll(".", "\\.")
        }\\. ` +
          "ltkit needs WebGPU: use Deno 2\\.x",
      ).test(e.message),
      e.message,
    );
    return true;
  });

  const seen: GPURequestAdapterOptions[] = [];
  await rejects(requestGpu({ navigator: fakeNavigator(null, seen) }), (e: Error) => {
    ok(e instanceof GpuUnavailableError);
    ok(e.message.startsWith("Cannot get a GPU: WebGPU found no adapter."), e.message);
    ok(e.message.includes("apt-get install mesa-vulkan-drivers"), e.message);
    ok(e.message.includes("DENO_WEBGPU_BACKEND=vulkan|gl"), e.message);
    return true;
  });
  await rejects(
    requestGpu({ navigator: fakeNavigator(null, seen), powerPreference: "low-power" }),
    GpuUnavailableError,
  );
  deepEqual(seen.map((o) => o.powerPreference), ["high-performance", "low-power"]);

  // An adapter below the kit's minimum limits is refused before a device is requested.
  const small = {
    info: { description: "Tiny GPU", vendor: "acme", architecture: "", device: "" },
    limits: { maxStorageBuffersPerShaderStage: 4, maxComputeInvocationsPerWorkgroup: 1024 },
    requestDevice: () => Promise.reject(new Error("requestDevice must not be called")),
  };
  await rejects(
    requestGpu({ navigator: fakeNavigator(small) }),
    (e: Error) =>
      e instanceof GpuUnavailableError &&
      e.message ===
        'Cannot use adapter "Tiny GPU": its maxStorageBuffersPerShaderStage is 4, ltkit needs ' +
          "at least 8",
  );
});

Deno.test({
  name: "requestGpu asks for the adapter's maximum limits and reports the adapter with verbose",
  ignore: noGpu,
  async fn() {
    const real = (await navigator.gpu.requestAdapter())!;
    const requested: GPUDeviceDescriptor[] = [];
    const wrapped = {
      info: real.info,
      limits: real.limits,
      requestDevice(descriptor: GPUDeviceDescriptor) {
        requested.push(descriptor);
        return real.requestDevice(descriptor);
      },
    };
    let gpu: Awaited<ReturnType<typeof requestGpu>> | undefined;
    const log = await stderrOf(async () => {
      gpu = await requestGpu({ navigator: fakeNavigator(wrapped), verbose: true, label: "probe" });
    });
    ok(gpu);
    equal(requested.length, 1);
    equal(requested[0].label, "probe");
    const limits = requested[0].requiredLimits as Record<string, number>;
    equal(limits.maxStorageBufferBindingSize, real.limits.maxStorageBufferBindingSize);
    equal(limits.maxComputeInvocationsPerWorkgroup, real.limits.maxComputeInvocationsPerWorkgroup);
    equal(gpu.limits.maxStorageBufferBindingSize, real.limits.maxStorageBufferBindingSize);
    ok(log.includes(`ltkit: adapter "${gpu.adapter.description}" (vendor `), log);
    equal(gpu.adapter.isFallbackAdapter, Boolean(real.info.isFallbackAdapter));
    if (gpu.isFallback) {
      ok(log.includes(", software fallback"), log);
      ok(log.includes("is a software fallback adapter; everything runs on the CPU"), log);
    }
    // warnFallback: false silences the warning but keeps the verbose line.
    const quiet = await stderrOf(async () => {
      (await requestGpu({ verbose: true, warnFallback: false })).destroy();
    });
    ok(quiet.includes("ltkit: adapter "), quiet);
    ok(!quiet.includes("warning"), quiet);

    // A destroyed Gpu refuses further work with GpuLostError.
    gpu.destroy();
    gpu.destroy();
    throws(
      () => gpu!.assertAlive("train"),
      (e: Error) =>
        e instanceof GpuLostError && e.message === "Cannot train: the Gpu was destroyed",
    );
    throws(() => Tensor.empty(gpu!, [4]), GpuLostError);
    throws(() => gpu!.submit(), /Cannot submit GPU work: the Gpu was destroyed/);
  },
});

Deno.test({
  name: "Gpu counts dispatches and submits, and checks workgroup counts before recording",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const pipeline = await getPipeline(gpu, NOOP, "touch");
    const out = Tensor.zeros(gpu, [1], "u32");
    const max = gpu.limits.maxComputeWorkgroupsPerDimension;
    const d = new Dispatch(gpu, pipeline, { out }, {}, [3, 1, 1]);
    const dispatches = gpu.dispatchCount;
    const submits = gpu.submitCount;
    ok(!gpu.hasPending);
    d.record();
    d.record();
    ok(gpu.hasPending);
    equal(gpu.dispatchCount, dispatches + 2);
    d.workgroups = [0, 1, 1];
    d.record(); // an empty launch records nothing
    equal(gpu.dispatchCount, dispatches + 2);
    d.workgroups = [max + 1, 1, 1];
    throws(
      () => d.record(),
      new RegExp(`Cannot dispatch: ${max + 1}x1x1 workgroups exceeds the device limit of ${max}`),
    );
    equal(gpu.dispatchCount, dispatches + 2);
    await gpu.sync();
    equal(gpu.submitCount, submits + 1);
    ok(!gpu.hasPending);
    gpu.submit(); // nothing pending: no empty submit
    equal(gpu.submitCount, submits + 1);
    // Each of the two recordings ran three workgroups of one invocation.
    equal((await out.read())[0], 6);
    d.destroy();
    out.destroy();
  },
});

Deno.test({
  name: "GPU validation errors outside error scopes surface at the next sync",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    gpu.device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    // wgpu (Deno) says MAP_READ, Dawn (Chromium) MapRead.
    await rejects(gpu.sync(), /^Error: GPU error: .*MAP_?READ/i);
    await gpu.sync(); // reported once, then cleared
  },
});

Deno.test({
  name: "the buffer pool reuses released buffers by size and usage and tracks peak bytes",
  ignore: noGpu,
  async fn() {
    const gpu = (await testGpu())!;
    const pool = new BufferPool(gpu.device);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
    const a = pool.acquire(1000, usage, "a");
    equal(a.size, 1024, "rounded up to 256-byte granules");
    equal(pool.allocatedBytes, 1024);
    pool.release(a);
    equal(pool.acquire(1000, usage), a, "same size and usage: the same buffer");
    pool.release(a);
    equal(pool.acquire(800, usage), a, "rounds to the same granule");
    const b = pool.acquire(1000, usage);
    notEqual(b, a, "a is in use");
    const c = pool.acquire(1000, usage | GPUBufferUsage.COPY_SRC);
    notEqual(c, a, "other usage, other buffer");
    equal(pool.allocatedBytes, 3 * 1024);
    equal(pool.peakBytes, 3 * 1024);
    pool.release(a);
    pool.release(b);
    pool.discard(c);
    equal(pool.allocatedBytes, 2 * 1024);
    pool.clear();
    equal(pool.allocatedBytes, 0);
    equal(pool.peakBytes, 3 * 1024, "the peak is remembered");
    equal(pool.acquire(16, usage).size, 256);
    equal(pool.peakBytes, 3 * 1024);
    pool.clear();

    // Tensors give their buffer back only once recorded work is submitted.
    const t = Tensor.empty(gpu, [100]);
    const buffer = t.buffer;
    t.destroy();
    const early = Tensor.empty(gpu, [100]);
    notEqual(early.buffer, buffer, "not reused before the submit");
    gpu.submit();
    const late = Tensor.empty(gpu, [100]);
    equal(late.buffer, buffer, "reused after it");
    early.destroy();
    late.destroy();
  },
});

Deno.test("formatBytes writes binary units", () => {
  equal(formatBytes(0), "0 B");
  equal(formatBytes(1536), "1.5 KiB");
  equal(formatBytes(128 * 1024 * 1024), "128 MiB");
  equal(formatBytes(3 * 1024 ** 3), "3 GiB");
});

Deno.test("the test GPU is the adapter LTKIT_EXPECT_ADAPTER names", async () => {
  checkExpectedAdapter("SwiftShader Device (Subzero)", "swiftshader");
  checkExpectedAdapter("llvmpipe (LLVM 15.0.6, 256 bits)", undefined);
  throws(
    () => checkExpectedAdapter("llvmpipe (LLVM 15.0.6, 256 bits)", "swiftshader"),
    /Cannot run the GPU tests on adapter "llvmpipe.*asks for "swiftshader"/,
  );
  if (expectedAdapter) {
    const gpu = await testGpu();
    ok(gpu, "an expected adapter means GPU tests never skip");
    ok(gpu.adapter.description.toLowerCase().includes(expectedAdapter.toLowerCase()));
    console.log(
      `  on "${gpu.adapter.description}" as LTKIT_EXPECT_ADAPTER=${expectedAdapter} asks`,
    );
  }
});
