"""Atom (RFC 4287) documents of published notes: a pure serializer, plain data in, bytes out.

A small ElementTree writer rather than feedgen: feedgen pulls in lxml, stamps `<updated>` and a
generator with the time of the build unless told otherwise, and its last release is from 2023;
these feeds need a dozen elements, written in a fixed order so that the same data gives the same
bytes (the ETag is a hash of them).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Sequence

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclasses.dataclass(frozen=True)
class Category:
    term: str
    label: str


@dataclasses.dataclass(frozen=True)
class Entry:
    id: str  # a tag: URI that survives changes of title or slug
    title: str
    url: str  # the page (and anchor) of the note or update
    updated: dt.datetime
    published: dt.datetime | None
    html: str  # sanitized HTML, written as escaped text (type="html")
    language: str = ""
    categories: Sequence[Category] = ()


@dataclasses.dataclass(frozen=True)
class AtomFeed:
    id: str
    title: str
    subtitle: str
    self_url: str
    page_url: str
    author: str
    updated: dt.datetime  # the latest entry's; a fixed date for an empty feed
    entries: Sequence[Entry] = ()


def timestamp(moment: dt.datetime) -> str:
    """An RFC 3339 date-time in UTC, to the second."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = text
    return element


def build(feed: AtomFeed) -> bytes:
    """The feed as a UTF-8 XML document."""
    root = ET.Element("feed", {"xmlns": ATOM_NS})
    _text(root, "id", feed.id)
    _text(root, "title", feed.title)
    if feed.subtitle:
        _text(root, "subtitle", feed.subtitle)
    _text(root, "updated", timestamp(feed.updated))
    ET.SubElement(root, "link", {"rel": "self", "href": feed.self_url})
    ET.SubElement(root, "link", {"rel": "alternate", "type": "text/html", "href": feed.page_url})
    author = ET.SubElement(root, "author")
    _text(author, "name", feed.author)
    for item in feed.entries:
        entry = ET.SubElement(root, "entry", {XML_LANG: item.language} if item.language else {})
        _text(entry, "id", item.id)
        _text(entry, "title", item.title)
        _text(entry, "updated", timestamp(item.updated))
        if item.published is not None:
            _text(entry, "published", timestamp(item.published))
        ET.SubElement(entry, "link", {"rel": "alternate", "type": "text/html", "href": item.url})
        for category in item.categories:
            ET.SubElement(entry, "category", {"term": category.term, "label": category.label})
        _text(entry, "content", item.html, type="html")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
