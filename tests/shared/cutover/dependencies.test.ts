/**
 * The Supabase Auth dependency report on a schema seeded with each kind of dependency an app
 * typically has (PGlite and PostgreSQL 15). auth.users and auth.uid()/auth.jwt()/auth.role() come
 * from the stand-in's auth-schema.sql, which defines them as Supabase does.
 */
import assert from "node:assert/strict";
import {
  type AuthDependency,
  dependencyGate,
  findAuthDependencies,
  formatDependencyReport,
} from "../../../shared/cutover/dependencies.ts";
import { sqlProviders } from "../../helpers/db.ts";
import { APP_SCHEMA, withAuthSchema } from "./fixtures.ts";

function byName(deps: readonly AuthDependency[], name: string): AuthDependency {
  const found = deps.find((dep) => dep.name === name);
  assert.ok(found, `${name} in ${deps.map((dep) => dep.name).join(", ")}`);
  return found;
}

for (const provider of sqlProviders()) {
  Deno.test(`Supabase Auth dependencies on ${provider.name}`, async (t) => {
    const sql = await withAuthSchema(provider.open);
    try {
      await t.step("the project's own schema has nothing blocking", async () => {
        const report = await findAuthDependencies(sql);
        assert.equal(report.blocking, 0, formatDependencyReport(report));
        assert.deepEqual(dependencyGate(report), { ok: true });
        assert.equal(report.warnings, 0, formatDependencyReport(report));
      });

      await t.step("each kind of dependency, with its severity, consequence and fix", async () => {
        await sql.exec(APP_SCHEMA);
        const report = await findAuthDependencies(sql);
        const deps = report.dependencies;

        const fk = byName(deps, "public.profiles.profiles_id_fkey");
        assert.equal(fk.kind, "foreign_key");
        assert.equal(fk.severity, "blocking");
        assert.deepEqual(fk.uses, ["auth.users"]);
        assert.match(fk.afterMove, /no auth\.users row.*23503.*ON DELETE CASCADE/);
        assert.match(fk.fix, /REFERENCES public\."user"\(id\) ON DELETE CASCADE/);

        const owner = byName(deps, "public.memos: memos_owner");
        assert.equal(owner.kind, "policy");
        assert.equal(owner.severity, "warning");
        assert.deepEqual(owner.uses, ["auth.uid()"]);
        assert.match(owner.definition, /FOR SELECT USING \(\(?owner_id = auth\.uid\(\)\)?\)/);
        assert.match(owner.fix, /auth\.jwt\(\) ->> 'sub'/);

        const admin = byName(deps, "public.memos: memos_admin");
        assert.equal(admin.severity, "blocking");
        assert.deepEqual(admin.uses, ["auth.uid()", "auth.users"]);

        const insert = byName(deps, "public.memos: memos_insert");
        assert.equal(insert.severity, "info");
        assert.deepEqual(insert.uses, ["auth.jwt()"]);

        const update = byName(deps, "public.memos: memos_update");
        assert.equal(update.severity, "warning");
        assert.deepEqual(update.uses, ["public.is_owner(o uuid) → auth.uid()"]);

        const directory = byName(deps, "public.user_directory");
        assert.equal(directory.kind, "view");
        assert.equal(directory.severity, "blocking");
        assert.deepEqual(directory.uses, ["auth.users"]);
        assert.equal(byName(deps, "public.my_memos").severity, "warning");

        const column = byName(deps, "public.memos.owner_id");
        assert.equal(column.kind, "default");
        assert.equal(column.severity, "warning");

        const email = byName(deps, "public.current_email()");
        assert.equal(email.kind, "function");
        assert.equal(email.severity, "blocking");
        assert.deepEqual(email.uses, ["auth.uid()", "auth.users"]);
        assert.equal(byName(deps, "public.is_owner(o uuid)").severity, "warning");

        const created = byName(deps, "auth.users: on_auth_user_created");
        assert.equal(created.kind, "trigger");
        assert.equal(created.severity, "blocking");
        assert.match(created.afterMove, /never fires it/);
        assert.match(created.fix, /databaseHooks\.user\.create\.after/);
        const stamp = byName(deps, "public.memos: memos_stamp");
        assert.equal(stamp.severity, "warning");
        assert.deepEqual(stamp.uses, ["public.stamp_role() → auth.role()"]);

        assert.equal(report.blocking, deps.filter((d) => d.severity === "blocking").length);
        assert.equal(report.blocking, 5);
        assert.deepEqual(
          deps.slice(0, report.blocking).map((d) => d.severity),
          Array(report.blocking).fill("blocking"),
        );
        assert.match(formatDependencyReport(report), /^Supabase Auth dependencies: 5 blocking/);
        const gate = dependencyGate(report);
        assert.equal(gate.ok, false);
        assert.ok(!gate.ok && gate.names.includes("foreign_key public.profiles.profiles_id_fkey"));
        assert.match(!gate.ok ? gate.reason : "", /^5 blocking Supabase Auth dependencies: /);
      });

      await t.step("the fixes the report suggests clear the blocking entries", async () => {
        await sql.exec(`
          ALTER TABLE public.profiles DROP CONSTRAINT profiles_id_fkey,
            ADD CONSTRAINT profiles_id_fkey FOREIGN KEY (id) REFERENCES public."user"(id)
            ON DELETE CASCADE;
          DROP POLICY memos_admin ON public.memos;
          DROP POLICY memos_owner ON public.memos;
          CREATE POLICY memos_owner ON public.memos FOR SELECT
            USING (owner_id::text = auth.jwt() ->> 'sub');
        `);
        const report = await findAuthDependencies(sql);
        const names = report.dependencies.map((dep) => dep.name);
        assert.ok(!names.includes("public.profiles.profiles_id_fkey"));
        assert.ok(!names.includes("public.memos: memos_admin"));
        assert.equal(byName(report.dependencies, "public.memos: memos_owner").severity, "info");
        assert.equal(report.blocking, 3);
      });
    } finally {
      await sql.close();
    }
  });
}
