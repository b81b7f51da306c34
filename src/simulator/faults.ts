// Fault injection: what to do instead of (or around) the normal answer, for the next requests or
// for every request of a route, set by options, by the in-process API or from the command line.
import type { Answer } from "./answer.js";
import type { RouteName } from "./routes.js";

/** One thing to do instead of (or around) the normal answer. */
export interface Fault {
  /** Answer with this status instead (the normal action is not performed, unless `afterAction`). */
  status?: number;
  /** The body of that answer (any text: JSON, plain text, an HTML error page). Also replaces the normal answer. */
  body?: string;
  /** Its Content-Type; by default guessed from the body (HTML, JSON or plain text). */
  contentType?: string;
  /**
   * With `status` (and `body`): the normal action is performed first (e.g. the deletion takes
   * effect), then the fault's answer replaces the normal one — a gateway that timed out (504) or
   * failed (502) after the API behind it carried the request out.
   */
  afterAction?: boolean;
  /** Sent as the Retry-After header (seconds or an HTTP date). */
  retryAfter?: string;
  /** Wait this long before answering. */
  latencyMs?: number;
  /**
   * Wait until the simulator's release() (after any latency) before acting and answering: a request
   * kept in flight exactly as long as a test needs (reset() and close() abandon it).
   */
  hold?: boolean;
  /** Destroy the connection without answering: before the action took effect, or after it. */
  drop?: "before" | "after";
  /**
   * Send the headers and only part of the body, then cut the connection. An answer without a body
   * (a 204 after a deletion that took effect) is cut inside its status line.
   */
  truncate?: boolean;
  /** Send the body in up to 16 pieces, this many ms apart. */
  slowBodyMs?: number;
}

/** A fault in the `faults` option of startSimulator. */
export interface FaultRule extends Fault {
  /** Which route it applies to (default "*": every route, the token endpoint included). */
  route?: RouteName | "*";
  /** Apply to every matching request until reset (default: only to the next one). */
  standing?: boolean;
}

/** Queued faults (used once each, in order) and standing ones (used until cleared). */
export class FaultBook {
  #queued: { route: RouteName | "*"; fault: Fault }[] = [];
  readonly #standing = new Map<RouteName | "*", Fault>();

  constructor(rules: readonly FaultRule[] = []) {
    this.load(rules);
  }

  /** Clear everything, then apply these rules. */
  load(rules: readonly FaultRule[]): void {
    this.#queued = [];
    this.#standing.clear();
    for (const { route = "*", standing, ...fault } of rules) {
      if (standing) this.#standing.set(route, fault);
      else this.#queued.push({ route, fault });
    }
  }

  queue(route: RouteName | "*", faults: Fault[]): void {
    for (const fault of faults) this.#queued.push({ route, fault });
  }

  setStanding(route: RouteName | "*", fault: Fault | undefined): void {
    if (fault) this.#standing.set(route, fault);
    else this.#standing.delete(route);
  }

  /** The fault for a request on this route: the first queued one that matches, else a standing one. */
  take(route: RouteName): Fault | undefined {
    const index = this.#queued.findIndex((q) => q.route === route || q.route === "*");
    if (index >= 0) return this.#queued.splice(index, 1)[0]?.fault;
    return this.#standing.get(route) ?? this.#standing.get("*");
  }

  /** How many queued faults are still waiting. */
  get pending(): number {
    return this.#queued.length;
  }
}

/** Whether the fault's answer is sent instead of the normal one (performed or not, see `afterAction`). */
export function hasAnswer(fault: Fault | undefined): fault is Fault {
  return fault !== undefined && fault.drop === undefined && (fault.status !== undefined || fault.body !== undefined);
}

/** Whether the fault replaces the normal answer without the action being performed. */
export function replacesAnswer(fault: Fault | undefined): boolean {
  return hasAnswer(fault) && !fault.afterAction;
}

/** The answer a replacing fault gives. */
export function faultAnswer(fault: Fault): Answer {
  const body = fault.body ?? "";
  const headers: Record<string, string> = {};
  if (body) headers["content-type"] = fault.contentType ?? guessContentType(body);
  if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
  return { status: fault.status ?? 500, headers, body: Buffer.from(body) };
}

function guessContentType(body: string): string {
  if (body.trimStart().startsWith("<")) return "text/html; charset=utf-8";
  try {
    JSON.parse(body);
    return "application/json; charset=utf-8";
  } catch {
    return "text/plain; charset=utf-8";
  }
}

const HTML_PAGE = (status: number) =>
  `<!DOCTYPE html>\n<html><head><title>${status} Error</title></head><body><h1>${status} Error</h1><p>The gateway could not complete the request.</p></body></html>\n`;

/**
 * The command line's `--fail-next` list, e.g. "429,503,500:html,drop-after". Each entry is one
 * fault for the next request: a status (JSON `{"message":…}` body; `:html`, `:text` or `:empty`
 * for another body; 429 and 503 carry `Retry-After: <retryAfter>`), a status after `after-` (the
 * action is performed, then that status answers, e.g. `after-504`), `drop-before`, `drop-after`,
 * `truncate` or `slow`.
 */
/** `retryAfter`: of the 429 and 503 faults (default "1"); null: none (the API as documented). */
export function parseFaultList(text: string, retryAfter: string | null = "1"): Fault[] {
  return text.split(",").map((raw) => {
    const entry = raw.trim();
    if (entry === "drop-before" || entry === "drop-after") return { drop: entry === "drop-before" ? "before" : "after" };
    if (entry === "truncate") return { truncate: true };
    if (entry === "slow") return { slowBodyMs: 250 };
    const match = entry.match(/^(after-)?([1-5]\d\d)(?::(json|html|text|empty))?$/);
    if (!match) {
      throw new Error(
        `'${entry}' is not a fault: use a status such as 429, 500 or 503 (optionally :html, :text or :empty), after-502 or after-504 (performed, then that status), drop-before, drop-after, truncate or slow`,
      );
    }
    const status = Number(match[2]);
    const fault: Fault = match[1] ? { status, afterAction: true } : { status };
    if ((status === 429 || status === 503) && retryAfter !== null) fault.retryAfter = retryAfter;
    switch (match[3]) {
      case "html":
        fault.body = HTML_PAGE(status);
        break;
      case "text":
        fault.body = `Error ${status} (simulated)`;
        break;
      case "empty":
        break;
      default:
        fault.body = JSON.stringify({ message: `Simulated ${status} (fault injection)` });
    }
    return fault;
  });
}
