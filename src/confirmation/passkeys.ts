// Registered passkeys: the public keys of the person's authenticators (Touch ID, Windows Hello, a
// security key), kept owner-only in the server's data directory (<data dir>/passkeys/passkeys.json,
// directory 0700, file 0600, written whole or not at all). Only public keys are stored: the file is
// no secret, but whoever can change it decides whose gesture counts, so only this user may write it.
//
// The file is read afresh for each approval, so a passkey added or removed with
// `vcc-interaction-content-mcp passkey add|remove` counts at once, without restarting the server.
// The WebAuthn checks themselves live in webauthn.ts, loaded only when a passkey is used.
//
// With VCC_STATE_URL (replicas), the passkeys live in the shared state instead (`state.passkeys`,
// sharedPasskeys() below): every replica knows the same ones, and a counter raised by a use on one
// replica is seen by all. The `passkey` command loads the same configuration, so it manages those.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Config } from "../config.js";
import { dataDirOf, ensurePrivateDir, writeFileAtomic } from "../data-dir.js";
import type { PasskeyRecord, PasskeyRecords } from "../state/types.js";

/** The relying party: WebAuthn needs a domain, and `localhost` is a secure context over plain http. */
export const RP_ID = "localhost";
export const RP_NAME = "VCC interaction content deletions";

export type StoredPasskey = PasskeyRecord;

/** The registered passkeys, wherever they are kept: a file of the data directory, or the shared state. */
export interface Passkeys {
  /** Where they are kept, in words for the person (never a secret). */
  readonly location: string;
  list(): Promise<StoredPasskey[]>;
  /** Throws PasskeyFileError when this passkey is registered already. */
  add(passkey: StoredPasskey): Promise<void>;
  /** Removes the passkey whose id is `id` or starts with it (at least 8 characters); resolves to the removed one. */
  remove(id: string): Promise<StoredPasskey | undefined>;
  /** After a verified assertion: the authenticator's new counter and when it was used. */
  recordUse(id: string, counter: number, at: Date): Promise<void>;
  /** The user handle for a new registration. */
  userId(): Promise<string>;
}

interface PasskeyFile {
  version: 1;
  /** The WebAuthn user handle of this installation's one user, base64url. */
  userId: string;
  passkeys: StoredPasskey[];
}

export class PasskeyFileError extends Error {
  override name = "PasskeyFileError";
}

export class PasskeyStore implements Passkeys {
  readonly dataDir: string;
  readonly dir: string;
  readonly path: string;
  /** Writes of this process, one after another. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(dataDir: string) {
    this.dataDir = dataDir;
    this.dir = join(dataDir, "passkeys");
    this.path = join(this.dir, "passkeys.json");
  }

  get location(): string {
    return this.path;
  }

  /** The file's content; a missing file is an empty list. A file that cannot be read is an error (never "no passkeys"). */
  async read(): Promise<PasskeyFile> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT")
        return { version: 1, userId: randomBytes(16).toString("base64url"), passkeys: [] };
      throw new PasskeyFileError(`cannot read ${this.path}: ${(error as Error).message}`);
    }
    const parsed = parseFile(text);
    if (!parsed) throw new PasskeyFileError(`${this.path} is not a passkey file this server can read`);
    return parsed;
  }

  async list(): Promise<StoredPasskey[]> {
    return (await this.read()).passkeys;
  }

  async add(passkey: StoredPasskey): Promise<void> {
    await this.#update((file) => {
      if (file.passkeys.some((p) => p.id === passkey.id)) throw new PasskeyFileError("this passkey is already registered");
      file.passkeys.push(passkey);
      return true;
    });
  }

  /** Removes the passkey whose id is `id` or starts with it (at least 8 characters); resolves to the removed one. */
  async remove(id: string): Promise<StoredPasskey | undefined> {
    let removed: StoredPasskey | undefined;
    await this.#update((file) => {
      removed = matching(file.passkeys, id);
      if (removed) file.passkeys = file.passkeys.filter((p) => p !== removed);
      return Boolean(removed);
    });
    return removed;
  }

  /** After a verified assertion: the authenticator's new counter and when it was used. */
  async recordUse(id: string, counter: number, at: Date): Promise<void> {
    await this.#update((file) => {
      const passkey = file.passkeys.find((p) => p.id === id);
      if (!passkey) return false;
      passkey.counter = Math.max(passkey.counter, counter);
      passkey.lastUsedAt = at.toISOString();
      return true;
    });
  }

  /** The user handle for a new registration (kept once the first passkey is saved). */
  async userId(): Promise<string> {
    return (await this.read()).userId;
  }

  /** Read, change, write whole; `change` returning false writes nothing. */
  #update(change: (file: PasskeyFile) => boolean): Promise<void> {
    const next = this.#queue.then(async () => {
      const file = await this.read();
      if (change(file) === false) return;
      await ensurePrivateDir(this.dataDir, false);
      await ensurePrivateDir(this.dir, true);
      await writeFileAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`);
    });
    this.#queue = next.catch(() => {});
    return next;
  }
}

/** The passkey `id` names: exactly, or as a prefix of at least 8 characters; ambiguous → PasskeyFileError. */
function matching(passkeys: readonly StoredPasskey[], id: string): StoredPasskey | undefined {
  const matches = passkeys.filter((p) => p.id === id || (id.length >= 8 && p.id.startsWith(id)));
  if (matches.length > 1) throw new PasskeyFileError(`'${id}' matches ${matches.length} passkeys: give more of the id`);
  return matches[0];
}

/** The passkeys kept in the shared state (VCC_STATE_URL): the same for every replica. */
export function sharedPasskeys(records: PasskeyRecords, location: string): Passkeys {
  return {
    location,
    list: () => records.list(),
    async add(passkey) {
      if (!(await records.add(passkey))) throw new PasskeyFileError("this passkey is already registered");
    },
    async remove(id) {
      const removed = matching(await records.list(), id);
      return removed && (await records.delete(removed.id)) ? removed : undefined;
    },
    recordUse: (id, counter, at) => records.recordUse(id, counter, at),
    userId: () => records.userId(),
  };
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function parseFile(text: string): PasskeyFile | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const file = value as Partial<PasskeyFile>;
  if (file.version !== 1 || typeof file.userId !== "string" || !BASE64URL.test(file.userId) || !Array.isArray(file.passkeys))
    return undefined;
  for (const p of file.passkeys as unknown[]) {
    const passkey = p as Partial<StoredPasskey>;
    if (
      typeof p !== "object" ||
      p === null ||
      typeof passkey.id !== "string" ||
      !BASE64URL.test(passkey.id) ||
      typeof passkey.publicKey !== "string" ||
      !BASE64URL.test(passkey.publicKey) ||
      typeof passkey.counter !== "number" ||
      typeof passkey.createdAt !== "string"
    )
      return undefined;
  }
  return file as PasskeyFile;
}

/** What the approval page needs from passkeys: which may answer, and whether an answer is valid. */
export interface PasskeyGate {
  /** The ids of the registered passkeys (the page asks the browser for one of these). */
  credentialIds(): Promise<string[]>;
  /** Checks a WebAuthn assertion (JSON from the page) for `challenge`, made on `origin` with user verification. */
  verify(assertion: string, challenge: string, origin: string): Promise<{ ok: true; id: string } | { ok: false; reason: string }>;
}

/** The gate over the passkeys in `store`. */
export function passkeyGate(store: Passkeys, now: () => Date = () => new Date()): PasskeyGate {
  return {
    credentialIds: async () => (await store.list()).map((p) => p.id),
    async verify(assertion, challenge, origin) {
      const passkeys = await store.list();
      const { verifyAssertion } = await import("./webauthn.js");
      const result = await verifyAssertion(assertion, { challenge, origin, passkeys });
      if (result.ok) await store.recordUse(result.id, result.counter, now());
      return result.ok ? { ok: true, id: result.id } : result;
    },
  };
}

const processStores = new Map<string, PasskeyStore>();

/**
 * The passkeys this server checks: in the shared state when it keeps them (VCC_STATE_URL), else those
 * of the data directory, one store per directory in this process (so that its writes never overlap).
 */
export function processPasskeys(config: Pick<Config, "jobs" | "state">, state?: { passkeys?: PasskeyRecords }): Passkeys {
  if (state?.passkeys) return sharedPasskeys(state.passkeys, sharedLocation(config.state.keyPrefix));
  return processPasskeyStore(config);
}

/**
 * With replicas (VCC_STATE_URL) the passkeys of the data directory are not used: what to tell the
 * operator at start when that directory has some and the shared state none (they would be refused
 * with passkey_required until they enrol again). Undefined when there is nothing to say (or it
 * cannot be known now: the first approval says what is wrong then).
 */
export async function unsharedPasskeysWarning(config: Pick<Config, "jobs" | "state">, shared: PasskeyRecords): Promise<string | undefined> {
  const store = processPasskeyStore(config);
  const onDisk = await store.list().catch(() => []);
  if (onDisk.length === 0 || (await shared.list().catch(() => [undefined])).length > 0) return undefined;
  return `${onDisk.length} passkey(s) are registered in ${store.path}, but with VCC_STATE_URL the replicas use those in ${sharedLocation(config.state.keyPrefix)}, where none is registered: deletions are refused until one is enrolled there (run \`vcc-interaction-content-mcp passkey add\` with the same VCC_STATE_URL and VCC_STATE_KEY_PREFIX).`;
}

/** How the shared passkeys are named to the person: the key, never the URL (it may carry a password). */
export const sharedLocation = (keyPrefix: string): string => `the shared state (VCC_STATE_URL), key ${keyPrefix}passkeys`;

/** The passkeys of a data directory, one store per directory in this process (so that its writes never overlap). */
export function processPasskeyStore(config: Pick<Config, "jobs">): PasskeyStore {
  const dataDir = dataDirOf(config);
  let store = processStores.get(dataDir);
  if (!store) {
    store = new PasskeyStore(dataDir);
    processStores.set(dataDir, store);
  }
  return store;
}
