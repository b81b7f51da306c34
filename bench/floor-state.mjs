// The floor of the shared-state benchmark: the least a stdio JSON-RPC program can do for a confirmed
// deletion (ask, then confirm with a token) with its tokens in the process or, with VCC_STATE_URL,
// in Redis. No SDK, no validation, no audit. The ask issues a token (in Redis: one SET). The
// confirmation claims it and sends the same DELETE as the server (reference-delete.mjs); with Redis
// the claim and the deployment-wide deletion lock are taken by one script, waited for as they must
// be before a DELETE, and the lock is given back after the answer. What issue 22's rules cost at
// least on this machine: one waited round trip to Redis. Never use it for anything but measuring.
//
// Reads VCC_API_BASE_URL, VCC_ACCESS_TOKEN and VCC_STATE_URL, like the server.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { deleteContent, serveStdio } from "./reference-delete.mjs";

const redis = process.env.VCC_STATE_URL ? new Redis(process.env.VCC_STATE_URL) : undefined;
// KEYS: the token, the lock. ARGV: the lease's value and length → 1 (claimed and locked) | 0 (unknown
// or used) | -1 (locked by another)
redis?.defineCommand("claimAndLock", {
  numberOfKeys: 2,
  lua: `if redis.call('GET', KEYS[1]) ~= 'issued' then return 0 end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return -1 end
redis.call('SET', KEYS[1], 'claimed', 'KEEPTTL')
return 1`,
});
const LOCK = "floor:lock";
let leases = 0;
/** In the process: token → claimed. */
const tokens = new Map();

async function issue() {
  const token = randomBytes(24).toString("base64url");
  if (redis) await redis.set(`floor:${token}`, "issued", "PX", 600_000);
  else tokens.set(token, false);
  return token;
}

/** Claims the token (and, in Redis, takes the lock): the lease's value, or undefined when the token was used. */
async function claim(token) {
  if (redis) {
    const lease = String(++leases);
    const answer = await redis.claimAndLock(`floor:${token}`, LOCK, lease, 10_000);
    if (answer === -1) throw new Error("the floor's lock is held by another");
    return answer === 1 ? lease : undefined;
  }
  if (tokens.get(token) !== false) return undefined;
  tokens.set(token, true);
  return "";
}

async function call({ guid, contentKey, confirmationToken }) {
  if (confirmationToken === undefined) {
    const token = await issue();
    return {
      content: [{ type: "text", text: "Confirm." }],
      structuredContent: { status: "confirmation_required", confirmationToken: token },
    };
  }
  const lease = await claim(confirmationToken);
  if (lease === undefined) return { content: [{ type: "text", text: "Used." }], structuredContent: { status: "error" }, isError: true };
  try {
    return await deleteContent(guid, contentKey);
  } finally {
    // After the answer was written, not waited for.
    if (redis)
      setImmediate(() => redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end", 1, LOCK, lease));
  }
}

serveStdio("floor-state", call);
process.stdin.on("end", () => redis?.disconnect());
