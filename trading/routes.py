"""Tender and bid API."""

from flask_smorest import Blueprint

blp = Blueprint("tenders", __name__, url_prefix="/api/v1", description="Tenders and bids")
