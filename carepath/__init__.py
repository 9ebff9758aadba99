"""Carepath's shared runtime: settings, database, outbox, inbox, messaging, telemetry, CLI."""
