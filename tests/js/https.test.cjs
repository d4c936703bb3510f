"use strict";
// @microsoft/microsoft-graph-client 3.0.7 against `switchboard serve --tls`, unmodified: no
// custom middleware. Tokens from MSAL Node and @azure/identity too, and the Kiota SDK with its
// Azure Identity provider and in every scenario of lib/kiota-scenarios.mjs. Node
// reads NODE_EXTRA_CA_CERTS only when it starts, and the certificate exists only once the server
// has started, so each scenario runs in a process of its own (lib/https-app.cjs), exactly as
// an application would be started.
const assert = require("node:assert/strict");
const { execFile } = require("node:child_process");
const path = require("node:path");
const { after, before, describe, test } = require("node:test");
const { startSwitchboard } = require("./lib/switchboard.cjs");

let sb;
before(async () => {
  sb = await startSwitchboard({ tls: true });
});
after(async () => {
  await sb?.stop();
});

function app(scenario) {
  const { stop, ...server } = sb;
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: sb.cert, SWITCHBOARD_JSON: JSON.stringify(server) };
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(__dirname, "lib", "https-app.cjs"), scenario], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      assert.equal(error, null, `${scenario} failed:\n${stdout}${stderr}`);
      resolve();
    });
  });
}

// The scenarios are independent (each makes its own users), so their processes run side by side.
describe("serve --tls", { concurrency: true }, () => {
  test("v3 https: directory (create users, $filter, PageIterator)", () => app("directory"));
  test("v3 https: errors are GraphError with Graph's code", () => app("errors"));
  test("v3 https: chats (oneOnOne, group, PageIterator, members)", () => app("chats"));
  test("v3 https: chat messages (send, list, edit, react, delete, preview)", () => app("messages"));
  test("v3 https: JSON batching (BatchRequestContent, dependsOn, 424)", () => app("batch"));
  test("v3 https: installed apps (install, list, seed installedApps/{id}/chat/$ref, remove)", () => app("apps"));
  test("v3 https: mail (draft, send, inbox by $filter and $search, PageIterator, reply, move)", () => app("mail"));
  test("v3 https: other SDKs' wire quirks (%24top, @odata.type everywhere, PascalCase actions)", () => app("quirks"));
  test("v3 https: token from @azure/msal-node (ConfidentialClientApplication)", () => app("msal"));
  test("v3 https: token from @azure/identity (ClientSecretCredential)", () => app("identity"));
  test("kiota https: @azure/identity through AzureIdentityAuthenticationProvider", () => app("kiota"));
  for (const name of ["directory", "errors", "chats", "messages", "apps", "mail", "quirks", "batch"]) {
    test(`kiota https: ${name}`, () => app(`kiota:${name}`));
  }
});
