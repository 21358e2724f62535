-- Rotating refresh tokens of Better Auth sessions (shared/sessions/refresh-tokens.ts), in the
-- shape of GoTrue's auth.refresh_tokens (supabase/auth internal/models/refresh_token.go): one row
-- per token, `parent` naming the token it replaced, `revoked` once rotated. Unlike GoTrue the token
-- itself is never stored: `token_hash` is its SHA-256, `parent_hash` the parent's. A child token
-- is derived from its parent with a server key (HMAC), so the "return the active token to a
-- client that lost the response" rule of GoTrue's RefreshTokenGrant still works without keeping
-- any token in clear.
--
-- Rows go with their Better Auth session (ON DELETE CASCADE): everything that ends a session
-- (logout, a password change or ban applied by identity sync, user deletion) ends its tokens.
CREATE TABLE IF NOT EXISTS better_auth_refresh_token (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  token_hash       text NOT NULL UNIQUE,
  parent_hash      text,
  -- Which child of the parent this is (0 for the first), the input of the derivation.
  child_index      integer NOT NULL DEFAULT 0,
  session_id       uuid NOT NULL REFERENCES "session" ("id") ON DELETE CASCADE,
  user_id          uuid NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE,
  revoked          boolean NOT NULL DEFAULT false,
  -- What the session's access tokens say about how the user authenticated (GoTrue keeps this on
  -- the session and recomputes aal/amr on refresh): 'totp' after a second factor, else NULL.
  second_factor    text,
  authenticated_at timestamptz NOT NULL DEFAULT now(),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CHECK (second_factor IS NULL OR second_factor = 'totp')
);
CREATE INDEX IF NOT EXISTS better_auth_refresh_token_session_idx
  ON better_auth_refresh_token (session_id, id);
CREATE INDEX IF NOT EXISTS better_auth_refresh_token_parent_idx
  ON better_auth_refresh_token (parent_hash);
CREATE INDEX IF NOT EXISTS better_auth_refresh_token_user_idx
  ON better_auth_refresh_token (user_id);

-- Not for PostgREST: only the functions (service connection) read it.
ALTER TABLE better_auth_refresh_token ENABLE ROW LEVEL SECURITY;
