// Plays the person (or an attacker) at the approval page over real HTTP. node:http, because the tests
// must set headers a browser would (Host, Origin, Sec-Fetch-Site) exactly as they choose.
import { request } from "node:http";

export interface PageResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface PageRequest {
  method?: string;
  /** Defaults to the URL's own host:port, as a browser sends it. */
  host?: string;
  /** An undefined value leaves that header out. */
  headers?: Record<string, string | undefined>;
  body?: string;
}

export function pageRequest(url: string, options: PageRequest = {}): Promise<PageResponse> {
  const target = new URL(url);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries({ host: options.host ?? target.host, ...options.headers })) {
    if (value !== undefined) headers[name] = value;
  }
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: target.port,
        path: target.pathname + target.search,
        method: options.method ?? "GET",
        headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** The anti-forgery value in the page's form. */
export function formKeyOf(html: string): string {
  const match = /<input type="hidden" name="formKey" value="([^"]+)">/.exec(html);
  if (!match?.[1]) throw new Error("the page has no anti-forgery value");
  return match[1];
}

/** Submits the page's form as a browser would from the page itself, unless the test overrides headers. */
export function postDecision(
  url: string,
  form: { formKey?: string; decision?: string },
  options: { host?: string; headers?: Record<string, string | undefined> } = {},
): Promise<PageResponse> {
  const body = new URLSearchParams();
  if (form.formKey !== undefined) body.set("formKey", form.formKey);
  if (form.decision !== undefined) body.set("decision", form.decision);
  const origin = new URL(url).origin;
  return pageRequest(url, {
    method: "POST",
    host: options.host,
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      origin,
      referer: url,
      "sec-fetch-site": "same-origin",
      ...options.headers,
    },
    body: body.toString(),
  });
}

/** What a person does: open the link, read the form, press a button. */
export async function decideOnPage(url: string, decision: "approve" | "reject"): Promise<PageResponse> {
  const page = await pageRequest(url);
  if (page.status !== 200) throw new Error(`the approval page answered ${page.status}`);
  return postDecision(url, { formKey: formKeyOf(page.body), decision });
}
