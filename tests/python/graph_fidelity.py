"""Two hooks on the official SDKs, installed once for the whole Python suite (conftest.py):

* **Schema fidelity** (issue #7 item 4): every JSON object an SDK parses out of a response — at
  every depth, success bodies and `ODataError` bodies alike — is checked against the SDK's own
  generated model of it, while the SDK parses it (Kiota's `JsonParseNode.get_object_value`):
  - no property the model lacks: Kiota puts those into `additional_data`, which must be empty but
    for OData control annotations (`@odata.context`, `@odata.etag`, `members@odata.context`, …),
    which Graph sends and the SDKs deliberately keep there, and the open-type extras Graph itself
    sends that graph_defaults.json lists (`allowed_extra`);
  - every property Graph returns by default is present, `null` included (graph_defaults.json,
    taken from graph-api.md; not enforced on responses to a request with `$select`);
  - every value the model types is one the SDK could read (a non-null JSON value parsed to `None`
    is an enum member or date the SDK does not know), enums spelled exactly as Graph writes them,
    `DateTimeOffset`s in UTC with `Z` (`innerError.date` without it, as Graph writes it).
  Findings are collected per test and fail it at teardown (`check_fidelity` fixture), so one run
  lists them all.

* **Request records** for docs/compatibility.md (issue #7 item 5): when `SWITCHBOARD_COMPAT_RESULTS`
  names a directory, every request an SDK makes (msgraph-sdk, msgraph-beta-sdk, and the token
  requests of azure-identity and MSAL) is appended to `python.jsonl` there, one JSON object a line:
  `{"client", "scenario", "method", "url", "status"}` (docs/compatibility.md, "How it is made").
"""

from __future__ import annotations

import contextvars
import datetime
import enum
import json
import os
import re
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import requests
from kiota_http.httpx_request_adapter import HttpxRequestAdapter
from kiota_serialization_json.json_parse_node import JsonParseNode

DEFAULTS = json.loads((Path(__file__).with_name("graph_defaults.json")).read_text())
RESULTS_ENV = "SWITCHBOARD_COMPAT_RESULTS"

# Graph's DateTimeOffset as it writes it: UTC, `Z`, optional fraction (graph-api.md §3.11).
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$")
# `innerError.date` is the one exception: no `Z`, no fraction (§3.2).
INNER_ERROR_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")

findings: list[str] = []
_request_url: contextvars.ContextVar[str] = contextvars.ContextVar("request_url", default="")


def _is_annotation(name: str) -> bool:
    # `@odata.context`, `members@odata.context`, …, and delta's `@removed` on a removed item.
    return "@odata." in name or name == "@removed"


def _attribute(deserializer) -> str:
    """The attribute a generated field deserializer sets: each is `lambda n: setattr(self, 'attr', …)`."""
    return next(c for c in deserializer.__code__.co_consts if isinstance(c, str))


def _has_select(url: str) -> bool:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    return any(urllib.parse.unquote(k).lstrip("$").lower() == "select" for k in query)


def _enum_text(value: Any) -> str | None:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list) and value and all(isinstance(v, enum.Enum) for v in value):
        return ",".join(v.value for v in value)
    return None


def check_object(raw: Any, parsed: Any) -> list[str]:
    """What is wrong with one JSON object, given the model the SDK built from it (nested objects
    are checked when the SDK parses them)."""
    if not isinstance(raw, dict) or parsed is None:
        return []
    # The batch envelope's items (msgraph_core) carry each sub-response's body as it came, not a
    # Graph model; the sub-responses are Graph's own routes, checked where they are called alone.
    if type(parsed).__module__.startswith("msgraph_core"):
        return []
    model = type(parsed).__name__
    where = f"{model} ({type(parsed).__module__.split('.')[0]})"
    rules = DEFAULTS["types"].get(model, {})
    problems = []

    extra = {k for k in (getattr(parsed, "additional_data", None) or {}) if not _is_annotation(k)}
    extra -= set(rules.get("allowed_extra", {}))
    if extra:
        problems.append(f"{where}: properties the SDK's model lacks: {sorted(extra)}")

    # A delta round's removed item is only its id and `@removed` (Graph's delta rule).
    if not _has_select(_request_url.get()) and "@removed" not in raw:
        missing = [p for p in rules.get("default", []) if p not in raw]
        if missing:
            problems.append(f"{where}: default properties missing (Graph sends them, null if unset): {missing}")

    deserializers = parsed.get_field_deserializers()
    for name, value in raw.items():
        if name not in deserializers or value is None or _is_annotation(name):
            continue
        got = getattr(parsed, _attribute(deserializers[name]), None)
        if got is None or (isinstance(got, list) and value and not got):
            problems.append(f"{where}.{name}: the SDK cannot read {value!r}")
            continue
        text = _enum_text(got)
        if text is not None and isinstance(value, str) and value != text:
            problems.append(f"{where}.{name}: {value!r} is not spelled as Graph's enum member {text!r}")
        if isinstance(got, datetime.datetime):
            pattern = INNER_ERROR_DATE if (model, name) == ("InnerError", "date") else DATE_TIME
            if not pattern.match(value):
                problems.append(f"{where}.{name}: {value!r} is not a date as Graph writes it ({pattern.pattern})")
    return problems


_get_object_value = JsonParseNode.get_object_value


def _checked_get_object_value(self, factory):
    result = _get_object_value(self, factory)
    findings.extend(f"{_request_url.get()}: {p}" for p in check_object(self._json_node, result))
    return result


# --- request records ---------------------------------------------------------------------------


def _scenario() -> str:
    # "tests/python/test_x.py::test_name (call)" -> "test_name"
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    return current.split("::")[-1].split(" ")[0] if current else "(fixture)"


def record(client: str, method: str, url: str, status: int) -> None:
    directory = os.environ.get(RESULTS_ENV)
    if not directory:
        return
    line = {"client": client, "scenario": _scenario(), "method": method, "url": url, "status": status}
    Path(directory).mkdir(parents=True, exist_ok=True)
    with open(Path(directory) / "python.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps(line, sort_keys=True) + "\n")


def _client_of_adapter(adapter) -> str:
    package = type(adapter).__module__.split(".")[0]
    return {"msgraph": "msgraph-sdk", "msgraph_beta": "msgraph-beta-sdk"}.get(package, package)


_get_http_response_message = HttpxRequestAdapter.get_http_response_message


async def _recorded_get_http_response_message(self, request_info, parent_span, claims=""):
    response = await _get_http_response_message(self, request_info, parent_span, claims)
    url = str(response.request.url)
    _request_url.set(url)
    record(_client_of_adapter(self), response.request.method, url, response.status_code)
    return response


_session_send = requests.Session.send


def _token_library() -> str | None:
    """Which token library a `requests` call comes from (azure-identity drives MSAL, so it wins);
    None for the tests' own calls."""
    modules = set()
    frame = sys._getframe(2)
    while frame is not None:
        modules.add(frame.f_globals.get("__name__", "").split(".")[0])
        frame = frame.f_back
    if "azure" in modules:
        return "azure-identity"
    return "msal" if "msal" in modules else None


def _recorded_session_send(self, request, **kwargs):
    response = _session_send(self, request, **kwargs)
    library = _token_library()
    if library:
        record(library, request.method, request.url, response.status_code)
    return response


def install() -> None:
    JsonParseNode.get_object_value = _checked_get_object_value
    HttpxRequestAdapter.get_http_response_message = _recorded_get_http_response_message
    requests.Session.send = _recorded_session_send
