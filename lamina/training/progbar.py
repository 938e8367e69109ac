"""The Keras-style progress bar printed by ``fit``/``evaluate``/``predict``.

The output looks like Keras 3::

    Epoch 1/2
    3/10 ━━━━━━━━━━━━━━━━━━━━ 0s 5ms/step - accuracy: 0.5000 - loss: 0.6931

with ``verbose=1`` (one line redrawn in place) and like ``10/10 - 1s - 5ms/step - loss: 0.6931`` with
``verbose=2`` (one line per epoch). Differences from Keras, each aimed at a known complaint:

* Redrawing uses ``\\r`` only, on a terminal (``sys.stdout.isatty()``) or in Jupyter (``ipykernel``
  imported). Elsewhere (a pipe, a CI or SLURM log) nothing is redrawn: a full line is written at most
  every ``log_interval`` seconds (10 s), and ``resolve_verbose("auto")`` picks ``verbose=2`` there anyway.
* In a notebook the redraw interval is at least 0.2 s, since every redraw is a message to the browser.
* On a terminal the line is cut to the terminal's width, so ``\\r`` never has to climb wrapped lines.
  Colors are used only on a terminal or notebook and never when ``NO_COLOR`` is set.

Metric values may be JAX arrays: they are kept as given and turned into Python floats only when a line
is actually drawn. A training loop that wants to avoid device-to-host copies altogether asks
:meth:`Progbar.should_update` first and fetches the values only when it says ``True``.

>>> import io, contextlib
>>> buf = io.StringIO()
>>> with contextlib.redirect_stdout(buf):
...     bar = Progbar(2, verbose=2)
...     bar.update(1, {"loss": 0.5})
...     bar.update(2, {"loss": 0.25})
>>> buf.getvalue().startswith("2/2 - 0s - ")
True
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lamina.distribution import is_writing_process

__all__ = ["Progbar", "resolve_verbose", "in_notebook", "is_interactive"]

_NOTEBOOK_MIN_INTERVAL = 0.2
_LOG_INTERVAL = 10.0

Values = Mapping[str, Any] | Iterable[tuple[str, Any]] | Callable[[], Any] | None


def in_notebook() -> bool:
    """Whether we run under a Jupyter kernel (``ipykernel`` is imported).

    >>> isinstance(in_notebook(), bool)
    True
    """
    return "ipykernel" in sys.modules


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def is_interactive() -> bool:
    """Whether ``sys.stdout`` can redraw a line in place: a terminal or a notebook.

    >>> isinstance(is_interactive(), bool)
    True
    """
    return _isatty(sys.stdout) or in_notebook()


def resolve_verbose(verbose: Any) -> int:
    """Turn ``fit``'s ``verbose`` argument into 0, 1 or 2.

    ``"auto"`` gives 1 (a live bar) on a terminal or in a notebook and 2 (one line per epoch)
    otherwise, so logs written to files are not flooded.

    >>> resolve_verbose(0), resolve_verbose(2), resolve_verbose(True)
    (0, 2, 1)
    """
    if isinstance(verbose, str):
        if verbose == "auto":
            return 1 if is_interactive() else 2
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
    if isinstance(verbose, bool):
        return int(verbose)
    try:
        value = int(verbose)
    except (TypeError, ValueError):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}") from None
    if value < 0:
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
    return min(value, 2)


def format_value(value: Any) -> str:
    """Keras's number format: ``%.4f``, or ``%.4e`` for magnitudes at or below 1e-3.

    >>> format_value(0.69314718), format_value(1.5e-5), format_value(0.0)
    ('0.6931', '1.5000e-05', '0.0000e+00')
    """
    if isinstance(value, str):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:.4f}" if abs(number) > 1e-3 else f"{number:.4e}"


def format_duration(seconds: float) -> str:
    """Whole seconds, ``m:ss`` or ``h:mm:ss`` (used for the ETA).

    >>> format_duration(5.2), format_duration(75), format_duration(3725)
    ('5s', '1:15', '1:02:05')
    """
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def format_time_per_unit(seconds: float, unit_name: str = "step") -> str:
    """``5ms/step`` style: seconds, milliseconds or microseconds.

    >>> format_time_per_unit(0.005), format_time_per_unit(2.0), format_time_per_unit(2e-5, "sample")
    ('5ms/step', '2s/step', '20us/sample')
    """
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


class Progbar:
    """A progress bar with Keras's look.

    Args:
        target: total number of steps, or ``None`` when unknown.
        width: the bar's width in characters (Keras 3 draws 20).
        verbose: 0 silent, 1 live bar, 2 one line when finished.
        interval: minimum seconds between two redraws.
        stateful_metrics: names shown as given; the others are averaged over steps, weighted by the
            number of steps each value covers (Keras's rule). ``fit`` passes metrics that are already
            running means, so its ``ProgbarLogger`` marks every name stateful (``stateful_metrics=True``).
        unit_name: shown in ``5ms/step``.
        dynamic: force (``True``) or forbid (``False``) in-place redraws; ``None`` detects a terminal or
            a notebook.

    >>> import io, contextlib
    >>> buf = io.StringIO()
    >>> with contextlib.redirect_stdout(buf):
    ...     bar = Progbar(4, verbose=1, dynamic=False, stateful_metrics=True)
    ...     for step in range(1, 5):
    ...         bar.update(step, {"loss": 1.0 / step})
    >>> buf.getvalue().splitlines()[-1].split(" - ")[-1]
    'loss: 0.2500'
    """

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1, interval: float = 0.05,
                 stateful_metrics: Iterable[str] | bool | None = None, unit_name: str = "step",
                 dynamic: bool | None = None) -> None:
        self.target = target
        self.width = int(width)
        self.verbose = verbose
        self.unit_name = unit_name
        self._all_stateful = stateful_metrics is True
        self.stateful_metrics = set() if stateful_metrics in (None, True, False) else set(stateful_metrics)
        notebook = in_notebook()
        self._notebook = notebook
        self._tty = _isatty(sys.stdout)
        self._dynamic = (self._tty or notebook) if dynamic is None else bool(dynamic)
        if not self._dynamic:
            interval = max(interval, _LOG_INTERVAL) if dynamic is None else interval
        elif notebook:
            interval = max(interval, _NOTEBOOK_MIN_INTERVAL)
        self.interval = interval
        self._color = self._dynamic and "NO_COLOR" not in os.environ and (self._tty or notebook)
        self._values: dict[str, list[Any]] = {}
        self._order: list[str] = []
        self._seen_so_far = 0
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step: float | None = None
        self._prev_width = 0
        self._finalized = False

    # ------------------------------------------------------------------------------- driving
    def should_update(self, now: float | None = None) -> bool:
        """Whether the next non-final :meth:`update` would draw a line (cheap: one clock read).

        A training loop calls this before fetching metric values from the device.

        >>> Progbar(10, verbose=2).should_update()
        False
        """
        if self.verbose != 1:
            return False
        if now is None:
            now = time.time()
        return now - self._last_update >= self.interval

    def update(self, current: int, values: Values = None, finalize: bool | None = None) -> None:
        """Move the bar to step ``current`` and record ``values`` for the last step.

        Args:
            current: index of the step just finished (1-based: ``batch + 1``).
            values: a dict or ``(name, value)`` pairs; or a zero-argument callable returning one, which
                is called only if this update draws (its values are shown as given).
            finalize: whether this is the last update; by default ``current >= target``.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        now = time.time()
        draws = finalize or self.should_update(now)
        if callable(values):
            values = values() if draws else None
            self._record(current, values, finalize, force_stateful=True)
        else:
            self._record(current, values, finalize)
        self._seen_so_far = current
        time_per_unit = self._step_duration(current, now)
        if self.verbose == 1 and draws:
            self._draw_live(current, now, time_per_unit, finalize)
            self._last_update = now
        elif self.verbose == 2 and finalize:
            self._draw_summary(current, now, time_per_unit)
            self._last_update = now

    def add(self, n: int, values: Values = None) -> None:
        """Advance by ``n`` steps.

        >>> bar = Progbar(3, verbose=0)
        >>> bar.add(2); bar.add(1)
        >>> bar.seen
        3
        """
        self.update(self._seen_so_far + n, values)

    @property
    def seen(self) -> int:
        """The last ``current`` given to :meth:`update`."""
        return self._seen_so_far

    # ------------------------------------------------------------------------------ internals
    def _record(self, current: int, values: Any, finalize: bool, force_stateful: bool = False) -> None:
        if not values:
            return
        items = values.items() if isinstance(values, Mapping) else values
        for name, value in items:
            if name not in self._values:
                self._order.append(name)
            stateful = force_stateful or self._all_stateful or name in self.stateful_metrics
            if stateful or finalize:
                self._values[name] = [value, 1]
                continue
            # Weighted running sum, kept lazily (works on floats, NumPy and JAX arrays without a sync).
            steps = max(current - self._seen_so_far, 1)
            if name in self._values:
                total, count = self._values[name]
                self._values[name] = [total + value * steps, count + steps]
            else:
                self._values[name] = [value * steps, steps]

    def _step_duration(self, current: int, now: float) -> float:
        # The first step usually includes compilation: leave it out of the estimate once possible.
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_unit

    def _metrics_text(self) -> str:
        parts = []
        for name in self._order:
            total, count = self._values[name]
            try:
                shown = format_value(float(total) / max(1, count))
            except (TypeError, ValueError):
                shown = str(total)
            parts.append(f" - {name}: {shown}")
        return "".join(parts)

    def _style(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self._color else text

    def _draw_live(self, current: int, now: float, time_per_unit: float, finalize: bool) -> None:
        if self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            count = f"{current:{digits}d}/{self.target}"
            done = min(int(self.width * current / self.target), self.width)
            bar_plain = "━" * self.width
            bar = self._style("━" * done, "32") if done else ""
            if done < self.width:
                bar += self._style("━" * (self.width - done), "37")
            head_plain = f"{count} {bar_plain}"
            head = f"{self._style(count, '1')} {bar}"
        else:
            head_plain = head = f"{current:7d}/Unknown"
        if self.target is not None and self.target > 0 and not finalize:
            clock = format_duration(time_per_unit * (self.target - current))
        else:
            clock = f"{now - self._start:.0f}s"
        info = f" {clock} {format_time_per_unit(time_per_unit, self.unit_name)}{self._metrics_text()}"
        if self._dynamic and self._tty and not self._notebook:
            columns = shutil.get_terminal_size((80, 24)).columns - 1
            if len(head_plain) + len(info) > columns > len(head_plain):
                info = info[: columns - len(head_plain)]
        line_plain = head_plain + info
        if info.startswith(f" {clock} "):
            info = f" {self._style(clock, '1')}" + info[len(clock) + 1:]
        line = head + info
        if self._dynamic:
            pad = " " * max(0, self._prev_width - len(line_plain))
            text = "\r" + line + pad + ("\n" if finalize else "")
        else:
            text = line + "\n"
        self._prev_width = len(line_plain)
        _write(text)

    def _draw_summary(self, current: int, now: float, time_per_unit: float) -> None:
        if self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            count = f"{current:{digits}d}/{self.target}"
        else:
            count = f"{current}"
        _write(f"{count} - {now - self._start:.0f}s - {format_time_per_unit(time_per_unit, self.unit_name)}"
               f"{self._metrics_text()}\n")


def _write(text: str) -> None:
    if not is_writing_process():  # several processes: process 0 draws the (global, identical) bar
        return
    stream = sys.stdout  # looked up at call time, so redirection and pytest's capsys see it
    stream.write(text)
    try:
        stream.flush()
    except (AttributeError, ValueError, OSError):
        pass
