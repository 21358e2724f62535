/**
 * EdgeFunctionMigrator benchmarks (issue 2). Ratios are measured side by side in one run: the
 * variants are interleaved request by request (alternating which goes first), so machine noise
 * hits both alike.
 *
 * (a) Overhead: the same handler called directly vs through the migrator (POST with a JSON body
 *     carrying an email, so body buffering, routing-key extraction, sticky hashing, the fallback
 *     timer and header stamping are all on the measured path; rollout 50%, fallback on, shadow
 *     off). Two handlers: a trivial one (absolute added µs) and a realistic one doing ~1 ms of
 *     work (ratio target ≤ 1.05×, added p50 ≤ 0.1 ms).
 * (b) Client-visible latency with shadow comparison on vs off (read-only operation, ~1 ms
 *     handler): the time until the client has read the whole response. Shadow work runs after the
 *     response; it is drained between requests (untimed) and its cost is reported separately.
 *
 * Sinks: in-memory (MemoryMetricsSink / MemoryComparisonSink), so the figures are the migrator's
 * own cost, not the database's; in production both writes are batched and off the response path.
 * Routing config: staticRoutingSource (the flags cache returns an already-resolved promise while
 * fresh, the same cost).
 *
 * Run: deno run -A bench/migrator.ts   (or import { run } and await run())
 */
import { defaultRoutingConfig, staticRoutingSource } from "../shared/flags/resolve.ts";
import { BackgroundTasks } from "../shared/migrator/background.ts";
import { MemoryComparisonSink } from "../shared/migrator/comparison-store.ts";
import { MemoryMetricsSink } from "../shared/migrator/metrics-writer.ts";
import { EdgeFunctionMigrator } from "../shared/migrator/migrator.ts";
import type { Handler, HandlerContext, OperationPolicy } from "../shared/migrator/types.ts";

const READ: OperationPolicy = { name: "profile.read", safety: "read_only", shadow: "live" };

/** ~`ms` of CPU work (a stand-in for validation, hashing, serialisation). */
function work(ms: number): number {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 200; i++) x = (x * 31 + i) | 0;
  }
  return x;
}

const trivial: Handler = () => Promise.resolve(Response.json({ ok: true }));
const oneMs: Handler = async (req) => {
  const body = await req.json();
  return Response.json({ ok: true, email: body.email, n: work(1) & 1 });
};

const directContext: HandlerContext = {
  requestId: "bench",
  path: "/signup",
  mode: "live",
  signal: new AbortController().signal,
  claimCommit: () => true,
  canary: false,
};

function request(i: number): Request {
  return new Request("http://localhost/signup", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: `user-${i}@example.com`, password: "not-a-real-password" }),
  });
}

function migratorFor(handler: Handler, enableComparison: boolean) {
  const background = new BackgroundTasks();
  const migrator = new EdgeFunctionMigrator({
    policy: { functionName: "signup", classify: () => READ },
    original: handler,
    abstracted: handler,
    routing: staticRoutingSource(defaultRoutingConfig({
      rolloutPercentage: enableComparison ? 0 : 50,
      enableFallback: true,
      enableComparison,
      fallbackTimeoutMs: 5000,
    })),
    metrics: new MemoryMetricsSink(1000),
    comparisons: new MemoryComparisonSink(),
    background,
  });
  return { migrator, background };
}

interface Stats {
  p50: number;
  p95: number;
  mean: number;
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p95: at(0.95), mean: samples.reduce((a, b) => a + b, 0) / samples.length };
}

/** Runs A and B alternately (ABBA order), returning per-request client-visible times in ms. */
async function interleave(
  iterations: number,
  a: (i: number) => Promise<void>,
  b: (i: number) => Promise<void>,
  between?: () => Promise<void>,
): Promise<{ a: number[]; b: number[] }> {
  const out = { a: [] as number[], b: [] as number[] };
  const time = async (fn: (i: number) => Promise<void>, i: number, into: number[]) => {
    const started = performance.now();
    await fn(i);
    into.push(performance.now() - started);
    if (between) await between();
  };
  for (let i = 0; i < iterations; i++) {
    if (i % 2 === 0) {
      await time(a, i, out.a);
      await time(b, i, out.b);
    } else {
      await time(b, i, out.b);
      await time(a, i, out.a);
    }
  }
  return out;
}

/** Requests are built outside the timed region (the server builds them before any handler). */
function prebuilt(count: number): Request[] {
  return Array.from({ length: count }, (_, i) => request(i));
}

async function overhead(handler: Handler, iterations: number, warmup: number) {
  const { migrator, background } = migratorFor(handler, false);
  let direct = prebuilt(iterations + warmup);
  let wrapped = prebuilt(iterations + warmup);
  const callDirect = async (i: number) => {
    await (await handler(direct[i]!, directContext)).text();
  };
  const callMigrator = async (i: number) => {
    await (await migrator.handle(wrapped[i]!)).text();
  };
  await interleave(warmup, callDirect, callMigrator);
  direct = direct.slice(warmup);
  wrapped = wrapped.slice(warmup);
  const result = await interleave(iterations, callDirect, callMigrator);
  await background.drain();
  return { direct: stats(result.a), migrator: stats(result.b) };
}

async function shadowLatency(iterations: number, warmup: number) {
  const off = migratorFor(oneMs, false);
  const on = migratorFor(oneMs, true);
  let offRequests = prebuilt(iterations + warmup);
  let onRequests = prebuilt(iterations + warmup);
  const shadowCost: number[] = [];
  const callOff = async (i: number) => {
    await (await off.migrator.handle(offRequests[i]!)).text();
  };
  const callOn = async (i: number) => {
    await (await on.migrator.handle(onRequests[i]!)).text();
  };
  const drain = async () => {
    const started = performance.now();
    await on.background.drain();
    await off.background.drain();
    shadowCost.push(performance.now() - started);
  };
  await interleave(warmup, callOff, callOn, drain);
  offRequests = offRequests.slice(warmup);
  onRequests = onRequests.slice(warmup);
  shadowCost.length = 0;
  const result = await interleave(iterations, callOff, callOn, drain);
  return { off: stats(result.a), on: stats(result.b), shadow: stats(shadowCost) };
}

const ms = (value: number) => value.toFixed(3).padStart(9);
const us = (value: number) => `${(value * 1000).toFixed(1)} µs`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(3)}×`;
const verdict = (passed: boolean) => (passed ? "PASS" : "FAIL");

export async function run(): Promise<void> {
  const trivialRun = await overhead(trivial, 20_000, 2_000);
  const realisticRun = await overhead(oneMs, 2_000, 200);
  const shadowRun = await shadowLatency(2_000, 200);

  const addedTrivial = trivialRun.migrator.p50 - trivialRun.direct.p50;
  const addedRealistic = realisticRun.migrator.p50 - realisticRun.direct.p50;
  const realisticRatio = realisticRun.migrator.p50 / realisticRun.direct.p50;
  const shadowRatio = shadowRun.on.p50 / shadowRun.off.p50;

  console.log("\nEdgeFunctionMigrator benchmarks (ms; interleaved, in-memory sinks)\n");
  console.log("variant                               p50       p95      mean");
  const row = (name: string, s: Stats) =>
    console.log(`${name.padEnd(32)}${ms(s.p50)} ${ms(s.p95)} ${ms(s.mean)}`);
  row("trivial handler, direct", trivialRun.direct);
  row("trivial handler, via migrator", trivialRun.migrator);
  row("~1 ms handler, direct", realisticRun.direct);
  row("~1 ms handler, via migrator", realisticRun.migrator);
  row("~1 ms handler, shadow off", shadowRun.off);
  row("~1 ms handler, shadow on", shadowRun.on);
  row("shadow work after response (untimed)", shadowRun.shadow);

  console.log("\nresult                                   value          target     verdict");
  const line = (name: string, value: string, target: string, passed: boolean) =>
    console.log(`${name.padEnd(40)} ${value.padEnd(14)} ${target.padEnd(10)} ${verdict(passed)}`);
  line("added p50, trivial handler", us(addedTrivial), "(info)", true);
  line(
    "added p95, trivial handler",
    us(trivialRun.migrator.p95 - trivialRun.direct.p95),
    "(info)",
    true,
  );
  line("added p50, ~1 ms handler", us(addedRealistic), "≤ 100 µs", addedRealistic <= 0.1);
  line(
    "migrator / direct p50, ~1 ms handler",
    `${realisticRatio.toFixed(3)}×`,
    "≤ 1.05×",
    realisticRatio <= 1.05,
  );
  line(
    "migrator / direct p95, ~1 ms handler",
    ratio(realisticRun.migrator.p95, realisticRun.direct.p95),
    "(info)",
    true,
  );
  line(
    "shadow on / off p50 (client-visible)",
    `${shadowRatio.toFixed(3)}×`,
    "≤ 1.05×",
    shadowRatio <= 1.05,
  );
  line(
    "shadow on / off p95 (client-visible)",
    ratio(shadowRun.on.p95, shadowRun.off.p95),
    "(info)",
    true,
  );
  console.log("");
}

if (import.meta.main) await run();
