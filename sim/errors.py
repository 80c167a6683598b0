"""User-facing errors: one message naming the file, the line and the field."""

from __future__ import annotations

from pathlib import Path


class OmnibalanceError(Exception):
    """An error the CLI reports as one line, with no traceback."""


class ScenarioError(OmnibalanceError):
    """A scenario (or spec) file that cannot be used, located as precisely as known."""

    def __init__(self, path: str | Path | None, message: str, *, line: int | None = None, field: str | None = None):
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.message = message
        where = self.path or "<scenario>"
        if line is not None:
            where += f":{line}"
        if field:
            where += f": field '{field}'"
        super().__init__(f"{where}: {message}")
