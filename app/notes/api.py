"""JSON API for notes: GET /api/notes and GET /api/notes/<id>."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("notes_api", __name__, url_prefix="/api")
