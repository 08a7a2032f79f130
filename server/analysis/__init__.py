"""Analyses of the ingested streams: event detection and characterisation."""
