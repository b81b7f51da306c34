// A dry run (VCC_DRY_RUN=true) deletes nothing, and what the person and the assistant read says so:
// the question and the prompt (not "permanently … cannot be undone"), the approval page, and the
// verification after a dry-run job (its items still match because nothing was deleted, not because
// they failed).
import { expect, it, vi } from "vitest";
import { SEED, SEED_ITEM_KEYS } from "../../src/simulator/seed.js";
import { pageRequest } from "../helpers/approval-page.js";
import { useJobDataDir } from "../helpers/jobs.js";
import { structured, textOf } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator({ extraInteractions: 2 });
const data = useJobDataDir();
const CRITERIA = { connectFrom: "+441632960101", from: "2026-11-20T09:00:00Z", to: "2026-11-20T11:00:00Z", contentTypes: ["all"] };
const ITEMS = [
  { guid: SEED.inboundCall, contentKey: "callRecording" },
  { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail },
];

it("an erasure: the prompt asks to rehearse, and the verification says the items are there because nothing was deleted", async () => {
  const seen: { message?: string; schema?: unknown }[] = [];
  const c = await h.inProcess({
    env: { VCC_DATA_DIR: data.dir(), VCC_DRY_RUN: "true" },
    elicit: (params) => {
      seen.push({ message: params.message, schema: params.requestedSchema });
      return { action: "accept", content: { count: "4" } };
    },
  });
  const started = structured(await c.call("erase_interaction_content", { ...CRITERIA, verify: true }));
  expect(started.dryRun).toBe(true);
  expect(seen[0]?.message).toMatch(
    /^DRY RUN \(VCC_DRY_RUN=true\): nothing will be deleted, only recorded as what would have been\. Rehearse: erase 4 content item\(s\)/,
  );
  expect(seen[0]?.message).not.toMatch(/Permanently|cannot be undone/);
  expect(JSON.stringify(seen[0]?.schema)).toContain("rehearse deleting all 4 items (dry run)");
  expect(JSON.stringify(seen[0]?.schema)).not.toContain("cannot be undone");
  let text = "";
  await vi.waitFor(
    async () => {
      const got = await c.call("get_erasure_job", { jobId: started.jobId });
      expect(structured(got).job.verification?.status).toBe("done");
      text = textOf(got);
    },
    { timeout: 10_000, interval: 20 },
  );
  expect(text).toContain("4 of the approved plan (a dry run deletes nothing)");
  expect(text).not.toContain("failed, or outcome unknown");
  expect(h.deletes()).toHaveLength(0);
});

it("a bulk deletion: the question the assistant shows and the approval page say that nothing will be deleted", async () => {
  const c = await h.inProcess({ env: { VCC_DRY_RUN: "true", VCC_CONFIRMATION: "approval" } });
  const asked = await c.call("bulk_delete_interaction_content", { items: ITEMS });
  expect(structured(asked).status).toBe("confirmation_required");
  expect(textOf(asked)).toContain(
    "DRY RUN (VCC_DRY_RUN=true): nothing will be deleted, only recorded as what would have been. Rehearse: delete these 2 items?",
  );
  expect(textOf(asked)).not.toContain("Permanently delete these");
  const page = await pageRequest(structured(asked).approvalUrl);
  expect(page.body).toContain("DRY RUN (VCC_DRY_RUN=true): nothing will be deleted");
  // The page's own words too: no "cannot be undone", no "Delete permanently".
  expect(page.body).toContain("<h1>Rehearse deleting these 2 content files? (dry run)</h1>");
  expect(page.body).toContain("nothing will be deleted; the server only records what it would have deleted.");
  expect(page.body).toContain(">Approve the dry run</button>");
  expect(page.body).not.toMatch(/cannot be undone|Delete permanently/);
});

it("one deletion approved on the page: the result and the 'not approved yet' answer say what the page says", async () => {
  const c = await h.inProcess({ env: { VCC_DRY_RUN: "true", VCC_CONFIRMATION: "approval" } });
  const item = { guid: SEED.inboundCall, contentKey: "callRecording" };
  const asked = await c.call("delete_interaction_content", item);
  expect(textOf(asked)).toContain("DRY RUN (VCC_DRY_RUN=true): nothing will be deleted; this rehearses deleting");
  expect(textOf(asked)).not.toMatch(/PERMANENTLY|cannot be undone/);
  const pending = await c.call("delete_interaction_content", { ...item, confirmationToken: structured(asked).confirmationToken });
  expect(structured(pending).error.code).toBe("approval_pending");
  expect(textOf(pending)).toContain("approve or cancel there");
  expect(textOf(pending)).not.toContain("Delete permanently");
});
