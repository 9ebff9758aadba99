"""Tracing, metrics and PHI-free logs; one trace per client journey."""
