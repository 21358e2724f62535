/**
 * A legacy user table (e.g. `profiles`) in ANOTHER database (OLD_DATABASE_URL). Rows have to
 * move between servers, so each batch fetches one keyset page from the old database as a single
 * JSON document (built by the old server, never re-serialized in JavaScript) and the engine's
 * statement unpacks it with jsonb_to_recordset on the target: one round trip each way per batch.
 */
import { z } from "zod";
import { quoteIdentifier } from "../db/identifiers.ts";
import type { SqlClient } from "../db/sql-client.ts";
import {
  type DuplicateEmail,
  type DuplicateEmailContext,
  findDuplicateEmails,
  type KeyRange,
  NORMALIZED_RECORD_TYPE,
  scopeCondition,
  type SourceAdapter,
  type SourceRelation,
  type SourceScope,
} from "./source.ts";

const column = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, "expected a column name");

export const legacySourceOptionsSchema = z.object({
  /** Table name, optionally schema-qualified. Its id column must be a uuid (it becomes user.id). */
  table: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/)
    .default("profiles"),
  id: column.default("id"),
  email: column.default("email"),
  createdAt: column.default("created_at"),
  /** A bcrypt hash column, when the legacy system stored passwords. */
  passwordHash: column.optional(),
  /** A timestamp column set when the address was confirmed... */
  emailConfirmedAt: column.optional(),
  /** ...or a boolean column (confirmed at created_at). */
  emailVerified: column.optional(),
  deletedAt: column.optional(),
  /** Columns copied into raw_user_meta_data under their own names (NULLs dropped). */
  metadata: z.array(column).default(["username", "first_name", "last_name", "avatar_url"]),
});
export type LegacySourceOptions = z.input<typeof legacySourceOptionsSchema>;

export class LegacyTableSource implements SourceAdapter {
  readonly name: string;
  readonly inSupabaseAuth = false;
  readonly #table: string;
  readonly #id: string;
  readonly #select: string;

  /** `old` is the legacy database; the adapter closes it when `ownsConnection` is set. */
  constructor(
    private readonly old: SqlClient,
    options: LegacySourceOptions = {},
    private readonly ownsConnection = false,
  ) {
    const o = legacySourceOptionsSchema.parse(options);
    const q = (name: string) => `t.${quoteIdentifier(name)}`;
    this.name = `legacy:${o.table}`;
    this.#table = quoteIdentifier(o.table);
    this.#id = q(o.id);
    const confirmed = o.emailConfirmedAt
      ? `${q(o.emailConfirmedAt)}::timestamptz`
      : o.emailVerified
      ? `CASE WHEN ${q(o.emailVerified)} THEN ${q(o.createdAt)}::timestamptz END`
      : "NULL::timestamptz";
    const metadata = o.metadata.length === 0
      ? "'{}'::jsonb"
      : `jsonb_strip_nulls(jsonb_build_object(${
        o.metadata.map((name) => `'${name}', ${q(name)}`).join(", ")
      }))`;
    this.#select = `
      SELECT ${this.#id} AS id, ${q(o.email)}::text AS email,
             ${o.passwordHash ? `${q(o.passwordHash)}::text` : "NULL::text"} AS encrypted_password,
             ${confirmed} AS email_confirmed_at,
             ${metadata} AS raw_user_meta_data, '{}'::jsonb AS raw_app_meta_data,
             ${q(o.createdAt)}::timestamptz AS created_at,
             ${o.deletedAt ? `${q(o.deletedAt)}::timestamptz` : "NULL::timestamptz"} AS deleted_at,
             NULL::timestamptz AS banned_until, '[]'::jsonb AS identities
      FROM ${this.#table} t`;
  }

  async count(): Promise<number> {
    const { rows } = await this.old.query<{ n: number }>(
      `SELECT count(*) AS n FROM ${this.#table}`,
    );
    return rows[0]?.n ?? 0;
  }

  async keyBoundaries(batchSize: number): Promise<string[]> {
    const { rows } = await this.old.query<{ id: string }>(
      `SELECT id FROM (
         SELECT ${this.#id} AS id, row_number() OVER (ORDER BY ${this.#id}) AS n
         FROM ${this.#table} t) numbered
       WHERE n % $1 = 0 ORDER BY id`,
      [batchSize],
    );
    return rows.map((row) => row.id);
  }

  async duplicateEmails(context: DuplicateEmailContext): Promise<DuplicateEmail[]> {
    return await findDuplicateEmails(this.old, this.#select, context);
  }

  async idsAfter(after: string | null, limit: number): Promise<string[]> {
    const { rows } = await this.old.query<{ id: string }>(
      after === null
        ? `SELECT ${this.#id} AS id FROM ${this.#table} t ORDER BY 1 LIMIT $1`
        : `SELECT ${this.#id} AS id FROM ${this.#table} t WHERE ${this.#id} > $2::uuid
           ORDER BY 1 LIMIT $1`,
      after === null ? [limit] : [limit, after],
    );
    return rows.map((row) => row.id);
  }

  async idsInRange(range: KeyRange): Promise<string[]> {
    const condition = scopeCondition(this.#id, { kind: "range", range }, 1);
    const { rows } = await this.old.query<{ id: string }>(
      `SELECT ${this.#id} AS id FROM ${this.#table} t WHERE ${condition.sql} ORDER BY 1`,
      condition.params,
    );
    return rows.map((row) => row.id);
  }

  async relation(scope: SourceScope, firstParam: number): Promise<SourceRelation> {
    const condition = scopeCondition(this.#id, scope, 1);
    const { rows } = await this.old.query<{ page: string }>(
      `SELECT coalesce(json_agg(page ORDER BY page.id), '[]')::text AS page
       FROM (${this.#select} WHERE ${condition.sql}) page`,
      condition.params,
    );
    return {
      sql:
        `SELECT * FROM jsonb_to_recordset($${firstParam}::text::jsonb) AS s(${NORMALIZED_RECORD_TYPE})`,
      params: [rows[0]?.page ?? "[]"],
    };
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.old.close();
  }
}
