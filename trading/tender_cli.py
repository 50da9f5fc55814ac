"""Tender commands."""

from flask.cli import AppGroup

trading_cli = AppGroup("trading", help="Tenders and bids.")
