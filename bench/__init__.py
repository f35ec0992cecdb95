"""Benchmarks behind `make bench` (`python -m bench`).

Each module here with a ``run(quick: bool) -> list[Figure]`` function contributes figures;
``python -m bench`` finds them, runs them and prints one table. A figure compares our code
with a baseline measured side by side in the same run, so the verdict does not depend on
the machine.
"""

from bench.common import Figure

__all__ = ["Figure"]
