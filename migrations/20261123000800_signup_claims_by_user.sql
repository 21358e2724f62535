-- The batch migration skips users whose dual-write signup is in flight (rule signup_in_flight):
-- one probe of auth_signup_claims per source user, so it is looked up by user id.
CREATE INDEX IF NOT EXISTS auth_signup_claims_user_id_idx ON auth_signup_claims (user_id);
