/**
 * The admin API over HTTP (Hono's app.request, real database): authentication by service-role
 * key, admin secret or dashboard session (+ CSRF), the JSON error shape with the offending field,
 * every rollout action, the evaluate route, and the emergency rollback with its confirmation.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import { createLogger } from "../../../shared/observability/logger.ts";
import { createOpsApp } from "../../../shared/ops/app.ts";
import { createOpsServices } from "../../../shared/ops/services.ts";
import { sqlProviders } from "../../helpers/db.ts";
import { flagPercentage, logEntries, simulateTraffic } from "./helpers.ts";

const SERVICE_KEY = "sb_secret_test_service_role_key_0123456789";
const ADMIN_SECRET = "ops-admin-secret-for-tests-0123456789abcdef";

for (const provider of sqlProviders()) {
  Deno.test(`ops admin routes on ${provider.name}`, async (t) => {
    const db = await provider.open();
    const invalidated: string[] = [];
    const ops = createOpsServices({
      sql: db,
      routingEnv: loadConfig({}).env,
      serviceRoleKeys: [SERVICE_KEY],
      adminSecret: ADMIN_SECRET,
      logger: createLogger({ level: "silent" }),
      onFlagsChanged: (name) => invalidated.push(name),
    });
    const app = createOpsApp(ops);
    const call = (
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = { authorization: `Bearer ${SERVICE_KEY}` },
    ) =>
      app.request(`/admin${path}`, {
        method,
        headers: { "content-type": "application/json", ...headers },
        body: body === undefined
          ? undefined
          : typeof body === "string"
          ? body
          : JSON.stringify(body),
      });
    // Responses are read as loose JSON: each assertion names the exact field it checks.
    // deno-lint-ignore no-explicit-any
    const json = async (res: Response) => await res.json() as Record<string, any>;
    try {
      await t.step("no or wrong credentials: 401 in the project's error shape", async () => {
        const attempts: Record<string, string>[] = [
          {},
          { authorization: "Bearer nope" },
          { apikey: "nope" },
        ];
        for (const headers of attempts) {
          const res = await call("GET", "/rollouts", undefined, headers);
          assert.equal(res.status, 401);
          const body = await json(res);
          assert.equal(body.error.code, "unauthorized");
          assert.equal(typeof body.error.message, "string");
        }
      });

      await t.step(
        "service-role key (Bearer or apikey) and admin secret are accepted",
        async () => {
          const accepted: Record<string, string>[] = [
            { authorization: `Bearer ${SERVICE_KEY}` },
            { apikey: SERVICE_KEY },
            { authorization: `Bearer ${ADMIN_SECRET}` },
          ];
          for (const headers of accepted) {
            const res = await call("GET", "/rollouts", undefined, headers);
            assert.equal(res.status, 200);
            assert.equal(res.headers.get("cache-control"), "no-store");
            const body = await json(res);
            assert.equal(body.data.killSwitch.engaged, false);
          }
        },
      );

      await t.step("start, status, health; the actor header reaches migration_log", async () => {
        const started = await call("POST", "/rollouts/signup/start", {
          steps: [10, 100],
          holdSeconds: 0,
          reason: "go",
        }, { authorization: `Bearer ${ADMIN_SECRET}`, "x-ops-actor": "alice@example.com" });
        assert.equal(started.status, 200);
        const body = await json(started);
        assert.equal(body.data.status, "running");
        assert.equal(body.data.startedBy, "alice@example.com (admin)");
        assert.deepEqual(invalidated, ["signup"]);
        assert.equal(await flagPercentage(db, "signup"), 10);

        const status = await json(await call("GET", "/rollouts/signup"));
        assert.equal(status.data.effectivePercentage, 10);
        assert.equal(status.data.rollout.steps.length, 2);
        const log = await logEntries(db, "rollout:signup");
        assert.equal(log[0]!.metadata.by, "alice@example.com (admin)");

        const health = await json(await call("GET", "/rollouts/signup/health?windowSeconds=60"));
        assert.equal(health.data.verdict, "inconclusive");
        const badWindow = await call("GET", "/rollouts/signup/health?windowSeconds=abc");
        assert.equal(badWindow.status, 400);
        assert.equal((await json(badWindow)).error.details.field, "windowSeconds");
      });

      await t.step("bad input: 400 naming the field, never a 500", async () => {
        const cases: Array<[string, string, unknown, string]> = [
          ["POST", "/rollouts/login/start", { steps: [50, 10] }, "steps"],
          ["POST", "/rollouts/login/start", { holdSeconds: -1 }, "holdSeconds"],
          ["POST", "/rollouts/login/start", "{not json", "body"],
          ["POST", "/rollouts/login/start", "[1,2]", "body"],
          ["POST", "/rollouts/Not_A_Name/start", {}, "functionName"],
          ["PUT", "/rollouts/login/percentage", { percentage: "ten" }, "percentage"],
          ["PUT", "/rollouts/login/percentage", {}, "percentage"],
          ["POST", "/emergency-rollback", { reason: "x" }, "confirm"],
          ["POST", "/emergency-rollback", { confirm: "ROLLBACK" }, "reason"],
        ];
        for (const [method, path, body, field] of cases) {
          const res = await call(method, path, body);
          assert.equal(res.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
          const error = (await json(res)).error;
          assert.equal(error.code, "validation_failed");
          assert.equal(error.details.field, field, `${method} ${path}`);
        }
        const huge = await call("POST", "/rollouts/login/start", { reason: "x".repeat(20_000) });
        assert.equal(huge.status, 400);
        assert.equal((await json(huge)).error.details.reason, "too_large");
        const conflict = await call("POST", "/rollouts/signup/start", {});
        assert.equal(conflict.status, 409);
        assert.equal((await json(conflict)).error.code, "conflict");
        const missing = await call("POST", "/rollouts/nobody/retry", {});
        assert.equal(missing.status, 404);
        const unknown = await call("GET", "/nope");
        assert.equal(unknown.status, 404);
        assert.equal((await json(unknown)).error.code, "not_found");
      });

      await t.step("evaluate (the cron's route), pause, resume, percentage, rollback", async () => {
        // Traffic since the step began (the 40 simulated requests span 400 ms before `at`).
        await new Promise((resolve) => setTimeout(resolve, 450));
        await simulateTraffic(db, "signup", { path: "abstracted", count: 40, at: new Date() });
        const evaluated = await json(await call("POST", "/rollouts/evaluate", {}));
        const result = evaluated.data.results.find((r: { functionName: string }) =>
          r.functionName === "signup"
        );
        assert.equal(result.action, "advanced");
        assert.equal(await flagPercentage(db, "signup"), 100);

        assert.equal(
          (await json(await call("POST", "/rollouts/signup/pause", {}))).data.status,
          "paused",
        );
        assert.equal(
          (await json(await call("POST", "/rollouts/signup/resume"))).data.status,
          "running",
        );
        const set = await json(
          await call("PUT", "/rollouts/signup/percentage", { percentage: 80 }),
        );
        assert.equal(set.data.flags.rolloutPercentage, 80);
        assert.equal(set.data.rollout.status, "paused");
        const rollback = await json(await call("POST", "/rollouts/signup/rollback", {}));
        assert.equal(rollback.data.status, "rolling_back");
        assert.deepEqual(rollback.data.rollbackSteps, [75, 50, 25, 10, 0]);
        assert.equal(await flagPercentage(db, "signup"), 75);
      });

      await t.step("emergency rollback and its undo", async () => {
        const engaged = await call("POST", "/emergency-rollback", {
          confirm: "ROLLBACK",
          reason: "drill",
        });
        assert.equal(engaged.status, 200);
        assert.equal((await json(engaged)).data.engaged, true);
        assert.ok(invalidated.includes("*"));
        assert.equal((await json(await call("GET", "/emergency-rollback"))).data.engaged, true);
        const overview = await json(await call("GET", "/rollouts"));
        assert.equal(overview.data.killSwitch.engaged, true);
        assert.equal(overview.data.killSwitch.updatedBy, "service_role");
        const undone = await call("POST", "/emergency-rollback/undo", { confirm: "RESTORE" });
        assert.equal(undone.status, 200);
        assert.equal((await json(undone)).data.engaged, false);
      });

      await t.step(
        "dashboard session cookie: accepted, but writes need the CSRF header",
        async () => {
          const signIn = await app.request("/dashboard", {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ secret: ADMIN_SECRET }).toString(),
          });
          assert.equal(signIn.status, 303);
          assert.equal(signIn.headers.get("location"), "dashboard");
          const setCookie = signIn.headers.get("set-cookie")!;
          assert.match(setCookie, /^ops_session=[^;]+; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
          assert.doesNotMatch(setCookie, /Path=/, "scoped to the function by the default path");
          const cookie = setCookie.split(";")[0]!;

          const page = await app.request("/dashboard", { headers: { cookie } });
          assert.equal(page.status, 200);
          const csrf = /<meta name="ops-csrf" content="([^"]+)">/.exec(await page.text())![1]!;

          const read = await call("GET", "/rollouts", undefined, { cookie });
          assert.equal(read.status, 200);
          const noCsrf = await call("POST", "/rollouts/login/start", {}, { cookie });
          assert.equal(noCsrf.status, 403);
          assert.equal((await json(noCsrf)).error.code, "forbidden");
          const wrongCsrf = await call("POST", "/rollouts/login/start", {}, {
            cookie,
            "x-ops-csrf": "forged",
          });
          assert.equal(wrongCsrf.status, 403);
          const ok = await call("POST", "/rollouts/login/start", {}, {
            cookie,
            "x-ops-csrf": csrf,
          });
          assert.equal(ok.status, 200);
          // Not the last character: in base64url its low bits may be padding that decodes to
          // the same signature bytes, which made this check flaky.
          const at = cookie.length - 10;
          const tampered = cookie.slice(0, at) + (cookie[at] === "A" ? "B" : "A") +
            cookie.slice(at + 1);
          assert.equal(
            (await call("GET", "/rollouts", undefined, { cookie: tampered })).status,
            401,
          );

          const wrong = await app.request("/dashboard", {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: "secret=wrong",
          });
          assert.equal(wrong.status, 401);
          assert.equal(wrong.headers.get("set-cookie"), null);
        },
      );
    } finally {
      await ops.drain();
      await db.close();
    }
  });
}
