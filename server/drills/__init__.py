"""Drills (issue "[6] Drills"): scenarios, the timeline of products and their evaluation."""
