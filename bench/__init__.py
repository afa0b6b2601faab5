"""Venn's benchmarks: each runs its baselines in the same run and reports ratios."""
