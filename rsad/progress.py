"""Progress reporting shared by every long job (scoring, training, ingest, demo)."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# done, total, message. Jobs call it often; receivers must be cheap.
ProgressFn = Callable[[int, int, str], None]


def no_progress(done: int, total: int, message: str) -> None:
    """The default receiver: ignore updates."""


@dataclass
class Rate:
    """Turns (done, total) updates into a rate and an ETA for display.

    The clock starts at the first update, so set-up time (model loading) does not
    drag the rate down.
    """

    started: float | None = None

    def per_second(self, done: int) -> float:
        if self.started is None:
            self.started = time.monotonic()
        elapsed = time.monotonic() - self.started
        return done / elapsed if elapsed > 0 else 0.0

    def eta_seconds(self, done: int, total: int) -> float | None:
        rate = self.per_second(done)
        return (total - done) / rate if rate > 0 and total >= done else None

    def describe(self, done: int, total: int, unit: str = "rows") -> str:
        rate = self.per_second(done)
        eta = self.eta_seconds(done, total)
        eta_text = f", about {format_seconds(eta)} left" if eta is not None and done < total else ""
        return f"{done:,} / {total:,} {unit} ({rate:,.1f} {unit}/s{eta_text})"


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Phases:
    """Maps the progress of consecutive phases onto one overall 0..1000 scale.

    ``weights`` gives each phase's share of the whole, e.g. {"train": 70, "score": 20}.
    """

    SCALE = 1000

    def __init__(self, weights: dict[str, float], progress: ProgressFn) -> None:
        total = sum(weights.values())
        self._start: dict[str, float] = {}
        acc = 0.0
        for name, w in weights.items():
            self._start[name] = acc
            acc += w / total
        self._share = {n: w / total for n, w in weights.items()}
        self._progress = progress

    def phase(self, name: str, label: str) -> ProgressFn:
        """A receiver for one phase: its (done, total) become overall progress."""
        start, share = self._start[name], self._share[name]

        def report(done: int, total: int, message: str) -> None:
            frac = min(1.0, done / total) if total else 1.0
            detail = f"{label}: {message}" if message and message != label else label
            self._progress(int(self.SCALE * (start + share * frac)), self.SCALE, detail)

        return report


def eta_from_fraction(elapsed: float, fraction: float) -> float | None:
    """Seconds left when ``fraction`` of a job took ``elapsed`` seconds (None: too early to say).

    Assumes the rest goes at the pace so far; jobs weight their phases by wall time (the demo's
    :class:`Phases`) so that the fraction moves roughly with the clock."""
    if fraction < 0.02 or fraction >= 1.0 or elapsed <= 0:
        return None
    return elapsed * (1.0 - fraction) / fraction


class Lines:
    """A progress receiver for a terminal that is also a server log: whole lines (no carriage
    returns), at most one per ``every`` seconds and one whenever the message's phase changes,
    each with the elapsed time and an ETA. ``write`` receives each line (print to stderr by default)."""

    def __init__(self, prefix: str, *, every: float = 5.0, write: Callable[[str], None] | None = None) -> None:
        import sys

        self.prefix, self.every = prefix, every
        self.write = write or (lambda line: print(line, file=sys.stderr, flush=True))
        self.started = time.monotonic()
        self.last, self.phase = 0.0, ""

    def __call__(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        phase = message.split(":")[0]
        fraction = done / total if total else 1.0
        if phase == self.phase and now - self.last < self.every and fraction < 1.0:
            return
        self.last, self.phase = now, phase
        elapsed = now - self.started
        eta = eta_from_fraction(elapsed, fraction)
        from rsad.i18n import _

        left = _(", about {eta} left").format(eta=format_seconds(eta)) if eta is not None else ""
        self.write(f"{self.prefix} [{format_seconds(elapsed)}] {100 * fraction:3.0f}% {message}{left}")


def _stop_requested(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def stop_handler_installed() -> bool:
    """Whether SIGTERM in this process is :func:`sigterm_stops`' (a job run by `rsad jobs run` or
    `rsad score --engine ray`), not some library's (Ray's driver installs its own) or the default."""
    return signal.getsignal(signal.SIGTERM) is _stop_requested


@contextmanager
def sigterm_stops() -> Iterator[None]:
    """SIGTERM (`rsad jobs stop`, the Stop button) raises KeyboardInterrupt inside the block, so a
    command ends cleanly as stopped; the previous handler comes back after it, so a command run in
    a longer-lived process (a test, a notebook) leaves no handler behind."""
    previous = signal.signal(signal.SIGTERM, _stop_requested)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
