"""A real `nexus serve` for the tests: SQLite in a temporary folder, emails written to an
outbox there, a free port chosen by the server (NEXUS_BIND=127.0.0.1:0)."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
# The generated package, importable without installing it.
sys.path.insert(0, str(HERE.parent))


def find_nexus():
    """NEXUS_BIN, else the debug build in CARGO_TARGET_DIR, in ~/.cache/nexus-ci-target
    (where .ci/run builds) or in the repository's target/."""
    if os.environ.get("NEXUS_BIN"):
        return Path(os.environ["NEXUS_BIN"])
    dirs = [os.environ.get("CARGO_TARGET_DIR"), Path.home() / ".cache" / "nexus-ci-target", REPO / "target"]
    for d in dirs:
        if d:
            binary = Path(d) / "debug" / "nexus"
            if binary.exists():
                return binary
    return None


@dataclass
class Server:
    url: str
    outbox: Path
    log: Path

    def emails(self):
        """The emails sent so far, oldest first (`<time>-<pid>-<n>.json`, written under a
        dot-name and renamed: never half a file)."""
        if not self.outbox.exists():
            return []
        names = sorted(p for p in self.outbox.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
        return [json.loads(p.read_text(encoding="utf-8")) for p in names]

    def wait_for_email(self, to, template, timeout=20.0):
        deadline = time.monotonic() + timeout
        while True:
            for email in self.emails():
                if email["to"] == to and email["template"] == template:
                    return email
            if time.monotonic() > deadline:
                raise AssertionError(f"no {template} email to {to} in {timeout:.0f} s:\n{self.log.read_text()}")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def server():
    binary = find_nexus()
    if binary is None:
        message = "no nexus binary (cargo build -p nexus-server, or set NEXUS_BIN)"
        # .ci/run sets NEXUS_REQUIRE_SERVER=1: there a missing binary is a failure.
        if os.environ.get("NEXUS_REQUIRE_SERVER") == "1":
            pytest.fail(f"NEXUS_REQUIRE_SERVER=1 but {message}")
        pytest.skip(message)
    tmp = Path(tempfile.mkdtemp(prefix="nexus-py-client-"))
    # None of the caller's NEXUS_* settings (a Resend key, a database URL) reach the server.
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_")}
    env.update(
        NEXUS_BIND="127.0.0.1:0",
        NEXUS_DATA_DIR=str(tmp / "data"),
        NEXUS_EMAIL_OUTBOX=str(tmp / "outbox"),
        NEXUS_LOG="warn",
    )
    stdout, log = tmp / "stdout", tmp / "stderr"
    with stdout.open("wb") as out, log.open("wb") as err:
        process = subprocess.Popen([str(binary), "serve"], env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + 30
        while True:
            m = re.search(r"nexus: listening on (http://\S+)", stdout.read_text())
            if m:
                break
            if process.poll() is not None:
                raise AssertionError(f"nexus exited ({process.returncode}) before listening:\n{log.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"nexus did not start in 30 s:\n{log.read_text()}")
            time.sleep(0.05)
        yield Server(url=m.group(1), outbox=tmp / "outbox", log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(tmp, ignore_errors=True)
