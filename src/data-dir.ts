// The server's data directory (VCC_DATA_DIR, default the user's state directory) and the two ways
// this program writes there: directories only the owner can enter, and files written whole or not
// at all (temp + fsync + rename, 0600). Used by erasure jobs (src/jobs/) and passkeys (src/confirmation/).
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import type { Config } from "./config.js";
import { log } from "./log.js";

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

/** The data directory of this configuration: VCC_DATA_DIR, or the user's state directory. */
export function dataDirOf(config: Pick<Config, "jobs">): string {
  return config.jobs.dataDir ?? defaultDataDir();
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
    log.warn("the data directory can be read by other users; this server keeps its files in private subdirectories", { path });
}

/** Makes a rename or a new file in the directory durable (a no-op where directories cannot be synced). */
export async function syncDir(path: string): Promise<void> {
  if (!POSIX) return;
  const dir = await open(path, "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Writes the file whole or not at all: a temporary file, flushed, renamed over the target (0600). */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const file = await open(temp, "wx", PRIVATE_FILE_MODE);
  try {
    await file.writeFile(text, "utf8");
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
