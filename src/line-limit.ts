// Guards the stdio transport against oversized input lines. The SDK's reader closes the whole
// connection when its buffer overflows (10 MB); this passes lines through unchanged and cuts any
// line longer than the limit short, so the reader sees one malformed line and carries on.
import { Transform, type TransformCallback } from "node:stream";

/** No legitimate message to this server comes near this (a 100-item bulk call is about 10 kB). */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;

export class LineLimit extends Transform {
  readonly #max: number;
  readonly #onCut: (bytes: number) => void;
  /** Bytes of the current line seen so far. */
  #length = 0;

  constructor(max: number, onCut: (bytes: number) => void) {
    super();
    this.#max = max;
    this.#onCut = onCut;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      const wasWithin = this.#length <= this.#max;
      const allowed = Math.max(0, this.#max - this.#length);
      const length = end - start;
      this.#length += length;
      if (newline !== -1 && this.#length <= this.#max) {
        // The usual case: the line ends within the limit; passed on with its newline in one piece,
        // so that the reader gets one chunk per message.
        this.push(chunk.subarray(start, newline + 1));
        this.#length = 0;
        start = newline + 1;
        continue;
      }
      // Within the limit: pass on. Past it: drop the rest of the line, and end the part already
      // passed on with a newline of our own so the reader discards it as one malformed line.
      const passed = Math.min(length, allowed);
      if (passed > 0) this.push(chunk.subarray(start, start + passed));
      if (wasWithin && this.#length > this.#max) this.push("\n");
      if (newline === -1) break;
      this.#onCut(this.#length);
      this.#length = 0;
      start = newline + 1;
    }
    callback();
  }
}
