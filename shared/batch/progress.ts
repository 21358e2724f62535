/**
 * Progress display of the CLI: a bar redrawn in place on a terminal, plain lines (at most one a
 * second, plus the last) otherwise, so logs and CI output stay readable.
 *
 *   [██████████░░░░░░░░░░] 51.2%  25,600/50,000  12,480 users/s  ETA 0:02  errors 512
 */
import type { BatchProgress } from "./engine.ts";

const number = new Intl.NumberFormat("en-US");

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

export interface ProgressFigures {
  readonly percent: number;
  readonly rate: number;
  readonly etaSeconds: number;
}

export function figuresOf(progress: BatchProgress): ProgressFigures {
  const seconds = progress.elapsedMs / 1000;
  const rate = seconds > 0 ? progress.invocationProcessed / seconds : 0;
  const remaining = Math.max(0, progress.total - progress.processed);
  return {
    percent: progress.total > 0 ? Math.min(100, (progress.processed / progress.total) * 100) : 100,
    rate,
    etaSeconds: rate > 0 ? remaining / rate : Number.POSITIVE_INFINITY,
  };
}

export function formatProgress(progress: BatchProgress, barWidth = 20): string {
  const { percent, rate, etaSeconds } = figuresOf(progress);
  const filled = Math.round((percent / 100) * barWidth);
  const bar = "█".repeat(filled) + "░".repeat(barWidth - filled);
  return `[${bar}] ${percent.toFixed(1).padStart(5)}%  ` +
    `${number.format(progress.processed)}/${number.format(progress.total)}  ` +
    `${number.format(Math.round(rate))} users/s  ETA ${formatDuration(etaSeconds)}  ` +
    `errors ${number.format(progress.errors)}`;
}

export interface ProgressOutput {
  write(text: string): void;
  readonly isTerminal: boolean;
}

/** Feeds BatchProgress updates to a terminal (one redrawn line) or a log (throttled lines). */
export class ProgressReporter {
  #lastLine = 0;
  #pending: BatchProgress | null = null;
  #drawn = false;

  constructor(
    private readonly out: ProgressOutput,
    private readonly clock: () => number = () => performance.now(),
    private readonly intervalMs = 1000,
  ) {}

  update(progress: BatchProgress): void {
    if (this.out.isTerminal) {
      this.out.write(`\r\x1b[2K${formatProgress(progress)}`);
      this.#drawn = true;
      return;
    }
    const now = this.clock();
    if (this.#lastLine === 0 || now - this.#lastLine >= this.intervalMs) {
      this.out.write(`${formatProgress(progress)}\n`);
      this.#lastLine = now;
      this.#pending = null;
    } else {
      this.#pending = progress;
    }
  }

  /** Ends the bar's line, or prints the last throttled update. */
  finish(): void {
    if (this.out.isTerminal && this.#drawn) this.out.write("\n");
    if (!this.out.isTerminal && this.#pending) this.out.write(`${formatProgress(this.#pending)}\n`);
    this.#pending = null;
    this.#drawn = false;
  }
}
