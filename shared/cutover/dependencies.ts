/**
 * What in the app's own database still depends on Supabase Auth, and what happens to each
 * dependency once users live in Better Auth (issue 14 §4). Read from the catalogs, never from
 * migration files, so it sees what is actually deployed:
 *
 * - foreign keys to auth.* tables (pg_constraint);
 * - RLS policies, views and column defaults whose expressions use auth.* functions or tables
 *   (pg_policy / pg_rewrite / pg_attrdef through pg_depend, which PostgreSQL records for every
 *   function and relation an expression references), including through an app function that
 *   does (e.g. a policy calling public.is_owner(), which calls auth.uid());
 * - functions whose bodies call auth.uid(), auth.jwt(), auth.role(), auth.email() or read auth.*
 *   tables (pg_proc.prosrc: PL/pgSQL bodies are not dependency-tracked, so their text is read);
 * - triggers on auth.* tables (pg_trigger), and triggers on app tables whose function is listed.
 *
 * Severity, for `better_auth_only` / `complete`:
 * - blocking: breaks for a user who exists only in Better Auth (no auth.users row): a foreign key
 *   to auth.users refuses their rows; a policy, view or function that reads auth.* tables does
 *   not see them; a trigger on auth.users never fires for them (e.g. no profile row);
 * - warning: keeps working only while Better Auth's access tokens are accepted by PostgREST and
 *   carry a uuid `sub` (auth.uid() casts the claim to uuid: supabase/auth
 *   migrations/tenant/20211202183645_update_auth_uid.up.sql; the stand-in's auth-schema.sql
 *   defines it the same way). In this project Better Auth ids are uuids and tokens carry the
 *   shared id as `sub`, so these keep working, but they tie the app to Supabase's helpers;
 * - info: auth.jwt() alone (reads the verified claims, whichever system issued the token), and
 *   the migrator's own change capture (triggers writing identity_change_outbox).
 *
 * Schemas Supabase itself owns are skipped (their objects are the platform's, not the app's),
 * except that policies on storage.objects are the app's and are reported.
 */
import type { SqlClient } from "../db/sql-client.ts";

export type DependencyKind = "foreign_key" | "policy" | "view" | "default" | "function" | "trigger";
export type Severity = "blocking" | "warning" | "info";

export interface AuthDependency {
  readonly kind: DependencyKind;
  /** Qualified name, e.g. "public.profiles.profiles_id_fkey", "public.notes: notes_owner". */
  readonly name: string;
  readonly severity: Severity;
  /** What it uses: "auth.users", "auth.uid()", "public.is_owner() → auth.uid()". */
  readonly uses: readonly string[];
  /** The definition as the catalog prints it (truncated). */
  readonly definition: string;
  /** What happens to it after the move to Better Auth. */
  readonly afterMove: string;
  /** How to fix it. */
  readonly fix: string;
}

export interface DependencyReport {
  readonly generatedAt: string;
  readonly blocking: number;
  readonly warnings: number;
  readonly info: number;
  readonly dependencies: readonly AuthDependency[];
}

/** Supabase's own schemas: not the app's to fix. */
export const PLATFORM_SCHEMAS: readonly string[] = [
  "auth",
  "pg_catalog",
  "information_schema",
  "pg_toast",
  "extensions",
  "graphql",
  "graphql_public",
  "realtime",
  "_realtime",
  "_analytics",
  "supabase_functions",
  "supabase_migrations",
  "storage",
  "vault",
  "pgsodium",
  "pgsodium_masks",
  "net",
  "cron",
  "pgbouncer",
  "standin",
];

const MAX_DEFINITION = 500;

interface FunctionRow {
  oid: number | string;
  schema: string;
  name: string;
  args: string;
  src: string | null;
  security_definer: boolean;
}

interface AppFunction {
  readonly label: string;
  readonly uses: string[];
  readonly severity: Severity;
  readonly migratorOwn: boolean;
  readonly row: FunctionRow;
}

/** `auth.x(` → "auth.x()", `auth.x` (a relation of the auth schema) → "auth.x". */
function authReferences(text: string, authRelations: ReadonlySet<string>): string[] {
  const found = new Set<string>();
  const pattern = /(?<![\w."])"?auth"?\s*\.\s*"?([a-z_][a-z0-9_]*)"?(\s*\()?/gi;
  for (const match of text.matchAll(pattern)) {
    const name = match[1]!.toLowerCase();
    if (match[2]) found.add(`auth.${name}()`);
    else if (authRelations.has(name)) found.add(`auth.${name}`);
  }
  return [...found].sort();
}

function severityOf(uses: readonly string[]): Severity {
  if (uses.some((use) => !use.endsWith("()") && !use.includes("→"))) return "blocking";
  if (
    uses.some((use) => {
      const fn = /^auth\.(\w+)\(\)$/.exec(use)?.[1];
      return fn !== undefined && fn !== "jwt";
    })
  ) return "warning";
  return "info";
}

const RANK: Record<Severity, number> = { blocking: 0, warning: 1, info: 2 };
const worst = (a: Severity, b: Severity): Severity => RANK[a] <= RANK[b] ? a : b;

function truncate(text: string | null | undefined): string {
  const clean = (text ?? "").replace(/\s+/g, " ").trim();
  return clean.length > MAX_DEFINITION ? `${clean.slice(0, MAX_DEFINITION)}…` : clean;
}

const REWRITE_UID = "rewrite `auth.uid()` as `(auth.jwt() ->> 'sub')` compared with the id as " +
  "text (e.g. `owner_id::text = auth.jwt() ->> 'sub'`): it reads the verified token of either " +
  "system and needs no uuid cast";
const READ_OWN_TABLES = "read the app's own tables or Better Auth's \"user\" table instead of " +
  "auth.*, or keep a mirror auth.users row for every Better Auth user until this is changed";

function explainExpression(
  what: string,
  severity: Severity,
): { afterMove: string; fix: string } {
  if (severity === "blocking") {
    return {
      afterMove: `${what} reads auth.* rows: a user who exists only in Better Auth has none, so ` +
        "it does not see them (a policy denies them, a view or function omits them)",
      fix: READ_OWN_TABLES,
    };
  }
  if (severity === "warning") {
    return {
      afterMove: `${what} uses Supabase's token helpers: it keeps working only while PostgREST ` +
        "accepts Better Auth's access tokens and their `sub` is a uuid (auth.uid() casts it)",
      fix: REWRITE_UID,
    };
  }
  return {
    afterMove: `${what} reads the verified JWT claims only: it works with tokens of either ` +
      "system as long as the claims it reads are present",
    fix: "nothing required; check that Better Auth's tokens carry the claims it reads",
  };
}

/** The report for the database behind `sql`. */
export async function findAuthDependencies(
  sql: SqlClient,
  options: { readonly now?: () => Date } = {},
): Promise<DependencyReport> {
  const platform = [...PLATFORM_SCHEMAS];
  const platformParam = JSON.stringify(platform);
  const schemaFilter = (column: string) =>
    `${column} <> ALL (ARRAY(SELECT jsonb_array_elements_text($1::text::jsonb)))`;

  const relations = await sql.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'auth' AND c.relkind IN ('r', 'v', 'm', 'p', 'f')`,
  );
  const authRelations = new Set(relations.rows.map((row) => row.relname.toLowerCase()));
  const dependencies: AuthDependency[] = [];

  // 1. Foreign keys to auth.* tables.
  const keys = await sql.query<{
    schema: string;
    table: string;
    name: string;
    ref: string;
    definition: string;
    on_delete: string;
  }>(
    `SELECT n.nspname AS schema, cl.relname AS table, c.conname AS name,
            'auth.' || rcl.relname AS ref, pg_get_constraintdef(c.oid) AS definition,
            c.confdeltype::text AS on_delete
     FROM pg_constraint c
     JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
     JOIN pg_class rcl ON rcl.oid = c.confrelid JOIN pg_namespace rn ON rn.oid = rcl.relnamespace
     WHERE c.contype = 'f' AND rn.nspname = 'auth' AND ${schemaFilter("n.nspname")}
     ORDER BY 1, 2, 3`,
    [platformParam],
  );
  for (const key of keys.rows) {
    const table = `${key.schema}.${key.table}`;
    const cascade = key.on_delete === "c"
      ? `; ON DELETE CASCADE: deleting the auth.users rows after \`complete\` would delete ${table} rows too`
      : key.on_delete === "a" || key.on_delete === "r"
      ? "; deleting auth.users rows after `complete` is refused while rows reference them"
      : "";
    dependencies.push({
      kind: "foreign_key",
      name: `${table}.${key.name}`,
      severity: "blocking",
      uses: [key.ref],
      definition: truncate(key.definition),
      afterMove: `a user who exists only in Better Auth has no ${key.ref} row, so writing their ` +
        `${table} row fails with a foreign-key violation (23503)${cascade}`,
      fix: `keep the mirror ${key.ref} row for every Better Auth user until this key is moved, ` +
        `or re-point it: ALTER TABLE ${table} DROP CONSTRAINT ${key.name}, ADD CONSTRAINT ` +
        `${key.name} ${
          key.definition.replace(
            /REFERENCES\s+auth\.\w+\s*\(\w+\)/i,
            'REFERENCES public."user"(id)',
          )
        }`,
    });
  }

  // 2. App functions whose bodies use auth.* (text: PL/pgSQL bodies are not dependency-tracked).
  const fns = await sql.query<FunctionRow>(
    `SELECT p.oid, n.nspname AS schema, p.proname AS name,
            pg_get_function_identity_arguments(p.oid) AS args, p.prosrc AS src,
            p.prosecdef AS security_definer
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE ${schemaFilter("n.nspname")} AND p.prosrc ~* 'auth'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                       WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`,
    [platformParam],
  );
  const appFunctions = new Map<string, AppFunction>();
  for (const row of fns.rows) {
    const uses = authReferences(row.src ?? "", authRelations);
    if (uses.length === 0) continue;
    const label = `${row.schema}.${row.name}(${row.args})`;
    // The migrator's own change capture (migrations/20261206020000): the functions that write
    // the outbox, and the one that installs their triggers on auth.users / auth.identities.
    const migratorOwn = /identity_change_outbox/i.test(row.src ?? "") ||
      (row.schema === "public" && row.name === "identity_sync_install_auth_triggers");
    appFunctions.set(String(row.oid), {
      label,
      uses,
      severity: migratorOwn ? "info" : severityOf(uses),
      migratorOwn,
      row,
    });
  }
  for (const fn of appFunctions.values()) {
    const explained = fn.migratorOwn
      ? {
        afterMove: "the migrator's own change capture (identity_change_outbox); it stops " +
          "mattering once the migration is declared complete",
        fix: "nothing: it is dropped with the rest of the migration machinery",
      }
      : explainExpression(`function ${fn.label}`, fn.severity);
    dependencies.push({
      kind: "function",
      name: fn.label,
      severity: fn.severity,
      uses: fn.uses,
      definition: truncate(
        `${fn.row.security_definer ? "SECURITY DEFINER; " : ""}${fn.row.src ?? ""}`,
      ),
      ...explained,
    });
  }

  // 3. Policies, views and column defaults: their catalogued references to auth.* objects and
  //    to the app functions found above.
  const refs = await sql.query<{
    dep_class: string;
    objid: number | string;
    ref_kind: string;
    ref_oid: number | string;
    label: string;
  }>(
    `SELECT d.classid::regclass::text AS dep_class, d.objid, 'auth' AS ref_kind, d.refobjid AS ref_oid,
            CASE WHEN d.refclassid = 'pg_proc'::regclass
                 THEN 'auth.' || (SELECT proname FROM pg_proc WHERE oid = d.refobjid) || '()'
                 ELSE 'auth.' || (SELECT relname FROM pg_class WHERE oid = d.refobjid) END AS label
     FROM pg_depend d
     WHERE d.classid IN ('pg_policy'::regclass, 'pg_rewrite'::regclass, 'pg_attrdef'::regclass)
       AND ((d.refclassid = 'pg_proc'::regclass AND d.refobjid IN (
              SELECT p.oid FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = 'auth'))
         OR (d.refclassid = 'pg_class'::regclass AND d.refobjid IN (
              SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'auth')))
     UNION ALL
     SELECT d.classid::regclass::text, d.objid, 'app_function', d.refobjid, ''
     FROM pg_depend d
     WHERE d.classid IN ('pg_policy'::regclass, 'pg_rewrite'::regclass, 'pg_attrdef'::regclass)
       AND d.refclassid = 'pg_proc'::regclass
       AND d.refobjid = ANY (ARRAY(SELECT jsonb_array_elements_text($1::text::jsonb))::oid[])`,
    [JSON.stringify([...appFunctions.keys()])],
  );
  const usesBy = new Map<string, { uses: Set<string>; severity: Severity | null }>();
  for (const ref of refs.rows) {
    const key = `${ref.dep_class}:${ref.objid}`;
    const entry = usesBy.get(key) ?? { uses: new Set<string>(), severity: null };
    usesBy.set(key, entry);
    if (ref.ref_kind === "auth") {
      entry.uses.add(ref.label);
      const own = severityOf([ref.label]);
      entry.severity = entry.severity ? worst(entry.severity, own) : own;
    } else {
      const fn = appFunctions.get(String(ref.ref_oid));
      if (!fn) continue;
      entry.uses.add(`${fn.label} → ${fn.uses.join(", ")}`);
      entry.severity = entry.severity ? worst(entry.severity, fn.severity) : fn.severity;
    }
  }
  const oidsOf = (depClass: string) =>
    JSON.stringify(
      [...usesBy.keys()].filter((key) => key.startsWith(`${depClass}:`)).map((key) =>
        key.slice(depClass.length + 1)
      ),
    );
  const oidList = "ARRAY(SELECT jsonb_array_elements_text($2::text::jsonb))::oid[]";

  const policies = await sql.query<{
    oid: number | string;
    schema: string;
    table: string;
    name: string;
    cmd: string;
    using_expr: string | null;
    check_expr: string | null;
  }>(
    `SELECT p.oid, n.nspname AS schema, c.relname AS table, p.polname AS name, p.polcmd::text AS cmd,
            pg_get_expr(p.polqual, p.polrelid) AS using_expr,
            pg_get_expr(p.polwithcheck, p.polrelid) AS check_expr
     FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE p.oid = ANY (${oidList})
       AND (n.nspname = 'storage' OR ${schemaFilter("n.nspname")})
     ORDER BY 2, 3, 4`,
    [platformParam, oidsOf("pg_policy")],
  );
  const COMMANDS: Record<string, string> = {
    r: "SELECT",
    a: "INSERT",
    w: "UPDATE",
    d: "DELETE",
    "*": "ALL",
  };
  for (const policy of policies.rows) {
    const found = usesBy.get(`pg_policy:${policy.oid}`)!;
    const severity = found.severity ?? "info";
    const name = `${policy.schema}.${policy.table}: ${policy.name}`;
    dependencies.push({
      kind: "policy",
      name,
      severity,
      uses: [...found.uses].sort(),
      definition: truncate(
        `FOR ${COMMANDS[policy.cmd] ?? policy.cmd}` +
          (policy.using_expr ? ` USING (${policy.using_expr})` : "") +
          (policy.check_expr ? ` WITH CHECK (${policy.check_expr})` : ""),
      ),
      ...explainExpression(`RLS policy ${name}`, severity),
    });
  }

  const views = await sql.query<
    { oid: number | string; schema: string; name: string; kind: string }
  >(
    `SELECT r.oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind
     FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
     JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE r.oid = ANY (${oidList}) AND c.relkind IN ('v', 'm') AND ${schemaFilter("n.nspname")}
     ORDER BY 2, 3`,
    [platformParam, oidsOf("pg_rewrite")],
  );
  for (const view of views.rows) {
    const found = usesBy.get(`pg_rewrite:${view.oid}`)!;
    const severity = found.severity ?? "info";
    const name = `${view.schema}.${view.name}`;
    const definition = await sql.query<{ definition: string }>(
      "SELECT pg_get_viewdef(c.oid) AS definition FROM pg_class c WHERE c.oid = (SELECT ev_class FROM pg_rewrite WHERE oid = $1)",
      [view.oid],
    );
    dependencies.push({
      kind: "view",
      name,
      severity,
      uses: [...found.uses].sort(),
      definition: truncate(definition.rows[0]?.definition),
      ...explainExpression(`${view.kind === "m" ? "materialized view" : "view"} ${name}`, severity),
    });
  }

  const defaults = await sql.query<{
    oid: number | string;
    schema: string;
    table: string;
    column: string;
    expr: string;
  }>(
    `SELECT ad.oid, n.nspname AS schema, c.relname AS table, a.attname AS column,
            pg_get_expr(ad.adbin, ad.adrelid) AS expr
     FROM pg_attrdef ad JOIN pg_class c ON c.oid = ad.adrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
     WHERE ad.oid = ANY (${oidList}) AND ${schemaFilter("n.nspname")}
     ORDER BY 2, 3, 4`,
    [platformParam, oidsOf("pg_attrdef")],
  );
  for (const column of defaults.rows) {
    const found = usesBy.get(`pg_attrdef:${column.oid}`)!;
    const severity = found.severity ?? "info";
    const name = `${column.schema}.${column.table}.${column.column}`;
    dependencies.push({
      kind: "default",
      name,
      severity,
      uses: [...found.uses].sort(),
      definition: truncate(`DEFAULT ${column.expr}`),
      ...explainExpression(`the default of column ${name}`, severity),
    });
  }

  // 4. Triggers on auth.* tables, and on app tables when their function is listed above.
  const triggers = await sql.query<{
    schema: string;
    table: string;
    name: string;
    fn_oid: number | string;
    fn: string;
    definition: string;
  }>(
    `SELECT n.nspname AS schema, c.relname AS table, t.tgname AS name, t.tgfoid AS fn_oid,
            t.tgfoid::regprocedure::text AS fn, pg_get_triggerdef(t.oid) AS definition
     FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE NOT t.tgisinternal
       AND (n.nspname = 'auth' OR (${schemaFilter("n.nspname")}
            AND t.tgfoid = ANY (ARRAY(SELECT jsonb_array_elements_text($2::text::jsonb))::oid[])))
     ORDER BY 1, 2, 3`,
    [platformParam, JSON.stringify([...appFunctions.keys()])],
  );
  for (const trigger of triggers.rows) {
    const table = `${trigger.schema}.${trigger.table}`;
    const fn = appFunctions.get(String(trigger.fn_oid));
    const onAuth = trigger.schema === "auth";
    const migratorOwn = fn?.migratorOwn ?? false;
    const severity: Severity = migratorOwn ? "info" : onAuth ? "blocking" : fn?.severity ?? "info";
    const base = {
      kind: "trigger" as const,
      name: `${table}: ${trigger.name}`,
      severity,
      uses: onAuth ? [table, trigger.fn] : [`${fn!.label} → ${fn!.uses.join(", ")}`],
      definition: truncate(trigger.definition),
    };
    if (migratorOwn) {
      dependencies.push({
        ...base,
        afterMove: "the migrator's own change capture; it stops mattering once the migration " +
          "is declared complete",
        fix: "nothing: it is dropped with the rest of the migration machinery",
      });
    } else if (onAuth) {
      dependencies.push({
        ...base,
        afterMove: `fires only when ${table} is written: a user created in Better Auth alone ` +
          `never fires it, so what ${trigger.fn} does (e.g. creating a profile row) does not ` +
          "happen for them",
        fix: `run the same logic on the Better Auth side (a trigger on "user", or a Better Auth ` +
          "databaseHooks.user.create.after hook), or keep writing the mirror auth.users row so " +
          "this trigger still fires",
      });
    } else {
      dependencies.push({
        ...base,
        ...explainExpression(
          `trigger ${trigger.name} on ${table} (through ${fn!.label})`,
          severity,
        ),
      });
    }
  }

  dependencies.sort((a, b) =>
    RANK[a.severity] - RANK[b.severity] || a.kind.localeCompare(b.kind) ||
    a.name.localeCompare(b.name)
  );
  const count = (severity: Severity) => dependencies.filter((d) => d.severity === severity).length;
  return {
    generatedAt: (options.now?.() ?? new Date()).toISOString(),
    blocking: count("blocking"),
    warnings: count("warning"),
    info: count("info"),
    dependencies,
  };
}

/** Plain-text rendering for the CLI. */
export function formatDependencyReport(report: DependencyReport): string {
  const lines = [
    `Supabase Auth dependencies: ${report.blocking} blocking, ${report.warnings} warning(s), ` +
    `${report.info} info`,
  ];
  for (const dep of report.dependencies) {
    lines.push(
      "",
      `[${dep.severity.toUpperCase()}] ${dep.kind} ${dep.name}`,
      `  uses:       ${dep.uses.join(", ")}`,
      `  definition: ${dep.definition}`,
      `  after move: ${dep.afterMove}`,
      `  fix:        ${dep.fix}`,
    );
  }
  return lines.join("\n");
}

/**
 * For the stage gates (`better_auth_only`, `complete`): refuses while anything blocks, naming
 * each blocking dependency, so the refusal says what to fix.
 */
export function dependencyGate(
  report: DependencyReport,
): { readonly ok: true } | {
  readonly ok: false;
  readonly reason: string;
  readonly names: string[];
} {
  const blocking = report.dependencies.filter((dep) => dep.severity === "blocking");
  if (blocking.length === 0) return { ok: true };
  const names = blocking.map((dep) => `${dep.kind} ${dep.name}`);
  return {
    ok: false,
    names,
    reason: `${blocking.length} blocking Supabase Auth dependenc${
      blocking.length === 1 ? "y" : "ies"
    }: ${names.join("; ")}`,
  };
}
