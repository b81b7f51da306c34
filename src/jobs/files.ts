// Where erasure jobs live on disk: the shared data directory (src/data-dir.ts: owner-only
// directories, atomic writes), and an append-only journal whose every line is on disk before
// append() resolves.
import { type FileHandle, open } from "node:fs/promises";
import { dirname } from "node:path";
import type { Config } from "../config.js";
import { dataDirOf, PRIVATE_FILE_MODE, syncDir } from "../data-dir.js";

export { APP_DIR_NAME, defaultDataDir, ensurePrivateDir, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, writeFileAtomic } from "../data-dir.js";

/** The engine's settings from the server's configuration: VCC_DATA_DIR, VCC_JOB_APPROVAL_TTL_HOURS, VCC_DRY_RUN. */
export function jobSettings(config: Pick<Config, "jobs" | "controls">): {
  dataDir: string;
  approvalTtlHours: number;
  dryRun: boolean;
} {
  return { dataDir: dataDirOf(config), approvalTtlHours: config.jobs.approvalTtlHours, dryRun: config.controls.dryRun };
}

/** An append-only JSON-lines file: each line is on disk (fdatasync) before append() resolves. */
export class JournalFile {
  readonly path: string;
  #handle: Promise<FileHandle> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** A failed append left the file longer than this, and it could not be cut back yet. */
  #cutTo: number | undefined;
  /** The file ends in a whole record without its "\n" (a crash before it was written): ended first. */
  #unended = false;

  constructor(path: string) {
    this.path = path;
  }

  append(entry: object): Promise<void> {
    const line = `${JSON.stringify(entry)}\n`;
    const next = this.#queue.then(async () => {
      if (!this.#handle) {
        const opening = open(this.path, "a+", PRIVATE_FILE_MODE).then(async (file) => {
          try {
            // A new journal's directory entry must survive a crash too.
            await syncDir(dirname(this.path));
            // A crash while a line was written (power lost) can leave it without its "\n" at the end,
            // and the next line would be appended to it: one line that is not the last and cannot be
            // read. As parseJournal reads it: a last line that parses happened (e.g. a deletion's
            // outcome), and is ended; one cut short did not, and is cut off, as after a failed append.
            const end = await endOfLastLine(file);
            if (end !== undefined) {
              if (await parsesFrom(file, end)) this.#unended = true;
              else this.#cutTo = Math.min(end, this.#cutTo ?? end);
            }
            return file;
          } catch (error) {
            await file.close().catch(() => {});
            throw error;
          }
        });
        this.#handle = opening;
        opening.catch(() => {
          if (this.#handle === opening) this.#handle = undefined;
        });
      }
      const file = await this.#handle;
      // A write that fails part-way leaves part of the line, and the next line would be appended to
      // it: one unreadable line that is not the last, and the job could no longer be loaded
      // (parseJournal). So the file is cut back to where the line began (before the next line, if
      // it cannot be now).
      if (this.#cutTo !== undefined) {
        await file.truncate(this.#cutTo);
        await file.datasync();
        this.#cutTo = undefined;
      }
      const { size } = await file.stat();
      try {
        await file.appendFile(this.#unended ? `\n${line}` : line, "utf8");
        await file.datasync();
        this.#unended = false;
      } catch (error) {
        this.#cutTo = size;
        await file.truncate(size).then(
          () => {
            this.#cutTo = undefined;
          },
          () => {},
        );
        throw error;
      }
    });
    this.#queue = next.catch(() => {});
    return next;
  }

  async close(): Promise<void> {
    await this.#queue;
    const handle = this.#handle;
    this.#handle = undefined;
    if (handle) await (await handle.catch(() => undefined))?.close();
  }
}

/**
 * Where the last whole line of `file` ends (after its "\n"; 0 when there is none), or undefined
 * when the file is empty or ends with a "\n": nothing is cut short.
 */
async function endOfLastLine(file: FileHandle): Promise<number | undefined> {
  const { size } = await file.stat();
  const buffer = Buffer.alloc(Math.min(size, 64 * 1024));
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - buffer.length);
    const { bytesRead } = await file.read(buffer, 0, end - start, start);
    if (bytesRead !== end - start) throw new Error("the journal shrank while its last line was looked for");
    const newline = buffer.lastIndexOf(0x0a, bytesRead - 1);
    if (end === size && newline === bytesRead - 1) return undefined;
    if (newline >= 0) return start + newline + 1;
    end = start;
  }
  return size === 0 ? undefined : 0;
}

/** Whether what `file` holds from `start` to its end is one JSON record (a last line, read as parseJournal does). */
async function parsesFrom(file: FileHandle, start: number): Promise<boolean> {
  const { size } = await file.stat();
  // A record is a few hundred bytes: a longer tail is not one.
  if (size - start > 1_000_000) return false;
  const buffer = Buffer.alloc(size - start);
  const { bytesRead } = await file.read(buffer, 0, buffer.length, start);
  try {
    JSON.parse(buffer.subarray(0, bytesRead).toString("utf8"));
    return true;
  } catch {
    return false;
  }
}

/**
 * The lines of a journal. A last line cut short (the process died while writing it) is dropped: its
 * append never resolved, so nothing after it happened. Any other unreadable line is an error.
 */
export function parseJournal(text: string): unknown[] {
  const lines = text.split("\n");
  const entries: unknown[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (!line.trim()) continue;
    try {
      entries.push(JSON.parse(line));
    } catch (error) {
      const last = lines.slice(i + 1).every((rest) => !rest.trim());
      if (last && !text.endsWith("\n")) break;
      throw new Error(`line ${i + 1} of the journal is not JSON (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  return entries;
}
