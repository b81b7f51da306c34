#!/usr/bin/env node
// npm run demo: the whole product in a minute, with no credentials. Starts the server in sandbox mode
// over stdio, drives it with the MCP SDK client the way an assistant would, and prints each step.
// Exits non-zero if any step does not behave as described (CI runs it as a smoke test).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const entry = join(root, Object.values(pkg.bin)[0]);
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = (t) => paint("1", t);
const dim = (t) => paint("2", t);
const cyan = (t) => paint("36", t);
const green = (t) => paint("32", t);
const red = (t) => paint("31", t);

if (!existsSync(entry)) {
  console.log(dim("Building the server first (npm run build)…"));
  const build = spawnSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "inherit" });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const GUID = "5f1c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f11"; // the sandbox's sample inbound call
let failures = 0;

async function start(name, elicit) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [entry, "--sandbox"],
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? root },
    stderr: "pipe",
    cwd: root,
  });
  const client = new Client({ name, version: "1.0.0" }, { capabilities: elicit ? { elicitation: { form: {} } } : {} });
  if (elicit) client.setRequestHandler(ElicitRequestSchema, async (request) => elicit(request.params));
  await client.connect(transport);
  // As real clients do: with the tools listed, the SDK validates every structuredContent against its outputSchema.
  await client.listTools();
  return client;
}

function indent(text, prefix = "    ") {
  return text
    .split("\n")
    .map((line) => prefix + line)
    .join("\n");
}

async function step(number, title, client, args, expectStatus, tool = "delete_interaction_content") {
  console.log(`\n${bold(`${number}. ${title}`)}`);
  console.log(`${cyan("  assistant →")} ${tool} ${JSON.stringify(args)}`);
  const result = await client.callTool({ name: tool, arguments: args });
  const text = result.content?.find((c) => c.type === "text")?.text ?? "";
  const status = result.structuredContent?.status ?? (result.isError ? "error" : "ok");
  const code = result.structuredContent?.error?.code;
  console.log(
    `${cyan("  server    →")} ${result.isError ? red("isError") : green("ok")}  status=${bold(status)}${code ? `  error.code=${bold(code)}` : ""}`,
  );
  console.log(dim(indent(text)));
  const ok = typeof expectStatus === "function" ? expectStatus(result) : status === expectStatus;
  if (!ok) {
    failures++;
    console.log(red(`  ✗ expected ${typeof expectStatus === "function" ? "a different result" : expectStatus}`));
  }
  return result;
}

/** The person's click on the approval page, sent as the browser would send the page's own form. */
async function approveOnPage(url) {
  if (typeof url !== "string") return false;
  const page = await fetch(url);
  const formKey = /name="formKey" value="([^"]+)"/.exec(await page.text())?.[1];
  if (!formKey) return false;
  const posted = await fetch(url, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(url).origin, referer: url },
    body: new URLSearchParams({ formKey, decision: "approve" }),
  });
  return posted.status === 303;
}

console.log(bold("VCC Interaction Content MCP server — demo (sandbox: a local simulator with sample data)"));

let typedCount;
// The three clients' servers start together (each ~0.3 s, independent: a sandbox of its own per process).
const [assistant, withPrompts, eraser] = await Promise.all([
  start("demo-assistant-without-prompts"),
  start("demo-assistant-with-prompts", (params) => {
    console.log(`${paint("35", "  prompt to the person →")} ${params.message}`);
    console.log(`${paint("35", "  the person           →")} declines`);
    return { action: "decline" };
  }),
  start("demo-assistant-erasure", (params) => {
    const summary = params.message.split("\n").slice(0, 4).join("\n");
    console.log(`${paint("35", "  prompt to the person →")} ${summary}\n${paint("35", "                         …")}`);
    typedCount = /type the number of items: (\d+)/.exec(params.message)?.[1];
    console.log(`${paint("35", "  the person types     →")} ${typedCount}`);
    return { action: "accept", content: { count: typedCount } };
  }),
]);
console.log(
  dim(`\nClient 1 cannot show confirmation prompts, like many chat apps: the server asks the person on its approval page instead.`),
);
console.log(dim(`\n  (The user: "Delete every call recording and transcript of the customer on +44 1632 960101 since May.")`));
await step(
  1,
  "Find the customer's interactions: both stored formats of the number, either side of the call",
  assistant,
  { from: "2026-05-01", to: "2026-11-30", party: ["+441632960101", "01632960101"], maxResults: 5 },
  (r) => !r.isError && r.structuredContent?.interactions?.length === 5 && typeof r.structuredContent?.cursor === "string",
  "search_interactions",
);
console.log(dim(`\n  (The assistant continues with the cursor until complete is true, shows the person what was found, then deletes.)`));
await step(
  2,
  "List what the interaction holds",
  assistant,
  { guid: GUID },
  (r) => !r.isError && r.structuredContent?.content?.length > 0,
  "list_interaction_content",
);
const asked = await step(
  3,
  "Ask to delete the call recording: the server wants a person's agreement first",
  assistant,
  { guid: GUID, contentKey: "callRecording" },
  "confirmation_required",
);
const approvalUrl = asked.structuredContent?.approvalUrl;
console.log(dim(`\n  (The assistant shows the user the link; the user opens it and chooses Delete permanently.)`));
const decided = await approveOnPage(approvalUrl);
console.log(
  `${cyan("  person    →")} ${approvalUrl ? `approval page: ${decided ? green("approved") : red("not approved")}` : red("no approval page")}`,
);
if (!decided) failures++;
const token = asked.structuredContent?.confirmationToken;
await step(
  4,
  "Call again with the token, now approved on the page: the API answers 204",
  assistant,
  { guid: GUID, contentKey: "callRecording", confirmationToken: token },
  "deleted",
);
await step(
  5,
  "Delete it again: it is already gone",
  assistant,
  { guid: GUID, contentKey: "callRecording" },
  (r) => r.structuredContent?.error?.code === "not_found",
);
await step(
  6,
  "Reuse the spent token: refused, nothing sent",
  assistant,
  { guid: GUID, contentKey: "callRecording", confirmationToken: token },
  (r) => r.structuredContent?.error?.code === "confirmation_invalid",
);
await step(
  7,
  "An invalid content key ('..' would address the whole interaction): refused before anything is sent",
  assistant,
  { guid: GUID, contentKey: ".." },
  (r) => r.isError === true,
);
await assistant.close();

console.log(dim(`\nClient 2 can show prompts (elicitation): the person answers directly — here they decline.`));
await step(8, "Ask to delete the transcript; the person declines", withPrompts, { guid: GUID, contentKey: "transcript" }, "cancelled");
await withPrompts.close();

console.log(dim(`\nClient 3 erases everything a search finds as a background job, with one approval.`));
console.log(dim(`\n  (The user: "Erase every call recording and voicemail of the caller on +44 1632 960101 since May.")`));
const erasure = await step(
  9,
  "Erase what a search finds: the server plans the whole search, the person approves by typing the number of items",
  eraser,
  { from: "2026-05-01", to: "2026-11-30", party: ["+441632960101", "01632960101"], contentTypes: ["callRecording", "voicemail"] },
  (r) => r.structuredContent?.status === "running" && String(r.structuredContent?.plan?.items) === typedCount,
  "erase_interaction_content",
);
const jobId = erasure.structuredContent?.jobId;
console.log(`\n${bold("10. Watch the job (get_erasure_job)")}`);
let job;
// Polled soon at first (the sandbox's job takes a fraction of a second), then every 200 ms: 2 minutes at most.
for (let polls = 0, interval = 25; polls < 600; polls++, interval = Math.min(interval * 2, 200)) {
  const result = await eraser.callTool({ name: "get_erasure_job", arguments: { jobId } });
  job = result.structuredContent?.job;
  console.log(dim(`    ${job?.status}: ${job?.progress?.done} of ${job?.totals?.items} done, ${job?.progress?.remaining} remaining`));
  if (job?.status !== "running") break;
  await new Promise((resolve) => setTimeout(resolve, interval));
}
if (job?.status !== "completed") {
  failures++;
  console.log(red(`  ✗ expected the job to complete, it is ${job?.status}`));
}
console.log(`\n${bold("11. Read the receipt (an MCP resource)")}`);
console.log(`${cyan("  assistant →")} resources/read ${job?.receipt?.markdown}`);
const receipt = await eraser.readResource({ uri: job?.receipt?.markdown ?? "" }).catch(() => undefined);
const receiptText = receipt?.contents?.[0]?.text ?? "";
if (!receiptText.includes(job?.receipt?.sha256 ?? "no receipt")) {
  failures++;
  console.log(red("  ✗ expected the receipt with its SHA-256"));
}
console.log(dim(indent(receiptText.split("\n").slice(0, 24).join("\n"))));
await eraser.close();

if (failures > 0) {
  console.log(red(`\n${failures} step(s) did not behave as expected.`));
  process.exit(1);
}
console.log(green(`\nDemo complete: every step behaved as described.`));
console.log(
  `Next: add the server to your MCP client with --sandbox to try it in a conversation (see README), or run the tests with ${bold("npm test")}.`,
);
