// Erasure job records on this machine's disk (the default without VCC_STATE_URL): one directory per
// job under <dataDir>/jobs (0700 directories, 0600 files, atomic writes):
//   <jobId>/plan.json      the approved plan, written once
//   <jobId>/journal.jsonl  append-only; every line fdatasync'ed before append() resolves
//   <jobId>/receipt.json, receipt.md   written when the job ends
//   <jobId>/verify-requested, verification.json   notes: the verification after the job
//   <jobId>/running        the process that runs the job now (holdRun), while it runs it
//   <jobId>/cancel         a cancellation was asked for (the runner reads it before each item)
// The same contract as the Redis records (src/state/redis.ts), tested by one suite
// (test/integration/job-store.test.ts). Leases are for replicas: `lease` is not checked here.
// Several server processes of one machine can share a data directory (each MCP client starts its
// own), so the process that runs a job says so in `running`, and the others neither resume it nor
// take it for interrupted while that process lives (holdRun, runBy).

import { randomBytes } from "node:crypto";
import { type FileHandle, link, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import type { JobRecords, StoredReceipt } from "../state/types.js";
import { ensurePrivateDir, JournalFile, parseJournal, writeFileAtomic } from "./files.js";

/** Who runs a job, as written in its `running` file. */
interface Runner {
  pid: number;
  host: string;
}

/**
 * Whether the process a `running` file names still runs the job. This process: not by that file
 * (holdRun knows the jobs this process runs; a file naming it otherwise was left by an engine of it
 * that stopped without letting go). Another host (a data directory on a shared disk): yes, it
 * cannot be checked from here.
 */
function alive(runner: Runner): boolean {
  if (runner.host !== hostname()) return true;
  if (runner.pid === process.pid) return false;
  try {
    process.kill(runner.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists (another user's); ESRCH: it is gone.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class DiskJobRecords implements JobRecords {
  readonly kind = "disk";
  readonly jobsDir: string;
  readonly #dataDir: string;
  readonly #journals = new Map<string, JournalFile>();
  /** The jobs this process runs (holdRun), so that a second hold of one of them is refused. */
  readonly #running = new Set<string>();

  constructor(dataDir: string) {
    this.#dataDir = dataDir;
    this.jobsDir = join(dataDir, "jobs");
  }

  /** Creates the data directory and its jobs directory (owner-only). */
  async open(): Promise<this> {
    await ensurePrivateDir(this.#dataDir, false);
    await ensurePrivateDir(this.jobsDir, true);
    return this;
  }

  #dir(jobId: string): string {
    if (!JOB_ID.test(jobId)) throw new Error(`'${jobId}' is not a job id`);
    return join(this.jobsDir, jobId);
  }

  #journal(jobId: string): JournalFile {
    let journal = this.#journals.get(jobId);
    if (!journal) {
      journal = new JournalFile(join(this.#dir(jobId), "journal.jsonl"));
      this.#journals.set(jobId, journal);
    }
    return journal;
  }

  async ids(): Promise<string[]> {
    return (await readdir(this.jobsDir)).filter((name) => JOB_ID.test(name)).sort();
  }

  /** The running set is the journal itself here: jobs whose last run, pause or finish line is a run. */
  async running(): Promise<string[]> {
    const running: string[] = [];
    for (const id of await this.ids()) {
      let state = false;
      for (const entry of await this.journal(id).catch(() => [])) {
        const event = (entry as { event?: string }).event;
        if (event === "run") state = true;
        else if (event === "pause" || event === "finish") state = false;
      }
      if (state) running.push(id);
    }
    return running;
  }

  async create(jobId: string, plan: object): Promise<boolean> {
    const dir = this.#dir(jobId);
    if ((await this.plan(jobId)) !== undefined) return false;
    await ensurePrivateDir(dir, true);
    await writeFileAtomic(join(dir, "plan.json"), `${JSON.stringify(plan, null, 2)}\n`);
    return true;
  }

  async plan(jobId: string): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(join(this.#dir(jobId), "plan.json"), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    return JSON.parse(text);
  }

  async journal(jobId: string): Promise<unknown[]> {
    try {
      return parseJournal(await readFile(join(this.#dir(jobId), "journal.jsonl"), "utf8"));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
  }

  append(jobId: string, entry: object): Promise<void> {
    return this.#journal(jobId).append(entry);
  }

  /**
   * A flag the runner (perhaps another process) reads before each item, and the journal line. The flag first: it is what the process running the job reads before each item, and what loading
   * the job reads too, so a process that dies between the two writes has still cancelled the job
   * (the other way round, a journal line without the flag went unseen by the runner).
   */
  async requestCancel(jobId: string, entry: object): Promise<void> {
    await writeFileAtomic(join(this.#dir(jobId), "cancel"), "");
    await this.append(jobId, entry);
  }

  /** The flag only (read before each item: the journal can be long); replaying the journal finds its line too. */
  async cancelRequested(jobId: string): Promise<boolean> {
    try {
      await readFile(join(this.#dir(jobId), "cancel"));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw error;
    }
  }

  /**
   * Marks the job as run by this process (its `running` file, created exclusively with its content:
   * written aside, then linked), unless another live process of this machine runs it: `pid` is that
   * process. A file left by a process that is gone is moved aside and replaced; the move is checked
   * (the same file, by inode) so that two processes replacing it at once cannot both win: the
   * second finds the first one's file, puts it back, and sees it is alive.
   */
  async holdRun(jobId: string): Promise<{ ok: true } | { ok: false; pid: number }> {
    const dir = this.#dir(jobId);
    const path = join(dir, "running");
    const aside = join(dir, `running.${process.pid}.${randomBytes(6).toString("hex")}`);
    // A job being started is held before its plan is written: its directory may not exist yet.
    await ensurePrivateDir(dir, true);
    await writeFileAtomic(aside, `${JSON.stringify({ pid: process.pid, host: hostname() } satisfies Runner)}\n`);
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await link(aside, path);
          this.#running.add(jobId);
          return { ok: true };
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        }
        const seen = await this.#runner(jobId);
        if (!seen) continue;
        if (alive(seen) || (this.#running.has(jobId) && seen.pid === process.pid)) return { ok: false, pid: seen.pid };
        const stale = join(dir, `running.stale.${randomBytes(6).toString("hex")}`);
        try {
          await rename(path, stale);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
          throw error;
        }
        // Another process replaced the stale file meanwhile: put its file back.
        if ((await stat(stale)).ino !== seen.ino) await link(stale, path).catch(() => {});
        await unlink(stale);
      }
      throw new Error(`the job's running file (${path}) keeps changing`);
    } finally {
      await unlink(aside).catch(() => {});
    }
  }

  /** The job no longer runs in this process: its `running` file goes, if it names this process. */
  async releaseRun(jobId: string): Promise<void> {
    this.#running.delete(jobId);
    const runner = await this.#runner(jobId);
    if (runner?.pid === process.pid && runner.host === hostname()) await unlink(join(this.#dir(jobId), "running")).catch(() => {});
  }

  /** The pid of another live process of this machine that runs the job, if one does. */
  async runBy(jobId: string): Promise<number | undefined> {
    const runner = await this.#runner(jobId);
    return runner && alive(runner) ? runner.pid : undefined;
  }

  /** The `running` file's process and inode; undefined when there is none. */
  async #runner(jobId: string): Promise<(Runner & { ino: number }) | undefined> {
    const path = join(this.#dir(jobId), "running");
    let file: FileHandle;
    try {
      file = await open(path, "r");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    try {
      const { ino } = await file.stat();
      const runner = JSON.parse(await file.readFile("utf8")) as Partial<Runner>;
      if (typeof runner.pid === "number" && typeof runner.host === "string") return { pid: runner.pid, host: runner.host, ino };
      throw new Error(`${path} does not name a process`);
    } finally {
      await file.close();
    }
  }

  async putReceipt(jobId: string, receipt: { sha256: string; json: Iterable<string>; markdown: Iterable<string> }): Promise<StoredReceipt> {
    const json = join(this.#dir(jobId), "receipt.json");
    const markdown = join(this.#dir(jobId), "receipt.md");
    await writeFileAtomic(json, receipt.json);
    await writeFileAtomic(markdown, receipt.markdown);
    return { sha256: receipt.sha256, json, markdown };
  }

  async receipt(jobId: string): Promise<StoredReceipt | undefined> {
    const json = join(this.#dir(jobId), "receipt.json");
    const markdown = join(this.#dir(jobId), "receipt.md");
    try {
      const receipt = JSON.parse(await readFile(json, "utf8")) as { sha256: string };
      await readFile(markdown);
      return { sha256: receipt.sha256, json, markdown };
    } catch {
      return undefined;
    }
  }

  async receiptText(jobId: string, format: "json" | "md"): Promise<string | undefined> {
    return readFile(join(this.#dir(jobId), format === "json" ? "receipt.json" : "receipt.md"), "utf8").catch(() => undefined);
  }

  /** A file of the job's directory named after the note (e.g. verify-requested, verification.json). */
  async putNote(jobId: string, name: string, value: unknown): Promise<void> {
    if (!/^[a-z][a-z.-]*$/.test(name)) throw new Error(`'${name}' is not a note name`);
    await ensurePrivateDir(this.#dir(jobId), true);
    await writeFileAtomic(join(this.#dir(jobId), name), `${JSON.stringify(value, null, 2)}\n`);
  }

  async note(jobId: string, name: string): Promise<unknown> {
    if (!/^[a-z][a-z.-]*$/.test(name)) throw new Error(`'${name}' is not a note name`);
    const text = await readFile(join(this.#dir(jobId), name), "utf8").catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  }

  async release(jobId: string): Promise<void> {
    const journal = this.#journals.get(jobId);
    this.#journals.delete(jobId);
    await journal?.close();
  }

  async close(): Promise<void> {
    const all = [...this.#journals.values()];
    this.#journals.clear();
    await Promise.all(all.map((journal) => journal.close()));
  }
}
