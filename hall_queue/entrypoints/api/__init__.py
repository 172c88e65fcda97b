"""REST JSON API under ``/api/v1`` (blueprint ``api.bp``).

Each area declares its operations in its own module ``<area>_api.py`` with ``base.operation``;
every such module in this package is imported here, which registers its operations on the
blueprint and in the OpenAPI document.
"""
import importlib
import pkgutil

from hall_queue.entrypoints.api import routes  # noqa: F401  (queue core)
from hall_queue.entrypoints.api.base import bp

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name.endswith("_api"):
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["bp"]
