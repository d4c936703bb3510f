"use strict";
// The scenarios the JavaScript Graph client v3 (@microsoft/microsoft-graph-client) runs against
// Switchboard, written once and run two ways (v3-http.test.cjs, https.test.cjs). Each takes
// the server (`sb`) and `connect(token)`, which answers `{ client, pager }`: the SDK's Client,
// and what to hand to the SDK's PageIterator (the client itself on https, the nextLink facade
// of graph-sdk-clients.md §3 on plain http).
const assert = require("node:assert/strict");
const { BatchRequestContent, BatchResponseContent, GraphError, PageIterator } = require("@microsoft/microsoft-graph-client");
const { appToken, userToken, createUser, newUser, tag } = require("./switchboard.cjs");

async function iterate(pager, firstPage) {
  const seen = [];
  await new PageIterator(pager, firstPage, (item) => {
    seen.push(item);
    return true;
  }).iterate();
  return seen;
}

// As Graph's own samples write it: graph.microsoft.com's URL, the user by id or UPN.
const member = (sb, user) => ({
  "@odata.type": "#microsoft.graph.aadUserConversationMember",
  roles: ["owner"],
  "user@odata.bind": `https://graph.microsoft.com/v1.0/users('${user}')`,
});

// Create five users, list them with a filter, two per page, through the SDK's PageIterator;
// read one by UPN.
async function directory(sb, connect, token) {
  const { client, pager } = connect(token ?? (await appToken(sb)));
  const t = tag();
  const prefix = `Pager ${t}`;
  const created = [];
  for (let i = 0; i < 5; i++) created.push(await client.api("/users").post(newUser(sb, `pager${t}${i}`, `${prefix} ${i}`)));
  assert.ok(created[0].id);
  assert.equal(created[0].userPrincipalName, `pager${t}0@${sb.domain}`);

  const first = await client
    .api("/users")
    .filter(`startswith(displayName,'${prefix}')`)
    .select(["id", "displayName"])
    .top(2)
    .get();
  assert.equal(first.value.length, 2);
  assert.ok(first["@odata.nextLink"].startsWith(`${sb.graph}/users?`), first["@odata.nextLink"]);
  const seen = await iterate(pager, first);
  assert.deepEqual(seen.map((u) => u.displayName).sort(), [0, 1, 2, 3, 4].map((i) => `${prefix} ${i}`));

  const got = await client.api(`/users/pager${t}3@${sb.domain}`).get();
  assert.equal(got.id, created[3].id);
  assert.equal(got.displayName, `${prefix} 3`);
}

// Graph's error envelope becomes a GraphError carrying Graph's code.
async function errors(sb, connect) {
  const { client } = connect(await appToken(sb));
  const clientRequestId = `js-${tag()}`;
  const error = await client
    .api(`/users/nobody-${tag()}@${sb.domain}`)
    .header("client-request-id", clientRequestId)
    .get()
    .then(() => assert.fail("expected a 404"), (e) => e);
  assert.ok(error instanceof GraphError, `not a GraphError: ${error}`);
  assert.equal(error.statusCode, 404);
  assert.equal(error.code, "Request_ResourceNotFound");
  assert.ok(error.message);
  assert.ok(error.requestId, "requestId (innerError.request-id)");
  assert.ok(error.date instanceof Date && !Number.isNaN(error.date.getTime()));
  assert.equal(error.headers.get("request-id"), error.requestId);
  // The caller's client-request-id comes back in the header and in innerError (error.body is the
  // envelope's "error" object as a JSON string).
  assert.equal(error.headers.get("client-request-id"), clientRequestId);
  assert.equal(JSON.parse(error.body).innerError["client-request-id"], clientRequestId);

  const bad = await client
    .api("/users")
    .filter("startswith(displayName")
    .get()
    .then(() => assert.fail("expected a 400"), (e) => e);
  assert.ok(bad instanceof GraphError);
  assert.equal(bad.statusCode, 400);
  assert.ok(bad.code, "a Graph error code");

  // Without a token: 401, still Graph's envelope.
  const { client: anonymous } = connect("not-a-token");
  const denied = await anonymous
    .api("/users")
    .get()
    .then(() => assert.fail("expected a 401"), (e) => e);
  assert.ok(denied instanceof GraphError);
  assert.equal(denied.statusCode, 401);
  assert.equal(denied.code, "InvalidAuthenticationToken");
}

async function people(sb, n, prefix) {
  const bearer = await appToken(sb);
  const t = tag();
  const users = [];
  for (let i = 0; i < n; i++) users.push(await createUser(sb, bearer, `${prefix}${t}${i}`, `${prefix} ${t} ${i}`));
  return { users, ids: users.map((u) => u.id), t };
}

// One-on-one and group chats, five listed two per page through PageIterator, a member added
// and removed again; as a user with a delegated token (password grant).
async function chats(sb, connect) {
  const { users, ids, t } = await people(sb, 4, "c");
  const { client, pager } = connect(await userToken(sb, users[0].userPrincipalName));

  const one = await client.api("/chats").post({ chatType: "oneOnOne", members: [member(sb, ids[0]), member(sb, ids[1])] });
  assert.equal(one.id, `19:${[ids[0], ids[1]].sort().join("_")}@unq.gbl.spaces`);
  assert.equal(one.chatType, "oneOnOne");
  const group = await client
    .api("/chats")
    .post({ chatType: "group", topic: `Launch ${t}`, members: ids.slice(0, 3).map((id) => member(sb, id)) });
  assert.equal(group.chatType, "group");
  assert.equal(group.topic, `Launch ${t}`);
  for (let n = 0; n < 3; n++) {
    await client.api("/chats").post({ chatType: "group", topic: `Extra ${n}`, members: [member(sb, ids[0]), member(sb, ids[2])] });
  }

  const first = await client.api("/chats").expand("members").top(2).get();
  assert.equal(first.value.length, 2);
  assert.ok(first["@odata.nextLink"]);
  const seen = await iterate(pager, first);
  assert.equal(seen.length, 5);
  assert.equal(new Set(seen.map((c) => c.id)).size, 5);
  assert.ok(seen.some((c) => c.id === one.id) && seen.some((c) => c.id === group.id));
  assert.ok(seen.every((c) => Array.isArray(c.members) && c.members.length >= 2));

  // Members: the id goes in the path percent-encoded, as the SDK's docs do it.
  const members = `/chats/${encodeURIComponent(group.id)}/members`;
  const added = await client.api(members).post(member(sb, users[3].userPrincipalName));
  assert.equal(added["@odata.type"], "#microsoft.graph.aadUserConversationMember");
  assert.equal(added.userId, ids[3]);
  let listed = await client.api(members).get();
  assert.deepEqual(listed.value.map((m) => m.userId).sort(), [...ids].sort());
  await client.api(`${members}/${encodeURIComponent(added.id)}`).delete();
  listed = await client.api(members).get();
  assert.ok(!listed.value.some((m) => m.userId === ids[3]));

  // The chat read back by its raw id (what the SDK sends when the caller does not encode).
  const raw = await client.api(`/chats/${group.id}`).get();
  assert.equal(raw.id, group.id);
}

// Send the seed's body, list newest first through PageIterator, edit, react, soft-delete and
// restore, and read the chat's lastMessagePreview through $expand.
async function messages(sb, connect) {
  const { users, ids, t } = await people(sb, 2, "m");
  const me = connect(await userToken(sb, users[0].userPrincipalName));
  const them = connect(await userToken(sb, users[1].userPrincipalName));
  const chat = await me.client
    .api("/chats")
    .post({ chatType: "group", topic: `Messages ${t}`, members: ids.map((id) => member(sb, id)) });
  const path = `/chats/${encodeURIComponent(chat.id)}/messages`;

  const hello = await me.client.api(path).post({ body: { content: "Hello world" } });
  assert.match(hello.id, /^\d+$/);
  assert.equal(hello.chatId, chat.id);
  assert.equal(hello.messageType, "message");
  assert.deepEqual(hello.body, { contentType: "text", content: "Hello world" });
  assert.equal(hello.from.user.id, ids[0]);
  assert.equal(hello.from.user.userIdentityType, "aadUser");
  assert.ok(!Number.isNaN(Date.parse(hello.createdDateTime)));
  for (let i = 0; i < 3; i++) await them.client.api(path).post({ body: { content: `reply ${i}` } });

  const first = await me.client.api(path).top(2).get();
  assert.equal(first.value.length, 2);
  assert.ok(first["@odata.nextLink"]);
  const seen = await iterate(me.pager, first);
  const sent = seen.filter((m) => m.messageType === "message");
  assert.deepEqual(sent.map((m) => m.body.content), ["reply 2", "reply 1", "reply 0", "Hello world"]);
  assert.ok(seen.some((m) => m.messageType !== "message"), "the chat's system events are listed too");

  const item = `${path}/${hello.id}`;
  await me.client.api(item).patch({ body: { content: "Hello, edited" } });
  await them.client.api(`${item}/setReaction`).post({ reactionType: "💘" });
  let got = await me.client.api(item).get();
  assert.equal(got.body.content, "Hello, edited");
  assert.ok(got.lastEditedDateTime);
  assert.equal(got.reactions.length, 1);
  assert.equal(got.reactions[0].reactionType, "💘");
  assert.equal(got.reactions[0].user.user.id, ids[1]);

  // Editing someone else's message is Graph's 403, as a GraphError.
  const forbidden = await them.client
    .api(item)
    .patch({ body: { content: "not mine" } })
    .then(() => assert.fail("expected a 403"), (e) => e);
  assert.ok(forbidden instanceof GraphError);
  assert.equal(forbidden.statusCode, 403);
  assert.ok(forbidden.code);

  // The newest message, through $expand=lastMessagePreview.
  const newest = await me.client.api(path).post({ body: { content: "latest news" } });
  const chats = await me.client.api("/chats").expand("lastMessagePreview").get();
  const mine = chats.value.find((c) => c.id === chat.id);
  assert.equal(mine.lastMessagePreview.id, newest.id);
  assert.equal(mine.lastMessagePreview.body.content, "latest news");
  assert.equal(mine.lastMessagePreview.isDeleted, false);

  await me.client.api(`${path}/${newest.id}/softDelete`).post({});
  got = await me.client.api(`${path}/${newest.id}`).get();
  assert.ok(got.deletedDateTime);
  assert.equal(got.body.content, "");
  const preview = await me.client.api(`/chats/${encodeURIComponent(chat.id)}`).expand("lastMessagePreview").get();
  assert.equal(preview.lastMessagePreview.id, newest.id);
  assert.equal(preview.lastMessagePreview.isDeleted, true);
  await me.client.api(`${path}/${newest.id}/undoSoftDelete`).post({});
  got = await me.client.api(`${path}/${newest.id}`).get();
  assert.equal(got.deletedDateTime, null);
  assert.equal(got.body.content, "latest news");
}

// JSON batching through the SDK's BatchRequestContent / BatchResponseContent, serial with
// dependsOn. What it relies on (graph-sdk-clients.md §3): the client keeps whatever follows the
// origin of each Request's URL, so "/v1.0/me" arrives with the version in it; and
// BatchResponseContent reads a body as JSON only when headers["Content-Type"] (spelt exactly so)
// is application/json.
async function batch(sb, connect) {
  const { users, ids, t } = await people(sb, 2, "b");
  const { client } = connect(await userToken(sb, users[0].userPrincipalName));
  const json = { "Content-Type": "application/json" };
  const content = new BatchRequestContent([
    { id: "me", request: new Request(`${sb.base}/v1.0/me`, { method: "GET" }) },
    {
      id: "create",
      dependsOn: ["me"],
      request: new Request(`${sb.base}/v1.0/chats`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ chatType: "group", topic: `Batched ${t}`, members: ids.map((id) => member(sb, id)) }),
      }),
    },
    { id: "list", dependsOn: ["create"], request: new Request(`${sb.base}/me/chats?$top=5`, { method: "GET" }) },
    { id: "missing", dependsOn: ["list"], request: new Request(`${sb.base}/v1.0/users/nobody-${t}@${sb.domain}`) },
    {
      id: "skipped",
      dependsOn: ["missing"],
      request: new Request(`${sb.base}/v1.0/chats`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ chatType: "group", topic: `Never ${t}`, members: ids.map((id) => member(sb, id)) }),
      }),
    },
  ]);
  const sent = await content.getContent();
  assert.equal(sent.requests[0].url, "/v1.0/me", "the SDK keeps the version in the sub-request URL");
  const answer = new BatchResponseContent(await client.api("/$batch").post(sent));

  const me = answer.getResponseById("me");
  assert.equal(me.status, 200);
  assert.equal((await me.json()).id, ids[0]);
  const created = answer.getResponseById("create");
  assert.equal(created.status, 201);
  const chat = await created.json();
  assert.equal(chat.topic, `Batched ${t}`);
  const list = answer.getResponseById("list");
  assert.equal(list.status, 200);
  assert.ok((await list.json()).value.some((c) => c.id === chat.id));
  const missing = answer.getResponseById("missing");
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, "Request_ResourceNotFound");
  const skipped = answer.getResponseById("skipped");
  assert.equal(skipped.status, 424);
  assert.equal((await skipped.json()).error.code, "FailedDependency");
  assert.equal(answer.getResponses().size, 5);

  // The chat exists outside the batch too, and the skipped one was never created.
  assert.equal((await client.api(`/chats/${encodeURIComponent(chat.id)}`).get()).topic, `Batched ${t}`);
  const topics = (await client.api("/me/chats").top(50).get()).value.map((c) => c.topic);
  assert.ok(topics.includes(`Batched ${t}`) && !topics.includes(`Never ${t}`), topics.join(", "));
}

module.exports = { directory, errors, chats, messages, batch, iterate };
