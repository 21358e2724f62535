import assert from "node:assert/strict";
import { GoTrueError } from "../../../../local/standin/auth/errors.ts";
import {
  isUuid,
  Params,
  parseGoDuration,
  parsePagination,
  readJsonObject,
  validateEmail,
} from "../../../../local/standin/auth/validation.ts";

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof GoTrueError);
    return `${error.status} ${error.errorCode}: ${error.message}`;
  }
  return "no error";
}

Deno.test("validateEmail follows GoTrue: required, ≤ 255, checkmail format, lower-cased", () => {
  assert.equal(validateEmail("Ada.Lovelace+x@Example.COM"), "ada.lovelace+x@example.com");
  assert.equal(
    codeOf(() => validateEmail("")),
    "400 validation_failed: An email address is required",
  );
  assert.match(codeOf(() => validateEmail("a@b@c")), /invalid format/);
  assert.match(codeOf(() => validateEmail("john(at)example.com")), /invalid format/);
  assert.match(codeOf(() => validateEmail(`${"a".repeat(250)}@x.com`)), /too long/);
});

Deno.test("Params reports a wrong JSON type as Go's unmarshal error naming the field", () => {
  const params = new Params({ email: 1, data: [], confirm: "yes", name: null }, "SignupParams");
  assert.equal(
    codeOf(() => params.string("email")),
    "400 bad_json: Could not parse request body as JSON: json: cannot unmarshal number into Go struct field SignupParams.email of type string",
  );
  assert.match(codeOf(() => params.object("data")), /cannot unmarshal array .*SignupParams\.data/);
  assert.match(codeOf(() => params.boolean("confirm")), /of type bool/);
  assert.equal(params.string("name"), "");
  assert.equal(params.optionalString("missing"), undefined);
});

Deno.test("readJsonObject: bad JSON and non-objects are bad_json; oversized bodies are 413", async () => {
  const req = (body: string) => new Request("http://x/", { method: "POST", body });
  assert.deepEqual(await readJsonObject(req('{"a":1}')), { a: 1 });
  assert.deepEqual(await readJsonObject(req(""), { allowEmpty: true }), {});
  await assert.rejects(readJsonObject(req("")), (e: GoTrueError) => e.errorCode === "bad_json");
  await assert.rejects(readJsonObject(req("[1]")), (e: GoTrueError) => e.errorCode === "bad_json");
  await assert.rejects(readJsonObject(req("{")), (e: GoTrueError) => e.errorCode === "bad_json");
  await assert.rejects(
    readJsonObject(req(`{"a":"${"x".repeat(1024 * 1024)}"}`)),
    (e: GoTrueError) => e.status === 413,
  );
});

Deno.test("parseGoDuration matches time.ParseDuration for ban_duration", () => {
  assert.equal(parseGoDuration("24h"), 86_400_000);
  assert.equal(parseGoDuration("1h30m"), 5_400_000);
  assert.equal(parseGoDuration("876000h"), 876_000 * 3_600_000);
  assert.equal(parseGoDuration("1.5s"), 1500);
  assert.equal(parseGoDuration("-2m"), -120_000);
  assert.equal(parseGoDuration("0"), 0);
  assert.equal(parseGoDuration("forever"), null);
  assert.equal(parseGoDuration("10"), null);
  assert.equal(parseGoDuration("1d"), null);
});

Deno.test("parsePagination: defaults 1/50, per_page ≤ 1000, zero or junk is 400", () => {
  const url = (q: string) => new URL(`http://x/admin/users?${q}`);
  assert.deepEqual(parsePagination(url("")), { page: 1, perPage: 50 });
  assert.deepEqual(parsePagination(url("page=&per_page=")), { page: 1, perPage: 50 });
  assert.deepEqual(parsePagination(url("page=3&per_page=1000")), { page: 3, perPage: 1000 });
  assert.match(codeOf(() => parsePagination(url("per_page=0"))), /per_page must be greater than 0/);
  assert.match(codeOf(() => parsePagination(url("per_page=1001"))), /must not exceed 1000/);
  assert.match(codeOf(() => parsePagination(url("page=-1"))), /invalid syntax/);
  assert.equal(isUuid("8f14e45f-ceea-4e7a-9b0c-2c8e1f6a0b1d"), true);
  assert.equal(isUuid("8f14e45f"), false);
});
