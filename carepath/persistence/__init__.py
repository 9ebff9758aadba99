"""Databases: engines, the shared column types and tables, the unit of work, migrations."""
