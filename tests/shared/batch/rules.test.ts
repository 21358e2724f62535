/**
 * The per-row rules exist twice — SQL predicates (set-based) and JavaScript (per-user original).
 * These properties check that both accept exactly the same emails and password hashes.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import { freshPglite } from "../../helpers/db.ts";
import {
  EMAIL_PATTERN,
  PASSWORD_HASH_PATTERN,
  PASSWORD_HASH_SQL_PATTERN,
  passwordHashSql,
  ZOD_EMAIL_SOURCE,
} from "../../../shared/batch/rules.ts";

/** Local parts built from the characters that decide validity: segments, dots, apostrophes. */
const segmented = fc.tuple(
  fc.array(fc.string({ unit: fc.constantFrom(..."a'+_-.".split("")), maxLength: 4 }), {
    maxLength: 4,
  }).map((parts) => parts.join(".")),
  fc.constantFrom("x.com", "x.co", "-x.com", "x..com", "x.c", "x-y.org"),
).map(([local, domain]) => `${local}@${domain}`);

const emailish = fc.oneof(
  fc.emailAddress(),
  segmented,
  fc.string({ unit: fc.constantFrom(..."aB9._%+-'@()[] é\u00e9\u0130".split("")), maxLength: 24 }),
  fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), fc.string({ maxLength: 4 }))
    .map(([a, b, c]) => `${a}@${b}.${c}`),
);

Deno.test("SQL email predicate and z.email() agree", async () => {
  const db = await freshPglite();
  try {
    const schema = z.email();
    await fc.assert(
      fc.asyncProperty(fc.array(emailish, { minLength: 50, maxLength: 50 }), async (emails) => {
        const { rows } = await db.query<{ ok: boolean }>(
          "SELECT e ~ $2 AS ok FROM unnest($1::text[]) WITH ORDINALITY AS t(e, i) ORDER BY i",
          [emails, EMAIL_PATTERN],
        );
        emails.forEach((email, i) =>
          assert.equal(rows[i]!.ok, schema.safeParse(email).success, JSON.stringify(email))
        );
      }),
      { numRuns: 80 },
    );
  } finally {
    await db.close();
  }
});

Deno.test("EMAIL_PATTERN was derived from the zod email pattern in use", () => {
  // A zod upgrade that changes what z.email() accepts must revisit EMAIL_PATTERN.
  assert.equal(z.regexes.email.source, ZOD_EMAIL_SOURCE);
});

Deno.test("SQL and JavaScript bcrypt patterns agree", async () => {
  const db = await freshPglite();
  try {
    const js = new RegExp(PASSWORD_HASH_PATTERN);
    const samples = [
      "$2a$10$8zpUV76/WWrTy/mgQwiLxOvY/84FR6deyK0S9QxFSFf4cOO8MYPH.",
      "$2b$12$8zpUV76/WWrTy/mgQwiLxOvY/84FR6deyK0S9QxFSFf4cOO8MYPH.",
      "$2a$10$short",
      "$argon2id$v=19$m=65536,t=3,p=4$abc$def",
      "plain",
      "",
    ];
    const { rows } = await db.query<{ ok: boolean }>(
      "SELECT h ~ $2 AS ok FROM unnest($1::text[]) WITH ORDINALITY AS t(h, i) ORDER BY i",
      [samples, PASSWORD_HASH_PATTERN],
    );
    assert.deepEqual(rows.map((r) => r.ok), samples.map((s) => js.test(s)));
    assert.deepEqual(rows.map((r) => r.ok), [true, true, false, false, false, false]);
  } finally {
    await db.close();
  }
});

/** Strings near the bcrypt shape: right and wrong prefixes, costs, lengths and alphabets. */
const hashish = fc.oneof(
  fc.tuple(
    fc.constantFrom("$2a$", "$2b$", "$2x$", "$2y$", "$2c$", "$1$", "2a$", "$2a"),
    fc.constantFrom("10", "12", "4", "123", "ab", ""),
    fc.constantFrom("$", "", "$$"),
    fc.string({
      // Mostly valid characters, so some samples are real hashes and some miss by one.
      unit: fc.constantFrom(..."./AZaz09./AZaz09./AZaz09./AZaz09é".split("")),
      minLength: 50,
      maxLength: 56,
    }),
  ).map((parts) => parts.join("")),
  fc.string({ maxLength: 70 }),
);

Deno.test("the batch's fast SQL bcrypt check accepts exactly PASSWORD_HASH_PATTERN's strings", async () => {
  const db = await freshPglite();
  try {
    const js = new RegExp(PASSWORD_HASH_PATTERN);
    const check = async (hashes: string[]) => {
      const { rows } = await db.query<{ ok: boolean }>(
        `SELECT ${passwordHashSql("h", "$2::text")} AS ok
         FROM unnest($1::text[]) WITH ORDINALITY AS t(h, i) ORDER BY i`,
        [hashes, PASSWORD_HASH_SQL_PATTERN],
      );
      hashes.forEach((hash, i) => assert.equal(rows[i]!.ok, js.test(hash), JSON.stringify(hash)));
      return rows.map((row) => row.ok);
    };
    assert.deepEqual(
      await check([
        "$2a$10$8zpUV76/WWrTy/mgQwiLxOvY/84FR6deyK0S9QxFSFf4cOO8MYPH.",
        "$2a$10$8zpUV76/WWrTy/mgQwiLxOvY/84FR6deyK0S9QxFSFf4cOO8MYPH.x",
        "$2a$10$8zpUV76/WWrTy/mgQwiLxOvY/84FR6deyK0S9QxFSFf4cOO8MYPH",
        "$2a$10$8zpUV76/WWrTy/mgQwiLxOvY/84FR6deyK0S9QxFSFf4cOO8MYPé.",
        "",
      ]),
      [true, false, false, false, false],
    );
    await fc.assert(
      fc.asyncProperty(fc.array(hashish, { minLength: 50, maxLength: 50 }), async (hashes) => {
        await check(hashes);
      }),
      { numRuns: 60 },
    );
  } finally {
    await db.close();
  }
});
