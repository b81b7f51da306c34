// What the erasure-job tests share: plan items as a search would find them in the simulator, a
// private temporary data directory, and the DELETE requests of the simulator's journal per item.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import type { PlanItem } from "../../src/jobs/plan.js";
import { closeJobServices } from "../../src/jobs/service.js";
import type { JournalEntry, SimContent, SimInteraction, Simulator } from "../../src/simulator/server.js";
import { contentPath } from "../../src/vcc/ids.js";

/** Every item the simulator holds now (optionally only of some interactions), with what a search knows of it. */
export function simItems(sim: Simulator, which: (interaction: SimInteraction) => boolean = () => true): PlanItem[] {
  return sim
    .interactions()
    .filter(which)
    .flatMap((i) =>
      i.content.map((c) => ({
        guid: i.guid,
        contentKey: c.contentKey,
        type: c.type,
        contentType: c.contentType,
        contentLength: c.contentLength,
        lastModified: c.lastModified,
        interactionStart: i.start,
        direction: i.direction,
      })),
    );
}

/** Generated interactions (src/simulator/seed.ts generatedGuid): b0000000-… */
export const generated = (i: SimInteraction) => i.guid.startsWith("b0000000-");

/** Content recorded after planning: the API has no upload, so the test adds it to the live data. */
export function addContent(sim: Simulator, guid: string, content: SimContent): void {
  const interaction = sim.interactions().find((i) => i.guid === guid);
  if (!interaction) throw new Error(`no interaction ${guid}`);
  // The live view is read-only by type; a new recording appearing is exactly what this emulates.
  (interaction.content as SimContent[]).push(content);
}

/** The path a DELETE of this item is sent to (under the API prefix). */
export function deletePath(sim: Simulator, item: { guid: string; contentKey: string }): string {
  return new URL(sim.apiBaseUrl).pathname + contentPath(item.guid, item.contentKey);
}

/** DELETE requests that reached the simulator, by request path. */
export function deletesByPath(sim: Simulator): Map<string, JournalEntry[]> {
  const map = new Map<string, JournalEntry[]>();
  for (const entry of sim.requests("DELETE")) map.set(entry.path, [...(map.get(entry.path) ?? []), entry]);
  return map;
}

export async function tempDataDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const parent = await mkdtemp(join(tmpdir(), "vcc-jobs-"));
  // A directory that does not exist yet: the engine creates it.
  return { dir: join(parent, "data"), cleanup: () => rm(parent, { recursive: true, force: true }) };
}

/**
 * A fresh data directory for each test (created by the engine), and the process's job services
 * closed after it (jobs of in-process servers stop, as at a shutdown). `dir()` inside tests.
 */
export function useJobDataDir(): { dir: () => string } {
  let data: { dir: string; cleanup: () => Promise<void> } | undefined;
  beforeEach(async () => {
    data = await tempDataDir();
  });
  afterEach(async () => {
    await closeJobServices();
    await data?.cleanup();
  });
  return {
    dir: () => {
      if (!data) throw new Error("the data directory is created in beforeEach: use it inside tests");
      return data.dir;
    },
  };
}
