import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { hostRefusal, readBody, sameSecret } from "../../src/http-guards.js";

const request = (headers: Record<string, string>, chunks: string[] = []): IncomingMessage =>
  Object.assign(Readable.from(chunks.map((c) => Buffer.from(c))), { headers }) as unknown as IncomingMessage;

describe("HTTP guards", () => {
  const loopback = new Set(["127.0.0.1", "localhost", "[::1]"]);

  it("Host must name an allowed host (and the port, when one is given); Origin, when sent, too", () => {
    expect(hostRefusal(request({ host: "127.0.0.1:3333" }), loopback)).toBeUndefined();
    expect(hostRefusal(request({ host: "[::1]:3333", origin: "http://localhost:3333" }), loopback)).toBeUndefined();
    expect(hostRefusal(request({ host: "LOCALHOST:8080" }), loopback, 8080)).toBeUndefined();
    expect(hostRefusal(request({ host: "localhost:8081" }), loopback, 8080)).toMatch(/Host header 'localhost:8081'/);
    expect(hostRefusal(request({ host: "evil.example.com:3333" }), loopback)).toMatch(/does not name this server/);
    expect(hostRefusal(request({}), loopback)).toMatch(/Host header ''/);
    expect(hostRefusal(request({ host: "127.0.0.1", origin: "http://evil.example.com" }), loopback)).toMatch(/Origin/);
    expect(hostRefusal(request({ host: "127.0.0.1", origin: "null" }), loopback)).toMatch(/Origin 'null'/);
    // With a port (the approval page): another web app on this computer, at another port, is not it.
    expect(hostRefusal(request({ host: "localhost:8080", origin: "http://localhost:8080" }), loopback, 8080)).toBeUndefined();
    expect(hostRefusal(request({ host: "localhost:8080", origin: "http://localhost:3000" }), loopback, 8080)).toMatch(
      /Origin 'http:\/\/localhost:3000' is not this server/,
    );
    expect(hostRefusal(request({ host: "localhost:80", origin: "http://localhost" }), loopback, 80)).toBeUndefined();
    expect(hostRefusal(request({ host: "localhost:80", origin: "https://localhost" }), loopback, 80)).toMatch(/Origin/);
  });

  it("refuses a Host the URL parser would read as another host", () => {
    for (const host of ["evil.example.com@127.0.0.1", "127.0.0.1/evil", "127.0.0.1\\@x", "127.0.0.1?x", "127.0.0.1#x"])
      expect(hostRefusal(request({ host }), loopback)).toMatch(/does not name this server/);
  });

  it("reads a body up to the limit, and stops at the first byte beyond it or at a Content-Length beyond it", async () => {
    const ok = await readBody(request({}, ["ab", "cd"]), 4);
    expect(ok.ok && ok.body.toString()).toBe("abcd");
    expect(await readBody(request({}, ["ab", "cde"]), 4)).toEqual({ ok: false, reason: "too_large" });
    expect(await readBody(request({ "content-length": "5" }), 4)).toEqual({ ok: false, reason: "too_large" });
  });

  it("compares secrets of any lengths", () => {
    expect(sameSecret("abc", "abc")).toBe(true);
    expect(sameSecret("abc", "abd")).toBe(false);
    expect(sameSecret("abc", "abcd")).toBe(false);
    expect(sameSecret("", "")).toBe(true);
  });
});
