// The audit log of a bulk deletion: the person's approval of every item is on disk before the first
// DELETE is sent, so that whatever happens next (a crash mid-set) the log holds all of it; the items
// then go in order, each with its deletion record after its DELETE.
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it, vi } from "vitest";
import { SEED, SEED_ITEM_KEYS } from "../../src/simulator/seed.js";
import { structured } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator();
const ITEMS = [
  { guid: SEED.inboundCall, contentKey: "callRecording" },
  { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail },
  { guid: SEED.screenRecording, contentKey: SEED_ITEM_KEYS.screenRecording },
];

const records = (path: string) =>
  existsSync(path)
    ? readFileSync(path, "utf8")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { event: string; outcome: string; contentKey: string })
    : [];

it("every item's approval is recorded before the first DELETE; each deletion after its own DELETE, in order", async () => {
  const audit = join(mkdtempSync(join(tmpdir(), "vcc-bulk-audit-")), "audit.jsonl");
  const c = await h.inProcess({ env: { VCC_CONFIRMATION: "token", VCC_AUDIT_LOG: audit } });
  const asked = structured(await c.call("bulk_delete_interaction_content", { items: ITEMS }));
  // The first DELETE is held at the API until released.
  h.sim.injectFaults("delete-content", { hold: true });
  const done = c.call("bulk_delete_interaction_content", { items: ITEMS, confirmationToken: asked.confirmationToken });
  await vi.waitFor(() => expect(h.sim.requests("DELETE").length).toBeGreaterThan(0), {
    timeout: 10_000,
    interval: 10,
  });
  const whileHeld = records(audit).filter((r) => r.event !== "confirmation_requested");
  expect(whileHeld.map((r) => `${r.event}:${r.outcome}:${r.contentKey}`)).toEqual(ITEMS.map((i) => `decision:confirmed:${i.contentKey}`));
  h.sim.release();
  expect(structured(await done)).toMatchObject({ status: "deleted", deleted: 3 });
  expect(
    records(audit)
      .filter((r) => r.event === "deletion")
      .map((r) => `${r.outcome}:${r.contentKey}`),
  ).toEqual(ITEMS.map((i) => `deleted:${i.contentKey}`));
});
