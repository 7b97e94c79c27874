"""``python -m benchmarks``: see :mod:`benchmarks`."""

from .run import main

main()
