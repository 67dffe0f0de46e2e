/**
 * The public API is deliberate: mod.ts exports exactly these names. Adding, renaming or removing
 * one means changing this list in the same commit (and the README when users see it).
 *
 * Every module under lib/ is either part of the API (mod.ts exports from it) or internal, named
 * `_name.ts`, and never exported by mod.ts. A layer's `mod.ts` (lib/data/mod.ts, ...) gathers
 * that layer's public modules, all of them and no internal one, for the kit's own scripts and
 * tests; mod.ts lists its names from the modules themselves, not from those.
 */

import { deepStrictEqual as deepEqual, doesNotMatch } from "node:assert/strict";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Run-time values: functions, classes, constants. */
const VALUES = [
  "ARCHITECTURES",
  "BACKBONES",
  "BACKBONE_NAMES",
  "BatchMaker",
  "DEFAULT_TAU_GRID",
  "DEFAULT_TRAIN_SETTINGS",
  "Dispatch",
  "DivergenceError",
  "ECE_BINS",
  "FASHION_MNIST_CLASSES",
  "FEATURE_SPLITS",
  "FeatureWriter",
  "Gpu",
  "GpuAugmenter",
  "GpuLostError",
  "GpuUnavailableError",
  "IMAGE_LIST_PROFILES",
  "INITS",
  "ImageLoader",
  "KIT_VERSION",
  "MAX_SHARD_MIB",
  "METHODS",
  "METHOD_NAMES",
  "METRICS_SCHEMA",
  "METRICS_VERSION",
  "MINIMAL_LAYOUT",
  "MicroBatchStep",
  "PACK_SPLITS",
  "PAPER_SHOT_THRESHOLDS",
  "PRESETS",
  "PRESET_NAMES",
  "PROFILES",
  "PUBLISHED",
  "PackRows",
  "ResNet",
  "Rng",
  "SAMPLER_KINDS",
  "SHORTCUTS",
  "SHOT_GROUPS",
  "Sequence",
  "ShardStream",
  "Stage2Context",
  "Tensor",
  "add",
  "addRelu",
  "argmax",
  "argmaxRows",
  "assertBatchFits",
  "augmentImage",
  "augmentReference",
  "balancedAccuracy",
  "barChart",
  "batchNormBackward",
  "batchNormEvalForward",
  "batchNormTrainForward",
  "buildLongTail",
  "buildReportDocument",
  "calibrationMetrics",
  "channelSum",
  "checkFeatureDir",
  "checkFeatures",
  "checkSplitLayouts",
  "chooseTau",
  "classProbabilities",
  "classWeightNorms",
  "classesByGroup",
  "colSum",
  "confusionMatrix",
  "conv2dBackwardInput",
  "conv2dBackwardWeight",
  "conv2dForward",
  "conv2dOutputShape",
  "cosineLr",
  "cosineSchedule",
  "countPerClass",
  "createSampler",
  "crossEntropyBackward",
  "crossEntropyForward",
  "decodeCheckpoint",
  "decodeClassifier",
  "decodeFeatures",
  "decodeImage",
  "decodeShard",
  "describeMicroBatchPlan",
  "describeResNet",
  "describeSplits",
  "describeStepMemory",
  "downloadFashionMnist",
  "downloadSource",
  "dumpClassifier",
  "encodeCheckpoint",
  "encodeShard",
  "evalAugmentParams",
  "extractFeatures",
  "featureDim",
  "fill",
  "findCifar",
  "findFashionMnist",
  "findImageListProfile",
  "forgetTuning",
  "formatMetricsTable",
  "formatSeedTable",
  "formatShape",
  "forwardMacs",
  "fromMetrics",
  "gemm",
  "getProfile",
  "globalAvgPoolBackward",
  "globalAvgPoolForward",
  "groupedConv2dBackwardInput",
  "groupedConv2dBackwardWeight",
  "groupedConv2dForward",
  "groupedConv2dOutputShape",
  "groupsFor",
  "idxToImageSet",
  "imageListGridPng",
  "imageTableFromIPC",
  "imageTableToIPC",
  "imagenetResNet",
  "isPackedSource",
  "labelsTensor",
  "largestBatch",
  "lcgUniform",
  "lineChart",
  "loadCheckpoint",
  "loadCifar",
  "loadFashionMnist",
  "loadImageListSplits",
  "loadLongTail",
  "loadSource",
  "logSoftmax",
  "longTailSizes",
  "makeSyntheticFeatures",
  "matmul",
  "methodRow",
  "modelSpec",
  "normalizeImage",
  "openPackedSplits",
  "packImageList",
  "packModel",
  "paddedClasses",
  "paddedDim",
  "parameterCount",
  "parseIdx",
  "parseImageList",
  "parseMethods",
  "parseTrainArgs",
  "planMicroBatches",
  "prepareAdd",
  "prepareAddRelu",
  "prepareArgmax",
  "prepareBatchNormBackward",
  "prepareBatchNormEvalForward",
  "prepareBatchNormTrainForward",
  "prepareChannelSum",
  "prepareColSum",
  "prepareConv2dBackwardInput",
  "prepareConv2dBackwardWeight",
  "prepareConv2dForward",
  "prepareCrossEntropyBackward",
  "prepareCrossEntropyForward",
  "prepareFill",
  "prepareGemm",
  "prepareGlobalAvgPoolBackward",
  "prepareGlobalAvgPoolForward",
  "prepareGroupedConv2dBackwardInput",
  "prepareGroupedConv2dBackwardWeight",
  "prepareGroupedConv2dForward",
  "prepareLogSoftmax",
  "prepareLogits",
  "prepareReluBackward",
  "prepareReluForward",
  "prepareRowSum",
  "prepareScale",
  "prepareSgd",
  "prepareSgdFlat",
  "prepareShortcutPadBackward",
  "prepareShortcutPadForward",
  "prepareSoftmax",
  "prepareSumAll",
  "presetConfig",
  "publishedFor",
  "readAll",
  "readClassifier",
  "readFeatureDir",
  "readFeatures",
  "readIdx",
  "readImageList",
  "readImageTable",
  "readManifest",
  "recordOnce",
  "registerMethod",
  "reliabilityDiagram",
  "reluBackward",
  "reluForward",
  "renderHtml",
  "renderMarkdown",
  "reportFigures",
  "requestGpu",
  "resizeShorterSide",
  "resnet",
  "resnet20",
  "resnet32",
  "resnet8",
  "resolveConfig",
  "rowSum",
  "runCrt",
  "runExperiment",
  "runJoint",
  "runLogitAdjust",
  "runLws",
  "runNcm",
  "runSeeds",
  "runStage2",
  "runTauNorm",
  "sampleGrid",
  "sampleGridPng",
  "saveCheckpoint",
  "scale",
  "sgdFlat",
  "shapeSize",
  "shortcutPadBackward",
  "shortcutPadForward",
  "shortcutPadShape",
  "shorterSideSize",
  "shotGroups",
  "softmax",
  "splitMetrics",
  "stage1Settings",
  "standInCounts",
  "stepMemory",
  "subsetImageSet",
  "sumAll",
  "summarizeSeeds",
  "thresholdsFromProfile",
  "trainAugmentParams",
  "trainHelp",
  "trainLinear",
  "trainStage1",
  "tuneMode",
  "tuningRecord",
  "unpackModel",
  "useTuningRecord",
  "validateConfig",
  "validateImageSet",
  "validateMetricsFile",
  "validateProfile",
  "validateResNetSpec",
  "writeClassifier",
  "writeFashionMnistList",
  "writeFeatureDir",
  "writeImageTable",
  "writeMetricsFile",
  "writeReport",
  "writeStage2Predictions",
  "writeSyntheticFeatureDir",
];

/** Types and interfaces (erased at run time, so read from mod.ts's export lists). */
const TYPES = [
  "AdapterSummary",
  "Architecture",
  "AugmentOptions",
  "AugmentParams",
  "AugmentSource",
  "Backbone",
  "BackboneName",
  "BarChartSpec",
  "BarSeries",
  "Batch",
  "BatchMakerOptions",
  "CalibrationMetrics",
  "Checkpoint",
  "CheckpointTensor",
  "ClassifierData",
  "ClassifierWeights",
  "Conv2dGeometry",
  "Conv2dGroups",
  "CrossEntropyOptions",
  "CrossEntropyOutputs",
  "CrtOptions",
  "DType",
  "EpochRecord",
  "EvalLogits",
  "ExperimentConfig",
  "ExperimentResult",
  "ExtractOptions",
  "ExtractResult",
  "FashionMnistOptions",
  "FeatureDefect",
  "FeatureDir",
  "FeatureDirOptions",
  "FeatureMetadata",
  "FeatureMetadataInput",
  "FeatureSet",
  "FeatureSplit",
  "FeatureSplitData",
  "FeatureWriterOptions",
  "GemmOptions",
  "GemmShape",
  "GpuAugmenterOptions",
  "GpuOptions",
  "GridOptions",
  "ImageBatch",
  "ImageList",
  "ImageListEntry",
  "ImageListProfile",
  "ImageListSplits",
  "ImageLoaderOptions",
  "ImageNetResNetOptions",
  "ImageSet",
  "ImageSource",
  "LineChartSpec",
  "LinearModel",
  "ListOptions",
  "ListProblem",
  "LongTailProfile",
  "LongTailSplits",
  "LwsOptions",
  "MemoryLimits",
  "MethodMetrics",
  "MethodName",
  "MethodResult",
  "MethodRow",
  "MethodRunSettings",
  "MethodStyle",
  "MethodTrainSettings",
  "MetricsFile",
  "MicroBatchPlan",
  "PackManifest",
  "PackOptions",
  "PackProgress",
  "PackRow",
  "PackedImage",
  "PackedSource",
  "PackedSplits",
  "PresetName",
  "PublishedProtocol",
  "Recordable",
  "ReliabilitySeries",
  "ReportDocument",
  "ReportFiles",
  "ResNetOptions",
  "ResNetSpec",
  "RngState",
  "RunInfo",
  "RunReport",
  "Sampler",
  "SamplerKind",
  "SeedSummary",
  "SeedsResult",
  "Series",
  "SgdOptions",
  "Shortcut",
  "ShotGroup",
  "ShotThresholds",
  "SoftmaxOptions",
  "SourceOptions",
  "Split",
  "SplitMetrics",
  "Stage1Options",
  "Stage1Result",
  "Stage1Settings",
  "Stage2Options",
  "Stage2Result",
  "StageSpec",
  "StandInOptions",
  "StepMemory",
  "StreamRow",
  "SyntheticOptions",
  "TauGrid",
  "TauPoint",
  "TensorData",
  "TrainArgs",
  "TrainLinearResult",
  "TrainLinearSpec",
  "TrainSettings",
  "TuneMode",
  "TuningRecord",
  "WeightInit",
];

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

Deno.test("mod.ts exports exactly the listed values", async () => {
  const mod = await import("../mod.ts");
  deepEqual(Object.keys(mod).sort(byName), [...VALUES].sort(byName));
});

Deno.test("mod.ts exports exactly the listed types, each from an explicit list", async () => {
  const source = await Deno.readTextFile(new URL("../mod.ts", import.meta.url));
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  doesNotMatch(code, /export\s*\*/, "mod.ts lists its exports by name");
  const types: string[] = [];
  for (const m of code.matchAll(/export\s+(type\s+)?\{([^}]*)\}\s*from/g)) {
    for (const item of m[2].split(",").map((s) => s.trim()).filter(Boolean)) {
      if (m[1]) types.push(item);
      else if (item.startsWith("type ")) types.push(item.slice(5).trim());
    }
  }
  deepEqual(types.sort(byName), [...TYPES].sort(byName));
});

/** The source without comments (JSDoc examples import too, but they are not code). */
function code(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
}

/** Root-relative paths of the modules `file` (root-relative) imports or re-exports from. */
function importsOf(root: string, file: string): Set<string> {
  const text = code(Deno.readTextFileSync(join(root, file)));
  const out = new Set<string>();
  for (const m of text.matchAll(/\bfrom\s*"(\.{1,2}\/[^"]+)"/g)) {
    out.add(relative(root, resolve(root, dirname(file), m[1])));
  }
  return out;
}

/** Every .ts file under `dir` (root-relative), sorted. */
function modulesUnder(root: string, dir: string): string[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const entry of Deno.readDirSync(join(root, d))) {
      const path = join(d, entry.name);
      if (entry.isDirectory) walk(path);
      else if (entry.isFile && entry.name.endsWith(".ts")) files.push(path);
    }
  };
  walk(dir);
  return files.sort();
}

/** A layer barrel: lib/<layer>/mod.ts. */
const isBarrel = (file: string) => /^lib\/[^/]+\/mod\.ts$/.test(file);

/** What breaks the naming rule of the tree at `root`, one line per module. */
function apiProblems(root: string): string[] {
  const exported = importsOf(root, "mod.ts");
  const problems: string[] = [];
  for (const file of modulesUnder(root, "lib")) {
    const internal = basename(file).startsWith("_");
    if (isBarrel(file)) {
      if (exported.has(file)) problems.push(`mod.ts exports from the layer barrel ${file}`);
      const gathered = importsOf(root, file);
      const layer = modulesUnder(root, dirname(file)).filter((f) => dirname(f) === dirname(file));
      for (const f of layer) {
        if (f === file) continue;
        const hidden = basename(f).startsWith("_");
        if (hidden && gathered.has(f)) problems.push(`${file} re-exports the internal ${f}`);
        if (!hidden && !gathered.has(f)) problems.push(`${file} does not re-export ${f}`);
      }
    } else if (internal && exported.has(file)) {
      problems.push(`mod.ts exports from the internal ${file}`);
    } else if (!internal && !exported.has(file)) {
      problems.push(`${file} is neither exported by mod.ts nor named _${basename(file)}`);
    }
  }
  return problems;
}

Deno.test("every lib/ module is public (exported by mod.ts) or internal (_name.ts)", () => {
  deepEqual(apiProblems(ROOT), []);
});

Deno.test("the module rule names each breach", () => {
  const dir = Deno.makeTempDirSync();
  const tree: Record<string, string> = {
    "mod.ts": [
      'export { a } from "./lib/x/a.ts";',
      'export { h } from "./lib/x/_h.ts";',
      'export { m } from "./lib/y/mod.ts";',
      '// export { b } from "./lib/x/b.ts"; a comment exports nothing',
    ].join("\n"),
    "lib/x/a.ts": "export const a = 1;\n",
    "lib/x/b.ts": "export const b = 1;\n",
    "lib/x/_h.ts": "export const h = 1;\n",
    "lib/x/mod.ts": 'export * from "./a.ts";\nexport * from "./_h.ts";\n',
    "lib/y/mod.ts": "export const m = 1;\n",
    "lib/y/_ok.ts": "export const ok = 1;\n",
  };
  try {
    for (const [path, text] of Object.entries(tree)) {
      Deno.mkdirSync(dirname(join(dir, path)), { recursive: true });
      Deno.writeTextFileSync(join(dir, path), text);
    }
    deepEqual(apiProblems(dir), [
      "mod.ts exports from the internal lib/x/_h.ts",
      "lib/x/b.ts is neither exported by mod.ts nor named _b.ts",
      "lib/x/mod.ts re-exports the internal lib/x/_h.ts",
      "lib/x/mod.ts does not re-export lib/x/b.ts",
      "mod.ts exports from the layer barrel lib/y/mod.ts",
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
