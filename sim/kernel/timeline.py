"""The quarterly calendar: steps, dates and years."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

import numpy as np

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def parse_quarter(text: str) -> int:
    """``'1991Q4'`` -> absolute quarter index ``year * 4 + (q - 1)``.

    Raises:
        ValueError: if the text is not of the form ``YYYYQn``.
    """
    m = _QUARTER.match(str(text))
    if not m:
        raise ValueError(f"expected a quarter like 1991Q4, got '{text}'")
    return int(m.group(1)) * 4 + int(m.group(2)) - 1


@dataclass(frozen=True)
class Calendar:
    """Quarterly steps from ``start`` to ``end`` inclusive (step 0 is ``start``)."""

    start: str
    end: str

    @functools.cached_property
    def first(self) -> int:
        """The absolute quarter index of step 0 (computed once: scoring asks for it per date)."""
        return parse_quarter(self.start)

    @functools.cached_property
    def n_steps(self) -> int:
        return parse_quarter(self.end) - self.first + 1

    def step_of(self, date: dt.date) -> int:
        """The step whose quarter contains ``date`` (may be outside the run)."""
        return date.year * 4 + (date.month - 1) // 3 - self.first

    def contains(self, date: dt.date) -> bool:
        return 0 <= self.step_of(date) < self.n_steps

    def years(self) -> np.ndarray:
        """Calendar year of each step."""
        q = self.first + np.arange(self.n_steps)
        return q // 4

    def quarters(self) -> np.ndarray:
        """Quarter (1-4) of each step."""
        return (self.first + np.arange(self.n_steps)) % 4 + 1

    def decimal_years(self) -> np.ndarray:
        """Each step as a decimal year (1991.75 for 1991Q4), the x axis of the time charts."""
        return self.years() + (self.quarters() - 1) / 4.0

    def dates(self) -> list[dt.date]:
        """First day of each step's quarter."""
        return [dt.date(int(y), 3 * (int(q) - 1) + 1, 1) for y, q in zip(self.years(), self.quarters(), strict=True)]

    def year_end_steps(self) -> tuple[np.ndarray, np.ndarray]:
        """``(years, steps)``: the last step of each calendar year in the run."""
        years, steps = self._year_ends
        return years.copy(), steps.copy()

    @functools.cached_property
    def _year_ends(self) -> tuple[np.ndarray, np.ndarray]:
        ys = self.years()
        years = np.unique(ys)
        return years, np.array([np.flatnonzero(ys == y)[-1] for y in years])


def decimal_date(date: dt.date) -> float:
    """A date as a decimal year (day of the year over 365.25), where a chart marks it."""
    return date.year + (date.timetuple().tm_yday - 1) / 365.25
