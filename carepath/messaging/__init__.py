"""Kafka: connections, consumption (decode, inbox, retry, DLQ), the outbox relay, publishing, lag
and the broker's abilities."""
