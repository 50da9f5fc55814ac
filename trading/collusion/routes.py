"""Collusion alert API."""

from flask_smorest import Blueprint

blp = Blueprint("collusion", __name__, url_prefix="/api/v1", description="Collusion alerts")
