/**
 * ltkit: long-tailed image recognition with decoupled representation and classifier
 * (Kang et al., ICLR 2020), computed in hand-written WGSL compute shaders on WebGPU.
 *
 * @example Stage 2 on a feature folder (here a small synthetic one)
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatMetricsTable, makeSyntheticFeatures, requestGpu, runStage2 } from "./mod.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({
 *   trainCounts: [600, 60, 6],
 *   featureDim: 8,
 *   shotThresholds: { many: 100, few: 20 },
 * });
 * const { metrics } = await runStage2(features, { methods: ["joint", "crt", "tau"], gpu });
 * assert.deepEqual(Object.keys(metrics.methods).sort(), ["crt", "joint", "tau"]);
 * // One row per method: test All / Many / Medium / Few.
 * assert.match(formatMetricsTable(metrics), /^Joint +[\d.]+ +[\d.]+/m);
 * gpu.destroy();
 * ```
 *
 * The list below is the public API, on purpose: a module that is not part of it is named
 * `_name.ts`, and tests/api_test.ts pins the exported names so that a change here is deliberate.
 *
 * @module
 */

// Devices, tensors and recorded GPU work.
export {
  type AdapterSummary,
  Gpu,
  GpuLostError,
  type GpuOptions,
  GpuUnavailableError,
  requestGpu,
  type TuneMode,
} from "./lib/gpu/device.ts";
export {
  type DType,
  formatShape,
  readAll,
  shapeSize,
  Tensor,
  type TensorData,
} from "./lib/gpu/tensor.ts";
export { Dispatch, type Recordable, recordOnce, Sequence } from "./lib/gpu/kernel.ts";

// Ops: one validating wrapper per kernel family; `prepare*` records once and runs many times.
export {
  add,
  addRelu,
  fill,
  prepareAdd,
  prepareAddRelu,
  prepareFill,
  prepareReluBackward,
  prepareReluForward,
  prepareScale,
  reluBackward,
  reluForward,
  scale,
} from "./lib/ops/elementwise.ts";
export {
  crossEntropyBackward,
  crossEntropyForward,
  type CrossEntropyOptions,
  type CrossEntropyOutputs,
  labelsTensor,
  logSoftmax,
  prepareCrossEntropyBackward,
  prepareCrossEntropyForward,
  prepareLogSoftmax,
  prepareSoftmax,
  softmax,
  type SoftmaxOptions,
} from "./lib/ops/softmax.ts";
export {
  argmax,
  channelSum,
  colSum,
  prepareArgmax,
  prepareChannelSum,
  prepareColSum,
  prepareRowSum,
  prepareSumAll,
  rowSum,
  sumAll,
} from "./lib/ops/reduce.ts";
export {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  type Conv2dGeometry,
  conv2dOutputShape,
  prepareConv2dBackwardInput,
  prepareConv2dBackwardWeight,
  prepareConv2dForward,
} from "./lib/ops/conv2d.ts";
export {
  type Conv2dGroups,
  groupedConv2dBackwardInput,
  groupedConv2dBackwardWeight,
  groupedConv2dForward,
  groupedConv2dOutputShape,
  prepareGroupedConv2dBackwardInput,
  prepareGroupedConv2dBackwardWeight,
  prepareGroupedConv2dForward,
} from "./lib/ops/conv2d_grouped.ts";
export {
  prepareShortcutPadBackward,
  prepareShortcutPadForward,
  shortcutPadBackward,
  shortcutPadForward,
  shortcutPadShape,
} from "./lib/ops/shortcut.ts";
export {
  batchNormBackward,
  batchNormEvalForward,
  batchNormTrainForward,
  prepareBatchNormBackward,
  prepareBatchNormEvalForward,
  prepareBatchNormTrainForward,
} from "./lib/ops/batchnorm.ts";
export {
  globalAvgPoolBackward,
  globalAvgPoolForward,
  prepareGlobalAvgPoolBackward,
  prepareGlobalAvgPoolForward,
} from "./lib/ops/pool.ts";
export { gemm, type GemmOptions, type GemmShape, matmul, prepareGemm } from "./lib/ops/gemm.ts";
export { prepareSgd, prepareSgdFlat, sgdFlat, type SgdOptions } from "./lib/ops/optim.ts";
export { GpuAugmenter, type GpuAugmenterOptions } from "./lib/ops/augment.ts";
export {
  forgetTuning,
  tuneMode,
  type TuningRecord,
  tuningRecord,
  useTuningRecord,
} from "./lib/ops/tune.ts";

// Classifier kernels of stage 2 (padded model layout).
export {
  type LinearModel,
  packModel,
  paddedClasses,
  paddedDim,
  prepareLogits,
  unpackModel,
} from "./lib/ops/classifier.ts";

// Networks: ResNet descriptions, the backbone table, a training step's GPU memory and its
// micro-batches.
export { ResNet, type ResNetOptions } from "./lib/nn/resnet.ts";
export {
  describeResNet,
  featureDim,
  forwardMacs,
  imagenetResNet,
  type ImageNetResNetOptions,
  INITS,
  parameterCount,
  resnet,
  resnet20,
  resnet32,
  resnet8,
  type ResNetSpec,
  type Shortcut,
  SHORTCUTS,
  type StageSpec,
  validateResNetSpec,
  type WeightInit,
} from "./lib/nn/spec.ts";
export { type Backbone, BACKBONE_NAMES, type BackboneName, BACKBONES } from "./lib/nn/backbones.ts";
export {
  assertBatchFits,
  describeMicroBatchPlan,
  describeStepMemory,
  largestBatch,
  type MemoryLimits,
  type MicroBatchPlan,
  planMicroBatches,
  type StepMemory,
  stepMemory,
} from "./lib/nn/memory.ts";
export { MicroBatchStep } from "./lib/nn/microbatch.ts";

// Data: image sets, long-tailed profiles and splits, samplers, batches and their CPU
// augmentation, a seeded PRNG.
export {
  countPerClass,
  FASHION_MNIST_CLASSES,
  type ImageSet,
  subsetImageSet,
  validateImageSet,
} from "./lib/data/image_set.ts";
export { loadLongTail, loadSource, type SourceOptions } from "./lib/data/source.ts";
export { buildLongTail, type LongTailSplits, type Split } from "./lib/data/long_tail.ts";
export { describeSplits } from "./lib/data/info.ts";
export {
  getProfile,
  type LongTailProfile,
  longTailSizes,
  PAPER_SHOT_THRESHOLDS,
  PROFILES,
  type ShotThresholds,
  validateProfile,
} from "./lib/data/profiles.ts";
export { classesByGroup, SHOT_GROUPS, type ShotGroup, shotGroups } from "./lib/data/shot_groups.ts";
export { lcgUniform, Rng, type RngState } from "./lib/data/rng.ts";
export {
  classProbabilities,
  createSampler,
  type Sampler,
  SAMPLER_KINDS,
  type SamplerKind,
} from "./lib/data/sampler.ts";
export {
  type AugmentOptions,
  type Batch,
  BatchMaker,
  type BatchMakerOptions,
} from "./lib/data/batch.ts";
export {
  type FashionMnistOptions,
  findFashionMnist,
  loadFashionMnist,
} from "./lib/data/fashion_mnist.ts";
export { downloadFashionMnist, downloadSource } from "./lib/data/download.ts";
export { findCifar, loadCifar } from "./lib/data/cifar.ts";
export { idxToImageSet, parseIdx, readIdx } from "./lib/data/idx.ts";
export {
  imageTableFromIPC,
  imageTableToIPC,
  readImageTable,
  writeImageTable,
} from "./lib/data/arrow_table.ts";
export { type GridOptions, sampleGrid, sampleGridPng } from "./lib/data/grid.ts";
export { augmentImage, normalizeImage } from "./lib/data/augment.ts";

// Image lists (ImageNet-LT, Places-LT, iNaturalist 2018): lists, profiles, packing into shards,
// streaming them back, and the ImageNet-style augmentation's parameters.
export {
  type ImageList,
  type ImageListEntry,
  type ListOptions,
  type ListProblem,
  parseImageList,
  readImageList,
} from "./lib/data/image_list.ts";
export {
  findImageListProfile,
  IMAGE_LIST_PROFILES,
  type ImageListProfile,
  type ImageListSplits,
  loadImageListSplits,
} from "./lib/data/image_list_profiles.ts";
export { imageListGridPng } from "./lib/data/image_list_grid.ts";
export {
  standInCounts,
  type StandInOptions,
  writeFashionMnistList,
} from "./lib/data/fashion_mnist_list.ts";
export { decodeImage } from "./lib/data/decode.ts";
export { resizeShorterSide, shorterSideSize } from "./lib/data/resize.ts";
export {
  MAX_SHARD_MIB,
  packImageList,
  type PackOptions,
  type PackProgress,
} from "./lib/data/pack.ts";
export {
  decodeShard,
  encodeShard,
  type PackedImage,
  type PackManifest,
  readManifest,
} from "./lib/data/shards.ts";
export { ShardStream, type StreamRow } from "./lib/data/shard_stream.ts";
export { type PackRow, PackRows } from "./lib/data/pack_rows.ts";
export {
  type AugmentParams,
  augmentReference,
  type AugmentSource,
  evalAugmentParams,
  trainAugmentParams,
} from "./lib/data/imagenet_augment.ts";

// Training: stage 1, configuration and presets, flags, packed inputs, checkpoints, feature
// extraction, the whole experiment.
export { type ExperimentResult, resolveConfig, runExperiment } from "./lib/train/experiment.ts";
export {
  type Architecture,
  ARCHITECTURES,
  type ExperimentConfig,
  modelSpec,
  PRESET_NAMES,
  presetConfig,
  type PresetName,
  PRESETS,
  type Stage1Settings,
  stage1Settings,
  validateConfig,
} from "./lib/train/config.ts";
export {
  DivergenceError,
  type EpochRecord,
  type Stage1Options,
  type Stage1Result,
  trainStage1,
} from "./lib/train/stage1.ts";
export { cosineLr, cosineSchedule } from "./lib/train/schedule.ts";
export {
  type Checkpoint,
  type CheckpointTensor,
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from "./lib/train/checkpoint.ts";
export {
  dumpClassifier,
  extractFeatures,
  type ExtractOptions,
  type ExtractResult,
} from "./lib/train/extract.ts";
export { runSeeds, type SeedsResult } from "./lib/train/seeds.ts";
export { parseTrainArgs, type TrainArgs, trainHelp } from "./lib/train/flags.ts";
export { type ImageSource, isPackedSource, type PackedSource } from "./lib/train/image_source.ts";
export { openPackedSplits, PACK_SPLITS, type PackedSplits } from "./lib/train/packed_data.ts";
export { type ImageBatch, ImageLoader, type ImageLoaderOptions } from "./lib/train/image_loader.ts";

// Features: Arrow feature dumps.
export {
  type ClassifierWeights,
  FeatureWriter,
  type FeatureWriterOptions,
  writeClassifier,
} from "./lib/features/writer.ts";
export {
  type FeatureDirOptions,
  readClassifier,
  readFeatureDir,
  readFeatures,
} from "./lib/features/load.ts";
export {
  checkFeatureDir,
  checkSplitLayouts,
  type ClassifierData,
  decodeClassifier,
  decodeFeatures,
  type FeatureDir,
  type FeatureSplitData,
} from "./lib/features/reader.ts";
export {
  FEATURE_SPLITS,
  type FeatureMetadata,
  type FeatureMetadataInput,
  type FeatureSplit,
  KIT_VERSION,
  MINIMAL_LAYOUT,
} from "./lib/features/schema.ts";
export { checkFeatures, type FeatureDefect } from "./lib/features/check.ts";
export {
  type FeatureSet,
  makeSyntheticFeatures,
  type SyntheticOptions,
  writeFeatureDir,
  writeSyntheticFeatureDir,
} from "./lib/features/synthetic.ts";

// Stage 2: classifiers re-balanced on frozen features.
export { runStage2, type Stage2Options, type Stage2Result } from "./lib/stage2/run.ts";
export {
  METHOD_NAMES,
  type MethodRow,
  methodRow,
  type MethodRunSettings,
  METHODS,
  type MethodStyle,
  type MethodTrainSettings,
  parseMethods,
  registerMethod,
} from "./lib/stage2/registry.ts";
export {
  DEFAULT_TAU_GRID,
  DEFAULT_TRAIN_SETTINGS,
  type MethodName,
  type MethodResult,
  type TauGrid,
  type TrainSettings,
} from "./lib/stage2/method.ts";
export { type EvalLogits, Stage2Context } from "./lib/stage2/context.ts";
export { runJoint } from "./lib/stage2/joint.ts";
export { runNcm } from "./lib/stage2/ncm.ts";
export { type CrtOptions, runCrt } from "./lib/stage2/crt.ts";
export { runTauNorm } from "./lib/stage2/tau_norm.ts";
export { type LwsOptions, runLws } from "./lib/stage2/lws.ts";
export { runLogitAdjust } from "./lib/stage2/logit_adjust.ts";
export { trainLinear, type TrainLinearResult, type TrainLinearSpec } from "./lib/stage2/train.ts";

// Metrics and the report.
export {
  argmaxRows,
  balancedAccuracy,
  type CalibrationMetrics,
  calibrationMetrics,
  chooseTau,
  classWeightNorms,
  confusionMatrix,
  ECE_BINS,
  formatMetricsTable,
  groupsFor,
  type MethodMetrics,
  METRICS_SCHEMA,
  METRICS_VERSION,
  type MetricsFile,
  type SplitMetrics,
  splitMetrics,
  type TauPoint,
  thresholdsFromProfile,
  validateMetricsFile,
} from "./lib/eval/metrics.ts";
export { writeMetricsFile } from "./lib/eval/write_metrics.ts";
export { writeStage2Predictions } from "./lib/eval/predictions.ts";
export { PUBLISHED, publishedFor, type PublishedProtocol } from "./lib/eval/published.ts";
export { formatSeedTable, type SeedSummary, summarizeSeeds } from "./lib/eval/seeds.ts";
export {
  buildReportDocument,
  fromMetrics,
  renderHtml,
  renderMarkdown,
  type ReportDocument,
  reportFigures,
  type ReportFiles,
  type RunInfo,
  type RunReport,
  writeReport,
} from "./lib/eval/report.ts";

// Figures as standalone SVG.
export {
  barChart,
  type BarChartSpec,
  type BarSeries,
  lineChart,
  type LineChartSpec,
  reliabilityDiagram,
  type ReliabilitySeries,
  type Series,
} from "./lib/eval/figures.ts";
