"use strict";
// One scenario run as an application would run it against `serve --tls`: a process started with
// NODE_EXTRA_CA_CERTS=<the server's cert.pem> (Node reads it only at start-up, hence a process of
// its own); for the Graph client v3, Client.init with customHosts, nothing else changed.
// Started by https.test.cjs:  node https-app.cjs <scenario>  with SWITCHBOARD_JSON set.
const assert = require("node:assert/strict");
const { Client } = require("@microsoft/microsoft-graph-client");
const switchboard = require("./switchboard.cjs");
const { GRAPH_SCOPE, PASSWORD, createUser, tag } = switchboard;
const scenarios = require("./v3-scenarios.cjs");
const { scenario } = require("./observe.cjs");

const sb = JSON.parse(process.env.SWITCHBOARD_JSON);
const customHosts = new Set([new URL(sb.base).hostname]); // "127.0.0.1": a hostname, no port

// The documented construction: Client.init with a callback auth provider.
function connect(token) {
  const client = Client.init({
    authProvider: (done) => done(null, token),
    baseUrl: sb.base,
    defaultVersion: "v1.0",
    customHosts,
  });
  return { client, pager: client };
}

// MSAL Node, pointed at Switchboard's authority.
function msalApp(secret = sb.clientSecret) {
  const { ConfidentialClientApplication } = require("@azure/msal-node"); // loaded only where used
  return new ConfidentialClientApplication({
    auth: {
      clientId: sb.clientId,
      clientSecret: secret,
      authority: `${sb.base}/${sb.tenantId}`,
      // Trusted as is, so no instance discovery at login.microsoftonline.com. host WITH the port:
      // "127.0.0.1" alone does not match and MSAL falls back to discovery.
      knownAuthorities: [new URL(sb.base).host],
    },
  });
}

const msalToken = (secret) => msalApp(secret).acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] });

function identityCredential(secret = sb.clientSecret) {
  const { ClientSecretCredential } = require("@azure/identity");
  return new ClientSecretCredential(sb.tenantId, sb.clientId, secret, {
    authorityHost: sb.base,
    disableInstanceDiscovery: true,
  });
}

const run = {
  directory: () => scenarios.directory(sb, connect),
  errors: () => scenarios.errors(sb, connect),
  chats: () => scenarios.chats(sb, connect),
  messages: () => scenarios.messages(sb, connect),
  batch: () => scenarios.batch(sb, connect),
  apps: () => scenarios.apps(sb, connect),
  mail: () => scenarios.mail(sb, connect),
  quirks: () => scenarios.quirks(sb, connect),

  async msal() {
    const result = await msalToken();
    assert.ok(result.accessToken.split(".").length === 3, "a JWT");
    assert.equal(result.tokenType, "Bearer");
    assert.ok(result.expiresOn > new Date());
    await scenarios.directory(sb, connect, result.accessToken);
    // A user's delegated token through MSAL's username/password flow (ROPC), used on /me and /chats.
    const user = await createUser(sb, result.accessToken, `msal${tag()}`, "Msal User");
    const delegated = await msalApp().acquireTokenByUsernamePassword({
      scopes: [GRAPH_SCOPE], // the app's granted delegated permissions (with openid, profile, offline_access)
      username: user.userPrincipalName,
      password: PASSWORD,
    });
    assert.equal(delegated.account.username, user.userPrincipalName);
    assert.equal(delegated.idTokenClaims.oid, user.id);
    const { client } = connect(delegated.accessToken);
    assert.equal((await client.api("/me").get()).id, user.id);
    assert.deepEqual((await client.api("/chats").get()).value, []);

    const error = await msalToken("not-the-secret").then(() => assert.fail("expected invalid_client"), (e) => e);
    assert.equal(error.errorCode, "invalid_client", String(error));
    assert.match(error.errorMessage, /AADSTS/);
  },

  // @azure/identity through the SDK's own TokenCredentialAuthenticationProvider.
  async identity() {
    const { TokenCredentialAuthenticationProvider } = require("@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials");
    const credential = identityCredential();
    const authProvider = new TokenCredentialAuthenticationProvider(credential, { scopes: [GRAPH_SCOPE] });
    const client = Client.initWithMiddleware({ authProvider, baseUrl: sb.base, defaultVersion: "v1.0", customHosts });
    const users = await client.api("/users").top(1).get();
    assert.ok(Array.isArray(users.value));
    const error = await identityCredential("not-the-secret")
      .getToken(GRAPH_SCOPE)
      .then(() => assert.fail("expected a failure"), (e) => e);
    // @azure/identity 4.13 turns every MSAL ServerError (here Entra's invalid_client, AADSTS7000215)
    // into an AuthenticationRequiredError carrying the server's message: its rule, not the server's.
    assert.equal(error.name, "AuthenticationRequiredError", String(error));
    assert.match(error.message, /invalid_client: .*AADSTS7000215/s);
  },

  // The Kiota SDK (ESM) with @azure/identity behind its AzureIdentityAuthenticationProvider.
  async kiota() {
    const { kiotaIdentity } = await import("./kiota-https.mjs");
    await kiotaIdentity(sb, switchboard);
  },
};

// "kiota:<name>": one of kiota-scenarios.mjs with the Kiota SDK.
for (const name of ["directory", "errors", "chats", "messages", "apps", "mail", "quirks", "batch"]) {
  run[`kiota:${name}`] = async () => {
    const { kiotaScenario } = await import("./kiota-https.mjs");
    await kiotaScenario(sb, name);
  };
}

const name = process.argv[2];
assert.ok(run[name], `unknown scenario ${name}`);
// Client and scenario names for the compatibility records.
const [client, scenarioName] = name.startsWith("kiota") ? ["kiota-https", name === "kiota" ? "identity" : name.slice(6)] : ["v3-https", name];
scenario(client, scenarioName, run[name]).then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
