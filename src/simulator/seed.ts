// Deterministic seed data for the simulator: a few days of interactions with every kind of content.

export interface SimContent {
  contentKey: string;
  type: string;
  contentType: string;
  contentLength: number;
  lastModified: string;
  owningAgent?: { id: string };
}

export interface SimInteraction {
  guid: string;
  start: string;
  connectFrom: string;
  connectTo: string;
  direction: "inbound" | "outbound" | "internal";
  handlingAgents: { id: string }[];
  content: SimContent[];
}

/** GUIDs of the seed interactions, named for what they hold (tests, demo and sandbox use these). */
export const SEED = {
  /** Inbound call: callRecording, transcript, categorizationResult, sentimentSummary. */
  inboundCall: "5f1c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f11",
  /** Voicemails: one GUID-keyed, one legacy `voicemail-123`. */
  voicemails: "0b7e4d2c-1a9f-4c3e-8d5b-6f2a1c9e7b22",
  /** Outbound call with a screen recording (GUID key) and a call recording. */
  screenRecording: "9a4f6c1e-3d8b-4f2a-b7e9-1c5d3a8f6e33",
  /** Chat: chatTranscript and a chat attachment (GUID key). Not an RFC 4122 version: VCC GUIDs need not be. */
  chat: "c3d2e1f0-a9b8-0c7d-e6f5-a4b3c2d1e044",
  /** IVR: ivrAudioRecording and an AI conversation summary (GUID key). */
  ivr: "7e2a9c4b-5f1d-4b8e-a3c6-9d0f2e7b1a55",
  /** An interaction whose content has all been deleted: the API answers 404 for it. */
  empty: "2d8f1b6a-4c9e-4a7d-8b2f-5e3c1a9d7f66",
} as const;

export const SEED_ITEM_KEYS = {
  voicemail: "4c1b8e2f-6a3d-4f9b-9e7c-2d5a8f1b3c77",
  legacyVoicemail: "voicemail-123",
  screenRecording: "e5a3c7d9-1b2f-4e6a-8c0d-3f9b7a5e1c88",
  chatAttachment: "a1f3e5c7-9b2d-4a6e-8f0c-7e5d3b1a9f99",
  aiSummary: "d4b6f8a0-2c1e-4d3f-a5b7-9c8e0f2a4baa",
} as const;

function item(
  contentKey: string,
  type: string,
  contentType: string,
  contentLength: number,
  lastModified: string,
  agent?: string,
): SimContent {
  return { contentKey, type, contentType, contentLength, lastModified, ...(agent ? { owningAgent: { id: agent } } : {}) };
}

/** A fresh copy of the seed data (tests mutate it through DELETE). */
export function seedInteractions(): SimInteraction[] {
  return [
    {
      guid: SEED.inboundCall,
      start: "2026-11-23T09:14:02.000Z",
      connectFrom: "+441632960101",
      connectTo: "+441632960900",
      direction: "inbound",
      handlingAgents: [{ id: "1042" }],
      content: [
        item("callRecording", "callRecording", "audio/wav", 2_457_644, "2026-11-23T09:21:40.000Z"),
        item("transcript", "transcript", "application/json", 18_233, "2026-11-23T09:23:05.000Z"),
        item("categorizationResult", "categorizationResult", "application/json", 2_104, "2026-11-23T09:23:30.000Z"),
        item("sentimentSummary", "sentimentSummary", "application/json", 1_377, "2026-11-23T09:23:31.000Z"),
      ],
    },
    {
      guid: SEED.voicemails,
      start: "2026-11-24T17:42:19.000Z",
      connectFrom: "+15555550142",
      connectTo: "+15555550100",
      direction: "inbound",
      handlingAgents: [{ id: "123" }, { id: "2077" }],
      content: [
        item(SEED_ITEM_KEYS.voicemail, "voicemail", "audio/wav", 412_876, "2026-11-24T17:43:10.000Z", "2077"),
        item(SEED_ITEM_KEYS.legacyVoicemail, "voicemail", "audio/wav", 198_220, "2026-11-24T17:44:52.000Z", "123"),
      ],
    },
    {
      guid: SEED.screenRecording,
      start: "2026-11-25T13:05:47.000Z",
      connectFrom: "+441632960900",
      connectTo: "+441632960377",
      direction: "outbound",
      handlingAgents: [{ id: "1042" }],
      content: [
        item("callRecording", "callRecording", "audio/wav", 3_912_004, "2026-11-25T13:19:12.000Z"),
        item(SEED_ITEM_KEYS.screenRecording, "screenRecording", "video/mp4", 24_876_512, "2026-11-25T13:19:40.000Z", "1042"),
      ],
    },
    {
      guid: SEED.chat,
      start: "2026-11-26T08:30:00.000Z",
      connectFrom: "web-chat:visitor-8841",
      connectTo: "support-queue",
      direction: "inbound",
      handlingAgents: [{ id: "3310" }],
      content: [
        item("chatTranscript", "chatTranscript", "application/json", 9_876, "2026-11-26T08:52:13.000Z"),
        item(SEED_ITEM_KEYS.chatAttachment, "attachment", "image/png", 284_301, "2026-11-26T08:41:09.000Z", "3310"),
      ],
    },
    {
      guid: SEED.ivr,
      start: "2026-11-27T16:02:33.000Z",
      connectFrom: "+15555550199",
      connectTo: "+15555550100",
      direction: "inbound",
      handlingAgents: [],
      content: [
        item("ivrAudioRecording", "ivrAudioRecording", "audio/wav", 96_044, "2026-11-27T16:03:20.000Z"),
        item(SEED_ITEM_KEYS.aiSummary, "aiConversationSummary", "application/json", 3_512, "2026-11-27T16:05:02.000Z"),
      ],
    },
    {
      guid: SEED.empty,
      start: "2026-11-22T11:11:11.000Z",
      connectFrom: "+441632960555",
      connectTo: "+441632960900",
      direction: "inbound",
      handlingAgents: [{ id: "1042" }],
      content: [],
    },
  ];
}

/**
 * The bytes of a content file: exactly `contentLength` of them, deterministic, and of the right
 * kind — JSON items are valid JSON, WAV items a valid WAV header followed by silence; other types
 * (video, images) are filler bytes.
 */
export function contentBody(item: SimContent): Buffer {
  const length = item.contentLength;
  const kind = item.contentType.split(";")[0]?.trim().toLowerCase();
  if (kind === "application/json") {
    const text = JSON.stringify({ simulated: true, type: item.type, contentKey: item.contentKey, lastModified: item.lastModified });
    if (text.length <= length) return Buffer.from(text.padEnd(length, " "));
  }
  const body = Buffer.alloc(length);
  if (kind === "audio/wav" && length >= 44) {
    // 8 kHz, 16-bit mono PCM; the zero-filled samples are silence.
    body.write("RIFF", 0, "ascii");
    body.writeUInt32LE(length - 8, 4);
    body.write("WAVEfmt ", 8, "ascii");
    body.writeUInt32LE(16, 16);
    body.writeUInt16LE(1, 20);
    body.writeUInt16LE(1, 22);
    body.writeUInt32LE(8000, 24);
    body.writeUInt32LE(16000, 28);
    body.writeUInt16LE(2, 32);
    body.writeUInt16LE(16, 34);
    body.write("data", 36, "ascii");
    body.writeUInt32LE(length - 44, 40);
    return body;
  }
  // A repeating 256-byte ramp, filled natively: a 24 MB screen recording costs no JS loop.
  const ramp = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) ramp[i] = (item.contentKey.length * 31 + i) & 0xff;
  return body.fill(ramp);
}

/** The GUID of generated interaction number `index` (0-based): b0000000-0000-4000-8000-{index in hex}. */
export function generatedGuid(index: number): string {
  return `b0000000-0000-4000-8000-${index.toString(16).padStart(12, "0")}`;
}

/** `count` more interactions like the seed's inbound call, each with a callRecording and a transcript: for benchmarks that delete many items. */
export function generatedInteractions(count: number): SimInteraction[] {
  return Array.from({ length: count }, (_, index) => ({
    guid: generatedGuid(index),
    start: "2026-11-20T10:00:00.000Z",
    connectFrom: "+441632960101",
    connectTo: "+441632960900",
    direction: "inbound" as const,
    handlingAgents: [{ id: "1042" }],
    content: [
      item("callRecording", "callRecording", "audio/wav", 1_048_576, "2026-11-20T10:05:00.000Z"),
      item("transcript", "transcript", "application/json", 8_192, "2026-11-20T10:06:00.000Z"),
    ],
  }));
}

/**
 * The sample data for searches: six and a half months (2026-05-01 to 2026-11-20, before the seed's
 * own week) of everyday traffic, and two repeat callers whose numbers appear on many interactions,
 * in both directions and in more than one stored format — what an erasure search has to find.
 */
export const SEARCH_SAMPLE = {
  /** The contact centre's own number (connectTo of inbound calls, connectFrom of outbound ones). */
  centre: "+441632960900",
  /** Repeat caller A, as most interactions store the number. */
  callerA: "+441632960101",
  /** The same caller, stored in national format on some inbound calls. */
  callerANational: "01632960101",
  /** Repeat caller B (also on the seed's voicemails), international and without the plus. */
  callerB: "+15555550142",
  callerBNoPlus: "15555550142",
  /** An agent who handled many of the sample interactions. */
  agent: "67833",
  from: "2026-05-01T00:00:00.000Z",
  to: "2026-11-20T00:00:00.000Z",
} as const;

/** The GUID of search sample interaction number `index`: 5ea7c400-0000-4000-8000-{index in hex}. */
export function searchSampleGuid(index: number): string {
  return `5ea7c400-0000-4000-8000-${index.toString(16).padStart(12, "0")}`;
}

/** A small deterministic pseudo-random generator (mulberry32): the same data on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The search sample interactions, oldest first (see SEARCH_SAMPLE). */
export function searchSampleInteractions(): SimInteraction[] {
  const next = random(17);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const agents = ["1042", "2077", "3310", "4518", SEARCH_SAMPLE.agent];
  const out: SimInteraction[] = [];
  const day = 24 * 3600_000;
  const first = Date.parse(SEARCH_SAMPLE.from);
  const last = Date.parse(SEARCH_SAMPLE.to);
  const call = (start: number, connectFrom: string, connectTo: string, direction: "inbound" | "outbound", agent: string) => {
    const at = (minutes: number) => new Date(start + minutes * 60_000).toISOString();
    const minutes = 2 + Math.floor(next() * 20);
    const content: SimContent[] = [item("callRecording", "callRecording", "audio/wav", 16_000 * 60 * minutes, at(minutes + 1))];
    if (next() < 0.6) content.push(item("transcript", "transcript", "application/json", 900 * minutes, at(minutes + 3)));
    // Now and then a caller reached voicemail: a GUID-keyed item owned by the agent.
    if (direction === "inbound" && next() < 0.15) {
      const key = `5ea7c400-0000-4000-9000-${out.length.toString(16).padStart(12, "0")}`;
      content.push(item(key, "voicemail", "audio/wav", 16_000 * 40, at(minutes + 2), agent));
    }
    // Some interactions have had all their content deleted already: the API no longer returns them.
    const emptied = next() < 0.05;
    out.push({
      guid: searchSampleGuid(out.length),
      start: new Date(start).toISOString(),
      connectFrom,
      connectTo,
      direction,
      handlingAgents: [{ id: agent }],
      content: emptied ? [] : content,
    });
  };
  for (let dayStart = first; dayStart < last; dayStart += day) {
    const dayIndex = Math.round((dayStart - first) / day);
    // Working hours, 08:00-18:00 UTC, whole seconds.
    const time = () => dayStart + (8 * 3600 + Math.floor(next() * 10 * 3600)) * 1000;
    const calls = 2 + Math.floor(next() * 3);
    for (let n = 0; n < calls; n++) {
      const other =
        next() < 0.5
          ? `+44207946${String(Math.floor(next() * 1000)).padStart(4, "0")}`
          : `+12025550${String(Math.floor(next() * 200)).padStart(3, "0")}`;
      if (next() < 0.7) call(time(), other, SEARCH_SAMPLE.centre, "inbound", pick(agents));
      else call(time(), SEARCH_SAMPLE.centre, other, "outbound", pick(agents));
    }
    // Caller A: every fourth day; mostly inbound, some stored in national format; outbound call-backs.
    if (dayIndex % 4 === 1) {
      const kind = dayIndex % 3;
      if (kind === 0) call(time(), SEARCH_SAMPLE.callerA, SEARCH_SAMPLE.centre, "inbound", pick(agents));
      else if (kind === 1) call(time(), SEARCH_SAMPLE.callerANational, SEARCH_SAMPLE.centre, "inbound", pick(agents));
      else call(time(), SEARCH_SAMPLE.centre, SEARCH_SAMPLE.callerA, "outbound", pick(agents));
    }
    // Caller B: every ninth day, both formats, both directions.
    if (dayIndex % 9 === 4) {
      const number = dayIndex % 2 === 0 ? SEARCH_SAMPLE.callerB : SEARCH_SAMPLE.callerBNoPlus;
      if (dayIndex % 27 === 13) call(time(), "+15555550100", number, "outbound", pick(agents));
      else call(time(), number, "+15555550100", "inbound", pick(agents));
    }
  }
  return out.sort((a, b) => a.start.localeCompare(b.start));
}
