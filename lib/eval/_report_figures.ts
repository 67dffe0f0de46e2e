/**
 * The figures of a run's report, drawn as standalone SVG from a {@link RunReport}.
 *
 * @module
 */

import { methodRow } from "../stage2/registry.ts";
import {
  barChart,
  lineChart,
  type Marker,
  panelRow,
  reliabilityDiagram,
  type Series,
} from "./figures.ts";
import { ECE_BINS } from "./metrics.ts";
import { formatTau, GROUP_TITLES, percentOrNull } from "./_report_format.ts";
import type { ReportFigure, RunReport, TauCurve } from "./_report_model.ts";

/**
 * Every figure file the report may write; the ones a run does not produce are removed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FIGURE_IDS } from "./_report_figures.ts";
 * assert.equal(FIGURE_IDS[0], "accuracy_by_group");
 * assert.ok(Object.isFrozen(FIGURE_IDS));
 * ```
 */
export const FIGURE_IDS: readonly string[] = Object.freeze([
  "accuracy_by_group",
  "tau_curves",
  "accuracy_vs_count",
  "weight_norms",
  "reliability",
  "stage1",
]);

// A method's colour and dash come from its row in the stage-2 method table, so they are the same
// in every figure; a method outside the table gets a spare colour.
const SPARE = ["#882255", "#117733", "#332288", "#AA4499"];

function styleOf(name: string, index: number): { color: string; dash?: string } {
  const style = methodRow(name)?.style;
  return style
    ? { color: style.color, dash: style.dash }
    : { color: SPARE[index % SPARE.length], dash: "4 2" };
}

/** Classes ordered by training count, largest first (ties by index). */
function headToTail(report: RunReport): number[] {
  return report.classes.map((_, c) => c).sort((a, b) =>
    report.trainCounts[b] - report.trainCounts[a] || a - b
  );
}

function tauAt(curve: TauCurve, tau: number): number | null {
  const i = curve.tau.findIndex((t) => Math.abs(t - tau) < 1e-9);
  return i === -1 ? null : 100 * curve.valAccuracy[i];
}

/**
 * Draws the report's figures; a figure without data (no stage-1 history, no tau sweep...) is
 * left out.
 *
 * @param report The run.
 * @returns The figures, numbered in report order.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exampleRunReport } from "./_example.ts";
 * import { reportFigures } from "./_report_figures.ts";
 * const figures = reportFigures(exampleRunReport());
 * assert.deepEqual(figures.map((f) => [f.number, f.file]), [
 *   [1, "figures/accuracy_by_group.svg"],
 *   [2, "figures/tau_curves.svg"],
 *   [3, "figures/accuracy_vs_count.svg"],
 *   [4, "figures/weight_norms.svg"],
 *   [5, "figures/stage1.svg"],
 * ]);
 * ```
 */
export function reportFigures(report: RunReport): ReportFigure[] {
  const figures: Omit<ReportFigure, "number" | "file">[] = [];
  const methods = report.methods;
  const styled = methods.map((m, i) => ({ m, style: styleOf(m.name, i) }));
  if (methods.length > 0) {
    const groups = (["many", "medium", "few"] as const).filter((g) =>
      methods.some((m) => m[g] !== null)
    );
    figures.push({
      id: "accuracy_by_group",
      title: "Test accuracy by shot group",
      caption: "Test accuracy (%) of every method: All (mean of per-class accuracies) and the " +
        "Many / Medium / Few shot groups.",
      svg: barChart({
        title: "Test accuracy by shot group",
        xLabel: "shot group",
        yLabel: "test accuracy (%)",
        yCap: 100,
        categories: ["All", ...groups.map((g) => GROUP_TITLES[g])],
        series: styled.map(({ m, style }) => ({
          label: m.label,
          color: style.color,
          values: [percentOrNull(m.all), ...groups.map((g) => percentOrNull(m[g]))],
        })),
      }),
    });
  }
  const swept = styled.filter(({ m }) => m.tauCurve !== null);
  if (swept.length > 0) {
    const markers: Marker[] = swept.filter(({ m }) => m.chosenTau !== null).map(({ m, style }) => ({
      x: m.chosenTau!,
      y: tauAt(m.tauCurve!, m.chosenTau!),
      label: `${m.label.replace(/\s*\(τ=[^)]*\)$/, "")}: τ = ${formatTau(m.chosenTau!)}`,
      color: style.color,
    }));
    figures.push({
      id: "tau_curves",
      title: "Validation accuracy against τ",
      caption: "Validation accuracy (All, %) over the τ sweep; rings mark the τ chosen on " +
        "validation and used on test (ties go to the smallest τ).",
      svg: lineChart({
        title: "Validation accuracy against τ",
        xLabel: "τ",
        yLabel: "validation accuracy, All (%)",
        yCap: 100,
        series: swept.map(({ m, style }) => ({
          label: m.label,
          color: style.color,
          dash: style.dash,
          x: m.tauCurve!.tau,
          y: m.tauCurve!.valAccuracy.map(percentOrNull),
        })),
        markers,
      }),
    });
  }
  if (methods.length > 0) {
    const order = headToTail(report).reverse();
    const t = report.thresholds;
    figures.push({
      id: "accuracy_vs_count",
      title: "Per-class test accuracy against training images",
      caption: "Test accuracy of each class against its number of training images (log scale); " +
        "dashed lines are the shot-group thresholds.",
      svg: lineChart({
        title: "Per-class test accuracy against training images",
        xLabel: "training images of the class (log scale)",
        yLabel: "test accuracy (%)",
        yCap: 100,
        xScale: "log",
        series: styled.map(({ m, style }): Series => ({
          label: m.label,
          color: style.color,
          dash: style.dash,
          x: order.map((c) => report.trainCounts[c]),
          y: order.map((c) => percentOrNull(m.perClass[c])),
        })),
        markers: [
          { x: t.many, label: `Many > ${t.many}`, color: "#777777", anchor: "start" },
          { x: t.few, label: `Few < ${t.few}`, color: "#777777", anchor: "end" },
        ],
      }),
    });
  }
  const normed = styled.filter(({ m }) =>
    methodRow(m.name)?.weightNorms === true && m.weightNorms !== null
  );
  if (normed.length > 0) {
    const order = headToTail(report);
    const frame = {
      title: "Classifier weight norm per class",
      xLabel: "class, sorted by training images (head → tail)",
      yLabel: "‖w_c‖",
    };
    const svg = order.length <= 40
      ? barChart({
        ...frame,
        categories: order.map((c) => report.classes[c]),
        series: normed.map(({ m, style }) => ({
          label: m.label,
          color: style.color,
          values: order.map((c) => m.weightNorms![c]),
        })),
      })
      : lineChart({
        ...frame,
        xLabel: "class rank by training images (0 = head)",
        yInclude: [0],
        series: normed.map(({ m, style }) => ({
          label: m.label,
          color: style.color,
          dash: style.dash,
          style: "line",
          x: order.map((_, r) => r),
          y: order.map((c) => m.weightNorms![c]),
        })),
      });
    figures.push({
      id: "weight_norms",
      title: frame.title,
      caption: "Norm of each class's effective classifier weights (LWS: scale times norm), " +
        "classes from head to tail. In the paper, joint training's norms follow the class " +
        "sizes and cRT, τ-norm and LWS make them more even.",
      svg,
    });
  }
  const calibrated = styled.filter(({ m }) => m.calibration);
  if (calibrated.length > 0) {
    const title = "Reliability diagram (test set)";
    figures.push({
      id: "reliability",
      title,
      caption: `Accuracy against mean top-1 confidence in each of ${ECE_BINS} equal-width ` +
        "confidence bins (empty bins are gaps). Points under the diagonal are over-confident.",
      svg: reliabilityDiagram(
        title,
        calibrated.map(({ m, style }) => ({
          label: m.label,
          color: style.color,
          dash: style.dash,
          confidence: m.calibration!.bins.confidence,
          accuracy: m.calibration!.bins.accuracy,
        })),
      ),
    });
  }
  const h = report.stage1History;
  if (h.length > 0) {
    const epochs = h.map((r) => r.epoch);
    const panel = { xLabel: "epoch", xInteger: true, legend: false, width: 380, height: 340 };
    figures.push({
      id: "stage1",
      title: "Stage 1: training loss and accuracy by epoch",
      caption: "Mean training loss and training accuracy (augmented batches) of each stage-1 " +
        "epoch.",
      svg: panelRow("Stage 1: training loss and accuracy by epoch", [
        lineChart({
          ...panel,
          title: "Training loss",
          yLabel: "loss",
          series: [{ label: "loss", x: epochs, y: h.map((r) => r.loss), color: "#0072B2" }],
        }),
        lineChart({
          ...panel,
          title: "Training accuracy",
          yLabel: "accuracy (%)",
          yCap: 100,
          series: [{
            label: "accuracy",
            x: epochs,
            y: h.map((r) => percentOrNull(r.accuracy)),
            color: "#D55E00",
          }],
        }),
      ]),
    });
  }
  return figures.map((f, i) => ({ ...f, number: i + 1, file: `figures/${f.id}.svg` }));
}
