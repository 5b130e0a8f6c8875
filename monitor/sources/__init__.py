"""Where articles come from: a JSON Lines file, or a Kafka topic."""
