"""Benchmarks and the synthetic directory they (and the equivalence tests) share. Run as `python -m bench.<name>`."""
