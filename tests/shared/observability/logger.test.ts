import assert from "node:assert/strict";
import {
  createLogger,
  createMemorySink,
  isLogThreshold,
  serializeError,
} from "../../../shared/observability/logger.ts";

const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLXNpZw";
const FIXED = new Date("2026-11-23T10:00:00.000Z");

Deno.test("one JSON line per record: ts, level, msg, function, request_id, then fields", () => {
  const logs = createMemorySink();
  const logger = createLogger({ sink: logs.sink, fields: { function: "login" }, now: () => FIXED })
    .child({ request_id: "req-00000001" });
  logger.info("signed in", { user_id: "u1", duration_ms: 12 });
  assert.deepEqual(logs.lines, [
    '{"ts":"2026-11-23T10:00:00.000Z","level":"info","msg":"signed in","function":"login",' +
    '"request_id":"req-00000001","user_id":"u1","duration_ms":12}',
  ]);
});

Deno.test("LOG_LEVEL filters; silent writes nothing", () => {
  const logs = createMemorySink();
  const warn = createLogger({ level: "warn", sink: logs.sink });
  warn.debug("d");
  warn.info("i");
  warn.warn("w");
  warn.error("e");
  assert.deepEqual(logs.records.map((record) => record.level), ["warn", "error"]);
  assert.ok(!warn.isEnabled("info") && warn.isEnabled("error"));
  const silent = createLogger({ level: "silent", sink: logs.sink });
  silent.error("nothing");
  assert.equal(logs.records.length, 2);
  assert.ok(isLogThreshold("debug") && !isLogThreshold("verbose"));
});

Deno.test("passwords, tokens and keys never reach the sink, in fields, messages or errors", () => {
  const logs = createMemorySink();
  const logger = createLogger({ sink: logs.sink });
  logger.error(`login failed with password=hunter2 and ${JWT}`, {
    password: "hunter2",
    body: { email: "a@b.io", password: "hunter2", nested: { refresh_token: "rt-secret-1" } },
    headers: { authorization: `Bearer ${JWT}`, apikey: "sb_secret_abcdef", cookie: "sb=1" },
    url: "/login?token=tok-secret-2",
    error: new Error(`upstream said ${JWT} with service_role key sb_secret_abcdef`),
    service_role_key: "srk",
  });
  const line = logs.lines[0]!;
  for (
    const secret of [
      "hunter2",
      JWT,
      "rt-secret-1",
      "sb_secret_abcdef",
      "tok-secret-2",
      "sb=1",
      '"srk"',
    ]
  ) {
    assert.ok(!line.includes(secret), `${secret} leaked: ${line}`);
  }
  const record = logs.records[0]!;
  assert.equal((record.body as { email: string }).email, "a@b.io", "emails kept by default");
  assert.equal((record.error as { name: string }).name, "Error");
  assert.match(String((record.error as { stack: string }).stack), /logger\.test\.ts/);
});

Deno.test("emails can be scrubbed too", () => {
  const logs = createMemorySink();
  createLogger({ sink: logs.sink, redactEmails: true }).warn("retry for a@b.io", {
    email: "a@b.io",
  });
  assert.ok(!logs.lines[0]!.includes("a@b.io"), logs.lines[0]);
});

Deno.test("odd values are serialised, never thrown: cycles, bigint, depth, reserved names", () => {
  const logs = createMemorySink();
  const logger = createLogger({ sink: logs.sink });
  const cyclic: Record<string, unknown> = { name: "loop" };
  cyclic.self = cyclic;
  let deep: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < 20; i++) deep = { deep };
  logger.info("odd", {
    cyclic,
    big: 2n ** 70n,
    deep,
    fn: () => 1,
    nan: Number.NaN,
    when: FIXED,
    level: "not the level",
    msg: "not the message",
    skipped: undefined,
  });
  const record = logs.records[0]!;
  assert.equal(record.level, "info");
  assert.equal(record.msg, "odd");
  assert.equal(record.field_level, "not the level");
  assert.equal(record.field_msg, "not the message");
  assert.deepEqual(record.cyclic, { name: "loop", self: "[circular]" });
  assert.equal(record.big, "1180591620717411303424");
  assert.match(JSON.stringify(record.deep), /\[depth limit\]/);
  assert.equal(record.nan, "NaN");
  assert.equal(record.when, FIXED.toISOString());
  assert.ok(!("fn" in record) && !("skipped" in record));
  JSON.parse(logs.lines[0]!);
});

Deno.test("a failing sink or an unserialisable value never breaks the caller", () => {
  const throwing = createLogger({
    sink: () => {
      throw new Error("stdout closed");
    },
  });
  throwing.error("still fine");
  const logs = createMemorySink();
  const hostile = {
    get boom() {
      throw new Error("getter with password=hunter2");
    },
  };
  createLogger({ sink: logs.sink }).info("hostile", { hostile });
  assert.equal(logs.records[0]!.msg, "log record could not be serialised");
  assert.ok(!logs.lines[0]!.includes("hunter2"));
});

Deno.test("serializeError keeps code and cause chain", () => {
  const cause = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
  const out = serializeError(new Error("query failed", { cause }));
  assert.equal(out.message, "query failed");
  assert.deepEqual((out.cause as Record<string, unknown>).code, "ECONNREFUSED");
  assert.deepEqual(serializeError("plain"), { message: "plain" });
});
