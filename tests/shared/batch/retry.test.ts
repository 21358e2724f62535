import assert from "node:assert/strict";
import { freshPglite } from "../../helpers/db.ts";
import {
  backoffDelay,
  describeError,
  isTransientError,
  RetriesExhaustedError,
  withRetry,
} from "../../../shared/batch/retry.ts";
import { PASSWORD_HASH } from "./helpers.ts";

const pgError = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });

Deno.test("transient errors: serialization, deadlock, connection loss; not constraint errors", () => {
  for (const code of ["40001", "40P01", "08006", "57P01", "ECONNRESET", "CONNECTION_CLOSED"]) {
    assert.equal(isTransientError(pgError(code)), true, code);
  }
  for (const code of ["23505", "22007", "42P01"]) {
    assert.equal(isTransientError(pgError(code)), false);
  }
  assert.equal(isTransientError(new Error("no code")), false);
});

Deno.test("backoff is exponential with full jitter and capped", () => {
  const policy = { maxRetries: 5, baseDelayMs: 100, maxDelayMs: 1000 };
  assert.equal(backoffDelay(1, { ...policy, random: () => 0.999 }), 99);
  assert.equal(backoffDelay(3, { ...policy, random: () => 0.5 }), 200);
  assert.equal(backoffDelay(10, { ...policy, random: () => 0.999 }), 999);
  assert.equal(backoffDelay(2, { ...policy, random: () => 0 }), 0);
});

Deno.test("withRetry retries transient failures only, then gives up", async () => {
  const sleeps: number[] = [];
  const policy = {
    maxRetries: 2,
    baseDelayMs: 10,
    maxDelayMs: 100,
    random: () => 1,
    sleep: (ms: number) => (sleeps.push(ms), Promise.resolve()),
  };
  let calls = 0;
  assert.equal(
    await withRetry(
      () => ++calls < 3 ? Promise.reject(pgError("40P01")) : Promise.resolve("ok"),
      policy,
    ),
    "ok",
  );
  assert.deepEqual(sleeps, [10, 20]);
  calls = 0;
  await assert.rejects(
    () => withRetry(() => (calls++, Promise.reject(pgError("40001"))), policy),
    (e: RetriesExhaustedError) => e instanceof RetriesExhaustedError && e.attempts === 3,
  );
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(() => withRetry(() => (calls++, Promise.reject(pgError("23505"))), policy));
  assert.equal(calls, 1, "permanent errors are not retried");
});

Deno.test("a stored error never carries the failing row (password hashes stay out)", async () => {
  const db = await freshPglite();
  try {
    const error = await db.query(
      `INSERT INTO "user" (id, name, email, "emailVerified") VALUES (gen_random_uuid(), $1, 'UPPER@X.COM', true)`,
      [PASSWORD_HASH],
    ).then(() => null, (e: unknown) => e);
    assert.ok(error);
    const stored = describeError(error);
    assert.equal(stored.code, "23514");
    assert.ok(!JSON.stringify(stored).includes(PASSWORD_HASH));
    assert.ok(!JSON.stringify(describeError(new Error(`boom ${PASSWORD_HASH}`))).includes("$2a$"));
  } finally {
    await db.close();
  }
});
