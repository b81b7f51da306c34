// server.json, the MCP Registry entry (schema 2025-12-11), agrees with package.json and with the
// configuration the server actually reads; package.json is publishable.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { USER_CONFIG, USER_CONFIG_ENV } from "../../scripts/mcpb.mjs";
import { ConfigError, configReference, loadConfig } from "../../src/config.js";

interface EnvironmentVariable {
  name: string;
  description?: string;
  isRequired?: boolean;
  isSecret?: boolean;
  format?: string;
  default?: string;
  choices?: string[];
}
interface ServerJson {
  $schema: string;
  name: string;
  description: string;
  version: string;
  repository: { url: string; source: string };
  packages: {
    registryType: string;
    registryBaseUrl: string;
    identifier: string;
    version: string;
    transport: { type: string };
    environmentVariables: EnvironmentVariable[];
  }[];
}
interface PackageJson {
  name: string;
  version: string;
  mcpName: string;
  private?: boolean;
  repository: { type: string; url: string };
  bin: Record<string, string>;
  files: string[];
  engines: { node: string };
  dependencies?: Record<string, string>;
}

const read = <T>(file: string) => JSON.parse(readFileSync(new URL(`../../${file}`, import.meta.url), "utf8")) as T;
const server = read<ServerJson>("server.json");
const pkg = read<PackageJson>("package.json");
const [npmPackage] = server.packages;
const variables = npmPackage?.environmentVariables ?? [];

describe("package.json", () => {
  it("is publishable and runs through npx: not private, the bin in the files, Node 20 or later", () => {
    expect(pkg.private).toBeUndefined();
    expect(pkg.bin).toEqual({ "vcc-interaction-content-mcp": "dist/index.js" });
    expect(pkg.files).toContain(pkg.bin["vcc-interaction-content-mcp"]);
    expect(pkg.engines.node).toBe(">=20");
  });

  it("has no runtime dependencies: everything the server runs is in the esbuild bundle (add libraries to devDependencies)", () => {
    expect(pkg.dependencies ?? {}).toEqual({});
  });
});

describe("server.json (MCP Registry entry)", () => {
  it("uses the 2025-12-11 schema and is named by package.json's mcpName, with its version", () => {
    expect(server.$schema).toBe("https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json");
    expect(server.name).toBe(pkg.mcpName);
    expect(server.name).toMatch(/^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/);
    expect(server.version).toBe(pkg.version);
    expect(server.description.length).toBeGreaterThan(0);
    expect(server.description.length).toBeLessThanOrEqual(100);
  });

  it("names the same GitHub repository as package.json, whose owner is the mcpName's namespace", () => {
    expect(`git+${server.repository.url}.git`).toBe(pkg.repository.url);
    expect(server.repository.source).toBe("github");
    const owner = /^https:\/\/github\.com\/([^/]+)\//.exec(server.repository.url)?.[1];
    expect(server.name.startsWith(`io.github.${owner}/`)).toBe(true);
  });

  it("describes exactly this npm package, started over stdio", () => {
    expect(server.packages).toHaveLength(1);
    expect(npmPackage).toMatchObject({
      registryType: "npm",
      registryBaseUrl: "https://registry.npmjs.org",
      identifier: pkg.name,
      version: pkg.version,
      transport: { type: "stdio" },
    });
  });

  it("marks the client secret and the access token (and nothing else) as secrets", () => {
    const names = variables.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    expect(variables.filter((v) => v.isSecret).map((v) => v.name)).toEqual(["VCC_CLIENT_SECRET", "VCC_ACCESS_TOKEN"]);
    for (const v of variables) expect(v.description, v.name).toBeTruthy();
  });

  it("lists only variables of the configuration schema, marked secret exactly when the schema says so", () => {
    const schema = new Map(configReference().map((v) => [v.name, v]));
    for (const v of variables) {
      expect(schema.has(v.name), `${v.name} is not a variable of the schema in src/config.ts`).toBe(true);
      expect(v.isSecret ?? false, v.name).toBe(schema.get(v.name)?.secret);
    }
  });

  it("offers only values the server accepts, for variables the server reads", () => {
    const checked = variables.filter((v) => v.choices || v.format === "boolean");
    expect(checked.length).toBeGreaterThan(0);
    for (const v of variables) {
      for (const value of [...(v.choices ?? []), ...(v.default === undefined ? [] : [v.default])])
        expect(() => loadConfig({ [v.name]: value }), `${v.name}=${value}`).not.toThrow();
    }
    // A wrong value is refused naming the variable: the server reads it under this name.
    for (const v of checked) {
      expect(() => loadConfig({ [v.name]: "not-a-valid-value" }), v.name).toThrow(ConfigError);
      expect(() => loadConfig({ [v.name]: "not-a-valid-value" }), v.name).toThrow(v.name);
    }
  });
});

describe("MCPB manifest settings (scripts/mcpb.mjs)", () => {
  it("become variables of the configuration schema, sensitive exactly when the variable is secret", () => {
    const schema = new Map(configReference().map((v) => [v.name, v]));
    expect(Object.keys(USER_CONFIG_ENV).sort()).toEqual(Object.keys(USER_CONFIG).sort());
    for (const [key, name] of Object.entries(USER_CONFIG_ENV)) {
      expect(schema.has(name), `${key} -> ${name}`).toBe(true);
      expect(USER_CONFIG[key]?.sensitive ?? false, key).toBe(schema.get(name)?.secret);
    }
  });
});
