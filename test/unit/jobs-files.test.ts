// The erasure jobs' files: where they live, atomic writes, journals cut short, canonical JSON.
import { type FileHandle, mkdir, open as openFile, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { ErasureJobs } from "../../src/jobs/engine.js";
import { defaultDataDir, JournalFile, jobSettings, parseJournal, writeFileAtomic } from "../../src/jobs/files.js";
import { approvePlan, type Plan, proposePlan } from "../../src/jobs/plan.js";
import {
  buildReceipt,
  canonicalJson,
  receiptHash,
  receiptJson,
  receiptJsonPieces,
  receiptMarkdown,
  verifyReceipt,
} from "../../src/jobs/receipt.js";
import { tempDataDir } from "../helpers/jobs.js";

const GUID = "b0000000-0000-4000-8000-000000000001";

let data: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  data = await tempDataDir();
});
afterEach(() => data.cleanup());

function approvedPlan(n = 3): Plan {
  const proposed = proposePlan(
    {
      items: Array.from({ length: n }, (_, i) => ({ guid: GUID, contentKey: `item-${i}`, type: "voicemail", contentLength: 100 })),
      criteria: { to: "2026-12-01" },
    },
    new Date("2026-12-02T10:00:00.000Z"),
  );
  if (!proposed.ok) throw new Error(proposed.error.message);
  return approvePlan(proposed.plan, { method: "token" }, { now: new Date("2026-12-02T10:01:00.000Z"), ttlHours: 24, dryRun: false });
}

describe("defaultDataDir", () => {
  it("is the user's state directory on each platform", () => {
    expect(defaultDataDir({}, "linux", "/home/ana")).toBe("/home/ana/.local/state/vcc-interaction-content-mcp");
    expect(defaultDataDir({ XDG_STATE_HOME: "/var/state/ana" }, "linux", "/home/ana")).toBe("/var/state/ana/vcc-interaction-content-mcp");
    // A relative XDG_STATE_HOME is ignored, as the XDG spec says.
    expect(defaultDataDir({ XDG_STATE_HOME: "state" }, "linux", "/home/ana")).toBe("/home/ana/.local/state/vcc-interaction-content-mcp");
    expect(defaultDataDir({}, "darwin", "/Users/ana")).toBe("/Users/ana/Library/Application Support/vcc-interaction-content-mcp");
    expect(defaultDataDir({ LOCALAPPDATA: "/c/Users/ana/AppData/Local" }, "win32", "/c/Users/ana")).toBe(
      join("/c/Users/ana/AppData/Local", "vcc-interaction-content-mcp", "State"),
    );
  });
});

describe("configuration", () => {
  it("VCC_DATA_DIR (absolute) and VCC_JOB_APPROVAL_TTL_HOURS (1 to 720, default 24) reach the engine with VCC_DRY_RUN", () => {
    expect(jobSettings(loadConfig({}))).toEqual({ dataDir: defaultDataDir(), approvalTtlHours: 24, dryRun: false });
    expect(jobSettings(loadConfig({ VCC_DATA_DIR: "/srv/vcc", VCC_JOB_APPROVAL_TTL_HOURS: "48", VCC_DRY_RUN: "true" }))).toEqual({
      dataDir: "/srv/vcc",
      approvalTtlHours: 48,
      dryRun: true,
    });
    expect(() => loadConfig({ VCC_DATA_DIR: "state/vcc" })).toThrow(ConfigError);
    // The audit log too (it landed wherever the client started the server); "~" is not expanded.
    for (const [name, value] of [
      ["VCC_DATA_DIR", "state/vcc"],
      ["VCC_AUDIT_LOG", "vcc-audit.jsonl"],
      ["VCC_AUDIT_LOG", "~/vcc-audit.jsonl"],
    ])
      expect(() => loadConfig({ [name as string]: value })).toThrow(
        new RegExp(`^${name} must be an absolute path, such as /home/you/.*"~" is not expanded\\)$`),
      );
    expect(loadConfig({ VCC_AUDIT_LOG: "/var/log/vcc/audit.jsonl" }).audit.logPath).toBe("/var/log/vcc/audit.jsonl");
    expect(() => loadConfig({ VCC_JOB_APPROVAL_TTL_HOURS: "0" })).toThrow(
      /VCC_JOB_APPROVAL_TTL_HOURS must be a whole number from 1 to 720/,
    );
  });
});

describe("files", () => {
  it("writes atomically with owner-only permissions and leaves no temporary file", async () => {
    await mkdir(data.dir, { recursive: true });
    const path = join(data.dir, "plan.json");
    await writeFile(path, "old", { mode: 0o644 });
    await writeFileAtomic(path, "new");
    expect(await readFile(path, "utf8")).toBe("new");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(data.dir)).toEqual(["plan.json"]);
  });

  it("appends journal lines in order, each a JSON object", async () => {
    await mkdir(data.dir, { recursive: true });
    const journal = new JournalFile(join(data.dir, "journal.jsonl"));
    await Promise.all([1, 2, 3].map((n) => journal.append({ n })));
    await journal.close();
    expect(parseJournal(await readFile(journal.path, "utf8"))).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  /**
   * Makes the next write of a journal line containing `marker` fail after writing part of it, as a
   * full disk can (FileHandle.appendFile is what JournalFile writes with); `restore` undoes it.
   */
  async function failPartway(marker: string): Promise<{ failed: () => boolean; restore: () => void }> {
    // Beside the data directory, which the engine creates itself (owner-only).
    const probe = await openFile(join(dirname(data.dir), "probe"), "a");
    const proto = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
    const appendFile = proto.appendFile;
    let failed = false;
    const spy = vi.spyOn(proto, "appendFile").mockImplementation(async function (this: FileHandle, text, options) {
      if (failed || typeof text !== "string" || !text.includes(marker)) return appendFile.call(this, text, options);
      failed = true;
      await appendFile.call(this, text.slice(0, Math.floor(text.length / 2)), options);
      throw new Error("ENOSPC: no space left on device, write");
    });
    return { failed: () => failed, restore: () => spy.mockRestore() };
  }

  it("a journal line whose write failed part-way is cut off: the next line is whole and on its own", async () => {
    const fault = await failPartway('"n":2');
    try {
      await mkdir(data.dir, { recursive: true });
      const journal = new JournalFile(join(data.dir, "journal.jsonl"));
      await journal.append({ n: 1 });
      await expect(journal.append({ n: 2 })).rejects.toThrow(/ENOSPC/);
      expect(fault.failed()).toBe(true);
      await journal.append({ n: 3 });
      await journal.close();
      const text = await readFile(journal.path, "utf8");
      expect(text).toBe('{"n":1}\n{"n":3}\n');
      expect(parseJournal(text)).toEqual([{ n: 1 }, { n: 3 }]);
    } finally {
      fault.restore();
    }
  });

  it("a job whose journal write failed part-way still loads after later lines were written", async () => {
    const fault = await failPartway('"item_outcome"');
    const deleteItem = () => Promise.resolve({ kind: "deleted" as const, httpStatus: 204 });
    let jobId = "";
    try {
      const jobs = await ErasureJobs.open({ dataDir: data.dir, deleteItem });
      const proposed = await jobs.propose({
        items: [0, 1, 2].map((i) => ({ guid: GUID, contentKey: `item-${i}` })),
        criteria: null,
      });
      if (!proposed.ok) throw new Error(proposed.error.message);
      const started = await jobs.start(proposed.plan, { method: "token" });
      if (!started.ok) throw new Error(started.error.message);
      jobId = started.job.jobId;
      // The first item's outcome could not be written: the job stops (its DELETE was sent).
      expect(await jobs.settled(jobId)).toMatchObject({ status: "interrupted", pause: { code: "internal_error" } });
      expect(fault.failed()).toBe(true);
      fault.restore();
      // Lines written after the failed one: the cancellation and the end.
      expect(await jobs.cancel(jobId)).toMatchObject({ ok: true, job: { status: "cancelled" } });
      await jobs.close();
    } finally {
      fault.restore();
    }
    const again = await ErasureJobs.open({ dataDir: data.dir, deleteItem });
    const view = await again.get(jobId);
    expect(view.ok && view.job).toMatchObject({ status: "cancelled", progress: { outcomeUnknown: 1, remaining: 2 } });
    const text = await readFile(join(again.jobsDir, jobId, "journal.jsonl"), "utf8");
    expect(parseJournal(text).map((e) => (e as { event: string }).event)).toEqual(["run", "item_started", "cancel", "finish"]);
    await again.close();
  });

  it("a journal whose last line was cut short by a crash is cut back to its last whole line before the next line", async () => {
    await mkdir(data.dir, { recursive: true });
    const path = join(data.dir, "journal.jsonl");
    await writeFile(path, '{"n":1}\n{"n":2}\n{"n":');
    const journal = new JournalFile(path);
    await journal.append({ n: 3 });
    await journal.append({ n: 4 });
    await journal.close();
    expect(await readFile(path, "utf8")).toBe('{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n');
    // Nothing whole at all (the first line cut short); a whole last line is left alone.
    await writeFile(path, '{"n":');
    const again = new JournalFile(path);
    await again.append({ n: 1 });
    await again.close();
    expect(await readFile(path, "utf8")).toBe('{"n":1}\n');
  });

  it("a whole last line whose newline a crash left out is kept and ended, as parseJournal reads it", async () => {
    await mkdir(data.dir, { recursive: true });
    const path = join(data.dir, "journal.jsonl");
    await writeFile(path, '{"n":1}\n{"n":2}');
    expect(parseJournal('{"n":1}\n{"n":2}')).toEqual([{ n: 1 }, { n: 2 }]);
    const journal = new JournalFile(path);
    await journal.append({ n: 3 });
    await journal.append({ n: 4 });
    await journal.close();
    expect(await readFile(path, "utf8")).toBe('{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n');
  });

  it("a job whose journaled 204 lost its newline in a crash: resumed, that item is not sent again", async () => {
    const plan = approvedPlan(2);
    const dir = join(data.dir, "jobs", plan.jobId);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "plan.json"), JSON.stringify(plan));
    const lines = [
      { at: "2026-12-02T10:01:00.000Z", event: "run", kind: "start" },
      { at: "2026-12-02T10:01:01.000Z", event: "item_started", index: 0 },
      { at: "2026-12-02T10:01:02.000Z", event: "item_outcome", index: 0, result: { outcome: "deleted", httpStatus: 204 } },
    ];
    await writeFile(join(dir, "journal.jsonl"), lines.map((line) => JSON.stringify(line)).join("\n"));
    const sent: string[] = [];
    const options = {
      dataDir: data.dir,
      deleteItem: async (item: { contentKey: string }) => {
        sent.push(item.contentKey);
        return { kind: "deleted" as const, httpStatus: 204, attempts: 1 };
      },
      now: () => Date.parse("2026-12-02T11:00:00.000Z"),
    };
    const jobs = await ErasureJobs.open(options);
    expect(await jobs.resume(plan.jobId)).toMatchObject({ ok: true });
    expect((await jobs.settled(plan.jobId)).status).toBe("completed");
    await jobs.close();
    // Opened again: the journal reads as it was written, and the first item was sent by nobody here.
    const again = await ErasureJobs.open(options);
    const view = await again.get(plan.jobId);
    expect(view.ok && view.job).toMatchObject({ status: "completed", progress: { deleted: 2, outcomeUnknown: 0 } });
    await again.close();
    expect(sent).toEqual([plan.items[1]?.contentKey]);
  });

  it("drops a last line cut short, refuses damage anywhere else", () => {
    expect(parseJournal('{"a":1}\n{"b":')).toEqual([{ a: 1 }]);
    expect(() => parseJournal('{"a":1}\n{"b":\n{"c":3}\n')).toThrow(/line 2/);
  });

  it("loads a job whose process died while writing a journal line as interrupted", async () => {
    const plan = approvedPlan();
    const dir = join(data.dir, "jobs", plan.jobId);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "plan.json"), JSON.stringify(plan));
    await writeFile(
      join(dir, "journal.jsonl"),
      [
        { at: "2026-12-02T10:01:00.000Z", event: "run", kind: "start" },
        { at: "2026-12-02T10:01:01.000Z", event: "item_started", index: 0 },
        { at: "2026-12-02T10:01:02.000Z", event: "item_outcome", index: 0, result: { outcome: "deleted", httpStatus: 204 } },
        { at: "2026-12-02T10:01:03.000Z", event: "item_started", index: 1 },
      ]
        .map((line) => JSON.stringify(line))
        .join("\n")
        .concat('\n{"at":"2026-12-02T10:01:04.000Z","event":"item_out'),
    );
    const jobs = await ErasureJobs.open({
      dataDir: data.dir,
      deleteItem: () => Promise.reject(new Error("not used")),
      now: () => Date.parse("2026-12-02T11:00:00.000Z"),
    });
    const view = await jobs.get(plan.jobId);
    expect(view.ok && view.job).toMatchObject({
      status: "interrupted",
      progress: { deleted: 1, outcomeUnknown: 1, remaining: 1 },
      resumable: { ok: true },
    });
    await jobs.close();
  });
});

describe("loading jobs", () => {
  it("a job whose journal ended in a line cut short by a crash still loads after it was cancelled (and after a restart)", async () => {
    const plan = approvedPlan(3);
    const dir = join(data.dir, "jobs", plan.jobId);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "plan.json"), JSON.stringify(plan));
    const whole = [
      { at: "2026-12-02T10:01:00.000Z", event: "run", kind: "start" },
      { at: "2026-12-02T10:01:01.000Z", event: "item_started", index: 0 },
      { at: "2026-12-02T10:01:02.000Z", event: "item_outcome", index: 0, result: { outcome: "deleted", httpStatus: 204 } },
    ];
    await writeFile(
      join(dir, "journal.jsonl"),
      `${whole.map((line) => `${JSON.stringify(line)}\n`).join("")}{"at":"2026-12-02T10:01:03.000Z","event":"item_sta`,
    );
    const options = {
      dataDir: data.dir,
      deleteItem: () => Promise.reject(new Error("not used")),
      now: () => Date.parse("2026-12-02T11:00:00.000Z"),
    };
    const jobs = await ErasureJobs.open(options);
    expect(await jobs.cancel(plan.jobId)).toMatchObject({ ok: true, job: { status: "cancelled" } });
    await jobs.close();
    const again = await ErasureJobs.open(options);
    const view = await again.get(plan.jobId);
    expect(view.ok && view.job).toMatchObject({ status: "cancelled", progress: { deleted: 1, remaining: 2 } });
    const text = await readFile(join(dir, "journal.jsonl"), "utf8");
    expect(parseJournal(text).map((e) => (e as { event: string }).event)).toEqual([
      "run",
      "item_started",
      "item_outcome",
      "cancel",
      "finish",
    ]);
    await again.close();
  });

  async function writeJob(plan: Plan, lines: object[]): Promise<string> {
    const dir = join(data.dir, "jobs", plan.jobId);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "plan.json"), JSON.stringify(plan));
    await writeFile(join(dir, "journal.jsonl"), lines.map((line) => `${JSON.stringify(line)}\n`).join(""));
    return dir;
  }
  const open = () => ErasureJobs.open({ dataDir: data.dir, deleteItem: () => Promise.reject(new Error("not used")) });
  const RUN = { at: "2026-12-02T10:01:00.000Z", event: "run", kind: "start" };
  const DONE = (index: number) => ({
    at: "2026-12-02T10:01:02.000Z",
    event: "item_outcome",
    index,
    result: { outcome: "deleted", httpStatus: 204 },
  });

  it("writes the receipt of a job that finished just before its process died", async () => {
    const plan = approvedPlan(2);
    const dir = await writeJob(plan, [RUN, DONE(0), DONE(1), { at: "2026-12-02T10:01:03.000Z", event: "finish", status: "completed" }]);
    const jobs = await open();
    const view = await jobs.get(plan.jobId);
    expect(view.ok && view.job).toMatchObject({ status: "completed", endedAt: "2026-12-02T10:01:03.000Z" });
    expect(verifyReceipt(await readFile(join(dir, "receipt.json"), "utf8"))).toBe(true);
    await jobs.close();
  });

  it("finishes as cancelled a job whose cancellation was recorded before its process died", async () => {
    const plan = approvedPlan(3);
    await writeJob(plan, [
      RUN,
      DONE(0),
      { at: "2026-12-02T10:01:03.000Z", event: "item_started", index: 1 },
      { at: "2026-12-02T10:01:03.500Z", event: "cancel" },
    ]);
    const jobs = await open();
    const view = await jobs.get(plan.jobId);
    expect(view.ok && view.job).toMatchObject({ status: "cancelled", progress: { deleted: 1, outcomeUnknown: 1, remaining: 1 } });
    await jobs.close();
  });

  it("ignores a job whose journal names items outside its plan", async () => {
    const plan = approvedPlan(1);
    await writeJob(plan, [RUN, DONE(5)]);
    const jobs = await open();
    expect(await jobs.list()).toEqual([]);
    expect((await jobs.get(plan.jobId)).ok).toBe(false);
    await jobs.close();
  });
});

describe("receipts", () => {
  it("canonical JSON sorts keys at every depth and drops undefined members", () => {
    expect(canonicalJson({ b: 1, a: [{ d: "x", c: undefined }, null], é: true })).toBe('{"a":[{"d":"x"},null],"b":1,"é":true}');
    expect(() => canonicalJson({ n: Number.NaN })).toThrow();
  });

  it("hashes the canonical JSON of the receipt without its sha256, and says so in the Markdown", () => {
    const plan = approvedPlan();
    const receipt = buildReceipt({
      plan,
      items: [
        {
          result: { outcome: "deleted", httpStatus: 204 },
          at: "2026-12-02T10:02:00.000Z",
          inFlight: false,
          deleteCalls: 1,
          mayHaveReached: false,
        },
        { inFlight: true, deleteCalls: 1, mayHaveReached: true },
        { inFlight: false, deleteCalls: 0, mayHaveReached: false },
      ],
      status: "cancelled",
      startedAt: "2026-12-02T10:01:00.000Z",
      endedAt: "2026-12-02T10:03:00.000Z",
    });
    const { sha256, ...rest } = receipt;
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(receiptHash(rest)).toBe(sha256);
    expect(receipt.totals).toMatchObject({ items: 3, deleted: 1, unknown: 1, notAttempted: 1, bytesDeleted: 100 });
    expect(verifyReceipt(JSON.stringify(receipt, null, 2))).toBe(true);
    expect(verifyReceipt(JSON.stringify({ ...receipt, status: "completed" }))).toBe(false);
    const markdown = receiptMarkdown(receipt);
    expect(markdown).toContain(sha256);
    expect(markdown).toContain("| 2 | b0000000-0000-4000-8000-000000000001 | item-1 | voicemail | unknown |");
  });

  it("writes the JSON receipt in pieces that make exactly JSON.stringify's text; the Markdown's rows in order", () => {
    for (const n of [1, 3]) {
      const plan = approvedPlan(n);
      const receipt = buildReceipt({
        plan,
        items: plan.items.map(() => ({
          result: {
            outcome: "failed" as const,
            code: "forbidden" as const,
            message: "no | pipes\nhere",
            httpStatus: 403,
            retryable: false,
          },
          at: "2026-12-02T10:02:00.000Z",
          inFlight: false,
          deleteCalls: 1,
          mayHaveReached: false,
        })),
        status: "completed_with_errors",
        endedAt: "2026-12-02T10:03:00.000Z",
      });
      const pieces = [...receiptJsonPieces(receipt)];
      expect(pieces.length).toBe(n + 4);
      expect(pieces.join("")).toBe(`${JSON.stringify(receipt, null, 2)}\n`);
      expect(verifyReceipt(receiptJson(receipt))).toBe(true);
      const rows = receiptMarkdown(receipt)
        .split("\n")
        .filter((line) => /^\| \d+ \|/.test(line));
      expect(rows.map((row) => row.split(" | ")[2])).toEqual(plan.items.map((i) => i.contentKey));
      expect(rows[0]).toContain("forbidden: no \\| pipes here");
    }
    const empty = {
      ...buildReceipt({ plan: approvedPlan(1), items: [], status: "cancelled", endedAt: "2026-12-02T10:03:00.000Z" }),
      items: [],
    };
    expect([...receiptJsonPieces(empty)].join("")).toBe(`${JSON.stringify(empty, null, 2)}\n`);
  });
});
