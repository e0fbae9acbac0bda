"""Imports every domain's models so that Base.metadata knows the whole schema."""

from __future__ import annotations


def import_all_models() -> None:
    from app import cache  # noqa: F401
    from app.auth import models as auth_models  # noqa: F401
    from app.calls import models as calls_models  # noqa: F401
    from app.mail import models as mail_models  # noqa: F401
    from app.notes import models as notes_models  # noqa: F401
    from app.scheduler import models as scheduler_models  # noqa: F401
    from app.taxonomy import models as taxonomy_models  # noqa: F401
