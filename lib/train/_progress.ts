/**
 * Progress on long work: a redrawn bar on a terminal, one line per epoch otherwise.
 *
 * @module
 */

/**
 * What a training step reports.
 *
 * @example
 * ```ts
 * import { Progress, type StepReport } from "./_progress.ts";
 * const report: StepReport = {
 *   epoch: 1,
 *   epochs: 30,
 *   step: 100,
 *   steps: 100,
 *   loss: 0.4321,
 *   accuracy: 0.85,
 *   imagesPerSecond: 1200,
 *   secondsLeft: 3700,
 * };
 * new Progress("stage 1", { interactive: false }).epoch(report);
 * // stderr: "stage 1 epoch 1/30: loss 0.4321 acc 85.00% 1200 img/s, 1h01m left"
 * ```
 */
export interface StepReport {
  /** Current epoch, from 1. */
  epoch: number;
  /** Epochs in the run. */
  epochs: number;
  /** Steps done in this epoch. */
  step: number;
  /** Steps in this epoch. */
  steps: number;
  /** Mean loss so far in this epoch. */
  loss: number;
  /** Training accuracy so far in this epoch, 0..1. */
  accuracy: number;
  /** Throughput. */
  imagesPerSecond: number;
  /** Estimated time to the end of the run. */
  secondsLeft: number;
}

/**
 * Formats seconds as `1h02m`, `3m05s` or `12s`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDuration } from "./_progress.ts";
 * assert.deepEqual([formatDuration(3725), formatDuration(185), formatDuration(12.4)], [
 *   "1h02m",
 *   "3m05s",
 *   "12s",
 * ]);
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) {
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  }
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/**
 * Writes progress to stderr: a bar redrawn in place on a terminal, or one line per epoch.
 *
 * @example
 * ```ts
 * import { Progress, type StepReport } from "./_progress.ts";
 * const progress = new Progress("stage 1", { interactive: false });
 * const report: StepReport = {
 *   epoch: 2,
 *   epochs: 6,
 *   step: 10,
 *   steps: 10,
 *   loss: 1.25,
 *   accuracy: 0.5,
 *   imagesPerSecond: 640,
 *   secondsLeft: 90,
 * };
 * progress.step(report); // draws nothing: not a terminal
 * progress.epoch(report);
 * // stderr: "stage 1 epoch 2/6: loss 1.2500 acc 50.00% 640 img/s, 1m30s left"
 * progress.info("checkpoint saved"); // stderr: "checkpoint saved"
 * ```
 */
export class Progress {
  /** Prefix of every line. */
  readonly label: string;
  /** Redraw a bar in place (default: when stderr is a terminal). */
  readonly interactive: boolean;
  /** Write nothing at all. */
  readonly quiet: boolean;
  #lastDraw = 0;

  /**
   * Creates a progress writer.
   *
   * @param label Prefix of every line, e.g. `stage 1`.
   * @param options `quiet` writes nothing; `interactive` forces or disables the redrawn bar.
   */
  constructor(label: string, options: { quiet?: boolean; interactive?: boolean } = {}) {
    this.label = label;
    this.quiet = options.quiet ?? false;
    this.interactive = options.interactive ?? Deno.stderr.isTerminal();
  }

  /** Redraws the bar (terminal only, at most 10 times a second). */
  step(r: StepReport): void {
    if (this.quiet || !this.interactive) return;
    const now = performance.now();
    if (now - this.#lastDraw < 100 && r.step < r.steps) return;
    this.#lastDraw = now;
    const width = 24;
    const filled = Math.round((r.step / r.steps) * width);
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    const line = `${this.label} epoch ${r.epoch}/${r.epochs} [${bar}] ${r.step}/${r.steps} ` +
      `loss ${r.loss.toFixed(4)} acc ${(100 * r.accuracy).toFixed(1)}% ` +
      `${r.imagesPerSecond.toFixed(0)} img/s, ${formatDuration(r.secondsLeft)} left`;
    Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[2K${line}`));
  }

  /** Ends an epoch: a newline on a terminal, a summary line elsewhere. */
  epoch(r: StepReport, extra = ""): void {
    if (this.quiet) return;
    const line = `${this.label} epoch ${r.epoch}/${r.epochs}: loss ${r.loss.toFixed(4)} ` +
      `acc ${(100 * r.accuracy).toFixed(2)}% ${r.imagesPerSecond.toFixed(0)} img/s, ` +
      `${formatDuration(r.secondsLeft)} left${extra}`;
    const text = this.interactive ? `\r\x1b[2K${line}\n` : `${line}\n`;
    Deno.stderr.writeSync(new TextEncoder().encode(text));
  }

  /** A plain message line. */
  info(message: string): void {
    if (this.quiet) return;
    const text = this.interactive ? `\r\x1b[2K${message}\n` : `${message}\n`;
    Deno.stderr.writeSync(new TextEncoder().encode(text));
  }
}
