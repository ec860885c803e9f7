"""Measures of the deal web: concentration, hubs, reciprocal pairs and
self-funded demand."""
