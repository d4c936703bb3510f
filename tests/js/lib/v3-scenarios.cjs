"use strict";
// The scenarios the JavaScript Graph client v3 (@microsoft/microsoft-graph-client) runs against
// Switchboard, written once and run two ways (v3-http.test.cjs, https.test.cjs). Each takes
// the server (`sb`) and `connect(token)`, which answers `{ client, pager }`: the SDK's Client,
// and what to hand to the SDK's PageIterator (the client itself, over http too).
const assert = require("node:assert/strict");
const { BatchRequestContent, BatchResponseContent, GraphError, PageIterator } = require("@microsoft/microsoft-graph-client");
const { randomUUID } = require("node:crypto");
const { appToken, userToken, createUser, newUser, tag } = require("./switchboard.cjs");
const { teamsPackage } = require("./teams-package.cjs");

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

  // Advanced queries (ConsistencyLevel: eventual): $count and $search; a change; a removal;
  // the tenant.
  const counted = await client
    .api("/users")
    .header("ConsistencyLevel", "eventual")
    .search(`"displayName:${prefix}"`)
    .count(true)
    .get();
  assert.equal(counted["@odata.count"], 5);
  const total = await client.api("/users/$count").header("ConsistencyLevel", "eventual").get();
  assert.ok(Number(total) >= 5, String(total));
  await client.api(`/users/${created[0].id}`).patch({ jobTitle: "Pilot", officeLocation: "Hangar 9" });
  const changed = await client.api(`/users/${created[0].id}`).select(["jobTitle", "officeLocation", "accountEnabled"]).get();
  assert.deepEqual([changed.jobTitle, changed.officeLocation, changed.accountEnabled], ["Pilot", "Hangar 9", true]);
  await client.api(`/users/${created[4].id}`).delete();
  const deleted = await client.api(`/users/${created[4].id}`).get().then(() => assert.fail("expected a 404"), (e) => e);
  assert.equal(deleted.statusCode, 404);
  const organization = await client.api("/organization").get();
  assert.equal(organization.value[0].id, sb.tenantId);
  const domains = await client.api("/domains").get();
  assert.ok(domains.value.some((d) => d.id === sb.domain));
  assert.equal((await client.api(`/domains/${sb.domain}`).get()).id, sb.domain);
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

  // One member by id; the chat renamed; the caller's own view of it (hide, read markers).
  const chatPath = `/chats/${encodeURIComponent(group.id)}`;
  const someone = listed.value.find((m) => m.userId === ids[1]);
  assert.equal((await client.api(`${members}/${encodeURIComponent(someone.id)}`).get()).userId, ids[1]);
  await client.api(chatPath).patch({ topic: `Renamed ${t}` });
  assert.equal((await client.api(`/me/chats/${encodeURIComponent(group.id)}`).get()).topic, `Renamed ${t}`);
  const user = { user: { id: ids[0], tenantId: sb.tenantId } };
  await client.api(`${chatPath}/hideForUser`).post(user);
  let mine = await client.api("/me/chats").get();
  assert.equal(mine.value.find((c) => c.id === group.id).viewpoint.isHidden, true);
  await client.api(`${chatPath}/unhideForUser`).post(user);
  await client.api(`${chatPath}/markChatUnreadForUser`).post({ ...user, lastMessageReadDateTime: "2021-01-01T00:00:00Z" });
  mine = await client.api("/me/chats").get();
  const view = mine.value.find((c) => c.id === group.id).viewpoint;
  assert.equal(view.isHidden, false);
  assert.equal(view.lastMessageReadDateTime, "2021-01-01T00:00:00Z");
  await client.api(`${chatPath}/markChatReadForUser`).post(user);
  const read = (await client.api("/me/chats").get()).value.find((c) => c.id === group.id).viewpoint;
  assert.ok(Date.parse(read.lastMessageReadDateTime) > Date.parse("2021-01-01T00:00:00Z"));
  // An app reads any user's chats.
  const { client: app } = connect(await appToken(sb));
  const theirs = await app.api(`/users/${ids[2]}/chats`).get();
  assert.ok(theirs.value.some((c) => c.id === group.id));
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
  assert.ok(!seen.some((m) => m.messageType === "systemEventMessage"), "an evolvable member, only on request");
  const events = await me.client.api(path).header("Prefer", "include-unknown-enum-members").get();
  const system = events.value.filter((m) => m.messageType === "systemEventMessage");
  const added = system.find((m) => m.eventDetail["@odata.type"] === "#microsoft.graph.membersAddedEventMessageDetail");
  assert.ok(system.some((m) => m.eventDetail["@odata.type"] === "#microsoft.graph.chatRenamedEventMessageDetail"));
  assert.deepEqual(added.eventDetail.members.map((m) => m.id).sort(), [...ids].sort());

  const item = `${path}/${hello.id}`;
  await me.client.api(item).patch({ body: { content: "Hello, edited" } });
  await them.client.api(`${item}/setReaction`).post({ reactionType: "💘" });
  let got = await me.client.api(item).get();
  assert.equal(got.body.content, "Hello, edited");
  assert.ok(got.lastEditedDateTime);
  assert.equal(got.reactions.length, 1);
  assert.equal(got.reactions[0].reactionType, "💘");
  assert.equal(got.reactions[0].user.user.id, ids[1]);

  // A mention, as Graph's docs write one.
  const mention = await me.client.api(path).post({
    body: { contentType: "html", content: `Over to <at id="0">${users[1].displayName}</at>` },
    mentions: [{ id: 0, mentionText: users[1].displayName, mentioned: { user: { id: ids[1], displayName: users[1].displayName, userIdentityType: "aadUser" } } }],
  });
  assert.equal(mention.mentions[0].mentioned.user.id, ids[1]);
  assert.equal(mention.mentions[0].mentionText, users[1].displayName);

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

  // The preview addressed directly, a reaction taken back, and every chat's messages of a user
  // through getAllMessages (application permission), paged.
  const direct = await me.client.api(`/chats/${encodeURIComponent(chat.id)}/lastMessagePreview`).get();
  assert.equal(direct.id, newest.id);
  await them.client.api(`${item}/unsetReaction`).post({ reactionType: "💘" });
  assert.deepEqual((await me.client.api(item).get()).reactions, []);
  const app = connect(await appToken(sb));
  const all = await app.client.api(`/users/${ids[0]}/chats/getAllMessages`).top(2).get();
  const everything = await iterate(app.pager, all);
  // Its delta: pages to a deltaLink (PageIterator stops there), then nothing new.
  const delta = await app.client.api(`/users/${ids[0]}/chats/getAllMessages/delta`).top(50).get();
  assert.ok(delta["@odata.deltaLink"] || delta["@odata.nextLink"]);
  const changes = await iterate(app.pager, delta);
  assert.ok(changes.length >= everything.length);
  assert.deepEqual(
    everything.filter((m) => m.messageType === "message").map((m) => m.id).sort(),
    [hello.id, ...sent.slice(0, 3).map((m) => m.id), mention.id, newest.id].sort(),
  );
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

const rejection = (promise) => promise.then(() => assert.fail("expected the call to fail"), (e) => e);

// Apps installed in a chat: install by binding a catalogue app, list with $expand, read one by its
// (base64, so percent-encoded) id, the chat it is bound to, the seed's beta route
// installedApps/{id}/chat/$ref, a second install (409) and removal.
async function apps(sb, connect) {
  const { users, ids, t } = await people(sb, 3, "a");
  const { client } = connect(await userToken(sb, users[0].userPrincipalName));
  // Published as Graph takes it: the zipped package, by a user (delegated AppCatalog.ReadWrite.All).
  const externalId = randomUUID();
  const app = await client.api("/appCatalogs/teamsApps").header("Content-Type", "application/zip").post(teamsPackage(externalId, "1.0.0", `Tasks ${t}`));
  assert.equal(app.externalId, externalId);
  assert.equal(app.distributionMethod, "organization");
  const groups = [];
  for (const pair of [[0, 1], [0, 2]]) {
    groups.push(await client.api("/chats").post({ chatType: "group", members: pair.map((i) => member(sb, ids[i])) }));
  }
  const [a, b] = groups.map((g) => g.id);
  const installedApps = `/chats/${encodeURIComponent(a)}/installedApps`;
  const bind = { "teamsApp@odata.bind": `https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/${app.id}` };

  const installed = await client.api(installedApps).post(bind);
  assert.ok(installed.id);
  const again = await rejection(client.api(installedApps).post(bind));
  assert.ok(again instanceof GraphError);
  assert.equal(again.statusCode, 409);
  assert.equal(again.code, "Conflict");

  const listed = await client.api(installedApps).expand(["teamsApp", "teamsAppDefinition"]).get();
  assert.equal(listed.value.length, 1);
  assert.equal(listed.value[0].id, installed.id);
  assert.equal(listed.value[0].teamsApp.externalId, externalId);
  assert.equal(listed.value[0].teamsAppDefinition.version, "1.0.0");
  const one = `${installedApps}/${encodeURIComponent(installed.id)}`;
  assert.equal((await client.api(one).get()).id, installed.id);

  // The seed (beta): bind the installation to another chat of the caller's; the request body is
  // the seed's chat object with the chat's id.
  assert.equal((await client.api(`${one}/chat`).get()).id, a);
  await client
    .api(`${one}/chat/$ref`)
    .version("beta")
    .post({ "@odata.type": "#Microsoft.Teams.GraphSvc.chat", id: b, viewpoint: { "@odata.type": "microsoft.graph.chatViewpoint" } });
  assert.equal((await client.api(`${one}/chat`).get()).id, b);
  await client.api(`${one}/chat/$ref`).version("beta").put({ "@odata.id": `https://graph.microsoft.com/beta/chats('${a}')` });
  assert.equal((await client.api(`${one}/chat`).get()).id, a);
  await client.api(`${one}/chat/$ref`).version("beta").delete();
  const unbound = await rejection(client.api(`${one}/chat`).get());
  assert.equal(unbound.statusCode, 404);
  await client.api(`${one}/chat/$ref`).version("beta").post({ "@odata.id": `https://graph.microsoft.com/beta/chats('${a}')` });

  // The catalogue as the SDK reads it; a new version published and the installation upgraded.
  const catalogue = await client.api("/appCatalogs/teamsApps").filter(`externalId eq '${externalId}'`).expand("appDefinitions").get();
  assert.equal(catalogue.value.length, 1);
  assert.equal(catalogue.value[0].id, app.id);
  assert.equal(catalogue.value[0].appDefinitions[0].version, "1.0.0");
  const definitions = await client.api(`/appCatalogs/teamsApps/${app.id}/appDefinitions`).get();
  const definition = await client.api(`/appCatalogs/teamsApps/${app.id}/appDefinitions/${encodeURIComponent(definitions.value[0].id)}`).get();
  assert.equal(definition.teamsAppId, app.id);
  await client
    .api(`/appCatalogs/teamsApps/${app.id}/appDefinitions`)
    .header("Content-Type", "application/zip")
    .post(teamsPackage(externalId, "2.0.0", `Tasks ${t}`));
  await client.api(`${one}/upgrade`).post({});
  assert.equal((await client.api(one).expand("teamsAppDefinition").get()).teamsAppDefinition.version, "2.0.0");

  await client.api(one).delete();
  const missing = await rejection(client.api(one).get());
  assert.ok(missing instanceof GraphError);
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.code, "NotFound");
  assert.deepEqual((await client.api(installedApps).get()).value, []);

  // The app leaves the catalogue.
  const { client: admin } = connect(await appToken(sb));
  await admin.api(`/appCatalogs/teamsApps/${app.id}`).delete();
  const removed = await rejection(admin.api(`/appCatalogs/teamsApps/${app.id}`).get());
  assert.equal(removed.statusCode, 404);
}

// Outlook mail between two users: a draft written as Graph's docs write it (enums capitalised),
// sent; found in the recipient's inbox with $filter and with $search; the inbox paged through
// PageIterator; replied to; moved to the archive; sendMail in one step.
async function mail(sb, connect) {
  const { users, t } = await people(sb, 2, "mail");
  const [sender, receiver] = users;
  const me = connect(await userToken(sb, sender.userPrincipalName));
  const them = connect(await userToken(sb, receiver.userPrincipalName));
  const subject = `Quarterly numbers ${t}`;

  const draft = await me.client.api("/me/messages").post({
    subject,
    importance: "High",
    body: { contentType: "HTML", content: `<p>The <b>zeppelin${t}</b> figures are in.</p>` },
    toRecipients: [{ emailAddress: { address: receiver.userPrincipalName } }],
  });
  assert.equal(draft.isDraft, true);
  assert.equal(draft.importance, "high");
  assert.equal(draft.body.contentType, "html");
  assert.equal(draft.bodyPreview, `The zeppelin${t} figures are in.`);
  const drafts = await me.client.api("/me/mailFolders/drafts/messages").get();
  assert.deepEqual(drafts.value.map((m) => m.id), [draft.id]);
  await me.client.api(`/me/messages/${encodeURIComponent(draft.id)}/send`).post();

  const inbox = "/me/mailFolders/inbox/messages";
  const filtered = await them.client.api(inbox).filter(`subject eq '${subject}'`).top(5).get();
  assert.equal(filtered.value.length, 1);
  const got = filtered.value[0];
  assert.equal(got.isRead, false);
  assert.equal(got.isDraft, false);
  assert.equal(got.from.emailAddress.address, sender.userPrincipalName);
  const searched = await them.client.api(inbox).search(`"zeppelin${t}"`).get();
  assert.deepEqual(searched.value.map((m) => m.id), [got.id]);
  // The body as text, on request (Outlook's Prefer header, as the SDK docs send it).
  const plain = await them.client.api(`/me/messages/${encodeURIComponent(got.id)}`).header("Prefer", 'outlook.body-content-type="text"').get();
  assert.equal(plain.body.contentType, "text");
  assert.match(plain.body.content, new RegExp(`The zeppelin${t} figures are in\\.`));
  assert.doesNotMatch(plain.body.content, /<b>/);

  // Reply (202): the sender finds "RE: …" in their inbox.
  await them.client.api(`/me/messages/${encodeURIComponent(got.id)}/reply`).post({ comment: "Thanks, looks good." });
  const replies = await me.client.api(inbox).filter(`subject eq 'RE: ${subject}'`).get();
  assert.equal(replies.value.length, 1);
  assert.equal(replies.value[0].from.emailAddress.address, receiver.userPrincipalName);
  assert.match(replies.value[0].body.content, /Thanks, looks good\./);

  // sendMail as the docs write it (camelCase), then the inbox two at a time... one per page.
  await me.client.api("/me/sendMail").post({
    message: { subject: `Follow-up ${t}`, body: { contentType: "Text", content: "See above." }, toRecipients: [{ emailAddress: { address: receiver.userPrincipalName } }] },
    saveToSentItems: true,
  });
  const first = await them.client.api(inbox).select(["subject", "receivedDateTime"]).top(1).get();
  assert.equal(first.value.length, 1);
  assert.ok(first["@odata.nextLink"].startsWith(`${sb.graph}/`), first["@odata.nextLink"]);
  const pages = await iterate(them.pager, first);
  assert.deepEqual(pages.map((m) => m.subject).sort(), [`Follow-up ${t}`, subject]);

  // Move (201, a new id); the old id is gone.
  const moved = await them.client.api(`/me/messages/${encodeURIComponent(got.id)}/move`).post({ destinationId: "archive" });
  assert.notEqual(moved.id, got.id);
  const archive = await them.client.api("/me/mailFolders/archive").get();
  assert.equal(moved.parentFolderId, archive.id);
  assert.equal(archive.totalItemCount, 1);
  const gone = await rejection(them.client.api(`/me/messages/${encodeURIComponent(got.id)}`).get());
  assert.ok(gone instanceof GraphError);
  assert.equal(gone.statusCode, 404);
  assert.equal(gone.code, "ErrorItemNotFound");

  const sent = await me.client.api("/me/mailFolders/sentitems/messages").get();
  assert.deepEqual(sent.value.map((m) => m.subject).sort(), [`Follow-up ${t}`, subject]);

  // A folder of one's own, a message copied into it and changed; a reply drafted, edited and
  // sent; a forward drafted and deleted; the raw MIME.
  const folder = await them.client.api("/me/mailFolders").post({ displayName: `Projects ${t}` });
  const child = await them.client.api(`/me/mailFolders/${encodeURIComponent(folder.id)}/childFolders`).post({ displayName: "2026" });
  assert.equal(child.parentFolderId, folder.id);
  const folders = await them.client.api("/me/mailFolders").top(50).get();
  assert.equal(folders.value.find((f) => f.id === folder.id).childFolderCount, 1);
  const copy = await them.client.api(`/me/messages/${encodeURIComponent(moved.id)}/copy`).post({ destinationId: folder.id });
  assert.equal(copy.parentFolderId, folder.id);
  const changed = await them.client.api(`/me/messages/${encodeURIComponent(copy.id)}`).patch({ isRead: true, categories: ["Blue category"] });
  assert.equal(changed.isRead, true);
  assert.deepEqual(changed.categories, ["Blue category"]);
  const inFolder = await them.client.api(`/me/mailFolders/${encodeURIComponent(folder.id)}/messages`).count(true).get();
  assert.equal(inFolder["@odata.count"], 1);

  const reply = await them.client.api(`/me/messages/${encodeURIComponent(moved.id)}/createReply`).post({});
  assert.equal(reply.subject, `RE: ${subject}`);
  assert.equal(reply.isDraft, true);
  await them.client.api(`/me/messages/${encodeURIComponent(reply.id)}`).patch({ body: { contentType: "text", content: "Drafted reply." } });
  await them.client.api(`/me/messages/${encodeURIComponent(reply.id)}/send`).post();
  const drafted = await me.client.api(inbox).filter(`subject eq 'RE: ${subject}'`).get();
  assert.equal(drafted.value.length, 2);
  const forward = await them.client
    .api(`/me/messages/${encodeURIComponent(moved.id)}/createForward`)
    .post({ toRecipients: [{ emailAddress: { address: sender.userPrincipalName } }] });
  assert.equal(forward.subject, `FW: ${subject}`);
  await them.client.api(`/me/messages/${encodeURIComponent(forward.id)}`).delete();
  assert.deepEqual((await them.client.api("/me/mailFolders/drafts/messages").get()).value, []);
  const mime = await them.client.api(`/me/messages/${encodeURIComponent(moved.id)}/$value`).get();
  const text = typeof mime === "string" ? mime : await new Response(mime).text();
  assert.match(text, new RegExp(`Subject: ${subject}`));

  // replyAll and forward in one step; a draft made in a folder; the folder renamed and deleted;
  // a message purged.
  await them.client.api(`/me/messages/${encodeURIComponent(moved.id)}/replyAll`).post({ comment: "To everyone." });
  await them.client
    .api(`/me/messages/${encodeURIComponent(moved.id)}/forward`)
    .post({ comment: "FYI", toRecipients: [{ emailAddress: { address: sender.userPrincipalName } }] });
  const forwarded = await me.client.api(inbox).filter(`subject eq 'FW: ${subject}'`).get();
  assert.equal(forwarded.value.length, 1);
  const filed = await them.client.api(`/me/mailFolders/${encodeURIComponent(child.id)}/messages`).post({ subject: `Filed ${t}` });
  assert.equal(filed.parentFolderId, child.id);
  const renamed = await them.client.api(`/me/mailFolders/${encodeURIComponent(folder.id)}`).patch({ displayName: `Archive ${t}` });
  assert.equal(renamed.displayName, `Archive ${t}`);
  await them.client.api(`/me/messages/${encodeURIComponent(filed.id)}/permanentDelete`).post({});
  await them.client.api(`/me/mailFolders/${encodeURIComponent(folder.id)}`).delete();
  const folderGone = await rejection(them.client.api(`/me/mailFolders/${encodeURIComponent(folder.id)}`).get());
  assert.equal(folderGone.statusCode, 404);
}

// What other SDKs put on the wire, sent through v3 (which sends what the caller writes), so that
// each tolerance is exercised: query option names percent-encoded (%24top), @odata.type on every
// object of a request body, PascalCase action parameters (sendMail's Message/SaveToSentItems,
// reply's Comment, move's DestinationId), ids raw and encoded; and SaveToSentItems as the string
// "false" of a Graph doc example.
async function quirks(sb, connect) {
  const { users, ids, t } = await people(sb, 3, "q");
  const [sender, receiver] = users;
  const me = connect(await userToken(sb, sender.userPrincipalName));
  const them = connect(await userToken(sb, receiver.userPrincipalName));

  const page = await me.client.api(`/users?%24filter=${encodeURIComponent(`startswith(displayName,'q ${t}')`)}&%24top=2&%24select=id,displayName`).get();
  assert.equal(page.value.length, 2);
  assert.deepEqual(Object.keys(page.value[0]).sort(), ["displayName", "id"]);
  assert.deepEqual((await iterate(me.pager, page)).length, 3);

  const typed = (type, object) => ({ "@odata.type": `#microsoft.graph.${type}`, ...object });
  const chat = await me.client.api("/chats").post(
    typed("chat", { chatType: "group", topic: `Typed ${t}`, members: ids.map((id) => ({ ...member(sb, id), "@odata.type": "#microsoft.graph.aadUserConversationMember" })) }),
  );
  const sentMessage = await me.client
    .api(`/chats/${encodeURIComponent(chat.id)}/messages`)
    .post(typed("chatMessage", { body: typed("itemBody", { contentType: "text", content: "typed" }) }));
  assert.equal(sentMessage.body.content, "typed");
  const listed = await me.client.api(`/chats/${chat.id}/messages`).query({ "%24top": 1 }).get();
  assert.equal(listed.value.length, 1);

  const recipient = typed("recipient", { emailAddress: typed("emailAddress", { address: receiver.userPrincipalName }) });
  await me.client.api("/me/sendMail").post({
    Message: typed("message", { subject: `Pascal ${t}`, body: typed("itemBody", { contentType: "text", content: "Pascal" }), toRecipients: [recipient], ccRecipients: [], bccRecipients: [] }),
    SaveToSentItems: "false", // a string, as one of Graph's own doc examples sends it
  });
  const inbox = await them.client.api(`/me/mailFolders/inbox/messages?%24filter=${encodeURIComponent(`subject eq 'Pascal ${t}'`)}`).get();
  assert.equal(inbox.value.length, 1);
  const sentItems = await me.client.api("/me/mailFolders/sentitems/messages").get();
  assert.deepEqual(sentItems.value, [], "SaveToSentItems: false");
  const id = inbox.value[0].id;
  await them.client.api(`/me/messages/${encodeURIComponent(id)}/reply`).post({ Comment: "Pascal reply" });
  const replies = await me.client.api("/me/mailFolders/inbox/messages").filter(`subject eq 'RE: Pascal ${t}'`).get();
  assert.equal(replies.value.length, 1);
  const moved = await them.client.api(`/me/messages/${encodeURIComponent(id)}/move`).post({ DestinationId: "deleteditems" });
  assert.equal(moved.parentFolderId, (await them.client.api("/me/mailFolders/deleteditems").get()).id);
}

module.exports = { directory, errors, chats, messages, apps, mail, quirks, batch, iterate };
