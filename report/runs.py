"""The recorded report runs: the last one, and the loops' state as the report last saw them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import queries
from ..display import plain_number as _num
from ..store.base import GraphStore

__all__ = ["last_run", "stored_loops"]


def last_run(store: GraphStore) -> dict[str, Any] | None:
    """The latest recorded report run: ``{id, at, keys}``, or None before the first."""
    rows = store.read(queries.load("report_last_run").text)
    if not rows:
        return None
    r = rows[0]
    return {"id": int(r["id"]), "at": r["at"], "keys": list(r["keys"] or [])}


def stored_loops(store: GraphStore, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    keys = sorted(set(keys))
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(keys), 2000):
        for r in store.read(queries.load("report_loop_state").text, {"keys": keys[i:i + 2000]}):
            st = out.setdefault(r["key"], {"key": r["key"], "ids": list(r["ids"] or []),
                                           "first_seen": r["first_seen"], "last_seen": r["last_seen"],
                                           "legs": {}})
            if r["payer"] is not None:
                st["legs"][r["payer"]] = {"payee": r["payee"], "deal_ids": sorted(r["deal_ids"] or []),
                                          "amount_usd": _num(r["amount_usd"])}
    return out
