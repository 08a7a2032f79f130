"""Decision room: ground-motion scenarios, damage and loss estimates, response levels.

Everything here turns what was measured (an event from ``analysis``) or what a
scenario assumes into the numbers emergency headquarters act on.  The numerical
cores live in :mod:`quakewatch.ext`; this package reads the analysts' files
(OpenQuake NRML and CSV, rule tables), orchestrates the computation and keeps the
provenance.
"""
