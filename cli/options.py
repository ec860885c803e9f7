"""Option types the circfin commands share."""

from __future__ import annotations

from enum import Enum

__all__ = ["Engine", "TableJson", "TableJsonCsv"]


class TableJson(str, Enum):
    table = "table"
    json = "json"


class TableJsonCsv(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class Engine(str, Enum):
    auto = "auto"
    memory = "memory"
    cypher = "cypher"
