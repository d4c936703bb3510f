"use strict";
// @microsoft/microsoft-graph-client 3.0.7 over plain http, set up as graph-sdk-clients.md §3
// documents ("Working pattern"): the SDK's own middleware chain with a StaticBearer first
// (Client.init signs nothing on http: the SDK's limit, not the server's; the same scenarios run
// unmodified over https in https.test.cjs). PageIterator gets the client itself: it sends an
// absolute http nextLink as the path /v1.0/http://127.0.0.1:PORT/v1.0/…, which Switchboard reads
// as the link (graph-sdk-clients.md §3 needed a facade for it).
const { after, before, test } = require("node:test");
const { Client, RetryHandler, RedirectHandler, HTTPMessageHandler } = require("@microsoft/microsoft-graph-client");
const { startSwitchboard } = require("./lib/switchboard.cjs");
const scenarios = require("./lib/v3-scenarios.cjs");
const { scenario } = require("./lib/observe.cjs");

class StaticBearer {
  constructor(token) {
    this.token = token;
  }
  async execute(context) {
    context.options = context.options || {};
    const headers = context.options.headers;
    if (headers instanceof Headers) headers.set("Authorization", `Bearer ${this.token}`);
    else context.options.headers = { ...(headers || {}), Authorization: `Bearer ${this.token}` };
    return this.nextMiddleware.execute(context);
  }
  setNext(next) {
    this.nextMiddleware = next;
  }
}

const chain = (...middleware) => {
  for (let i = 0; i < middleware.length - 1; i++) middleware[i].setNext(middleware[i + 1]);
  return middleware[0];
};

let sb;
before(async () => {
  sb = await startSwitchboard({ tls: false });
});
after(async () => {
  await sb?.stop();
});

function connect(token) {
  const client = Client.initWithMiddleware({
    baseUrl: sb.base, // without the version
    defaultVersion: "v1.0",
    middleware: chain(new StaticBearer(token), new RetryHandler(), new RedirectHandler(), new HTTPMessageHandler()),
  });
  return { client, pager: client };
}

// Each scenario under one name for every client (the compatibility records' "scenario").
const run = (name, title) => test(`v3 http: ${title}`, () => scenario("v3-http", name, () => scenarios[name](sb, connect)));
run("directory", "directory (create users, $filter, PageIterator)");
run("errors", "errors are GraphError with Graph's code");
run("chats", "chats (oneOnOne, group, PageIterator, members)");
run("messages", "chat messages (send, list, edit, react, delete, preview)");
run("apps", "installed apps (install, list, seed installedApps/{id}/chat/$ref, remove)");
run("mail", "mail (draft, send, inbox by $filter and $search, PageIterator, reply, move)");
run("quirks", "other SDKs' wire quirks (%24top, @odata.type everywhere, PascalCase actions)");
run("batch", "JSON batching (BatchRequestContent, dependsOn, 424)");
