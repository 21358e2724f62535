/**
 * The signup/login handlers the function apps mount, called directly (with the migrator's real
 * CommitGate) and through the real EdgeFunctionMigrator, against the stand-in + Better Auth.
 */
import assert from "node:assert/strict";
import { verifyAccessToken } from "../../../shared/auth/access-tokens.ts";
import {
  type AuthHandlerServices,
  loginHandlers,
  signupHandlers,
} from "../../../shared/auth/handlers.ts";
import { defaultRoutingConfig, staticRoutingSource } from "../../../shared/flags/resolve.ts";
import { CommitGate } from "../../../shared/migrator/commit-gate.ts";
import { createMigrator } from "../../../shared/migrator/migrator.ts";
import type { HandlerContext } from "../../../shared/migrator/types.ts";
import { email, openStack, PASSWORD, presence, verifierConfig } from "./harness.ts";

function context(
  mode: "live" | "plan" = "live",
  gate = new CommitGate(mode === "plan" ? "closed" : "open"),
): HandlerContext {
  return {
    requestId: "test",
    path: "/signup",
    mode,
    signal: new AbortController().signal,
    claimCommit: gate.claim,
    canary: false,
  };
}

function post(body: unknown, headers: Record<string, string> = {}): Request {
  return new Request("http://localhost/signup", {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": "198.51.100.9", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

Deno.test("signup and login handlers on PGlite", async (t) => {
  const stack = await openStack("pglite");
  const services: AuthHandlerServices = {
    original: stack.service({ mode: "supabase_only" }),
    abstracted: stack.service({ mode: "dual_write", useBetterAuth: true }),
  };
  const signup = signupHandlers(services);
  const login = loginHandlers(services);
  try {
    await t.step("both implementations answer the same contract", async () => {
      for (const [path, handler] of Object.entries(signup)) {
        const address = email(`h-${path}`);
        const response = await handler(
          post({ email: address, password: PASSWORD, data: { plan: "pro" } }),
          context(),
        );
        assert.equal(response.status, 200, path);
        const body = await response.json();
        assert.deepEqual(Object.keys(body).sort(), ["session", "user"]);
        assert.deepEqual(Object.keys(body.user).sort(), [
          "created_at",
          "email",
          "id",
          "user_metadata",
        ]);
        assert.deepEqual(Object.keys(body.session).sort(), [
          "access_token",
          "expires_at",
          "expires_in",
          "refresh_token",
          "token_type",
        ]);
        assert.equal(body.user.user_metadata.plan, "pro");
        const issuer =
          (await verifyAccessToken(body.session.access_token, verifierConfig(stack.keys))).system;
        assert.equal(issuer, path === "original" ? "supabase" : "better_auth");
        const where = await presence(stack.db, address);
        assert.equal(where.betterAuth.length, path === "original" ? 0 : 1);

        const loggedIn = await login[path as "original"](
          post({ email: address, password: PASSWORD }),
          context(),
        );
        assert.equal(loggedIn.status, 200);
      }
    });

    await t.step("bad input: 4xx JSON naming the field, nothing written", async () => {
      const before = await stack.db.query(`SELECT count(*) AS n FROM auth.users`);
      const cases: [Request, number, string][] = [
        [post("{not json"), 400, "invalid_json"],
        [
          post({ email: "x@y.co", password: PASSWORD }, { "content-type": "text/plain" }),
          415,
          "unsupported_media_type",
        ],
        [new Request("http://localhost/signup"), 405, "method_not_allowed"],
        [post({ email: 7, password: PASSWORD }), 400, "validation_failed"],
        [
          post({ email: "'; DROP TABLE auth.users; --", password: PASSWORD }),
          400,
          "validation_failed",
        ],
        [post({ email: email("weak"), password: "short" }), 422, "weak_password"],
      ];
      for (const [request, status, code] of cases) {
        for (const handler of [signup.original, signup.abstracted]) {
          const response = await handler(request.clone(), context());
          assert.equal(response.status, status, code);
          const body = await response.json();
          assert.equal(body.error.code, code);
        }
      }
      const detail =
        await (await signup.abstracted(post({ email: 7, password: PASSWORD }), context())).json();
      assert.deepEqual(detail.error.details.map((d: { path: string }) => d.path), ["email"]);
      const weak =
        await (await signup.original(post({ email: email("w"), password: "short" }), context()))
          .json();
      assert.deepEqual(weak.error.details, { reasons: ["length"] });
      const after = await stack.db.query(`SELECT count(*) AS n FROM auth.users`);
      assert.deepEqual(after.rows, before.rows);
    });

    await t.step("duplicates: 422 user_already_exists from both", async () => {
      const address = email("dup");
      assert.equal(
        (await signup.abstracted(post({ email: address, password: PASSWORD }), context())).status,
        200,
      );
      for (const handler of [signup.original, signup.abstracted]) {
        const response = await handler(post({ email: address, password: PASSWORD }), context());
        assert.equal(response.status, 422);
        assert.equal((await response.json()).error.code, "user_already_exists");
      }
    });

    await t.step("plan runs and a closed commit gate write nothing", async () => {
      const address = email("plan");
      const planned = await signup.abstracted(
        post({ email: address, password: PASSWORD }),
        context("plan"),
      );
      assert.equal(planned.status, 200);
      assert.deepEqual(await presence(stack.db, address), { supabase: [], betterAuth: [] });
      const gate = new CommitGate();
      gate.close();
      const gated = await signup.abstracted(
        post({ email: address, password: PASSWORD }),
        context("live", gate),
      );
      assert.equal(gated.status, 503);
      assert.deepEqual(await presence(stack.db, address), { supabase: [], betterAuth: [] });
      const existing = email("plan-existing");
      await signup.original(post({ email: existing, password: PASSWORD }), context());
      const plannedDuplicate = await signup.original(
        post({ email: existing, password: PASSWORD }),
        context("plan"),
      );
      assert.equal(plannedDuplicate.status, 422);
      assert.equal(
        (await login.abstracted(post({ email: existing, password: PASSWORD }), context("plan")))
          .status,
        501,
      );
    });

    await t.step("wrong password: 400 invalid_credentials; then 429 with Retry-After", async () => {
      const address = email("limit");
      await signup.original(post({ email: address, password: PASSWORD }), context());
      let last: Response | undefined;
      for (let i = 0; i < 11; i++) {
        last = await login.original(post({ email: address, password: `wrong-${i}` }), context());
        if (last.status === 429) break;
        assert.equal(last.status, 400);
        assert.equal((await last.json()).error.code, "invalid_credentials");
      }
      assert.equal(last?.status, 429);
      assert.ok(Number(last!.headers.get("Retry-After")) > 0);
    });

    await t.step("through the real EdgeFunctionMigrator", async () => {
      const migrator = createMigrator({
        policy: {
          functionName: "signup",
          classify: () => ({ name: "signup", safety: "write", shadow: "off" }),
          volatilePaths: ["user.id", "user.created_at", "session.*"],
        },
        ...signup,
        routing: staticRoutingSource(defaultRoutingConfig({ rolloutPercentage: 100 })),
      });
      const address = email("migrator");
      const response = await migrator.fetch(post({ email: address, password: PASSWORD }));
      assert.equal(response.status, 200);
      const body = await response.json();
      assert.equal(body.user.email, address);
      assert.deepEqual(await presence(stack.db, address), {
        supabase: [body.user.id],
        betterAuth: [body.user.id],
      });
      await migrator.flush();
    });
  } finally {
    await stack.close();
  }
});
