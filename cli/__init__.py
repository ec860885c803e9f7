"""circfin's command line (typer + rich)."""

import os

# One OpenBLAS thread unless the user asks for more. OpenBLAS starts its thread
# pool when numpy loads, and on this project's 2-core machines the second thread
# spent 0.12 s of CPU per command just starting (numpy's import: 0.26 s of CPU with
# the default, 0.13 s with one thread), more than the seed's whole loop search.
# circfin's numerical work is sparse or vector work, which gains nothing from it:
# DebtRank and clearing on 10,000 entities and 100,000 exposures took 2.5/69.5/4.8 ms
# with two threads and 2.8/57.5/5.5 ms with one (bench/bench_debtrank.py).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
