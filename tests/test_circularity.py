"""Finn's cycling index against published worked examples and closed forms, its
properties on random flow graphs, `circularity()` on hand-built snapshots, and
`circfin circularity` on the embedded store."""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from circfin import queries
from circfin.analytics import circularity as C
from circfin.analytics.circularity import circularity, finn_cycling_index
from circfin.loops.from_store import Snapshot

# ---- published worked examples -------------------------------------------------------------

# The oyster reef model (Dame & Patten 1981), as enaR prints it in its vignette
# ("enaR: Ecosystem Network Analysis with R", Lau & Borrett, vignettes/enaR-vignette.tex
# of SEELab/enaR: `unpack(m)` after `read.scor` of oyster.dat): F row-to-column, inputs z,
# outputs y (respiration; no exports).
OYSTER = ["Filter Feeders", "Microbiota", "Meiofauna", "Deposit Feeders", "Predators",
          "Deposited Detritus"]
OYSTER_F = {(1, 2): 1.2060, (1, 3): 1.2060, (2, 3): 0.6609, (5, 1): 8.1721, (5, 2): 7.2745,
            (5, 3): 0.6431, (0, 4): 0.5135, (0, 5): 15.7910, (2, 5): 4.2403, (3, 4): 0.1721,
            (3, 5): 1.9076, (4, 5): 0.3262}
OYSTER_Z = [41.47, 0, 0, 0, 0, 0]
OYSTER_Y = [25.1650, 5.7600, 3.5794, 0.4303, 0.3594, 6.1759]


def _matrix(entries: dict[tuple[int, int], float], n: int) -> np.ndarray:
    F = np.zeros((n, n))
    for (i, j), v in entries.items():
        F[i, j] = v
    return F


def test_oyster_reef_matches_enar_enaflow():
    c = finn_cycling_index(_matrix(OYSTER_F, 6), imports=OYSTER_Z, exports=OYSTER_Y)
    # The same vignette prints `F <- enaFlow(m); F$ns`: TST 83.5833, FCI 0.1101686,
    # mode2.F (cycled flow) 9.208256 ...
    assert c.total == pytest.approx(83.5833, abs=1e-9)
    assert c.fci == pytest.approx(0.1101686, abs=5e-8)
    assert c.cycled == pytest.approx(9.208256, abs=5e-7)
    # ... and `F$NP`, whose diagonal is N_ii (1, 1.1018630, 1.2971032, 1.1240688, 1.0051064,
    # 1.3885039): node cycling is 1 - 1/N_ii.
    n_ii = np.array([1.0, 1.1018630, 1.2971032, 1.1240688, 1.0051064, 1.3885039])
    np.testing.assert_allclose(c.node_cycling, 1 - 1 / n_ii, atol=1e-7)
    # Throughflow is each node's inflow (enaR: T = rowSums(Tij) + input).
    np.testing.assert_allclose(c.throughflow, [41.47, 8.1721, 8.4805, 2.5100, 0.6856, 22.2651],
                               atol=1e-9)


# Cone Spring (Tilly 1968), the example 1a of Latham (2006) that NetIndices ships as
# `Conesprings` and enaR as troModels$`Cone Springs` (at a quarter of these flows: its
# uncertainty vignette lists 2220.25, 18.75, 400, 92.5, 50, 41.75, 1301.25, 577.25).
# NetIndices' `PathInd` example runs on it but neither package's pages print the result we
# could find, so this test checks it against a closed form by hand instead: every cycle
# passes through Detritus, so each node's return probability is a finite sum of paths.
# Nodes: 0 Plants, 1 Detritus, 2 Bacteria, 3 Detritivores, 4 Carnivores (kcal m-2 y-1).
CONE_F = {(0, 1): 8881, (1, 2): 5205, (1, 3): 2309, (2, 1): 1600, (2, 3): 75, (3, 1): 200,
          (3, 4): 370, (4, 1): 167}
CONE_IMPORTS = [11184, 635, 0, 0, 0]
CONE_EXPORTS = [300 + 2003, 860 + 3109, 255 + 3275, 0 + 1814, 0 + 203]  # export + dissipation


def _cone_spring_by_hand() -> tuple[list[Fraction], Fraction]:
    Fr = Fraction
    T = [Fr(11184), Fr(11483), Fr(5205), Fr(2384), Fr(370)]
    # From Detritivores, money reaches Detritus directly (200) or through Carnivores (370 * 167/370).
    v_to_d = Fr(200 + 167, 2384)
    # Detritus: out to Bacteria (which sends 1600 straight back, 75 on to Detritivores) or to
    # Detritivores: r_D = (1600 + 75 * v_to_d + 2309 * v_to_d) / 11483 = (1600 + 367) / 11483.
    r_d = (Fr(1600) + Fr(75) * v_to_d + Fr(2309) * v_to_d) / 11483
    assert r_d == Fr(1967, 11483)
    # Detritus reaches Bacteria directly, after any number of round trips through Detritivores.
    d_to_b = Fr(5205, 11483) / (1 - Fr(2309, 11483) * v_to_d)
    r_b = (Fr(1600, 5205) + Fr(75, 5205) * v_to_d) * d_to_b
    # Detritus reaches Detritivores directly or via Bacteria, after round trips through Bacteria.
    d_to_v = Fr(2309 + 75, 11483) / (1 - Fr(1600, 11483))
    r_v = v_to_d * d_to_v
    # Detritus reaches Carnivores through Detritivores, who may first send it back to Detritus.
    d_to_c = d_to_v * Fr(370, 2384) / (1 - d_to_v * Fr(200, 2384))
    assert d_to_c == Fr(370, 9683)
    r_c = Fr(167, 370) * d_to_c
    r = [Fr(0), r_d, r_b, r_v, r_c]
    fci = sum((ri * ti for ri, ti in zip(r, T, strict=True)), Fr(0)) / sum(T, Fr(0))
    return r, fci


def test_cone_spring_against_its_closed_form():
    r, fci = _cone_spring_by_hand()
    c = finn_cycling_index(_matrix(CONE_F, 5), imports=CONE_IMPORTS, exports=CONE_EXPORTS)
    np.testing.assert_allclose(c.node_cycling, [float(x) for x in r], rtol=1e-12, atol=1e-15)
    assert c.fci == pytest.approx(float(fci), rel=1e-12)
    assert c.total == 30626
    # enaR's copy at a quarter of the flows: an index of shares does not change with the unit
    q = finn_cycling_index(_matrix(CONE_F, 5) / 4, imports=np.divide(CONE_IMPORTS, 4),
                           exports=np.divide(CONE_EXPORTS, 4))
    assert q.fci == pytest.approx(c.fci, rel=1e-12)
    # The model is balanced, so T = max(inflow, outflow) without boundary vectors is the
    # same except where boundary flow makes up the difference: Plants (import only) and
    # Detritus take their internal maximum, and the index moves accordingly.
    internal = finn_cycling_index(_matrix(CONE_F, 5))
    assert internal.fci > c.fci  # less throughflow enters from outside, so more of it cycles


# ---- closed forms --------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b"), [(3.0, 1.0), (1.0, 3.0), (10.0, 9.0), (5e9, 2.5e9)])
def test_two_node_loop_cycles_the_smaller_over_the_larger(a, b):
    # A pays B a, B pays A b: T_A = T_B = max(a, b); each dollar returns with probability min/max.
    c = finn_cycling_index([[0, a], [b, 0]])
    assert c.fci == pytest.approx(min(a, b) / max(a, b), rel=1e-12)
    np.testing.assert_allclose(c.node_cycling, [min(a, b) / max(a, b)] * 2, rtol=1e-12)
    np.testing.assert_allclose(c.throughflow, [max(a, b)] * 2)


@pytest.mark.parametrize("amounts", [[4.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0, 5.0], [7.0, 7.0, 1.0, 7.0]])
def test_ring_returns_the_product_of_its_shares(amounts):
    # i pays i+1 amounts[i]: T_i = max(amounts[i-1], amounts[i]); the return probability of
    # every node is the product of amounts[j] / T_j round the ring.
    n = len(amounts)
    F = np.zeros((n, n))
    for i, v in enumerate(amounts):
        F[i, (i + 1) % n] = v
    T = [max(amounts[i - 1], amounts[i]) for i in range(n)]
    r = float(np.prod([amounts[j] / T[j] for j in range(n)]))
    c = finn_cycling_index(F)
    np.testing.assert_allclose(c.node_cycling, [r] * n, rtol=1e-12)
    assert c.fci == pytest.approx(r, rel=1e-12)


def test_acyclic_chain_has_no_cycling():
    F = np.diag([5.0, 3.0, 8.0, 1.0], k=1)  # 0 -> 1 -> 2 -> 3 -> 4
    c = finn_cycling_index(F)
    assert c.fci == 0.0 and c.cycled == 0.0
    assert not c.node_cycling.any()
    np.testing.assert_allclose(c.throughflow, [5, 5, 8, 8, 1])


def test_self_loop_counts_as_a_cycle():
    # Node 0 pays itself s and node 1 o: T_0 = s + o, a dollar comes back with s / (s + o).
    s, o = 3.0, 1.0
    c = finn_cycling_index([[s, o], [0, 0]])
    np.testing.assert_allclose(c.node_cycling, [s / (s + o), 0.0])
    assert c.fci == pytest.approx(s / (s + 2 * o))


def test_closed_circulation_cycles_everything():
    # A pays B 1, B pays A 1 and nothing else: no dollar ever leaves, so all of it cycles
    # (I - P is singular there; NetIndices' generalised inverse gives no meaningful value).
    c = finn_cycling_index([[0, 1], [1, 0]])
    assert c.fci == 1.0 and c.node_cycling.tolist() == [1.0, 1.0]
    # A closed ring beside an open chain: the ring's throughflow cycles, the chain's does not.
    c = finn_cycling_index(sp.csr_matrix(([2.0, 2.0, 2.0, 5.0], ([0, 1, 2, 3], [1, 2, 0, 4])),
                                         shape=(5, 5)))
    assert c.node_cycling.tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert c.fci == pytest.approx(6 / 16)


def test_empty_and_zero_flows():
    assert finn_cycling_index(np.zeros((0, 0))).fci == 0.0
    c = finn_cycling_index(np.zeros((3, 3)))
    assert (c.fci, c.total, c.cycled) == (0.0, 0.0, 0.0)


def test_bad_input_says_what_is_wrong():
    with pytest.raises(ValueError, match="square"):
        finn_cycling_index(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=">= 0"):
        finn_cycling_index([[0, -1], [1, 0]])
    with pytest.raises(ValueError, match="finite"):
        finn_cycling_index([[0, np.nan], [1, 0]])
    with pytest.raises(ValueError, match="both imports and exports"):
        finn_cycling_index([[0, 1], [1, 0]], imports=[1, 0])
    with pytest.raises(ValueError, match="one value per node"):
        finn_cycling_index([[0, 1], [1, 0]], imports=[1], exports=[1])
    # Oyster with one respiration mistyped: Microbiota takes in 8.1721 but sends out 9.172.
    y = list(OYSTER_Y)
    y[1] += 1
    with pytest.raises(ValueError, match=r"node 1 takes in 8.1721 .* sends out 9.172"):
        finn_cycling_index(_matrix(OYSTER_F, 6), imports=OYSTER_Z, exports=y)


def test_the_callers_sparse_matrix_is_left_alone():
    F = sp.csr_matrix(np.array([[0.0, 2.0], [1.0, 0.0]]))
    F.data[0] = 0.0  # an explicit zero kept in the structure
    before = F.copy()
    finn_cycling_index(F)
    assert (before != F).nnz == 0 and F.nnz == before.nnz


# ---- properties on random flow graphs --------------------------------------------------------


@st.composite
def flow_matrices(draw: Any, max_n: int = 8) -> np.ndarray:
    n = draw(st.integers(1, max_n))
    cells = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                     st.sampled_from([0.5, 1.0, 2.0, 3.0, 7.5, 1e9])),
                          max_size=3 * n))
    F = np.zeros((n, n))
    for i, j, v in cells:
        F[i, j] += v
    return F


def _closed_nodes(F: np.ndarray) -> set[int]:
    """Nodes of components no money enters or leaves, each node's inflow equal to its outflow."""
    G = nx.DiGraph((i, j) for i, j in zip(*np.nonzero(F), strict=True))
    closed: set[int] = set()
    for comp in nx.strongly_connected_components(G):
        if len(comp) == 1 and not G.has_edge(*(2 * tuple(comp))):
            continue
        inside = sorted(comp)
        outside = [k for k in range(F.shape[0]) if k not in comp]
        crossing = F[np.ix_(inside, outside)].sum() + F[np.ix_(outside, inside)].sum()
        if crossing == 0 and np.allclose(F[inside].sum(axis=1), F[:, inside].sum(axis=0),
                                         rtol=1e-12, atol=0):
            closed |= comp
    return closed


@settings(max_examples=300, deadline=None)
@given(flow_matrices())
def test_fci_is_a_share_and_zero_exactly_without_cycles(F):
    c = finn_cycling_index(F)
    assert 0.0 <= c.fci <= 1.0
    assert np.all((c.node_cycling >= 0) & (c.node_cycling <= 1))
    G = nx.DiGraph()
    G.add_edges_from((i, j) for i, j in zip(*np.nonzero(F), strict=True))
    has_cycle = not nx.is_directed_acyclic_graph(G)  # a self-loop is a cycle
    assert (c.fci == 0.0) == (not has_cycle)
    # FCI reaches 1 only when all throughflow goes round closed circulations; any flow in
    # from or out to outside keeps it below 1.
    closed = _closed_nodes(F)
    open_flow = sum(c.throughflow[i] for i in range(F.shape[0]) if i not in closed)
    assert (c.fci == 1.0) == (c.total > 0 and open_flow == 0)


@settings(max_examples=150, deadline=None)
@given(flow_matrices(), st.integers(0, 2**32 - 1))
def test_per_component_equals_the_whole_matrix_inverted_densely(F, seed):
    # Imports into and exports out of every node keep I - P invertible everywhere.
    n = F.shape[0]
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.5, 2.0, n)
    y = F.sum(axis=0) + z - F.sum(axis=1)
    z = z + np.maximum(0.0, -y)  # top up imports where outflow exceeds inflow
    # the exports balance each node; where they come out zero, rounding may leave -1e-15
    y = np.maximum(0.0, F.sum(axis=0) + z - F.sum(axis=1))
    c = finn_cycling_index(F, imports=z, exports=y)
    T = F.sum(axis=0) + z
    N = np.linalg.inv(np.eye(n) - F / T[:, None])
    expect = 1 - 1 / np.diag(N)
    np.testing.assert_allclose(c.node_cycling, expect, atol=1e-9)
    assert c.fci == pytest.approx(float(expect @ T / T.sum()), abs=1e-9)
    # the path for large components (eliminate nodes of few neighbours, invert the rest
    # densely, go back for the eliminated ones) agrees with the dense one, whatever it eliminates
    old = C._DENSE_MAX, C._ELIM_DEGREE
    try:
        C._DENSE_MAX = 0
        for degree in (0, 1, 2, 3, 64):
            C._ELIM_DEGREE = degree
            s = finn_cycling_index(sp.csr_matrix(F), imports=z, exports=y)
            np.testing.assert_allclose(s.node_cycling, c.node_cycling, atol=1e-9)
    finally:
        C._DENSE_MAX, C._ELIM_DEGREE = old


@settings(max_examples=150, deadline=None)
@given(flow_matrices())
def test_sparse_and_dense_input_agree(F):
    d = finn_cycling_index(F)
    for fmt in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        s = finn_cycling_index(fmt(F))
        assert s.fci == pytest.approx(d.fci, abs=1e-12)
        np.testing.assert_allclose(s.node_cycling, d.node_cycling, atol=1e-12)
        np.testing.assert_array_equal(s.throughflow, d.throughflow)


@settings(max_examples=100, deadline=None)
@given(flow_matrices(), st.integers(0, 2**32 - 1))
def test_relabelling_nodes_changes_nothing(F, seed):
    perm = np.random.default_rng(seed).permutation(F.shape[0])
    a = finn_cycling_index(F)
    b = finn_cycling_index(F[np.ix_(perm, perm)])
    assert b.fci == pytest.approx(a.fci, abs=1e-12)
    np.testing.assert_allclose(b.node_cycling, a.node_cycling[perm], atol=1e-12)


# ---- circularity() on hand-built snapshots ------------------------------------------------------


def _deal(deal_id: str, payer: str, payee: str, amount: float | None, *, type: str = "loan",
          status: str = "signed", confidence: str | None = "high") -> dict[str, Any]:
    return {"deal_id": deal_id, "date": "2025-01-10", "day": 20098, "payer": payer,
            "payee": payee, "type": type, "amount_usd": amount,
            "amount_qualifier": "exact" if amount is not None else "undisclosed", "status": status,
            "description": "", "source_url": None, "source_kind": "news", "confidence": confidence,
            "ev_days": [], "ev_statuses": []}


def _snap(deals: list[dict[str, Any]], as_of: str | None = "2025-12-31") -> Snapshot:
    frame = pd.DataFrame(deals, columns=list(queries.load("deals").returns))
    ids = sorted({d[s] for d in deals for s in ("payer", "payee")})
    ents = [{"id": i, "name": i.upper()} for i in ids]
    return Snapshot(frame, ents, as_of=as_of)


WEB = [
    _deal("D1", "a", "b", 4e9, type="equity_investment"),
    _deal("D2", "b", "a", 2e9, type="compute_purchase"),
    _deal("D3", "b", "c", 1e9, type="compute_purchase", confidence="low"),
    _deal("D4", "c", "a", None, type="compute_purchase"),
    _deal("D5", "a", "c", 3e9, type="loan", status="cancelled"),
    _deal("D6", "c", "d", None, type="lease"),
]


@pytest.mark.parametrize("kw", [{}, {"undisclosed": "impute"}, {"status": None},
                                {"types": ["compute_purchase", "loan"], "confidences": ["high"]}])
def test_records_and_frame_give_the_same_circularity(kw):
    """A snapshot as read (records) and the same deals as a frame: the same result, to
    the last bit (the commands read records; a report that built the frame reads it)."""
    framed = _snap(WEB)
    records = Snapshot([dict(d) for d in WEB], framed.entities, as_of=framed.as_of)
    assert isinstance(records.deals_given, list) and not isinstance(framed.deals_given, list)
    assert circularity(records, **kw).to_dict() == circularity(framed, **kw).to_dict()


def test_circularity_skips_undisclosed_amounts_by_default():
    r = circularity(_snap(WEB))
    # counted: D1 a->b 4e9, D2 b->a 2e9, D3 b->c 1e9 (D4, D6 undisclosed; D5 cancelled)
    assert r.deals == 3 and r.undisclosed == {"mode": "skip", "deals": 2, "left_out": 2}
    # a <-> b is a two-node loop with T = 4e9 each (b sends 3e9 out): r = 2e9/4e9 * 1 = 0.5
    assert r.fci == pytest.approx((0.5 * 4e9 + 0.5 * 4e9) / (4e9 + 4e9 + 1e9))
    assert r.cycled_usd == pytest.approx(4e9) and r.total_usd == pytest.approx(9e9)
    assert [(e["id"], e["name"]) for e in r.entities] == [("a", "A"), ("b", "B"), ("c", "C")]
    assert [e["return_share"] for e in r.entities] == pytest.approx([0.5, 0.5, 0.0])
    assert r.as_of == "2025-12-31"


def test_circularity_imputes_the_median_of_the_deal_type():
    r = circularity(_snap(WEB), undisclosed="impute")
    # D4 (compute_purchase) takes the median of D2 and D3: 1.5e9; D6 (lease) has no disclosed
    # lease to take a median of and stays out.
    assert r.deals == 4 and r.undisclosed == {"mode": "impute", "deals": 2, "left_out": 1}
    F = np.array([[0, 4e9, 0], [2e9, 0, 1e9], [1.5e9, 0, 0]])
    expect = finn_cycling_index(F)
    assert r.fci == pytest.approx(expect.fci)
    by = {e["id"]: e for e in r.entities}
    assert by["c"]["return_share"] == pytest.approx(expect.node_cycling[2])
    assert by["c"]["throughflow_usd"] == pytest.approx(1.5e9)
    assert r.fci > circularity(_snap(WEB)).fci  # c -> a closes a longer loop


def test_circularity_filters_by_type_status_and_confidence():
    snap = _snap(WEB)
    # cancelled counts when asked for: D5 a -> c closes nothing new (D4 is undisclosed)
    every = circularity(snap, status=None)
    assert every.deals == 4 and every.total_usd == pytest.approx(4e9 + 7e9 + 4e9)
    # only purchases: b -> a and b -> c, no loop at all
    buys = circularity(snap, types=["compute_purchase"])
    assert buys.deals == 2 and buys.fci == 0.0
    assert {e["id"] for e in buys.entities} == {"a", "b", "c"}
    # at least medium confidence: D3 (low) stops counting
    firm = circularity(snap, confidences=("high", "medium"))
    assert firm.deals == 2 and firm.fci == pytest.approx(0.5)
    # a deal without a confidence does not pass a confidence filter
    none = _snap([_deal("X", "a", "b", 1.0, confidence=None), _deal("Y", "b", "a", 1.0)])
    assert circularity(none, confidences=("high",)).deals == 1
    assert circularity(none).fci == 1.0  # closed circulation


def test_circularity_of_an_empty_web():
    r = circularity(_snap([], as_of=None))
    assert (r.fci, r.cycled_usd, r.total_usd, r.deals, r.entities) == (0.0, 0.0, 0.0, 0, [])
    assert r.to_dict()["undisclosed"] == {"mode": "skip", "deals": 0, "left_out": 0}


def test_circularity_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="skip, impute"):
        circularity(_snap(WEB), undisclosed="guess")


def test_circularity_json_shape():
    d = circularity(_snap(WEB)).to_dict()
    assert set(d) == {"as_of", "fci", "cycled_usd", "total_usd", "deals", "undisclosed", "entities"}
    assert d["cycled_usd"] == 4_000_000_000 and isinstance(d["cycled_usd"], int)
    assert set(d["entities"][0]) == {"id", "name", "return_share", "throughflow_usd"}
    json.dumps(d)  # plain JSON types only


# ---- `circfin circularity` on the embedded store ------------------------------------------------


def test_circularity_command_on_the_seed(cli, store):
    from circfin.loops.from_store import snapshot

    assert cli("seed").returncode == 0
    r = cli("circularity", "--as-of", "2025-12-31", "--format", "json", check=True)
    d = json.loads(r.stdout)
    assert set(d) == {"as_of", "fci", "cycled_usd", "total_usd", "deals", "undisclosed", "entities"}
    assert d["as_of"] == "2025-12-31" and d["undisclosed"]["mode"] == "skip"
    assert 0 < d["fci"] < 1 and d["cycled_usd"] < d["total_usd"]
    assert d["undisclosed"]["deals"] == d["undisclosed"]["left_out"] > 0
    ranked = [(-e["return_share"], -e["throughflow_usd"], e["id"]) for e in d["entities"]]
    assert ranked == sorted(ranked) and len({e["id"] for e in d["entities"]}) == len(ranked)
    # the command is the library on the store's snapshot as of that day
    lib = circularity(snapshot(store, as_of="2025-12-31"))
    assert d["fci"] == pytest.approx(lib.fci) and d["deals"] == lib.deals
    assert [e["id"] for e in d["entities"]] == [e["id"] for e in lib.entities]
    # the entities' throughflows add up to the total
    assert sum(e["throughflow_usd"] for e in d["entities"]) == pytest.approx(d["total_usd"])

    imputed = json.loads(cli("circularity", "--as-of", "2025-12-31", "--format", "json",
                             "--undisclosed", "impute", check=True).stdout)
    assert imputed["undisclosed"]["mode"] == "impute"
    assert imputed["undisclosed"]["deals"] == d["undisclosed"]["deals"]
    assert imputed["deals"] == d["deals"] + d["undisclosed"]["deals"] - imputed["undisclosed"]["left_out"]
    firm = json.loads(cli("circularity", "--as-of", "2025-12-31", "--format", "json",
                          "--min-confidence", "high", check=True).stdout)
    assert firm["deals"] < d["deals"]
    earlier = json.loads(cli("circularity", "--as-of", "2023-12-31", "--format", "json",
                             check=True).stdout)
    assert earlier["deals"] < d["deals"] and earlier["total_usd"] < d["total_usd"]
    buys = json.loads(cli("circularity", "--format", "json", "--types",
                          "chip_purchase,compute_purchase", "--limit", "3", check=True).stdout)
    assert buys["deals"] < d["deals"] and len(buys["entities"]) == 3

    table = cli("circularity", "--as-of", "2025-12-31", "--limit", "5", check=True).stdout
    assert "Circularity as of 2025-12-31: FCI" in table
    assert f"{d['deals']} deals counted" in table and "left out" in table
    assert d["entities"][0]["name"] in table and f"of {len(d['entities'])} entities" in table


def test_circularity_command_refuses_bad_options(cli):
    r = cli("circularity", "--types", "gift")
    assert r.returncode == 1 and "--types" in r.stderr and "gift" in r.stderr
    r = cli("circularity", "--status", "rumoured")
    assert r.returncode == 1 and "--status" in r.stderr
    r = cli("circularity", "--min-confidence", "certain")
    assert r.returncode == 1 and "--min-confidence" in r.stderr
    assert cli("circularity", "--undisclosed", "guess").returncode == 2
    assert cli("circularity", "--limit", "-1").returncode != 0
    empty = cli("circularity", check=True)
    assert "FCI 0.000" in empty.stdout and "no entity has throughflow" in empty.stdout


def test_circularity_command_has_help_with_an_example(cli):
    out = cli("circularity", "--help", check=True).stdout
    assert "Example:" in out and "--undisclosed" in out and "--min-confidence" in out


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("jit", [False, True], ids=["plain", "compiled"])
def test_large_components_by_elimination_match_the_dense_inverse(seed, jit):
    # A 300-node scale-free-like web (a few hubs join everything) with boundary flows:
    # eliminating nodes of few neighbours and inverting the rest gives the dense answer,
    # whether the kernels run as plain Python or compiled by numba.
    rng = np.random.default_rng(seed)
    n = 300
    w = np.arange(1, n + 1) ** -0.8
    payer = rng.choice(n, 1500, p=w / w.sum())
    payee = rng.choice(n, 1500, p=rng.permutation(w) / w.sum())
    F = sp.csr_matrix((rng.lognormal(0, 2, 1500), (payer, payee)), shape=(n, n)).toarray()
    dense = finn_cycling_index(F)
    T = dense.throughflow
    with np.errstate(divide="ignore", invalid="ignore"):
        P = np.where(T[:, None] > 0, F / T[:, None], 0.0)
    N = np.linalg.inv(np.eye(n) - P)
    np.testing.assert_allclose(dense.node_cycling, np.einsum("ij,ji->i", P, N) / np.diag(N),
                               atol=1e-12)
    old = C._DENSE_MAX, C._ELIM_DEGREE, C._JIT_MIN
    try:
        C._DENSE_MAX = 10
        C._JIT_MIN = 0 if jit else n + 1
        # 0: all in the dense core; 1000: every node eliminated, no core left
        for degree in (0, 4, 16, 64, 1000):
            C._ELIM_DEGREE = degree
            s = finn_cycling_index(sp.csr_matrix(F))
            np.testing.assert_allclose(s.node_cycling, dense.node_cycling, rtol=1e-9, atol=1e-14)
            assert s.fci == pytest.approx(dense.fci, rel=1e-9)
    finally:
        C._DENSE_MAX, C._ELIM_DEGREE, C._JIT_MIN = old


@pytest.mark.parametrize("jit", [False, True], ids=["plain", "compiled"])
def test_the_core_entries_follow_the_lu_row_swaps(jit):
    # The core's LU is pivoted (the cycling index's cores are diagonally dominant by rows
    # and rarely swap, so a general matrix here): each entry asked for is the inverse's.
    from circfin.analytics import _finn

    K = _finn.compiled() if jit else _finn.plain()
    rng = np.random.default_rng(7)
    n, m = 30, 45  # 30 core places among a component of 45 nodes
    A = rng.normal(size=(n, n))
    expect = np.linalg.inv(A)
    keys = np.unique(rng.integers(0, n, 200) * m + rng.integers(0, n, 200)).astype(np.int64)
    from scipy.linalg import lapack

    assert np.any(lapack.dgetrf(A.T.copy(order="F"))[1] != np.arange(n))  # it does swap rows
    got = C._core_entries(A.copy(), keys, m, K)
    q, p = keys // m, keys % m
    np.testing.assert_allclose(got[p, q], expect[p, q], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("jit", [False, True], ids=["plain", "compiled"])
def test_the_core_entries_on_several_threads_are_the_inverse(jit, monkeypatch):
    # A large core's entries are computed on several threads, each taking every t-th
    # block of rows; together they are every entry asked for, each the inverse's.
    from scipy.linalg import lapack

    from circfin.analytics import _finn

    K = _finn.compiled() if jit else _finn.plain()
    rng = np.random.default_rng(11)
    n, m = 3 * _finn.BLOCK + 40, 500  # rows in four blocks, so three threads share them unevenly
    A = np.eye(n) * n + rng.uniform(-1, 1, (n, n))
    expect = np.linalg.inv(A)
    keys = np.unique(rng.integers(0, n, 4000) * m + rng.integers(0, n, 4000)).astype(np.int64)
    monkeypatch.setattr(C, "_VALUE_MIN_KEYS", 1)
    monkeypatch.setattr(C, "_usable_cpus", lambda: 3)
    calls = []
    real = K._core_values
    monkeypatch.setattr(K, "_core_values", lambda k, *a: calls.append(k.size) or real(k, *a))
    got = C._core_entries(A.copy(), keys, m, K)
    q, p = keys // m, keys % m
    np.testing.assert_allclose(got[p, q], expect[p, q], rtol=1e-9, atol=1e-15)
    assert lapack.dgetrf(A.T.copy(order="F"))[1].tolist() == list(range(n))  # no swaps needed
    # compiled kernels run on three threads, each part of the keys; plain ones on one
    assert (len(calls), sum(calls)) == ((3, keys.size) if jit else (1, keys.size))
