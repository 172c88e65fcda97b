"""REST JSON API under ``/api/v1`` (blueprint ``api.bp``)."""
from .routes import bp

__all__ = ["bp"]
