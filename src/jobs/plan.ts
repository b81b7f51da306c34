// An erasure job's plan: the exact set of items a person approves, what it amounts to, and the
// approval itself. Once approved, a plan never changes: a job deletes these items and nothing else.
import { randomUUID } from "node:crypto";
import type { ContentPreview, ContentRef } from "../core/content.js";
import type { ToolError } from "../core/errors.js";
import { describeTypeCounts } from "../core/format.js";
import type { Identity } from "../core/identity.js";
import { instantOf } from "../core/time.js";
import { itemIdentity } from "../deletion/binding.js";
import { isValidContentKey, isValidGuid } from "../vcc/ids.js";

/** At most this many items per job: beyond, the person cannot meaningfully review what goes. */
export const MAX_PLAN_ITEMS = 10_000;
export const DEFAULT_APPROVAL_TTL_HOURS = 24;

/** Any JSON value: the criteria are the caller's, stored and shown as given. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** One item to erase, with what is known about it (every field but the reference may be missing). */
export interface PlanItem extends ContentRef, Partial<ContentPreview> {
  /** When the interaction started (ISO 8601), where known. */
  interactionStart?: string;
  /** Inbound, Outbound or Internal, where known. */
  direction?: string;
}

export interface PlanTotals {
  interactions: number;
  items: number;
  /** Sum of the known sizes. */
  bytes: number;
  /** Items whose size is unknown (not in `bytes`). */
  itemsOfUnknownSize: number;
  /** By content type (`type`; "unknown" where it is not known). */
  byType: Record<string, { items: number; bytes: number }>;
  /** The earliest and latest interaction start among the items, where known. */
  firstInteractionStart?: string;
  lastInteractionStart?: string;
}

/**
 * What the search (or the explicit list) found and the plan leaves out, and why: shown with the
 * approval, and kept in the plan and its receipt, so that what was not erased is on record too.
 */
export interface PlanExclusions {
  /** Items of a kind this server does not delete (VCC_ALLOWED_CONTENT_KEYS). */
  notAllowed: number;
  /** Items of the explicit list that are not there. */
  notFound: number;
  /** Interaction records the search found but could not read: whatever they hold is not in the plan. */
  unreadable?: number;
  /** Items of the matching interactions whose type is not among contentTypes, by type ("unknown": the API gave none). */
  otherTypes?: Record<string, number>;
  /** Types of contentTypes that no item found had. */
  typesNotFound?: string[];
}

/** Whether anything was left out (else the plan has no `excluded`). */
export function excludesAnything(e: PlanExclusions): boolean {
  return Boolean(
    e.notAllowed || e.notFound || e.unreadable || (e.otherTypes && Object.keys(e.otherTypes).length) || e.typesNotFound?.length,
  );
}

/** What was left out, in words: the approval's summary, the receipt, and a search that found nothing. */
export function exclusionLines(e: PlanExclusions | undefined): string[] {
  if (!e) return [];
  const lines: string[] = [];
  if (e.notAllowed) lines.push(`Not included: ${e.notAllowed} item(s) of a kind this server does not delete (VCC_ALLOWED_CONTENT_KEYS).`);
  if (e.notFound) lines.push(`Not included: ${e.notFound} item(s) that are not there.`);
  if (e.unreadable)
    lines.push(
      `Not included: ${e.unreadable} interaction record(s) the search found but this server could not read. Whatever they hold may be this person's and is NOT erased by this plan: look at them in the VCC Admin Portal.`,
    );
  const others = Object.keys(e.otherTypes ?? {});
  if (e.otherTypes && others.length > 0)
    lines.push(`Not included: ${describeTypeCounts(e.otherTypes)} of the same interactions: not among the content types asked for.`);
  if (e.typesNotFound?.length)
    lines.push(
      `No item of type ${e.typesNotFound.map((t) => `'${t}'`).join(", ")} was found${others.length > 0 ? ` (the same interactions hold: ${others.join(", ")})` : ""}: check the name, or that such content exists.`,
    );
  return lines;
}

/** A plan before approval: shown to the person, kept by the caller until they decide. */
export interface ProposedPlan {
  jobId: string;
  proposedAt: string;
  criteria: JsonValue;
  items: PlanItem[];
  totals: PlanTotals;
  /** What was found and left out, and why (absent when nothing was). */
  excluded?: PlanExclusions;
  /** Team server: who asked for the erasure (the identity of their access token). */
  requester?: Identity;
}

export type ApprovalMethod = "elicitation" | "token" | "approval";

/**
 * Where the approval was given, as this server knows it (not who the person was: that is `approver`
 * on a team server, or `passkey`): the MCP client of the session that approved (a prompt) or passed
 * back the token, that session, and on stdio the operating-system account the server ran as.
 */
export interface ApprovalChannel {
  client?: { name: string; version: string };
  sessionId?: string;
  osUser?: string;
}

export interface Approval {
  method: ApprovalMethod;
  approvedAt: string;
  /** Where it was given (absent in jobs approved before this was recorded). */
  via?: ApprovalChannel;
  /** Who approved, where known (e.g. the approval page's signed-in user). */
  approvedBy?: string;
  /** Team server: the person who signed in on the approval page and approved. */
  approver?: Identity;
  /** Passkeys required: the credential id of the passkey that approved on the page. */
  passkey?: string;
  /** Until when the approval is valid for resuming the job. */
  expiresAt: string;
}

/** An approved plan, as stored in the job's plan.json. */
export interface Plan extends ProposedPlan {
  version: 1;
  approval: Approval;
  /** No DELETE is sent: every item is recorded as dry_run. */
  dryRun: boolean;
  /** Approved in sandbox mode: its items are the simulator's sample data, nothing real. */
  sandbox?: true;
}

export function planTotals(items: readonly PlanItem[]): PlanTotals {
  const interactions = new Set<string>();
  // A Map: a type is the API's text, and may be named like an object's property ("constructor", "__proto__").
  const byType = new Map<string, { items: number; bytes: number }>();
  let bytes = 0;
  let itemsOfUnknownSize = 0;
  let first: string | undefined;
  let last: string | undefined;
  for (const item of items) {
    interactions.add(item.guid.toLowerCase());
    const type = item.type ?? "unknown";
    const entry = byType.get(type) ?? { items: 0, bytes: 0 };
    entry.items++;
    if (item.contentLength === undefined) itemsOfUnknownSize++;
    else {
      entry.bytes += item.contentLength;
      bytes += item.contentLength;
    }
    byType.set(type, entry);
    const start = item.interactionStart;
    if (start !== undefined && !Number.isNaN(instantOf(start))) {
      if (first === undefined || instantOf(start) < instantOf(first)) first = start;
      if (last === undefined || instantOf(start) > instantOf(last)) last = start;
    }
  }
  return {
    interactions: interactions.size,
    items: items.length,
    bytes,
    itemsOfUnknownSize,
    byType: Object.fromEntries(byType),
    ...(first !== undefined ? { firstInteractionStart: first } : {}),
    ...(last !== undefined ? { lastInteractionStart: last } : {}),
  };
}

const invalid = (message: string): { ok: false; error: ToolError } => ({ ok: false, error: { code: "invalid_input", message } });

/**
 * Fixes the set of items to approve: every reference valid, the same item (as the API matches it)
 * only once, at least one and at most MAX_PLAN_ITEMS.
 */
export function proposePlan(
  input: { items: readonly PlanItem[]; criteria: JsonValue; requester?: Identity; excluded?: PlanExclusions },
  now: Date,
): { ok: true; plan: ProposedPlan } | { ok: false; error: ToolError } {
  const seen = new Set<string>();
  const items: PlanItem[] = [];
  for (const item of input.items) {
    if (!isValidGuid(item.guid) || !isValidContentKey(item.contentKey))
      return invalid(`'${String(item.guid)}' / '${String(item.contentKey)}' is not a valid interaction GUID and content key.`);
    const identity = itemIdentity(item);
    if (seen.has(identity)) continue;
    seen.add(identity);
    items.push({ ...item });
  }
  if (items.length === 0) return invalid("Nothing matches, so there is nothing to erase.");
  if (items.length > MAX_PLAN_ITEMS)
    return invalid(
      `${items.length} items match, more than the ${MAX_PLAN_ITEMS} one erasure job may hold. Narrow the criteria (a shorter date range, fewer content types, one party or agent) and erase in several jobs.`,
    );
  return {
    ok: true,
    plan: {
      jobId: randomUUID(),
      proposedAt: now.toISOString(),
      criteria: input.criteria,
      items,
      totals: planTotals(items),
      ...(input.excluded && excludesAnything(input.excluded) ? { excluded: input.excluded } : {}),
      ...(input.requester ? { requester: input.requester } : {}),
    },
  };
}

/** How a person agreed, and who they were where known. */
export interface ApprovalDecision {
  method: ApprovalMethod;
  via?: ApprovalChannel;
  approvedBy?: string;
  approver?: Identity;
  /** When the person approved, where it was before now (the approval page: the token comes back later). */
  approvedAt?: Date;
  passkey?: string;
}

/** The approval of a proposed plan, valid for resuming for `ttlHours` from now. */
export function approvePlan(
  proposal: ProposedPlan,
  decision: ApprovalDecision,
  options: { now: Date; ttlHours: number; dryRun: boolean; sandbox?: boolean },
): Plan {
  const approval: Approval = {
    method: decision.method,
    approvedAt: (decision.approvedAt ?? options.now).toISOString(),
    ...(decision.via && Object.keys(decision.via).length > 0 ? { via: decision.via } : {}),
    ...(decision.approvedBy !== undefined ? { approvedBy: decision.approvedBy } : {}),
    ...(decision.approver !== undefined ? { approver: decision.approver } : {}),
    ...(decision.passkey ? { passkey: decision.passkey } : {}),
    expiresAt: new Date(options.now.getTime() + options.ttlHours * 3_600_000).toISOString(),
  };
  return { version: 1, ...proposal, approval, dryRun: options.dryRun, ...(options.sandbox ? { sandbox: true as const } : {}) };
}
