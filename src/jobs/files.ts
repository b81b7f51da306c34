// Where erasure jobs live on disk, and the three ways this module writes there: directories only
// the owner can enter, files written whole or not at all (temp + fsync + rename), and an
// append-only journal whose every line is on disk before append() resolves.
import { randomBytes } from "node:crypto";
import { chmod, type FileHandle, mkdir, open, rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import type { Config } from "../config.js";
import { log } from "../log.js";

export const APP_DIR_NAME = "vcc-interaction-content-mcp";
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

const POSIX = process.platform !== "win32";

/**
 * The user's state directory for this program: $XDG_STATE_HOME/<name> (default ~/.local/state/<name>)
 * on Linux and other Unix systems, ~/Library/Application Support/<name> on macOS,
 * %LOCALAPPDATA%\<name>\State on Windows.
 */
export function defaultDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  if (platform === "win32") return join(env.LOCALAPPDATA || join(home, "AppData", "Local"), APP_DIR_NAME, "State");
  if (platform === "darwin") return join(home, "Library", "Application Support", APP_DIR_NAME);
  // The XDG spec says to ignore a relative value.
  const xdg = env.XDG_STATE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, ".local", "state"), APP_DIR_NAME);
}

/** The engine's settings from the server's configuration: VCC_DATA_DIR, VCC_JOB_APPROVAL_TTL_HOURS, VCC_DRY_RUN. */
export function jobSettings(config: Pick<Config, "dataDir" | "jobApprovalTtlHours" | "dryRun">): {
  dataDir: string;
  approvalTtlHours: number;
  dryRun: boolean;
} {
  return { dataDir: config.dataDir ?? defaultDataDir(), approvalTtlHours: config.jobApprovalTtlHours, dryRun: config.dryRun };
}

/**
 * Creates the directory (and missing parents) for the owner only. A directory this module owns
 * (`own`: the jobs directory and each job's) is set to 0700 even if it existed; a data directory the
 * user chose is left as it is, with a warning when others may enter it.
 */
export async function ensurePrivateDir(path: string, own: boolean): Promise<void> {
  await mkdir(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (!POSIX) return;
  if (own) await chmod(path, PRIVATE_DIR_MODE);
  else if (((await stat(path)).mode & 0o077) !== 0)
    log.warn("the data directory can be read by other users; erasure jobs keep their files in a private subdirectory", { path });
}

/** Makes a rename or a new file in the directory durable (a no-op where directories cannot be synced). */
async function syncDir(path: string): Promise<void> {
  if (!POSIX) return;
  const dir = await open(path, "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Writes the file whole or not at all: a temporary file, flushed, renamed over the target (0600). */
export async function writeFileAtomic(path: string, text: string | Iterable<string>): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const file = await open(temp, "wx", PRIVATE_FILE_MODE);
  try {
    if (typeof text === "string") await file.writeFile(text, "utf8");
    else {
      // Pieces (e.g. a receipt's items) written in blocks of about 64 kB: never the whole text at once.
      let block = "";
      for (const piece of text) {
        block += piece;
        if (block.length >= 65_536) {
          await file.write(block, null, "utf8");
          block = "";
        }
      }
      if (block) await file.write(block, null, "utf8");
    }
    await file.sync();
  } catch (error) {
    await file.close();
    await rm(temp, { force: true });
    throw error;
  }
  await file.close();
  await rename(temp, path);
  await syncDir(dirname(path));
}

/** An append-only JSON-lines file: each line is on disk (fdatasync) before append() resolves. */
export class JournalFile {
  readonly path: string;
  #handle: Promise<FileHandle> | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  append(entry: object): Promise<void> {
    const line = `${JSON.stringify(entry)}\n`;
    const next = this.#queue.then(async () => {
      if (!this.#handle) {
        const opening = open(this.path, "a", PRIVATE_FILE_MODE).then(async (file) => {
          // A new journal's directory entry must survive a crash too.
          await syncDir(dirname(this.path));
          return file;
        });
        this.#handle = opening;
        opening.catch(() => {
          if (this.#handle === opening) this.#handle = undefined;
        });
      }
      const file = await this.#handle;
      await file.appendFile(line, "utf8");
      await file.datasync();
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
