"""QuakeWatch."""
