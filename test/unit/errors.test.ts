import { describe, expect, it } from "vitest";
import { errorForStatus, errorForTransport, parseRetryAfter, upstreamMessageOf } from "../../src/vcc/errors.js";

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

describe("upstream messages", () => {
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
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
