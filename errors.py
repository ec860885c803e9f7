"""The exceptions circfin raises.

Every error a user can cause or meet descends from :class:`CircfinError`;
the CLI prints those as one red line and exits non-zero. Anything else is a
bug and keeps its traceback (with ``--debug``).

    CircfinError
    ├── InputError            bad input file, row or argument (file, line, field)
    │   └── ValidationError   a whole file's worth of row errors, reported together
    ├── StoreError            the graph store failed
    │   ├── StoreUnavailable  cannot reach or start the store
    │   └── QueryError        the store refused a query
    │       └── QueryTimeout  the store stopped a query at its time limit
    ├── ServerError           the embedded server could not be started or stopped
    └── BudgetExceeded        a search hit its time or count budget (partial result kept)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BudgetExceeded",
    "CircfinError",
    "InputError",
    "QueryError",
    "QueryTimeout",
    "RowError",
    "ServerError",
    "StoreError",
    "StoreUnavailable",
    "ValidationError",
]


class CircfinError(Exception):
    """circfin failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


@dataclass(frozen=True)
class RowError:
    """One problem in one input file: where it is and what to do about it."""

    path: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f": field {self.field!r}"
        return f"{where}: {self.message}"


class InputError(CircfinError):
    """The input is not valid."""


class ValidationError(InputError):
    """A file failed validation; nothing was written."""

    def __init__(self, errors: list[RowError], *, limit: int = 20) -> None:
        self.errors = list(errors)
        shown = "\n".join(str(e) for e in self.errors[:limit])
        more = len(self.errors) - limit
        if more > 0:
            shown += f"\n... and {more} more"
        n = len(self.errors)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} found, nothing written:\n{shown}")


class StoreError(CircfinError):
    """The graph store failed."""


class StoreUnavailable(StoreError):
    """The graph store cannot be reached."""


class QueryError(StoreError):
    """The graph store refused a query."""


class QueryTimeout(QueryError):
    """The graph store stopped a query at its time limit."""


class ServerError(CircfinError):
    """The embedded database server failed."""


class BudgetExceeded(CircfinError):
    """The search ran out of its time or count budget."""
