/** An app schema with each kind of Supabase Auth dependency, for the dependency report tests. */
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { AUTH_SCHEMA_SQL } from "../../local/standin/rest/serve-rest.ts";

export const APP_SCHEMA = `
CREATE TABLE public.profiles (
  id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
  username text
);
CREATE TABLE public.memos (
  id serial PRIMARY KEY,
  owner_id uuid NOT NULL DEFAULT auth.uid(),
  body text
);
ALTER TABLE public.memos ENABLE ROW LEVEL SECURITY;
CREATE POLICY memos_owner ON public.memos FOR SELECT USING (owner_id = auth.uid());
CREATE POLICY memos_admin ON public.memos FOR DELETE USING (
  EXISTS (SELECT 1 FROM auth.users u
          WHERE u.id = auth.uid() AND u.raw_app_meta_data ->> 'role' = 'admin'));
CREATE POLICY memos_insert ON public.memos FOR INSERT
  WITH CHECK (owner_id::text = auth.jwt() ->> 'sub');
CREATE FUNCTION public.is_owner(o uuid) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN o = auth.uid();
END $$;
CREATE POLICY memos_update ON public.memos FOR UPDATE USING (public.is_owner(owner_id));
CREATE VIEW public.user_directory AS SELECT id, email FROM auth.users;
CREATE VIEW public.my_memos AS SELECT * FROM public.memos WHERE owner_id = auth.uid();
CREATE FUNCTION public.handle_new_user() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  INSERT INTO public.profiles (id) VALUES (NEW.id);
  RETURN NEW;
END $$;
CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users
  FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();
CREATE FUNCTION public.current_email() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT email FROM "auth"."users" WHERE id = auth.uid()
$$;
CREATE FUNCTION public.stamp_role() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.body := coalesce(NEW.body, '') || ' by ' || coalesce(auth.role(), 'nobody');
  RETURN NEW;
END $$;
CREATE TRIGGER memos_stamp BEFORE INSERT ON public.memos
  FOR EACH ROW EXECUTE FUNCTION public.stamp_role();
`;

/** A fresh migrated database with the stand-in's auth schema. */
export async function withAuthSchema(open: () => Promise<SqlClient>): Promise<SqlClient> {
  const sql = await open();
  await sql.exec(AUTH_SCHEMA_SQL);
  return sql;
}
