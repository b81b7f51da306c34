// Erasure jobs (issue 18): the engine, its plan and receipt types, and the adapter over VccClient.
export {
  type DeleteItem,
  type DeleteOutcome,
  ErasureJobs,
  type ErasureJobsOptions,
  type JobEvent,
  type JobResult,
  type JobView,
} from "./engine.js";
export { APP_DIR_NAME, defaultDataDir, jobSettings } from "./files.js";
export type { FinalStatus, ItemResult, JobStatus } from "./journal.js";
export {
  type Approval,
  type ApprovalMethod,
  type JsonValue,
  MAX_PLAN_ITEMS,
  type Plan,
  type PlanItem,
  type PlanTotals,
  type ProposedPlan,
} from "./plan.js";
export { canonicalJson, type Receipt, type ReceiptItem, receiptHash, verifyReceipt } from "./receipt.js";
export { vccDeleteItem } from "./vcc.js";
