"""circfin's command line (typer + rich)."""

from ..jit import one_blas_thread_at_start

# Before anything loads numpy: OpenBLAS on one thread, until a big dense factorisation
# asks for more (circfin.jit.blas_threads_for).
one_blas_thread_at_start()
