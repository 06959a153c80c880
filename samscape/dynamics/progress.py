"""Progress of a long run: a one-line bar (a terminal, or an HTML bar in a Jupyter kernel), the early "this will
take N hours" note, and Ctrl-C turned into a request to stop after the current step.

A backend reports the steps it has done to a :class:`Progress` and looks at its ``stop_requested`` between steps
(or chunks of steps); :func:`stop_on_interrupt` is what sets it.
"""

from __future__ import annotations

import contextlib
import html
import signal
import sys
import threading
import time


# A run expected to take longer than this says so, once, as soon as its pace is measured (over at least
# PACE_SECONDS, counted from its first progress update so that a kernel's compilation is not in it).
LONG_RUN_SECONDS = 60.0
PACE_SECONDS = 0.5


def _duration(seconds: float) -> str:
    """``about 3.2 hours``: a rough duration in the unit that reads best."""
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"about {seconds / size:,.{1 if seconds < 20 * size else 0}f} {unit}"
    return f"about {seconds:.0f} seconds"


class Progress:
    """A one-line progress bar: on stderr when it is a terminal, as an updating HTML bar in a Jupyter/IPython
    kernel (whose stderr is no terminal), or wherever ``stream`` points when ``enabled=True`` forces it.

    With ``estimate=True`` a run projected to take over :data:`LONG_RUN_SECONDS` says so on the stream once, early,
    whether or not a bar is drawn (``hint`` is appended). ``stop_requested`` asks the backend that reports to it
    to stop after its current step (or chunk of steps); ``done`` is the last count it reported.
    """

    def __init__(self, total: int, label: str, enabled: bool | None = None, stream=None, *,
                 estimate: bool = False, hint: str = ""):
        notebook = stream is None and self.in_notebook()
        self.stream = stream or sys.stderr
        self.enabled = ((notebook or self.stream.isatty()) if enabled is None else enabled) and total > 0
        self.total, self.label = total, label
        self.started = time.perf_counter()
        self._last_draw = 0.0
        self._finished = False
        self._display = self.notebook_display() if self.enabled and notebook else None
        self.estimate, self.hint = estimate and total > 0, hint
        self._pace_from: tuple[float, int] | None = None
        self.stop_requested = False
        self.done = 0

    @staticmethod
    def in_notebook() -> bool:
        """Whether this process is an IPython kernel (Jupyter, VS Code, Colab); IPython is not imported for this,
        a kernel has always imported it already."""
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
        return getattr(shell, "kernel", None) is not None

    @staticmethod
    def notebook_display():
        """A function that shows (first call) and then replaces one HTML output of the current cell."""
        from IPython.display import HTML, display

        handle = display(HTML(""), display_id=True)
        return lambda markup: handle.update(HTML(markup))

    def seconds_left(self, frac: float, elapsed: float) -> float:
        """The time left, from the fraction done so far at a steady pace (a sweep measures its own throughput)."""
        return elapsed * (1 - frac) / frac if frac > 0 else float("nan")

    def update(self, done: int) -> None:
        self.done = done
        if self.estimate:
            self._say_how_long(done)
        if not self.enabled or self._finished:
            return
        now = time.perf_counter()
        if done < self.total and now - self._last_draw < 0.2:
            return
        self._last_draw = now
        frac = done / self.total
        elapsed = now - self.started
        eta = self.seconds_left(frac, elapsed)
        timing = f"{100 * frac:5.1f}%  {elapsed:6.1f}s elapsed, ~{eta:5.1f}s left"
        self._finished = done >= self.total
        if self._display is not None:
            self._display(f"<div><code>{html.escape(self.label)}</code> <progress value='{done}' "
                          f"max='{self.total}' style='width:30ex'></progress> <code>{timing}</code></div>")
            return
        self.stream.write(f"\r{self.label} [{'#' * int(30 * frac):<30}] {timing}")
        if self._finished:
            self.stream.write("\n")
        self.stream.flush()


    def _say_how_long(self, done: int) -> None:
        """Once the pace is measured, say how long the whole run will take if that is over a minute."""
        now = time.perf_counter()
        if self._pace_from is None:
            self._pace_from = (now, done)
            return
        since, first = self._pace_from
        if now - since < PACE_SECONDS or done <= first:
            return
        self.estimate = False
        left = (self.total - done) * (now - since) / (done - first)
        if now - self.started + left <= LONG_RUN_SECONDS:
            return
        hint = f"; {self.hint}" if self.hint else ""
        back = "\r" if self.enabled else ""  # over the bar's line, when one is drawn
        self.stream.write(f"{back}{self.label}: {self.total:,} steps will take {_duration(now - self.started + left)}"
                          f" at the pace of the last {done - first:,} steps{hint}\n")
        self.stream.flush()


@contextlib.contextmanager
def stop_on_interrupt(progress: Progress, enabled: bool):
    """While the block runs, a first Ctrl-C asks the backend (through ``progress``) to stop after its current step
    and a second one raises ``KeyboardInterrupt`` as usual; only the main thread receives signals."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def stop(signum, frame):
        progress.stop_requested = True
        signal.signal(signal.SIGINT, previous)
        progress.stream.write(("\n" if progress.enabled else "") + "samscape: stopping after the current step, "
                              "keeping the steps done so far (Ctrl-C again stops at once and keeps nothing)\n")
        progress.stream.flush()

    signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
