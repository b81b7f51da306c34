// erase_interaction_content and the job tools, in process against the simulator: plan → approve
// (typed count in a prompt, token, approval page) → job to completion; a wrong count or a decline
// sends nothing; cancel; pause after repeated 5xx and resume; receipts as resources; verify; bad
// input; read-only and dry-run modes. (The killed-server case is test/e2e/erase-process.test.ts.)
import { existsSync, readFileSync } from "node:fs";
import { appendFile, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { PASSKEY_PAGE_CSP } from "../../src/confirmation/approval-page.js";
import { PasskeyStore } from "../../src/confirmation/passkeys.js";
import { JournalFile } from "../../src/jobs/files.js";
import { verifyReceipt } from "../../src/jobs/receipt.js";
import { closeJobServices } from "../../src/jobs/service.js";
import { decideOnPage, formKeyOf, pageRequest, postDecision } from "../helpers/approval-page.js";
import { addContent, deletePath, deletesByPath, generated, simItems, useJobDataDir } from "../helpers/jobs.js";
import { type Connected, type ElicitHandler, structured, textOf } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator({ extraInteractions: 6 });

const ERASE = "erase_interaction_content";
const GET = "get_erasure_job";
const CANCEL = "cancel_erasure_job";
const RESUME = "resume_erasure_job";
/** The generated interactions: one caller, 2026-11-20 10:00, a recording and a transcript each. */
const CRITERIA = {
  connectFrom: "+441632960101",
  from: "2026-11-20T09:00:00Z",
  to: "2026-11-20T11:00:00Z",
  contentTypes: ["all"],
};

const data = useJobDataDir();

const typing =
  (answer: string, seen: { schema?: unknown; message?: string } = {}): ElicitHandler =>
  (params) => {
    seen.schema = params.requestedSchema;
    seen.message = params.message;
    return { action: "accept", content: { count: answer } };
  };

function server(env: Record<string, string> = {}, elicit?: ElicitHandler): Promise<Connected> {
  return h.inProcess({ env: { VCC_DATA_DIR: data.dir(), VCC_RETRY_BASE_MS: "1", ...env }, ...(elicit ? { elicit } : {}) });
}

/** Polls get_erasure_job until the job is no longer running. */
async function settled(c: Connected, jobId: string) {
  let job: Record<string, unknown> = {};
  await vi.waitFor(
    async () => {
      job = structured(await c.call(GET, { jobId })).job;
      expect(job.status).not.toBe("running");
    },
    { timeout: 10_000, interval: 20 },
  );
  return structured(await c.call(GET, { jobId })).job;
}

describe("a paused job resumed by a server with other settings", () => {
  /** A job paused after one deletion (five 503s in a row), its server then stopped. */
  async function pausedJob(): Promise<string> {
    const first = await server({ VCC_MAX_RETRIES: "0" }, typing("12"));
    h.sim.injectFaults("delete-content", {}, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 });
    const started = structured(await first.call(ERASE, CRITERIA));
    expect((await settled(first, started.jobId)).status).toBe("paused");
    await closeJobServices();
    return started.jobId;
  }

  it("keeps to the allowlist in force now: what it no longer allows is not sent", async () => {
    const jobId = await pausedJob();
    const sent = h.deletes().length;
    const c = await server({ VCC_ALLOWED_CONTENT_KEYS: "voicemail" });
    const resumed = await c.call(RESUME, { jobId });
    expect(resumed.isError, textOf(resumed)).toBeFalsy();
    const job = await settled(c, jobId);
    expect(h.deletes()).toHaveLength(sent);
    expect(job.status).toBe("completed_with_errors");
    expect(job.failures.items.length).toBeGreaterThan(0);
    expect(job.failures.items.every((f: { code: string }) => f.code === "not_allowed")).toBe(true);
  });

  it("a transient failure in a job that has ended is not promised a resume: the job says how to erase it", async () => {
    const c = await server({ VCC_MAX_RETRIES: "0" }, typing("12"));
    h.sim.injectFaults("delete-content", ...Array.from({ length: 11 }, () => ({})), { status: 500 });
    const started = structured(await c.call(ERASE, CRITERIA));
    const job = await settled(c, started.jobId);
    expect(job.status).toBe("completed_with_errors");
    expect(job.failures.items).toEqual([expect.objectContaining({ retryable: true })]);
    const text = textOf(await c.call(GET, { jobId: started.jobId }));
    const { failed, outcomeUnknown } = job.progress;
    expect(failed + outcomeUnknown).toBe(1);
    expect(text).toContain("transient (the job has ended: a new plan erases it)");
    expect(text).not.toContain("tried again on resume");
    expect(text).toContain(`Not known to be erased by this job: ${failed} failed, ${outcomeUnknown} of unknown outcome, 0 not attempted.`);
    expect(text).toMatch(/An ended job cannot be resumed: .* call erase_interaction_content again/);
  });

  it("a dry-run server does not resume a job approved to delete for real", async () => {
    const jobId = await pausedJob();
    const sent = h.deletes().length;
    const c = await server({ VCC_DRY_RUN: "true" });
    const resumed = await c.call(RESUME, { jobId });
    expect(structured(resumed).error?.code).toBe("invalid_input");
    expect(textOf(resumed)).toMatch(/VCC_DRY_RUN=true, and job .* was approved to delete for real/);
    expect(h.deletes()).toHaveLength(sent);
  });
});

describe("criteria", () => {
  it("what search_interactions accepts, erase accepts too: a 'to' of tomorrow's date", async () => {
    const c = await server({ VCC_CONFIRMATION: "token" });
    const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
    const criteria = { connectFrom: "+441632960101", from: day(-2), to: day(1) };
    expect(structured(await c.call("search_interactions", criteria)).error).toBeUndefined();
    const asked = await c.call(ERASE, { ...criteria, contentTypes: ["all"] });
    // Nothing of the caller in these days: refused as such, not for the dates.
    expect(textOf(asked)).toMatch(/Nothing to erase/);
    expect(textOf(asked)).not.toMatch(/future/);
  });
});

describe("what the search could not read", () => {
  it("is not in the plan, and the plan says so: its count, and that it may be this person's", async () => {
    const c = await server({ VCC_CONFIRMATION: "token" });
    // The search's page: one readable record of the caller, and one without a guid.
    const [item] = simItems(h.sim, generated);
    const readable = {
      guid: item?.guid,
      start: "2026-11-20T10:00:00.000Z",
      direction: "inbound",
      connectFrom: "+441632960101",
      connectTo: "+441632960900",
      content: [{ contentKey: item?.contentKey, type: "callRecording", contentType: "audio/wav", contentLength: null }],
    };
    const page = { items: [readable, { guid: 42, content: [] }], meta: { nextContinuationToken: null } };
    h.sim.injectFaults("list-interactions", { status: 200, body: JSON.stringify(page) });
    const asked = await c.call(ERASE, CRITERIA);
    const s = structured(asked);
    expect(s.status, textOf(asked)).toBe("confirmation_required");
    expect(s.plan).toMatchObject({ items: 1 });
    expect(s.excluded).toMatchObject({ unreadable: 1 });
    expect(textOf(asked)).toMatch(/Not included: 1 interaction record\(s\) the search found but this server could not read/);

    // Nothing readable at all: refused, and not as "nothing matches".
    h.sim.injectFaults("list-interactions", { status: 200, body: JSON.stringify({ ...page, items: [{ guid: 42 }] }) });
    const none = await c.call(ERASE, CRITERIA);
    expect(structured(none)).toMatchObject({ status: "error", error: { code: "upstream_error" }, excluded: { unreadable: 1 } });
    expect(textOf(none)).toMatch(/Nothing readable matches/);
  });
});

describe("what the plan leaves out, and why", () => {
  const readText = async (c: Connected, uri: string) => {
    const read = await c.client.readResource({ uri });
    return (read.contents[0] as { text: string }).text;
  };

  it("a type name that matches nothing, and the other types of the same interactions: said with the approval, kept in the receipt and the audit", async () => {
    const audit = `${data.dir()}-audit.jsonl`;
    const c = await server({ VCC_CONFIRMATION: "token", VCC_AUDIT_LOG: audit });
    // 'transcripts' (plural) is no type the API gives: the transcripts are left out, and the plan says so.
    const asked = await c.call(ERASE, { ...CRITERIA, contentTypes: ["callRecording", "transcripts"] });
    const s = structured(asked);
    expect(s.status, textOf(asked)).toBe("confirmation_required");
    expect(s.plan).toMatchObject({ items: 6, byType: { callRecording: { items: 6 } } });
    expect(s.excluded).toEqual({ notAllowed: 0, notFound: 0, otherTypes: { transcript: 6 }, typesNotFound: ["transcripts"] });
    expect(textOf(asked)).toContain(
      "Not included: 6 item(s) of type transcript of the same interactions: not among the content types asked for.",
    );
    expect(textOf(asked)).toContain("No item of type 'transcripts' was found (the same interactions hold: transcript)");

    const started = structured(
      await c.call(ERASE, { ...CRITERIA, contentTypes: ["callRecording", "transcripts"], confirmationToken: s.confirmationToken }),
    );
    expect(started.excluded).toEqual(s.excluded);
    const job = await settled(c, started.jobId);
    expect(job.progress).toMatchObject({ deleted: 6, remaining: 0 });
    const receipt = JSON.parse(await readText(c, job.receipt.json));
    expect(receipt.plan.excluded).toEqual(s.excluded);
    expect(verifyReceipt(JSON.stringify(receipt))).toBe(true);
    const md = await readText(c, job.receipt.markdown);
    expect(md).toContain("## Not included");
    expect(md).toContain("- Not included: 6 item(s) of type transcript of the same interactions");
    const planRecord = readFileSync(audit, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .find((r) => r.action === "plan" && r.jobId === started.jobId);
    expect(planRecord.excluded).toEqual(s.excluded);
  });

  it("a job whose plan was recorded but whose start could not be: the answer says what the job is now, and that this call sent nothing", async () => {
    const c = await server({ VCC_CONFIRMATION: "token" });
    const asked = structured(await c.call(ERASE, CRITERIA));
    const append = JournalFile.prototype.append;
    const spy = vi.spyOn(JournalFile.prototype, "append").mockImplementation(function (this: JournalFile, entry: object) {
      if ((entry as { event?: string }).event === "run") return Promise.reject(new Error("ENOSPC: no space left on device"));
      return append.call(this, entry);
    });
    let failed: Awaited<ReturnType<typeof c.call>>;
    try {
      failed = await c.call(ERASE, { ...CRITERIA, confirmationToken: asked.confirmationToken });
    } finally {
      spy.mockRestore();
    }
    const s = structured(failed);
    expect(s).toMatchObject({ status: "error", error: { code: "internal_error" } });
    const job = structured(await c.call(GET, { jobId: s.jobId })).job;
    expect(textOf(failed)).toContain(`The approved job ${s.jobId} is recorded, now ${job.status}`);
    expect(textOf(failed)).toContain("this call sent nothing");
    expect(textOf(failed)).not.toContain("nothing was deleted");
    expect(h.deletes()).toHaveLength(0);
  });

  it("verify tells apart what this server does not delete (the allowlist) from what is new", async () => {
    const c = await server({ VCC_CONFIRMATION: "token", VCC_ALLOWED_CONTENT_KEYS: "callRecording" });
    const asked = structured(await c.call(ERASE, { ...CRITERIA, verify: true }));
    expect(asked.excluded).toMatchObject({ notAllowed: 6 });
    const started = structured(await c.call(ERASE, { ...CRITERIA, confirmationToken: asked.confirmationToken }));
    await settled(c, started.jobId);
    await vi.waitFor(async () => expect(structured(await c.call(GET, { jobId: started.jobId })).job.verification?.status).toBe("done"), {
      timeout: 10_000,
      interval: 20,
    });
    const verified = await c.call(GET, { jobId: started.jobId });
    const left = structured(verified).job.verification.stillMatching;
    expect(left).toHaveLength(6);
    for (const i of left) expect(i).toMatchObject({ type: "transcript", inPlan: false, notAllowed: true });
    expect(textOf(verified)).toContain("6 of a kind this server does not delete (VCC_ALLOWED_CONTENT_KEYS)");
    expect(textOf(verified)).not.toMatch(/recorded after planning/);
  });

  it("verify: nothing left of the types asked for; the other types still there are named, not hidden", async () => {
    const only = await server({ VCC_CONFIRMATION: "token" });
    const recordings = { ...CRITERIA, contentTypes: ["transcript"], verify: true };
    const plan = structured(await only.call(ERASE, recordings));
    const job = structured(await only.call(ERASE, { ...recordings, confirmationToken: plan.confirmationToken }));
    await settled(only, job.jobId);
    await vi.waitFor(async () => expect(structured(await only.call(GET, { jobId: job.jobId })).job.verification?.status).toBe("done"), {
      timeout: 10_000,
      interval: 20,
    });
    const checked = await only.call(GET, { jobId: job.jobId });
    expect(structured(checked).job.verification).toMatchObject({ stillMatching: [], otherTypes: { callRecording: 6 } });
    expect(textOf(checked)).toContain("finds nothing left of the types asked for");
    expect(textOf(checked)).toContain("Not checked: the same interactions still hold 6 item(s) of type callRecording");
  });

  it("types named like an object's properties (constructor, __proto__, toString) are counted as any other", async () => {
    const c = await server({ VCC_CONFIRMATION: "token" });
    const [item] = simItems(h.sim, generated);
    const content = [
      { contentKey: item?.contentKey, type: "callRecording", contentType: "audio/wav", contentLength: 100 },
      ...["constructor", "__proto__", "toString"].map((type, n) => ({ contentKey: `odd-${n}`, type, contentLength: 1 })),
    ];
    const record = { guid: item?.guid, start: "2026-11-20T10:00:00.000Z", direction: "inbound", connectFrom: "+441632960101", content };
    const page = JSON.stringify({ items: [record], meta: { nextContinuationToken: null } });
    h.sim.injectFaults("list-interactions", { status: 200, body: page });
    const asked = await c.call(ERASE, { ...CRITERIA, contentTypes: ["callRecording"] });
    expect(structured(asked).excluded?.otherTypes, textOf(asked)).toEqual(
      // Not an object literal: there "__proto__" would set the prototype, not a key.
      Object.fromEntries([
        ["constructor", 1],
        ["__proto__", 1],
        ["toString", 1],
      ]),
    );
    h.sim.injectFaults("list-interactions", { status: 200, body: page });
    const all = await c.call(ERASE, { ...CRITERIA, contentTypes: ["all"] });
    expect(structured(all).plan?.byType, textOf(all)).toEqual(
      Object.fromEntries([
        ["callRecording", { items: 1, bytes: 100 }],
        ["constructor", { items: 1, bytes: 1 }],
        ["__proto__", { items: 1, bytes: 1 }],
        ["toString", { items: 1, bytes: 1 }],
      ]),
    );
    h.sim.injectFaults("list-interactions", { status: 200, body: page });
    const search = await c.call("search_interactions", { ...CRITERIA, contentTypes: undefined });
    expect(structured(search).totals?.byType, textOf(search)).toEqual(
      Object.fromEntries([
        ["callRecording", 1],
        ["constructor", 1],
        ["__proto__", 1],
        ["toString", 1],
      ]),
    );
  });

  it("verify asked for, and the process died after the job's end before recording it: the next start records the end and runs the verification", async () => {
    const first = await server({ VCC_CONFIRMATION: "token" });
    const asked = structured(await first.call(ERASE, { ...CRITERIA, verify: true }));
    const started = structured(await first.call(ERASE, { ...CRITERIA, confirmationToken: asked.confirmationToken }));
    await vi.waitFor(
      async () => expect(structured(await first.call(GET, { jobId: started.jobId })).job.verification?.status).toBe("done"),
      {
        timeout: 10_000,
        interval: 20,
      },
    );
    const dir = join(data.dir(), "jobs", started.jobId);
    await vi.waitFor(() => expect(existsSync(join(dir, "verification.json"))).toBe(true), { timeout: 10_000 });
    await closeJobServices();
    for (const name of ["receipt.json", "finish-recorded", "verification.json"]) await rm(join(dir, name));
    const second = await server({ VCC_CONFIRMATION: "token" });
    await vi.waitFor(
      async () => expect(structured(await second.call(GET, { jobId: started.jobId })).job.verification?.status).toBe("done"),
      {
        timeout: 10_000,
        interval: 20,
      },
    );
  });

  it("an item whose type the API did not give is not taken for one of the types asked for: left out, and said", async () => {
    const c = await server({ VCC_CONFIRMATION: "token" });
    const [item] = simItems(h.sim, generated);
    const record = (content: object[]) => ({
      guid: item?.guid,
      start: "2026-11-20T10:00:00.000Z",
      direction: "inbound",
      connectFrom: "+441632960101",
      connectTo: "+441632960900",
      content,
    });
    const typed = { contentKey: item?.contentKey, type: "callRecording", contentType: "audio/wav", contentLength: 100 };
    const untyped = { contentKey: "untyped-1", contentType: "audio/wav", contentLength: 50 };
    const page = { items: [record([typed, untyped])], meta: { nextContinuationToken: null } };
    h.sim.injectFaults("list-interactions", { status: 200, body: JSON.stringify(page) });
    const asked = await c.call(ERASE, { ...CRITERIA, contentTypes: ["callRecording"] });
    const s = structured(asked);
    expect(s.plan).toMatchObject({ items: 1 });
    expect(s.excluded).toMatchObject({ otherTypes: { unknown: 1 } });
    expect(textOf(asked)).toContain("Not included: 1 item(s) whose type the API did not give of the same interactions");

    // Only untyped content: nothing to erase, and why.
    h.sim.injectFaults("list-interactions", { status: 200, body: JSON.stringify({ ...page, items: [record([untyped])] }) });
    const none = await c.call(ERASE, { ...CRITERIA, contentTypes: ["callRecording"] });
    expect(structured(none)).toMatchObject({ status: "error", error: { code: "not_found" }, excluded: { otherTypes: { unknown: 1 } } });
    expect(textOf(none)).toMatch(/Nothing to erase: no content of the types asked for matches/);
    expect(textOf(none)).toContain("1 item(s) whose type the API did not give");
    expect(h.deletes()).toHaveLength(0);
  });
});

describe("plan → approve → job", () => {
  it("a prompt where the person types the number of items starts the job; every planned item is deleted once; the receipt is a resource", async () => {
    const seen: { schema?: unknown; message?: string } = {};
    const expected = simItems(h.sim, generated);
    const c = await server({ VCC_AUDIT_LOG: `${data.dir()}-audit.jsonl` }, typing(String(expected.length), seen));
    const started = await c.call(ERASE, CRITERIA);
    const s = structured(started);
    expect(s.status, textOf(started)).toBe("running");
    expect(s.plan).toMatchObject({ interactions: 6, items: 12, byType: { callRecording: { items: 6 }, transcript: { items: 6 } } });
    expect(s.plan.firstInteractionStart).toBe("2026-11-20T10:00:00.000Z");
    // A typed count, not a checkbox; the prompt names the number and the first items.
    expect(JSON.stringify(seen.schema)).toContain('"count"');
    expect(JSON.stringify(seen.schema)).not.toContain('"boolean"');
    expect(seen.message).toContain("12 content item(s) of 6 interaction(s)");
    expect(seen.message).toContain("type the number of items: 12");
    // The criteria in words, as the person meant them (a date's whole day), not as JSON.
    expect(seen.message).toMatch(/Found by: interactions initiated by an address starting with \+441632960101, that started between /);
    expect(seen.message).not.toContain('{"from"');

    const job = await settled(c, s.jobId);
    expect(job.status).toBe("completed");
    expect(job.progress).toMatchObject({ deleted: 12, failed: 0, remaining: 0 });
    const byPath = deletesByPath(h.sim);
    expect(byPath.size).toBe(12);
    for (const item of expected) expect(byPath.get(deletePath(h.sim, item))?.map((e) => e.status)).toEqual([204]);
    // No lookup per item: the search gave everything the plan needs.
    expect(h.sim.requests("GET").filter((r) => r.route === "get-interaction")).toHaveLength(0);

    expect(job.receipt.json).toBe(`vcc-erasure://jobs/${s.jobId}/receipt.json`);
    const { resources } = await c.client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(expect.arrayContaining([job.receipt.json, job.receipt.markdown]));
    const json = await c.client.readResource({ uri: job.receipt.json });
    const text = (json.contents[0] as { text: string }).text;
    expect(verifyReceipt(text)).toBe(true);
    expect(JSON.parse(text)).toMatchObject({
      jobId: s.jobId,
      status: "completed",
      approval: { method: "elicitation" },
      totals: { deleted: 12 },
    });
    const md = await c.client.readResource({ uri: job.receipt.markdown });
    expect((md.contents[0] as { text: string; mimeType: string }).mimeType).toBe("text/markdown");
    expect((md.contents[0] as { text: string }).text).toContain(job.receipt.sha256);
    expect((md.contents[0] as { text: string }).text).toMatch(
      /## Criteria\n\nInteractions initiated by an address starting with \+441632960101, that started between /,
    );

    const audit = (await readFile(`${data.dir()}-audit.jsonl`, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const actions = audit.filter((r) => r.event === "job").map((r) => r.action);
    for (const a of ["plan", "approval", "start", "finish"]) expect(actions).toContain(a);
    expect(actions.filter((a) => a === "item_started")).toHaveLength(12);
    expect(actions.filter((a) => a === "item_outcome")).toHaveLength(12);
  });

  it("a wrong typed count (or a ticked checkbox) is a refusal: nothing is sent, no job", async () => {
    for (const answer of ["11", "12 items", "1,2", ""]) {
      const c = await server({}, typing(answer));
      const result = await c.call(ERASE, CRITERIA);
      expect(structured(result).status, textOf(result)).toBe("cancelled");
      expect(textOf(result)).toMatch(/did not match/);
    }
    // A checkbox answer does not fit the form: no approval (in mode auto the model gets a token to ask with).
    const ticked = await server({}, () => ({ action: "accept", content: { confirm: true } }));
    expect(structured(await ticked.call(ERASE, CRITERIA)).status).not.toBe("running");
    const declined = await server({}, () => ({ action: "decline" }));
    expect(structured(await declined.call(ERASE, CRITERIA)).status).toBe("cancelled");
    expect(h.deletes()).toHaveLength(0);
    expect(structured(await declined.call(GET, {})).jobs).toEqual([]);
  });

  it("the token works with the same addresses in another order, and with a number typed with spaces: the same criteria", async () => {
    const c = await server({ VCC_CONFIRMATION: "token" });
    const { connectFrom: _one, ...rest } = CRITERIA;
    const typed = await c.call(ERASE, { ...rest, party: ["+44 1632 960101", "01632960101"] });
    // The approval says the number was searched in its stored form.
    expect(textOf(typed)).toContain("'+44 1632 960101' was searched as +441632960101");
    const asked = structured(await c.call(ERASE, { ...rest, party: ["+441632960101", "01632960101"] }));
    expect(asked.status).toBe("confirmation_required");
    expect(asked.plan.items).toBe(12);
    const started = structured(
      await c.call(ERASE, { ...rest, party: ["01632960101", "+44 1632 960101"], confirmationToken: asked.confirmationToken }),
    );
    expect(started.jobId).toEqual(expect.any(String));
    expect((await settled(c, started.jobId)).status).toBe("completed");
    expect(h.deletes()).toHaveLength(12);
  });

  it("the token path: the token carries the exact plan; content added after planning is untouched; verify lists it", async () => {
    const c = await server({ VCC_CONFIRMATION: "token" });
    const asked = structured(await c.call(ERASE, { ...CRITERIA, verify: true }));
    expect(asked.status).toBe("confirmation_required");
    expect(asked.plan.items).toBe(12);
    expect(h.deletes()).toHaveLength(0);
    const [first] = simItems(h.sim, generated);
    const later = {
      contentKey: "f0f0f0f0-0000-4000-8000-000000000009",
      type: "voicemail",
      contentType: "audio/wav",
      contentLength: 10,
      lastModified: "2026-12-01T00:00:00.000Z",
    };
    addContent(h.sim, first?.guid ?? "", later);

    // Other criteria cannot use the token.
    const other = await c.call(ERASE, { ...CRITERIA, contentTypes: ["callRecording"], confirmationToken: asked.confirmationToken });
    expect(structured(other).error?.code).toBe("confirmation_invalid");
    // verify was asked for when planning: the token carries it.
    const started = structured(await c.call(ERASE, { ...CRITERIA, confirmationToken: asked.confirmationToken }));
    expect(started.status).toBe("running");
    const job = await settled(c, started.jobId);
    expect(job.status).toBe("completed");
    expect(job.approval.method).toBe("token");
    expect(h.deletes()).toHaveLength(12);
    expect(h.sim.holds(first?.guid ?? "", later.contentKey)).toBe(true);
    await vi.waitFor(async () => expect(structured(await c.call(GET, { jobId: started.jobId })).job.verification?.status).toBe("done"), {
      timeout: 10_000,
      interval: 20,
    });
    const verified = await c.call(GET, { jobId: started.jobId });
    expect(structured(verified).job.verification.stillMatching).toEqual([
      { guid: first?.guid, contentKey: later.contentKey, type: "voicemail", interactionStart: "2026-11-20T10:00:00.000Z", inPlan: false },
    ]);
    expect(textOf(verified)).toContain("1 item(s) still match");
    // Used once. A repeated call (a client's retry) is told which job the token started, not "nothing was deleted".
    const again = await c.call(ERASE, { ...CRITERIA, confirmationToken: asked.confirmationToken });
    expect(structured(again)).toMatchObject({ status: "error", jobId: started.jobId, error: { code: "confirmation_invalid" } });
    expect(textOf(again)).toContain(`it started erasure job ${started.jobId}, now completed`);
    expect(textOf(again)).not.toMatch(/Nothing was deleted/);
    expect(h.deletes()).toHaveLength(12);
  });

  it("on a team server, the job, and its receipt name who asked", async () => {
    const alice = { subject: "alice", issuer: "https://idp.example", name: "Alice Adams", email: "alice@example.com" };
    const c = await h.inProcess({
      env: { VCC_DATA_DIR: data.dir(), VCC_RETRY_BASE_MS: "1", VCC_CONFIRMATION: "token" },
      caller: { identity: alice, mayDelete: true },
    });
    const asked = structured(await c.call(ERASE, CRITERIA));
    const started = structured(await c.call(ERASE, { ...CRITERIA, confirmationToken: asked.confirmationToken }));
    const job = await settled(c, started.jobId);
    expect(job.status).toBe("completed");
    const receipt = await c.client.readResource({ uri: `vcc-erasure://jobs/${started.jobId}/receipt.json` });
    const text = receipt.contents[0] && "text" in receipt.contents[0] ? receipt.contents[0].text : "";
    expect(JSON.parse(text).requester).toEqual(alice);
  });

  it("on a team server, a caller sees and acts on their own jobs only: not another person's, nor its receipt", async () => {
    const alice = { subject: "alice", issuer: "https://idp.example" };
    const bob = { subject: "bob", issuer: "https://idp.example" };
    const as = (identity: typeof alice) =>
      h.inProcess({
        env: { VCC_DATA_DIR: data.dir(), VCC_RETRY_BASE_MS: "1", VCC_CONFIRMATION: "token" },
        caller: { identity, mayDelete: true },
      });
    const a = await as(alice);
    const asked = structured(await a.call(ERASE, CRITERIA));
    const started = structured(await a.call(ERASE, { ...CRITERIA, confirmationToken: asked.confirmationToken }));
    const job = await settled(a, started.jobId);
    expect(job.status).toBe("completed");
    expect(job.requester).toEqual(alice);
    const uri = `vcc-erasure://jobs/${started.jobId}/receipt.json`;
    expect((await a.client.listResources()).resources.map((r) => r.uri)).toContain(uri);

    const b = await as(bob);
    expect(structured(await b.call(GET, {})).jobs).toEqual([]);
    expect(structured(await b.call(GET, { jobId: started.jobId })).error?.code).toBe("not_found");
    expect(structured(await b.call(CANCEL, { jobId: started.jobId })).error?.code).toBe("not_found");
    expect(structured(await b.call(RESUME, { jobId: started.jobId })).error?.code).toBe("not_found");
    expect((await b.client.listResources()).resources.map((r) => r.uri)).not.toContain(uri);
    await expect(b.client.readResource({ uri })).rejects.toThrow(/No such receipt/);
  });

  it("the approval page path: the page lists every item; the token works after the person approved there", async () => {
    const c = await server({ VCC_CONFIRMATION: "approval" });
    const asked = structured(await c.call(ERASE, CRITERIA));
    expect(asked.status).toBe("confirmation_required");
    const page = await pageRequest(asked.approvalUrl);
    for (const item of simItems(h.sim, generated)) expect(page.body).toContain(item.guid);
    // The plan's summary above the items: totals by type, the date span, the criteria.
    expect(page.body).toContain("Permanently erase 12 content item(s) of 6 interaction(s): 6 call recordings");
    expect(page.body).toContain("interactions from 2026-11-20 10:00 UTC");
    expect(page.body).toContain("+441632960101");
    await decideOnPage(asked.approvalUrl, "approve");
    // The token comes back later than the click: the job records when the person approved.
    const decided = Date.now();
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(decided + 20));
    const started = structured(await c.call(ERASE, { ...CRITERIA, confirmationToken: asked.confirmationToken }));
    expect(started.status).toBe("running");
    const job = await settled(c, started.jobId);
    expect(job).toMatchObject({ status: "completed", approval: { method: "approval" } });
    expect(Date.parse(job.approval.approvedAt)).toBeLessThanOrEqual(decided);
    expect(Date.parse(job.startedAt)).toBeGreaterThan(decided);
  });

  it("with passkeys required: no typed-count prompt; the page shows the plan and asks for the passkey; approving without one approves nothing", async () => {
    await new PasskeyStore(data.dir()).add({
      id: "AAAAAAAAAAAA-erase",
      publicKey: "pQECAyYgASFYIA",
      counter: 0,
      createdAt: "2026-12-02T10:00:00.000Z",
    });
    const seen: { schema?: unknown } = {};
    const c = await server({ VCC_APPROVAL_PASSKEY: "required" }, typing("12", seen));
    const asked = structured(await c.call(ERASE, CRITERIA));
    expect(asked.status).toBe("confirmation_required");
    expect(seen.schema).toBeUndefined(); // the person was not asked to type the count: only the page decides
    expect(asked.approvalUrl).toMatch(/^http:\/\/localhost:\d+\/approve\//);
    const page = await pageRequest(asked.approvalUrl);
    expect(page.body).toContain("Permanently erase 12 content item(s) of 6 interaction(s)");
    expect(page.body).toContain('id="passkey-status"');
    expect(page.headers["content-security-policy"]).toBe(PASSKEY_PAGE_CSP);
    const answer = await postDecision(asked.approvalUrl, { formKey: formKeyOf(page.body), decision: "approve" });
    expect(answer.body).toContain("Not approved: the passkey check failed");
    const refused = structured(await c.call(ERASE, { ...CRITERIA, confirmationToken: asked.confirmationToken }));
    expect(refused.error?.code).toBe("approval_pending");
    expect(h.deletes()).toHaveLength(0);
    expect(structured(await c.call(GET, {})).jobs).toEqual([]);
  });

  it("an explicit list of items: looked up once per interaction, missing ones left out", async () => {
    const items = simItems(h.sim, generated)
      .slice(0, 3)
      .map(({ guid, contentKey }) => ({ guid, contentKey }));
    const c = await server({}, typing("3"));
    const missing = { guid: items[0]?.guid ?? "", contentKey: "voicemail-404" };
    const started = structured(await c.call(ERASE, { items: [...items, missing] }));
    expect(started.status).toBe("running");
    expect(started.excluded).toEqual({ notAllowed: 0, notFound: 1 });
    expect((await settled(c, started.jobId)).progress.deleted).toBe(3);
    expect(h.deletes()).toHaveLength(3);
  });
});

describe("steering a job", () => {
  it("cancel stops after the item in flight; the receipt lists the rest as not attempted", async () => {
    const c = await server({}, typing("12"));
    h.sim.setStandingFault("delete-content", { latencyMs: 150 });
    const started = structured(await c.call(ERASE, CRITERIA));
    await vi.waitFor(() => expect(h.deletes().length).toBeGreaterThanOrEqual(1));
    const cancelled = await c.call(CANCEL, { jobId: started.jobId });
    expect(cancelled.isError, textOf(cancelled)).toBeFalsy();
    // Still running its item in flight: the answer says it is stopping, not how long it has left.
    if (structured(cancelled).job.status === "running") {
      expect(textOf(cancelled)).toContain("Cancelling: it stops after the item in flight, and nothing else is sent.");
      expect(textOf(cancelled)).not.toMatch(/minute\(s\) left/);
    }
    const job = await settled(c, started.jobId);
    expect(job.status).toBe("cancelled");
    const sent = h.deletes().length;
    expect(sent).toBeLessThan(12);
    const read = await c.client.readResource({ uri: job.receipt.json });
    const receipt = JSON.parse((read.contents[0] as { text: string }).text);
    expect(receipt.totals.notAttempted).toBe(12 - sent);
    expect(structured(await c.call(CANCEL, { jobId: started.jobId })).error?.code).toBe("invalid_input");
    // Its status says the rest was not attempted (not "remaining"); resuming says how to erase the rest.
    const ended = textOf(await c.call(GET, { jobId: started.jobId }));
    expect(ended).toContain(`${12 - sent} not attempted`);
    expect(ended).toContain(
      `Not known to be erased by this job: 0 failed, 0 of unknown outcome, ${12 - sent} not attempted. An ended job cannot be resumed`,
    );
    const resumed = await c.call(RESUME, { jobId: started.jobId });
    expect(structured(resumed).error?.code).toBe("invalid_input");
    expect(textOf(resumed)).toMatch(
      new RegExp(
        `is cancelled: only a paused or interrupted job can be resumed\\. ${12 - sent} approved item\\(s\\) of it were not erased \\(failed, of unknown outcome, or not attempted\\): .* call erase_interaction_content again`,
      ),
    );
  });

  it("5 deletions in a row failing with 503 pause the job; resume finishes it, sending nothing twice that got a 204", async () => {
    const c = await server({ VCC_MAX_RETRIES: "0" }, typing("12"));
    h.sim.injectFaults("delete-content", {}, {}, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 });
    const started = structured(await c.call(ERASE, CRITERIA));
    const paused = await settled(c, started.jobId);
    expect(paused.status).toBe("paused");
    expect(paused.pause.code).toBe("upstream_error");
    expect(paused.progress).toMatchObject({ deleted: 2, failed: 5 });
    expect(paused.failures.items).toHaveLength(5);
    const resumed = await c.call(RESUME, { jobId: started.jobId });
    expect(resumed.isError, textOf(resumed)).toBeFalsy();
    const job = await settled(c, started.jobId);
    expect(job.status).toBe("completed");
    const byPath = deletesByPath(h.sim);
    const statuses = [...byPath.values()].map((entries) => entries.map((e) => e.status));
    expect(statuses.filter((s) => s.join() === "204")).toHaveLength(7);
    expect(statuses.filter((s) => s.join() === "503,204")).toHaveLength(5);
  });

  it("after the approval expired, resuming is refused with how to get a new approval of what is left", async () => {
    const first = await server({ VCC_MAX_RETRIES: "0" }, typing("12"));
    h.sim.injectFaults("delete-content", {}, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 });
    const started = structured(await first.call(ERASE, CRITERIA));
    expect((await settled(first, started.jobId)).status).toBe("paused");
    // The server restarts a day and more later: the stored approval has expired.
    await closeJobServices();
    const planFile = join(data.dir(), "jobs", started.jobId, "plan.json");
    const plan = JSON.parse(await readFile(planFile, "utf8"));
    plan.approval.expiresAt = "2026-01-01T00:00:00.000Z";
    await writeFile(planFile, JSON.stringify(plan));
    const later = await server();
    const refused = await later.call(RESUME, { jobId: started.jobId });
    expect(structured(refused).error?.code).toBe("invalid_input");
    expect(textOf(refused)).toMatch(
      /expired at 2026-01-01T00:00:00.000Z.*11 approved item\(s\) were not erased.*call erase_interaction_content again/s,
    );
    expect(structured(await later.call(GET, { jobId: started.jobId })).job.resumable.ok).toBe(false);
    expect(h.deletes()).toHaveLength(6);
  });

  it("a job cancelled after its process died mid-DELETE: its status counts that item as outcome unknown, as the receipt does", async () => {
    const first = await server({ VCC_MAX_RETRIES: "0" }, typing("12"));
    h.sim.injectFaults("delete-content", {}, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 });
    const started = structured(await first.call(ERASE, CRITERIA));
    expect((await settled(first, started.jobId)).status).toBe("paused");
    await closeJobServices();
    // Then resumed by a process killed while item 6's DELETE was in flight: its journal ends as that
    // process left it (test/e2e/erase-process.test.ts kills one for real).
    const at = new Date().toISOString();
    await appendFile(
      join(data.dir(), "jobs", started.jobId, "journal.jsonl"),
      `${JSON.stringify({ at, event: "run", kind: "resume" })}\n${JSON.stringify({ at, event: "item_started", index: 6 })}\n`,
    );
    const c = await server();
    const cancelled = await c.call(CANCEL, { jobId: started.jobId });
    expect(cancelled.isError, textOf(cancelled)).toBeFalsy();
    const job = structured(cancelled).job;
    expect(job.status).toBe("cancelled");
    expect(job.progress).toEqual({ done: 1, deleted: 1, alreadyGone: 0, dryRun: 0, failed: 5, outcomeUnknown: 1, remaining: 5 });
    const read = await c.client.readResource({ uri: job.receipt.json });
    const receipt = JSON.parse((read.contents[0] as { text: string }).text);
    expect(receipt.totals).toMatchObject({ items: 12, deleted: 1, failed: 5, unknown: 1, notAttempted: 5 });
    expect(receipt.items[6]).toMatchObject({ outcome: "unknown", deleteCalls: 1 });
    for (const text of [textOf(cancelled), textOf(await c.call(GET, { jobId: started.jobId }))])
      expect(text).toContain("1 of 12 item(s) done (1 deleted, 0 already gone), 5 failed, 1 outcome unknown, 5 not attempted;");
    const listed = await c.call(GET, {});
    expect(structured(listed).jobs).toEqual([
      { jobId: started.jobId, status: "cancelled", items: 12, outcomeUnknown: 1, remaining: 5, endedAt: job.endedAt },
    ]);
    expect(textOf(listed)).toContain(`${started.jobId}: cancelled, 12 item(s), 1 outcome unknown, 5 not attempted`);
    expect(h.deletes()).toHaveLength(6);
  });

  it("resuming a job that ended with a failure it does not retry (403) says how many items were not erased and what to do", async () => {
    const c = await server({ VCC_MAX_RETRIES: "0" }, typing("12"));
    h.sim.injectFaults("delete-content", ...Array.from({ length: 11 }, () => ({})), { status: 403 });
    const started = structured(await c.call(ERASE, CRITERIA));
    expect((await settled(c, started.jobId)).status).toBe("completed_with_errors");
    const refused = structured(await c.call(RESUME, { jobId: started.jobId }));
    expect(refused.error.message).toContain(
      "only a paused or interrupted job can be resumed. 1 approved item(s) of it were not erased (failed, of unknown outcome, or not attempted): plan a new job for what is left and have it approved again.",
    );
  });

  it("resume and cancel of unknown or ended jobs are refused clearly", async () => {
    const c = await server();
    const unknown = await c.call(RESUME, { jobId: "00000000-0000-4000-8000-000000000000" });
    expect(structured(unknown).error?.code).toBe("not_found");
    expect(structured(await c.call(GET, { jobId: "nope" })).error?.code).toBe("not_found");
  });
});

describe("bad input and modes", () => {
  it("refuses unclear requests before anything is searched", async () => {
    const c = await server();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...CRITERIA, contentTypes: undefined }, /contentTypes is required/],
      [{ ...CRITERIA, items: [{ guid: simItems(h.sim, generated)[0]?.guid, contentKey: "callRecording" }] }, /not both/],
      [{ contentTypes: ["all"] }, /Give from and to/],
      [{ ...CRITERIA, contentTypes: ["all", "voicemail"] }, /either \["all"\]/],
      [{ ...CRITERIA, connectFrom: undefined }, /at least one of party/],
      [{ ...CRITERIA, to: "2026-11-20T08:00:00Z" }, /to must be after from/],
    ];
    for (const [args, message] of cases) {
      const result = await c.call(ERASE, JSON.parse(JSON.stringify(args)));
      expect(structured(result).error?.code, textOf(result)).toBe("invalid_input");
      expect(textOf(result)).toMatch(message);
    }
    // Refused by the schema: a list given as one string is told to be a list, not that it is too long.
    for (const [args, message] of [
      [{ ...CRITERIA, contentTypes: "callRecording, transcript" }, /contentTypes must be a list \(a JSON array\)/],
      [{ ...CRITERIA, connectFrom: undefined, party: "+441632960101" }, /party must be a list \(a JSON array\)/],
    ] as const) {
      const result = await c.call(ERASE, args);
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(message);
      expect(textOf(result)).not.toMatch(/characters/);
    }
    expect(h.sim.journal.filter((r) => r.route !== "token")).toHaveLength(0);
  });

  it("read-only hides erase, cancel and resume; get stays", async () => {
    const c = await server({ VCC_READ_ONLY: "true" });
    const names = (await c.client.listTools()).tools.map((t) => t.name);
    expect(names).toContain(GET);
    for (const hidden of [ERASE, CANCEL, RESUME]) expect(names).not.toContain(hidden);
  });

  it("dry run: the job goes through its plan without a DELETE", async () => {
    const c = await server({ VCC_DRY_RUN: "true" }, typing("12"));
    const started = structured(await c.call(ERASE, CRITERIA));
    expect(started.dryRun).toBe(true);
    const job = await settled(c, started.jobId);
    expect(job).toMatchObject({ status: "completed", dryRun: true, progress: { dryRun: 12 } });
    expect(h.deletes()).toHaveLength(0);
  });
});
