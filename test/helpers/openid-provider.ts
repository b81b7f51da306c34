// A real OpenID provider for the team-server tests: oidc-provider (a certified implementation) on
// 127.0.0.1, with test people, a machine client (client credentials), a reader-only machine client,
// a public desktop client (authorization code + PKCE, as Claude or VS Code would be) and the team
// server's own client (the approvers' sign-in). It issues JWT access tokens for resource indicators
// (RFC 8707) with the lifetime the test chooses. Its signing key is the test's, so a test can also
// make tokens the provider would never issue (an expired one) without waiting.
import { generateKeyPairSync } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type JWK, SignJWT } from "jose";
import Provider, { errors, type KoaContextWithOIDC } from "oidc-provider";
import { freePort, type InProcessHttp, startInProcessHttp } from "./http.js";

export const READ_SCOPE = "vcc.read";
export const DELETE_SCOPE = "vcc.delete";

export const MACHINE = { clientId: "ops-automation", clientSecret: "machine-secret-6f1c2b9e4d7a" };
export const READER = { clientId: "ops-reader", clientSecret: "reader-secret-1a8e5c3f9b2d" };
/** A machine client whose access tokens live SHORT_TOKEN_SECONDS (expiry without long waits). */
export const SHORT_LIVED = { clientId: "ops-short-lived", clientSecret: "short-secret-4c9e1a7b3d5f" };
/**
 * Two, not one: `iat` and `exp` are whole seconds, so a token issued late in a second with a lifetime
 * of one second expired a few milliseconds later, sometimes before its first use (a flaky test).
 * With two it is valid for at least a second.
 */
export const SHORT_TOKEN_SECONDS = 2;
export const DESKTOP = { clientId: "desktop-assistant" };
export const TEAM_SERVER = { clientId: "vcc-team-server", clientSecret: "team-server-secret-93c0d7a1e5f2" };

/** The people who can sign in (any password): login name = subject. */
export const PEOPLE: Record<string, { name: string; email: string; groups: string[] }> = {
  alice: { name: "Alice Asker", email: "alice@example.test", groups: ["support"] },
  bob: { name: "Bob Approver", email: "bob@example.test", groups: ["vcc-approvers"] },
  carol: { name: "Carol Colleague", email: "carol@example.test", groups: ["support"] },
};

/**
 * A team server's approval pages behind the approvers' sign-in (its client at the provider), with the
 * four-eyes rule: another person carrying groups:vcc-approvers approves.
 */
export const FOUR_EYES_APPROVAL_ENV: Readonly<Record<string, string>> = {
  VCC_CONFIRMATION: "approval",
  VCC_OIDC_CLIENT_ID: TEAM_SERVER.clientId,
  VCC_OIDC_CLIENT_SECRET: TEAM_SERVER.clientSecret,
  VCC_OIDC_SCOPE: "openid profile email groups",
  VCC_APPROVAL_SEPARATE_APPROVER: "true",
  VCC_APPROVER_CLAIM: "groups:vcc-approvers",
};

export interface OpenIdProvider {
  issuer: string;
  /** Signs a token as the provider would (its key, its issuer unless `iss` is given), with any claims: for tokens it would not issue. */
  sign(claims: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export interface ProviderOptions {
  /** The resource indicators (RFC 8707) tokens may be issued for: the team server's, and others. */
  resources: string[];
  /** Where the team server's sign-in returns (its public origin + /approve/callback; startTeamServer: the path). */
  teamServerRedirect?: string;
  /** Where the desktop client's authorization returns. */
  desktopRedirect?: string;
  /** Access token lifetime in seconds. */
  accessTokenTtl?: number;
}

export async function startOpenIdProvider(options: ProviderOptions): Promise<OpenIdProvider> {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = { ...(privateKey.export({ format: "jwk" }) as JWK), kid: "test-key-1", alg: "ES256", use: "sig" };

  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const http: Server = createServer((req, res) => handler?.(req, res));
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  const resourceScope = `${READ_SCOPE} ${DELETE_SCOPE}`;
  const provider = new Provider(issuer, {
    jwks: { keys: [jwk as never] },
    clientDefaults: { id_token_signed_response_alg: "ES256" },
    // ID tokens carry the claims of the scopes granted (groups for the approver rule), as Entra ID,
    // Okta and Keycloak can be configured to do.
    conformIdTokenClaims: false,
    clients: [
      {
        client_id: MACHINE.clientId,
        client_secret: MACHINE.clientSecret,
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
        scope: resourceScope,
      },
      {
        client_id: SHORT_LIVED.clientId,
        client_secret: SHORT_LIVED.clientSecret,
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
        scope: READ_SCOPE,
      },
      {
        client_id: READER.clientId,
        client_secret: READER.clientSecret,
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
        scope: READ_SCOPE,
      },
      ...(options.desktopRedirect
        ? [
            {
              client_id: DESKTOP.clientId,
              token_endpoint_auth_method: "none" as const,
              grant_types: ["authorization_code", "refresh_token"],
              response_types: ["code" as const],
              redirect_uris: [options.desktopRedirect],
            },
          ]
        : []),
      ...(options.teamServerRedirect
        ? [
            {
              client_id: TEAM_SERVER.clientId,
              client_secret: TEAM_SERVER.clientSecret,
              grant_types: ["authorization_code"],
              response_types: ["code" as const],
              redirect_uris: [options.teamServerRedirect],
            },
          ]
        : []),
    ],
    scopes: ["openid", "profile", "email", "groups", "offline_access", READ_SCOPE, DELETE_SCOPE],
    claims: { openid: ["sub"], profile: ["name"], email: ["email"], groups: ["groups"] },
    findAccount: async (_ctx, id) => {
      const person = PEOPLE[id];
      if (!person) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, name: person.name, email: person.email, groups: person.groups }) };
    },
    // Access tokens name the person (as Entra ID and Okta tokens do), so that the server can say who asked.
    extraTokenClaims: async (_ctx, token) => {
      const person = "accountId" in token && typeof token.accountId === "string" ? PEOPLE[token.accountId] : undefined;
      return person ? { name: person.name, email: person.email } : undefined;
    },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf ?? options.resources[0] ?? "",
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resource, client) => {
          if (!options.resources.includes(resource)) throw new errors.InvalidTarget();
          const ttl = client.clientId === SHORT_LIVED.clientId ? SHORT_TOKEN_SECONDS : (options.accessTokenTtl ?? 600);
          return { scope: resourceScope, audience: resource, accessTokenFormat: "jwt", accessTokenTTL: ttl };
        },
      },
    },
    // First-party clients: no consent screen; everything asked for is granted.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const accountId = ctx.oidc.session?.accountId;
      const client = ctx.oidc.client;
      if (!accountId || !client) return undefined;
      const existing = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session?.grantIdFor(client.clientId);
      const grant =
        (existing ? await ctx.oidc.provider.Grant.find(existing) : undefined) ??
        new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId });
      grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(" "));
      for (const [indicator, server] of Object.entries(ctx.oidc.resourceServers ?? {}))
        if (server.scope) grant.addResourceScope(indicator, server.scope);
      await grant.save();
      return grant;
    },
  });
  // oidc-provider warns about development-only settings (dev interactions, http): expected here.
  provider.on("server_error", (_ctx, error) => process.stderr.write(`[openid-provider] ${String(error)}\n`));
  handler = provider.callback();

  return {
    issuer,
    sign: (claims) =>
      new SignJWT({ iss: issuer, ...claims }).setProtectedHeader({ alg: "ES256", kid: jwk.kid, typ: "at+jwt" }).sign(privateKey),
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

export interface TeamSetup {
  op: OpenIdProvider;
  /** The HTTP transport in this process (real HTTP, its own port). */
  server: InProcessHttp;
  /** http://127.0.0.1:<port>: the team server's public origin (no TLS proxy in tests). */
  publicUrl: string;
  /** publicUrl + /mcp: the resource tokens must be issued for. */
  resource: string;
  close(): Promise<void>;
}

/**
 * The server as a team server (VCC_HTTP_AUTH=oauth), in this process, with its own OpenID provider:
 * the port is chosen first, since the provider must know the server's resource URL and redirect URI.
 */
export async function startTeamServer(options: {
  env: Record<string, string>;
  provider?: Omit<ProviderOptions, "resources"> & { otherResources?: string[] };
}): Promise<TeamSetup> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const resource = `${publicUrl}/mcp`;
  const { otherResources = [], teamServerRedirect, ...provider } = options.provider ?? {};
  const op = await startOpenIdProvider({
    ...provider,
    // Relative: on the team server's public origin, which is only known here.
    ...(teamServerRedirect ? { teamServerRedirect: new URL(teamServerRedirect, publicUrl).href } : {}),
    resources: [resource, ...otherResources],
  });
  const server = await startInProcessHttp({
    env: {
      VCC_HTTP_PORT: String(port),
      VCC_HTTP_AUTH: "oauth",
      VCC_OAUTH_ISSUER: op.issuer,
      VCC_HTTP_PUBLIC_URL: publicUrl,
      ...options.env,
    },
  }).catch(async (error: unknown) => {
    await op.close();
    throw error;
  });
  return {
    op,
    server,
    publicUrl,
    resource,
    close: async () => {
      await server.stop();
      await op.close();
    },
  };
}
