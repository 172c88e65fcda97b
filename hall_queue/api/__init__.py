"""REST JSON API under ``/api/v1`` (blueprint ``api.bp``).

Each area declares its operations in its own module with ``base.operation``; importing the module
registers them on the blueprint and in the OpenAPI document.
"""
import importlib

from . import routes  # noqa: F401  (queue core)
from .base import bp

# Areas that land in their own modules (kiosk agent support, screens, staff side, appointments).
for _name in ("kiosk_api", "display_api", "admin_api", "stats_api", "appointments_api"):
    try:
        importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as e:  # the area has not landed yet
        if e.name != f"{__name__}.{_name}":
            raise

__all__ = ["bp"]
