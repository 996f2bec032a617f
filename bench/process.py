"""The benchmark's child processes: started with their output in a log file, and always
stopped (SIGTERM, bounded wait, then SIGKILL of their process group), even on error."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STOP_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Child:
    """A running child: its name, process and log file (stdout and stderr)."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the child's output, to explain a failure."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class ChildFailed(RuntimeError):
    """A child exited or never became ready; the message carries its last output."""

    def __init__(self, child: Child, reason: str) -> None:
        super().__init__(f"{child.name}: {reason}\n--- {child.log} (tail) ---\n{child.log_tail()}")


class Children:
    """Owns every process it starts; leaving the `with` block stops them, newest first."""

    def __init__(self, log_dir: Path) -> None:
        self._log_dir = log_dir
        self._children: list[Child] = []

    def __enter__(self) -> Children:
        self._log_dir.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # A second Ctrl-C must not cut the cleanup short; each stop is bounded anyway.
        previous = {
            sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while self._children:
                stop(self._children.pop())
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def start(self, name: str, argv: list[str], piped: bool = False) -> Child:
        """Start `argv` from the repository root, in its own process group. Output goes to
        the child's log file; `piped` gives stdin and stdout as unbuffered pipes instead
        (stderr still goes to the log)."""
        log = self._log_dir / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                argv,
                cwd=REPO,
                stdin=subprocess.PIPE if piped else subprocess.DEVNULL,
                stdout=subprocess.PIPE if piped else out,
                stderr=out if piped else subprocess.STDOUT,
                bufsize=0,
                # Its own group: Ctrl-C reaches only us, and we stop children in order; a
                # group kill also reaches grandchildren such as nginx workers.
                start_new_session=True,
            )
        child = Child(name, popen, log)
        self._children.append(child)
        return child

    def start_python(self, name: str, module: str, *args: str, piped: bool = False) -> Child:
        """Start `python -m module args` with this interpreter."""
        return self.start(name, [PYTHON, "-m", module, *args], piped=piped)

    def stop(self, child: Child) -> None:
        """Stop one child now (for a path that failed to start)."""
        if child in self._children:
            self._children.remove(child)
        stop(child)


def stop(child: Child) -> None:
    """SIGTERM, wait a bounded time, SIGKILL the group; then kill leftovers of the group."""
    popen = child.popen
    for pipe in (popen.stdin, popen.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    if popen.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    # The group id is the child's pid (start_new_session); it only holds what we started.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        popen.wait(STOP_TIMEOUT_SECONDS)
