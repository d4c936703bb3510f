// The Kiota SDK against `serve --tls`, run by https-app.cjs (NODE_EXTRA_CA_CERTS set): with its
// Azure Identity provider, as in production (@azure/identity's ClientSecretCredential with
// authorityHost and disableInstanceDiscovery behind @microsoft/kiota-authentication-azure), and
// the scenarios of kiota-scenarios.mjs with a token from the token endpoint.
import assert from "node:assert/strict";
import { ClientSecretCredential } from "@azure/identity";
import { AzureIdentityAuthenticationProvider } from "@microsoft/kiota-authentication-azure";
import { AllowedHostsValidator, BaseBearerTokenAuthenticationProvider } from "@microsoft/kiota-abstractions";
import { createGraphServiceClient, GraphRequestAdapter } from "@microsoft/msgraph-sdk";
import "@microsoft/msgraph-sdk-users";
import { createUserCollectionResponseFromDiscriminatorValue } from "@microsoft/msgraph-sdk/models/index.js";
import { createODataErrorFromDiscriminatorValue } from "@microsoft/msgraph-sdk/models/oDataErrors/index.js";
import { PageIterator } from "@microsoft/msgraph-sdk-core";
import { kiotaScenarios } from "./kiota-scenarios.mjs";

// One of kiota-scenarios.mjs over https; the token is sent to the server's host only.
export async function kiotaScenario(sb, name) {
  const connect = (token) => {
    const auth = new BaseBearerTokenAuthenticationProvider({
      getAuthorizationToken: async () => token,
      getAllowedHostsValidator: () => new AllowedHostsValidator(new Set([new URL(sb.base).hostname])),
    });
    const adapter = new GraphRequestAdapter(auth);
    adapter.baseUrl = sb.graph;
    return { adapter, client: createGraphServiceClient(adapter) };
  };
  await kiotaScenarios(sb, connect)[name]();
}

export async function kiotaIdentity(sb, { GRAPH_SCOPE, newUser, tag }) {
  const credential = new ClientSecretCredential(sb.tenantId, sb.clientId, sb.clientSecret, {
    authorityHost: sb.base,
    disableInstanceDiscovery: true,
  });
  // allowedHosts: the provider's default is Graph's own hosts; elsewhere it sends no token at all.
  const auth = new AzureIdentityAuthenticationProvider(credential, [GRAPH_SCOPE], undefined, new Set([new URL(sb.base).hostname]));
  const adapter = new GraphRequestAdapter(auth);
  adapter.baseUrl = sb.graph;
  const client = createGraphServiceClient(adapter);

  const t = tag();
  for (let i = 0; i < 3; i++) await client.users.post(newUser(sb, `tls${t}${i}`, `Tls ${t} ${i}`));
  const first = await client.users.get({ queryParameters: { filter: `startswith(displayName,'Tls ${t}')`, top: 2 } });
  assert.ok(first.odataNextLink.startsWith(`${sb.graph}/users?`), first.odataNextLink);
  const seen = [];
  await new PageIterator(adapter, first, (u) => seen.push(u.displayName) > 0, createUserCollectionResponseFromDiscriminatorValue, {
    XXX: createODataErrorFromDiscriminatorValue,
  }).iterate();
  assert.deepEqual(seen.sort(), [0, 1, 2].map((i) => `Tls ${t} ${i}`));

  const missing = await client.users
    .byUserId(`nobody-${t}@${sb.domain}`)
    .get()
    .then(() => assert.fail("expected a 404"), (e) => e);
  assert.equal(missing.responseStatusCode, 404);
  assert.equal(missing.errorEscaped.code, "Request_ResourceNotFound");
}
