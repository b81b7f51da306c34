// What the simulator answers, as a value: handlers build one, server.ts delivers it (or a fault
// changes how it is delivered).

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export function jsonAnswer(status: number, value: unknown, headers: Record<string, string> = {}): Answer {
  return { status, headers: { "content-type": "application/json; charset=utf-8", ...headers }, body: Buffer.from(JSON.stringify(value)) };
}

/** The API's error shape: `{"message":"…"}`. */
export function messageAnswer(status: number, message: string, headers: Record<string, string> = {}): Answer {
  return jsonAnswer(status, { message }, headers);
}

export function emptyAnswer(status: number, headers: Record<string, string> = {}): Answer {
  return { status, headers, body: Buffer.alloc(0) };
}
