"""Fixtures: one real `switchboard serve --tls` process for the session, on a fresh data directory
and a free port, started from the built binary (`$SWITCHBOARD_BIN`, else
`$CARGO_TARGET_DIR/debug/switchboard`, else `$HOME/.cache/switchboard/target/debug/switchboard`,
the default of scripts/test). Every SDK response is held to Graph's schema and every SDK request
recorded for docs/compatibility.md: graph_fidelity.py."""

import dataclasses
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

import graph_fidelity

graph_fidelity.install()

LISTENING = re.compile(r"listening on (https?://\S+)")


@dataclasses.dataclass(frozen=True)
class Switchboard:
    base: str  # https://127.0.0.1:PORT
    cert: str  # the generated self-signed certificate, which clients trust
    tenant_id: str
    domain: str
    client_id: str
    client_secret: str
    data_dir: Path

    @property
    def graph(self) -> str:
        return f"{self.base}/v1.0"


def _binary() -> Path:
    if os.environ.get("SWITCHBOARD_BIN"):
        return Path(os.environ["SWITCHBOARD_BIN"])
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.expanduser("~/.cache/switchboard/target")
    return Path(target) / "debug" / "switchboard"


@pytest.fixture(autouse=True)
def check_fidelity():
    """Fails a test whose SDK responses deviate from the SDK's models (graph_fidelity.py)."""
    graph_fidelity.findings.clear()
    yield
    found, graph_fidelity.findings[:] = list(graph_fidelity.findings), []
    assert not found, "responses deviate from Graph's schema:\n" + "\n".join(dict.fromkeys(found))


@pytest.fixture(scope="session")
def switchboard(tmp_path_factory) -> Switchboard:
    binary = _binary()
    if not binary.is_file():
        pytest.fail(f"{binary} is missing: build it first (cargo build -p switchboard) or set SWITCHBOARD_BIN")
    root = tmp_path_factory.mktemp("switchboard")
    data_dir = root / "data"
    log_path = root / "switchboard.log"
    env = {
        **os.environ,
        "SWITCHBOARD_HASH_MEMORY_KIB": "64",
        "SWITCHBOARD_HASH_ITERATIONS": "1",
        "RUST_LOG": "info",
        "NO_COLOR": "1",
    }
    # The log goes to a file, not a pipe: a pipe nobody drains would block the server.
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(binary), "serve", "--tls", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        base = _wait_for_address(process, log_path)
        creds = json.loads((data_dir / "admin-credentials.json").read_text())
        yield Switchboard(
            base=base,
            cert=str(data_dir / "tls" / "cert.pem"),
            tenant_id=creds["tenantId"],
            domain=creds["domain"],
            client_id=creds["clientId"],
            client_secret=creds["clientSecret"],
            data_dir=data_dir,
        )
    finally:
        process.terminate()
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = None
    assert code == 0, f"switchboard did not stop cleanly on SIGTERM ({code}):\n{log_path.read_text()}"


def _wait_for_address(process: subprocess.Popen, log_path: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        match = LISTENING.search(text)
        if match:
            base = match.group(1)
            assert base.startswith("https://"), f"serve --tls listens on {base}"
            return base
        if process.poll() is not None:
            pytest.fail(f"switchboard exited with {process.returncode}:\n{text}")
        time.sleep(0.05)
    pytest.fail(f"switchboard did not print its address within 30 s:\n{log_path.read_text()}")
