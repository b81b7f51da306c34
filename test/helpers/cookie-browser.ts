// A browser reduced to what a sign-in needs, over real HTTP without Chromium: it follows redirects,
// keeps the cookies each server sets (by host and port; paths are not told apart), and submits forms.
// For flows through a load balancer, where which replica answers each request is what is tested.

export interface Visited {
  /** Where the last redirect led. */
  url: string;
  status: number;
  body: string;
  /** Every URL visited on the way, the first included. */
  hops: string[];
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class CookieBrowser {
  readonly #jar = new Map<string, Map<string, string>>();

  /** The Cookie header this browser sends to `url`'s host and port. */
  cookieFor(url: string): string {
    return [...(this.#jar.get(new URL(url).host) ?? new Map<string, string>())].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  /** GET (or a form POST) to `url`, following redirects as a browser does. */
  async go(url: string, form?: Record<string, string>, headers: Record<string, string> = {}): Promise<Visited> {
    let current = url;
    let body: string | undefined = form ? new URLSearchParams(form).toString() : undefined;
    const hops: string[] = [];
    for (let hop = 0; hop < 12; hop++) {
      hops.push(current);
      const target = new URL(current);
      const response = await fetch(target, {
        method: body === undefined ? "GET" : "POST",
        redirect: "manual",
        headers: {
          ...(this.cookieFor(current) ? { cookie: this.cookieFor(current) } : {}),
          ...(body === undefined
            ? {}
            : { "content-type": "application/x-www-form-urlencoded", origin: target.origin, "sec-fetch-site": "same-origin" }),
          ...headers,
        },
        ...(body === undefined ? {} : { body }),
      });
      this.#keep(target.host, response.headers.getSetCookie());
      const location = response.headers.get("location");
      if (!REDIRECTS.has(response.status) || !location) return { url: current, status: response.status, body: await response.text(), hops };
      await response.body?.cancel();
      current = new URL(location, target).href;
      // 307 and 308 repeat the POST; the others turn it into a GET, as browsers do.
      if (response.status !== 307 && response.status !== 308) body = undefined;
      headers = {};
    }
    throw new Error(`too many redirects from ${url}`);
  }

  /** Submits the first form of `page` (its action, relative to the page) with `fields`. */
  submit(page: Visited, fields: Record<string, string>): Promise<Visited> {
    const action = /<form[^>]*action="([^"]+)"/.exec(page.body)?.[1];
    if (!action) throw new Error(`no form at ${new URL(page.url).pathname}`);
    return this.go(new URL(action.replaceAll("&amp;", "&"), page.url).href, fields);
  }

  #keep(host: string, setCookies: string[]): void {
    const cookies = this.#jar.get(host) ?? new Map<string, string>();
    this.#jar.set(host, cookies);
    for (const line of setCookies) {
      const [pair = "", ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === "") cookies.delete(name);
      else cookies.set(name, value);
    }
  }
}
