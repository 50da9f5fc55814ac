"""Credit API (filled in by the credit work)."""

from flask_smorest import Blueprint

blp = Blueprint("credit", __name__, url_prefix="/api/v1", description="Subjects and credit")
public_blp = Blueprint(
    "public",
    __name__,
    url_prefix="/api/v1/public",
    description="Public credit view (政务公开), no token",
)
