-- migrated_users is keyed by the user's uuid (issue 16 throughput, third round; measured with
-- bench/fidelity.ts and bench/profile-batch.ts on PostgreSQL 15, figures in README).
--
-- Every writer records a migrated user under one id: original_id is new_auth_id as text (the
-- batch writes p.id::text and p.id, the per-user paths $1::uuid::text and $1::uuid). The table
-- still kept two unique indexes on that one id — the primary key on original_id (text, compared
-- under the database collation, strcoll per comparison unless it is "C") and UNIQUE
-- (new_auth_id) — beside the per-migration index (migration_id, new_auth_id). Each index is an
-- insertion per migrated user: measured on 9,300 rows inserted into a 200,000-row table in
-- random order, the text key cost ≈ 3 µs per row more than a uuid key.
--
-- Now: a CHECK makes the one-id rule a constraint, new_auth_id becomes the primary key in place
-- of its unique constraint, and the text key is dropped. Uniqueness of
-- original_id follows from the CHECK and the new key. Readers look rows up by new_auth_id
-- (shared/batch/original.ts, rollback.ts, statements.ts).
--
-- Rows written before this migration by a caller that passed an id in another spelling
-- (upper-case hex) are normalized to the canonical text first; the unique index on new_auth_id
-- guarantees one row per user, so normalizing cannot make two rows collide.

UPDATE migrated_users SET original_id = new_auth_id::text
WHERE original_id IS DISTINCT FROM new_auth_id::text;

ALTER TABLE migrated_users
  ADD CONSTRAINT migrated_users_one_id CHECK (original_id = new_auth_id::text);

-- One statement: the table is never without a key on the user. Building the new key's index
-- holds the table's lock for its duration (seconds for millions of rows); the per-user writers
-- wait, they do not fail.
ALTER TABLE migrated_users
  DROP CONSTRAINT migrated_users_pkey,
  DROP CONSTRAINT migrated_users_new_auth_id_key,
  ADD CONSTRAINT migrated_users_pkey PRIMARY KEY (new_auth_id);
