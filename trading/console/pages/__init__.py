"""The console's pages, one module per audience; importing them attaches their routes."""

from __future__ import annotations

import importlib

MODULES = ("home", "public", "audit", "jobs", "credit", "cases", "tenders", "draws", "alerts")


def register_pages() -> None:
    for name in MODULES:
        importlib.import_module(f"trading.console.pages.{name}")
