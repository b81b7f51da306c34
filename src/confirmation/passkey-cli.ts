// `vcc-interaction-content-mcp passkey add|list|remove <id>`: managing approval passkeys from a
// terminal, the one place a person (and not an assistant through MCP) is sure to be. Output goes to
// stdout: this is a command, not the serving process.

import { StateUnavailableError } from "../state/types.js";
import { startEnrolment } from "./passkey-enrolment.js";
import { PasskeyFileError, PasskeyStore, type Passkeys } from "./passkeys.js";

export const PASSKEY_USAGE = `Usage: vcc-interaction-content-mcp passkey add | list | remove <id>

  add           print a one-time link (valid 5 minutes) to register a passkey in a browser on this
                computer; with passkeys already registered, one of them must confirm first
  list          show the registered passkeys
  remove <id>   remove a passkey (its id from list, or the first 8+ characters of it)

Passkeys are kept in <data dir>/passkeys/ (VCC_DATA_DIR), or with VCC_STATE_URL (replicas) in the
shared state, for every replica. The server asks for one to approve deletions when
VCC_APPROVAL_PASSKEY=required.
`;

interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Where the passkeys are: `passkeys` (the shared state's, with VCC_STATE_URL), else those of `dataDir`. */
type Place = { dataDir: string; passkeys?: Passkeys };

/** Runs the subcommand; resolves to the exit code. */
export async function runPasskeyCommand(args: string[], options: Place & Output): Promise<number> {
  try {
    return await run(args, options);
  } catch (error) {
    if (error instanceof StateUnavailableError) {
      options.err(`vcc-interaction-content-mcp passkey: ${error.message} Nothing was changed; try again when it is reachable.\n`);
      return 1;
    }
    if (!(error instanceof PasskeyFileError)) throw error;
    options.err(`vcc-interaction-content-mcp passkey: ${error.message}\n`);
    return 1;
  }
}

async function run(args: string[], options: Place & Output): Promise<number> {
  const { out, err } = options;
  const store = options.passkeys ?? new PasskeyStore(options.dataDir);
  const [command, ...rest] = args;
  switch (command) {
    case "add": {
      if (rest.length) break;
      const enrolment = await startEnrolment({ store });
      const minutes = Math.round((enrolment.expiresAt.getTime() - Date.now()) / 60_000);
      out(
        `Open this link in a browser on this computer within ${minutes} minutes to register a passkey for approving deletions:\n\n  ${enrolment.url}\n\nThe link works once. Waiting (Ctrl+C to stop)...\n`,
      );
      const stop = () => void enrolment.close();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      const result = await enrolment.done;
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      await enrolment.close();
      if (result.kind === "enrolled") {
        out(`Passkey added: ${result.passkey.id}\nIt is stored in ${store.location}.\n`);
        return 0;
      }
      err(
        result.kind === "expired"
          ? "The link expired or was stopped: no passkey was added.\n"
          : "Too many failed attempts: no passkey was added.\n",
      );
      return 1;
    }
    case "list": {
      if (rest.length) break;
      const passkeys = await store.list();
      if (!passkeys.length) {
        out("No passkeys registered. Add one with: vcc-interaction-content-mcp passkey add\n");
        return 0;
      }
      for (const p of passkeys) out(`${p.id}  added ${p.createdAt}${p.lastUsedAt ? `, last used ${p.lastUsedAt}` : ", never used"}\n`);
      return 0;
    }
    case "remove": {
      const [id, ...extra] = rest;
      if (!id || extra.length) break;
      const removed = await store.remove(id);
      if (!removed) {
        err(`No registered passkey has the id '${id}' (see: vcc-interaction-content-mcp passkey list).\n`);
        return 1;
      }
      const left = (await store.list()).length;
      out(
        `Removed passkey ${removed.id}.${left ? "" : " No passkey is registered now: with VCC_APPROVAL_PASSKEY=required, deletions are refused until one is added."}\n`,
      );
      return 0;
    }
  }
  err(PASSKEY_USAGE);
  return 2;
}
