// Builds one McpServer (one MCP session) with its own confirmation state, and registers the tools.
import { McpServer, type RegisteredTool, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import { toJsonSchemaCompat } from "@modelcontextprotocol/sdk/server/zod-json-schema-compat.js";
import { type CallToolResult, ErrorCode, ListToolsRequestSchema, type ListToolsResult, McpError } from "@modelcontextprotocol/sdk/types.js";
import type { JsonSchemaType, jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";
import type { AuditTrail } from "./audit.js";
import { type Config, credentialsOf, usesApprovalPage } from "./config.js";
import { processApprovalServer } from "./confirmation/approval-server.js";
import { type ApprovalPages, Confirmer, type ElicitationChannel } from "./confirmation/confirmer.js";
import { formAnswers } from "./confirmation/form-answers.js";
import { passkeyGate, processPasskeys } from "./confirmation/passkeys.js";
import { type Identity, localAccount } from "./core/identity.js";
import { type JobService, jobServiceFor } from "./jobs/service.js";
import { log } from "./log.js";
import { deletionLockOf } from "./state/deletion-lock.js";
import { processState, type SharedState } from "./state/index.js";
import type { ToolContext } from "./tools/context.js";
import type { ToolDefinition } from "./tools/define.js";
import { mayAccessJob, ownJob, receiptUri } from "./tools/erasure-jobs.js";
import { TOOLS } from "./tools/registry.js";
import type { ApiAccess, VccClient, VccClientOptions } from "./vcc/client.js";

export const SERVER_NAME = "vcc-interaction-content";
export const SERVER_VERSION = "0.1.0";

/** What the assistant is told about the server as a whole (MCP `instructions`): which tool for which job. */
const INSTRUCTIONS =
  "Deletes content files (call recordings, transcripts, voicemails, screen recordings) of Vonage Contact Center interactions. For an erasure request (everything of a person in a period): search_interactions to find the interactions of the person (phone number, email) or agent, then erase_interaction_content with the same criteria and contentTypes: one approval, a background job (follow it with get_erasure_job) and a receipt when it ends. list_interaction_content shows what one interaction holds and its content keys; delete_interaction_content and bulk_delete_interaction_content delete one or a few chosen items. Every deletion is permanent and needs a person's confirmation: never pass a confirmationToken the user did not explicitly approve in the conversation.";
/** The same for a read-only server (VCC_READ_ONLY), which offers no tool that deletes or starts a job. */
const READ_ONLY_INSTRUCTIONS =
  "Finds Vonage Contact Center interactions and the content files they hold (call recordings, transcripts, voicemails, screen recordings): search_interactions for the interactions of a person (phone number, email) or agent in a period, list_interaction_content for what one interaction holds, get_erasure_job for erasure jobs. This server is read-only: it deletes nothing.";

/** Shared by all sessions of one process: the API client (one connection pool), the approval page server. */
export interface ServerDeps {
  config: Config;
  api: ApiAccess;
  audit: AuditTrail;
  /** Set in sandbox mode: what the assistant should know about the sample data. */
  sandboxInstructions?: string;
  /** Where approvals use the page: the approval page server (default: the one of this process, started on first need). */
  approvals?: ApprovalPages;
  /** The erasure jobs (default: the process's job service for VCC_DATA_DIR, opened on first need). */
  jobs?: () => Promise<JobService>;
  /**
   * What replicas share (issue 22): in Redis when VCC_STATE_URL is set (opened by index.ts), else the
   * process's own in-memory state (default).
   */
  state?: SharedState;
  /** The tools to offer (default: all of them, TOOLS). */
  tools?: readonly ToolDefinition[];
  /**
   * Tests: check every result a handler returns against its tool's output schema, as a client's
   * JSON Schema validator would (with this one: e.g. the tests' clients' own, compiling each schema
   * once for both sides), and fail the call loudly when it does not match.
   */
  checkResults?: jsonSchemaValidator;
}

/**
 * Tests only: the API client's waits shortened (see VccClientOptions), and the clock by which client
 * credentials' tokens are renewed (`now`, default Date.now: a test moves it on instead of waiting).
 */
export type ApiTiming = Pick<VccClientOptions, "shortenWait" | "slowNoticeMs"> & { now?: () => number };

/**
 * The API client of this process, created on the first tool call so that start-up stays light.
 * `timing`: see ApiTiming. `state`: with Redis, the deletions of every replica go one at a time (the
 * shared deletion lock).
 */
export function lazyApi(config: Config, timing: ApiTiming = {}, state?: SharedState): ApiAccess {
  const { now, ...waits } = timing;
  const deletionLock = deletionLockOf(state);
  let client: Promise<VccClient> | undefined;
  return async (signal, scope) => {
    const credentials = credentialsOf(config);
    if (credentials.kind === "missing")
      return {
        ok: false,
        error: { code: "not_configured", message: `The server cannot reach the VCC API yet, so nothing was sent. ${credentials.message}` },
      };
    client ??= (async () => {
      const [{ VccClient }, auth] = await Promise.all([import("./vcc/client.js"), import("./vcc/auth.js")]);
      return new VccClient({
        apiBaseUrl: config.api.baseUrl,
        timeoutMs: config.api.timeoutMs,
        retry: config.api.retry,
        ...waits,
        ...(deletionLock ? { deletionLock } : {}),
        rateLimitWindowMs: config.api.rateLimitWindowMs,
        tokens:
          credentials.kind === "static"
            ? auth.staticTokens(credentials.accessToken, config.api.scopes)
            : auth.clientCredentialsTokens(
                {
                  authUrl: config.api.authUrl,
                  clientId: credentials.clientId,
                  clientSecret: credentials.clientSecret,
                  scopes: config.api.scopes,
                  timeoutMs: config.api.timeoutMs,
                },
                now,
              ),
      });
    })();
    const ready = await client;
    // Credentials that cannot get the token of the scope the tool needs are reported before a person
    // is asked to approve anything.
    const authenticated = await ready.authenticate(scope, signal);
    if (!authenticated.ok) return authenticated;
    return { ok: true, client: ready };
  };
}

/** The SDK's refusal of a form answer that does not match the form (server/index.js, elicitInput). */
const ANSWER_NOT_AS_ASKED = /^MCP error -?\d+: Elicitation response content does not match requested schema/;

const INTERNAL_ERROR_TEXT =
  "Error (internal_error): the server failed unexpectedly while handling this call (details are in its log). If a deletion was under way, it may or may not have happened: check with list_interaction_content before trying again.";

/**
 * The one place tools are registered, with what every tool shares: destructive tools are left out
 * of a read-only server; a handler that throws (a bug) is logged and answered with a stable code and
 * the truth (a deletion under way may or may not have happened) instead of the SDK's bare exception
 * message; in tests, every result is checked against the tool's output schema.
 */
function registerTools(
  server: McpServer,
  context: ToolContext,
  tools: readonly ToolDefinition[],
  options: { checkResults: jsonSchemaValidator | undefined },
): Map<string, RegisteredTool> {
  const destructive = new Map<string, RegisteredTool>();
  const listed: { tool: ToolDefinition; registered: RegisteredTool }[] = [];
  for (const tool of tools) {
    if ((tool.destructive || tool.changesState) && context.config.controls.readOnly) continue;
    const check = options.checkResults ? resultChecker(tool, options.checkResults) : undefined;
    const registered = server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.inputSchema,
        outputSchema: tool.outputSchema,
        annotations: tool.annotations,
      },
      async (input, extra): Promise<CallToolResult> => {
        let result: CallToolResult;
        try {
          result = await tool.handler(input, context, extra);
        } catch (error) {
          log.error(`tool ${tool.name} failed unexpectedly`, { error });
          // Text only: the output schema's required fields cannot be filled truthfully here.
          return { isError: true, content: [{ type: "text", text: INTERNAL_ERROR_TEXT }] };
        }
        check?.(result);
        return result;
      },
    );
    // What needs the delete scope on a team server: the deleting tools and those that start or stop a job.
    if (tool.destructive || tool.changesState) destructive.set(tool.name, registered);
    listed.push({ tool, registered });
  }
  listTools(server, listed);
  return destructive;
}

/**
 * The JSON Schemas tools/list publishes, converted once per tool definition and process. The SDK's
 * own tools/list handler converts every zod schema again on every tools/list (~8 ms for all tools,
 * each session lists them at least once). Kept as text: every answer gets objects of its own.
 */
const publishedSchemas = new WeakMap<ToolDefinition, { input: string; output: string }>();

function published(tool: ToolDefinition): { inputSchema: object; outputSchema: object } {
  let texts = publishedSchemas.get(tool);
  if (!texts) {
    // The SDK's conversion with the SDK's options (server/mcp.js, tools/list), so the schemas are the same.
    texts = {
      input: JSON.stringify(toJsonSchemaCompat(tool.inputSchema, { strictUnions: true, pipeStrategy: "input" })),
      output: JSON.stringify(toJsonSchemaCompat(tool.outputSchema, { strictUnions: true, pipeStrategy: "output" })),
    };
    publishedSchemas.set(tool, texts);
  }
  return { inputSchema: JSON.parse(texts.input), outputSchema: JSON.parse(texts.output) };
}

/**
 * Answers tools/list as the SDK's McpServer does (the registered tools that are enabled, in the order
 * of registration, with the same fields in the same order), with the schemas of `published`.
 * Replaces the SDK's handler through the SDK's public `setRequestHandler`; every tool of the session
 * is registered by registerTools and never updated or removed. test/integration/registry.test.ts
 * checks that the answer is the SDK's, byte for byte.
 */
function listTools(server: McpServer, listed: readonly { tool: ToolDefinition; registered: RegisteredTool }[]): void {
  server.server.setRequestHandler(
    ListToolsRequestSchema,
    (): ListToolsResult => ({
      tools: listed
        .filter(({ registered }) => registered.enabled)
        .map(({ tool, registered }) => {
          const { inputSchema, outputSchema } = published(tool);
          return {
            name: tool.name,
            title: registered.title,
            description: registered.description,
            inputSchema: inputSchema as ListToolsResult["tools"][number]["inputSchema"],
            annotations: registered.annotations,
            execution: registered.execution,
            _meta: registered._meta,
            outputSchema: outputSchema as ListToolsResult["tools"][number]["inputSchema"],
          };
        }),
    }),
  );
}

/** One checker per tool definition and validator, built on first use: tests create many servers with the same tools. */
const checkers = new WeakMap<jsonSchemaValidator, WeakMap<ToolDefinition, (result: CallToolResult) => void>>();

function resultChecker(tool: ToolDefinition, validator: jsonSchemaValidator): (result: CallToolResult) => void {
  let byTool = checkers.get(validator);
  if (!byTool) {
    byTool = new WeakMap();
    checkers.set(validator, byTool);
  }
  let check = byTool.get(tool);
  if (!check) {
    check = newResultChecker(tool, validator);
    byTool.set(tool, check);
  }
  return check;
}

/** Validates a result's structuredContent against the JSON Schema that tools/list publishes. */
function newResultChecker(tool: ToolDefinition, validator: jsonSchemaValidator): (result: CallToolResult) => void {
  const validate = validator.getValidator(published(tool).outputSchema as JsonSchemaType);
  return (result) => {
    if (result.structuredContent === undefined) throw new Error(`tool ${tool.name} returned no structuredContent`);
    const verdict = validate(result.structuredContent);
    if (!verdict.valid)
      throw new Error(`tool ${tool.name} returned a result that does not match its output schema: ${verdict.errorMessage}`);
  };
}

/**
 * The receipts of ended erasure jobs as MCP resources: vcc-erasure://jobs/<jobId>/receipt.json (the
 * record) and receipt.md (readable). Listed and read from the job records (disk, or Redis from any replica).
 */
function registerReceipts(server: McpServer, jobs: () => Promise<JobService>, caller: Identity | undefined): void {
  const FORMATS = { json: "application/json", md: "text/markdown" } as const;
  server.registerResource(
    "erasure-receipt",
    new ResourceTemplate("vcc-erasure://jobs/{jobId}/receipt.{format}", {
      list: async () => {
        const service = await jobs();
        return {
          resources: (await service.jobs.list())
            .filter((view) => view.receipt && mayAccessJob(view, caller))
            .flatMap((view) =>
              (["json", "md"] as const).map((format) => ({
                uri: receiptUri(view.jobId, format),
                name: `erasure-receipt-${view.jobId}.${format}`,
                title: `Erasure receipt ${view.jobId} (${view.status}, ${format === "md" ? "readable" : "record"})`,
                mimeType: FORMATS[format],
              })),
            ),
        };
      },
    }),
    {
      title: "Erasure job receipts",
      description:
        "The receipt of an ended erasure job: criteria, approval, every item with its outcome, totals, start and end, and the receipt's SHA-256.",
    },
    async (uri, variables) => {
      const jobId = String(variables.jobId);
      const format = String(variables.format);
      if (format !== "json" && format !== "md")
        throw new McpError(ErrorCode.InvalidParams, `No such receipt: ${uri.href} (receipt.json or receipt.md).`);
      const service = await jobs();
      const found = await ownJob(service.jobs, jobId, caller);
      if (!found.ok) throw new McpError(ErrorCode.InvalidParams, `No such receipt: ${found.error.message}`);
      if (!found.job.receipt)
        throw new McpError(ErrorCode.InvalidParams, `Job ${jobId} is ${found.job.status}: a receipt is written when it ends.`);
      const text = await service.jobs.receiptText(found.job.jobId, format);
      if (text === undefined) throw new McpError(ErrorCode.InternalError, `The receipt of job ${jobId} could not be read.`);
      return { contents: [{ uri: uri.href, mimeType: FORMATS[format], text }] };
    },
  );
}

const confirmers = new WeakMap<McpServer, Confirmer>();
/** Each session's destructive tools, by name: hidden from callers who may not delete. */
const destructiveTools = new WeakMap<McpServer, Map<string, RegisteredTool>>();

/** What one session knows about its caller (team server): who they are, and whether they may delete. */
export interface SessionCaller {
  identity: Identity;
  mayDelete: boolean;
}

/** Whether `name` is one of the session's destructive tools (calling it needs the delete scope). */
export function isDestructiveTool(server: McpServer, name: string): boolean {
  return destructiveTools.get(server)?.has(name) ?? false;
}

/**
 * Shows or hides the session's destructive tools as its caller's current token allows: a caller
 * without the delete scope does not see them; after a token with it, they appear (list_changed).
 */
export function allowDeletion(server: McpServer, allowed: boolean): void {
  for (const tool of destructiveTools.get(server)?.values() ?? []) if (tool.enabled !== allowed) allowed ? tool.enable() : tool.disable();
}

/** Whether the session served by `server` holds confirmations still to be acted on (ending it would discard them). */
export function holdsConfirmations(server: McpServer): boolean {
  return (confirmers.get(server)?.store.live ?? 0) > 0;
}

/** `caller`: the team server's authenticated caller of this session (absent on stdio and with the static bearer). */
export function createServer(deps: ServerDeps, caller?: SessionCaller): McpServer {
  const general = deps.config.controls.readOnly ? READ_ONLY_INSTRUCTIONS : INSTRUCTIONS;
  const instructions = deps.sandboxInstructions ? `${deps.sandboxInstructions}\n\n${general}` : general;
  const server = new McpServer({ name: SERVER_NAME, version: SERVER_VERSION }, { instructions, jsonSchemaValidator: formAnswers });

  const channel: ElicitationChannel = {
    supportsForm: () => Boolean(server.server.getClientCapabilities()?.elicitation?.form),
    elicitForm: async (message, requestedSchema, { signal, timeoutMs, relatedRequestId }) => {
      try {
        const answer = await server.server.elicitInput(
          // The SDK types requestedSchema precisely; ours is a fixed, valid form schema.
          { mode: "form", message, requestedSchema: requestedSchema as never },
          { signal, timeout: timeoutMs, relatedRequestId },
        );
        return { action: answer.action, content: answer.content };
      } catch (error) {
        // The person answered "accept" without what the form asks (the box not ticked, another
        // value): the SDK refuses such an answer. It is an answer, and not a yes: never a reason to
        // ask again elsewhere (a page, a token).
        if (error instanceof McpError && error.code === ErrorCode.InvalidParams && ANSWER_NOT_AS_ASKED.test(error.message))
          return { action: "accept" };
        throw error;
      }
    },
    supportsUrl: () => Boolean(server.server.getClientCapabilities()?.elicitation?.url),
    elicitUrl: async (message, url, elicitationId, { signal, timeoutMs, relatedRequestId }) => {
      const answer = await server.server.elicitInput(
        { mode: "url", message, url, elicitationId },
        { signal, timeout: timeoutMs, relatedRequestId },
      );
      return { action: answer.action };
    },
    completeUrl: (elicitationId, relatedRequestId) =>
      server.server.createElicitationCompletionNotifier(elicitationId, relatedRequestId === undefined ? undefined : { relatedRequestId })(),
  };

  const { config } = deps;
  const state = deps.state ?? processState();
  const passkeys = config.confirmation.passkey === "required" ? processPasskeys(config, state) : undefined;
  const confirmer = new Confirmer({
    mode: config.confirmation.mode,
    dryRun: config.controls.dryRun,
    ttlSeconds: config.confirmation.ttlSeconds,
    elicitationTimeoutSeconds: config.confirmation.elicitationTimeoutSeconds,
    channel,
    tokens: state.tokens,
    ...(caller ? { requester: caller.identity } : {}),
    approvals:
      deps.approvals ??
      (usesApprovalPage(config)
        ? processApprovalServer(
            config.confirmation.approvalPort,
            passkeys ? { key: passkeys.location, gate: passkeyGate(passkeys) } : undefined,
          )
        : undefined),
    pageFallback: config.confirmation.mode === "auto" && usesApprovalPage(config),
    ...(passkeys ? { passkeys: { registered: async () => (await passkeys.list()).length > 0 } } : {}),
    // Four eyes: only the approval page, where the approver signs in, can tell who approves.
    ...(config.transport === "http" && config.http.oauth?.separateApprover ? { pageOnly: true } : {}),
  });
  confirmers.set(server, confirmer);
  // When the session ends (transport closed, stdio EOF, HTTP DELETE or idle timeout), its pending
  // confirmations and approval pages go with it; in-flight prompts are rejected by the SDK.
  // With OAuth they stay the person's, usable in their next session (on any replica).
  server.server.onclose = () => {
    void confirmer.dispose().then((discarded) => {
      if (discarded > 0) log.info(`session closed: ${discarded} confirmation token(s) discarded`);
    });
  };

  const jobs =
    deps.jobs ??
    (() => jobServiceFor({ config: deps.config, api: deps.api, audit: deps.audit, ...(deps.state ? { state: deps.state } : {}) }));
  const osUser = localAccount(deps.config.transport);
  const context: ToolContext = {
    config: deps.config,
    state,
    ...(caller ? { requester: caller.identity } : {}),
    confirmer,
    api: deps.api,
    jobs,
    audit: deps.audit,
    auditContext: (sessionId) => {
      const client = server.server.getClientVersion();
      return {
        ...(client ? { client: { name: client.name, version: client.version } } : {}),
        ...(sessionId ? { sessionId } : {}),
        ...(caller ? { requester: caller.identity } : {}),
        ...(osUser ? { osUser } : {}),
        dryRun: deps.config.controls.dryRun,
        sandbox: deps.config.sandbox,
      };
    },
  };
  const destructive = registerTools(server, context, deps.tools ?? TOOLS, { checkResults: deps.checkResults });
  destructiveTools.set(server, destructive);
  if (caller && !caller.mayDelete) allowDeletion(server, false);
  registerReceipts(server, jobs, caller?.identity);
  return server;
}
