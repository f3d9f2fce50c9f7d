"""Benchmarks (``make bench``): not part of ``make test``; they print measured figures."""
