"""Notes as Markdown files with YAML front matter: reading and writing them, without the database.

A file is a `---` line, the front matter (YAML), a `---` line, then the note's Markdown body:

    ---
    title: Community paralegals and the courts
    status: published
    call:
      series: coalition-call
      date: 2026-03-10
    ---

    ## Regional updates
    ...

`parse` checks everything that can be checked without the database (keys, types, values) and
raises FileError with the line at fault: the line YAML reports, the line of the key whose value is
wrong, or line 1 for a file that does not open and close its front matter. `dump` writes a note
back in the same form, keys in a fixed order, so that dumping the same note gives the same bytes
and parsing what was dumped gives the note back. notes/README.md describes the format for people.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import yaml

from app.calls.services import CallError, check_url

from .models import NoteStatus
from .services import LANGUAGES

FENCE = "---"
# The front matter's keys, in the order `dump` writes them.
KEYS = ("title", "slug", "status", "language", "call", "call_id", "recording", "tags", "published")
CALL_KEYS = ("series", "date")
TAG_KINDS = ("regions", "mentions", "speakers")
TAG_OPS = ("add", "remove")
TAGS_FORM = "{anchor: {regions|mentions|speakers: {add: [...], remove: [...]}}}"

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_SLUG = 120  # the column's size; new notes' slugs have at most 80 characters
Path = tuple[str, ...]  # a key's place in the front matter: ("call", "date")


class FileError(ValueError):
    """A note file that cannot be imported; `line` is the line of the file at fault."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.line = line


@dataclasses.dataclass(frozen=True)
class CallRef:
    """The call of series `series` whose start, in the series' zone, falls on `date`."""

    series: str
    date: dt.date


@dataclasses.dataclass
class NoteFile:
    """What a note file says: the fields of a note, and where each key was in the file."""

    title: str
    slug: str
    body: str = ""
    status: str = NoteStatus.DRAFT.value
    language: str = "en"
    call: CallRef | None = None
    call_id: int | None = None
    recording: str = ""
    tags: dict[str, Any] = dataclasses.field(default_factory=dict)
    published: dt.datetime | None = None
    lines: dict[Path, int] = dataclasses.field(default_factory=dict, compare=False, repr=False)
    body_line: int = dataclasses.field(default=1, compare=False, repr=False)

    def line(self, *path: str) -> int:
        """The line of the key at `path` ("call", "date"), else of the nearest key above it, else
        1. "body" is the line the body starts on."""
        if path == ("body",):
            return self.body_line
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 1


# --- reading ---------------------------------------------------------------------------------


def parse(text: str, stem: str) -> NoteFile:
    """The note in `text`, the content of the file `<stem>.md`; raises FileError."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    lines = text.split("\n")
    if lines[0].rstrip() != FENCE:
        raise FileError("a note file must begin with a --- line, then its front matter", 1)
    end = next((n for n in range(1, len(lines)) if lines[n].rstrip() == FENCE), None)
    if end is None:
        raise FileError("the front matter has no closing --- line", 1)
    front = "\n".join(lines[1:end])
    body = "\n".join(lines[end + 1 :])
    body_line = end + 2
    if body.startswith("\n"):  # the blank line after the front matter is not part of the body
        body, body_line = body[1:], body_line + 1
    data, key_lines = _load(front)
    note = _check(data, key_lines, stem)
    note.body, note.body_line = body, body_line
    return note


def _line(mark: yaml.Mark | None) -> int:
    """The file's line for a position in the front matter (it starts on line 2)."""
    return mark.line + 2 if mark is not None else 1


def _load(front: str) -> tuple[Any, dict[Path, int]]:
    """The front matter's data and the line of each key; YAML errors become FileErrors."""
    loader = yaml.SafeLoader(front)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        key_lines: dict[Path, int] = {}
        _walk(loader, node, (), key_lines)
        return loader.construct_document(node), key_lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise FileError(f"invalid YAML: {exc.problem or exc.context}", _line(mark)) from None
    except yaml.YAMLError as exc:
        raise FileError(f"invalid YAML: {exc}", 1) from None
    finally:
        loader.dispose()


def _walk(loader: yaml.SafeLoader, node: yaml.Node, path: Path, key_lines: dict[Path, int]) -> None:
    """Record each mapping key's line, refuse duplicate keys (YAML would keep the last one
    silently), and find impossible dates ("2026-02-30") by their line."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            if (*path, key) in key_lines:
                raise FileError(f"{_name((*path, key))} is given twice", _line(key_node.start_mark))
            key_lines[(*path, key)] = _line(key_node.start_mark)
            _walk(loader, value_node, (*path, key), key_lines)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _walk(loader, item, path, key_lines)
    elif node.tag == "tag:yaml.org,2002:timestamp":
        try:
            loader.construct_yaml_timestamp(node)
        except ValueError as exc:
            raise FileError(f"{node.value} is not a date: {exc}", _line(node.start_mark)) from None


def _name(path: Path) -> str:
    return ".".join(path)


def _check(data: Any, key_lines: dict[Path, int], stem: str) -> NoteFile:
    """The NoteFile for the front matter's `data`; raises FileError at the line at fault."""
    note = NoteFile(title="", slug="", lines=key_lines)

    def fail(message: str, *path: str) -> FileError:
        return FileError(message, note.line(*path))

    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FileError("the front matter must be keys and values, such as title: ...", 2)
    for key in data:
        if key not in KEYS:
            raise fail(f"unknown key {key!r}; the keys are {', '.join(KEYS)}", str(key))

    title = data.get("title")
    if title is None:
        raise fail("title is required", "title")
    if not isinstance(title, str):
        raise fail("title must be text (put it in quotes)", "title")
    note.title = " ".join(title.split())
    if not note.title or len(note.title) > 200:
        raise fail("title must have 1 to 200 characters", "title")

    if "slug" in data:
        slug = data["slug"]
        if not isinstance(slug, str) or not is_slug(slug):
            raise fail(
                "slug must be lowercase letters and digits, in words joined by single hyphens, "
                "such as march-call",
                "slug",
            )
        note.slug = slug
    elif is_slug(stem):
        note.slug = stem
    else:
        raise FileError(
            "the file name is not a slug (lowercase letters and digits, in words joined by single "
            "hyphens): rename the file or give a slug: key",
            1,
        )

    status = data.get("status", NoteStatus.DRAFT.value)
    if status not in (NoteStatus.DRAFT.value, NoteStatus.PUBLISHED.value):
        raise fail("status must be draft or published", "status")
    note.status = str(status)

    language = data.get("language", "en")
    if not isinstance(language, str) or language.strip().lower() not in LANGUAGES:
        raise fail(f"language must be one of {', '.join(LANGUAGES)}", "language")
    note.language = language.strip().lower()

    if "call" in data and "call_id" in data:
        raise fail("give call or call_id, not both", "call_id")
    if "call" in data:
        note.call = _call(data["call"], fail)
    if "call_id" in data:
        call_id = data["call_id"]
        if isinstance(call_id, bool) or not isinstance(call_id, int) or not 0 < call_id < 2**31:
            raise fail("call_id must be a call's number, such as 42", "call_id")
        note.call_id = call_id

    recording = data.get("recording")
    if recording is not None:
        if not isinstance(recording, str):
            raise fail("recording must be an http:// or https:// address", "recording")
        try:
            note.recording = check_url(recording, "recording")
        except CallError:
            raise fail("recording must be an http:// or https:// address", "recording") from None

    if data.get("tags") is not None:
        note.tags = _tags(data["tags"], fail)

    published = data.get("published")
    if published is not None:
        if isinstance(published, str):
            try:
                published = dt.datetime.fromisoformat(published.strip())
            except ValueError:
                published = None
        if not isinstance(published, dt.datetime):
            raise fail(
                "published must be a date and time such as 2026-03-10T15:00:00Z", "published"
            )
        if published.utcoffset() is None:
            raise fail(
                "published must give its time zone, such as 2026-03-10T15:00:00Z (UTC) or "
                "2026-03-10T17:00:00+02:00",
                "published",
            )
        note.published = published
    return note


def _call(value: Any, fail: Any) -> CallRef:
    if not isinstance(value, dict):
        raise fail("call must be a series and a date: {series: SLUG, date: YYYY-MM-DD}", "call")
    for key in value:
        if key not in CALL_KEYS:
            raise fail(f"unknown key {key!r} in call; give series and date", "call", str(key))
    series, date = value.get("series"), value.get("date")
    if not isinstance(series, str) or not series.strip():
        raise fail("call.series must be the slug of a series", "call", "series")
    if isinstance(date, str):
        try:
            date = dt.date.fromisoformat(date.strip())
        except ValueError:
            date = None
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise fail("call.date must be a date such as 2026-03-10", "call", "date")
    return CallRef(series.strip().lower(), date)


def _tags(value: Any, fail: Any) -> dict[str, Any]:
    """Editors' corrections of the automatic tags, by update anchor; checked for shape only."""
    if not isinstance(value, dict):
        raise fail(f"tags must map update anchors to changes: {TAGS_FORM}", "tags")
    tags: dict[str, Any] = {}
    for anchor, change in value.items():
        if not isinstance(anchor, str | int) or isinstance(anchor, bool):
            raise fail(f"tags: {anchor!r} is not an update anchor", "tags")
        anchor = str(anchor)
        where = ("tags", anchor)
        if not isinstance(change, dict):
            raise fail(
                f"tags.{anchor} must have regions, mentions or speakers: {TAGS_FORM}", *where
            )
        tags[anchor] = {}
        for kind, ops in change.items():
            if kind not in TAG_KINDS:
                raise fail(
                    f"tags.{anchor}: unknown key {kind!r}; give regions, mentions or speakers",
                    *where,
                    str(kind),
                )
            if ops is None:
                continue
            if not isinstance(ops, dict):
                raise fail(f"tags.{anchor}.{kind} must have add and/or remove lists", *where, kind)
            tags[anchor][kind] = {}
            for op, items in ops.items():
                if op not in TAG_OPS:
                    raise fail(
                        f"tags.{anchor}.{kind}: unknown key {op!r}; give add or remove",
                        *where,
                        kind,
                        str(op),
                    )
                items = [] if items is None else items
                if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                    what = "region slugs" if kind == "regions" else "@handles"
                    raise fail(
                        f"tags.{anchor}.{kind}.{op} must be a list of {what}", *where, kind, op
                    )
                tags[anchor][kind][op] = items
    return tags


def is_slug(text: str) -> bool:
    """Whether `text` has the form of a note's slug: lowercase letters and digits, in words joined
    by single hyphens."""
    return len(text) <= MAX_SLUG and SLUG.fullmatch(text) is not None


# --- writing ---------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block style, lists indented under their key, times as 2026-03-10T15:00:00Z."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_datetime(dumper: yaml.SafeDumper, value: dt.datetime) -> yaml.ScalarNode:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    text = value.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", text)


_Dumper.add_representer(dt.datetime, _represent_datetime)


def dump(note: NoteFile, stem: str = "") -> str:
    """The file for `note`, to be saved as `<stem>.md` (the slug is written only when it is not
    the file's name). The same note always gives the same text."""
    front: dict[str, Any] = {"title": note.title}
    if note.slug != stem:
        front["slug"] = note.slug
    front["status"] = note.status
    front["language"] = note.language
    if note.call is not None:
        front["call"] = {"series": note.call.series, "date": note.call.date}
    elif note.call_id is not None:
        front["call_id"] = note.call_id
    if note.recording:
        front["recording"] = note.recording
    tags = _sorted_tags(note.tags)
    if tags:
        front["tags"] = tags
    if note.published is not None:
        front["published"] = note.published
    text = yaml.dump(
        front,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=4096,
    )
    return f"{FENCE}\n{text}{FENCE}\n\n{note.body}"


def _sorted_tags(tags: dict[str, Any]) -> dict[str, Any]:
    """The corrections in a fixed order, empty lists left out."""
    result: dict[str, Any] = {}
    for anchor in sorted(tags):
        entry = {}
        for kind in TAG_KINDS:
            ops = tags[anchor].get(kind) or {}
            lists = {op: list(ops[op]) for op in TAG_OPS if ops.get(op)}
            if lists:
                entry[kind] = lists
        if entry:
            result[anchor] = entry
    return result
