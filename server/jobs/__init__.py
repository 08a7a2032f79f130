"""Periodic work under APScheduler, with one active scheduler per deployment."""
