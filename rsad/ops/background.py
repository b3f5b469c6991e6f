"""A job that runs in a background thread and can be watched from any page run.

Streamlit reruns a page's script on every interaction; a long job (the demo bootstrap)
must not live inside one run, or a reload would start it again. The app keeps one
BackgroundJob per process (``st.cache_resource``) and polls :meth:`snapshot`.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rsad.errors import RsadError
from rsad.i18n import _
from rsad.progress import ProgressFn


@dataclass
class JobState:
    name: str
    status: str = "queued"  # queued | running | done | failed
    done: int = 0
    total: int = 0
    message: str = ""
    error: str = ""
    result: Any = None
    started: float = field(default_factory=time.time)
    finished: float | None = None

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0


class BackgroundJob:
    """Runs ``fn(progress=...)`` once in a daemon thread."""

    def __init__(self, name: str, fn: Callable[[ProgressFn], Any]) -> None:
        self._fn = fn
        self._lock = threading.Lock()
        self._state = JobState(name=name)
        self._thread: threading.Thread | None = None

    def start(self) -> BackgroundJob:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._state.name, daemon=True)
                self._state.status = "running"
                self._thread.start()
        return self

    def _progress(self, done: int, total: int, message: str) -> None:
        with self._lock:
            self._state.done, self._state.total, self._state.message = done, total, message

    def _run(self) -> None:
        try:
            result = self._fn(self._progress)
        except RsadError as exc:
            self._finish("failed", error=str(exc))
        except Exception as exc:  # shown to the user as one line; the trace goes to the log
            traceback.print_exc()
            self._finish("failed", error=_("{kind}: {exc} (details in the server log)").format(
                kind=type(exc).__name__, exc=exc))
        else:
            self._finish("done", result=result)

    def _finish(self, status: str, *, error: str = "", result: Any = None) -> None:
        with self._lock:
            self._state.status, self._state.error, self._state.result = status, error, result
            self._state.finished = time.time()

    def snapshot(self) -> JobState:
        with self._lock:
            return JobState(**vars(self._state))

    def join(self, timeout: float | None = None) -> JobState:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.snapshot()


_DONE = object()


def prefetch(make_items: Callable[[], Iterator[Any]], depth: int = 1) -> Iterator[Any]:
    """Iterate ``make_items()`` in a producer thread, ``depth`` items ahead of the consumer.

    Scoring uses it to read and tokenize the next chunk while the model scores this one.
    The producer's exceptions are raised in the consumer; a consumer that stops early (an
    error, Ctrl-C) stops the producer at its next item.
    """
    items: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in make_items():
                if not put((None, item)):
                    return
            put((None, _DONE))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put((exc, None))

    thread = threading.Thread(target=produce, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            exc, item = items.get()
            if exc is not None:
                raise exc
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
