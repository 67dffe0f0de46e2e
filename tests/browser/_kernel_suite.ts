/**
 * The kernel test suite as one browser module: the Deno shim first (tests register themselves
 * as their modules run), then every kernel test file and the ResNet test, which runs the kernels
 * as a network. Out: tests/gpu/http_import_test.ts (it checks Deno's own import by URL) and
 * tests/gpu/timing_test.ts (it imports lib/train/config.ts, which imports node:util). `deno task test:browser` bundles this file
 * and runs {@link runCollected} in headless Chromium's WebGPU (Dawn/Tint).
 *
 * A new kernel test file is one more line here.
 *
 * @module
 */

import { runCollected } from "./_deno_shim.ts";
import "../ops/augment_test.ts";
import "../ops/batchnorm_test.ts";
import "../ops/conv2d_test.ts";
import "../ops/conv2d_grouped_test.ts";
import "../ops/conv2d_stem_test.ts";
import "../ops/elementwise_test.ts";
import "../ops/gemm_test.ts";
import "../ops/optim_test.ts";
import "../ops/pool_test.ts";
import "../ops/reduce_test.ts";
import "../ops/shortcut_test.ts";
import "../ops/softmax_test.ts";
import "../ops/tune_test.ts";
import "../ops/classifier_test.ts";
import "../gpu/device_test.ts";
import "../gpu/kernel_test.ts";
import "../gpu/tensor_test.ts";
import "../nn/memory_test.ts";
import "../nn/resnet_test.ts";

(globalThis as unknown as { ltkitRunTests: typeof runCollected }).ltkitRunTests = runCollected;
