// Where an erasure was approved, recorded for whoever must show it afterwards: outside a team server
// the server cannot know the person, so it records what it does know: the MCP client and session that
// approved (or passed back the token) and, on stdio, the operating-system account it ran as. In the
// job, its receipt (JSON and readable) and the audit log's approval record.
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { expect, it, vi } from "vitest";
import { verifyReceipt } from "../../src/jobs/receipt.js";
import { connectHttp, startInProcessHttp } from "../helpers/http.js";
import { useJobDataDir } from "../helpers/jobs.js";
import { type Connected, SECRET_TOKEN, structured } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator({ extraInteractions: 2 });
const data = useJobDataDir();
const CRITERIA = { connectFrom: "+441632960101", from: "2026-11-20T09:00:00Z", to: "2026-11-20T11:00:00Z", contentTypes: ["all"] };

/** Polls the job until it completed; its view. */
async function completed(c: Connected, jobId: string) {
  let job: Record<string, unknown> & { approval: unknown; receipt: { json: string; markdown: string } } = {} as never;
  await vi.waitFor(
    async () => {
      job = structured(await c.call("get_erasure_job", { jobId })).job;
      expect(job.status).toBe("completed");
    },
    { timeout: 10_000, interval: 20 },
  );
  return job;
}

const readText = async (c: Connected, uri: string) => ((await c.client.readResource({ uri })).contents[0] as { text: string }).text;

it("a job approved by token on stdio: the client and the OS account are in the job, the receipt and the audit", async () => {
  const audit = `${data.dir()}-audit.jsonl`;
  const c = await h.inProcess({ env: { VCC_DATA_DIR: data.dir(), VCC_CONFIRMATION: "token", VCC_AUDIT_LOG: audit } });
  const asked = structured(await c.call("erase_interaction_content", CRITERIA));
  const started = structured(await c.call("erase_interaction_content", { ...CRITERIA, confirmationToken: asked.confirmationToken }));
  const me = userInfo().username;
  const via = { client: { name: "e2e-test-client", version: "1.0.0" }, osUser: me };

  const job = await completed(c, started.jobId);
  expect(job.approval).toMatchObject({ method: "token", via });

  const receipt = JSON.parse(await readText(c, job.receipt.json));
  expect(receipt.approval.via).toEqual(via);
  expect(verifyReceipt(JSON.stringify(receipt))).toBe(true);
  expect(await readText(c, job.receipt.markdown)).toMatch(
    new RegExp(`- Approved: \\S+ by a confirmation token, in e2e-test-client 1\\.0\\.0, the server running as OS user ${me};`),
  );

  const records = readFileSync(audit, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const approval = records.find((r) => r.action === "approval" && r.jobId === started.jobId);
  expect(approval).toMatchObject({ confirmation: "token", outcome: "approved", client: via.client, osUser: me });
  // Every record of this stdio server names the account; the token's issue names the client too.
  expect(records.every((r) => r.osUser === me)).toBe(true);
});

it("over HTTP: the session is recorded, and no OS account (the server's says nothing of the person)", async () => {
  const server = await startInProcessHttp({
    env: {
      VCC_ACCESS_TOKEN: SECRET_TOKEN,
      VCC_API_BASE_URL: h.sim.apiBaseUrl,
      VCC_DATA_DIR: data.dir(),
      VCC_CONFIRMATION: "token",
    },
  });
  try {
    const c = await connectHttp(server);
    const asked = structured(await c.call("erase_interaction_content", CRITERIA));
    const started = structured(await c.call("erase_interaction_content", { ...CRITERIA, confirmationToken: asked.confirmationToken }));
    const job = await completed(c, started.jobId);
    const sessionId = c.transport.sessionId;
    expect(sessionId).toEqual(expect.any(String));
    expect((job.approval as { via: unknown }).via).toEqual({ client: { name: "e2e-test-client", version: "1.0.0" }, sessionId });
    expect(await readText(c, job.receipt.markdown)).toContain(
      `by a confirmation token, in e2e-test-client 1.0.0, MCP session ${sessionId};`,
    );
    await c.close();
  } finally {
    await server.stop();
  }
});
