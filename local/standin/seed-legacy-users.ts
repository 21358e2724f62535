/**
 * The demo "legacy" dataset: Supabase Auth users exactly as a real project accumulates them, for
 * the batch migration, the login function's lazy migration and the comparisons to chew on.
 *
 * Passwords are real bcrypt `$2a$10$` hashes. Hashing 1,000 passwords at cost 10 would take about
 * a minute in JavaScript, so every password-based user gets one of three documented demo
 * passwords whose hashes were computed once (bcryptjs, cost 10) and are embedded below; the test
 * suite re-verifies each hash against its password. The number in a seeded address picks the
 * password: n % 3 = 1 → "password123", 2 → "Demo-Passw0rd!", 0 → "correct horse battery staple"
 * (so demo@example.com, user 1, signs in with "password123").
 *
 * Deliberately awkward rows (about 2.5 %, at least one of each kind once there are 10 users):
 * - bad_email: an address that fails any email validator ("grace.hall(at)example.com", ...);
 * - missing_email: a phone-only user (email NULL) — migrated as a phone user;
 * - banned: banned_until a century ahead (ban_duration "876000h") — migrated as a Better Auth ban;
 * - deleted: deleted_at set (soft-deleted, address kept as older projects have them);
 * - duplicate_email_case: the same address as the previous user in different case (and the
 *   same password), which Supabase's case-sensitive unique index lets through.
 * Also realistic but valid: unconfirmed addresses, OAuth-only users (Google, empty
 * encrypted_password), users with an email and a GitHub identity, and users with NULL metadata.
 * Then, for datasets of EVERY_KIND_MIN_USERS or more, two users of every kind of
 * seed-every-kind.ts (kind-<n>@example.com, password
 * "password123"): phone-only, phone + password, anonymous, TOTP (verified and not), phone and
 * WebAuthn factors, admins, bans with and without expiry, Google, GitHub, an unconfigured
 * provider (Keycloak), SSO, invited.
 */
import type { SqlClient } from "../../shared/db/sql-client.ts";
import type { Seeder } from "./seed.ts";
import { NIL_UUID } from "./auth/users.ts";
import { DEMO_PASSWORDS } from "./demo-passwords.ts";
import { insertEveryKind, KINDS } from "./seed-every-kind.ts";

/** Users of seed-every-kind.ts the dev seed adds: two of each kind. */
export const EVERY_KIND_SEEDED = KINDS.length * 2;
/**
 * The every-kind users come with datasets of at least this many users (the dev server's
 * default 1,000), so the small stacks tests start keep their exact user counts.
 */
export const EVERY_KIND_MIN_USERS = 100;

export { DEMO_PASSWORDS };

/** The first seeded user, for copy-paste examples. */
export const DEMO_ACCOUNT = { email: "demo@example.com", password: "password123" } as const;

/** The demo password of seeded user number `n` (the number in its address). */
export function demoPasswordFor(n: number): string {
  return DEMO_PASSWORDS[(n - 1) % DEMO_PASSWORDS.length]!.password;
}

export const INVALID_KINDS = [
  "bad_email",
  "missing_email",
  "banned",
  "deleted",
  "duplicate_email_case",
] as const;
export type InvalidKind = (typeof INVALID_KINDS)[number];

const FIRST_NAMES = [
  "ava",
  "liam",
  "olivia",
  "noah",
  "emma",
  "oliver",
  "sophia",
  "elijah",
  "mia",
  "james",
  "amelia",
  "lucas",
  "harper",
  "mateo",
  "evelyn",
  "levi",
  "aria",
  "ethan",
  "chloe",
  "aiden",
  "grace",
  "henry",
  "nora",
  "leo",
  "zoe",
  "jack",
  "lily",
  "owen",
  "hannah",
  "samuel",
  "priya",
  "arjun",
  "yuki",
  "haruto",
  "fatima",
  "omar",
  "ines",
  "joao",
  "lena",
  "felix",
];
const LAST_NAMES = [
  "smith",
  "johnson",
  "williams",
  "brown",
  "jones",
  "garcia",
  "miller",
  "davis",
  "rodriguez",
  "martinez",
  "hernandez",
  "lopez",
  "gonzalez",
  "wilson",
  "anderson",
  "thomas",
  "taylor",
  "moore",
  "jackson",
  "martin",
  "lee",
  "perez",
  "thompson",
  "white",
  "harris",
  "sanchez",
  "clark",
  "ramirez",
  "lewis",
  "robinson",
  "walker",
  "young",
  "allen",
  "king",
  "wright",
  "scott",
  "nguyen",
  "hill",
  "green",
  "hall",
];
const DOMAINS = [
  "example.com",
  "example.org",
  "example.net",
  "mail.test",
  "acme.test",
  "corp.example",
];
const PLANS = ["free", "free", "free", "pro", "pro", "team"];
const LOCALES = ["en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "pt-BR", "ja-JP", "hi-IN"];
const SOURCES = ["web", "web", "ios", "android", "invite"];
const DAY_MS = 86_400_000;

export interface LegacyUserRow {
  readonly id: string;
  readonly email: string | null;
  readonly encrypted_password: string | null;
  readonly email_confirmed_at: string | null;
  readonly confirmation_sent_at: string | null;
  readonly last_sign_in_at: string | null;
  readonly raw_app_meta_data: Record<string, unknown> | null;
  readonly raw_user_meta_data: Record<string, unknown> | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly phone: string | null;
  readonly phone_confirmed_at: string | null;
  readonly banned_until: string | null;
  readonly deleted_at: string | null;
}

export interface LegacyIdentityRow {
  readonly provider_id: string;
  readonly user_id: string;
  readonly identity_data: Record<string, unknown>;
  readonly provider: string;
  readonly last_sign_in_at: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

export interface LegacyDataset {
  readonly users: LegacyUserRow[];
  readonly identities: LegacyIdentityRow[];
  /** Seeded user number (1-based) → why it is invalid. */
  readonly invalid: ReadonlyMap<number, InvalidKind>;
  readonly summary: Record<string, unknown>;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** A v4 UUID from the seeded PRNG, so ids are the same on every run. */
function uuidFrom(random: () => number): string {
  const bytes = Array.from({ length: 16 }, () => Math.floor(random() * 256));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

function titleCase(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** Builds the dataset in memory (pure: the same `random` stream gives the same rows). */
export function generateLegacyUsers(
  count: number,
  random: () => number,
  now: Date = new Date(),
): LegacyDataset {
  const users: LegacyUserRow[] = [];
  const identities: LegacyIdentityRow[] = [];
  const invalid = new Map<number, InvalidKind>();
  const counters = { unconfirmed: 0, oauth_only: 0, email_and_github: 0, null_metadata: 0 };
  // Spread the invalid kinds evenly: ~2.5 % of rows, each kind equally often.
  const invalidTarget = count >= 10 ? Math.max(INVALID_KINDS.length, Math.round(count * 0.025)) : 0;
  const invalidEvery = invalidTarget > 0 ? Math.max(2, Math.floor(count / invalidTarget)) : 0;
  let previous: { email: string; n: number } | null = null;
  let invalidSeen = 0;

  for (let n = 1; n <= count; n++) {
    const id = uuidFrom(random);
    const first = pick(random, FIRST_NAMES);
    const last = pick(random, LAST_NAMES);
    const domain = pick(random, DOMAINS);
    const createdAt = new Date(now.getTime() - Math.floor(random() * 3 * 365 * DAY_MS) - DAY_MS);
    const confirmedAt = new Date(createdAt.getTime() + Math.floor(random() * 3_600_000));
    const lastSignIn = new Date(
      createdAt.getTime() + Math.floor(random() * (now.getTime() - createdAt.getTime())),
    );
    const fullName = `${titleCase(first)} ${titleCase(last)}`;
    let email: string | null = n === 1 ? "demo@example.com" : `${first}.${last}${n}@${domain}`;
    const userMetadata: Record<string, unknown> = {
      full_name: fullName,
      avatar_url: `https://avatars.example.com/${id.slice(0, 8)}.png`,
      locale: pick(random, LOCALES),
      plan: pick(random, PLANS),
      signup_source: pick(random, SOURCES),
      marketing_opt_in: random() < 0.35,
      email_verified: true,
    };
    let appMetadata: Record<string, unknown> = { provider: "email", providers: ["email"] };
    if (n === 1) appMetadata = { ...appMetadata, roles: ["admin"] };
    let encryptedPassword: string | null = DEMO_PASSWORDS[(n - 1) % DEMO_PASSWORDS.length]!.hash;
    let phone: string | null = null;
    let phoneConfirmedAt: string | null = null;
    let bannedUntil: string | null = null;
    let deletedAt: string | null = null;
    let emailConfirmedAt: string | null = confirmedAt.toISOString();
    let provider: "email" | "phone" | "google" = "email";
    let withGithub = false;

    const kind: InvalidKind | undefined =
      invalidEvery > 0 && n % invalidEvery === 0 && invalidSeen < invalidTarget
        ? INVALID_KINDS[invalidSeen % INVALID_KINDS.length]
        : undefined;
    if (kind) {
      invalidSeen++;
      invalid.set(n, kind);
      switch (kind) {
        case "bad_email":
          email = pick(random, [
            `${first}.${last}${n}(at)${domain}`,
            `${first}.${last}${n}.${domain}`,
            `${first} ${last}${n}@${domain}`,
            `${first}.${last}${n}@`,
          ]);
          break;
        case "missing_email":
          email = null;
          phone = `1555${String(1_000_000 + n).slice(-7)}`;
          phoneConfirmedAt = confirmedAt.toISOString();
          emailConfirmedAt = null;
          provider = "phone";
          appMetadata = { provider: "phone", providers: ["phone"] };
          break;
        case "banned":
          bannedUntil = new Date(now.getTime() + 876_000 * 3_600_000).toISOString();
          break;
        case "deleted":
          deletedAt = new Date(lastSignIn.getTime() + DAY_MS).toISOString();
          break;
        case "duplicate_email_case": {
          // The previous valid user's address in other case; like every seeded address, the
          // number in it picks the password, so both rows share the documented password.
          const original: { email: string; n: number } = previous ?? { email: email!, n };
          email = original.email.split("@").map((part, i) =>
            i === 0 ? part.split(".").map(titleCase).join(".") : part.toUpperCase()
          ).join("@");
          encryptedPassword = DEMO_PASSWORDS[(original.n - 1) % DEMO_PASSWORDS.length]!.hash;
          break;
        }
      }
    } else if (n > 1 && n % 17 === 0) {
      provider = "google";
      encryptedPassword = "";
      appMetadata = { provider: "google", providers: ["google"] };
      counters.oauth_only++;
    } else if (n > 1 && n % 29 === 0) {
      withGithub = true;
      appMetadata = { provider: "email", providers: ["email", "github"] };
      counters.email_and_github++;
    } else if (n > 1 && n % 23 === 0) {
      emailConfirmedAt = null;
      counters.unconfirmed++;
    }
    const userMeta = !kind && n > 1 && n % 31 === 0 ? null : userMetadata;
    if (userMeta === null) counters.null_metadata++;

    users.push({
      id,
      email,
      encrypted_password: encryptedPassword,
      email_confirmed_at: emailConfirmedAt,
      confirmation_sent_at: createdAt.toISOString(),
      last_sign_in_at: emailConfirmedAt || phoneConfirmedAt ? lastSignIn.toISOString() : null,
      raw_app_meta_data: appMetadata,
      raw_user_meta_data: userMeta,
      created_at: createdAt.toISOString(),
      updated_at: lastSignIn.toISOString(),
      phone,
      phone_confirmed_at: phoneConfirmedAt,
      banned_until: bannedUntil,
      deleted_at: deletedAt,
    });

    const stamp = { created_at: createdAt.toISOString(), updated_at: lastSignIn.toISOString() };
    if (provider === "phone") {
      identities.push({
        provider_id: id,
        user_id: id,
        provider: "phone",
        identity_data: { sub: id, phone, email_verified: false, phone_verified: true },
        last_sign_in_at: lastSignIn.toISOString(),
        ...stamp,
      });
    } else if (provider === "google") {
      const googleId = String(100_000_000_000_000_000_000n + BigInt(Math.floor(random() * 1e15)));
      identities.push({
        provider_id: googleId,
        user_id: id,
        provider: "google",
        identity_data: {
          iss: "https://accounts.google.com",
          sub: googleId,
          name: fullName,
          email,
          picture: userMetadata.avatar_url,
          full_name: fullName,
          avatar_url: userMetadata.avatar_url,
          provider_id: googleId,
          email_verified: true,
          phone_verified: false,
        },
        last_sign_in_at: lastSignIn.toISOString(),
        ...stamp,
      });
    } else {
      identities.push({
        provider_id: id,
        user_id: id,
        provider: "email",
        identity_data: {
          sub: id,
          email,
          email_verified: emailConfirmedAt !== null,
          phone_verified: false,
        },
        last_sign_in_at: lastSignIn.toISOString(),
        ...stamp,
      });
      if (withGithub) {
        const githubId = String(1_000_000 + Math.floor(random() * 90_000_000));
        identities.push({
          provider_id: githubId,
          user_id: id,
          provider: "github",
          identity_data: {
            iss: "https://api.github.com",
            sub: githubId,
            name: fullName,
            email,
            user_name: `${first}${last}${n}`,
            avatar_url: userMetadata.avatar_url,
            provider_id: githubId,
            email_verified: true,
            phone_verified: false,
            preferred_username: `${first}${last}${n}`,
          },
          last_sign_in_at: lastSignIn.toISOString(),
          ...stamp,
        });
      }
    }
    if (!kind && email) previous = { email, n };
  }

  const byKind = Object.fromEntries(INVALID_KINDS.map((k) => [k, 0])) as Record<
    InvalidKind,
    number
  >;
  for (const k of invalid.values()) byKind[k]++;
  return {
    users,
    identities,
    invalid,
    summary: {
      users: users.length,
      identities: identities.length,
      invalid: byKind,
      ...counters,
      demo_account: DEMO_ACCOUNT.email,
    },
  };
}

/** Inserts the dataset with two set-based statements (rows travel as one JSON parameter each). */
export async function insertLegacyDataset(tx: SqlClient, dataset: LegacyDataset): Promise<void> {
  if (dataset.users.length === 0) return;
  await tx.query(
    `INSERT INTO auth.users (
        instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
        confirmation_sent_at, last_sign_in_at, raw_app_meta_data, raw_user_meta_data, created_at,
        updated_at, phone, phone_confirmed_at, banned_until, deleted_at, confirmation_token,
        recovery_token, email_change_token_new, email_change, is_sso_user, is_anonymous)
     SELECT $2::uuid, r.id, 'authenticated', 'authenticated', r.email, r.encrypted_password,
            r.email_confirmed_at, r.confirmation_sent_at, r.last_sign_in_at, r.raw_app_meta_data,
            r.raw_user_meta_data, r.created_at, r.updated_at, r.phone, r.phone_confirmed_at,
            r.banned_until, r.deleted_at, '', '', '', '', false, false
       FROM jsonb_to_recordset($1::text::jsonb) AS r(
            id uuid, email text, encrypted_password text, email_confirmed_at timestamptz,
            confirmation_sent_at timestamptz, last_sign_in_at timestamptz, raw_app_meta_data jsonb,
            raw_user_meta_data jsonb, created_at timestamptz, updated_at timestamptz, phone text,
            phone_confirmed_at timestamptz, banned_until timestamptz, deleted_at timestamptz)`,
    [JSON.stringify(dataset.users), NIL_UUID],
  );
  await tx.query(
    `INSERT INTO auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
     SELECT r.provider_id, r.user_id, r.identity_data, r.provider, r.last_sign_in_at, r.created_at, r.updated_at
       FROM jsonb_to_recordset($1::text::jsonb) AS r(
            provider_id text, user_id uuid, identity_data jsonb, provider text,
            last_sign_in_at timestamptz, created_at timestamptz, updated_at timestamptz)`,
    [JSON.stringify(dataset.identities)],
  );
}

export const legacyUsersSeeder: Seeder = {
  name: "legacy_supabase_users",
  async seed(tx, context) {
    const dataset = generateLegacyUsers(context.userCount, context.random);
    await insertLegacyDataset(tx, dataset);
    const everyKind = context.userCount >= EVERY_KIND_MIN_USERS ? EVERY_KIND_SEEDED : 0;
    if (everyKind > 0) await insertEveryKind(tx, { to: everyKind });
    context.log(
      `seeded ${dataset.users.length} legacy Supabase users (${dataset.invalid.size} deliberately ` +
        `awkward) and ${everyKind} of every kind (kind-<n>@example.com)`,
    );
    return { ...dataset.summary, every_kind: everyKind };
  },
};
