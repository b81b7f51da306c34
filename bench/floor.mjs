// The floor of the per-call benchmark: the least a stdio JSON-RPC program can do to answer a
// tools/call by deleting content. No SDK, no validation, no confirmation, no audit: it answers
// `initialize` and `ping`, and for every tools/call sends the same DELETE as the server, with undici
// and the same keep-alive pool settings, to the same API (reference-delete.mjs). Never use it for
// anything but measuring.
//
// Reads VCC_API_BASE_URL and VCC_ACCESS_TOKEN, like the server.
import { deleteContent, serveStdio } from "./reference-delete.mjs";

serveStdio("floor", ({ guid, contentKey }) => deleteContent(guid, contentKey));
