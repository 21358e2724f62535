import assert from "node:assert/strict";
import { type AuthEvent, emit, fanOut } from "../../../shared/auth/events.ts";

const event: AuthEvent = {
  type: "login",
  system: "supabase",
  mode: "dual_write",
  canary: false,
  durationMs: 12,
  success: true,
};

Deno.test("a failing sink never breaks the request or the other sinks", () => {
  const seen: AuthEvent[] = [];
  const sink = fanOut(() => {
    throw new Error("sentry down");
  }, (e) => seen.push(e));
  sink(event);
  assert.deepEqual(seen, [event]);
  emit(() => {
    throw new Error("boom");
  }, event);
});
