/**
 * Verification of one migration: for the users it migrated, the source projected exactly as the
 * migration writes it (statements.ts projectionCtes) is compared with what the target holds.
 * Each user gets a SHA-256 over a canonical JSON array of its user row and its accounts (the
 * password hash enters only as its own SHA-256, inside the database); the users are walked in
 * id order in fixed chunks, and the migration checksum is SHA-256 over the chunk checksums, so
 * two databases with the same migrated data give the same checksum however the work was split,
 * interrupted or resumed. Matching users get user_migration_status.data_validated = true.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { sha256Hex } from "../crypto/sha256.ts";
import { NO_JIT } from "./batch-writer.ts";
import type { MigrationRow } from "./migration-state.ts";
import type { SourceAdapter } from "./source.ts";
import { accountListSql, isoSql, LOGIN_IDENTITY, projectionCtes, SqlParams } from "./statements.ts";

export const VERIFY_CHUNK = 5000;

export interface VerifyResult {
  readonly migration_id: string;
  /** Users the migration's tracking rows say it migrated. */
  readonly migrated: number;
  readonly source_count: number;
  readonly target_count: number;
  readonly matching: number;
  readonly differing: number;
  readonly source_checksum: string;
  readonly target_checksum: string;
  readonly equal: boolean;
  /** Up to max_ids of the differing users, with what is wrong. */
  readonly differing_ids: {
    id: string;
    problem: "missing_in_source" | "missing_in_target" | "different";
  }[];
}

interface ChunkRow {
  source_count: number;
  target_count: number;
  source_checksum: string;
  target_checksum: string;
  differing: VerifyResult["differing_ids"];
}

/** [provider, account id, SHA-256 of the password hash]: the hash itself never leaves SQL. */
const digestAccount = (provider: string, account: string, password: string) =>
  `jsonb_build_array(${provider}, ${account},
                     encode(sha256(convert_to(coalesce(${password}, ''), 'UTF8')), 'hex'))`;

async function chunkStatement(
  source: SourceAdapter,
  ids: readonly string[],
  asOf: string,
): Promise<{ sql: string; params: unknown[] }> {
  const params = new SqlParams();
  const relation = await source.relation({ kind: "ids", ids }, params.next);
  params.values.push(...relation.params);
  const idList = params.add([...ids], "text[]");
  const migratedFrom = params.add(source.name, "text");
  const asOfParam = params.add(asOf, "timestamptz");
  // The two-factor secret is encrypted with a random nonce: its presence is compared (the
  // login tests prove the codes), not its ciphertext.
  const sql = `
    WITH src AS MATERIALIZED (${relation.sql}),
    cls AS (SELECT src.*, ident.*, ident.login_email AS email_lower, NULL::text AS reason
            FROM src CROSS JOIN LATERAL (${LOGIN_IDENTITY}) ident),
    ${projectionCtes(migratedFrom, asOfParam)},
    source_digest AS (
      SELECT p.id, encode(sha256(convert_to(jsonb_build_array(
               p.id::text, p.email_lower, p.name, p.email_verified, p.image, p.user_metadata,
               p.app_metadata, ${isoSql("p.created_at")}, ${accountListSql("p", digestAccount)},
               p.role, p.banned, p.ban_reason, ${isoSql("p.ban_expires")}, p.is_anonymous,
               p.phone_number, p.phone_number_verified, p.two_factor, p.two_factor,
               ${isoSql("p.invited_at")}, ${isoSql("p.last_sign_in_at")}
             )::text, 'UTF8')), 'hex') AS digest
      FROM planned p
    ),
    target_digest AS (
      SELECT u.id, encode(sha256(convert_to(jsonb_build_array(
               u.id::text, u.email, u.name, u."emailVerified", u.image, u."userMetadata",
               u."appMetadata", ${isoSql('u."createdAt"')},
               (SELECT coalesce(jsonb_agg(${
    digestAccount('a."providerId"', 'a."accountId"', "a.password")
  }
                                          ORDER BY a."providerId" COLLATE "C",
                                                   a."accountId" COLLATE "C"), '[]'::jsonb)
                FROM account a WHERE a."userId" = u.id),
               u.role, coalesce(u.banned, false), u."banReason", ${isoSql('u."banExpires"')},
               coalesce(u."isAnonymous", false), u."phoneNumber", u."phoneNumberVerified",
               coalesce(u."twoFactorEnabled", false),
               EXISTS (SELECT 1 FROM "twoFactor" tf WHERE tf."userId" = u.id AND tf.verified),
               ${isoSql('u."invitedAt"')}, ${isoSql('u."lastSignInAt"')}
             )::text, 'UTF8')), 'hex') AS digest
      FROM "user" u WHERE u.id = ANY(${idList}::uuid[])
    ),
    -- Side by side through a GROUP BY, not a join of CTEs (see statements.ts).
    compared AS (
      SELECT id, max(source_digest) AS source_digest, max(target_digest) AS target_digest
      FROM (
        SELECT id, digest AS source_digest, NULL::text AS target_digest FROM source_digest
        UNION ALL SELECT id, NULL, digest FROM target_digest
        UNION ALL SELECT id, NULL, NULL FROM unnest(${idList}::uuid[]) AS i(id)
      ) sides
      GROUP BY id
    ),
    mark_validated AS (
      UPDATE user_migration_status st
      SET data_validated = coalesce(c.source_digest = c.target_digest, false),
          validated_at = CASE WHEN c.source_digest = c.target_digest THEN now() END,
          updated_at = now()
      FROM compared c
      WHERE st.user_id = ANY(${idList}::uuid[]) AND st.user_id = c.id
        AND st.data_validated <> coalesce(c.source_digest = c.target_digest, false)
      RETURNING 1
    )
    SELECT
      (SELECT count(*) FROM source_digest) AS source_count,
      (SELECT count(*) FROM target_digest) AS target_count,
      (SELECT encode(sha256(convert_to(coalesce(string_agg(digest, '' ORDER BY id), ''), 'UTF8')),
                     'hex') FROM source_digest) AS source_checksum,
      (SELECT encode(sha256(convert_to(coalesce(string_agg(digest, '' ORDER BY id), ''), 'UTF8')),
                     'hex') FROM target_digest) AS target_checksum,
      (SELECT coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'problem',
                CASE WHEN c.source_digest IS NULL THEN 'missing_in_source'
                     WHEN c.target_digest IS NULL THEN 'missing_in_target'
                     ELSE 'different' END) ORDER BY c.id), '[]'::jsonb)
         FROM compared c WHERE c.source_digest IS DISTINCT FROM c.target_digest) AS differing`;
  return { sql, params: params.values };
}

export async function verifyMigration(
  db: SqlClient,
  source: SourceAdapter,
  migration: MigrationRow,
  options: { maxIds?: number } = {},
): Promise<VerifyResult> {
  const maxIds = options.maxIds ?? 1000;
  const sourceChunks: string[] = [];
  const targetChunks: string[] = [];
  let migrated = 0;
  let sourceCount = 0;
  let targetCount = 0;
  let differing = 0;
  const differingIds: VerifyResult["differing_ids"] = [];
  let after: string | null = null;
  for (;;) {
    const { rows }: { rows: { id: string }[] } = await db.query<{ id: string }>(
      `SELECT new_auth_id AS id FROM migrated_users
       WHERE migration_id = $1 AND migrated_via = 'batch'
         AND ($2::text IS NULL OR new_auth_id > $2::text::uuid)
       ORDER BY new_auth_id LIMIT $3`,
      [migration.id, after, VERIFY_CHUNK],
    );
    if (rows.length === 0) break;
    const ids: string[] = rows.map((row) => row.id);
    const statement = await chunkStatement(
      source,
      ids,
      new Date(migration.config.as_of ?? migration.created_at).toISOString(),
    );
    const chunk = await db.transaction(async (tx) => {
      await tx.query(NO_JIT);
      return (await tx.query<ChunkRow>(statement.sql, statement.params)).rows[0]!;
    });
    migrated += ids.length;
    sourceCount += chunk.source_count;
    targetCount += chunk.target_count;
    sourceChunks.push(chunk.source_checksum);
    targetChunks.push(chunk.target_checksum);
    differing += chunk.differing.length;
    differingIds.push(...chunk.differing.slice(0, Math.max(0, maxIds - differingIds.length)));
    after = ids.at(-1)!;
    if (rows.length < VERIFY_CHUNK) break;
  }
  const sourceChecksum = await sha256Hex(sourceChunks.join(""));
  const targetChecksum = await sha256Hex(targetChunks.join(""));
  return {
    migration_id: migration.id,
    migrated,
    source_count: sourceCount,
    target_count: targetCount,
    matching: migrated - differing,
    differing,
    source_checksum: sourceChecksum,
    target_checksum: targetChecksum,
    equal: differing === 0 && sourceChecksum === targetChecksum,
    differing_ids: differingIds,
  };
}
