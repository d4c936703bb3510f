"use strict";
// A real `switchboard serve [--tls]` for one test file, as tests/python/conftest.py does it: the
// built binary ($SWITCHBOARD_BIN, else $CARGO_TARGET_DIR/debug/switchboard, else
// ~/.cache/switchboard/target/debug/switchboard, the default of scripts/test), a fresh data
// directory, a free port read back from the log, and a clean exit (0) on SIGTERM.
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { unobserved } = require("./observe.cjs");

const PASSWORD = "Switchboard-Test-1";
const GRAPH_SCOPE = "https://graph.microsoft.com/.default";
const LISTENING = /listening on (https?:\/\/\S+)/;

function binary() {
  if (process.env.SWITCHBOARD_BIN) return process.env.SWITCHBOARD_BIN;
  const target = process.env.CARGO_TARGET_DIR || path.join(os.homedir(), ".cache/switchboard/target");
  return path.join(target, "debug", "switchboard");
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function startSwitchboard({ tls = false } = {}) {
  const bin = binary();
  assert.ok(fs.existsSync(bin), `${bin} is missing: build it first (cargo build -p switchboard) or set SWITCHBOARD_BIN`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "switchboard-js-"));
  const dataDir = path.join(root, "data");
  const logPath = path.join(root, "switchboard.log");
  // The log goes to a file, not a pipe: a pipe nobody drains would block the server.
  const log = fs.openSync(logPath, "w");
  const args = ["serve", ...(tls ? ["--tls"] : []), "--listen", "127.0.0.1:0", "--data-dir", dataDir];
  const child = spawn(bin, args, {
    stdio: ["ignore", log, log],
    env: { ...process.env, SWITCHBOARD_HASH_MEMORY_KIB: "64", SWITCHBOARD_HASH_ITERATIONS: "1", RUST_LOG: "info", NO_COLOR: "1" },
  });
  fs.closeSync(log);
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const readLog = () => fs.readFileSync(logPath, "utf8");

  let base;
  const deadline = Date.now() + 30_000;
  while (!base) {
    const match = LISTENING.exec(readLog());
    if (match) base = match[1];
    else if (child.exitCode !== null) assert.fail(`switchboard exited with ${child.exitCode}:\n${readLog()}`);
    else if (Date.now() > deadline) {
      child.kill("SIGKILL");
      assert.fail(`switchboard did not print its address within 30 s:\n${readLog()}`);
    } else await sleep(25);
  }
  assert.ok(base.startsWith(tls ? "https://" : "http://"), `serve${tls ? " --tls" : ""} listens on ${base}`);
  const creds = JSON.parse(fs.readFileSync(path.join(dataDir, "admin-credentials.json"), "utf8"));

  return {
    base, // http(s)://127.0.0.1:PORT
    graph: `${base}/v1.0`,
    port: new URL(base).port,
    cert: path.join(dataDir, "tls", "cert.pem"),
    tenantId: creds.tenantId,
    domain: creds.domain,
    clientId: creds.clientId,
    clientSecret: creds.clientSecret,
    tokenEndpoint: `${base}/${creds.tenantId}/oauth2/v2.0/token`,
    dataDir,
    logPath,
    async stop() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      const { code, signal } = await exited;
      clearTimeout(timer);
      assert.equal(code, 0, `switchboard did not stop cleanly on SIGTERM (code ${code}, signal ${signal}):\n${readLog()}`);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

// A token from the token endpoint: a plain form POST, as the identity platform takes it.
async function token(sb, form) {
  const response = await unobserved(sb.tokenEndpoint, {
    method: "POST",
    body: new URLSearchParams({ client_id: sb.clientId, client_secret: sb.clientSecret, ...form }),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text).access_token;
}

const appToken = (sb) => token(sb, { grant_type: "client_credentials", scope: GRAPH_SCOPE });
const userToken = (sb, upn) => token(sb, { grant_type: "password", username: upn, password: PASSWORD, scope: ".default" });

// A user, created with plain fetch (the SDKs under test create their own users elsewhere).
async function createUser(sb, bearer, alias, displayName) {
  const response = await unobserved(`${sb.graph}/users`, {
    method: "POST",
    headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json" },
    body: JSON.stringify(newUser(sb, alias, displayName)),
  });
  const text = await response.text();
  assert.equal(response.status, 201, text);
  return JSON.parse(text);
}

function newUser(sb, alias, displayName) {
  return {
    accountEnabled: true,
    displayName,
    mailNickname: alias,
    userPrincipalName: `${alias}@${sb.domain}`,
    passwordProfile: { forceChangePasswordNextSignIn: false, password: PASSWORD },
  };
}

const tag = () => Math.random().toString(16).slice(2, 8);

module.exports = { startSwitchboard, token, appToken, userToken, createUser, newUser, tag, PASSWORD, GRAPH_SCOPE };
