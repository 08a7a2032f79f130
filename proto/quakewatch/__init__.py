"""QuakeWatch: structural-health monitoring and earthquake emergency decision support."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("quakewatch")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
