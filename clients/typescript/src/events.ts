// The live event stream (GET /api/v1/events) as an async iterator of typed events. The
// generated types describe each event (`Schemas["Event"]`); openapi-fetch gives the raw
// body (`parseAs: "stream"`), which this reads as server-sent events.
//
//     let last: string | undefined;
//     for (;;) {
//       for await (const { id, event } of streamEvents(nexus, { lastEventId: last })) {
//         last = id ?? last;
//         if (event.type === "reset") { /* missed events: read the state again */ }
//       }
//     }
import type { NexusClient, Schemas } from "./index.js";

/** An event as received: its SSE id (what to resume after) and the event. */
export interface ReceivedEvent {
  id?: string;
  event: Schemas["Event"];
}

/** The API refused to open the stream (`401`, `429 too_many_streams`, `503`). */
export class EventStreamError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`);
    this.name = "EventStreamError";
  }
}

export interface StreamEventsOptions {
  /** Resume after this event: what was missed comes first, or a `reset`. */
  lastEventId?: string;
  /** Ends the stream. */
  signal?: AbortSignal;
}

/** The session's events until the server ends the stream (or `signal` aborts it). */
export async function* streamEvents(
  client: NexusClient,
  options: StreamEventsOptions = {},
): AsyncGenerator<ReceivedEvent> {
  const header = options.lastEventId === undefined ? undefined : { "Last-Event-ID": options.lastEventId };
  const { data, error, response } = await client.GET("/api/v1/events", {
    params: { header },
    parseAs: "stream",
    signal: options.signal,
  });
  if (error !== undefined || data === undefined || data === null) {
    const body = (error ?? {}) as { code?: string; message?: string };
    throw new EventStreamError(response.status, body.code ?? "unknown", body.message ?? response.statusText);
  }
  const reader = (data as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += value.replace(/\r\n/g, "\n");
      let end: number;
      while ((end = text.indexOf("\n\n")) >= 0) {
        const frame = text.slice(0, end);
        text = text.slice(end + 2);
        const received = parse(frame);
        if (received !== undefined) yield received;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** One frame's event; `undefined` for a frame with no data (a comment, the retry delay). */
function parse(frame: string): ReceivedEvent | undefined {
  let id: string | undefined;
  const data: string[] = [];
  for (const line of frame.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "id") id = value;
    else if (field === "data") data.push(value);
  }
  if (data.length === 0) return undefined;
  return { id, event: JSON.parse(data.join("\n")) as Schemas["Event"] };
}
