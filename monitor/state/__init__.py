"""Durable state in one SQLite file: offsets, windows, detector state, outbox, Slack threads."""
