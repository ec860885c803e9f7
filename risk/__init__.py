"""Shock-propagation models: what happens when one link of a loop breaks.

Plain functions on numpy arrays (scipy.sparse accepted where noted):

* :func:`debtrank` -- DebtRank distress propagation, original (Battiston et
  al. 2012) and linear (Bardoscia et al. 2015).
* :func:`clearing_vector` -- Eisenberg-Noe (2001) clearing payments, with
  Rogers-Veraart (2013) default costs.
* :func:`margin_spiral` -- margin calls and fire sales of leveraged holders
  with linear (Greenwood-Landier-Thesmar 2015) or exponential
  (Cifuentes-Ferrucci-Shin 2005) price impact.
"""

from __future__ import annotations

__all__ = [
    "ClearingResult",
    "DebtRankResult",
    "MarginResult",
    "clearing_vector",
    "debtrank",
    "margin_spiral",
]

from .clearing import ClearingResult, clearing_vector
from .debtrank import DebtRankResult, debtrank
from .margin import MarginResult, margin_spiral
