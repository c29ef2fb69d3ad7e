// The Nexus API client: openapi-fetch over the types that openapi-typescript generates from
// docs/openapi.json into ./schema.ts (scripts/generate-clients; never edit that file).
// Every call is typed by its path and method:
//
//     const nexus = createNexusClient("http://127.0.0.1:8080", { token });
//     const { data, error } = await nexus.GET("/api/v1/bots");
//
// `data` is the documented success body, `error` the documented error body
// (`{ code, message }`); exactly one of them is set, and `response` is the raw Response.
import createClient, { type Client, type ClientOptions, type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, operations, paths } from "./schema.js";
export { EventStream, EventStreamError, openEvents, type OpenEventsOptions, type ReceivedEvent } from "./events.js";

/** The document's named schemas: `Schemas["Bot"]`, `Schemas["ErrorBody"]`… */
export type Schemas = components["schemas"];

/** A client of the Nexus API (openapi-fetch's `Client` over the generated paths). */
export type NexusClient = Client<paths>;

export interface NexusClientOptions extends Omit<ClientOptions, "baseUrl"> {
  /** A session token from `POST /api/v1/auth/login`, sent as `Authorization: Bearer <token>`. */
  token?: string;
}

/** A client for the server at `baseUrl` (`http://127.0.0.1:8080`, no trailing `/api/v1`). */
export function createNexusClient(baseUrl: string, options: NexusClientOptions = {}): NexusClient {
  const { token, ...rest } = options;
  const client = createClient<paths>({ ...rest, baseUrl });
  if (token !== undefined) {
    client.use(bearer(token));
  }
  return client;
}

/** A middleware that signs every request in with a session token. */
export function bearer(token: string): Middleware {
  return {
    onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  };
}
