// The API's one-deletion-at-a-time rule across replicas (issue 22): the DELETION_LOCK lease of the
// shared state, given to the API client (VccClient's `deletionLock` option) where it is built. Only
// with Redis: with the process's own state the client's in-process queue is the whole rule, and no
// lease round trip is added to a deletion.
//
//   - acquire: takes the lease, or polls for it with a short capped backoff (jittered) until the
//     call's budget is spent (busy) or the call is cancelled; nothing is sent meanwhile.
//   - check, right before every attempt: renews the lease. The renewal is the fencing check: it
//     succeeds only while this acquisition (its fence and id) still holds the name, and leaves it a
//     full lease, longer than the attempt's time limit. A holder that was paused past its lease finds
//     the renewal refused and sends nothing.
//   - while held, the lease is renewed in the background (a third of the lease), so that waits
//     between retries (a Retry-After of up to 30 s) do not let it lapse in a live process.
//   - release after the call; a release that fails is harmless (the lease lapses by itself).
//   - taking turns: a replica that waits announces itself with a short lease of its own (WAITING,
//     renewed at each poll). A replica that released the lock a moment ago (it has deletions back
//     to back, e.g. an erasure job) does not take it again while another replica is announced, so
//     the waiting one gets it at its next poll instead of only when a poll happens to fall into the
//     instant between a release and the next acquisition. Best effort: only who tries is affected,
//     never the lock's exclusion.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { ToolError } from "../core/errors.js";
import type { DeletionLock, HeldDeletionLock } from "../vcc/client.js";
import { errorCancelledBetweenAttempts } from "../vcc/errors.js";
import { pause } from "../vcc/pacer.js";
import { stateUnavailable } from "./index.js";
import { DELETION_LOCK, type Lease, type LeaseStore, type SharedState, StateUnavailableError } from "./types.js";

/** What a lease must have left beyond an attempt's time limit when the attempt is sent. */
export const LEASE_MARGIN_MS = 2_000;
/**
 * A lease is taken this much longer than it must last, so that the first attempt, sent at most this
 * long after the lease was asked for (measured here, before the request left: Redis starts the lease
 * later, never earlier), still has its whole margin without a renewal round trip.
 */
export const FRESH_MS = 25;
/** The lease name a waiting replica announces itself with (see "taking turns" above). */
export const DELETION_WAITING = `${DELETION_LOCK}:waiting`;

export interface DeletionLockOptions {
  /**
   * The lease's length: at least an attempt's time limit (VCC_TIMEOUT_MS) plus LEASE_MARGIN_MS, which
   * is the default. How long deletions wait after a replica died holding it.
   */
  leaseMs?: number;
  /** What the lease must have left beyond an attempt's time limit (default LEASE_MARGIN_MS; tests shorten it). */
  marginMs?: number;
  /** Background renewal while held (default: a third of the lease); 0: none (tests: a paused replica). */
  renewEveryMs?: number;
  /** Polling for a lease another replica holds: first and longest pause. */
  pollMinMs?: number;
  pollMaxMs?: number;
  /** Who holds it, as shown by `leases.holder` (default: host name, process id and a random part). */
  holder?: string;
}

/**
 * The deletion lock over `state` for the API client, or undefined where the client's in-process
 * queue is enough (the state is this process's memory).
 */
export function deletionLockOf(state: SharedState | undefined, options: DeletionLockOptions = {}): DeletionLock | undefined {
  return state?.kind === "redis" ? sharedDeletionLock(state, options) : undefined;
}

/** The shared state was not reachable: nothing was sent (the lease itself may have been taken; it lapses). */
const unavailable = (error: StateUnavailableError, what: string): ToolError => stateUnavailable(error, what, { outcomeKnown: true });

export function sharedDeletionLock(state: SharedState, options: DeletionLockOptions = {}): DeletionLock {
  const { leases } = state;
  const holder = options.holder ?? `${hostname()}:${process.pid}:${randomBytes(6).toString("base64url")}`;
  const pollMinMs = options.pollMinMs ?? 10;
  const pollMaxMs = options.pollMaxMs ?? 250;
  const marginMs = options.marginMs ?? LEASE_MARGIN_MS;
  // A waiter's announcement outlives the pause between two of its polls, with room to spare.
  const waitingMs = 4 * pollMaxMs + 1_000;
  /** When this replica last released the lock; for `waitingMs` after it, an announced waiter goes first. */
  let releasedAt = Number.NEGATIVE_INFINITY;
  /**
   * Whether another replica was announced when this one released the lock (read together with the
   * release): the answer once it came (usually long before the next acquisition), else its promise.
   * An answer already in is used without an await, so that an acquisition started by
   * prepareDeletion is written to Redis at once, ahead of the token's claim.
   */
  let waitingAtRelease: boolean | Promise<boolean> = false;
  /** A release not sent yet (see release): sends it now. */
  let pendingRelease: (() => void) | undefined;

  function held(lease: Lease, leaseMs: number, subject: string, askedAt: Moment): HeldDeletionLock {
    let fresh = true;
    const every = options.renewEveryMs ?? Math.floor(leaseMs / 3);
    const timer =
      every > 0
        ? setInterval(() => {
            leases.renew(lease, leaseMs).then(
              (kept) => {
                if (!kept) clearInterval(timer);
              },
              // Unreachable now: the check before the next attempt will tell.
              () => {},
            );
          }, every)
        : undefined;
    timer?.unref();
    return {
      async check(attemptMs, about = subject) {
        // The first attempt right after the lease was taken: it has its whole lease (and margin) left.
        if (fresh) {
          fresh = false;
          if (since(askedAt) <= FRESH_MS) return undefined;
        }
        const what = `This attempt was not sent, so ${about} was not deleted`;
        let kept: boolean;
        try {
          kept = await leases.renew(lease, Math.max(leaseMs, attemptMs + marginMs));
        } catch (error) {
          if (error instanceof StateUnavailableError) return unavailable(error, what);
          throw error;
        }
        if (kept) return undefined;
        clearInterval(timer);
        return {
          code: "busy",
          message: `${what}: this server no longer held the deployment-wide deletion lock (its lease lapsed, e.g. while the process was paused, and another replica may be deleting now). Try again shortly.`,
        };
      },
      release() {
        clearInterval(timer);
        releasedAt = Date.now();
        // Sent once the work under way has run (setImmediate), so that it leaves after the call's
        // result; this replica's next acquisition sends it first if it comes sooner (flushRelease).
        // A failed release frees nothing and harms nothing: the lease lapses by itself. Who waits is
        // asked in the same breath (pipelined on the connection), for this replica's next acquisition.
        return new Promise<void>((resolve) => {
          const send = () => {
            clearImmediate(deferred);
            if (pendingRelease === send) pendingRelease = undefined;
            const released = leases.release(lease).catch(() => {});
            const asked = Announcement.othersThan(leases, holder).catch(() => false);
            waitingAtRelease = asked;
            void asked.then((waiting) => {
              if (waitingAtRelease === asked) waitingAtRelease = waiting;
            });
            void released.then(resolve);
          };
          const deferred = setImmediate(send);
          pendingRelease?.();
          pendingRelease = send;
        });
      },
    };
  }

  return {
    async acquire({ subject, budgetMs, attemptMs, signal }) {
      // This replica's last release goes first, or this acquisition would find the lock still held.
      pendingRelease?.();
      const leaseMs = Math.max(options.leaseMs ?? 0, attemptMs + marginMs);
      const deadline = Date.now() + budgetMs;
      let delay = pollMinMs;
      const announced = new Announcement(leases, holder, waitingMs);
      let polls = 0;
      for (;;) {
        if (signal?.aborted) {
          await announced.end();
          return { ok: false, error: errorCancelledBetweenAttempts(subject, "delete", 0, false) };
        }
        let lease: Lease | undefined;
        const askedAt = moment();
        try {
          // The first try uses what was read at the last release (once); later polls ask Redis again.
          const atRelease = waitingAtRelease;
          waitingAtRelease = false;
          const first = polls++ === 0;
          const yieldTurn =
            Date.now() - releasedAt < waitingMs &&
            (first ? (typeof atRelease === "boolean" ? atRelease : await atRelease) : await announced.othersWaiting());
          lease = yieldTurn ? undefined : await leases.acquire(DELETION_LOCK, holder, leaseMs + FRESH_MS);
          if (!lease) await announced.renew();
        } catch (error) {
          if (error instanceof StateUnavailableError) {
            await announced.end();
            return { ok: false, error: unavailable(error, `Nothing was sent, so ${subject} was not deleted`) };
          }
          throw error;
        }
        if (lease) {
          await announced.end();
          return { ok: true, held: held(lease, leaseMs, subject, askedAt) };
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          await announced.end();
          return {
            ok: false,
            error: {
              code: "busy",
              message: `Another replica of this server was still deleting after ${Math.round(budgetMs / 1000)} s (VCC accepts one deletion at a time, across all replicas), so this one was not sent: ${subject} was not deleted. Try again shortly.`,
            },
          };
        }
        await pause(Math.min(Math.ceil(delay * (0.5 + Math.random() / 2)), left), signal);
        delay = Math.min(delay * 2, pollMaxMs);
      }
    },
  };
}

/** A point in time on both clocks: the wall clock and the monotonic one. */
interface Moment {
  wall: number;
  mono: number;
}
const moment = (): Moment => ({ wall: Date.now(), mono: performance.now() });
/** Time since `m`, the longer of what either clock says (a clock that was set back cannot shorten it). */
const since = (m: Moment): number => Math.max(Date.now() - m.wall, performance.now() - m.mono);

/** A replica's announcement that it waits for the lock: taken when free, renewed at each poll, ended when done. */
class Announcement {
  #lease: Lease | undefined;

  constructor(
    private readonly leases: LeaseStore,
    private readonly holder: string,
    private readonly leaseMs: number,
  ) {}

  /** Whether another replica is announced (it waits, and has been waiting longer than this one). */
  othersWaiting(): Promise<boolean> {
    return Announcement.othersThan(this.leases, this.holder);
  }

  static async othersThan(leases: LeaseStore, holder: string): Promise<boolean> {
    const waiting = await leases.holder(DELETION_WAITING);
    return waiting !== undefined && waiting.holder !== holder;
  }

  /** Announces this replica (or keeps its announcement) if no other replica is announced. */
  async renew(): Promise<void> {
    if (this.#lease && (await this.leases.renew(this.#lease, this.leaseMs))) return;
    this.#lease = await this.leases.acquire(DELETION_WAITING, this.holder, this.leaseMs);
  }

  /** Withdraws the announcement (best effort: it lapses by itself). */
  async end(): Promise<void> {
    const lease = this.#lease;
    this.#lease = undefined;
    if (lease) await this.leases.release(lease).catch(() => {});
  }
}
