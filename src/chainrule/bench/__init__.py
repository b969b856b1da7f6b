"""Benchmarks of chainrule against NumPy, PyTorch and scikit-learn (``chainrule bench``).

Run on demand, never inside the tests' timings: :func:`chainrule.bench.run.main` is the
entry point of ``chainrule bench`` and of ``benchmarks/bench_epoch.py``. Needs the
``bench`` extra (threadpoolctl, scikit-learn); PyTorch rows appear when torch is
installed.
"""
