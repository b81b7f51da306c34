// The authorization server (OpenID provider) of the team server: its metadata, found by discovery
// (RFC 8414 or OpenID Connect Discovery, with the SDK's own discovery code), and its signing keys.
// Fetched on first need and again after a failure.
import { discoverAuthorizationServerMetadata } from "@modelcontextprotocol/sdk/client/auth.js";
import type { AuthorizationServerMetadata } from "@modelcontextprotocol/sdk/shared/auth.js";
import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";

export interface IssuerInfo {
  metadata: AuthorizationServerMetadata;
  keys: JWTVerifyGetKey;
}

/**
 * The `iss` a token of `issuer` (kept without a trailing slash) may carry: either form, as providers
 * write their issuer identifier with a trailing slash (e.g. Auth0) or without (Entra ID, Keycloak).
 */
export function issuerForms(issuer: string): string[] {
  return [issuer, `${issuer}/`];
}

export class Issuer {
  readonly url: string;
  #info: Promise<IssuerInfo> | undefined;

  constructor(url: string) {
    this.url = url;
  }

  /** The metadata and key set; rejects when the issuer cannot be reached or describes itself as another. */
  info(): Promise<IssuerInfo> {
    this.#info ??= (async () => {
      const metadata = await discoverAuthorizationServerMetadata(this.url);
      if (!metadata) throw new Error(`no authorization server metadata at ${this.url}`);
      if (metadata.issuer.replace(/\/+$/, "") !== this.url)
        throw new Error(`the metadata at ${this.url} names another issuer (${metadata.issuer})`);
      if (!metadata.jwks_uri) throw new Error(`the authorization server ${this.url} publishes no jwks_uri`);
      return { metadata, keys: createRemoteJWKSet(new URL(metadata.jwks_uri)) };
    })();
    this.#info.catch(() => {
      this.#info = undefined;
    });
    return this.#info;
  }
}
