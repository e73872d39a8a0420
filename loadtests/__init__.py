"""Benchmarks; run each as `python -m loadtests.<name>` (results in loadtests/results/)."""
