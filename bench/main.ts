/**
 * `deno task bench`: every benchmark, each printing figures measured side by side in one run
 * (ratios, not absolute times, are what carry across this shared, noisy machine).
 * `deno task bench migrator batch` runs a subset. PostgreSQL figures need TEST_DATABASE_URL.
 */
const SUITES: Record<string, () => Promise<unknown>> = {
  migrator: async () => (await import("./migrator.ts")).run(),
  auth: async () => (await import("./auth.ts")).run(),
  coordinator: async () => (await import("./coordinator.ts")).run(),
  batch: async () => (await import("./batch.ts")).run(),
  devserver: async () => (await import("./devserver.ts")).run(),
  runtime: async () => (await import("./runtime.ts")).run(),
  sync: async () => (await import("./sync.ts")).run(),
  fidelity: async () => (await import("./fidelity.ts")).run(),
  sessions: async () => (await import("./sessions.ts")).run(),
};

const wanted = Deno.args.length > 0 ? Deno.args : Object.keys(SUITES);
const unknown = wanted.filter((name) => !(name in SUITES));
if (unknown.length > 0) {
  console.error(
    `unknown benchmark(s): ${unknown.join(", ")}; known: ${Object.keys(SUITES).join(", ")}`,
  );
  Deno.exit(2);
}
for (const name of wanted) {
  console.log(`\n## ${name}\n`);
  await SUITES[name]!();
}
