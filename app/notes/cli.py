"""`flask notes import|export`: notes as Markdown files with YAML front matter."""

from __future__ import annotations

from flask.cli import AppGroup

notes_cli = AppGroup("notes", help="Import and export notes as Markdown files.")
