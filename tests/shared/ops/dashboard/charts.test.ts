import assert from "node:assert/strict";
import { sparkline, sparklineSegments } from "../../../../shared/ops/dashboard/charts.ts";

Deno.test("sparklineSegments scales into the box and breaks at missing values", () => {
  assert.deepEqual(sparklineSegments([0, 10, null, 5, 10], 40, 11), [
    "0.0,10.0 10.0,1.0",
    "30.0,5.5 40.0,1.0",
  ]);
  assert.deepEqual(sparklineSegments([null, null], 40, 11), []);
  assert.deepEqual(sparklineSegments([2, 4], 10, 11, 1), ["0.0,1.0 10.0,1.0"], "clamped at max");
});

Deno.test("sparkline is an accessible, escaped inline SVG", async () => {
  const svg = String(
    await sparkline([1, null, 3], { label: 'login <p95> "ms"', tone: "abstracted" }),
  ).trim();
  assert.match(
    svg,
    /^<svg class="spark abstracted" role="img" aria-label="login &lt;p95&gt; &quot;ms&quot;: latest 3, min 1, max 3"/,
  );
  assert.match(svg, /<title>login &lt;p95&gt; &quot;ms&quot;: latest 3/);
  assert.equal((svg.match(/<circle /g) ?? []).length, 2, "isolated points are dots");
  const empty = String(await sparkline([null], { label: "none" }));
  assert.match(empty, /aria-label="none: no data"/);
});
