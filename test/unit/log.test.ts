import { afterEach, describe, expect, it } from "vitest";
import { log, redact, registerSecret, setLogSink } from "../../src/log.js";

afterEach(() => setLogSink((line) => process.stderr.write(line)));

describe("logger", () => {
  it("redacts registered secrets and bearer credentials in every line", () => {
    registerSecret("super-secret-value-123");
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    log.error("failed with super-secret-value-123", {
      error: new Error("Authorization: Bearer abc.def.ghi"),
      body: "client_secret=hunter22&x=1",
    });
    const out = lines.join("");
    expect(out).not.toContain("super-secret-value-123");
    expect(out).not.toContain("abc.def.ghi");
    expect(out).not.toContain("hunter22");
    expect(out).toContain("[REDACTED]");
    expect(redact("nothing to hide")).toBe("nothing to hide");
  });
});
