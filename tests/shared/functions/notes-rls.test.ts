/**
 * "I log in on either path and read my notes straight from Supabase": the demo table public.notes
 * (RLS: user_id = auth.uid()) read through supabase-js with the publishable key and the user's
 * access token — one user logged in with GoTrue (the stand-in, ES256 by its own key), one through
 * the login function on the Better Auth path (ES256 by our key, imported into the project's
 * signing keys) — returns each only their rows, on PGlite and PostgreSQL 15. Expired, tampered
 * and untrusted tokens get PostgREST's 401. The HS256 option (the project's legacy secret) works
 * too. The stack is the dev server's wiring on a database of the test's choosing.
 */
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import { issueSessionTokens } from "../../../shared/auth/access-tokens.ts";
import {
  decodeJwt,
  generateEs256PrivateJwk,
  importEs256SigningJwk,
} from "../../../shared/auth/jwt.ts";
import { AccessTokenSigningToken } from "../../../shared/auth/tokens.ts";
import type { Container } from "../../../shared/di/container.ts";
import { DEV_ACCESS_TOKEN_SIGNING_JWK } from "../../../local/standin/dev-server.ts";
import { importSigningKey } from "../../../local/standin/keys.ts";
import { addNotes } from "../../../local/standin/seed-notes.ts";
import type { Provider } from "../auth/harness.ts";
import { startProjectStack } from "./project-stack.ts";
import { TEST_DATABASE_URL } from "../../helpers/db.ts";

const PASSWORD = "Correct-Horse-42";
const noSession = { auth: { persistSession: false, autoRefreshToken: false } };

const providers: Provider[] = TEST_DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];

for (const provider of providers) {
  Deno.test(`public.notes RLS with a token from either path on ${provider}`, async (t) => {
    const stack = await startProjectStack(provider);
    const { url, keys, db } = stack;
    const containers: Container[] = [];
    try {
      // Three deployments of the functions on the same project: ES256 (the dev server's hosted
      // default) at /es, and HS256 with the project's legacy secret at /hs.
      // A third, /sb, is Supabase-only and knows the project by the new API keys alone
      // (SUPABASE_PUBLISHABLE_KEYS / SUPABASE_SECRET_KEYS, no legacy keys).
      const deployments = {
        es: {},
        hs: { ACCESS_TOKEN_SIGNING: "hs256-project" },
        sb: {
          MIGRATION_MODE: "supabase_only",
          MIGRATION_ROLLOUT_PERCENTAGE: "0",
          SUPABASE_ANON_KEY: undefined,
          SUPABASE_SERVICE_ROLE_KEY: undefined,
        },
      } as const;
      for (const [name, extra] of Object.entries(deployments)) {
        containers.push(
          await stack.deploy(name, {
            MIGRATION_MODE: "better_auth_only",
            // Every signup and login on the abstracted path: Better Auth answers.
            MIGRATION_ROLLOUT_PERCENTAGE: "100",
            ...extra,
          }),
        );
      }
      // README's key set-up, step "import the JWK into the project's signing keys".
      importSigningKey(keys, DEV_ACCESS_TOKEN_SIGNING_JWK);

      // Ada: a Supabase Auth user, logged in with GoTrue.
      const admin = createClient(url, keys.secretKey, noSession).auth.admin;
      const created = await admin.createUser({
        email: `ada-${provider}@example.com`,
        password: PASSWORD,
        email_confirm: true,
      });
      assert.equal(created.error, null, created.error?.message);
      const ada = created.data.user!.id;
      const gotrue = await createClient(url, keys.publishableKey, noSession).auth
        .signInWithPassword({ email: `ada-${provider}@example.com`, password: PASSWORD });
      assert.equal(gotrue.error, null, gotrue.error?.message);
      const adaToken = gotrue.data.session!.access_token;

      // Bea: signs up and logs in through the functions on the Better Auth path.
      const beaEmail = `bea-${provider}@example.com`;
      const login = async (deployment: keyof typeof deployments) => {
        const response = await fetch(`${url}/${deployment}/functions/v1/login`, {
          method: "POST",
          headers: { "Content-Type": "application/json", apikey: keys.publishableKey },
          body: JSON.stringify({ email: beaEmail, password: PASSWORD }),
        });
        const body = await response.json();
        assert.equal(response.status, 200, JSON.stringify(body));
        return body as { user: { id: string }; session: { access_token: string } };
      };
      const signup = await fetch(`${url}/es/functions/v1/signup`, {
        method: "POST",
        headers: { "Content-Type": "application/json", apikey: keys.publishableKey },
        body: JSON.stringify({ email: beaEmail, password: PASSWORD }),
      });
      assert.equal(signup.status, 200, await signup.clone().text());
      await signup.body?.cancel();
      const beaLogin = await login("es");
      const bea = beaLogin.user.id;
      const beaToken = beaLogin.session.access_token;

      await addNotes(db, ada, ["ada: one", "ada: two"]);
      await addNotes(db, bea, ["bea: one"]);
      await addNotes(db, crypto.randomUUID(), ["somebody else's"]);

      const notesWith = (token: string) =>
        createClient(url, keys.publishableKey, {
          ...noSession,
          accessToken: () => Promise.resolve(token),
        }).from("notes").select("body").order("body");

      await t.step("a GoTrue token reads only its user's notes", async () => {
        assert.equal(decodeJwt(adaToken)!.header.kid, keys.signingKey.kid);
        const { data, error } = await notesWith(adaToken);
        assert.equal(error, null, error?.message);
        assert.deepEqual(data, [{ body: "ada: one" }, { body: "ada: two" }]);
      });

      await t.step(
        "a Better Auth-path token (ES256, our key) reads only its user's notes",
        async () => {
          const jwt = decodeJwt(beaToken)!;
          assert.deepEqual(jwt.header, {
            alg: "ES256",
            kid: DEV_ACCESS_TOKEN_SIGNING_JWK.kid,
            typ: "JWT",
          });
          assert.equal(jwt.claims.sub, bea);
          assert.equal(jwt.claims.role, "authenticated");
          const { data, error } = await notesWith(beaToken);
          assert.equal(error, null, error?.message);
          assert.deepEqual(data, [{ body: "bea: one" }]);
          // The same token through a global Authorization header (supabase-js `global.headers`).
          const viaHeader = await createClient(url, keys.publishableKey, {
            ...noSession,
            global: { headers: { Authorization: `Bearer ${beaToken}` } },
          }).from("notes").select("body");
          assert.deepEqual(viaHeader.data, [{ body: "bea: one" }]);
        },
      );

      await t.step("without a user's token the publishable key is anon: refused", async () => {
        const anon = await createClient(url, keys.publishableKey, noSession).from("notes")
          .select("body");
        assert.equal(anon.error?.code, "42501", "the demo grants nothing to anon");
      });

      await t.step("the login function publishes the key the project imported", async () => {
        const response = await fetch(`${url}/es/functions/v1/login/.well-known/jwks.json`);
        assert.equal(response.status, 200);
        assert.equal(response.headers.get("cache-control"), "public, max-age=600");
        const { keys: published } = await response.json() as { keys: Record<string, unknown>[] };
        assert.deepEqual(published, [{
          kty: "EC",
          crv: "P-256",
          x: DEV_ACCESS_TOKEN_SIGNING_JWK.x,
          y: DEV_ACCESS_TOKEN_SIGNING_JWK.y,
          kid: DEV_ACCESS_TOKEN_SIGNING_JWK.kid,
          alg: "ES256",
          use: "sig",
          key_ops: ["verify"],
        }]);
        const project = await (await fetch(`${url}/auth/v1/.well-known/jwks.json`)).json() as {
          keys: Array<{ kid: string }>;
        };
        assert.ok(project.keys.some((key) => key.kid === DEV_ACCESS_TOKEN_SIGNING_JWK.kid));
        // An HS256 deployment publishes no key (GoTrue never publishes an HMAC secret).
        const hs = await (await fetch(`${url}/hs/functions/v1/login/.well-known/jwks.json`)).json();
        assert.deepEqual(hs, { keys: [] });
      });

      await t.step("expired, tampered and untrusted tokens get PostgREST's 401", async () => {
        const signing = await containers[0]!.get(AccessTokenSigningToken);
        const subject = {
          userId: bea,
          email: beaEmail,
          userMetadata: {},
          appMetadata: {},
          sessionId: crypto.randomUUID(),
          sessionToken: "unused",
          authenticatedAt: new Date(),
        };
        const expired = await issueSessionTokens(signing, subject, new Date(Date.now() - 7200_000));
        const old = await notesWith(expired.access_token);
        assert.equal(old.status, 401);
        assert.equal(old.error?.code, "PGRST303");
        assert.equal(old.error?.message, "JWT expired");

        const [header, , signature] = beaToken.split(".");
        const claims = { ...decodeJwt(beaToken)!.claims, sub: ada };
        const body = btoa(JSON.stringify(claims)).replace(/=+$/, "").replace(/\+/g, "-")
          .replace(/\//g, "_");
        const tampered = await notesWith(`${header}.${body}.${signature}`);
        assert.equal(tampered.status, 401);
        assert.equal(tampered.error?.code, "PGRST301");

        const stranger = await importEs256SigningJwk(await generateEs256PrivateJwk("stranger-1"));
        const untrusted = await issueSessionTokens({ ...signing, es256: stranger }, subject);
        const refused = await notesWith(untrusted.access_token);
        assert.equal(refused.status, 401);
        assert.equal(refused.error?.code, "PGRST301");
        assert.equal(refused.error?.details, "No suitable key was found to decode the JWT");
      });

      await t.step("functions configured with only sb_ keys log in on Supabase Auth", async () => {
        const response = await fetch(`${url}/sb/functions/v1/login`, {
          method: "POST",
          headers: { "Content-Type": "application/json", apikey: keys.publishableKey },
          body: JSON.stringify({ email: `ada-${provider}@example.com`, password: PASSWORD }),
        });
        const body = await response.json() as { session: { access_token: string } };
        assert.equal(response.status, 200, JSON.stringify(body));
        assert.equal(decodeJwt(body.session.access_token)!.header.kid, keys.signingKey.kid);
        const { data } = await notesWith(body.session.access_token);
        assert.deepEqual(data, [{ body: "ada: one" }, { body: "ada: two" }]);
      });

      await t.step(
        "the HS256 option (the project's legacy secret) reads the same rows",
        async () => {
          const hsLogin = await login("hs");
          assert.equal(decodeJwt(hsLogin.session.access_token)!.header.alg, "HS256");
          const { data, error } = await notesWith(hsLogin.session.access_token);
          assert.equal(error, null, error?.message);
          assert.deepEqual(data, [{ body: "bea: one" }]);
        },
      );
    } finally {
      await stack.close();
    }
  });
}
