/**
 * Stage 2: classifiers on frozen features, on the GPU, from the feature files alone. Joint,
 * NCM (cosine and centred L2), cRT, tau-normalisation, LWS, post-hoc logit adjustment and
 * cRT with balanced softmax; {@link runStage2} runs any of them and builds the metrics.
 *
 * A layer barrel: every public module of the layer, for the kit's own scripts and tests;
 * internal `_name.ts` modules are imported from their files, and programs import the root
 * `mod.ts`, whose list is the public API (tests/api_test.ts checks both rules).
 *
 * @module
 */

export * from "./context.ts";
export * from "./crt.ts";
export * from "./joint.ts";
export * from "./logit_adjust.ts";
export * from "./lws.ts";
export * from "./method.ts";
export * from "./ncm.ts";
export * from "./registry.ts";
export * from "./run.ts";
export * from "./tau_norm.ts";
export * from "./train.ts";
