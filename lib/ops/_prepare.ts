/**
 * The skeleton every kernel family's `prepare*` shares: allocate scratch, compile the pipelines
 * (concurrently), build the dispatches, and free the scratch when any of that fails, so a
 * rejected prepare leaves nothing behind.
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import {
  type Constants,
  Dispatch,
  getPipeline,
  type KernelSource,
  type Recordable,
  type Resources,
  Sequence,
} from "../gpu/kernel.ts";
import type { Tensor } from "../gpu/tensor.ts";

/**
 * Given to a step builder: scratch whose size the plan decides while building (padded operands,
 * a split-K workspace, an optimiser's learning-rate table) is handed over here, so that it joins
 * the scratch the sequence owns and is freed if the build fails.
 */
export interface StepBuild {
  /** Takes ownership of `tensor` (allocated while building) and returns it. */
  own<T extends Tensor>(tensor: T): T;
}

/** What {@link prepareSteps} runs, in this order. */
export interface StepParts<P extends readonly unknown[]> {
  /** Scratch tensors the steps use; the returned sequence owns and frees them. */
  readonly scratch?: readonly Tensor[];
  /** Starts every compile the steps need (e.g. `getPipeline` calls, or null for an unused one). */
  readonly pipelines: () => P;
  /**
   * Builds the steps from the compiled pipelines, in `pipelines` order; scratch allocated here
   * goes through `build.own`.
   */
  readonly steps: (
    pipelines: { -readonly [K in keyof P]: Awaited<P[K]> },
    build: StepBuild,
  ) => Recordable[];
}

/**
 * Compiles, then builds the steps into one {@link Sequence} that owns `scratch` and whatever the
 * builder handed to `build.own`; on any failure that scratch is destroyed and the error rethrown.
 *
 * @param gpu The device; must be alive.
 * @param op The family name for the error, e.g. `conv2d`.
 * @param parts Scratch, compiles and the step builder.
 * @returns The steps as one recordable.
 */
export async function prepareSteps<const P extends readonly unknown[] | []>(
  gpu: Gpu,
  op: string,
  parts: StepParts<P>,
): Promise<Sequence> {
  const scratch = [...(parts.scratch ?? [])];
  const build: StepBuild = {
    own(tensor) {
      scratch.push(tensor);
      return tensor;
    },
  };
  try {
    gpu.assertAlive(`run ${op}`);
    const compiled = await Promise.all(parts.pipelines());
    const steps = parts.steps(compiled as { -readonly [K in keyof P]: Awaited<P[K]> }, build);
    return new Sequence(steps, scratch);
  } catch (error) {
    for (const t of scratch) t.destroy();
    throw error;
  }
}

/**
 * The single-dispatch form: compiles `entry` of `src` and binds it.
 *
 * @param gpu The device; must be alive.
 * @param src The kernel family's source.
 * @param entry The entry point (from the family's entry table).
 * @param constants Override constants.
 * @param resources Storage bindings by name.
 * @param uniforms Uniform members by name.
 * @param workgroups Workgroup counts.
 * @param owned Tensors the caller allocated for this dispatch and keeps; destroyed if the
 *   compile or the binding fails.
 * @returns The reusable dispatch.
 */
export async function prepareDispatch<E extends string>(
  gpu: Gpu,
  src: KernelSource<E>,
  entry: NoInfer<E>,
  constants: Constants,
  resources: Resources,
  uniforms: Readonly<Record<string, number>>,
  workgroups: readonly [number, number, number],
  owned: readonly Tensor[] = [],
): Promise<Dispatch> {
  try {
    gpu.assertAlive(`run ${entry}`);
    const pipeline = await getPipeline(gpu, src, entry, constants);
    return new Dispatch(gpu, pipeline, resources, uniforms, workgroups);
  } catch (error) {
    for (const t of owned) t.destroy();
    throw error;
  }
}
