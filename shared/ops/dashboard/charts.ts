/**
 * Small inline SVG sparklines for the dashboard: no script, no library, readable by screen
 * readers (role="img" with a text summary) and printable. A null value (no traffic in that
 * bucket) breaks the line instead of drawing a misleading zero.
 */
import { html } from "hono/html";

export interface SparklineOptions {
  /** Accessible name, e.g. "login abstracted p95 (ms)". */
  readonly label: string;
  readonly width?: number;
  readonly height?: number;
  /** Fixed top of the scale (e.g. 1 for rates); default: the largest value. */
  readonly max?: number;
  /** CSS class for the stroke colour. */
  readonly tone?: "original" | "abstracted";
  /** Formats values in the summary. */
  readonly format?: (value: number) => string;
}

/** The polyline segments ("x,y x,y …") of a series, split where values are missing. */
export function sparklineSegments(
  values: readonly (number | null)[],
  width: number,
  height: number,
  max?: number,
): string[] {
  const present = values.filter((v): v is number => v !== null);
  const top = max ?? Math.max(0, ...present);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  const y = (v: number) => {
    const scaled = top > 0 ? Math.min(v, top) / top : 0;
    // One pixel of padding keeps the stroke inside the box.
    return (height - 1 - scaled * (height - 2)).toFixed(1);
  };
  const segments: string[] = [];
  let current: string[] = [];
  values.forEach((value, index) => {
    if (value === null) {
      if (current.length > 0) segments.push(current.join(" "));
      current = [];
      return;
    }
    current.push(`${(index * step).toFixed(1)},${y(value)}`);
  });
  if (current.length > 0) segments.push(current.join(" "));
  return segments;
}

export function sparkline(values: readonly (number | null)[], options: SparklineOptions) {
  const width = options.width ?? 140;
  const height = options.height ?? 32;
  const format = options.format ?? ((v: number) => String(Math.round(v * 100) / 100));
  const present = values.filter((v): v is number => v !== null);
  const summary = present.length === 0
    ? `${options.label}: no data`
    : `${options.label}: latest ${format(present[present.length - 1]!)}, min ${
      format(Math.min(...present))
    }, max ${format(Math.max(...present))}`;
  const segments = sparklineSegments(values, width, height, options.max);
  return html`
    <svg class="spark ${options.tone ?? ""}" role="img" aria-label="${summary}" width="${width}"
      height="${height}"
      viewBox="0 0 ${width} ${height}"><title>${summary}</title>${segments.map((points) =>
        points.includes(" ")
          ? html`
            <polyline points="${points}" fill="none" stroke-width="1.5" />
          `
          : html`
            <circle cx="${points.split(",")[0]}" cy="${points.split(",")[1]}" r="1.5" />
          `
      )}</svg>
  `;
}
