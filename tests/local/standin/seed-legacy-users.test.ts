import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import { isValidEmailFormat } from "../../../local/standin/auth/validation.ts";
import { AUTH_SCHEMA_URL } from "../../../local/standin/database.ts";
import { DEFAULT_SEED, seededRandom } from "../../../local/standin/seed.ts";
import { KINDS } from "../../../local/standin/seed-every-kind.ts";
import { BatchMigrationEngine } from "../../../shared/batch/engine.ts";
import { SupabaseAuthSource } from "../../../shared/batch/supabase-source.ts";
import {
  DEMO_ACCOUNT,
  DEMO_PASSWORDS,
  demoPasswordFor,
  EVERY_KIND_MIN_USERS,
  EVERY_KIND_SEEDED,
  generateLegacyUsers,
  insertLegacyDataset,
  INVALID_KINDS,
  legacyUsersSeeder,
} from "../../../local/standin/seed-legacy-users.ts";
import { freshPostgres, TEST_DATABASE_URL } from "../../helpers/db.ts";
import { openStandinDatabase } from "../../../local/standin/database.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";

// PGlite from the stand-in's snapshot cache (~0.5 s) rather than a second initdb.
const providers: Array<{ name: string; open: () => Promise<SqlClient> }> = [
  { name: "pglite", open: async () => (await openStandinDatabase({ dataDir: null })).db },
];
if (TEST_DATABASE_URL) providers.push({ name: "postgres", open: () => freshPostgres() });

Deno.test("every embedded demo hash is a real $2a$10$ bcrypt hash of its documented password", async () => {
  for (const { password, hash } of DEMO_PASSWORDS) {
    assert.match(hash, /^\$2a\$10\$/);
    assert.equal(await bcrypt.compare(password, hash), true, password);
  }
  assert.equal(DEMO_ACCOUNT.password, demoPasswordFor(1));
});

Deno.test("1,000 users: 25 invalid rows, five of each kind, deterministic ids and addresses", () => {
  const dataset = generateLegacyUsers(1000, seededRandom(DEFAULT_SEED));
  assert.equal(dataset.users.length, 1000);
  assert.equal(dataset.invalid.size, 25);
  for (const kind of INVALID_KINDS) {
    assert.equal([...dataset.invalid.values()].filter((k) => k === kind).length, 5, kind);
  }
  const again = generateLegacyUsers(1000, seededRandom(DEFAULT_SEED));
  assert.deepEqual(
    again.users.map((u) => [u.id, u.email]),
    dataset.users.map((u) => [u.id, u.email]),
  );
  assert.equal(dataset.users[0]!.email, "demo@example.com");

  const emails = dataset.users.map((u) => u.email).filter((e): e is string => e !== null);
  assert.equal(
    new Set(emails).size,
    emails.length,
    "exact duplicates would break the unique index",
  );
  const lower = emails.map((e) => e.toLowerCase());
  assert.equal(lower.length - new Set(lower).size, 5, "five case-only duplicates");
  assert.equal(new Set(dataset.users.map((u) => u.id)).size, 1000);

  for (const [n, kind] of dataset.invalid) {
    const user = dataset.users[n - 1]!;
    if (kind === "bad_email") assert.equal(isValidEmailFormat(user.email!), false, user.email!);
    if (kind === "missing_email") assert.ok(user.email === null && user.phone);
    if (kind === "banned") {
      assert.ok(new Date(user.banned_until!) > new Date(Date.now() + 50 * 365 * 86_400_000));
    }
    if (kind === "deleted") assert.ok(user.deleted_at);
  }
  // The number in an address picks its password.
  for (const user of dataset.users.slice(0, 60)) {
    const n = Number(/(\d+)@/.exec(user.email ?? "")?.[1] ?? "1");
    if (user.encrypted_password) {
      assert.equal(
        user.encrypted_password,
        DEMO_PASSWORDS.find((d) => d.password === demoPasswordFor(n))!.hash,
      );
    }
  }
  for (const counter of ["oauth_only", "unconfirmed", "null_metadata", "email_and_github"]) {
    assert.ok(Number(dataset.summary[counter]) > 0, counter);
  }
});

Deno.test("fewer than 10 users have no invalid rows; 10 or more have every kind once", () => {
  assert.equal(generateLegacyUsers(5, seededRandom(1)).invalid.size, 0);
  assert.deepEqual(
    [...generateLegacyUsers(10, seededRandom(1)).invalid.values()].sort(),
    [...INVALID_KINDS].sort(),
  );
  assert.equal(generateLegacyUsers(0, seededRandom(1)).users.length, 0);
});

for (const provider of providers) {
  Deno.test(`the dataset loads into Supabase's auth schema on ${provider.name}`, async () => {
    const db = await provider.open();
    try {
      await db.exec(await Deno.readTextFile(AUTH_SCHEMA_URL));
      const dataset = generateLegacyUsers(300, seededRandom(DEFAULT_SEED));
      await db.transaction((tx) => insertLegacyDataset(tx, dataset));
      const { rows } = await db.query<
        { users: number; identities: number; confirmed: number; banned: number }
      >(
        `SELECT (SELECT count(*) FROM auth.users) AS users,
                (SELECT count(*) FROM auth.identities) AS identities,
                (SELECT count(*) FROM auth.users WHERE confirmed_at IS NOT NULL) AS confirmed,
                (SELECT count(*) FROM auth.users WHERE banned_until > now()) AS banned`,
      );
      assert.equal(rows[0]!.users, 300);
      assert.equal(rows[0]!.identities, dataset.identities.length);
      assert.ok(rows[0]!.confirmed > 250);
      assert.equal(
        rows[0]!.banned,
        [...dataset.invalid.values()].filter((k) => k === "banned").length,
      );
      const meta = await db.query<{ plan: string | null; providers: string[] }>(
        `SELECT raw_user_meta_data ->> 'plan' AS plan, raw_app_meta_data -> 'providers' AS providers
           FROM auth.users WHERE email = 'demo@example.com'`,
      );
      assert.ok(meta.rows[0]!.plan);
      assert.deepEqual(meta.rows[0]!.providers, ["email"]);
    } finally {
      await db.close();
    }
  });
}

for (const provider of providers) {
  Deno.test(`the dev seed has every kind of user and the batch carries all of them on ${provider.name}`, async () => {
    const db = await provider.open();
    try {
      await db.exec(await Deno.readTextFile(AUTH_SCHEMA_URL));
      const context = {
        userCount: EVERY_KIND_MIN_USERS,
        random: seededRandom(DEFAULT_SEED),
        log: () => {},
      };
      await db.transaction((tx) => legacyUsersSeeder.seed(tx, context));
      const engine = new BatchMigrationEngine({
        db,
        source: new SupabaseAuthSource(db),
        betterAuthSecret: "dev-seed-test-better-auth-secret-0123456789",
      });
      const result = await engine.run({});
      assert.equal(result.done, true);
      const { rows } = await db.query<{ kind: string; n: number; migrated: number }>(
        `SELECT k.kind, count(*) AS n, count(u.id) AS migrated
         FROM generate_series(1, $1::integer) AS g(n)
         JOIN unnest($2::text[]) WITH ORDINALITY AS k(kind, i) ON k.i - 1 = g.n % $3
         LEFT JOIN "user" u ON u.id = md5('kind-' || g.n)::uuid
         GROUP BY k.kind ORDER BY k.kind`,
        [EVERY_KIND_SEEDED, [...KINDS], KINDS.length],
      );
      assert.equal(rows.length, KINDS.length);
      for (const row of rows) assert.deepEqual([row.kind, row.migrated], [row.kind, 2]);
      const { rows: tf } = await db.query<{ n: number }>(`SELECT count(*) AS n FROM "twoFactor"`);
      assert.equal(tf[0]!.n, 2, "the two verified-TOTP users");
    } finally {
      await db.close();
    }
  });
}
