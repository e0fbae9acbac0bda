"""The message catalog is complete: every string marked for translation is in it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "app" / "translations"


def _msgids(path: Path) -> set[str]:
    with path.open("rb") as handle:
        return {str(message.id) for message in read_po(handle) if message.id}


def test_catalog_matches_the_source(tmp_path: Path) -> None:
    extracted = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-o", str(extracted), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    source = _msgids(extracted)
    assert len(source) > 20
    missing = source - _msgids(TRANSLATIONS / "messages.pot")
    assert not missing, f"run `make translations-update`; missing: {sorted(missing)}"
    for catalog in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        assert not source - _msgids(catalog), f"{catalog} is behind the template"
