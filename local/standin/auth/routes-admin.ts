/**
 * GoTrue's admin user endpoints (supabase.auth.admin.*): every route needs a bearer JWT whose
 * role is service_role. Pagination headers are GoTrue's: `Link` with rel="next"/"last" (the query
 * keys sorted, as Go's url.Values.Encode writes them — supabase-js reads the page number right
 * after the first `=`) and `X-Total-Count`.
 */
import { type Context, Hono } from "hono";
import { type AuthDeps, uniqueViolation } from "./deps.ts";
import { badRequest, GoTrueError, notFound, unprocessable } from "./errors.ts";
import { requireAdmin } from "./guards.ts";
import { checkPasswordStrength, hashPassword, isBcryptHash } from "./passwords.ts";
import { endSessions } from "./sessions.ts";
import {
  type AuthUser,
  DEFAULT_ROLE,
  deleteUser,
  emailInUse,
  findUserById,
  insertIdentity,
  insertUser,
  listUsers,
  mergeIdentityData,
  mergeMetadata,
  phoneInUse,
  softDeleteUser,
  updateUser,
  type UserChanges,
  userJson,
} from "./users.ts";
import {
  isUuid,
  type JsonObject,
  Params,
  parseGoDuration,
  parsePagination,
  readJsonObject,
  validateEmail,
} from "./validation.ts";

const NIL_ID = "00000000-0000-0000-0000-000000000000";

/** GoTrue's validatePhone: digits only after dropping "+" and spaces, E.164 length. */
function validatePhone(phone: string): string {
  const formatted = phone.replace(/^\+/, "").replaceAll(" ", "");
  if (!/^[1-9]\d{1,14}$/.test(formatted)) {
    throw badRequest("validation_failed", "Invalid phone number format (E.164 required)");
  }
  return formatted;
}

/** GoTrue's `ban_duration`: "none" lifts a ban, a Go duration sets banned_until = now + d. */
function parseBanDuration(raw: string): Date | null | undefined {
  if (raw === "") return undefined;
  if (raw === "none") return null;
  const ms = parseGoDuration(raw);
  if (ms === null) {
    throw badRequest(
      "validation_failed",
      `invalid format for ban duration: time: invalid duration "${raw}"`,
    );
  }
  return ms === 0 ? null : new Date(Date.now() + ms);
}

/** A random password GoTrue assigns when an admin creates a user without one. */
function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(48));
  return btoa(String.fromCharCode(...bytes)).slice(0, 64);
}

async function loadUser(deps: AuthDeps, id: string): Promise<AuthUser> {
  if (!isUuid(id)) throw notFound("validation_failed", "user_id must be an UUID");
  const user = await findUserById(deps.sql, id);
  if (!user) throw notFound("user_not_found", "User not found");
  return user;
}

function paginationLink(c: Context, page: number, perPage: number, total: number): string {
  const totalPages = Math.max(Math.ceil(total / perPage), 1);
  const url = new URL(c.req.url);
  const withPage = (value: number) => {
    const query = new URLSearchParams(url.searchParams);
    query.set("page", String(value));
    query.sort();
    return `<${url.pathname}?${query.toString()}>`;
  };
  let header = "";
  if (totalPages > page) header += `${withPage(page + 1)}; rel="next", `;
  return `${header}${withPage(totalPages)}; rel="last"`;
}

export function adminRoutes(deps: AuthDeps): Hono {
  const app = new Hono();

  app.use("/admin/*", async (c, next) => {
    await requireAdmin(c.req.header("authorization"), deps.keySet);
    await next();
  });

  app.get("/admin/users", async (c) => {
    // supabase/auth internal/api/pagination.go paginate(): per_page is any uint64 (no cap), and
    // internal/models/user.go FindUsersInAudience orders by `created_at desc` alone. Hosted
    // answers so; lenient keeps a 1000 cap and an id tiebreaker.
    const hosted = deps.profile === "hosted";
    const { page, perPage } = parsePagination(new URL(c.req.url), {
      maxPerPage: hosted ? null : undefined,
    });
    const sort = c.req.query("sort") ?? "";
    const sortMatch = /^\s*created_at(?:\s+(asc|desc))?\s*$/i.exec(sort);
    if (sort !== "" && !sortMatch) {
      throw badRequest("validation_failed", `Bad Sort Parameters: ${sort} is not a sortable field`);
    }
    const ascending = sortMatch?.[1]?.toLowerCase() === "asc";
    const filter = c.req.query("filter") || undefined;
    const { users, total } = await listUsers(deps.sql, {
      aud: deps.audience,
      page,
      perPage,
      ascending,
      filter,
      tiebreaker: !hosted,
    });
    c.header("Link", paginationLink(c, page, perPage, total));
    c.header("X-Total-Count", String(total));
    return c.json({ users: users.map(userJson), aud: deps.audience });
  });

  app.post("/admin/users", async (c) => {
    const params = new Params(await readJsonObject(c.req.raw), "AdminUserParams");
    const requestedId = params.string("id");
    const aud = params.string("aud") || deps.audience;
    const role = params.string("role") || DEFAULT_ROLE;
    let email = params.string("email");
    let phone = params.string("phone");
    const password = params.optionalString("password");
    const passwordHash = params.string("password_hash");
    const emailConfirm = params.boolean("email_confirm");
    const phoneConfirm = params.boolean("phone_confirm");
    const userMetadata = params.object("user_metadata") ?? {};
    const appMetadata = params.object("app_metadata");
    const bannedUntil = parseBanDuration(params.string("ban_duration"));

    if (email === "" && phone === "") {
      throw badRequest(
        "validation_failed",
        "Cannot create a user without either an email or phone",
      );
    }
    const providers: string[] = [];
    if (email !== "") {
      email = validateEmail(email);
      if (await emailInUse(deps.sql, email, aud)) {
        throw unprocessable(
          "email_exists",
          "A user with this email address has already been registered",
        );
      }
      providers.push("email");
    }
    if (phone !== "") {
      phone = validatePhone(phone);
      if (await phoneInUse(deps.sql, phone, aud)) {
        throw unprocessable("phone_exists", "Phone number already registered by another user");
      }
      providers.push("phone");
    }
    if (password !== undefined && passwordHash !== "") {
      throw badRequest(
        "validation_failed",
        "Only a password or a password hash should be provided",
      );
    }
    if (password) {
      const weak = checkPasswordStrength(password, deps.minPasswordLength);
      if (weak) throw weak;
    }
    if (passwordHash !== "" && !isBcryptHash(passwordHash)) {
      // GoTrue answers 500 here; a malformed input deserves a 400 naming the field.
      throw badRequest("validation_failed", "password_hash must be a bcrypt hash");
    }
    let id: string = crypto.randomUUID();
    if (requestedId !== "") {
      if (!isUuid(requestedId)) {
        throw badRequest("validation_failed", "ID must conform to the uuid v4 format");
      }
      if (requestedId === NIL_ID) throw badRequest("validation_failed", "ID cannot be a nil uuid");
      id = requestedId.toLowerCase();
    }
    const encryptedPassword = passwordHash !== ""
      ? passwordHash
      : await hashPassword(password || randomPassword());

    let finalAppMetadata: JsonObject = { provider: providers[0], providers };
    if (appMetadata) finalAppMetadata = mergeMetadata(finalAppMetadata, appMetadata);
    const finalUserMetadata = emailConfirm
      ? { ...userMetadata, email_verified: true }
      : userMetadata;

    await deps.sql.transaction(async (tx) => {
      await insertUser(tx, {
        id,
        email: email || null,
        phone: phone || null,
        encryptedPassword,
        aud,
        role,
        appMetadata: finalAppMetadata,
        userMetadata: finalUserMetadata,
        emailConfirmed: emailConfirm,
        bannedUntil: bannedUntil ?? null,
      });
      if (phoneConfirm) {
        await tx.query("UPDATE auth.users SET phone_confirmed_at = now() WHERE id = $1::uuid", [
          id,
        ]);
      }
      if (email) {
        await insertIdentity(tx, id, "email", {
          sub: id,
          email,
          email_verified: false,
          phone_verified: false,
        });
      }
      if (phone) {
        await insertIdentity(tx, id, "phone", {
          sub: id,
          phone,
          email_verified: false,
          phone_verified: false,
        });
      }
    }).catch((error) => {
      const violation = uniqueViolation(error);
      if (violation?.constraint.includes("pkey")) {
        // supabase/auth internal/api/admin.go adminUserCreate: any error of the insert
        // transaction is NewInternalServerError("Database error creating new user"), i.e. 500
        // `unexpected_failure` (apierrors.go) — a duplicate id included. Lenient keeps a 422.
        if (deps.profile === "hosted") {
          throw new GoTrueError(500, "unexpected_failure", "Database error creating new user");
        }
        throw unprocessable("user_already_exists", "A user with this ID already exists");
      }
      if (violation?.constraint.includes("phone")) {
        throw unprocessable("phone_exists", "Phone number already registered by another user");
      }
      if (violation) {
        throw unprocessable(
          "email_exists",
          "A user with this email address has already been registered",
        );
      }
      throw error;
    });
    return c.json(userJson((await findUserById(deps.sql, id))!));
  });

  app.get(
    "/admin/users/:id",
    async (c) => c.json(userJson(await loadUser(deps, c.req.param("id")))),
  );

  app.put("/admin/users/:id", async (c) => {
    const user = await loadUser(deps, c.req.param("id"));
    const params = new Params(await readJsonObject(c.req.raw), "AdminUserParams");
    let email = params.string("email");
    let phone = params.string("phone");
    const role = params.string("role");
    const password = params.optionalString("password");
    const emailConfirm = params.boolean("email_confirm");
    const phoneConfirm = params.boolean("phone_confirm");
    const userMetadata = params.object("user_metadata");
    const appMetadata = params.object("app_metadata");
    const bannedUntil = parseBanDuration(params.string("ban_duration"));

    if (email !== "") {
      email = validateEmail(email);
      if (await emailInUse(deps.sql, email, user.aud, user.id)) {
        throw unprocessable(
          "email_exists",
          "A user with this email address has already been registered",
        );
      }
    }
    if (phone !== "") {
      phone = validatePhone(phone);
      if (await phoneInUse(deps.sql, phone, user.aud, user.id)) {
        throw unprocessable("phone_exists", "Phone number already registered by another user");
      }
    }
    let encryptedPassword: string | undefined;
    if (password !== undefined) {
      const weak = checkPasswordStrength(password, deps.minPasswordLength);
      if (weak) throw weak;
      encryptedPassword = await hashPassword(password);
    }

    const changes: UserChanges = {};
    if (role !== "") changes.role = role;
    if (encryptedPassword !== undefined) changes.encryptedPassword = encryptedPassword;
    if (email !== "") changes.email = email;
    if (phone !== "") changes.phone = phone;
    if (bannedUntil !== undefined) changes.bannedUntil = bannedUntil;
    if (emailConfirm) changes.confirmEmail = true;
    let nextUserMetadata = user.userMetadata;
    if (emailConfirm) nextUserMetadata = mergeMetadata(nextUserMetadata, { email_verified: true });
    if (userMetadata) nextUserMetadata = mergeMetadata(nextUserMetadata, userMetadata);
    if (nextUserMetadata !== user.userMetadata) changes.userMetadata = nextUserMetadata;
    if (appMetadata) changes.appMetadata = mergeMetadata(user.appMetadata, appMetadata);

    await deps.sql.transaction(async (tx) => {
      await updateUser(tx, user.id, changes);
      if (phoneConfirm) {
        await tx.query(
          "UPDATE auth.users SET phone_confirmed_at = COALESCE(phone_confirmed_at, now()) WHERE id = $1::uuid",
          [user.id],
        );
      }
      if (email !== "") {
        const updated = await mergeIdentityData(tx, user.id, "email", {
          email,
          email_verified: emailConfirm,
        });
        if (updated === 0) {
          await insertIdentity(tx, user.id, "email", {
            sub: user.id,
            email,
            email_verified: emailConfirm,
            phone_verified: false,
          });
        }
      }
      if (phone !== "") {
        const updated = await mergeIdentityData(tx, user.id, "phone", {
          phone,
          phone_verified: phoneConfirm,
        });
        if (updated === 0) {
          await insertIdentity(tx, user.id, "phone", {
            sub: user.id,
            phone,
            email_verified: false,
            phone_verified: phoneConfirm,
          });
        }
      }
      // A new password ends every session, so stolen sessions die with the old password.
      if (encryptedPassword !== undefined) await endSessions(tx, user.id, null, "global");
    }).catch((error) => {
      if (uniqueViolation(error)) {
        throw unprocessable(
          "email_exists",
          "A user with this email address has already been registered",
        );
      }
      throw error;
    });
    return c.json(userJson((await findUserById(deps.sql, user.id))!));
  });

  app.delete("/admin/users/:id", async (c) => {
    const user = await loadUser(deps, c.req.param("id"));
    const params = new Params(
      await readJsonObject(c.req.raw, { allowEmpty: true }),
      "adminUserDeleteParams",
    );
    const soft = params.boolean("should_soft_delete");
    await deps.sql.transaction(async (tx) => {
      if (soft) await softDeleteUser(tx, user);
      else await deleteUser(tx, user.id);
    });
    return c.json({});
  });

  return app;
}
