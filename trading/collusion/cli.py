"""Collusion scan command."""

from flask.cli import AppGroup

collusion_cli = AppGroup("collusion", help="Collusion scans.")
