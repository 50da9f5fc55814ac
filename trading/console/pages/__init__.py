"""The console's pages, one module per audience; importing them attaches their routes.

A page module that cannot be imported (a domain service renamed under it) is logged and
left out instead of taking the whole service down with it: the API and the other pages
keep answering. ``MISSING`` says which; the console's tests fail on any.
"""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)

MODULES = ("home", "public", "audit", "jobs", "credit", "tenders", "draws", "alerts")
#: Page modules that failed to import, with the reason.
MISSING: dict[str, str] = {}


def register_pages() -> None:
    for name in MODULES:
        try:
            importlib.import_module(f"trading.console.pages.{name}")
        except ImportError as error:
            if name not in MISSING:
                log.error("console pages %r left out: %s", name, error)
            MISSING[name] = str(error)
