"""One thread for every attribution pass, which hands freed memory back to the OS when idle.

glibc gives each thread its own heap arena, and an arena keeps its peak: when passes ran on the
threads that asked for them (page runs, explain-ahead and top-flagged jobs), each left ~0.5 GB
behind and a review session's server grew by gigabytes. Handing the memory back after every
pass (``malloc_trim``) fixed that but cost page faults on every next pass. On
one thread the next pass reuses the last one's memory, whoever asks, and the memory goes back to
the OS once no pass has run for ``IDLE_RELEASE_SECONDS`` (docs/decisions/0012-single-attribution-pass-thread.md).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

IDLE_RELEASE_SECONDS = 30.0


def run(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` on the pass thread; its result, or its exception raised here."""
    return _PASSES.run(fn, *args)


class _PassThread:
    """One daemon thread that runs the passes in turn and releases freed memory when idle.

    A daemon, like the job threads that ask for passes: exiting does not wait for a pass.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        if threading.current_thread() is self._thread:
            return fn(*args)  # a pass asking for a pass would otherwise wait for itself
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="rsad-attributions", daemon=True)
                self._thread.start()
        future: Future = Future()
        self._queue.put((future, fn, args))
        return future.result()

    def _loop(self) -> None:
        holding = False  # memory of a finished pass that has not been released yet
        while True:
            try:
                future, fn, args = self._queue.get(timeout=IDLE_RELEASE_SECONDS if holding else None)
            except queue.Empty:
                release_freed_memory()
                holding = False
                continue
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # noqa: BLE001 - handed to the caller, who raises it
                    future.set_exception(exc)
            del future, fn, args  # the finished pass's inputs and result are the caller's now
            holding = True


def release_freed_memory() -> None:
    """Give freed memory back to the OS, every thread's arena (glibc only; elsewhere a no-op)."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            import ctypes

            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim: Any = None
_PASSES = _PassThread()
