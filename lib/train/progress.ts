/**
 * Progress on long work: a redrawn bar on a terminal, one line per epoch otherwise.
 *
 * @module
 */

/** What a training step reports. */
export interface StepReport {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  secondsLeft: number;
}

/** Formats seconds as `1h02m`, `3m05s` or `12s`. */
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
 * ```ts ignore
 * const progress = new Progress("stage 1");
 * progress.step(report);
 * progress.epoch(report);
 * ```
 */
export class Progress {
  readonly label: string;
  readonly interactive: boolean;
  readonly quiet: boolean;
  #lastDraw = 0;

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
