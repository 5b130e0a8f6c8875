"""Window state and detection: matches in, explained alerts out, in event time."""
