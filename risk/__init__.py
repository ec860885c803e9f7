"""Shock-propagation models: what happens when one link of a loop breaks.

Plain functions on numpy arrays (scipy.sparse accepted where noted):

* :func:`debtrank` -- DebtRank distress propagation, original (Battiston et
  al. 2012) and linear (Bardoscia et al. 2015).
* :func:`clearing_vector` -- Eisenberg-Noe (2001) clearing payments, with
  Rogers-Veraart (2013) default costs.
* :func:`margin_spiral` -- margin calls and fire sales of leveraged holders
  with linear (Greenwood-Landier-Thesmar 2015) or exponential
  (Cifuentes-Ferrucci-Shin 2005) price impact.
* :func:`fire_sale` -- leverage-targeting fire sales of Greenwood, Landier &
  Thesmar (2015): losses in rounds, aggregate and indirect vulnerability,
  systemicness (dense or scipy.sparse holdings).

And, on the deal graph (each module documents its definitions):

* :mod:`~circfin.risk.flags` -- :func:`flags_for` / :func:`flag_loops`:
  vendor financing, round trips, related parties, paper and contingent loops.
* :mod:`~circfin.risk.score` -- :func:`score_loops`: an explainable score
  per loop from named parts and weights.
* :mod:`~circfin.risk.nullmodel` -- :func:`significance`: loop counts
  against a degree-preserving null model (Maslov-Sneppen rewiring of the
  distinct pairs by default, or payees shuffled within each deal type), and
  :func:`~circfin.risk.nullmodel.sensitivity` across both.
* :mod:`~circfin.risk.exposures` and :mod:`~circfin.risk.shock` --
  :func:`build_exposures`, :func:`shock`, :func:`shock_summary`: exposures
  per deal type, shocks with and without the loops' closing legs.
* :mod:`~circfin.risk.writeback` -- :func:`write_scores`: scores and flags
  onto ``(:Loop)`` nodes for Neo4j Browser.
* :mod:`~circfin.risk.country` -- :func:`exposure_by_institution`: each
  institution's exposure to the AI web by instrument, and per country.
* :mod:`~circfin.risk.stress` -- :func:`~circfin.risk.stress.stress`: one
  scenario (price shocks, partial payers, stablecoin runs) through credit, fire
  sales and margin calls, round by round.
"""

from __future__ import annotations

__all__ = [
    "ClearingResult",
    "DebtRankResult",
    "FLAGS",
    "FireSaleResult",
    "Flag",
    "MarginResult",
    "ScoredLoop",
    "ShockResult",
    "Significance",
    "build_exposures",
    "clearing_vector",
    "debtrank",
    "fire_sale",
    "flag_loops",
    "flags_for",
    "margin_spiral",
    "score_loops",
    "shock",
    "shock_summary",
    "significance",
    "write_scores",
]

from typing import TYPE_CHECKING, Any

from .clearing import ClearingResult, clearing_vector
from .debtrank import DebtRankResult, debtrank
from .exposures import build_exposures
from .firesale import FireSaleResult, fire_sale
from .flags import FLAGS, Flag, flag_loops, flags_for
from .margin import MarginResult, margin_spiral
from .score import ScoredLoop, score_loops
from .shock import ShockResult, shock, shock_summary
from .writeback import write_scores

if TYPE_CHECKING:
    from .nullmodel import Significance, significance


def __getattr__(name: str) -> Any:
    # the null models (pandas) load on first use: scoring and shocks need neither
    if name in ("Significance", "significance"):
        from . import nullmodel

        return getattr(nullmodel, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
