"""The examples in docstrings run, and give what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["circfin", "circfin.display", "circfin.jit", "circfin.graph.model", "circfin.store.base",
           "circfin.loops.engine", "circfin.ingest.validate", "circfin.report.render",
           "circfin.loops.from_store", "circfin.loops.members", "circfin.ingest.sources", "circfin.ingest.fields",
           "circfin.analytics.catalogue", "circfin.report.timeline", "circfin.report.charts",
           "circfin.store.embedded", "circfin.cli.fast_options", "circfin.store.resp",
           "circfin.store.falkordb_store"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
