"""Pages that belong to no single domain: home, language choice, the API's index."""

from .routes import bp

__all__ = ["bp"]
