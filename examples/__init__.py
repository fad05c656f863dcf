"""End-to-end examples of hvae_ext (importable modules, run with ``python -m``)."""
