"use strict";
// What the JavaScript suites see on the wire, for every request an SDK makes inside a scenario:
// each v1.0 response body is checked against Graph's model (schema.mjs) and, when
// $SWITCHBOARD_COMPAT_RESULTS is set, one JSON line per request is appended to
// $SWITCHBOARD_COMPAT_RESULTS/<client>.jsonl for the compatibility table:
//   {"client":"v3-http","scenario":"...","method":"GET","url":"/v1.0/me/chats?$top=5","status":200}
//
// Both SDKs end in the process's global fetch (the Graph client v3's HTTPMessageHandler and
// Kiota's fetch library), so one wrapper sees both without touching their middleware, and the
// v3 client over https stays exactly as documented. The wrapper acts only inside scenario() —
// an AsyncLocalStorage context naming client and scenario — so set-up requests (tokens, users
// made with plain fetch) are neither recorded nor checked.
const assert = require("node:assert/strict");
const { AsyncLocalStorage } = require("node:async_hooks");
const fs = require("node:fs");
const path = require("node:path");

const current = new AsyncLocalStorage();
const schema = import("./schema.mjs");
let installed = false;

function record(entry) {
  const dir = process.env.SWITCHBOARD_COMPAT_RESULTS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  // One short appendFileSync per line: whole lines even with several processes per client.
  fs.appendFileSync(path.join(dir, `${entry.client}.jsonl`), `${JSON.stringify(entry)}\n`);
}

// The request's Prefer header, however the SDK passed its headers (v3: an object; Kiota: an
// object too; a Request for callers that pass one).
function prefer(input, init) {
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  return headers.get("prefer") ?? "";
}

function install() {
  if (installed) return;
  installed = true;
  const bare = globalThis.fetch;
  globalThis.fetch = async function observedFetch(input, init) {
    const run = current.getStore();
    const response = await bare(input, init);
    if (!run) return response;
    const url = new URL(typeof input === "string" || input instanceof URL ? String(input) : input.url);
    const method = (init?.method ?? (typeof input === "object" && "method" in input ? input.method : "GET")).toUpperCase();
    const target = `${url.pathname}${url.search}`;
    record({ client: run.client, scenario: run.scenario, method, url: target, status: response.status });
    run.requests.push({ method, url: target, status: response.status });
    const type = response.headers.get("content-type") ?? "";
    const graph = /^\/(v1\.0|beta)\//.test(url.pathname);
    const text = graph ? await response.clone().text() : "";
    // A JSON body without Content-Type is lost to every SDK (v3 hands back a stream, Kiota
    // throws, Python returns None: graph-sdk-clients.md §5).
    if (text && !type) run.problems.push(`${method} ${target} → ${response.status}: a body without Content-Type`);
    // Graph's correlation headers on every answer (graph-api.md 3.1).
    for (const header of graph ? ["request-id", "client-request-id"] : []) {
      if (!response.headers.get(header)) run.problems.push(`${method} ${target} → ${response.status}: no ${header} header`);
    }
    if (url.pathname.startsWith("/v1.0/") && type.startsWith("application/json")) {
      if (text) {
        const { checkBody } = await schema;
        for (const problem of checkBody(url.href, JSON.parse(text), prefer(input, init))) run.problems.push(`${method} ${target} → ${response.status}: ${problem}`);
      }
    }
    return response;
  };
}

// Runs one scenario with every SDK request observed; fails if any response body strayed from
// Graph's model.
async function scenario(client, name, body) {
  install();
  const run = { client, scenario: name, problems: [], requests: [] };
  await current.run(run, body);
  assert.deepEqual(run.problems, [], `${client} / ${name}: response bodies that differ from Graph's model`);
  return run;
}

// Plain fetch outside any scenario: set-up that is not the SDK under test.
const unobserved = (...args) => current.exit(() => fetch(...args));

module.exports = { scenario, unobserved };
