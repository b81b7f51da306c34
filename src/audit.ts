// The audit trail: one JSON line per decision and per deletion attempt, appended and flushed to disk
// before the tool answers. Writing it is a precondition of deleting: if it fails, nothing is sent.
import { type FileHandle, open, stat } from "node:fs/promises";
import type { Identity } from "./core/identity.js";
import type { PlanExclusions } from "./jobs/plan.js";
import { log } from "./log.js";

export interface AuditRecord {
  event: "confirmation_requested" | "decision" | "deletion";
  tool: string;
  guid: string;
  contentKey: string;
  /** How the person's agreement was (or was to be) obtained. */
  confirmation?: "elicitation" | "token" | "approval";
  /** decision: confirmed | declined | cancelled | refused; deletion: deleted | error | dry_run; confirmation_requested: token_issued */
  outcome: string;
  errorCode?: string;
  httpStatus?: number;
  attempts?: number;
  outcomeUnknown?: boolean;
  /** A retry found the content gone after an attempt whose answer was lost. */
  verifiedByAbsence?: boolean;
  /** Team server: the signed-in person who approved (or cancelled) on the approval page; the requester is in the context. */
  approver?: Identity;
  /** Passkeys required: the credential id of the passkey whose verified assertion approved on the page. */
  passkey?: string;
}

/** One search (search_interactions): what was asked, what was found, how long it took. */
export interface SearchAuditRecord {
  event: "search";
  tool: string;
  /** complete | partial | error | cancelled | refused */
  outcome: string;
  /** The criteria as searched (from/to in UTC); addresses are kept here, never in the stderr log. */
  criteria: Record<string, unknown>;
  /** The call continued an earlier one with its cursor. */
  continued: boolean;
  interactions: number;
  items: number;
  bytes: number;
  requests: number;
  windowsDone: number;
  windowsTotal: number;
  durationMs: number;
  stoppedBecause?: string;
  errorCode?: string;
}

/**
 * One event of an erasure job (erase_interaction_content and the job tools): its plan, the person's
 * decision, start, pause, resume, cancel, finish, and each item (before its DELETE and after). Events
 * of the job as a whole carry no item.
 */
export interface JobAuditRecord {
  event: "job";
  tool: string;
  jobId: string;
  /** What happened. */
  action: "plan" | "decision" | "approval" | "start" | "resume" | "pause" | "cancel" | "finish" | "item_started" | "item_outcome";
  /** The item, for item_started and item_outcome. */
  guid?: string;
  contentKey?: string;
  /** decision: token_issued | declined | cancelled | refused; item_outcome: deleted | already_gone | failed | dry_run; finish: the job's status. */
  outcome?: string;
  confirmation?: "elicitation" | "token" | "approval";
  /** plan: the criteria as given (addresses are kept here, never in the stderr log). */
  criteria?: unknown;
  items?: number;
  interactions?: number;
  bytes?: number;
  /** plan: what was found and left out, and why. */
  excluded?: PlanExclusions;
  errorCode?: string;
  reason?: string;
  httpStatus?: number;
  attempts?: number;
  deleteCall?: number;
  outcomeUnknown?: boolean;
  verifiedByAbsence?: boolean;
  receiptSha256?: string;
  /** approval, and a decision on the approval page: team server, who decided. */
  approver?: Identity;
  /** approval: the passkey that approved on the page (passkeys required). */
  passkey?: string;
}

export interface AuditContext {
  /** Team server: who asked (the identity of the session's access token). */
  requester?: Identity;
  client?: { name: string; version: string };
  sessionId?: string;
  /** stdio: the operating-system account the server runs as (the person's, on their computer). */
  osUser?: string;
  dryRun: boolean;
  sandbox: boolean;
}

export interface AuditTrail {
  readonly enabled: boolean;
  /** Resolves once the line is on disk; rejects when it could not be written. */
  write(record: AuditRecord | SearchAuditRecord | JobAuditRecord, context: AuditContext): Promise<void>;
}

export const NO_AUDIT: AuditTrail = { enabled: false, write: async () => {} };

/**
 * Why the audit log at `path` cannot be written (opened for appending, created if absent), or
 * undefined when it can: checked at start, so that a wrong path is said then, not after a person
 * approved a deletion that is then refused (nothing is deleted without its audit record).
 */
export async function auditLogProblem(path: string): Promise<string | undefined> {
  try {
    await (await open(path, "a", 0o600)).close();
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return `the audit log VCC_AUDIT_LOG=${path} cannot be written (${code ?? (error instanceof Error ? error.message : String(error))}): every search and deletion would be refused. Create its directory or fix its permissions, or change the path, then start the server again.`;
  }
}

/** The byte at `size - 1` of the file at `path`, or undefined when it cannot be read (a write-only log). */
async function lastByte(path: string, size: number): Promise<number | undefined> {
  const reader = await open(path, "r").catch(() => undefined);
  if (!reader) return undefined;
  try {
    const last = Buffer.alloc(1);
    const { bytesRead } = await reader.read(last, 0, 1, size - 1);
    return bytesRead === 1 ? last[0] : undefined;
  } catch {
    return undefined;
  } finally {
    await reader.close().catch(() => {});
  }
}

/**
 * One file per process; lines are written one at a time so they never interleave. Before each line
 * the path is checked to still name the open file: after a rotation (the file renamed or removed, as
 * logrotate does), the next line goes to a new file at the path, not to the old one or nowhere.
 */
export function fileAuditTrail(path: string): AuditTrail {
  /** The open file and which file it is (its device and inode, read once when opened). */
  let opened: Promise<{ file: FileHandle; dev: number; ino: number }> | undefined;
  const openFile = async () => {
    // Append-only: a log the server may write but not read (mode 0222, a collector's pipe) works.
    const file = await open(path, "a", 0o600);
    try {
      const { dev, ino, size } = await file.stat();
      // A crash while a line was written (power lost) can leave part of it at the end: it is kept
      // (evidence) and ended, so that the next line is on its own and readable, not glued to it.
      // Where the log cannot be read, that cannot be told: lines are appended as they are.
      const last = size > 0 ? await lastByte(path, size) : undefined;
      if (last !== undefined && last !== 0x0a) {
        await file.appendFile("\n", "utf8");
        await file.datasync();
      }
      return { file, dev, ino };
    } catch (error) {
      await file.close().catch(() => {});
      throw error;
    }
  };
  let queue: Promise<unknown> = Promise.resolve();
  return {
    enabled: true,
    write(record, context) {
      const line = `${JSON.stringify({
        time: new Date().toISOString(),
        ...record,
        client: context.client ? { name: context.client.name, version: context.client.version } : undefined,
        sessionId: context.sessionId,
        requester: context.requester,
        osUser: context.osUser,
        dryRun: context.dryRun,
        sandbox: context.sandbox,
      })}\n`;
      const next = queue.then(async () => {
        opened ??= openFile();
        let file: FileHandle;
        try {
          let current = await opened;
          // One stat of the path per line: still the file that is open?
          const named = await stat(path).catch(() => undefined);
          if (!named || named.ino !== current.ino || named.dev !== current.dev) {
            await current.file.close().catch(() => {});
            opened = openFile();
            current = await opened;
          }
          file = current.file;
        } catch (error) {
          opened = undefined; // try opening again next time (e.g. the directory was created)
          throw error;
        }
        try {
          await file.appendFile(line, "utf8");
          await file.datasync();
        } catch (error) {
          // Part of the line may be in the file (a full disk): opened again for the next line, which
          // then ends it first (openFile), rather than glued onto it.
          const failed = opened;
          opened = undefined;
          void failed?.then(({ file }) => file.close()).catch(() => {});
          throw error;
        }
      });
      queue = next.catch(() => {});
      return next.catch((error: unknown) => {
        log.error("could not write the audit log", { path, error: error instanceof Error ? error.message : String(error) });
        throw error;
      });
    },
  };
}
