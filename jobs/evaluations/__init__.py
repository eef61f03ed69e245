"""Evaluations: a model scored on held-out examples."""
