// The live event stream (GET /api/v1/events) as an async iterable of typed events. The
// generated types describe each event (`Schemas["Event"]`); openapi-fetch gives the raw
// body (`parseAs: "stream"`), which this reads as server-sent events.
//
//     let last: string | undefined;
//     for (;;) {
//       const events = await openEvents(nexus, { lastEventId: last });
//       for await (const { event } of events) {
//         if (event.type === "reset") { /* missed events: read the state again */ }
//       }
//       last = events.lastEventId; // the stream ended (sign-out, a restart): resume
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

export interface OpenEventsOptions {
  /** Resume after this event: what was missed comes first, or a `reset`. */
  lastEventId?: string;
}

/** An open stream: iterate it for its events until the server ends it; `close()` ends it. */
export class EventStream implements AsyncIterable<ReceivedEvent> {
  /** The id of the last event received: what to resume after. */
  lastEventId: string | undefined;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private text = "";

  constructor(body: ReadableStream<Uint8Array>, lastEventId: string | undefined) {
    this.reader = body.getReader();
    this.lastEventId = lastEventId;
  }

  /** The next event, or `undefined` when the server ended the stream. */
  async next(): Promise<ReceivedEvent | undefined> {
    for (;;) {
      let end: number;
      while ((end = this.text.indexOf("\n\n")) >= 0) {
        const frame = this.text.slice(0, end);
        this.text = this.text.slice(end + 2);
        const received = parse(frame);
        if (received?.id !== undefined) this.lastEventId = received.id;
        if (received?.event !== undefined) return { id: received.id, event: received.event };
      }
      const { value, done } = await this.reader.read();
      if (done) return undefined;
      this.text += this.decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    }
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.reader.cancel();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ReceivedEvent> {
    for (;;) {
      const received = await this.next();
      if (received === undefined) return;
      yield received;
    }
  }
}

/** Opens the session's event stream; throws `EventStreamError` when the API refuses. */
export async function openEvents(client: NexusClient, options: OpenEventsOptions = {}): Promise<EventStream> {
  const header = options.lastEventId === undefined ? undefined : { "Last-Event-ID": options.lastEventId };
  const { data, error, response } = await client.GET("/api/v1/events", {
    params: { header },
    parseAs: "stream",
  });
  if (error !== undefined || data === undefined || data === null) {
    const body = (error ?? {}) as { code?: string; message?: string };
    throw new EventStreamError(response.status, body.code ?? "unknown", body.message ?? response.statusText);
  }
  return new EventStream(data as ReadableStream<Uint8Array>, options.lastEventId);
}

/** One frame's id and event (no event for a frame without data: a comment, the retry delay). */
function parse(frame: string): { id?: string; event?: Schemas["Event"] } | undefined {
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
  if (id === undefined && data.length === 0) return undefined;
  return { id, event: data.length === 0 ? undefined : (JSON.parse(data.join("\n")) as Schemas["Event"]) };
}
