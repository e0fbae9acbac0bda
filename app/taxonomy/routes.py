"""Region and speaker pages; the admin page for regions and aliases."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("taxonomy", __name__, template_folder="templates")
