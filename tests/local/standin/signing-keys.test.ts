/**
 * The stand-in on the hosted profile as a project on JWT signing keys and the new API keys:
 * GoTrue signs ES256 and publishes its JWKS, an imported key is trusted everywhere, PostgREST
 * verifies by that JWKS with PostgREST's own errors, and the gateway maps sb_publishable_ /
 * sb_secret_ keys the way Supabase's does — exercised through supabase-js where a client would.
 */
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import { importSigningKey } from "../../../local/standin/keys.ts";
import type { StandinProfile } from "../../../local/standin/profile.ts";
import {
  decodeJwt,
  generateEs256PrivateJwk,
  importEs256SigningJwk,
  signEs256,
  signHs256,
} from "../../../shared/auth/jwt.ts";
import type { Provider } from "../../shared/auth/harness.ts";
import {
  type ProjectStack as Project,
  startProjectStack,
} from "../../shared/functions/project-stack.ts";
import { TEST_DATABASE_URL } from "../../helpers/db.ts";

const PASSWORD = "correct-horse-battery";
const options = { auth: { persistSession: false, autoRefreshToken: false } };

/** The project with a table of its own behind RLS on auth.uid(). */
async function startProject(provider: Provider, profile: StandinProfile): Promise<Project> {
  const project = await startProjectStack(provider, { profile });
  await project.db.exec(`
    CREATE TABLE public.diary (id serial PRIMARY KEY, user_id uuid NOT NULL, body text NOT NULL);
    ALTER TABLE public.diary ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own ON public.diary FOR SELECT TO authenticated USING (user_id = auth.uid());
    GRANT SELECT ON public.diary TO authenticated;
    GRANT ALL ON public.diary TO service_role;
  `);
  return project;
}

async function newUser(project: Project, email: string): Promise<{ id: string; token: string }> {
  const admin = createClient(project.url, project.keys.secretKey, options).auth.admin;
  const created = await admin.createUser({ email, password: PASSWORD, email_confirm: true });
  assert.equal(created.error, null, created.error?.message);
  const client = createClient(project.url, project.keys.publishableKey, options);
  const login = await client.auth.signInWithPassword({ email, password: PASSWORD });
  assert.equal(login.error, null, login.error?.message);
  return { id: created.data.user!.id, token: login.data.session!.access_token };
}

async function restGet(project: Project, headers: Record<string, string>) {
  const response = await fetch(`${project.url}/rest/v1/diary?select=body`, { headers });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

const providers: Provider[] = TEST_DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];

for (const provider of providers) {
  Deno.test(`hosted signing keys and API keys on ${provider}`, async (t) => {
    const project = await startProject(provider, "hosted");
    try {
      const ada = await newUser(project, `ada-${provider}@example.com`);
      const bob = await newUser(project, `bob-${provider}@example.com`);
      await project.db.query(
        "INSERT INTO public.diary (user_id, body) VALUES ($1, 'ada 1'), ($1, 'ada 2'), ($2, 'bob 1')",
        [ada.id, bob.id],
      );

      await t.step("GoTrue signs ES256 with the kid of the key its JWKS publishes", async () => {
        const jwt = decodeJwt(ada.token)!;
        assert.deepEqual(jwt.header, { alg: "ES256", kid: "standin-gotrue-es256-1", typ: "JWT" });
        const response = await fetch(`${project.url}/auth/v1/.well-known/jwks.json`);
        assert.equal(response.status, 200, "no API key needed");
        assert.equal(response.headers.get("cache-control"), "public, max-age=600");
        const { keys } = await response.json() as { keys: Array<Record<string, unknown>> };
        assert.deepEqual(keys.map((key) => [key.kid, key.use, key.d]), [
          ["standin-gotrue-es256-1", "sig", undefined],
        ]);
        // supabase-js getUser goes through GoTrue's verification of the ES256 token.
        const me = await createClient(project.url, project.keys.publishableKey, options).auth
          .getUser(ada.token);
        assert.equal(me.data.user?.id, ada.id);
      });

      await t.step("RLS through supabase-js with the publishable key and accessToken", async () => {
        const client = createClient(project.url, project.keys.publishableKey, {
          ...options,
          accessToken: () => Promise.resolve(ada.token),
        });
        const { data, error } = await client.from("diary").select("body").order("body");
        assert.equal(error, null, error?.message);
        assert.deepEqual(data, [{ body: "ada 1" }, { body: "ada 2" }]);
        // Without a session the publishable key is the anon role: no grant, nothing readable.
        const anon = await createClient(project.url, project.keys.publishableKey, options)
          .from("diary").select("body");
        assert.equal(anon.error?.code, "42501");
        // The secret key is service_role (bypasses RLS), from a server.
        const service = await createClient(project.url, project.keys.secretKey, options)
          .from("diary").select("body");
        assert.equal(service.data?.length, 3);
      });

      await t.step("a key imported into the project's signing keys is trusted", async () => {
        const ours = await importEs256SigningJwk(await generateEs256PrivateJwk("ours-1"));
        const now = Math.floor(Date.now() / 1000);
        const claims = {
          iss: "urn:edge-migrator:better-auth",
          sub: bob.id,
          aud: "authenticated",
          role: "authenticated",
          iat: now,
          exp: now + 600,
        };
        const token = await signEs256(claims, ours);
        const before = await restGet(project, {
          apikey: project.keys.publishableKey,
          Authorization: `Bearer ${token}`,
        });
        // PostgREST: no key with that kid → "No suitable key" (jose-jwt findKeys).
        assert.equal(before.status, 401);
        assert.deepEqual(before.body, {
          code: "PGRST301",
          details: "No suitable key was found to decode the JWT",
          hint: null,
          message: "No suitable key or wrong key type",
        });
        assert.match(before.headers.get("www-authenticate") ?? "", /invalid_token/);
        importSigningKey(project.keys, ours.publicJwk);
        const after = await restGet(project, {
          apikey: project.keys.publishableKey,
          Authorization: `Bearer ${token}`,
        });
        assert.equal(after.status, 200);
        assert.deepEqual(after.body, [{ body: "bob 1" }]);
        const published = await (await fetch(`${project.url}/auth/v1/.well-known/jwks.json`))
          .json() as { keys: Array<{ kid: string }> };
        assert.deepEqual(published.keys.map((key) => key.kid), [
          "standin-gotrue-es256-1",
          "ours-1",
        ]);

        // A different key under a trusted kid, a tampered token, and an expired one.
        const impostor = await importEs256SigningJwk(await generateEs256PrivateJwk("ours-1"));
        const forged = await restGet(project, {
          apikey: project.keys.publishableKey,
          Authorization: `Bearer ${await signEs256(claims, impostor)}`,
        });
        assert.equal(forged.status, 401);
        assert.equal(forged.body.code, "PGRST301");
        assert.equal(forged.body.details, "None of the keys was able to decode the JWT");
        const [h, , s] = token.split(".");
        const body = btoa(JSON.stringify({ ...claims, sub: ada.id })).replace(/=+$/, "")
          .replace(/\+/g, "-").replace(/\//g, "_");
        const tampered = await restGet(project, {
          apikey: project.keys.publishableKey,
          Authorization: `Bearer ${h}.${body}.${s}`,
        });
        assert.equal(tampered.status, 401);
        assert.equal(tampered.body.details, "None of the keys was able to decode the JWT");
        // Expired beyond PostgREST's 30 s of skew: 303, checked after the signature.
        const expired = await restGet(project, {
          apikey: project.keys.publishableKey,
          Authorization: `Bearer ${await signEs256({ ...claims, exp: now - 31 }, ours)}`,
        });
        assert.equal(expired.status, 401);
        assert.deepEqual(expired.body, {
          code: "PGRST303",
          details: null,
          hint: null,
          message: "JWT expired",
        });
        const forgedExpired = await restGet(project, {
          apikey: project.keys.publishableKey,
          Authorization: `Bearer ${await signEs256({ ...claims, exp: now - 31 }, impostor)}`,
        });
        assert.equal(forgedExpired.body.code, "PGRST301", "signature before claims");
        const within = await restGet(project, {
          apikey: project.keys.publishableKey,
          Authorization: `Bearer ${await signEs256({ ...claims, exp: now - 5 }, ours)}`,
        });
        assert.equal(within.status, 200, "within the 30 s of skew");
      });

      await t.step("legacy keys and HS256 tokens still work beside the signing keys", async () => {
        const now = Math.floor(Date.now() / 1000);
        const legacyUser = await signHs256(
          { sub: ada.id, role: "authenticated", aud: "authenticated", exp: now + 60 },
          project.keys.jwtSecret,
        );
        const viaLegacy = await createClient(project.url, project.keys.anonKey, {
          ...options,
          accessToken: () => Promise.resolve(legacyUser),
        }).from("diary").select("body").order("body");
        assert.deepEqual(viaLegacy.data, [{ body: "ada 1" }, { body: "ada 2" }]);
        // An HS256 token signed with another secret.
        const foreignHs = await restGet(project, {
          apikey: project.keys.anonKey,
          Authorization: `Bearer ${await signHs256(
            { role: "authenticated", exp: now + 60 },
            "x".repeat(40),
          )}`,
        });
        assert.equal(foreignHs.body.details, "None of the keys was able to decode the JWT");
      });

      await t.step("the gateway maps the new API keys as Supabase's does", async () => {
        // The key only as a bearer, no apikey header: the gateway refuses it.
        const bearerOnly = await fetch(`${project.url}/rest/v1/diary`, {
          headers: { Authorization: `Bearer ${project.keys.secretKey}` },
        });
        assert.equal(bearerOnly.status, 401);
        assert.equal((await bearerOnly.json()).message, "No API key found in request");
        // `Authorization: Bearer sb_…` with the key in apikey acts as the key (service_role).
        const both = await restGet(project, {
          apikey: project.keys.secretKey,
          Authorization: `Bearer ${project.keys.secretKey}`,
        });
        assert.equal(both.status, 200);
        assert.equal(both.body.length, 3);
        // A secret key from a browser is refused, on REST and on Auth.
        const browser =
          "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36";
        const fromBrowser = await restGet(project, {
          apikey: project.keys.secretKey,
          "User-Agent": browser,
        });
        assert.equal(fromBrowser.status, 401);
        assert.equal(fromBrowser.body.message, "Forbidden use of secret API key in browser");
        const adminFromBrowser = await fetch(`${project.url}/auth/v1/admin/users`, {
          headers: { apikey: project.keys.secretKey, "User-Agent": browser },
        });
        assert.equal(adminFromBrowser.status, 401);
        await adminFromBrowser.body?.cancel();
        // The publishable key is fine from a browser, and never reaches admin endpoints.
        const pubAdmin = await fetch(`${project.url}/auth/v1/admin/users`, {
          headers: { apikey: project.keys.publishableKey, "User-Agent": browser },
        });
        assert.equal(pubAdmin.status, 403);
        assert.equal((await pubAdmin.json()).error_code, "not_admin");
        // An unknown sb_ key is an invalid API key.
        const unknown = await restGet(project, { apikey: "sb_publishable_not-this-project" });
        assert.equal(unknown.status, 401);
        assert.equal(unknown.body.message, "Invalid API key");
      });
    } finally {
      await project.close();
    }
  });
}

Deno.test("lenient is a legacy-key project: HS256 tokens, no JWKS keys, no sb_ keys", async () => {
  const project = await startProject("pglite", "lenient");
  try {
    const admin = createClient(project.url, project.keys.serviceRoleKey, options).auth.admin;
    const email = "legacy@example.com";
    await admin.createUser({ email, password: PASSWORD, email_confirm: true });
    const login = await createClient(project.url, project.keys.anonKey, options).auth
      .signInWithPassword({ email, password: PASSWORD });
    assert.equal(decodeJwt(login.data.session!.access_token)!.header.alg, "HS256");
    const jwks = await (await fetch(`${project.url}/auth/v1/.well-known/jwks.json`)).json();
    assert.deepEqual(jwks, { keys: [] });
    const sb = await restGet(project, { apikey: project.keys.publishableKey });
    assert.equal(sb.status, 401);
    assert.equal(sb.body.message, "Invalid API key");
    // GoTrue of a legacy project refuses ES256 tokens as golang-jwt words it.
    const es = await signEs256({ sub: "x", exp: 4_000_000_000 }, project.keys.signingKey);
    const me = await fetch(`${project.url}/auth/v1/user`, {
      headers: { apikey: project.keys.anonKey, Authorization: `Bearer ${es}` },
    });
    assert.equal(me.status, 403);
    assert.match(
      (await me.json()).msg,
      /token signature is invalid: signing method ES256 is invalid/,
    );
  } finally {
    await project.close();
  }
});
