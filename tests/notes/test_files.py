"""Reading and writing note files (front matter and body), without the database."""

from __future__ import annotations

import datetime as dt

import pytest

from app.notes.files import CallRef, FileError, NoteFile, dump, parse

FULL = """\
---
title: "Community paralegals: the courts"
slug: paralegals
status: published
language: FR
call:
  series: coalition-call
  date: 2026-03-10
recording: https://media.example.org/calls/march
tags:
  asia:
    regions:
      add: [indonesia]
      remove:
    speakers:
      remove: ["@Rina"]
published: 2026-03-11T15:00:00Z
---

## Asia (@Rina)
- Workshop in Bandung.
"""


def test_parse_every_key() -> None:
    note = parse(FULL, "ignored-stem")
    assert note == NoteFile(
        title="Community paralegals: the courts",
        slug="paralegals",
        body="## Asia (@Rina)\n- Workshop in Bandung.\n",
        status="published",
        language="fr",
        call=CallRef("coalition-call", dt.date(2026, 3, 10)),
        recording="https://media.example.org/calls/march",
        tags={
            "asia": {
                "regions": {"add": ["indonesia"], "remove": []},
                "speakers": {"remove": ["@Rina"]},
            }
        },
        published=dt.datetime(2026, 3, 11, 15, 0, tzinfo=dt.UTC),
    )
    assert (note.line("status"), note.line("call", "date"), note.line("tags", "asia")) == (4, 8, 11)
    assert note.line("call", "series", "nothing") == 7 and note.line("nothing") == 1
    assert note.line("body") == 20


def test_defaults_and_the_body() -> None:
    note = parse("---\ntitle:   A   note \n---\nNo blank line first.", "march-call")
    assert (note.title, note.slug, note.status, note.language) == (
        "A note",
        "march-call",
        "draft",
        "en",
    )
    assert (note.call, note.call_id, note.recording, note.tags, note.published) == (
        None, None, "", {}, None,
    )  # fmt: skip
    assert note.body == "No blank line first."
    assert note.line("body") == 4
    # One blank line after the front matter is not part of the body; others are. Windows line
    # ends and a byte-order mark are accepted.
    assert parse("---\ntitle: T\n---\n\n\nText\n", "t").body == "\nText\n"
    assert parse("\ufeff---\r\ntitle: T\r\n---\r\n\r\nText\r\n", "t").body == "Text\n"
    assert parse("---\ntitle: T\n---\n", "t").body == ""
    assert parse("---\ntitle: T\ncall_id: 7\ntags:\n---\n", "t").call_id == 7
    assert parse(
        "---\ntitle: T\ncall: {series: S, date: '2026-03-10'}\n---\n", "t"
    ).call == CallRef("s", dt.date(2026, 3, 10))


def test_dump_writes_a_fixed_form() -> None:
    note = parse(FULL, "ignored-stem")
    assert dump(note, "paralegals") == (
        "---\n"
        "title: 'Community paralegals: the courts'\n"
        "status: published\n"
        "language: fr\n"
        "call:\n"
        "  series: coalition-call\n"
        "  date: 2026-03-10\n"
        "recording: https://media.example.org/calls/march\n"
        "tags:\n"
        "  asia:\n"
        "    regions:\n"
        "      add:\n"
        "        - indonesia\n"
        "    speakers:\n"
        "      remove:\n"
        "        - '@Rina'\n"
        "published: 2026-03-11T15:00:00Z\n"
        "---\n"
        "\n"
        "## Asia (@Rina)\n"
        "- Workshop in Bandung.\n"
    )
    # The slug is written when it is not the file's name.
    assert "\nslug: paralegals\n" in dump(note, "other-name")


@pytest.mark.parametrize(
    "note",
    [
        NoteFile(title="Plain", slug="plain"),
        NoteFile(
            title="Ünïcode — «quotes» and 'apostrophes': @handle # not a comment",
            slug="unicode",
            body="\n\n  Leading blank lines and spaces, no final newline",
            status="published",
            language="sw",
            call_id=42,
            tags={"2027": {"speakers": {"add": ["ade"]}}, "kenya": {"regions": {"remove": ["x"]}}},
            published=dt.datetime(
                2026, 3, 11, 10, 0, 0, 999, tzinfo=dt.timezone(-dt.timedelta(hours=5))
            ),
        ),
        NoteFile(title="yes", slug="yes", body="---\nA body with a rule.\n---\n", language="ar"),
        NoteFile(title="2026-03-10", slug="dated", recording="https://example.org/a?b=c#d"),
    ],
)
def test_dump_then_parse_gives_the_note_back(note: NoteFile) -> None:
    text = dump(note, note.slug)
    again = parse(text, note.slug)
    expected = note.published.replace(microsecond=0) if note.published else None
    assert again.published == expected
    note.published = expected
    assert again == note
    assert dump(again, note.slug) == text


def fails(text: str, stem: str = "note") -> tuple[int, str]:
    with pytest.raises(FileError) as caught:
        parse(text, stem)
    return caught.value.line, str(caught.value)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("title: T\n---\n", 1, "a note file must begin with a --- line"),
        ("", 1, "a note file must begin with a --- line"),
        ("---\ntitle: T\n\nBody\n", 1, "the front matter has no closing --- line"),
        ("---\n- title\n---\n", 2, "the front matter must be keys and values"),
        ("---\n---\nBody\n", 1, "title is required"),
        ("---\nstatus: draft\n---\n", 1, "title is required"),
        ("---\nstatus: draft\ntitle: ''\n---\n", 3, "title must have 1 to 200 characters"),
        ("---\ntitle: 2026\n---\n", 2, "title must be text"),
        (f"---\ntitle: {'x' * 201}\n---\n", 2, "title must have 1 to 200 characters"),
    ],
)
def test_errors_name_the_line(text: str, line: int, message: str) -> None:
    found_line, found_message = fails(text)
    assert (found_line, found_message[: len(message)]) == (line, message)


CALL = "call:\n  series: s\n"
TAGS = "tags:\n  asia:\n"


@pytest.mark.parametrize(
    ("front", "line", "message"),
    [
        ("status: draft: published\n", 3, "invalid YAML: mapping values are not allowed here"),
        ("tags: {asia: [\n", 3, "invalid YAML:"),
        ("\n- a list\n", 4, "invalid YAML:"),
        ("author: me\n", 3, "unknown key 'author'; the keys are title, slug, status,"),
        ("title: U\n", 3, "title is given twice"),
        ("language: en\nstatus: final\n", 4, "status must be draft or published"),
        ("status: Published\n", 3, "status must be draft or published"),
        ("language: de\n", 3, "language must be one of en, es, fr, pt, ar, id, sw"),
        ("slug: March Call\n", 3, "slug must be lowercase letters and digits"),
        ("slug: march--call\n", 3, "slug must be lowercase letters and digits"),
        ("call: coalition-call\n", 3, "call must be a series and a date"),
        (CALL + "  day: 2026-03-10\n", 5, "unknown key 'day' in call"),
        ("call:\n  date: 2026-03-10\n", 3, "call.series must be the slug of a series"),
        (CALL + "  date: March\n", 5, "call.date must be a date such as 2026-03-10"),
        (CALL + "  date: 2026-02-30\n", 5, "2026-02-30 is not a date"),
        (CALL + "  date: 2026-02-03 10:00\n", 5, "call.date must be a date"),
        (CALL + "  date: 2026-03-10\ncall_id: 3\n", 6, "give call or call_id, not both"),
        ("call_id: three\n", 3, "call_id must be a call's number"),
        ("call_id: true\n", 3, "call_id must be a call's number"),
        ("call_id: 0\n", 3, "call_id must be a call's number"),
        ("recording: ftp://example.org/a\n", 3, "recording must be an http://"),
        ("recording: [a]\n", 3, "recording must be an http://"),
        ("tags: [asia]\n", 3, "tags must map update anchors to changes"),
        ("tags: asia\n", 3, "tags must map update anchors to changes"),
        ("tags:\n  asia: [indonesia]\n", 4, "tags.asia must have regions, mentions or speakers"),
        (TAGS + "    places: {}\n", 5, "tags.asia: unknown key 'places'"),
        (TAGS + "    regions: [indonesia]\n", 5, "tags.asia.regions must have add"),
        (TAGS + "    regions:\n      plus: [x]\n", 6, "tags.asia.regions: unknown key 'plus'"),
        (TAGS + "    regions:\n      add: asia\n", 6, "tags.asia.regions.add must be a list of"),
        (TAGS + "    speakers:\n      add: [1]\n", 6, "tags.asia.speakers.add must be a list of"),
        ("published: yesterday\n", 3, "published must be a date and time"),
        ("published: 2026-03-10\n", 3, "published must be a date and time"),
        ("published: 2026-03-10T15:00:00\n", 3, "published must give its time zone"),
        ("published: '2026-03-10 15:00'\n", 3, "published must give its time zone"),
    ],
)
def test_errors_in_values_name_their_line(front: str, line: int, message: str) -> None:
    found_line, found_message = fails(f"---\ntitle: T\n{front}---\nBody\n")
    assert (found_line, found_message[: len(message)]) == (line, message)


def test_the_file_name_is_the_slug_unless_one_is_given() -> None:
    assert fails("---\ntitle: T\n---\n", "March Call") == (
        1,
        "the file name is not a slug (lowercase letters and digits, in words joined by single "
        "hyphens): rename the file or give a slug: key",
    )
    assert parse("---\ntitle: T\nslug: march-call\n---\n", "March Call").slug == "march-call"
