"""Credit exchange commands."""

from flask.cli import AppGroup

exchange_cli = AppGroup("exchange", help="Credit exchange files from other platforms.")
