"""Expert pool and draw API."""

from flask_smorest import Blueprint

blp = Blueprint("experts", __name__, url_prefix="/api/v1", description="Experts and draws")
