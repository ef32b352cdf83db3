"""Progress bars for long jobs: one helper around :mod:`tqdm.auto`.

:func:`progress` wraps an iterable, or counts by hand when given only
``total``, and shows the count, the elapsed and the remaining time.  It picks
tqdm's notebook widget inside Jupyter and a text bar in a terminal
(:mod:`tqdm.auto`), always writes text to **stderr** (never mixed into JSON or
any other output on stdout) and is off when ``quiet`` is true.

The package-wide switch :func:`set_quiet` (or the environment variable
``VOLRESEARCH_QUIET=1``) silences every bar at once; the command line's
``--quiet`` sets it.  A bar that is not shown costs nothing beyond the
iteration itself.

Examples
--------
>>> from volresearch.progress import progress
>>> total = 0
>>> for x in progress(range(3), desc="windows", quiet=True):
...     total += x
>>> with progress(total=2, desc="tasks", quiet=True) as bar:
...     bar.update()
...     bar.update()
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = ["progress", "set_quiet", "is_quiet", "quiet_progress", "BAR_FORMAT"]

T = TypeVar("T")

BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [elapsed {elapsed}, remaining {remaining}]"
"""Text layout of the bars: count, elapsed and remaining time."""

_QUIET = False


def set_quiet(quiet: bool = True) -> None:
    """Silence (``True``) or allow (``False``) every progress bar of the package."""
    global _QUIET
    _QUIET = bool(quiet)


def is_quiet() -> bool:
    """Whether progress bars are off package-wide (:func:`set_quiet` or ``VOLRESEARCH_QUIET``)."""
    env = os.environ.get("VOLRESEARCH_QUIET", "").strip().lower()
    return _QUIET or env in ("1", "true", "yes", "on")


@contextmanager
def quiet_progress(quiet: bool = True) -> Iterator[None]:
    """Context in which progress bars are off (``quiet=True``); restores the previous setting."""
    global _QUIET
    old = _QUIET
    _QUIET = bool(quiet) or old
    try:
        yield
    finally:
        _QUIET = old


class _Silent:
    """Stand-in for a bar that is not shown: iterates and counts, prints nothing."""

    def __init__(self, iterable: Iterable[Any] | None, total: int | None) -> None:
        self.iterable = iterable
        self.total = total
        self.n = 0

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            return iter(())
        for item in self.iterable:
            self.n += 1
            yield item

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(
    iterable: Iterable[T] | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    quiet: bool | None = None,
    leave: bool = True,
    min_interval: float = 0.5,
) -> Any:
    """A progress bar on stderr with elapsed and remaining time, or a silent stand-in.

    Parameters
    ----------
    iterable
        What to iterate over; ``None`` for a bar advanced by hand
        (``bar.update(n)``).
    total
        Number of steps (default ``len(iterable)`` when it has one).
    desc
        Label shown before the bar.
    unit
        Name of one step.
    quiet
        ``True``: no bar; ``None`` (default): follow :func:`is_quiet`.
    leave
        Keep the finished bar on screen (its last line shows the total and the elapsed time).
    min_interval
        Seconds between redraws.

    Returns
    -------
    tqdm.auto.tqdm or a silent object with the same ``update``/``close``/iteration interface
        Usable as an iterator and as a context manager.
    """
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    if quiet or (quiet is None and is_quiet()):
        return _Silent(iterable, total)
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm missing: run silently rather than fail a long job
        return _Silent(iterable, total)
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        leave=leave,
        mininterval=min_interval,
        bar_format=BAR_FORMAT if total else None,
        dynamic_ncols=True,
    )
