// Builds one McpServer (one MCP session) with its own confirmation state, and registers the tools.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";
import type { AuditTrail } from "./audit.js";
import { type Config, credentialsOf, usesApprovalPage } from "./config.js";
import { processApprovalServer } from "./confirmation/approval-server.js";
import { type ApprovalPages, Confirmer, type ElicitationChannel } from "./confirmation/confirmer.js";
import { passkeyGate, processPasskeyStore } from "./confirmation/passkeys.js";
import { log } from "./log.js";
import type { ToolContext } from "./tools/context.js";
import { registerDeleteInteractionContentTool } from "./tools/delete-interaction-content.js";
import { registerDeleteInteractionContentsTool } from "./tools/delete-interaction-contents.js";
import { registerListInteractionContentTool } from "./tools/list-interaction-content.js";
import { searchInteractionsDefinition } from "./tools/search-interactions.js";
import type { VccClient } from "./vcc/client.js";
import type { RetrySettings } from "./vcc/retry.js";

export const SERVER_NAME = "vcc-interaction-content";
export const SERVER_VERSION = "0.1.0";

const INSTRUCTIONS =
  "Deletes content files (call recordings, transcripts, voicemails, screen recordings) of Vonage Contact Center interactions. Use search_interactions to find the interactions of a person (phone number, email) or agent in a period, list_interaction_content to see what an interaction holds and find content keys. Every deletion is permanent and needs a person's confirmation: never pass a confirmationToken the user did not explicitly approve in the conversation.";

/** Shared by all sessions of one process: the API client (one connection pool), the approval page server. */
export interface ServerDeps {
  config: Config;
  api: ToolContext["api"];
  audit: AuditTrail;
  /** Set in sandbox mode: what the assistant should know about the sample data. */
  sandboxInstructions?: string;
  /** Where approvals use the page: the approval page server (default: the one of this process, started on first need). */
  approvals?: ApprovalPages;
}

/** VCC_MAX_RETRIES, VCC_DEADLINE_MS and VCC_RETRY_BASE_MS as the client takes them. */
export function retrySettingsOf(config: Config): RetrySettings {
  return { maxRetries: config.maxRetries, deadlineMs: config.deadlineMs, baseDelayMs: config.retryBaseMs };
}

/** The API client of this process, created on the first tool call so that start-up stays light. */
export function lazyApi(config: Config): ToolContext["api"] {
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
        apiBaseUrl: config.apiBaseUrl,
        timeoutMs: config.timeoutMs,
        retry: retrySettingsOf(config),
        tokens:
          credentials.kind === "static"
            ? auth.staticTokens(credentials.accessToken)
            : auth.clientCredentialsTokens({
                authUrl: config.authUrl,
                clientId: credentials.clientId,
                clientSecret: credentials.clientSecret,
                scopes: config.scopes,
                timeoutMs: config.timeoutMs,
              }),
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

/**
 * The SDK's own validator of elicitation answers, built when the first answer arrives: building it
 * (Ajv with its formats) by default, for every session, costs a few milliseconds of every start.
 */
function lazyAjv(): jsonSchemaValidator {
  let ajv: AjvJsonSchemaValidator | undefined;
  return {
    getValidator: (schema) => {
      ajv ??= new AjvJsonSchemaValidator();
      return ajv.getValidator(schema);
    },
  };
}

/**
 * A tool handler that throws is a bug: it is logged, and the caller gets a stable code and the truth
 * (a deletion under way may or may not have happened) instead of the SDK's bare exception message.
 */
function guardToolHandlers(server: McpServer): void {
  const register = server.registerTool.bind(server);
  // The SDK's generic signature stays as it is; only the callback is wrapped.
  server.registerTool = ((name: string, config: Parameters<typeof register>[1], callback: (...args: unknown[]) => unknown) =>
    register(name, config, (async (...args: unknown[]) => {
      try {
        return await callback(...args);
      } catch (error) {
        log.error(`tool ${name} failed unexpectedly`, { error });
        return {
          isError: true,
          content: [
            {
              type: "text",
              text: "Error (internal_error): the server failed unexpectedly while handling this call (details are in its log). If a deletion was under way, it may or may not have happened: check with list_interaction_content before trying again.",
            },
          ],
        };
      }
    }) as never)) as typeof server.registerTool;
}

const confirmers = new WeakMap<McpServer, Confirmer>();

/** Whether the session served by `server` holds confirmations still to be acted on (ending it would discard them). */
export function holdsConfirmations(server: McpServer): boolean {
  return (confirmers.get(server)?.store.live ?? 0) > 0;
}

export function createServer(deps: ServerDeps): McpServer {
  const instructions = deps.sandboxInstructions ? `${deps.sandboxInstructions}\n\n${INSTRUCTIONS}` : INSTRUCTIONS;
  const server = new McpServer({ name: SERVER_NAME, version: SERVER_VERSION }, { instructions, jsonSchemaValidator: lazyAjv() });
  guardToolHandlers(server);

  const channel: ElicitationChannel = {
    supportsForm: () => Boolean(server.server.getClientCapabilities()?.elicitation?.form),
    elicitForm: async (message, requestedSchema, { signal, timeoutMs, relatedRequestId }) => {
      const answer = await server.server.elicitInput(
        // The SDK types requestedSchema precisely; ours is a fixed, valid form schema.
        { mode: "form", message, requestedSchema: requestedSchema as never },
        { signal, timeout: timeoutMs, relatedRequestId },
      );
      return { action: answer.action, content: answer.content };
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
  const passkeys = config.approvalPasskey === "required" ? processPasskeyStore(config) : undefined;
  const confirmer = new Confirmer({
    mode: config.confirmation,
    ttlSeconds: config.confirmationTtlSeconds,
    elicitationTimeoutSeconds: config.elicitationTimeoutSeconds,
    channel,
    approvals:
      deps.approvals ??
      (usesApprovalPage(config) ? processApprovalServer(config.approvalPort, passkeys ? passkeyGate(passkeys) : undefined) : undefined),
    pageFallback: config.confirmation === "auto" && usesApprovalPage(config),
    ...(passkeys ? { passkeys: { registered: async () => (await passkeys.list()).length > 0 } } : {}),
  });
  confirmers.set(server, confirmer);
  // When the session ends (transport closed, stdio EOF, HTTP DELETE or idle timeout), its pending
  // confirmations and approval pages go with it; in-flight prompts are rejected by the SDK.
  server.server.onclose = () => {
    const pending = confirmer.store.size;
    confirmer.dispose();
    if (pending > 0) log.info(`session closed: ${pending} confirmation token(s) discarded`);
  };

  const context: ToolContext = {
    config: deps.config,
    confirmer,
    api: deps.api,
    audit: deps.audit,
    auditContext: (sessionId) => {
      const client = server.server.getClientVersion();
      return {
        ...(client ? { client: { name: client.name, version: client.version } } : {}),
        ...(sessionId ? { sessionId } : {}),
        dryRun: deps.config.dryRun,
        sandbox: deps.config.sandbox,
      };
    },
  };
  registerListInteractionContentTool(server, context);
  {
    // search_interactions is defined as data (defineTool); the registry rewrite adds it to its list.
    const def = searchInteractionsDefinition;
    const { title, description, inputSchema, outputSchema, annotations } = def;
    server.registerTool(def.name, { title, description, inputSchema, outputSchema, annotations }, (input, extra) =>
      def.handler(input, context, extra),
    );
  }
  // Read-only servers do not even offer the destructive tools.
  if (!deps.config.readOnly) {
    registerDeleteInteractionContentTool(server, context);
    registerDeleteInteractionContentsTool(server, context);
  }
  return server;
}
