/**
 * Published figures of the protocols ltkit reproduces, one row per protocol, and the report
 * block that sets a run's own figures beside them. Adding a protocol is adding a row.
 *
 * Figures are top-1 "All" accuracy in percent on the balanced test set (CIFAR, Fashion-MNIST) or
 * the official test split (ImageNet-LT). Most papers chose hyper-parameters such as tau on the
 * test set; ltkit chooses them on validation data, so its figures are, if anything, lower.
 *
 * @module
 */

import type { ReportBlock, ReportTable } from "./_report_model.ts";

/**
 * A protocol with published per-method figures.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PUBLISHED } from "./published.ts";
 * const cifar10 = PUBLISHED.find((p) => p.id === "cifar10-lt-100-resnet32")!;
 * assert.equal(cifar10.figures.crt, 75.0);
 * ```
 */
export interface PublishedProtocol {
  /** Stable id. */
  id: string;
  /** Data, network and schedule in words. */
  protocol: string;
  /** Where the figures come from. */
  source: string;
  /** Runs of this data profile and one of these backbones (with this shortcut) follow it. */
  match: { profile: string; arch: readonly string[]; shortcut?: "A" | "B" };
  /** All (%) by stage-2 method key (lib/stage2/registry.ts). */
  figures: Readonly<Record<string, number>>;
  /** True when the source gives rounded or relative figures ("about"). */
  approximate?: boolean;
}

/**
 * Every protocol with published figures.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PUBLISHED } from "./published.ts";
 * assert.ok(PUBLISHED.some((p) => p.match.profile === "fashion-mnist-lt-100"));
 * ```
 */
export const PUBLISHED: readonly PublishedProtocol[] = [
  {
    id: "fashion-mnist-lt-100-resnet8",
    protocol: "Fashion-MNIST-LT-100, ResNet-8, 30 epochs (RECIPE.md, the paper preset)",
    source: "an independent implementation of the same recipe, seed 0: Joint about 85%, cRT and " +
      "LWS about 3 points higher (RECIPE.md)",
    match: { profile: "fashion-mnist-lt-100", arch: ["resnet8"] },
    figures: { joint: 85, crt: 88, lws: 88 },
    approximate: true,
  },
  {
    id: "cifar10-lt-100-resnet32",
    protocol: "CIFAR-10-LT, imbalance 100, ResNet-32, 200 epochs (LDAM-DRW schedule)",
    source: "LDAM-DRW (Cao et al., NeurIPS 2019), BagofTricks-LT (Zhang et al., AAAI 2021) and " +
      "logit adjustment (Menon et al., ICLR 2021), papers and repositories",
    match: { profile: "cifar10-lt-100", arch: ["resnet32"], shortcut: "A" },
    figures: { joint: 70.4, crt: 75.0, lws: 72.6, tau: 72.7, la: 77.3 },
  },
  {
    id: "cifar100-lt-100-resnet32",
    protocol: "CIFAR-100-LT, imbalance 100, ResNet-32, 200 epochs (LDAM-DRW schedule)",
    source: "LDAM-DRW (Cao et al., NeurIPS 2019), BagofTricks-LT (Zhang et al., AAAI 2021) and " +
      "logit adjustment (Menon et al., ICLR 2021), papers and repositories",
    match: { profile: "cifar100-lt-100", arch: ["resnet32"], shortcut: "A" },
    figures: { joint: 38.3, crt: 40.3, lws: 40.2, tau: 41.0, la: 44.1 },
  },
  {
    id: "imagenet-lt-resnet10",
    protocol: "ImageNet-LT, ResNet-10, 90 epochs (the paper's recipe)",
    source: "Kang et al., ICLR 2020 (Decoupling Representation and Classifier), ResNet-10",
    match: { profile: "imagenet-lt", arch: ["resnet10"] },
    figures: { joint: 34.8, crt: 41.8, lws: 41.4, tau: 40.6 },
  },
  {
    id: "imagenet-lt-resnext50",
    protocol: "ImageNet-LT, ResNeXt-50 (32x4d), 90 epochs (the paper's recipe)",
    source: "Kang et al., ICLR 2020 (Decoupling Representation and Classifier), Table 2",
    match: { profile: "imagenet-lt", arch: ["resnext50"] },
    figures: { joint: 44.4, ncm: 47.3, crt: 49.6, tau: 49.4, lws: 49.9 },
  },
];

/**
 * The protocol a run follows, found by its data profile, backbone and shortcut; null when none
 * matches.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { publishedFor } from "./published.ts";
 * assert.equal(publishedFor("cifar100-lt-100", "resnet32", "A")?.figures.la, 44.1);
 * assert.equal(publishedFor("cifar100-lt-100", "resnet32", "B"), null); // not the paper's net
 * assert.equal(publishedFor("cifar100-lt-10", "resnet32", "A"), null);
 * ```
 */
export function publishedFor(
  profile: string,
  arch: string,
  shortcut?: "A" | "B",
): PublishedProtocol | null {
  return PUBLISHED.find((p) =>
    p.match.profile === profile && p.match.arch.includes(arch) &&
    (p.match.shortcut === undefined || p.match.shortcut === shortcut)
  ) ?? null;
}

/**
 * The report block: per method with a published figure, that figure, the run's own All and the
 * difference in points.
 *
 * @param protocol The protocol the run follows.
 * @param methods The run's methods: key, label and All as a fraction in 0..1.
 * @param what What the run's figure is ("this run", "mean of 3 seeds").
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { publishedBlocks, publishedFor } from "./published.ts";
 * const blocks = publishedBlocks(publishedFor("cifar10-lt-100", "resnet32", "A")!, [
 *   { name: "crt", label: "cRT", all: 0.7412 },
 *   { name: "ncm", label: "NCM (cosine)", all: 0.7 },
 * ], "this run");
 * const table = blocks.find((b) => b.kind === "table")!;
 * assert.ok(table.kind === "table");
 * assert.deepEqual(table.table.rows[0].map((c) => c.text), ["cRT", "75.0", "74.12", "-0.88"]);
 * assert.equal(table.table.rows.length, 1);
 * ```
 */
export function publishedBlocks(
  protocol: PublishedProtocol,
  methods: readonly { name: string; label: string; all: number }[],
  what: string,
): ReportBlock[] {
  const rows = methods.filter((m) => protocol.figures[m.name] !== undefined).map((m) => {
    const published = protocol.figures[m.name];
    const own = 100 * m.all;
    const diff = own - published;
    return [
      { text: m.label },
      { text: `${protocol.approximate ? "about " : ""}${published.toFixed(1)}` },
      { text: own.toFixed(2) },
      { text: `${diff >= 0 ? "+" : ""}${diff.toFixed(2)}` },
    ];
  });
  const table: ReportTable = {
    header: ["Method", "Published All", `All, ${what}`, "Difference (points)"],
    align: ["left", "right", "right", "right"],
    rows,
  };
  return [
    {
      kind: "paragraph",
      text: `Protocol: ${protocol.protocol}. Source: ${protocol.source}. ltkit chooses tau and ` +
        `every other stage-2 setting on validation data, while most published figures were ` +
        `tuned on the test set.`,
    },
    rows.length > 0
      ? { kind: "table", table }
      : { kind: "paragraph", text: "None of the run's methods has a published figure." },
  ];
}
