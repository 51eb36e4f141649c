"""jupyter-ack's benchmarks: ``python -m benchmarks [--quick] [--json FILE] [--only NAME ...]``.

Every ``benchmarks/bench_*.py`` that has ``run(quick: bool) -> list[Row]`` (see
``common.py``) is one part of the table; each also runs alone as a script.
"""
