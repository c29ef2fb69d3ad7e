// The generated client against a real server: sign up, read the verification email from
// the outbox, verify, sign in, create a Paper bot and find it in the list and in the live
// event stream, and resume that stream after its last event.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { createNexusClient, EventStreamError, openEvents, type Schemas } from "../src/index.js";
import { findNexus, startNexus, type Server } from "./server.js";

const bin = findNexus();
// .ci/run sets NEXUS_REQUIRE_SERVER=1: there a missing binary is a failure, not a skip.
if (bin === undefined && process.env.NEXUS_REQUIRE_SERVER === "1") {
  throw new Error("NEXUS_REQUIRE_SERVER=1 but no nexus binary: build it (cargo build -p nexus-server) or set NEXUS_BIN");
}
const skip = bin === undefined ? "no nexus binary (cargo build -p nexus-server, or set NEXUS_BIN)" : false;

let server: Server;
before(async () => {
  if (bin !== undefined) {
    server = await startNexus(bin);
  }
});
after(async () => {
  await server?.stop();
});

test("sign up through the outbox, sign in, create a Paper bot, list it, follow its events", { skip }, async () => {
  const anonymous = createNexusClient(server.url);
  const email = "ts-client@example.com";
  const password = "a long enough password";

  const signUp = await anonymous.POST("/api/v1/auth/signup", { body: { email, password } });
  assert.equal(signUp.response.status, 202, JSON.stringify(signUp.error));
  assert.ok(signUp.data?.message);

  // Not verified yet: signing in is refused with a documented error code.
  const early = await anonymous.POST("/api/v1/auth/login", { body: { email, password } });
  assert.equal(early.response.status, 403);
  assert.equal(early.error?.code, "email_not_verified");

  const mail = await server.waitForEmail(email, "verification");
  const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
  assert.ok(token, `no token in the verification email:\n${mail.text}`);
  const verified = await anonymous.POST("/api/v1/auth/verify", { body: { token, password } });
  assert.equal(verified.response.status, 200, JSON.stringify(verified.error));

  const wrong = await anonymous.POST("/api/v1/auth/login", { body: { email, password: "not the password" } });
  assert.equal(wrong.response.status, 401);
  assert.equal(wrong.error?.code, "invalid_credentials");

  const login = await anonymous.POST("/api/v1/auth/login", { body: { email, password } });
  assert.equal(login.response.status, 200, JSON.stringify(login.error));
  assert.ok(login.data);
  const nexus = createNexusClient(server.url, { token: login.data.token });

  const me = await nexus.GET("/api/v1/me");
  assert.equal(me.data?.email, email);
  assert.equal(me.data?.email_verified, true);

  // The live stream, open before the bot exists.
  const events = await openEvents(nexus);

  const newBot: Schemas["NewBot"] = {
    name: "TypeScript client",
    exchange: "paper",
    symbol: "BTC/USDT",
    strategy: "trend_breakout",
    paused: true,
  };
  const created = await nexus.POST("/api/v1/bots", { body: newBot });
  assert.equal(created.response.status, 201, JSON.stringify(created.error));
  const bot = created.data!;
  assert.equal(bot.exchange, "paper");
  assert.equal(bot.symbol, "BTC/USDT");
  assert.equal(bot.paused, true);

  const list = await nexus.GET("/api/v1/bots", { params: { query: { limit: 10 } } });
  assert.equal(list.response.status, 200, JSON.stringify(list.error));
  assert.deepEqual(
    list.data?.items.map((b) => [b.id, b.name]),
    [[bot.id, "TypeScript client"]],
  );
  // The last page: no cursor (the server writes `null`, see clients/prepare_openapi.py).
  assert.equal(list.data?.next_after ?? undefined, undefined);

  const one = await nexus.GET("/api/v1/bots/{id}", { params: { path: { id: bot.id } } });
  assert.equal(one.data?.id, bot.id);

  // The stream told of the new bot.
  const createdEvent = (await events.next())!;
  assert.ok(createdEvent, "an event");
  assert.ok(createdEvent.id, "every event has an id");
  assert.equal(createdEvent.event.type, "bot");
  assert.equal(createdEvent.event.bot?.change, "created");
  assert.equal(createdEvent.event.bot_id, bot.id);
  assert.equal(events.lastEventId, createdEvent.id);
  await events.close();

  // Renamed while no stream is open: resuming after the last event brings it.
  const renamed = await nexus.PATCH("/api/v1/bots/{id}", {
    params: { path: { id: bot.id } },
    body: { name: "Renamed" },
  });
  assert.equal(renamed.response.status, 200, JSON.stringify(renamed.error));
  const resumed = await openEvents(nexus, { lastEventId: createdEvent.id });
  const missed = await resumed.next();
  assert.equal(missed?.event.bot?.change, "updated");
  assert.equal(missed?.event.bot?.bot?.name, "Renamed");
  await resumed.close();

  // Without the token the same call is refused.
  const denied = await anonymous.GET("/api/v1/bots");
  assert.equal(denied.response.status, 401);
  assert.equal(denied.error?.code, "unauthorized");
  await assert.rejects(
    openEvents(anonymous),
    (e: unknown) => e instanceof EventStreamError && e.status === 401 && e.code === "unauthorized",
  );
});
