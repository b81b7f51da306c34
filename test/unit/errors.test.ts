import { describe, expect, it } from "vitest";
import { registerSecret } from "../../src/log.js";
import {
  errorAfterUnknownAttempt,
  errorCancelledBetweenAttempts,
  errorForStatus,
  errorForTransport,
  isRetryableTransport,
  parseRetryAfter,
  RETRYABLE_STATUSES,
  upstreamMessageOf,
  withAttempts,
} from "../../src/vcc/errors.js";

describe("status mapping", () => {
  const expected: [number, string][] = [
    [400, "bad_request"],
    [401, "unauthorized"],
    [403, "forbidden"],
    [404, "not_found"],
    [429, "rate_limited"],
    [500, "upstream_error"],
    [502, "upstream_error"],
    [503, "upstream_error"],
    [504, "upstream_error"],
    [418, "unexpected_status"],
  ];
  for (const [status, code] of expected) {
    it(`${status} → ${code}`, () => {
      const e = errorForStatus({ status, body: "" }, "x");
      expect(e.code).toBe(code);
      expect(e.httpStatus).toBe(status);
      expect(e.message.length).toBeGreaterThan(30);
    });
  }
  it("passes the API's JSON message on, and Retry-After as seconds", () => {
    const e = errorForStatus({ status: 429, body: '{"message":"slow down"}', contentType: "application/json", retryAfter: "12" }, "x");
    expect(e).toMatchObject({ upstreamMessage: "slow down", retryAfterSeconds: 12 });
  });
  it("a refused connection means nothing was sent; a reset means the outcome is unknown", () => {
    expect(errorForTransport({ code: "ECONNREFUSED" }, "x", 1, "network").outcomeUnknown).toBeUndefined();
    expect(errorForTransport({ code: "ECONNRESET" }, "x", 1, "network").outcomeUnknown).toBe(true);
    expect(errorForTransport(undefined, "x", 1, "timeout")).toMatchObject({ code: "timeout", outcomeUnknown: true });
  });
});

describe("a 5xx on DELETE", () => {
  it("500, 502 and 504 may have been carried out behind the gateway: outcome unknown, never 'not deleted'", () => {
    for (const status of [500, 502, 504]) {
      const e = errorForStatus({ status, body: "" }, "content 'x'", "delete");
      expect(e, String(status)).toMatchObject({ code: "upstream_error", httpStatus: status, outcomeUnknown: true });
      expect(e.message).toMatch(/may or may not have been deleted/);
      expect(e.message).not.toMatch(/not deleted|most likely/);
    }
  });
  it("503 (and 429) refuse before doing anything: not deleted", () => {
    for (const status of [503, 429]) {
      const e = errorForStatus({ status, body: "" }, "content 'x'", "delete");
      expect(e.outcomeUnknown, String(status)).toBeUndefined();
      expect(e.message).toMatch(/not deleted|nothing was deleted/i);
    }
  });
  it("on a read, a 5xx changes nothing and says so", () => {
    const e = errorForStatus({ status: 502, body: "" }, "interaction x", "read");
    expect(e.outcomeUnknown).toBeUndefined();
    expect(e.message).toMatch(/Nothing was changed/);
  });
});

describe("upstream messages", () => {
  it("are redacted: an API that echoes the Authorization header or a known token puts no secret into a result", () => {
    const token = "unit-echoed-access-token-5d1e";
    registerSecret(token);
    const bodies = [
      { body: JSON.stringify({ message: `Bad request; headers: Authorization: Bearer ${token}` }), contentType: "application/json" },
      { body: JSON.stringify({ message: `token ${token} is not valid here` }), contentType: "application/json" },
      // JSON escapes must not hide it from the redaction: in a message, and in a body without one.
      { body: `{"message":"token ${token.replace(/-/g, "\\u002d")} refused"}`, contentType: "application/json" },
      { body: `{"title":"Bad Request","detail":"token ${token.replace(/-/g, "\\u002d")} refused"}`, contentType: "application/json" },
      { body: `authorization: bearer some-other-unregistered-credential`, contentType: "text/plain" },
    ];
    for (const { body, contentType } of bodies) {
      const message = upstreamMessageOf(body, contentType);
      expect(message, body).toMatch(/\[REDACTED\]/);
      expect(message).not.toContain(token);
      expect(message).not.toContain("some-other-unregistered-credential");
      const e = errorForStatus({ status: 400, body, contentType }, "x", "delete");
      expect(JSON.stringify(e)).not.toContain(token);
      expect(JSON.stringify(e)).not.toContain("some-other-unregistered-credential");
    }
  });

  it("are redacted when the token hides behind '\\/' in a body without a message, and the secret in its form-body encoding", () => {
    const token = "AT/unit+echoed/access.token-77b2";
    const secret = "unit S3cret/with+signs==";
    registerSecret(token);
    registerSecret(secret);
    const escaped = `{"title":"Unauthorized","detail":"token ${token.replaceAll("/", "\\/")} refused"}`;
    expect(escaped).not.toContain(token);
    const message = upstreamMessageOf(escaped, "application/problem+json");
    expect(message).toBe('{"title":"Unauthorized","detail":"token [REDACTED] refused"}');
    // What a token endpoint echoes of the form it was sent (client_secret=unit+S3cret%2Fwith%2Bsigns%3D%3D), without its name.
    const form = new URLSearchParams({ client_secret: secret }).toString().slice("client_secret=".length);
    for (const echoed of [form, encodeURIComponent(secret)]) {
      const text = upstreamMessageOf(`the secret ${echoed} was rejected`, "text/plain");
      expect(text).toBe("the secret [REDACTED] was rejected");
    }
  });

  it("reads JSON messages, ignores HTML, caps length", () => {
    expect(upstreamMessageOf('{"message":"GUID must be 36 characters in length"}', "application/json")).toBe(
      "GUID must be 36 characters in length",
    );
    expect(upstreamMessageOf("<html><body>502</body></html>", "text/html")).toBeUndefined();
    expect(upstreamMessageOf("", undefined)).toBeUndefined();
    expect(upstreamMessageOf("plain words", "text/plain")).toBe("plain words");
    expect(upstreamMessageOf(JSON.stringify({ message: "y".repeat(900) }), "application/json")?.length).toBe(500);
  });
});

describe("Retry-After", () => {
  it("reads seconds and HTTP dates", () => {
    expect(parseRetryAfter("30")).toBe(30);
    const now = Date.parse("2026-11-28T10:00:00Z");
    expect(parseRetryAfter("Sat, 28 Nov 2026 10:00:05 GMT", now)).toBe(5);
    expect(parseRetryAfter("Sat, 28 Nov 2026 09:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon")).toBeUndefined();
    // Fractions of seconds are rounded up, not read as a date (Date.parse("1.5") is in 2001).
    expect(parseRetryAfter("1.5")).toBe(2);
    expect(parseRetryAfter("0.2")).toBe(1);
    expect(parseRetryAfter("12-5")).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe("after several attempts", () => {
  it("retries exactly 429, 500, 502, 503, 504 and transport failures other than an unknown host", () => {
    expect([...RETRYABLE_STATUSES].sort()).toEqual([429, 500, 502, 503, 504]);
    expect(isRetryableTransport({ code: "ECONNREFUSED" }, "network")).toBe(true);
    expect(isRetryableTransport({ code: "ECONNRESET" }, "network")).toBe(true);
    expect(isRetryableTransport(undefined, "timeout")).toBe(true);
    expect(isRetryableTransport({ code: "ENOTFOUND" }, "network")).toBe(false);
    expect(isRetryableTransport(undefined, "cancelled")).toBe(false);
  });
  it("says how many attempts were made", () => {
    const e = errorForStatus({ status: 503, body: "" }, "x");
    expect(withAttempts(e, 1)).toBe(e);
    expect(withAttempts(e, 4).message).toMatch(/\(4 attempts were made\.\)$/);
  });
  it("an earlier attempt without an answer (or with a 500/502/504) makes any later failure an unknown outcome", () => {
    const last = errorForStatus({ status: 429, body: "", retryAfter: "40" }, "content 'k' of interaction g");
    const e = errorAfterUnknownAttempt(last, "content 'k' of interaction g", 3);
    expect(e).toMatchObject({ code: "rate_limited", httpStatus: 429, retryAfterSeconds: 40, outcomeUnknown: true });
    expect(e.message).toMatch(/may or may not have been deleted/);
    expect(e.message).not.toMatch(/Nothing was deleted/);
  });
  it("cancelled between attempts: not deleted, unless an earlier attempt got no answer", () => {
    expect(errorCancelledBetweenAttempts("x", "delete", 0, false)).toMatchObject({ code: "cancelled", message: /not deleted/ });
    expect(errorCancelledBetweenAttempts("x", "delete", 2, false).outcomeUnknown).toBeUndefined();
    expect(errorCancelledBetweenAttempts("x", "delete", 2, true)).toMatchObject({ outcomeUnknown: true, message: /may or may not/ });
    expect(errorCancelledBetweenAttempts("x", "read", 2, true).outcomeUnknown).toBeUndefined();
  });
});
