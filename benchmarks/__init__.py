"""Kernel benchmarks of hvae_ext: `python -m benchmarks --help`."""
