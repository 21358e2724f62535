import assert from "node:assert/strict";
import { clientIp } from "../../../shared/auth/handlers.ts";
import { clientIpFrom, configureClientIp, normaliseIp } from "../../../shared/http/client-ip.ts";

const headers = (init: Record<string, string>) => new Headers(init);

Deno.test("the client IP is the entry appended by the trusted hop, never the client's first entry", () => {
  const spoofed = headers({ "x-forwarded-for": "1.2.3.4, 203.0.113.7" });
  assert.equal(clientIpFrom(spoofed), "203.0.113.7");
  assert.equal(clientIpFrom(headers({ "x-forwarded-for": "203.0.113.7" })), "203.0.113.7");
  const twoHops = { header: "x-forwarded-for", trustedHops: 2 };
  assert.equal(
    clientIpFrom(headers({ "x-forwarded-for": "1.2.3.4, 203.0.113.7, 10.0.0.2" }), twoHops),
    "203.0.113.7",
  );
  assert.equal(
    clientIpFrom(headers({ "x-forwarded-for": "10.0.0.2" }), twoHops),
    undefined,
    "fewer entries than trusted proxies: it did not pass through them",
  );
});

Deno.test("a configured single-value header, repeated headers, ports and junk", () => {
  const cf = { header: "cf-connecting-ip", trustedHops: 1 };
  assert.equal(
    clientIpFrom(headers({ "cf-connecting-ip": "2001:db8::1", "x-forwarded-for": "9.9.9.9" }), cf),
    "2001:db8::1",
  );
  const repeated = new Headers();
  repeated.append("x-forwarded-for", "6.6.6.6");
  repeated.append("x-forwarded-for", "198.51.100.9");
  assert.equal(clientIpFrom(repeated), "198.51.100.9");
  assert.equal(clientIpFrom(headers({})), undefined);
  assert.equal(clientIpFrom(headers({ "x-forwarded-for": "1.2.3.4, not-an-ip" })), undefined);
  assert.equal(normaliseIp("203.0.113.7:443"), "203.0.113.7");
  assert.equal(normaliseIp("[2001:DB8::1]:443"), "2001:db8::1");
  assert.equal(normaliseIp("999.1.1.1"), undefined);
});

Deno.test("clientIp(request) of the auth handlers follows the configured settings", () => {
  const request = new Request("http://edge.test/login", {
    headers: { "x-forwarded-for": "1.2.3.4, 203.0.113.7, 10.0.0.2" },
  });
  try {
    assert.equal(clientIp(request), "10.0.0.2");
    configureClientIp({ CLIENT_IP_TRUSTED_HOPS: 2 });
    assert.equal(clientIp(request), "203.0.113.7");
  } finally {
    configureClientIp({});
  }
});
