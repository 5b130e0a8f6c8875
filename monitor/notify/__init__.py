"""Delivery: the outbox, the sender that drains it, and the notifiers (console, Slack)."""
