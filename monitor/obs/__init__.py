"""Observability: metrics, logs, health."""
