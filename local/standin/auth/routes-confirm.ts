/**
 * The confirmation half of "Confirm email": POST /resend (supabase-js `auth.resend`) and
 * GET/POST /verify (the link in the mail, `auth.verifyOtp`). Both follow supabase/auth:
 * internal/api/resend.go and internal/api/verify.go (see confirmation.ts for the token itself).
 *
 * - GET /verify?token=<token hash>&type=signup&redirect_to=…: the user clicked the link. Success
 *   confirms the address and redirects (303) to redirect_to with the session in the fragment
 *   (tokens/service.go AsRedirectURL: access_token, token_type, expires_in, expires_at,
 *   refresh_token, type, sb); a refusal redirects with error, error_code, error_description, sb
 *   in the fragment (verify.go prepErrorRedirectURL, implicit flow).
 * - POST /verify {type, token_hash} or {type, email, token}: the same, answered with the token
 *   response (200) or the error (403 otp_expired / user_banned).
 * - POST /resend {type: "signup", email}: 200 {} for an unknown or already confirmed address (no
 *   enumeration), otherwise a new confirmation mail (429 over_email_send_rate_limit within the
 *   minute).
 * The redirect target is redirect_to when it is on the site's origin, else SITE_URL
 * (utilities.GetReferrer checks the allow list; the stand-in's list is the site itself).
 */
import { Hono } from "hono";
import { tokenResponse } from "./access-tokens.ts";
import {
  confirmUser,
  generateTokenHash,
  LINK_INVALID,
  OTP_INVALID,
  sendConfirmation,
  userIdForConfirmationToken,
} from "./confirmation.ts";
import { type AuthDeps, clientInfo } from "./deps.ts";
import { badRequest, GoTrueError, unprocessable } from "./errors.ts";
import { createSession } from "./sessions.ts";
import { findUserByEmail, findUserById, recordSignIn } from "./users.ts";
import { type JsonObject, Params, readJsonObject, validateEmail } from "./validation.ts";
import type { ClientInfo } from "./sessions.ts";

/** The verification types whose token is a confirmation token (mail.SignupVerification …). */
const CONFIRMATION_TYPES = new Set(["signup", "invite", "email"]);
/** Types GoTrue knows but whose tokens the stand-in never issues: no token ever matches. */
const OTHER_EMAIL_TYPES = new Set(["recovery", "magiclink", "email_change"]);

/** verify.go oauthErrorMap. */
const OAUTH_ERROR: Record<number, string> = {
  400: "invalid_request",
  401: "unauthorized_client",
  403: "access_denied",
  500: "server_error",
  503: "temporarily_unavailable",
};

export function confirmationRoutes(deps: AuthDeps): Hono {
  const app = new Hono();

  const redirectTarget = (requested: string | undefined): string => {
    const site = deps.confirmation.siteUrl;
    if (!requested) return site;
    try {
      return new URL(requested).origin === new URL(site).origin ? requested : site;
    } catch {
      return site;
    }
  };

  app.get("/verify", async (c) => {
    const type = c.req.query("type") ?? "";
    const token = c.req.query("token") ?? "";
    const target = redirectTarget(c.req.query("redirect_to"));
    if (type === "") throw badRequest("validation_failed", "Verify requires a verification type");
    if (token === "") {
      throw badRequest("validation_failed", "Verify requires a token or a token hash");
    }
    let fragment: URLSearchParams;
    try {
      const answer = await verifyConfirmation(deps, type, token, undefined, clientInfo(c));
      fragment = new URLSearchParams({
        access_token: String(answer.access_token),
        token_type: String(answer.token_type),
        expires_in: String(answer.expires_in),
        expires_at: String(answer.expires_at),
        refresh_token: String(answer.refresh_token),
        type,
        sb: "",
      });
    } catch (error) {
      if (!(error instanceof GoTrueError)) throw error;
      fragment = new URLSearchParams();
      const oauth = OAUTH_ERROR[error.status];
      if (oauth) fragment.set("error", oauth);
      fragment.set("error_code", error.errorCode);
      fragment.set("error_description", error.message);
      fragment.set("sb", "");
    }
    return c.redirect(`${target}#${fragment.toString()}`, 303);
  });

  app.post("/verify", async (c) => {
    const params = new Params(await readJsonObject(c.req.raw), "VerifyParams");
    const type = params.string("type");
    const token = params.string("token");
    const tokenHash = params.string("token_hash");
    const email = params.string("email");
    const phone = params.string("phone");
    const redirectTo = params.string("redirect_to");
    if (type === "") throw badRequest("validation_failed", "Verify requires a verification type");
    if ((token === "") === (tokenHash === "")) {
      throw badRequest("validation_failed", "Verify requires either a token or a token hash");
    }
    if (token !== "") {
      if (phone !== "" && email === "") {
        throw badRequest("phone_provider_disabled", "Phone logins are disabled");
      }
      if (email === "" || phone !== "") {
        throw badRequest(
          "validation_failed",
          "Only an email address or phone number should be provided on verify",
        );
      }
      let normalized: string;
      try {
        normalized = validateEmail(email);
      } catch {
        throw unprocessable("validation_failed", "Invalid email format");
      }
      return c.json(
        await verifyConfirmation(
          deps,
          type,
          generateTokenHash(normalized, token),
          normalized,
          clientInfo(c),
        ),
      );
    }
    if (email !== "" || phone !== "" || redirectTo !== "") {
      throw badRequest("validation_failed", "Only the token_hash and type should be provided");
    }
    return c.json(await verifyConfirmation(deps, type, tokenHash, undefined, clientInfo(c)));
  });

  app.post("/resend", async (c) => {
    const params = new Params(await readJsonObject(c.req.raw), "ResendConfirmationParams");
    const type = params.string("type");
    const email = params.string("email");
    const phone = params.string("phone");
    if (!["signup", "email_change", "sms", "phone_change"].includes(type)) {
      throw badRequest(
        "validation_failed",
        "Missing one of these types: signup, email_change, sms, phone_change",
      );
    }
    if (email === "" && type === "signup") {
      throw badRequest("validation_failed", "Type provided requires an email address");
    }
    if (phone === "" && type === "sms") {
      throw badRequest("validation_failed", "Type provided requires a phone number");
    }
    if (email !== "" && phone !== "") {
      throw badRequest(
        "validation_failed",
        "Only an email address or phone number should be provided.",
      );
    }
    if (phone !== "") throw badRequest("phone_provider_disabled", "Phone logins are disabled");
    if (email === "") {
      throw badRequest("validation_failed", "Missing email address or phone number");
    }
    const normalized = validateEmail(email);
    const user = await findUserByEmail(deps.sql, normalized, deps.audience);
    // Unknown, confirmed, or (email_change) nothing pending: 200 {} without a mail.
    if (!user || user.deletedAt || type !== "signup" || user.emailConfirmedAt) return c.json({});
    await deps.sql.transaction((tx) => sendConfirmation(deps.confirmation, tx, user));
    return c.json({});
  });

  return app;
}

/**
 * verify.go verifyPost / verifyGet for a confirmation token: the user is confirmed and signed in
 * (issueRefreshToken), in one transaction. Returns GoTrue's token response.
 */
async function verifyConfirmation(
  deps: AuthDeps,
  type: string,
  tokenHash: string,
  email: string | undefined,
  client: ClientInfo,
): Promise<JsonObject> {
  if (!CONFIRMATION_TYPES.has(type) && !OTHER_EMAIL_TYPES.has(type)) {
    throw badRequest("validation_failed", "Invalid email verification type");
  }
  if (!CONFIRMATION_TYPES.has(type)) {
    // Recovery, magic-link and email-change tokens are never stored here: GoTrue's lookup miss.
    throw new GoTrueError(403, "otp_expired", email === undefined ? LINK_INVALID : OTP_INVALID);
  }
  const opened = await deps.sql.transaction(async (tx) => {
    const userId = await userIdForConfirmationToken(tx, tokenHash, email);
    await confirmUser(tx, userId);
    const session = await createSession(tx, userId, client);
    await recordSignIn(tx, userId);
    return { userId, ...session };
  });
  const user = await findUserById(deps.sql, opened.userId);
  if (!user) throw new Error("user vanished right after verification");
  return await tokenResponse(deps.tokens, user, opened.session, opened.refreshToken);
}
