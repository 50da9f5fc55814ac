"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi``."""

from trading.app import create_app

app = create_app()
