/**
 * The prepare skeleton (lib/ops/_prepare.ts): a build that fails frees every scratch tensor,
 * those given up front and those the builder handed over while building, and a build that
 * succeeds hands them all to the sequence, which frees them with itself.
 */

import { deepStrictEqual as deepEqual, rejects } from "node:assert/strict";
import { Tensor } from "../../lib/gpu/tensor.ts";
import { prepareSteps } from "../../lib/ops/_prepare.ts";
import { noGpu, testGpu } from "../_gpu.ts";

/** One tensor given to the helper up front and one a builder hands over while building. */
async function scratchPair() {
  const gpu = (await testGpu())!;
  return { gpu, given: Tensor.zeros(gpu, [3]), owned: Tensor.zeros(gpu, [5]) };
}

Deno.test({
  name: "a failed build frees the scratch given up front and the scratch it owned",
  ignore: noGpu,
  async fn() {
    const { gpu, given, owned } = await scratchPair();
    await rejects(
      prepareSteps(gpu, "example", {
        scratch: [given],
        pipelines: () => [],
        steps: (_, build) => {
          build.own(owned);
          throw new RangeError("Cannot build example: planted failure");
        },
      }),
      /planted failure/,
    );
    deepEqual([given.destroyed, owned.destroyed], [true, true]);
  },
});

Deno.test({
  name: "a built sequence owns both kinds of scratch and frees them with itself",
  ignore: noGpu,
  async fn() {
    const { gpu, given, owned } = await scratchPair();
    const steps = await prepareSteps(gpu, "example", {
      scratch: [given],
      pipelines: () => [],
      steps: (_, build) => {
        build.own(owned);
        return [];
      },
    });
    deepEqual([given.destroyed, owned.destroyed], [false, false]);
    steps.destroy();
    deepEqual([given.destroyed, owned.destroyed], [true, true]);
  },
});
