/**
 * tfjs-webgpu as the benchmark's reference implementation. Bench-only: the kit itself never
 * imports tfjs. Loaded lazily so that sections without a tfjs comparison do not pay for it.
 *
 * tfjs runs on its own device from the same `navigator.gpu` adapter request. In Deno its
 * `dataSync()` fails, so work is synchronised with `await tensor.data()`.
 *
 * @module
 */

type Tf = typeof import("npm:@tensorflow/tfjs-core@4.22.0");

/** A loaded tfjs with the WebGPU backend active. */
export interface Tfjs {
  readonly tf: Tf;
  /** `tfjs-webgpu 4.22.0 (<adapter>)` for tables. */
  readonly name: string;
}

let loading: Promise<Tfjs | null> | null = null;

/** Loads tfjs-core and tfjs-backend-webgpu once; null (with a message) when that fails. */
export function loadTfjs(log: (message: string) => void): Promise<Tfjs | null> {
  loading ??= (async () => {
    try {
      // Pinned here, not in lib/_deps.ts: the kit must never load tfjs.
      // deno-lint-ignore no-import-prefix
      const tf = await import("npm:@tensorflow/tfjs-core@4.22.0");
      // deno-lint-ignore no-import-prefix
      await import("npm:@tensorflow/tfjs-backend-webgpu@4.22.0");
      if (!(await tf.setBackend("webgpu"))) throw new Error("setBackend('webgpu') failed");
      await tf.ready();
      // Keep every op on the GPU: by default tfjs hands small ops with host inputs to the CPU.
      tf.env().set("WEBGPU_CPU_HANDOFF_SIZE_THRESHOLD", 0);
      // tfjs asks navigator.gpu for a high-performance adapter; asking the same names it.
      const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
      const described = adapter?.info?.description || adapter?.info?.device || "";
      return {
        tf,
        name: `tfjs-webgpu ${tf.version_core}${described ? ` on "${described}"` : ""}`,
      };
    } catch (error) {
      log(`tfjs-webgpu unavailable, no comparison: ${(error as Error).message}`);
      return null;
    }
  })();
  return loading;
}
