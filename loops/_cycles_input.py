"""Arguments and input of the loop engine: validation, and deals (a frame or records) to counting deals.

Private to :mod:`circfin.loops.engine`. Each deal's date, amount and ids are
parsed by one scalar function per field, used on every distinct value of a
column (frames), on every distinct value of a field (records, as the store
returns them) and on single deals (:meth:`LoopIndex.add`), so the paths agree
by construction. Records never load pandas: on a small graph, importing it
costs more than the whole search.
"""

from __future__ import annotations

import datetime as _dt
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..graph.model import DEAL_STATUSES, DEAL_TYPES, date_bounds, is_frame

if TYPE_CHECKING:
    import pandas as pd

__all__: list[str] = []  # private module

SORTS: tuple[str, ...] = ("length", "amount", "date")
MAX_LEN_CAP = 12
_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()
_UNDATED = np.int32(np.iinfo(np.int32).min)  # the day of an undated deal
_ISO_RE = r"(?:19|2[0-2])\d\d(?:-[01]\d(?:-[0-3]\d)?)?"
_I32 = np.int32
_I64 = np.int64
_REQUIRED = ("deal_id", "payer", "payee")


@dataclass(frozen=True)
class _Filters:
    max_len: int
    min_len: int
    types: frozenset[str] | None
    status: frozenset[str] | None
    min_amount: float | None
    since: int | None  # day number (days since 1970-01-01), inclusive
    until: int | None
    within: int | None
    ordered: bool

    @property
    def timed(self) -> bool:
        return self.within is not None or self.ordered


def _day_number(d: _dt.date) -> int:
    return d.toordinal() - _EPOCH_ORDINAL


def _iso(day: int) -> str:
    return _dt.date.fromordinal(int(day) + _EPOCH_ORDINAL).isoformat()


def _bound(value: str | _dt.date | None, name: str, last: bool) -> int | None:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return _day_number(value)
    if not isinstance(value, str):
        raise ValueError(f"{name}={value!r}: give a date as YYYY-MM-DD, YYYY-MM or YYYY")
    try:
        first, end = date_bounds(value)
    except ValueError as e:
        raise ValueError(f"{name}: {e}") from None
    return _day_number(end if last else first)


def _vocab(
    value: Iterable[str] | str | None, name: str, allowed: tuple[str, ...]
) -> frozenset[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    bad = sorted({str(v) for v in items if v not in allowed})
    if bad:
        raise ValueError(
            f"unknown {name} {', '.join(map(repr, bad))}; allowed: {', '.join(allowed)}"
        )
    return frozenset(items)


def _int_arg(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    return int(value)


def _filters(
    *,
    max_len: int,
    min_len: int,
    types: Any,
    status: Any,
    min_amount: Any,
    since: Any,
    until: Any,
    within: Any,
    ordered: Any,
) -> _Filters:
    max_len = _int_arg(max_len, "max_len")
    min_len = _int_arg(min_len, "min_len")
    if min_len < 2:
        raise ValueError(f"min_len={min_len}: a loop has at least 2 entities (min_len >= 2)")
    if max_len < min_len:
        raise ValueError(
            f"max_len={max_len} is below min_len={min_len}; need max_len >= min_len >= 2"
        )
    if max_len > MAX_LEN_CAP:
        raise ValueError(f"max_len={max_len} is too long; allowed: 2..{MAX_LEN_CAP}")
    if min_amount is not None:
        if (
            isinstance(min_amount, bool)
            or not isinstance(min_amount, (int, float, np.integer, np.floating))
            or not math.isfinite(float(min_amount))
        ):
            raise ValueError(f"min_amount={min_amount!r}: give a finite number of USD")
        min_amount = float(min_amount)
    if within is not None:
        within = _int_arg(within, "within")
        if within < 0:
            raise ValueError(f"within={within}: give a number of days >= 0")
    if not isinstance(ordered, (bool, np.bool_)):
        raise ValueError(f"ordered must be True or False, not {ordered!r}")
    s = _bound(since, "since", last=False)
    u = _bound(until, "until", last=True)
    return _Filters(
        max_len=max_len,
        min_len=min_len,
        types=_vocab(types, "type", DEAL_TYPES),
        status=_vocab(status, "status", DEAL_STATUSES),
        min_amount=min_amount,
        since=s,
        until=u,
        within=within,
        ordered=bool(ordered),
    )


def _budget(
    sort: Any, limit: Any, time_budget: Any, max_loops: Any
) -> tuple[str, int | None, float | None, int | None]:
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; allowed: {', '.join(SORTS)}")
    if limit is not None:
        limit = _int_arg(limit, "limit")
        if limit < 0:
            raise ValueError(f"limit={limit}: give a number of loops >= 0")
    if time_budget is not None:
        if (
            isinstance(time_budget, bool)
            or not isinstance(time_budget, (int, float))
            or not time_budget > 0
            or not math.isfinite(time_budget)
        ):
            raise ValueError(f"time_budget={time_budget!r}: give a number of seconds > 0")
        time_budget = float(time_budget)
    if max_loops is not None:
        max_loops = _int_arg(max_loops, "max_loops")
        if max_loops < 1:
            raise ValueError(f"max_loops={max_loops}: give a number of loops >= 1")
    return sort, limit, time_budget, max_loops


def _reserve(value: Any) -> float:
    """Seconds per loop kept back from a time budget for the work after the search."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"reserve_per_loop={value!r}: give a number of seconds >= 0")
    return float(value)


def _pandas() -> Any:
    """pandas if something has loaded it already, else None: no value can be one of
    its types (a frame, NaT, NA) before it is loaded, so the check costs no import."""
    return sys.modules.get("pandas")


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    pd = _pandas()
    return pd is not None and (value is pd.NaT or value is pd.NA)


def _factorize(values: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """(codes, uniques) with the uniques in order of first appearance, as
    ``pandas.factorize`` gives them (which it is, when pandas is loaded already)."""
    pd = _pandas()
    if pd is not None:
        codes, uniq = pd.factorize(values)
        return codes, list(uniq)
    index: dict[Any, int] = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values.tolist()),
                        dtype=np.int64, count=len(values))
    return codes, list(index)


def _parse_day(value: Any) -> int:
    """A deal's day number (its date's first day), or _UNDATED; ValueError if malformed."""
    if _missing(value):
        return int(_UNDATED)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = str(int(value))  # a year that pandas read as a number
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = str(int(value))
    if isinstance(value, _dt.datetime):
        return _day_number(value.date())
    if isinstance(value, _dt.date):
        return _day_number(value)
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return int(_UNDATED)
        return int(value.astype("datetime64[D]").astype(np.int64))
    if isinstance(value, str):
        if not value.strip():
            return int(_UNDATED)
        return _day_number(date_bounds(value)[0])
    raise ValueError(f"{value!r} is not a date; use YYYY-MM-DD, YYYY-MM or YYYY")


def _parse_amount(value: Any) -> float:
    """A deal's amount in USD, NaN when undisclosed; ValueError if not a number."""
    if _missing(value):
        return math.nan
    if isinstance(value, bool):
        raise ValueError(f"amount_usd {value!r} is not a number")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "")
        if not text:
            return math.nan
        try:
            return float(text)
        except ValueError:
            pass
    raise ValueError(f"amount_usd {value!r} is not a number")


def _as_id(value: Any) -> str:
    return "" if _missing(value) else str(value)


def _by_unique(
    col: pd.Series,
    parse: Callable[[Any], Any],
    dtype: Any,
    na: Any,
    deal_ids: np.ndarray,
    what: str,
) -> np.ndarray:
    """Parse each distinct value once."""
    import pandas as pd  # frames only: pandas is loaded already

    codes, uniq = pd.factorize(col, use_na_sentinel=True)
    parsed = np.empty(len(uniq) + 1, dtype=dtype)
    parsed[-1] = na  # code -1 (missing) picks the last slot
    for k, val in enumerate(uniq):
        try:
            parsed[k] = parse(val)
        except ValueError as e:
            row = int(np.flatnonzero(codes == k)[0])
            raise ValueError(f"deal {deal_ids[row]!r}: bad {what}: {e}") from None
    out: np.ndarray = parsed[codes]
    return out


def _days(col: pd.Series, deal_ids: np.ndarray) -> np.ndarray:
    import pandas as pd  # frames only: pandas is loaded already

    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        if getattr(col.dt, "tz", None) is not None:
            col = col.dt.tz_localize(None)
        vals = col.to_numpy(dtype="datetime64[D]")
        return np.where(np.isnat(vals), _UNDATED, vals.astype(np.int64)).astype(_I32)
    codes, uniq = pd.factorize(col, use_na_sentinel=True)
    parsed = np.empty(len(uniq) + 1, dtype=_I32)
    parsed[-1] = _UNDATED  # code -1 (missing) picks the last slot
    u = pd.Series(uniq, dtype=object)
    # Well-formed ISO text in bulk (numpy reads YYYY, YYYY-MM, YYYY-MM-DD as
    # their first day, and rejects impossible days); anything else one by one.
    iso = np.array([type(x) is str for x in uniq.tolist()], dtype=bool)
    if iso.any():
        ok = u[iso].astype(str).str.fullmatch(_ISO_RE).to_numpy(dtype=bool)
        iso[np.flatnonzero(iso)[~ok]] = False
    if iso.any():
        try:
            d = np.array(u[iso].tolist(), dtype="datetime64[D]").astype(np.int64)
            ok = d <= _day_number(_dt.date(2200, 12, 31))
            parsed[np.flatnonzero(iso)[ok]] = d[ok]
            iso[np.flatnonzero(iso)[~ok]] = False
        except ValueError:
            iso[:] = False
    for k in np.flatnonzero(~iso).tolist():
        try:
            parsed[k] = _parse_day(uniq[k])
        except ValueError as e:
            row = int(np.flatnonzero(codes == k)[0])
            raise ValueError(f"deal {deal_ids[row]!r}: bad date: {e}") from None
    out: np.ndarray = parsed[codes]
    return out


def _amounts(col: pd.Series, deal_ids: np.ndarray) -> np.ndarray:
    import pandas as pd  # frames only: pandas is loaded already

    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        amounts: np.ndarray = col.to_numpy(dtype=np.float64, na_value=np.nan)
        return amounts
    return _by_unique(col, _parse_amount, np.float64, np.nan, deal_ids, "amount_usd")


def _str_array(col: pd.Series) -> np.ndarray:
    """Object array of str, with '' for missing values."""
    import pandas as pd  # frames only: pandas is loaded already

    arr: np.ndarray = col.to_numpy(dtype=object)
    if len(arr) and pd.api.types.infer_dtype(arr, skipna=False) != "string":
        arr = np.array([_as_id(x) for x in arr], dtype=object)
    return arr


def _id_column(col: pd.Series) -> Any:
    """Deal ids as the frame holds them, when they are text without gaps (a pandas string
    array: the engine takes rows from it, and makes a Python str only for the ids of the
    legs it builds), else as :func:`_str_array`. 30,000 ids as Python strs: 1.9 MB."""
    import pandas as pd  # frames only: pandas is loaded already

    if isinstance(col.dtype, pd.StringDtype) and not col.isna().any():
        return col.array
    return _str_array(col)


def _shared_str_array(col: pd.Series) -> np.ndarray:
    """As :func:`_str_array`, for a column whose values repeat (payers, payees, types):
    each distinct value becomes a Python str once and every row refers to it, where
    ``to_numpy`` of a pandas string column makes a str per row (30,000 deals' payers
    and payees: 60,000 strs, some 3.5 MB, against a pointer each)."""
    import pandas as pd  # frames only: pandas is loaded already

    codes, uniq = pd.factorize(col, use_na_sentinel=True)
    table = np.array([*map(_as_id, uniq), ""], dtype=object)  # code -1 (missing): ''
    out: np.ndarray = table[codes]
    return out


def _top_map(ids: Iterable[str], parents: Mapping[str, Any]) -> dict[str, str]:
    """id -> its top-most ancestor via parents; ValueError on a parent cycle."""
    top: dict[str, str] = {}

    def parent_of(x: str) -> str | None:
        p = parents.get(x)
        if p is None or (isinstance(p, float) and math.isnan(p)) or p == "":
            return None
        return str(p)

    for start in ids:
        if start in top:
            continue
        chain = [start]
        seen = {start}
        cur = start
        while True:
            if cur in top:
                root = top[cur]
                break
            p = parent_of(cur)
            if p is None:
                root = cur
                break
            if p in seen:
                cyc = chain[chain.index(p) :] + [p]
                raise ValueError(
                    f"parent cycle: {' -> '.join(cyc)}; fix the parents so that each "
                    "chain ends at an entity with no parent"
                )
            seen.add(p)
            chain.append(p)
            cur = p
        for x in chain:
            top[x] = root
    return top


def _rollup_fn(
    rollup: bool, parents: Mapping[str, Any] | None
) -> Callable[[np.ndarray], np.ndarray] | None:
    if not isinstance(rollup, (bool, np.bool_)):
        raise ValueError(f"rollup must be True or False, not {rollup!r}")
    if not rollup:
        return None
    if parents is None:
        raise ValueError(
            "rollup=True needs parents: a mapping of entity id -> parent id (or None)"
        )
    if not hasattr(parents, "get"):
        raise ValueError("parents must be a mapping of entity id -> parent id (or None)")
    cache: dict[str, str] = {}

    def top(arr: np.ndarray) -> np.ndarray:
        inv, uniq = _factorize(arr)
        need = [x for x in uniq if x not in cache]
        if need:
            cache.update(_top_map(need, parents))
        mapped = np.array([cache[x] for x in uniq], dtype=object)
        tops: np.ndarray = mapped[inv]
        return tops

    if parents:  # fail fast on a parent cycle anywhere in the map
        cache.update(_top_map([str(x) for x in parents], parents))
    return top


def _check_names(names: Any) -> None:
    if names is not None and not hasattr(names, "get"):
        raise ValueError("names must be a mapping of entity id -> display name")


@dataclass
class _Deals:
    """The counting, non-self deals after rollup, with node numbers."""

    deal_id: Any  # str: an object array, or the frame's string array (see _id_column)
    u: np.ndarray  # int64 node numbers
    v: np.ndarray
    amount: np.ndarray  # float64, NaN undisclosed
    day: np.ndarray  # int32, _UNDATED
    type: np.ndarray  # object (str or '')
    ids: list[str]  # node number -> id
    all_ids: set[str]  # every deal id in the frame (for LoopIndex duplicate checks)


def _counting(
    deals: pd.DataFrame | Sequence[Mapping[str, Any]],
    f: _Filters,
    top: Callable[[np.ndarray], np.ndarray] | None,
    keep_ids: bool = False,
) -> _Deals:
    """The deals that count under ``f``, rolled up by ``top``, with node numbers:
    from a frame (its columns) or from records (dicts, e.g. the store's rows)."""
    if is_frame(deals):
        did, payer, payee, typ, mask, amt, day = _frame_columns(deals, f)
        if keep_ids and not isinstance(did, np.ndarray):
            did = np.asarray(did, dtype=object)  # a LoopIndex appends to it
    elif isinstance(deals, Sequence) and not isinstance(deals, (str, bytes)):
        did, payer, payee, typ, mask, amt, day = _record_columns(deals, f)
    else:
        raise ValueError("deals must be a pandas DataFrame or a list of records (dicts), "
                         f"not {type(deals).__name__}")
    if f.min_amount is not None:
        with np.errstate(invalid="ignore"):
            mask &= amt >= f.min_amount
    if f.since is not None:
        mask &= (day != _UNDATED) & (day >= f.since)
    if f.until is not None:
        mask &= (day != _UNDATED) & (day <= f.until)
    payer = payer[mask]
    payee = payee[mask]
    if top is not None and len(payer):
        payer = top(payer)
        payee = top(payee)
    codes, uniq = _factorize(np.concatenate([payer, payee]))
    m = len(payer)
    u = codes[:m].astype(_I64)
    v = codes[m:].astype(_I64)
    own = u != v
    sel = np.flatnonzero(mask)[own]
    return _Deals(
        deal_id=did[sel],
        u=u[own],
        v=v[own],
        amount=amt[sel],
        day=day[sel],
        type=typ[sel],
        ids=[str(x) for x in uniq],
        all_ids=set(did.tolist()) if keep_ids else set(),
    )


_Columns = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _frame_columns(deals: pd.DataFrame, f: _Filters) -> _Columns:
    """(deal ids, payers, payees, types, the type/status/ids mask, amounts, days) of a frame."""
    import pandas as pd

    missing = [c for c in _REQUIRED if c not in deals.columns]
    if missing:
        raise ValueError(
            f"deals frame lacks column(s) {', '.join(missing)}; "
            "it needs deal_id, date, payer, payee, type, amount_usd, status"
        )
    n = len(deals)
    did = _id_column(deals["deal_id"])
    if n and (did == "").any():
        row = int(np.flatnonzero(np.asarray(did == "", dtype=bool))[0])
        raise ValueError(f"row {row} of the deals frame has no deal_id")
    payer = _shared_str_array(deals["payer"])
    payee = _shared_str_array(deals["payee"])
    mask = (payer != "") & (payee != "")
    empty = pd.Series([None] * n, index=deals.index, dtype=object)
    typ = _shared_str_array(deals["type"]) if "type" in deals.columns else np.full(n, "", dtype=object)
    if f.types is not None:
        mask &= pd.Series(typ).isin(f.types).to_numpy()
    if f.status is not None:
        st = deals["status"] if "status" in deals.columns else empty
        mask &= st.isin(f.status).to_numpy()
    amt = (
        _amounts(deals["amount_usd"], did) if "amount_usd" in deals.columns else np.full(n, np.nan)
    )
    day = (
        _days(deals["date"], did) if "date" in deals.columns else np.full(n, _UNDATED, dtype=_I32)
    )
    return did, payer, payee, typ, mask, amt, day


def _record_columns(deals: Sequence[Mapping[str, Any]], f: _Filters) -> _Columns:
    """The same as :func:`_frame_columns`, from records: each distinct date and amount
    parsed once by the scalar parsers, no pandas."""
    n = len(deals)
    for i, r in enumerate(deals):
        if not isinstance(r, Mapping):
            raise ValueError(f"row {i} of the deals is a {type(r).__name__}, not a mapping")
    missing = [c for c in _REQUIRED if any(c not in r for r in deals)]
    if missing:
        raise ValueError(
            f"deals records lack field(s) {', '.join(missing)}; "
            "they need deal_id, date, payer, payee, type, amount_usd, status"
        )
    did = np.array([_as_id(r["deal_id"]) for r in deals], dtype=object)
    if n and (did == "").any():
        row = int(np.flatnonzero(did == "")[0])
        raise ValueError(f"row {row} of the deals has no deal_id")
    payer = np.array([_as_id(r["payer"]) for r in deals], dtype=object)
    payee = np.array([_as_id(r["payee"]) for r in deals], dtype=object)
    typ = np.array([_as_id(r.get("type")) for r in deals], dtype=object)
    keep = [True] * n
    if f.types is not None:
        keep = [k and t in f.types for k, t in zip(keep, typ.tolist(), strict=True)]
    if f.status is not None:
        keep = [k and r.get("status") in f.status for k, r in zip(keep, deals, strict=True)]
    mask = np.array(keep, dtype=bool) & (payer != "") & (payee != "")
    amt = np.fromiter(_parsed(deals, "amount_usd", _parse_amount, "amount_usd"),
                      dtype=np.float64, count=n)
    day = np.fromiter(_parsed(deals, "date", _parse_day, "date"), dtype=_I32, count=n)
    return did, payer, payee, typ, mask, amt, day


def _parsed(deals: Sequence[Mapping[str, Any]], key: str, parse: Callable[[Any], Any],
            what: str) -> Iterable[Any]:
    """``parse`` of each record's ``key``, each distinct value parsed once."""
    cache: dict[Any, Any] = {}
    for r in deals:
        value = r.get(key)
        try:
            yield cache[value]
        except KeyError:
            try:
                out = cache[value] = parse(value)
            except ValueError as e:
                raise ValueError(f"deal {_as_id(r.get('deal_id'))!r}: bad {what}: {e}") from None
            yield out
        except TypeError:  # an unhashable value: parse it (it will be refused)
            try:
                yield parse(value)
            except ValueError as e:
                raise ValueError(f"deal {_as_id(r.get('deal_id'))!r}: bad {what}: {e}") from None


def _one_deal(
    new_deal: Mapping[str, Any] | pd.Series,
    f: _Filters,
    top: Callable[[np.ndarray], np.ndarray] | None,
) -> tuple[Any, ...]:
    """(deal_id, payer, payee, amount, day, type) of one deal, payer None if it doesn't count.

    The same rules as the frame path (:func:`_counting`), for one row.
    """
    row: Mapping[Any, Any]
    pd = _pandas()
    if pd is not None and isinstance(new_deal, pd.Series):
        row = new_deal.to_dict()
    elif isinstance(new_deal, Mapping):
        row = new_deal
    else:
        raise ValueError(
            "new_deal must be a mapping or a pandas Series with deal_id, payer, payee"
        )
    missing = [c for c in _REQUIRED if _as_id(row.get(c)) == ""]
    if missing:
        raise ValueError(f"new_deal lacks {', '.join(missing)}; it needs deal_id, payer and payee")
    did = _as_id(row["deal_id"])
    try:
        amount = _parse_amount(row.get("amount_usd"))
        day = _parse_day(row.get("date"))
    except ValueError as e:
        raise ValueError(f"deal {did!r}: {e}") from None
    typ = _as_id(row.get("type"))
    payer, payee = _as_id(row["payer"]), _as_id(row["payee"])
    counts = not (
        (f.types is not None and typ not in f.types)
        or (f.status is not None and row.get("status") not in f.status)
        or (f.min_amount is not None and not amount >= f.min_amount)
        or (f.since is not None and (day == _UNDATED or day < f.since))
        or (f.until is not None and (day == _UNDATED or day > f.until))
    )
    if counts and top is not None:
        payer, payee = (str(x) for x in top(np.array([payer, payee], dtype=object)))
    if not counts or payer == payee:
        return (did, None, None, amount, day, typ)
    return (did, payer, payee, amount, day, typ)
