import { describe, expect, it } from "vitest";
import { configReference, loadConfig, secretValues } from "../../src/config.js";
import { replicaTiming } from "../../src/jobs/service.js";

describe("VCC_STATE_URL (shared state of replicas)", () => {
  it("is unset by default: state stays in this process", () => {
    expect(loadConfig({}).state.url).toBeUndefined();
  });

  it("accepts TLS anywhere, and plain redis:// on this machine only", () => {
    for (const url of [
      "rediss://redis.internal:6380",
      "rediss://app:p%40ss@10.0.0.7/2",
      "redis://127.0.0.1:6379",
      "redis://localhost",
      "redis://[::1]:7000/0",
    ])
      expect(loadConfig({ VCC_STATE_URL: url }).state.url).toBe(url);
    for (const url of ["redis://redis.internal:6379", "redis://10.0.0.7", "redis://:secret@[2001:db8::1]:6379"])
      expect(() => loadConfig({ VCC_STATE_URL: url })).toThrow(/VCC_STATE_URL must use rediss:\/\/ \(TLS\).*loopback only/);
  });

  it("refuses what is not a Redis URL, without echoing it", () => {
    for (const url of ["https://redis.example.com", "redis-host:6379", "rediss://h/x", "rediss://h?db=1", "rediss://h#x", "rediss:///0"]) {
      let message = "";
      try {
        loadConfig({ VCC_STATE_URL: url });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/^VCC_STATE_URL must be rediss:\/\//);
      expect(message).not.toContain(url);
    }
  });

  it("is a secret: its value (with the password) is redacted from the log", () => {
    const url = "rediss://app:hunter2-long@redis.internal:6380";
    expect(secretValues(loadConfig({ VCC_STATE_URL: url }))).toContain(url);
    expect(configReference().find((v) => v.name === "VCC_STATE_URL")).toMatchObject({ secret: true });
  });
});

describe("VCC_STATE_KEY_PREFIX (several deployments on one Redis)", () => {
  it("is vcc: by default and takes printable characters without spaces", () => {
    expect(loadConfig({}).state.keyPrefix).toBe("vcc:");
    expect(loadConfig({ VCC_STATE_KEY_PREFIX: "vcc:prod-eu:" }).state.keyPrefix).toBe("vcc:prod-eu:");
    for (const prefix of ["with space:", "x".repeat(65), "vcc:é:"])
      expect(() => loadConfig({ VCC_STATE_KEY_PREFIX: prefix })).toThrow(/VCC_STATE_KEY_PREFIX must be 1-64 printable/);
  });
});

describe("VCC_JOB_LEASE_MS and VCC_JOB_SWEEP_MS (erasure jobs on replicas)", () => {
  it("default to a 60 s lease and a look every 15 s; the lease is at least twice one API attempt", () => {
    expect(replicaTiming(loadConfig({}))).toEqual({ leaseMs: 60_000, sweepMs: 15_000 });
    expect(replicaTiming(loadConfig({ VCC_JOB_LEASE_MS: "1500", VCC_JOB_SWEEP_MS: "50", VCC_TIMEOUT_MS: "500" }))).toEqual({
      leaseMs: 1_500,
      sweepMs: 50,
    });
    // The check before each DELETE asks for one attempt's time limit left: a shorter lease could never pass it.
    expect(replicaTiming(loadConfig({ VCC_JOB_LEASE_MS: "1500" })).leaseMs).toBe(30_000);
    expect(() => loadConfig({ VCC_JOB_LEASE_MS: "100" })).toThrow(/VCC_JOB_LEASE_MS must be a whole number from 200/);
  });
});
