"""Operator tools: dead letters, re-publishing, rebuilds, a client's causal tree."""
