// Erasure job records on this machine's disk (the default without VCC_STATE_URL): one directory per
// job under <dataDir>/jobs (0700 directories, 0600 files, atomic writes):
//   <jobId>/plan.json      the approved plan, written once
//   <jobId>/journal.jsonl  append-only; every line fdatasync'ed before append() resolves
//   <jobId>/receipt.json, receipt.md   written when the job ends
//   <jobId>/verify-requested, verification.json   notes: the verification after the job
// The same contract as the Redis records (src/state/redis.ts), tested by one suite
// (test/integration/job-store.test.ts). Leases are for replicas: one machine has no other holder,
// so `lease` is not checked here.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { JobRecords, StoredReceipt } from "../state/types.js";
import { ensurePrivateDir, JournalFile, parseJournal, writeFileAtomic } from "./files.js";

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class DiskJobRecords implements JobRecords {
  readonly kind = "disk";
  readonly jobsDir: string;
  readonly #dataDir: string;
  readonly #journals = new Map<string, JournalFile>();

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

  async requestCancel(jobId: string, entry: object): Promise<void> {
    await this.append(jobId, entry);
  }

  async cancelRequested(jobId: string): Promise<boolean> {
    return (await this.journal(jobId)).some((entry) => (entry as { event?: string }).event === "cancel");
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
