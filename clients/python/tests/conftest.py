"""Fixtures: real bridges and real headless Chromium tabs, run by test/helpers/page-bridge-fixture.ts.

The fixture process is started once per session (it needs `npm ci` and a built dist/, which
`npm test` does first) and stopped by closing its stdin, then by its process id if it lingers.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "clients" / "python" / "src"))

import pagecall  # noqa: E402

FIXTURE = ROOT / "test" / "helpers" / "page-bridge-fixture.ts"


class PageFixture:
    """The running fixture process: bridge URLs, and commands (stop, start, eval in a tab)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["node", "--import", "tsx", str(FIXTURE)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            # Its own process group, so that a fixture that does not exit can be stopped with its browser.
            start_new_session=True,
        )
        self._lock = threading.Lock()
        self._next_id = 0
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise RuntimeError(f"the page fixture exited with {code} before it was ready (see its stderr above)")
        ready = json.loads(line)
        self.site: str = ready["site"]
        self.bridges: Dict[str, Dict[str, Any]] = ready["bridges"]

    def url(self, name: str) -> str:
        return self.bridges[name]["url"]

    def token(self, name: str) -> Optional[str]:
        return self.bridges[name]["token"]

    def command(self, cmd: str, **fields: Any) -> Any:
        """Sends a command and returns its answer's value (commands are answered in order here)."""
        with self._lock:
            self._next_id += 1
            assert self.proc.stdin is not None and self.proc.stdout is not None
            self.proc.stdin.write(json.dumps({"id": self._next_id, "cmd": cmd, **fields}) + "\n")
            self.proc.stdin.flush()
            answer = json.loads(self.proc.stdout.readline())
        if answer["id"] != self._next_id:
            raise RuntimeError(f"fixture answered {answer} to command {self._next_id}")
        if not answer["ok"]:
            raise RuntimeError(f"fixture command {cmd} failed: {answer['error']}")
        return answer.get("value")

    def eval(self, tab: str, code: str) -> Any:
        return self.command("eval", tab=tab, code=code)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture(scope="session")
def pages() -> Iterator[PageFixture]:
    fixture = PageFixture()
    try:
        yield fixture
    finally:
        fixture.close()


@pytest.fixture(scope="session")
def bridge(pages: PageFixture) -> Iterator[pagecall.Bridge]:
    """The main bridge (token, --max-batch 50, 4 MiB bodies); group "py" has the test functions."""
    with pagecall.Bridge(pages.url("main"), pages.token("main")) as b:
        yield b


@pytest.fixture(scope="session")
def tight(pages: PageFixture) -> Iterator[pagecall.Bridge]:
    """One call in flight per page, 100 ms queue wait, 64 KiB frames, eval on; group "tight"."""
    with pagecall.Bridge(pages.url("tight"), retry_policy=pagecall.NO_RETRY) as b:
        yield b


class RecordedRetries(logging.Handler):
    """Collects the client's retry log lines and lets a test wait for the next one (an event, not a sleep)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: List[str] = []
        self._cond = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self._cond:
            self.messages.append(record.getMessage())
            self._cond.notify_all()

    def wait_for(self, fragment: str, timeout: float = 30.0) -> str:
        with self._cond:
            found = self._cond.wait_for(lambda: any(fragment in m for m in self.messages), timeout)
            if not found:
                raise AssertionError(f"no retry log line with {fragment!r}; got {self.messages}")
            return next(m for m in self.messages if fragment in m)


@pytest.fixture()
def retries() -> Iterator[RecordedRetries]:
    handler = RecordedRetries()
    logger = logging.getLogger("pagecall")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
