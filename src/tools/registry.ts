// Every tool this server offers, in the order tools/list shows them. A new tool is one file that
// exports a defineTool({...}) object, and one line here; server.ts registers them all in one place.
import { bulkDeleteInteractionContent } from "./bulk-delete-interaction-content.js";
import type { ToolDefinition } from "./define.js";
import { deleteInteractionContent } from "./delete-interaction-content.js";
import { eraseInteractionContent } from "./erase-interaction-content.js";
import { cancelErasureJob, getErasureJob, resumeErasureJob } from "./erasure-jobs.js";
import { listInteractionContent } from "./list-interaction-content.js";
import { searchInteractionsDefinition } from "./search-interactions.js";

export const TOOLS: readonly ToolDefinition[] = [
  listInteractionContent,
  searchInteractionsDefinition,
  deleteInteractionContent,
  bulkDeleteInteractionContent,
  eraseInteractionContent,
  getErasureJob,
  cancelErasureJob,
  resumeErasureJob,
];
