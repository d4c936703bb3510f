// The Kiota TypeScript Graph SDK against `switchboard serve` over plain http, set up as
// graph-sdk-clients.md §4 documents: BaseBearerTokenAuthenticationProvider with an empty
// AllowedHostsValidator, the adapter's baseUrl set before createGraphServiceClient. The scenarios
// are in lib/kiota-scenarios.mjs (also run over https by https.test.cjs).
import { after, before, test } from "node:test";
import { AllowedHostsValidator, BaseBearerTokenAuthenticationProvider } from "@microsoft/kiota-abstractions";
import { createGraphServiceClient, GraphRequestAdapter } from "@microsoft/msgraph-sdk";
import switchboard from "./lib/switchboard.cjs";
import observe from "./lib/observe.cjs";
import { TITLES, kiotaScenarios } from "./lib/kiota-scenarios.mjs";

let sb;
before(async () => {
  sb = await switchboard.startSwitchboard({ tls: false });
});
after(async () => {
  await sb?.stop();
});

function connect(token) {
  const auth = new BaseBearerTokenAuthenticationProvider({
    getAuthorizationToken: async () => token,
    getAllowedHostsValidator: () => new AllowedHostsValidator(new Set()), // empty: every host
  });
  const adapter = new GraphRequestAdapter(auth);
  adapter.baseUrl = sb.graph; // before createGraphServiceClient, /v1.0 included
  return { adapter, client: createGraphServiceClient(adapter) };
}

for (const [name, title] of Object.entries(TITLES)) {
  test(`kiota http: ${title}`, () => observe.scenario("kiota-http", name, () => kiotaScenarios(sb, connect)[name]()));
}
