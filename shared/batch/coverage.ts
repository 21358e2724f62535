/**
 * The field-coverage report of plan, dry run and validate: per source field, how many source
 * users have it, how many will carry it into Better Auth, and why the rest will not — the
 * user's rejection reason, or a reason of the field itself (an unverified MFA factor, a second
 * TOTP factor...). Computed in SQL over a classified scope (the `cls` and `planned` CTEs of
 * statements.ts), summed over batches in JavaScript. Users that factors or fields are dropped
 * for are listed (up to a cap), so they can be asked to re-enrol.
 */

export interface FieldCoverage {
  /** Source users (identities, for the identity fields) that have the field. */
  source: number;
  /** Of those, carried into Better Auth by this migration. */
  carried: number;
  dropped: number;
  /** Dropped, by reason: a rejection/skip reason of the user, or one of the field. */
  dropped_because: Record<string, number>;
  /** What a carried value needs to be useful, where that is not obvious. */
  note?: string;
  /** Users whose value is dropped for a reason of the field itself (capped). */
  user_ids?: string[];
}

export type Coverage = Record<string, FieldCoverage>;

/** Users listed per field; the counts are always complete. */
export const COVERAGE_ID_CAP = 1000;

export const COVERAGE_NOTES: Readonly<Record<string, string>> = {
  identities: "every provider's identities become accounts with the same provider id; signing " +
    "in through a provider needs it configured in Better Auth (socialProviders / genericOAuth)",
  sso_identities: "carried as accounts with provider id sso:<provider uuid>; signing in needs " +
    "Better Auth's SSO plugin configured with that provider id",
  totp: "carried as a verified two-factor record (base32 secret, encrypted with " +
    "BETTER_AUTH_SECRET): the user's authenticator app keeps working; no backup codes",
  phone: "stored in E.164 (+ prefix); phone one-time codes need an SMS sender configured",
  anonymous: "placeholder email <id>@anonymous.placeholder.invalid, as Better Auth's anonymous " +
    "plugin makes them",
  ban: "a ban without expiry (banned_until = infinity) becomes a Better Auth ban without " +
    "banExpires",
};

/** Field-specific reasons a migrated user's value is not carried. */
const FIELD_REASONS = {
  extra_totp: "better_auth_keeps_one_totp_factor",
  unverified: "unverified_factor_re_enrol",
  phone_factor: "phone_factor_re_enrol",
  webauthn_factor: "webauthn_factor_re_enrol",
} as const;

const factorCount = (type: string, status?: string) =>
  `(SELECT count(*) FROM jsonb_array_elements(coalesce(c.factors, '[]')) f
    WHERE f ->> 'type' = '${type}'${status ? ` AND f ->> 'status' = '${status}'` : ""})`;
const nonBlankText = (meta: string, key: string) =>
  `(jsonb_typeof(${meta} -> '${key}') = 'string' AND btrim(${meta} ->> '${key}') <> '')`;
const userMeta = "coalesce(c.raw_user_meta_data, 'null')";
const appMeta = "coalesce(c.raw_app_meta_data, 'null')";
const identity = (key: string) =>
  `EXISTS (SELECT 1 FROM jsonb_array_elements(c.identities) e
           WHERE coalesce(e ->> '${key}', '') <> '')`;
const socialCount = `(SELECT count(*) FROM jsonb_array_elements(c.identities) e
                      WHERE e ->> 'provider' NOT LIKE 'sso:%')`;
const ssoCount = `(SELECT count(*) FROM jsonb_array_elements(c.identities) e
                   WHERE e ->> 'provider' LIKE 'sso:%')`;
/** (field, weight: users or identities having it, reason of the field when migrated). */
const FIELDS: readonly [string, string, string][] = [
  ["email", "c.has_email::int", "NULL"],
  ["email_verified", "(c.has_email AND c.email_confirmed_at IS NOT NULL)::int", "NULL"],
  ["password", "(coalesce(c.encrypted_password, '') <> '')::int", "NULL"],
  ["phone", "(c.phone_e164 IS NOT NULL)::int", "NULL"],
  [
    "phone_verified",
    "(c.phone_e164 IS NOT NULL AND c.phone_confirmed_at IS NOT NULL)::int",
    "NULL",
  ],
  ["anonymous", "coalesce(c.is_anonymous, false)::int", "NULL"],
  ["role", `(${nonBlankText(appMeta, "role")} OR coalesce(c.is_super_admin, false))::int`, "NULL"],
  ["ban", "c.banned_now::int", "NULL"],
  [
    "name",
    `(${nonBlankText(userMeta, "full_name")} OR ${nonBlankText(userMeta, "name")} OR ${
      identity("name")
    })::int`,
    "NULL",
  ],
  [
    "image",
    `(${nonBlankText(userMeta, "avatar_url")} OR ${nonBlankText(userMeta, "picture")} OR ${
      identity("image")
    })::int`,
    "NULL",
  ],
  ["user_metadata", `(jsonb_typeof(${userMeta}) = 'object' AND ${userMeta} <> '{}')::int`, "NULL"],
  ["app_metadata", `(jsonb_typeof(${appMeta}) = 'object' AND ${appMeta} <> '{}')::int`, "NULL"],
  ["invited_at", "(c.invited_at IS NOT NULL)::int", "NULL"],
  ["last_sign_in_at", "(c.last_sign_in_at IS NOT NULL)::int", "NULL"],
  ["identities", `${socialCount}::int`, "NULL"],
  ["sso_identities", `${ssoCount}::int`, "NULL"],
  ["totp", "(c.totp_secret IS NOT NULL)::int", "NULL"],
  [
    "totp_additional_factors",
    `greatest(${factorCount("totp", "verified")} - 1, 0)::int`,
    `'${FIELD_REASONS.extra_totp}'`,
  ],
  [
    "mfa_unverified_factors",
    `${factorCount("totp", "unverified")}::int`,
    `'${FIELD_REASONS.unverified}'`,
  ],
  ["mfa_phone_factors", `${factorCount("phone")}::int`, `'${FIELD_REASONS.phone_factor}'`],
  ["mfa_webauthn_factors", `${factorCount("webauthn")}::int`, `'${FIELD_REASONS.webauthn_factor}'`],
];

/**
 * A scalar SQL sub-select giving the coverage object of the `cls` CTE of the statement it is
 * embedded in (cls.banned_now: banned at the migration's "now").
 */
export function coverageSql(): string {
  const values = FIELDS.map(([field, weight, why]) => `('${field}', ${weight}, ${why})`).join(
    ",\n          ",
  );
  // A user counts as carrying its fields when it migrates now or this migration already wrote
  // it; any other reason (rejected, or skipped as migrated elsewhere) is why it is not carried.
  return `(
    SELECT coalesce(jsonb_object_agg(field, jsonb_build_object(
             'source', total, 'carried', carried, 'dropped', total - carried,
             'dropped_because', because, 'user_ids', ids)), '{}'::jsonb)
    FROM (
      SELECT field, sum(n)::int AS total, coalesce(sum(n) FILTER (WHERE why IS NULL), 0)::int
               AS carried,
             coalesce(jsonb_object_agg(why, n) FILTER (WHERE why IS NOT NULL), '{}'::jsonb)
               AS because,
             -- A field has one reason of its own, so at most one group lists users.
             (array_agg(ids) FILTER (WHERE field_why))[1] AS ids
      FROM (
        SELECT x.field, x.why, x.field_why, sum(x.n) AS n,
               CASE WHEN x.field_why
                    THEN to_jsonb((array_agg(x.id::text ORDER BY x.id))[1:${COVERAGE_ID_CAP}])
               END AS ids
        FROM (
          SELECT v.field, v.n, c.id,
                 CASE WHEN c.reason IS NOT NULL AND c.reason <> 'migrated_by_this_migration'
                      THEN c.reason ELSE v.why END AS why,
                 (c.reason IS NULL OR c.reason = 'migrated_by_this_migration')
                   AND v.why IS NOT NULL AS field_why
          FROM cls c
          CROSS JOIN LATERAL (VALUES
          ${values}
          ) AS v(field, n, why)
          WHERE v.n > 0
        ) x
        GROUP BY x.field, x.why, x.field_why
      ) per_reason
      GROUP BY field
    ) per_field
  )`;
}

function emptyField(): FieldCoverage {
  return { source: 0, carried: 0, dropped: 0, dropped_because: {} };
}

/** Every field at zero, so a report lists the fields no source user has too. */
export function emptyCoverage(): Coverage {
  return Object.fromEntries(FIELDS.map(([field]) => {
    const value = emptyField();
    if (COVERAGE_NOTES[field]) value.note = COVERAGE_NOTES[field];
    return [field, value];
  }));
}

/** Sums two coverage reports (batches of one run), keeping at most COVERAGE_ID_CAP ids. */
export function mergeCoverage(into: Coverage, add: Coverage): Coverage {
  for (const [field, value] of Object.entries(add)) {
    const target = into[field] ?? emptyField();
    target.source += value.source;
    target.carried += value.carried;
    target.dropped += value.dropped;
    for (const [why, n] of Object.entries(value.dropped_because)) {
      target.dropped_because[why] = (target.dropped_because[why] ?? 0) + n;
    }
    const ids = [...(target.user_ids ?? []), ...(value.user_ids ?? [])];
    delete target.user_ids;
    if (ids.length > 0) target.user_ids = ids.slice(0, COVERAGE_ID_CAP);
    if (COVERAGE_NOTES[field]) target.note = COVERAGE_NOTES[field];
    into[field] = target;
  }
  return into;
}

/** The report as a text table (the CLI): field, source, carried, dropped, why. */
export function formatCoverage(coverage: Coverage): string {
  const lines = ["  field coverage (source → carried; dropped: why)"];
  const rank = (field: string) => FIELDS.findIndex(([name]) => name === field);
  const entries = Object.entries(coverage).sort(([a], [b]) => rank(a) - rank(b));
  for (const [field, c] of entries) {
    const why = Object.entries(c.dropped_because).map(([reason, n]) => `${reason} ${n}`);
    lines.push(
      `    ${field.padEnd(24)} ${String(c.source).padStart(8)} → ${String(c.carried).padStart(8)}` +
        (c.dropped > 0 ? `; dropped ${c.dropped}: ${why.join(", ")}` : ""),
    );
  }
  return `${lines.join("\n")}\n`;
}
