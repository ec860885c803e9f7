"""Check Cypher with Neo4j's own parser and semantic analysis, offline.

Runs ``tools/cypherlint/lint.cjs`` (npm ``@neo4j-cypher/language-support``,
``lintCypherQuery``) under node, with circfin's schema, so that a syntax
error, an undefined variable, an undeclared parameter, an unknown label or
relationship type, or a misspelt property key is caught without a server.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..graph.schema import LABELS, PROPERTY_KEYS, REL_TYPES

__all__ = ["Diagnostic", "LINTER_DIR", "lint"]

# Keys of parameter maps (``row.parent``) that are not stored as properties.
PARAM_MAP_KEYS: tuple[str, ...] = ("parent", "issuer", "holder", "asset")

LINTER_DIR = Path(__file__).resolve().parent.parent / "tools" / "cypherlint"


@dataclass(frozen=True)
class Diagnostic:
    query: str
    severity: str
    message: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.query}.cypher:{self.line}:{self.column}: {self.severity}: {self.message}"


def lint(queries: list[tuple[str, str, tuple[str, ...]]]) -> list[Diagnostic]:
    """Diagnostics for (name, text, params) triples; empty when all are clean."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed; the Cypher linter needs node >= 20")
    if not (LINTER_DIR / "node_modules" / "@neo4j-cypher" / "language-support").is_dir():
        raise RuntimeError(f"run 'npm ci --prefix {LINTER_DIR}' to install the Cypher linter")
    payload = {
        "schema": {"labels": list(LABELS), "relationshipTypes": list(REL_TYPES),
                   "propertyKeys": sorted(set(PROPERTY_KEYS) | set(PARAM_MAP_KEYS))},
        "queries": [{"name": n, "text": t, "params": list(p)} for n, t, p in queries],
    }
    proc = subprocess.run([node, str(LINTER_DIR / "lint.cjs")], input=json.dumps(payload),
                          capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the Cypher linter failed: {proc.stderr.strip()[-2000:]}")
    return [Diagnostic(r["name"], d["severity"], d["message"], d["line"], d["column"])
            for r in json.loads(proc.stdout) for d in r["diagnostics"]]
