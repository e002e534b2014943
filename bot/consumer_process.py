"""`gatebot serve`'s queue consumer, in a child process of its own at a lower priority.

Evaluating a PR is CPU work in Python, which holds the interpreter lock: a
consumer running as threads of the web process made every webhook answer
queue behind it (each time a request thread let the lock go, for a socket
read or a database write, it waited out the evaluating thread's switch
interval to get it back). So `gatebot serve` runs the consumer as `gatebot
worker --of-serve PID`: the same work as a `gatebot worker` (the consumer,
the sweeper, the catch-up rounds, the deploy follower), on the same store
and SQLite queue, in its own interpreter, niced so that the operating system
too gives answering webhooks the first turn. The consumer still takes a
wake-up at its due time: its scheduler reads the queue's schedule every
`bot.queue.SCHEDULE_POLL_SECONDS`.

The child ends with its parent, even a parent killed outright: it asks the
kernel for SIGKILL when the parent dies (Linux), and otherwise notices that
its parent changed. A child that ends unasked is started again; the parent
builds the pipeline once itself at start, so a configuration the consumer
would refuse stops `gatebot serve` at once, with its one sentence.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import threading
import time

log = logging.getLogger(__name__)

# How much lower the consumer's scheduling priority is than the web's.
NICENESS = 10

# `prctl(PR_SET_PDEATHSIG, SIGKILL)`: the kernel kills the child with its parent.
_PR_SET_PDEATHSIG = 1

# A graceful stop lets running evaluations end (huey's SIGINT), then this long.
STOP_TIMEOUT_SECONDS = 40.0

# A consumer process that ended unasked is started again after this pause.
RESTART_PAUSE_SECONDS = 1.0


class ConsumerProcess:
    """The consumer child of one `gatebot serve`, started again if it ever ends early."""

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.proc = self._spawn()
        self._watch = threading.Thread(
            target=self._keep_running, name="gatebot-consumer-watch", daemon=True
        )
        self._watch.start()

    @staticmethod
    def _spawn() -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "bot.cli", "worker", "--of-serve", str(os.getpid())]
        # Same environment, same output: its log lines read like the parent's.
        return subprocess.Popen(command)

    def _keep_running(self) -> None:
        # The kernel's parent-death signal follows the thread that started the
        # child: this thread lives as long as the consumer should.
        while True:
            code = self.proc.wait()
            if self._stopping.wait(RESTART_PAUSE_SECONDS):
                return
            log.error("the queue consumer process ended (exit %s); starting it again", code)
            with self._lock:
                if self._stopping.is_set():
                    return
                self.proc = self._spawn()

    def stop(self) -> None:
        """Stop gracefully: running evaluations end first (huey's SIGINT)."""
        with self._lock:
            self._stopping.set()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                log.warning(
                    "the queue consumer did not stop in %ss; killing it", STOP_TIMEOUT_SECONDS
                )
                self.proc.kill()
                self.proc.wait()
        self._watch.join(RESTART_PAUSE_SECONDS + 1)


def bind_to_parent(parent: int) -> None:
    """In the child: die with `parent`, and yield the CPU to it."""
    _die_with_parent()
    if os.getppid() != parent:
        # The parent died before the request above took effect.
        raise SystemExit("gatebot: the serving process is gone; the consumer stops")
    threading.Thread(
        target=_watch_parent, args=(parent,), name="gatebot-parent-watch", daemon=True
    ).start()
    os.nice(NICENESS)


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return  # the watch thread alone
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        log.warning("could not ask to end with the serving process (errno %d)", ctypes.get_errno())


def _watch_parent(parent: int) -> None:
    # Where the kernel cannot be asked: a parent gone means a new parent (init).
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)
