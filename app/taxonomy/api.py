"""JSON API: GET /api/regions and GET /api/people."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("taxonomy_api", __name__, url_prefix="/api")
