// delete_interaction_contents: many deletions with ONE confirmation, carried out strictly one at a
// time (VCC asks for deletions one by one), each reported on its own.
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { shuttingDown, trackDeletion } from "../lifecycle.js";
import type { VccClient } from "../vcc/client.js";
import type { ToolError } from "../vcc/errors.js";
import { contentKeySchema, guidSchema } from "../vcc/ids.js";
import { DELETE_SCOPE } from "../vcc/scopes.js";
import type { ToolContext } from "./context.js";
import { AUDIT_FAILED, auditItem, type PreparedItem, performDeletion, prepareFromLookup } from "./deletion.js";
import { type InteractionLookup, lookupInteraction } from "./lookup.js";
import { progressFor } from "./progress.js";
import {
  approvalText,
  approvalUrlSchema,
  confirmationTokenSchema,
  errorText,
  previewSchema,
  sandboxSchema,
  toolErrorSchema,
  toolResult,
} from "./results.js";

export const BULK_DELETE_TOOL_NAME = "delete_interaction_contents";
const MAX_ITEMS = 100;

const itemKey = (i: { guid: string; contentKey: string }) => `${i.guid.toLowerCase()}:${i.contentKey.toLowerCase()}`;

const inputSchema = z
  .object({
    items: z
      .array(z.object({ guid: guidSchema, contentKey: contentKeySchema }).strict())
      .min(1, { message: "items must list at least one {guid, contentKey} pair" })
      .max(MAX_ITEMS, { message: `items may list at most ${MAX_ITEMS} pairs; split larger requests` })
      .superRefine((items, ctx) => {
        const seen = new Set<string>();
        items.forEach((item, index) => {
          const key = itemKey(item);
          if (seen.has(key))
            ctx.addIssue({
              code: "custom",
              path: [index],
              message: `duplicate item: ${item.guid} / ${item.contentKey} is listed more than once`,
            });
          seen.add(key);
        });
      })
      .describe("The content items to delete, 1-100 {guid, contentKey} pairs, no duplicates."),
    confirmationToken: confirmationTokenSchema("with the same items (any order)"),
  })
  .strict();

const itemStatus = z.enum(["pending", "deleted", "dry_run", "cancelled", "not_attempted", "error"]);
const outputSchema = z.object({
  status: z.enum(["deleted", "partial", "confirmation_required", "cancelled", "dry_run", "error"]),
  results: z.array(
    z.object({
      guid: z.string(),
      contentKey: z.string(),
      status: itemStatus,
      httpStatus: z.number().int().optional(),
      verifiedByAbsence: z
        .boolean()
        .optional()
        .describe(
          "With status deleted: an earlier attempt got no answer and a retry found the content gone (404), confirming the deletion.",
        ),
      preview: previewSchema.optional(),
      error: toolErrorSchema.optional(),
    }),
  ),
  deleted: z.number().int().describe("How many items were deleted."),
  failed: z.number().int().describe("How many items ended in an error or were not attempted."),
  confirmationToken: z.string().optional(),
  expiresAt: z.string().optional(),
  approvalUrl: approvalUrlSchema,
  error: toolErrorSchema.optional().describe("Why the whole request was refused, when it was."),
  sandbox: sandboxSchema,
});

type ItemResult = z.infer<typeof outputSchema>["results"][number];

const DESCRIPTION = `Permanently delete SEVERAL content files of Vonage Contact Center interactions (e.g. every recording named in an erasure request) with ONE confirmation by a person. Deletion cannot be undone.

items: 1-100 {guid, contentKey} pairs (same rules as delete_interaction_content; no duplicates). Items that are already gone are reported as not_found and left out of the confirmation; if any item is of a kind the administrator does not allow, the whole request is refused.

Confirmation works as for delete_interaction_content: a prompt listing every item, or status confirmation_required with one confirmationToken for exactly this set of items (any order) — ask the user, and only if they clearly agree call again with the same items and the token. Deletions then run strictly one at a time (the API rate-limits concurrent deletions); each item is reported on its own, and one failure never stops the others. If the result also has an approvalUrl, the person must approve on that page first: show them the link and call again with the token only after they say they decided there.`;

export function registerDeleteInteractionContentsTool(server: McpServer, context: ToolContext): void {
  server.registerTool(
    BULK_DELETE_TOOL_NAME,
    {
      title: "Delete several interaction contents (permanent)",
      description: DESCRIPTION,
      inputSchema,
      outputSchema,
      annotations: {
        title: "Delete several interaction contents (permanent)",
        destructiveHint: true,
        idempotentHint: true,
        readOnlyHint: false,
        openWorldHint: true,
      },
    },
    async ({ items, confirmationToken }, extra) => {
      const sessionId = extra.sessionId;
      const respond = (
        structured: Omit<z.infer<typeof outputSchema>, "deleted" | "failed">,
        text: string,
        isError = false,
      ): CallToolResult => {
        const deleted = structured.results.filter((r) => r.status === "deleted").length;
        const failed = structured.results.filter((r) => r.status === "error" || r.status === "not_attempted").length;
        return toolResult({ ...structured, deleted, failed }, text, { isError, sandbox: context.config.sandbox });
      };
      const refuseAll = (
        error: ToolError,
        results: ItemResult[] = items.map((i) => ({ ...i, status: "not_attempted" as const })),
        approvalUrl?: string,
      ) => respond({ status: "error", results, error, ...(approvalUrl ? { approvalUrl } : {}) }, errorText(error), true);

      const configured = await context.api(extra.signal, DELETE_SCOPE);
      if (!configured.ok) return refuseAll(configured.error);
      const client = configured.client;

      // Every item's outcome, in the order the items were given.
      const results = new Map<string, ItemResult>(items.map((i) => [itemKey(i), { ...i, status: "pending" }]));
      const binding = `bulk:${items
        .map((i) => `${i.guid.toLowerCase()}:${i.contentKey}`)
        .sort()
        .join("|")}`;

      let plan: PreparedItem[];
      if (confirmationToken === undefined) {
        const prepared = await prepareAll(context, client, items, extra.signal);
        // The API refused the credentials (401): nobody is asked.
        const unauthorized = prepared.find((p) => !p.result.ok && p.result.error.code === "unauthorized")?.result;
        if (unauthorized && !unauthorized.ok) return refuseAll(unauthorized.error);
        const notAllowed = prepared.filter((p) => !p.result.ok && p.result.error.code === "not_allowed");
        if (notAllowed.length > 0) {
          for (const p of prepared) {
            const r = results.get(itemKey(p));
            if (r) Object.assign(r, p.result.ok ? { status: "not_attempted" } : { status: "error", error: p.result.error });
          }
          for (const p of notAllowed)
            await auditItem(
              context,
              BULK_DELETE_TOOL_NAME,
              p,
              { event: "decision", outcome: "refused", errorCode: "not_allowed" },
              sessionId,
            );
          return refuseAll(
            {
              code: "not_allowed",
              message: `${notAllowed.length} of the items are of a kind this server does not delete (VCC_ALLOWED_CONTENT_KEYS), so nothing was deleted and no confirmation was asked. Remove them (see results) and call again, or ask the administrator.`,
            },
            [...results.values()],
          );
        }
        plan = [];
        for (const p of prepared) {
          if (p.result.ok) plan.push(p.result.prepared);
          else
            Object.assign(results.get(itemKey(p)) ?? {}, {
              status: "error",
              error: p.result.error,
              ...(p.result.error.httpStatus ? { httpStatus: p.result.error.httpStatus } : {}),
            });
        }
        for (const p of plan) if (p.item.preview) Object.assign(results.get(itemKey(p.item)) ?? {}, { preview: p.item.preview });
        if (plan.length === 0)
          return respond(
            { status: "error", results: [...results.values()] },
            "None of the items exists any more, so nothing was deleted and no confirmation was asked. See results.",
            true,
          );
      } else {
        plan = [];
      }

      const decision = await context.confirmer.decide({
        binding,
        items: plan.map((p) => p.item),
        question: question(
          plan,
          [...results.values()].filter((r) => r.status === "error"),
        ),
        token: confirmationToken,
        // Which items the person was asked about: only those are deleted when the token comes back.
        payload: plan.map((p) => itemKey(p.item)),
        signal: extra.signal,
        relatedRequestId: extra.requestId,
      });

      switch (decision.kind) {
        case "refused":
          for (const i of items)
            await auditItem(
              context,
              BULK_DELETE_TOOL_NAME,
              i,
              { event: "decision", outcome: "refused", errorCode: decision.error.code },
              sessionId,
            );
          return refuseAll(decision.error, undefined, decision.approvalUrl);
        case "declined": {
          const onPage = decision.method === "approval";
          // With a token, the plan is not rebuilt: record the refusal against the items named.
          for (const p of plan.length > 0 ? plan.map((q) => q.item) : items)
            await auditItem(
              context,
              BULK_DELETE_TOOL_NAME,
              p,
              {
                event: "decision",
                confirmation: decision.method,
                outcome: decision.action === "cancel" ? "cancelled" : "declined",
              },
              sessionId,
            );
          for (const r of results.values()) if (r.status === "pending") r.status = "cancelled";
          return respond(
            { status: "cancelled", results: [...results.values()] },
            `${onPage ? "The person chose Cancel on the approval page" : "The user did not confirm"}: nothing was deleted. Do not try again unless the user asks again.`,
          );
        }
        case "token_issued": {
          const { approvalUrl } = decision;
          for (const p of plan) {
            const failure = await auditItem(
              context,
              BULK_DELETE_TOOL_NAME,
              p.item,
              { event: "confirmation_requested", confirmation: approvalUrl ? "approval" : "token", outcome: "token_issued" },
              sessionId,
            );
            if (failure) return refuseAll(AUDIT_FAILED(failure));
          }
          const callAgain = `call ${BULK_DELETE_TOOL_NAME} again with the same items`;
          return respond(
            {
              status: "confirmation_required",
              results: [...results.values()],
              confirmationToken: decision.token,
              expiresAt: decision.expiresAt.toISOString(),
              ...(approvalUrl ? { approvalUrl } : {}),
            },
            `${approvalUrl ? "Approval" : "Confirmation"} required: nothing has been deleted yet. ${question(
              plan,
              [...results.values()].filter((r) => r.status === "error"),
            )}\n\n${
              approvalUrl
                ? approvalText(decision, callAgain)
                : `Ask the user in the conversation whether to delete all of these. Only if they clearly agree, ${callAgain} and confirmationToken "${decision.token}" (single use, expires ${decision.expiresAt.toISOString()}). If they decline, do not call again.`
            }`,
          );
        }
        case "approved":
          break;
      }

      // With a token, the plan is what the person was asked about when it was issued.
      let planKeys: Set<string>;
      if (decision.method !== "elicitation") {
        planKeys = new Set(Array.isArray(decision.payload) ? decision.payload.map(String) : []);
        for (const r of results.values())
          if (!planKeys.has(itemKey(r)))
            Object.assign(r, {
              status: "error",
              error: {
                code: "not_found",
                message:
                  "This item was not found when the deletion was confirmed, so it was not part of what the user approved; it was not attempted.",
              },
            });
      } else {
        planKeys = new Set(plan.map((p) => itemKey(p.item)));
      }
      const todo = items.filter((i) => planKeys.has(itemKey(i)));

      const progress = progressFor(extra, todo.length);
      // Tracked as one: shutting down lets the item in flight finish, starts no other, and reports.
      return trackDeletion(async () => {
        let stopped = false;
        for (const [index, item] of todo.entries()) {
          const r = results.get(itemKey(item));
          if (!r) continue;
          if (extra.signal.aborted || shuttingDown.aborted) {
            stopped = true;
            r.status = "not_attempted";
            continue;
          }
          // Sent before each item rather than after: a notification written just before the final
          // result can be dropped by clients that handle results before queued notifications.
          await progress?.step(index, `Deleting ${index + 1} of ${todo.length}: ${item.guid} / ${item.contentKey}`);
          const outcome = await performDeletion(context, client, BULK_DELETE_TOOL_NAME, item, decision, {
            signal: extra.signal,
            sessionId,
            onWait: progress?.onWait(index),
          });
          if (outcome.status === "deleted")
            Object.assign(r, {
              status: "deleted",
              httpStatus: outcome.httpStatus,
              ...(outcome.verifiedByAbsence ? { verifiedByAbsence: true } : {}),
            });
          else if (outcome.status === "dry_run") r.status = "dry_run";
          else
            Object.assign(r, {
              status: "error",
              error: outcome.error,
              ...(outcome.error.httpStatus !== undefined ? { httpStatus: outcome.error.httpStatus } : {}),
            });
        }
        // The token is used up by this call, even if no DELETE went out (e.g. cancelled at once).
        if (decision.method !== "elicitation") decision.claim.spend();

        return summarize([...results.values()], stopped, context.config.dryRun, respond);
      });
    },
  );
}

async function prepareAll(context: ToolContext, client: VccClient, items: { guid: string; contentKey: string }[], signal: AbortSignal) {
  // One lookup per interaction, one at a time.
  const lookups = new Map<string, InteractionLookup>();
  const prepared: { guid: string; contentKey: string; result: ReturnType<typeof prepareFromLookup> }[] = [];
  for (const item of items) {
    const id = item.guid.toLowerCase();
    // After a refusal (401), no further lookup: every item gets the same answer.
    let lookup = [...lookups.values()].find((l) => l.kind === "refused") ?? lookups.get(id);
    if (!lookup) {
      lookup = await lookupInteraction(client, item.guid, signal);
      lookups.set(id, lookup);
    }
    prepared.push({ ...item, result: prepareFromLookup(context, lookup, item.guid, item.contentKey) });
  }
  return prepared;
}

function question(plan: PreparedItem[], absent: ItemResult[]): string {
  const lines = [`Permanently delete these ${plan.length} item${plan.length === 1 ? "" : "s"}? This cannot be undone.`];
  plan.forEach((p, i) => {
    lines.push(`${i + 1}. ${p.description}`);
  });
  if (absent.length > 0) lines.push(`Not found, so not included: ${absent.map((a) => `${a.guid} / ${a.contentKey}`).join("; ")}.`);
  return lines.join("\n");
}

function summarize(
  results: ItemResult[],
  stopped: boolean,
  dryRun: boolean,
  respond: (s: Omit<z.infer<typeof outputSchema>, "deleted" | "failed">, text: string, isError?: boolean) => CallToolResult,
): CallToolResult {
  const count = (status: ItemResult["status"]) => results.filter((r) => r.status === status).length;
  const deleted = count("deleted");
  const failed = count("error");
  const skipped = count("not_attempted");
  const lines = results.map(
    (r) =>
      `- ${r.guid} / ${r.contentKey}: ${r.status}${r.httpStatus ? ` (HTTP ${r.httpStatus})` : ""}${r.verifiedByAbsence ? " — confirmed by the content's absence after an attempt whose answer was lost" : ""}${r.error ? ` — ${r.error.code}: ${r.error.message}` : ""}`,
  );
  if (dryRun && count("dry_run") > 0)
    return respond(
      { status: "dry_run", results },
      `Dry run (VCC_DRY_RUN=true): the person confirmed; ${count("dry_run")} item(s) would have been deleted. Nothing was sent to the API.\n${lines.join("\n")}`,
    );
  const head = stopped
    ? `Stopped part-way (the call was cancelled, or the server is shutting down): ${deleted} deleted, ${failed} failed, ${skipped} not attempted.`
    : `${deleted} of ${results.length} item(s) deleted${failed ? `, ${failed} failed` : ""}${skipped ? `, ${skipped} not attempted` : ""}.`;
  const status = failed + skipped === 0 ? "deleted" : deleted > 0 ? "partial" : "error";
  return respond({ status, results }, `${head} Deletions cannot be undone.\n${lines.join("\n")}`, status === "error");
}
