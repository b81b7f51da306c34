// Shared state in Redis (or Valkey): what lets two or more replicas act as one server. Loaded only
// when VCC_STATE_URL is set (src/state/index.ts imports this module dynamically, so the client
// library is its own chunk of the bundle).
//
// Keys (all under a prefix, default "vcc:"; ids are stored as SHA-256 hashes, so the key names show
// no usable token, page id, challenge or cursor). The values are not all hashed: a token's hash
// holds its approval page's id and form key, which the page must show, so whoever can read Redis
// can open and decide a pending page (unless passkeys or the team server's sign-in stand in the
// way): protect Redis as the approvals it holds (docs/replicas.md).
//   tok:<h>     hash: one confirmation token with its claim state and, if it needs one, its
//               approval (page id, form key, items, decision; 'passkey' = 'required' when
//               approving needs a verified passkey assertion). Kept until expiry + retainMs.
//               The hash of the page id is kept too ('ph'), to name the page in messages and keys.
//   page:<h>    string: the token key behind an approval page id (same lifetime)
//   ch:<h>      string: a challenge's JSON value, taken once with GETDEL (also the team server's
//               sign-ins in progress)
//   ses:<h>     string: a signed-in approver's session (JSON), expiring with the sign-in
//   cur:<h>     string: a search cursor's JSON (owner, criteria, position, expiry), kept until expiry + retainMs
//   lease:<n>   string "<fence>:<id>:<holder>" with the lease as its expiry
//   fence:<n>   integer: the last fencing token given out for the name (never expires)
//   decided     pub/sub channel: "<h>" of a page that was decided, withdrawn or discarded
//   jobs        set: every erasure job's id;  jobs:running  set: jobs to be run (a sweeper takes
//               over those whose lease lapsed)
//   job:<id>:plan     string: the approved plan (JSON), written once
//   job:<id>:journal  list: the journal, one JSON entry per element, appended only (a holder's
//                     appends are fenced: only while its lease is the job's current one)
//   job:<id>:cancel   string: a cancellation was asked for (read before each item)
//   job:<id>:receipt  hash: json, md, sha256
//   job:<id>:notes    hash: small JSON values kept with the job (the verification after it)
//   passkeys    hash: the approval passkeys (VCC_APPROVAL_PASSKEY=required): 'user' (the WebAuthn
//               user handle), and per credential id 'pk:<id>' (JSON without the counter),
//               'ctr:<id>' (its signature counter, only ever raised) and 'used:<id>' (last use).
//               Public keys, no secret: not hashed, and kept for good (like the passkeys file).
// Jobs must survive a Redis restart: run Redis with AOF (docs/replicas.md).
//
// Everything that must be atomic across replicas is one Lua script on one key. Fail closed: no
// offline queue (a command while disconnected fails at once), no resending of commands whose answer
// was lost (a resent claim could not tell its own earlier success from another's), a command
// timeout; the client reconnects by itself, forever, with a capped backoff.
import crypto, { createHash, randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import type { ConfirmationItem } from "../core/content.js";
import type { Identity } from "../core/identity.js";
import { sameSecret } from "../http-guards.js";
import { log } from "../log.js";
import { DEFAULT_RETAIN_MS, leaseId } from "./memory.js";
import {
  type ApprovalState,
  type ApprovalView,
  type ChallengeStore,
  type ClaimRefusal,
  type CursorEntry,
  type CursorResult,
  type CursorStore,
  cursorVerdict,
  type DecideOptions,
  type DecideResult,
  type DecisionOutcome,
  type JobRecords,
  type JsonValue,
  jobLease,
  type Lease,
  LeaseLostError,
  type LeaseStore,
  type PasskeyRecord,
  type PasskeyRecords,
  type SessionStore,
  type SharedState,
  type StateTimings,
  StateUnavailableError,
  type StoredReceipt,
  type TokenClaimResult,
  type TokenIssue,
  type TokenStore,
} from "./types.js";

export interface RedisStateOptions extends StateTimings {
  /** redis://… or rediss://… (validated by the configuration). */
  url: string;
  /** Prefix of every key and channel (several deployments may share one Redis). */
  prefix?: string;
  /** A command without an answer for this long fails (and may have been applied). */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Longest pause between reconnection attempts. */
  maxReconnectDelayMs?: number;
}

/**
 * Keys hold a hash of a token or page id, never the id itself (whoever can list keys cannot use
 * them). One-shot `crypto.hash` (Node >= 20.12) where there is one: on a small VM it costs about
 * half of a Hash object's 70-80 µs, on the path of every confirmed deletion.
 */
const hash: (id: string) => string =
  typeof crypto.hash === "function"
    ? (id) => crypto.hash("sha256", id, "base64url")
    : (id) => createHash("sha256").update(id, "utf8").digest("base64url");

// ---------------------------------------------------------------------------------------------------
// Lua scripts. Times are milliseconds; `now` comes from the replica (token expiry is what the
// replica told the model), lease expiry from Redis itself (PX), so a paused replica cannot extend
// its own lease by its clock.

const ISSUE = `
if redis.call('EXISTS', KEYS[1]) == 1 or (KEYS[2] ~= KEYS[1] and redis.call('EXISTS', KEYS[2]) == 1) then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
if KEYS[2] ~= KEYS[1] then redis.call('SET', KEYS[2], KEYS[1], 'PXAT', ARGV[1]) end
return 1`;

// ARGV: binding, owner, now, claim id (unique: a claim is told apart from every other, also after a
// Redis that lost recent writes, whose counters could repeat) → {'ok', claim id, payload|false,
// page|false, approver|false, decided at|false, passkey id|false} | {reason}
//   | {'used', payload|false} | {'rejected', approver|false, payload|false, repeat|false} | {'approval_pending', pageId, exp}
const CLAIM = `
local t = redis.call('HMGET', KEYS[1], 'owner', 'state', 'exp', 'binding', 'page', 'pstate', 'payload', 'approver', 'decidedat', 'pkid')
if not t[1] or t[1] ~= ARGV[2] then return {'unknown'} end
if t[2] == 'spent' then return {'used', t[7] or false} end
if tonumber(ARGV[3]) >= tonumber(t[3]) then return {'expired'} end
if t[4] ~= ARGV[1] then return {'mismatch'} end
if t[5] then
  if t[6] == 'pending' then return {'approval_pending', t[5], t[3]} end
  if t[6] ~= 'approved' then
    local first = redis.call('HSETNX', KEYS[1], 'rseen', '1')
    return {'rejected', t[8] or false, t[7] or false, first == 0 and '1' or false}
  end
end
if t[2] == 'claimed' then return {'in_use'} end
redis.call('HINCRBY', KEYS[1], 'claims', 1)
redis.call('HSET', KEYS[1], 'state', 'claimed', 'claim', ARGV[4])
return {'ok', ARGV[4], t[7] or false, t[5] and '1' or false, t[8] or false, t[9] or false, t[10] or false}`;

// ARGV: claim id, new state ('spent' | 'issued'): only the claim that holds the token changes it.
const SETTLE = `
local t = redis.call('HMGET', KEYS[1], 'state', 'claim')
if t[1] == 'claimed' and t[2] == ARGV[1] then redis.call('HSET', KEYS[1], 'state', ARGV[2]) return 1 end
return 0`;

// ARGV: pageId, decision, now, channel, message, approver JSON ('' when unknown), passkey ('1':
// verified, '0': required and not verified, '': not checked). An approval is refused unless verified
// when the caller said '0' or the page needs a passkey (DecideOptions).
const DECIDE = `
local t = redis.call('HMGET', KEYS[1], 'page', 'pstate', 'exp', 'passkey')
if not t[1] or t[1] ~= ARGV[1] then return {'unknown'} end
if tonumber(ARGV[3]) >= tonumber(t[3]) then return {'expired'} end
if t[2] ~= 'pending' then return {'decided', t[2]} end
if ARGV[2] == 'approved' and ARGV[7] ~= '1' and (ARGV[7] == '0' or t[4] == 'required') then return {'passkey_required'} end
redis.call('HSET', KEYS[1], 'pstate', ARGV[2], 'decidedat', ARGV[3])
if ARGV[2] == 'approved' and ARGV[7] == '1' and ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'pkid', ARGV[8]) end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'approver', ARGV[6]) end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return {'ok', ARGV[2]}`;

// ARGV: owner, channel. An unclaimed token is spent; its page, if pending, withdrawn (else untouched).
const WITHDRAW = `
local t = redis.call('HMGET', KEYS[1], 'owner', 'state', 'ph', 'pstate')
if t[1] ~= ARGV[1] or t[2] ~= 'issued' then return 0 end
if not t[3] then redis.call('HSET', KEYS[1], 'state', 'spent') return 1 end
if t[4] ~= 'pending' then return 0 end
redis.call('HSET', KEYS[1], 'pstate', 'withdrawn', 'state', 'spent')
redis.call('PUBLISH', ARGV[2], t[3])
return 1`;

// ARGV: owner, channel, page key prefix. Forgets an unclaimed token and its page (whose key is
// derived from 'ph' here: the caller does not know the page id; one more reason Cluster is not supported).
const DISCARD = `
local t = redis.call('HMGET', KEYS[1], 'owner', 'state', 'ph')
if not t[1] or t[1] ~= ARGV[1] or t[2] == 'claimed' then return 0 end
redis.call('DEL', KEYS[1])
if t[3] then
  redis.call('DEL', ARGV[3] .. t[3])
  redis.call('PUBLISH', ARGV[2], t[3])
end
return 1`;

// KEYS: lease, fence. ARGV: "<id>:<holder>", leaseMs → fence | nil
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local f = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], f .. ':' .. ARGV[1], 'PX', ARGV[2])
return f`;

// ARGV: "<fence>:<id>:<holder>", leaseMs → 1 | 0
const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

// ARGV: "<fence>:<id>:<holder>" → remaining ms, or -1 when the lease is not this one
const REMAINING = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
return redis.call('PTTL', KEYS[1])`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0`;

const HOLDER = `
local v = redis.call('GET', KEYS[1])
if not v then return false end
return {v, redis.call('PTTL', KEYS[1])}`;

// KEYS: plan, jobs. ARGV: plan JSON, jobId → 1 | 0 (exists)
const JOB_CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
return 1`;

// KEYS: journal, lease, running. ARGV: entry, lease value ('' = none), running ('1' | '0' | ''), jobId
const JOB_APPEND = `
if ARGV[2] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
if ARGV[3] == '1' then redis.call('SADD', KEYS[3], ARGV[4]) elseif ARGV[3] == '0' then redis.call('SREM', KEYS[3], ARGV[4]) end
return 1`;

// KEYS: journal, cancel. ARGV: entry
const JOB_CANCEL = `
redis.call('SET', KEYS[2], '1')
redis.call('RPUSH', KEYS[1], ARGV[1])
return 1`;

// KEYS: passkeys. ARGV: id, JSON, counter → 1 | 0 (registered already)
const PASSKEY_ADD = `
if redis.call('HEXISTS', KEYS[1], 'pk:' .. ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'pk:' .. ARGV[1], ARGV[2], 'ctr:' .. ARGV[1], ARGV[3])
return 1`;

// KEYS: passkeys. ARGV: id, counter, when → 1 | 0 (not registered)
const PASSKEY_USE = `
if redis.call('HEXISTS', KEYS[1], 'pk:' .. ARGV[1]) == 0 then return 0 end
local c = tonumber(redis.call('HGET', KEYS[1], 'ctr:' .. ARGV[1]) or '0')
if tonumber(ARGV[2]) > c then redis.call('HSET', KEYS[1], 'ctr:' .. ARGV[1], ARGV[2]) end
redis.call('HSET', KEYS[1], 'used:' .. ARGV[1], ARGV[3])
return 1`;

interface Script {
  source: string;
  sha: string;
}

const script = (source: string): Script => ({ source, sha: createHash("sha1").update(source).digest("hex") });
const SCRIPTS = {
  issue: script(ISSUE),
  claim: script(CLAIM),
  settle: script(SETTLE),
  decide: script(DECIDE),
  withdraw: script(WITHDRAW),
  discard: script(DISCARD),
  acquire: script(ACQUIRE),
  renew: script(RENEW),
  remaining: script(REMAINING),
  release: script(RELEASE),
  holder: script(HOLDER),
  jobCreate: script(JOB_CREATE),
  jobAppend: script(JOB_APPEND),
  jobCancel: script(JOB_CANCEL),
  passkeyAdd: script(PASSKEY_ADD),
  passkeyUse: script(PASSKEY_USE),
};

const leaseKey = (prefix: string, name: string) => `${prefix}lease:${name}`;
const leaseValue = (lease: Lease) => `${lease.fence}:${lease.id}:${lease.holder}`;

type Arg = string | number;

/** The connection with fail-closed error handling: every call answers or throws StateUnavailableError. */
class Connection {
  readonly client: Redis;
  #subscriber: Redis | undefined;
  #subscribed: Promise<unknown> | undefined;
  #down = false;
  #closing = false;
  /** The socket is corked until the next tick (#batch). */
  #corked = false;

  constructor(
    url: string,
    private readonly options: RedisStateOptions,
  ) {
    this.client = new Redis(url, this.#clientOptions());
    this.client.on("error", (error: Error) => this.#onDown((error as NodeJS.ErrnoException).code ?? error.name));
    this.client.on("close", () => {
      if (!this.#closing) this.#onDown("connection closed");
    });
    this.client.on("ready", () => {
      if (this.#down) log.info("shared state (Redis) is reachable again");
      this.#down = false;
    });
  }

  #clientOptions() {
    const maxDelay = this.options.maxReconnectDelayMs ?? 2_000;
    return {
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.options.commandTimeoutMs ?? 2_000,
      connectTimeout: this.options.connectTimeoutMs ?? 5_000,
      // On close, how long a socket that was ended may take to close before it is destroyed. With
      // ioredis's default (2 s) a process whose Redis was down stayed alive that long after closing:
      // the socket it ends had closed already, so the timer always ran out.
      disconnectTimeout: 200,
      retryStrategy: (attempt: number) => Math.min(25 * 2 ** Math.min(attempt, 10), maxDelay),
      // READONLY: this connection reached a replica after a failover; reconnect (without resending).
      reconnectOnError: (error: Error) => error.message.startsWith("READONLY"),
    };
  }

  /**
   * Commands issued until the work under way waits for I/O go to Redis in one write: the socket is
   * corked now and uncorked on the next tick, which comes once the current chain of callbacks and
   * promise reactions has run. A write to a socket is a system call that costs far more than a
   * command (about 0.2 ms each on a small VM): a confirmed deletion's token claim and deletion lock
   * share one, and so do the lock's release and the token's spend, which then leave after the
   * result was written to the client.
   */
  #batch(): void {
    const stream = this.client.stream;
    if (this.#corked || typeof stream?.cork !== "function") return;
    this.#corked = true;
    stream.cork();
    process.nextTick(() => {
      this.#corked = false;
      stream.uncork();
    });
  }

  #onDown(reason: string): void {
    // One line per outage; the URL (which may hold a password) is never part of it.
    if (this.#down) return;
    this.#down = true;
    log.warn("shared state (Redis) is unreachable: destructive calls are refused until it is back", { reason });
  }

  /**
   * A subscriber connection for decisions (created on first use; it resubscribes after
   * reconnecting). Resolves once subscribed, so that a decision published later is heard.
   */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<unknown> {
    if (this.#subscribed) return this.#subscribed;
    const sub = this.client.duplicate({ enableOfflineQueue: true });
    sub.on("error", () => {});
    sub.on("message", (_channel: string, message: string) => onMessage(message));
    this.#subscriber = sub;
    this.#subscribed = sub.subscribe(channel);
    // A failed subscription is retried by the next waiter.
    this.#subscribed.catch(() => {
      this.#subscribed = undefined;
      sub.disconnect();
    });
    return this.#subscribed;
  }

  async run<T>(what: string, call: (client: Redis) => Promise<T>): Promise<T> {
    if (this.client.status !== "ready")
      throw new StateUnavailableError(`The shared state (Redis) is not reachable, so ${what} could not be done.`);
    this.#batch();
    try {
      return await call(this.client);
    } catch (error) {
      throw new StateUnavailableError(`The shared state (Redis) did not answer, so whether ${what} was done is unknown.`, {
        cause: error,
        mayHaveApplied: true,
      });
    }
  }

  /** Runs a script by its SHA; loads it when Redis does not know it (first use, or after a restart). */
  eval(what: string, s: Script, keys: string[], args: Arg[]): Promise<unknown> {
    return this.run(what, async (client) => {
      try {
        return await client.evalsha(s.sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
        return await client.eval(s.source, keys.length, ...keys, ...args);
      }
    });
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#subscriber?.disconnect();
    this.client.disconnect();
  }
}

class RedisTokens implements TokenStore {
  readonly #waiters = new Map<string, Set<() => void>>();

  constructor(
    private readonly c: Connection,
    private readonly prefix: string,
    private readonly timings: Required<StateTimings>,
  ) {}

  #token = (token: string) => `${this.prefix}tok:${hash(token)}`;
  #page = (pageId: string) => `${this.prefix}page:${hash(pageId)}`;
  get #channel() {
    return `${this.prefix}decided`;
  }

  async issue(token: string, issue: TokenIssue): Promise<{ expiresAt: number }> {
    const expiresAt = Date.now() + issue.ttlMs;
    const fields: Arg[] = ["owner", issue.owner, "binding", issue.binding, "exp", expiresAt, "state", "issued", "claims", 0];
    if (issue.payload !== undefined) fields.push("payload", JSON.stringify(issue.payload));
    const approval = issue.approval;
    if (approval) {
      fields.push("page", approval.pageId, "ph", hash(approval.pageId), "pstate", "pending", "formKey", approval.formKey);
      fields.push("items", JSON.stringify(approval.items));
      if (approval.summary) fields.push("summary", JSON.stringify(approval.summary));
      if (approval.requester) fields.push("requester", JSON.stringify(approval.requester));
      if (approval.challenge) fields.push("challenge", approval.challenge);
      if (approval.passkeyRequired) fields.push("passkey", "required");
      if (approval.dryRun) fields.push("dryrun", "1");
    }
    const key = this.#token(token);
    const created = await this.c.eval(
      "issuing a confirmation token",
      SCRIPTS.issue,
      [key, approval ? this.#page(approval.pageId) : key],
      [expiresAt + this.timings.retainMs, ...fields],
    );
    if (created !== 1) throw new Error("a token or approval page with this id exists already");
    return { expiresAt };
  }

  async claim(token: string, binding: string, owner: string): Promise<TokenClaimResult> {
    const key = this.#token(token);
    const reply = (await this.c.eval("claiming the confirmation token", SCRIPTS.claim, [key], [binding, owner, Date.now(), leaseId()])) as (
      | string
      | null
    )[];
    const [kind, a, b, page, approver, decidedAt, passkey] = reply;
    if (kind === "approval_pending") return { ok: false, reason: "approval_pending", pageId: String(a), expiresAt: Number(b) };
    // {'rejected', approver, payload, repeat}: the third reply element is the repeat flag here.
    if (kind === "rejected")
      return {
        ok: false,
        reason: "rejected",
        ...(typeof a === "string" ? { approver: JSON.parse(a) as Identity } : {}),
        ...(typeof b === "string" ? { payload: JSON.parse(b) as JsonValue } : {}),
        ...(page === "1" ? { repeat: true as const } : {}),
      };
    if (kind === "used") return { ok: false, reason: "used", ...(typeof a === "string" ? { payload: JSON.parse(a) as JsonValue } : {}) };
    if (kind !== "ok") return { ok: false, reason: kind as Exclude<ClaimRefusal, "rejected" | "used"> };
    const claimId = String(a);
    const settle = (state: "spent" | "issued") => async () => {
      await this.c.eval(state === "spent" ? "spending the token" : "releasing the token", SCRIPTS.settle, [key], [claimId, state]);
    };
    return {
      ok: true,
      ...(typeof b === "string" ? { payload: JSON.parse(b) as JsonValue } : {}),
      approved: typeof page === "string",
      ...(typeof approver === "string" ? { approver: JSON.parse(approver) as Identity } : {}),
      ...(typeof decidedAt === "string" ? { decidedAt: Number(decidedAt) } : {}),
      ...(typeof passkey === "string" ? { passkey } : {}),
      claim: { spend: settle("spent"), release: settle("issued") },
    };
  }

  /** The token key behind a page id, if the page exists. */
  async #pageKey(pageId: string): Promise<string | undefined> {
    return (await this.c.run("reading the approval page", (client) => client.get(this.#page(pageId)))) ?? undefined;
  }

  async page(pageId: string): Promise<ApprovalView | undefined> {
    const key = await this.#pageKey(pageId);
    if (!key) return undefined;
    const [page, state, exp, formKey, items, summary, requester, approver, challenge, passkey, dryRun] = await this.c.run(
      "reading the approval page",
      (client) =>
        client.hmget(
          key,
          "page",
          "pstate",
          "exp",
          "formKey",
          "items",
          "summary",
          "requester",
          "approver",
          "challenge",
          "passkey",
          "dryrun",
        ),
    );
    if (page !== pageId || !state || !exp || !formKey || !items) return undefined;
    const expiresAt = Number(exp);
    return {
      items: JSON.parse(items) as ConfirmationItem[],
      ...(summary ? { summary: JSON.parse(summary) as string[] } : {}),
      state: Date.now() >= expiresAt ? "expired" : (state as ApprovalState),
      expiresAt,
      formKey,
      ...(requester ? { requester: JSON.parse(requester) as Identity } : {}),
      ...(approver ? { approver: JSON.parse(approver) as Identity } : {}),
      ...(challenge ? { challenge } : {}),
      ...(passkey === "required" ? { passkeyRequired: true } : {}),
      ...(dryRun === "1" ? { dryRun: true } : {}),
    };
  }

  async decide(
    pageId: string,
    formKey: string,
    choice: "approve" | "reject",
    approver?: Identity,
    options: DecideOptions = {},
  ): Promise<DecideResult> {
    const key = await this.#pageKey(pageId);
    if (!key) return { ok: false, reason: "unknown" };
    const stored = await this.c.run("reading the approval page", (client) => client.hget(key, "formKey"));
    if (stored === null) return { ok: false, reason: "unknown" };
    if (!sameSecret(formKey, stored)) return { ok: false, reason: "forged" };
    const decision = choice === "approve" ? "approved" : "rejected";
    const [kind, state] = (await this.c.eval(
      "recording the decision",
      SCRIPTS.decide,
      [key],
      [
        pageId,
        decision,
        Date.now(),
        this.#channel,
        hash(pageId),
        approver ? JSON.stringify(approver) : "",
        options.passkeyVerified === undefined ? "" : options.passkeyVerified ? "1" : "0",
        options.passkeyId ?? "",
      ],
    )) as string[];
    if (kind === "ok") return { ok: true, state: decision };
    if (kind === "decided") return { ok: false, reason: "decided", state: state as ApprovalState };
    if (kind === "passkey_required") return { ok: false, reason: "passkey_required" };
    return { ok: false, reason: kind === "expired" ? "expired" : "unknown" };
  }

  async withdraw(token: string, owner: string): Promise<void> {
    await this.c.eval("withdrawing the confirmation token", SCRIPTS.withdraw, [this.#token(token)], [owner, this.#channel]);
  }

  async discard(token: string, owner: string): Promise<void> {
    await this.c.eval(
      "discarding the confirmation token",
      SCRIPTS.discard,
      [this.#token(token)],
      [owner, this.#channel, `${this.prefix}page:`],
    );
  }

  async waitForDecision(pageId: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<DecisionOutcome> {
    if (options.signal?.aborted) return "aborted";
    const id = hash(pageId);
    const subscribed = this.c.subscribe(this.#channel, (message) => {
      for (const wake of this.#waiters.get(message) ?? []) wake();
    });
    const outcome = async (): Promise<DecisionOutcome | undefined> => {
      const key = await this.#pageKey(pageId);
      const state = key ? await this.c.run("reading the decision", (client) => client.hget(key, "pstate")) : null;
      if (state === null || state === "withdrawn") return "gone";
      return state === "pending" ? undefined : (state as "approved" | "rejected");
    };
    return new Promise((resolve) => {
      let delay = this.timings.pollMinMs;
      let poll: NodeJS.Timeout | undefined;
      let done = false;
      const waiters = this.#waiters.get(id) ?? new Set();
      this.#waiters.set(id, waiters);
      const finish = (result: DecisionOutcome) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearTimeout(poll);
        waiters.delete(check);
        if (waiters.size === 0) this.#waiters.delete(id);
        options.signal?.removeEventListener("abort", onAbort);
        resolve(result);
      };
      // While Redis is unreachable nothing is decided here: the wait goes on (and may time out).
      // One read at a time: a message arriving during a read asks for one more read after it.
      let reading = false;
      let again = false;
      const check = () => {
        if (reading) {
          again = true;
          return;
        }
        reading = true;
        clearTimeout(poll);
        const next = (result?: DecisionOutcome) => {
          reading = false;
          if (result) finish(result);
          else if (again) {
            again = false;
            check();
          } else schedule();
        };
        outcome().then(next, () => next());
      };
      const schedule = () => {
        if (done) return;
        poll = setTimeout(check, delay);
        delay = Math.min(delay * 2, this.timings.pollMaxMs);
      };
      const onAbort = () => finish("aborted");
      const timer = setTimeout(() => finish("timeout"), options.timeoutMs);
      waiters.add(check);
      options.signal?.addEventListener("abort", onAbort, { once: true });
      // The first read once subscribed: a decision after it is then announced to this replica.
      subscribed.then(check, check);
    });
  }
}

class RedisChallenges implements ChallengeStore {
  constructor(
    private readonly c: Connection,
    private readonly prefix: string,
  ) {}

  async put(id: string, value: JsonValue, ttlMs: number): Promise<void> {
    await this.c.run("storing the challenge", (client) => client.set(`${this.prefix}ch:${hash(id)}`, JSON.stringify(value), "PX", ttlMs));
  }

  async take(id: string): Promise<JsonValue | undefined> {
    const value = await this.c.run("taking the challenge", (client) => client.getdel(`${this.prefix}ch:${hash(id)}`));
    return value === null ? undefined : (JSON.parse(value) as JsonValue);
  }
}

class RedisSessions implements SessionStore {
  constructor(
    private readonly c: Connection,
    private readonly prefix: string,
  ) {}

  #key = (id: string) => `${this.prefix}ses:${hash(id)}`;

  async put(id: string, value: JsonValue, ttlMs: number): Promise<void> {
    await this.c.run("storing the sign-in", (client) => client.set(this.#key(id), JSON.stringify(value), "PX", Math.max(1, ttlMs)));
  }

  async get(id: string): Promise<JsonValue | undefined> {
    const value = await this.c.run("reading the sign-in", (client) => client.get(this.#key(id)));
    return value === null ? undefined : (JSON.parse(value) as JsonValue);
  }

  async delete(id: string): Promise<void> {
    await this.c.run("ending the sign-in", (client) => client.del(this.#key(id)));
  }
}

class RedisCursors implements CursorStore {
  constructor(
    private readonly c: Connection,
    private readonly prefix: string,
    private readonly retainMs: number,
  ) {}

  async put(cursor: string, entry: CursorEntry, ttlMs: number): Promise<{ expiresAt: number }> {
    const key = `${this.prefix}cur:${hash(cursor)}`;
    const expiresAt = Date.now() + ttlMs;
    const value = JSON.stringify({ ...entry, expiresAt });
    await this.c.run("storing the search cursor", (client) => client.set(key, value, "PXAT", expiresAt + this.retainMs));
    return { expiresAt };
  }

  async get(cursor: string, owner: string, criteria: string): Promise<CursorResult> {
    const value = await this.c.run("reading the search cursor", (client) => client.get(`${this.prefix}cur:${hash(cursor)}`));
    const stored = value === null ? undefined : (JSON.parse(value) as CursorEntry & { expiresAt: number });
    return cursorVerdict(stored, { owner, criteria, now: Date.now() });
  }
}

class RedisLeases implements LeaseStore {
  constructor(
    private readonly c: Connection,
    private readonly prefix: string,
  ) {}

  #key = (name: string) => leaseKey(this.prefix, name);
  #value = leaseValue;

  async acquire(name: string, holder: string, leaseMs: number): Promise<Lease | undefined> {
    const id = leaseId();
    const fence = await this.c.eval(
      `taking the lease ${name}`,
      SCRIPTS.acquire,
      [this.#key(name), `${this.prefix}fence:${name}`],
      [`${id}:${holder}`, leaseMs],
    );
    return typeof fence === "number" ? { name, holder, fence, id } : undefined;
  }

  async renew(lease: Lease, leaseMs: number): Promise<boolean> {
    return (
      (await this.c.eval(`renewing the lease ${lease.name}`, SCRIPTS.renew, [this.#key(lease.name)], [this.#value(lease), leaseMs])) === 1
    );
  }

  async check(lease: Lease, minRemainingMs = 0): Promise<boolean> {
    const remaining = await this.c.eval(
      `checking the lease ${lease.name}`,
      SCRIPTS.remaining,
      [this.#key(lease.name)],
      [this.#value(lease)],
    );
    return typeof remaining === "number" && remaining > minRemainingMs;
  }

  async release(lease: Lease): Promise<void> {
    await this.c.eval(`releasing the lease ${lease.name}`, SCRIPTS.release, [this.#key(lease.name)], [this.#value(lease)]);
  }

  async holder(name: string): Promise<{ holder: string; fence: number; remainingMs: number } | undefined> {
    const reply = (await this.c.eval(`reading the lease ${name}`, SCRIPTS.holder, [this.#key(name)], [])) as [string, number] | null;
    if (!reply) return undefined;
    const [value, remainingMs] = reply;
    const [fence = "", , ...holder] = value.split(":");
    return { holder: holder.join(":"), fence: Number(fence), remainingMs };
  }
}

class RedisJobRecords implements JobRecords {
  readonly kind = "redis";

  constructor(
    private readonly c: Connection,
    private readonly prefix: string,
  ) {}

  #key = (jobId: string, part: string) => `${this.prefix}job:${jobId}:${part}`;
  get #running() {
    return `${this.prefix}jobs:running`;
  }

  ids(): Promise<string[]> {
    return this.c.run("listing the erasure jobs", (client) => client.smembers(`${this.prefix}jobs`));
  }

  running(): Promise<string[]> {
    return this.c.run("listing the running erasure jobs", (client) => client.smembers(this.#running));
  }

  async create(jobId: string, plan: object): Promise<boolean> {
    const created = await this.c.eval(
      "recording the job's plan",
      SCRIPTS.jobCreate,
      [this.#key(jobId, "plan"), `${this.prefix}jobs`],
      [JSON.stringify(plan), jobId],
    );
    return created === 1;
  }

  async plan(jobId: string): Promise<unknown> {
    const text = await this.c.run("reading the job's plan", (client) => client.get(this.#key(jobId, "plan")));
    return text === null ? undefined : JSON.parse(text);
  }

  async journal(jobId: string): Promise<unknown[]> {
    const lines = await this.c.run("reading the job's journal", (client) => client.lrange(this.#key(jobId, "journal"), 0, -1));
    return lines.map((line) => JSON.parse(line) as unknown);
  }

  async append(jobId: string, entry: object, options: { lease?: Lease; running?: boolean } = {}): Promise<void> {
    const written = await this.c.eval(
      "writing the job's journal",
      SCRIPTS.jobAppend,
      [this.#key(jobId, "journal"), leaseKey(this.prefix, jobLease(jobId)), this.#running],
      [
        JSON.stringify(entry),
        options.lease ? leaseValue(options.lease) : "",
        options.running === undefined ? "" : options.running ? "1" : "0",
        jobId,
      ],
    );
    if (written !== 1) throw new LeaseLostError(`the lease of job ${jobId} is no longer this replica's`);
  }

  async requestCancel(jobId: string, entry: object): Promise<void> {
    await this.c.eval(
      "recording the cancellation",
      SCRIPTS.jobCancel,
      [this.#key(jobId, "journal"), this.#key(jobId, "cancel")],
      [JSON.stringify(entry)],
    );
  }

  async cancelRequested(jobId: string): Promise<boolean> {
    return (await this.c.run("reading the cancellation", (client) => client.exists(this.#key(jobId, "cancel")))) === 1;
  }

  async putReceipt(jobId: string, receipt: { sha256: string; json: Iterable<string>; markdown: Iterable<string> }): Promise<StoredReceipt> {
    const key = this.#key(jobId, "receipt");
    const json = [...receipt.json].join("");
    const markdown = [...receipt.markdown].join("");
    await this.c.run("storing the receipt", (client) => client.hset(key, "json", json, "md", markdown, "sha256", receipt.sha256));
    return { sha256: receipt.sha256, json: `${key}#json`, markdown: `${key}#md` };
  }

  async receipt(jobId: string): Promise<StoredReceipt | undefined> {
    const key = this.#key(jobId, "receipt");
    const sha256 = await this.c.run("reading the receipt", (client) => client.hget(key, "sha256"));
    return sha256 === null ? undefined : { sha256, json: `${key}#json`, markdown: `${key}#md` };
  }

  async receiptText(jobId: string, format: "json" | "md"): Promise<string | undefined> {
    return (await this.c.run("reading the receipt", (client) => client.hget(this.#key(jobId, "receipt"), format))) ?? undefined;
  }

  async putNote(jobId: string, name: string, value: unknown): Promise<void> {
    await this.c.run("storing a note of the job", (client) => client.hset(this.#key(jobId, "notes"), name, JSON.stringify(value)));
  }

  async note(jobId: string, name: string): Promise<unknown> {
    const text = await this.c.run("reading a note of the job", (client) => client.hget(this.#key(jobId, "notes"), name));
    return text === null ? undefined : (JSON.parse(text) as unknown);
  }

  async release(): Promise<void> {}

  async close(): Promise<void> {}
}

class RedisPasskeys implements PasskeyRecords {
  constructor(
    private readonly c: Connection,
    private readonly prefix: string,
  ) {}

  get #key() {
    return `${this.prefix}passkeys`;
  }

  async list(): Promise<PasskeyRecord[]> {
    const all = await this.c.run("reading the registered passkeys", (client) => client.hgetall(this.#key));
    const found: PasskeyRecord[] = [];
    for (const [field, json] of Object.entries(all)) {
      if (!field.startsWith("pk:")) continue;
      const id = field.slice(3);
      const used = all[`used:${id}`];
      const stored = JSON.parse(json) as Omit<PasskeyRecord, "counter" | "lastUsedAt">;
      found.push({ ...stored, id, counter: Number(all[`ctr:${id}`] ?? 0), ...(used ? { lastUsedAt: used } : {}) });
    }
    return found.sort((x, y) => x.createdAt.localeCompare(y.createdAt) || x.id.localeCompare(y.id));
  }

  async add(passkey: PasskeyRecord): Promise<boolean> {
    const { counter, lastUsedAt: _unused, ...stored } = passkey;
    const added = await this.c.eval(
      "registering the passkey",
      SCRIPTS.passkeyAdd,
      [this.#key],
      [passkey.id, JSON.stringify(stored), counter],
    );
    return added === 1;
  }

  async delete(id: string): Promise<boolean> {
    const removed = await this.c.run("removing the passkey", (client) => client.hdel(this.#key, `pk:${id}`, `ctr:${id}`, `used:${id}`));
    return removed > 0;
  }

  async recordUse(id: string, counter: number, at: Date): Promise<void> {
    await this.c.eval("recording the passkey's use", SCRIPTS.passkeyUse, [this.#key], [id, counter, at.toISOString()]);
  }

  async userId(): Promise<string> {
    const made = randomBytes(16).toString("base64url");
    return this.c.run("reading the passkeys' user handle", async (client) => {
      await client.hsetnx(this.#key, "user", made);
      return (await client.hget(this.#key, "user")) ?? made;
    });
  }
}

export class RedisState implements SharedState {
  readonly kind = "redis";
  readonly tokens: TokenStore;
  readonly challenges: ChallengeStore;
  readonly sessions: SessionStore;
  readonly cursors: CursorStore;
  readonly leases: LeaseStore;
  readonly jobs: JobRecords;
  readonly passkeys: PasskeyRecords;
  readonly #connection: Connection;

  constructor(options: RedisStateOptions) {
    const prefix = options.prefix ?? "vcc:";
    const timings = {
      retainMs: options.retainMs ?? DEFAULT_RETAIN_MS,
      pollMinMs: options.pollMinMs ?? 100,
      pollMaxMs: options.pollMaxMs ?? 2_000,
    };
    this.#connection = new Connection(options.url, options);
    this.tokens = new RedisTokens(this.#connection, prefix, timings);
    this.challenges = new RedisChallenges(this.#connection, prefix);
    this.sessions = new RedisSessions(this.#connection, prefix);
    this.cursors = new RedisCursors(this.#connection, prefix, timings.retainMs);
    this.leases = new RedisLeases(this.#connection, prefix);
    this.jobs = new RedisJobRecords(this.#connection, prefix);
    this.passkeys = new RedisPasskeys(this.#connection, prefix);
  }

  async ping(): Promise<void> {
    await this.#connection.run("reaching it", (client) => client.ping());
  }

  close(): Promise<void> {
    return this.#connection.close();
  }
}
