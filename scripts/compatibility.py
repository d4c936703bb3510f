#!/usr/bin/env python3
"""Writes docs/compatibility.md: every route of Graph's route table (graph-api.md appendix A, kept
in docs/compatibility.toml) and every route Switchboard serves (docs/permissions.md, which is
generated from the permission matrix, plus the identity routes in docs/compatibility.toml), with
its status and the SDK scenarios that exercised it, read from the request records the SDK suites
leave in a results directory (format: the "How it is made" section written below).

    python3 scripts/compatibility.py RESULTS_DIR > docs/compatibility.md

Standard library only (Python 3.11+, for tomllib)."""

import json
import re
import sys
import tomllib
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MATRIX_ROW = re.compile(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \|")
ALTERNATIVES = re.compile(r"^(.*/)([^/ ]+) \(([^)]*)\)$")  # "/x/hideForUser (unhideForUser, …)"
KEY_SEGMENT = re.compile(r"^([^()]+)\((.*)\)$")  # chats('19:…'), getAllMessages()

HOW_IT_IS_MADE = """\
## How it is made

`scripts/test` (a full run, without a name filter) gives the SDK suites a results directory in
`SWITCHBOARD_COMPAT_RESULTS`. Each suite appends one JSON object a line, for every HTTP request
its SDK clients make, to a `*.jsonl` file of its own there (the Python suite: `python.jsonl`,
written by `tests/python/graph_fidelity.py` from the SDKs' own request adapters):

```json
{"client": "msgraph-sdk", "scenario": "test_chats_members_and_apps_through_the_sdk", "method": "GET", "url": "https://127.0.0.1:40123/v1.0/chats?$top=2&$expand=members", "status": 200}
```

- `client`: the SDK (or token library) that sent it. Python names the package: `msgraph-sdk`,
  `msgraph-beta-sdk`, `azure-identity`, `msal`. JavaScript names the client and the transport
  (`tests/js/lib/observe.cjs`, one file per client): `v3-http` and `v3-https` are
  `@microsoft/microsoft-graph-client` v3 over plain http and over `serve --tls`; `kiota-http` and
  `kiota-https` are the Kiota TypeScript `@microsoft/msgraph-sdk` the same two ways.
- `scenario`: the test that made the request, as its runner names it.
- `method`, `url` (absolute, as sent, after the SDK's middleware), `status` (the final response's).

A suite writes only when `SWITCHBOARD_COMPAT_RESULTS` is set, creates the directory if it is
missing, names its file after itself (`python.jsonl`, `v3-http.jsonl`, …) and appends each record as
one whole line in one write, so that test processes running in parallel do not interleave.

Then `scripts/compatibility.py` matches each record's path (without `/v1.0` or `/beta`; `/me/…`
counts as `/users/{id}/…`, `/me/chats/…` and `/users/{id}/chats/{chat-id}/…` as `/chats/…`) to
the route templates, and a route counts as covered by a scenario when one of its requests got a
`2xx` or `3xx`. The routes are Graph's route table (graph-api.md appendix A, copied into
`docs/compatibility.toml`) and every route Switchboard serves (`docs/permissions.md`, generated
from the permission matrix, and the identity routes listed in `docs/compatibility.toml`).
"Partial" notes are hand-written in `docs/compatibility.toml`; everything else is computed.
`scripts/test` regenerates the page after the SDK suites and fails when it differs from this
committed copy; it prints the command that updates it. By hand:

```sh
export SWITCHBOARD_COMPAT_RESULTS=$(mktemp -d)
~/.cache/switchboard/venv/bin/python -m pytest tests/python && node --test tests/js/*.test.[cm]js
python3 scripts/compatibility.py "$SWITCHBOARD_COMPAT_RESULTS" > docs/compatibility.md
```
"""


def segments(path: str) -> list[str]:
    return [urllib.parse.unquote(s) for s in path.split("/") if s]


def template(route: str) -> tuple[str, tuple[str, ...], str]:
    """("GET", key segments, display path) of "GET /chats/{chat-id}"; placeholders become "{}"."""
    method, path = route.split(" ", 1)
    path = re.sub(r"\{[^}]*\}", lambda m: "{" + m.group(0)[1:-1].replace("/", "") + "}", path)
    key = tuple("{}" if s.startswith("{") else s.lower() for s in path.split("/") if s)
    return method, key, path


def expand(method: str, route: str) -> list[str]:
    alternatives = ALTERNATIVES.match(route)
    if not alternatives:
        return [f"{method} {route}"]
    base, first, rest = alternatives.groups()
    return [f"{method} {base}{name.strip()}" for name in [first, *rest.split(",")]]


def request_paths(url: str) -> tuple[str, list[list[str]]]:
    """The kind ("graph" or "identity") of a recorded URL and the paths it may be written as."""
    parts = []
    for s in segments(urllib.parse.urlsplit(url).path):
        key = KEY_SEGMENT.match(s)
        if key:
            parts.append(key.group(1))
            if key.group(2).strip("'"):
                parts.append(key.group(2).strip("'"))
        else:
            parts.append(s)
    if not parts or parts[0] not in ("v1.0", "beta"):
        return "identity", [parts]
    parts = parts[1:]
    if parts[:2] == ["me", "chats"]:
        return "graph", [parts[1:]]
    if parts[:1] == ["me"] and len(parts) > 1:
        return "graph", [["users", "{me}", *parts[1:]]]
    aliases = [parts]
    if len(parts) >= 3 and parts[0] == "users" and parts[2] == "chats":
        aliases.append(parts[2:])
    return "graph", aliases


def match(templates, method: str, url: str):
    kind, aliases = request_paths(url)
    best, best_score = None, -1
    for path in aliases:
        for t_kind, t_method, key in templates:
            if t_kind != kind or t_method != method or len(key) != len(path):
                continue
            if all(k == "{}" or k == p.lower() for k, p in zip(key, path)):
                score = sum(k != "{}" for k in key)
                if score > best_score:
                    best, best_score = (t_kind, t_method, key), score
    return best


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    results = Path(sys.argv[1])
    config = tomllib.loads((ROOT / "docs/compatibility.toml").read_text())

    rows: dict[tuple, dict] = {}  # (kind, method, key) -> row; insertion order is the page's order

    def row(kind: str, route: str) -> dict:
        method, key, display = template(route)
        return rows.setdefault((kind, method, key), {"display": display, "graph": [], "served": False})

    for entry in config["graph"]:
        kind = "identity" if entry.get("identity") else "graph"
        for route in entry["routes"]:
            row(kind, route)["graph"].append(entry["n"])
    for line in (ROOT / "docs/permissions.md").read_text().splitlines():
        found = MATRIX_ROW.match(line)
        if found:
            for route in expand(*found.groups()):
                r = row("graph", route)
                r["served"] = True
                r["display"] = template(route)[2]  # the server's own spelling of the path
    for kind in ("graph", "identity"):
        for route in config["served"].get(kind, []):
            row(kind, route)["served"] = True
    partial = {template(route)[:2]: note for route, note in config.get("partial", {}).items()}
    unknown_notes = set(partial) - {(m, k) for (_, m, k) in rows}
    if unknown_notes:
        print(f"docs/compatibility.toml: notes on routes that are not in the table: {sorted(unknown_notes)}", file=sys.stderr)
        return 1

    coverage: dict[tuple, dict[str, set[str]]] = {}
    unmatched: set[tuple[str, str, str]] = set()
    templates = list(rows)
    files = sorted(results.glob("*.jsonl"))
    if not files:
        print(f"{results}: no *.jsonl request records", file=sys.stderr)
        return 1
    for file in files:
        for number, line in enumerate(file.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                client, scenario, method, url, status = (r[k] for k in ("client", "scenario", "method", "url", "status"))
            except (ValueError, KeyError) as e:
                print(f"{file}:{number}: not a request record ({e}): {line}", file=sys.stderr)
                return 1
            if not 200 <= int(status) < 400:
                continue
            found = match(templates, method.upper(), url)
            if found is None:
                path = "/".join(s if re.fullmatch(r"[A-Za-z$.]+", s) else "{…}" for s in segments(urllib.parse.urlsplit(url).path))
                unmatched.add((client, method.upper(), "/" + path))
                continue
            coverage.setdefault(found, {}).setdefault(client, set()).add(scenario)

    counts = {"supported": 0, "partial": 0, "not yet": 0}
    covered = 0
    table = []
    for (kind, method, key), r in rows.items():
        if not r["served"]:
            status = "not yet"
        elif (method, key) in partial:
            status = "partial"
        else:
            status = "supported"
        counts[status] += 1
        text = f"partial: {partial[(method, key)]}" if status == "partial" else status
        by = coverage.get((kind, method, key), {})
        covered += bool(by)
        cell = "; ".join(f"`{client}`: " + ", ".join(sorted(by[client])) for client in sorted(by)) or "—"
        graph = ", ".join(str(n) for n in r["graph"]) or "—"
        path = f"`{r['display']}`".replace("|", "\\|") + (" (identity platform)" if kind == "identity" else "")
        table.append(f"| {graph} | {method} | {path} | {text} | {cell} |")

    out = [
        "# Compatibility with Microsoft Graph and its SDKs",
        "",
        "Every route of Graph's route table for chats and mail (graph-api.md appendix A, column #) and",
        "every route Switchboard serves, under `/v1.0` and `/beta` alike, with its status and the SDK",
        "scenarios (the tests in `tests/python` and `tests/js`) that called it successfully. Generated",
        "by `scripts/compatibility.py` from the suites' request records: do not edit by hand.",
        "",
        f"{len(rows)} routes: {counts['supported']} supported, {counts['partial']} partial, "
        f"{counts['not yet']} not yet; {covered} covered by an SDK scenario.",
        "",
        "| # | Method | Route | Status | SDK scenarios |",
        "|---|---|---|---|---|",
        *table,
        "",
    ]
    if unmatched:
        out += [
            "## Requests that match no route",
            "",
            "Successful SDK requests to paths in neither table (a route missing from the permission matrix?):",
            "",
            *(f"- `{client}` {method} `{path}`" for client, method, path in sorted(unmatched)),
            "",
        ]
    out.append(HOW_IT_IS_MADE)
    sys.stdout.write("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
