"""Durable ingest: validation, data quality, the miniSEED archive and its commit journal."""
