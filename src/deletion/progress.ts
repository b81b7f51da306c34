// MCP progress notifications for a tool call, when the client asked for them (a progressToken):
// one per step, and more while a step waits for the API (backoff, Retry-After, a slow answer).
import type { ServerNotification } from "@modelcontextprotocol/sdk/types.js";
import type { WaitEvent } from "../vcc/client.js";

interface ProgressExtra {
  _meta?: { progressToken?: string | number };
  sendNotification: (notification: ServerNotification) => Promise<void>;
}

export class Progress {
  readonly #token: string | number;
  readonly #send: ProgressExtra["sendNotification"];
  #total: number;
  #last = -1;
  /** Where step 0 of the current phase lies (after earlier reports, e.g. waiting for the person). */
  #base = 0;

  constructor(token: string | number, send: ProgressExtra["sendNotification"], total: number) {
    this.#token = token;
    this.#send = send;
    this.#total = total;
  }

  /** A phase of `steps` steps begins after whatever was reported so far, so that progress keeps increasing. */
  begin(steps: number): void {
    this.#base = this.#last < 0 ? 0 : Math.floor(this.#last) + 1;
    this.#total = this.#base + steps;
  }

  /** Step `step` (0-based) of the current phase begins. */
  step(step: number, message: string): Promise<void> {
    return this.#report(this.#base + step, message);
  }

  /** A report made elsewhere in the same call (e.g. while the person is asked); kept only if it moves forward. */
  report(update: { progress: number; total: number; message: string }): void {
    this.#total = update.total;
    void this.#report(update.progress, update.message);
  }

  /** What to tell the client while step `step` waits for the API. */
  onWait(phaseStep: number): (event: WaitEvent) => void {
    const step = this.#base + phaseStep;
    return (event) => {
      // Progress must increase with every notification: each wait moves halfway to the next step,
      // or one further when earlier reports of this call went beyond it.
      const from = Math.max(this.#last, step);
      void this.#report(from < step + 1 ? from + (step + 1 - from) / 2 : from + 1, describeWait(event));
    };
  }

  #report(progress: number, message: string): Promise<void> {
    if (progress <= this.#last) return Promise.resolve();
    this.#last = progress;
    // A client that went away must not fail the deletion.
    return this.#send({
      method: "notifications/progress",
      params: { progressToken: this.#token, progress, ...(progress <= this.#total ? { total: this.#total } : {}), message },
    }).catch(() => {});
  }
}

/** A reporter for a call of `total` steps, or undefined when the client did not ask for progress. */
export function progressFor(extra: ProgressExtra, total: number): Progress | undefined {
  const token = extra._meta?.progressToken;
  return token === undefined ? undefined : new Progress(token, extra.sendNotification, total);
}

export function describeWait(event: WaitEvent): string {
  if (event.kind === "slow") return `Still waiting for the VCC API to answer (${Math.round(event.elapsedMs / 1000)} s so far).`;
  const seconds = (event.delayMs / 1000).toFixed(1);
  if (event.kind === "pace")
    return `Waiting ${seconds} s for the API's rate limit: keeping to the pace it accepted before its last 429 (over VCC_RATE_LIMIT_WINDOW_MS).`;
  const why = event.reason.httpStatus !== undefined ? `HTTP ${event.reason.httpStatus}, ${event.reason.code}` : event.reason.code;
  return `Attempt ${event.attempt} failed (${why}); trying again in ${seconds} s${event.fromRetryAfter ? " as the API asked (Retry-After)" : event.paced ? ", when the API's rate limit should accept it again (the pace it accepted in the window before it, VCC_RATE_LIMIT_WINDOW_MS)" : ""}.`;
}
