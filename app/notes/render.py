"""Markdown to safe HTML, on write: Python-Markdown with chosen extensions, then nh3 (Ammonia).

Extensions: tables, fenced code, sane lists and heading ids (toc) for anchors. attr_list and raw
HTML are not trusted: whatever Markdown lets through, nh3 keeps only the allow-list below, links
only to http, https and mailto, each with rel="nofollow noopener".

Text pasted from documents often uses "•" bullets and irregular indentation; `normalize` turns
every bullet into a Markdown list item nested by its indentation, so both shapes of notes render
and split the same way.
"""

from __future__ import annotations

import re
import threading
from html import unescape

import markdown
import nh3
from markdown.extensions.toc import TocExtension

from app.taxonomy.services import slugify

BULLET = re.compile(
    r"^(?P<indent>[ \t]*)(?P<marker>[•◦▪‣●○■·\uf0b7\uf0a7\-*+]|\d{1,3}[.)])[ \t]+(?P<text>\S.*)$"
)
# Word's second- and third-level bullets, pasted as text: "o" and "§" then a tab. A letter "o"
# or a "§" followed by one space is a bullet only where a list goes on ("  o Kenya" under a
# bullet), so that "o relatório ..." or "§ 3 of the Act" stay text.
WORD_BULLET = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>[o§])(?P<gap>[ \t]+)(?P<text>\S.*)$")
# Without indentation, Word's levels show only in the marker: "o" under "●", "§" under "o".
WORD_LEVEL = {"o": 1, "§": 2, "\uf0a7": 2}
TAG = re.compile(r"<[^>]*>")
FENCE = re.compile(r"^[ \t]*(```|~~~)")
INDENT = "    "

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "ol": {"start"},
    **{f"h{level}": {"id"} for level in range(1, 7)},
}
URL_SCHEMES = {"http", "https", "mailto"}


def _width(indent: str) -> int:
    return len(indent.replace("\t", INDENT))


def bullet(line: str, in_list: bool = False) -> re.Match[str] | None:
    """The bullet that `line` starts with, if any; `in_list`: the line before was in a list."""
    match = BULLET.match(line)
    if match is None:
        match = WORD_BULLET.match(line)
        if match and not ("\t" in match["gap"] or len(match["gap"]) > 1):
            match = match if (in_list and match["indent"]) else None
    return match


def normalize(text: str) -> str:
    """Markdown with every bullet ("•", "-", "*", "1.") as a list item nested by indentation."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    stack: list[int] = []  # indentation widths of the open list levels
    in_fence = False
    for line in lines:
        if FENCE.match(line):
            in_fence = not in_fence
            out.append(line)
            continue
        if in_fence:
            out.append(line)
            continue
        match = bullet(line, bool(stack))
        if match and not line.lstrip().startswith(("---", "***", "* * *")):
            width = _width(match["indent"]) + WORD_LEVEL.get(match["marker"], 0)
            while stack and width < stack[-1]:
                stack.pop()
            if not stack or width > stack[-1]:
                stack.append(width)
            previous = out[-1] if out else ""
            after_paragraph = previous.strip() and not previous.startswith(INDENT)
            if len(stack) == 1 and after_paragraph and not bullet(previous):
                out.append("")  # Markdown needs a blank line between a paragraph and a list
            marker = match["marker"]
            marker = marker if marker[0].isdigit() else "-"
            out.append(f"{INDENT * (len(stack) - 1)}{marker} {match['text'].rstrip()}")
            continue
        if not line.strip():
            out.append("")
            continue
        width = _width(line[: len(line) - len(line.lstrip())])
        if stack and width > 0:
            # A continuation of the innermost item it is indented under.
            while stack and width < stack[-1]:
                stack.pop()
            out.append(f"{INDENT * max(len(stack), 1)}{line.strip()}")
            continue
        if stack and out and out[-1].strip():
            out.append("")  # an unindented line after a list starts a new paragraph
        stack = []
        out.append(line.rstrip())
    return "\n".join(out)


URL_ATTRIBUTES = {"href", "src"}
SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")
INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    """Drop URLs whose scheme, once the spaces and control characters that browsers or
    readers might skip are removed, is not an allowed one ("java script:...")."""
    if attribute not in URL_ATTRIBUTES:
        return value
    compact = INVISIBLE.sub("", unescape(value)).lower()
    scheme = SCHEME.match(compact)
    if scheme and scheme.group(1) not in URL_SCHEMES:
        return None
    return value


def sanitize(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener",
        strip_comments=True,
        attribute_filter=_filter_attribute,
    )


_local = threading.local()


def _markdown() -> markdown.Markdown:
    """This thread's converter (building one costs more than converting a short text)."""
    converter = getattr(_local, "markdown", None)
    if converter is None:
        converter = _local.markdown = _new_markdown()
    return converter.reset()


def _new_markdown() -> markdown.Markdown:
    return markdown.Markdown(
        extensions=[
            "tables",
            "fenced_code",
            "sane_lists",
            TocExtension(slugify=lambda value, separator: slugify(value), toc_depth="1-6"),
        ],
        output_format="html",
    )


def render(text: str) -> str:
    """Sanitized HTML for Markdown `text` (bullets normalized first)."""
    return sanitize(_markdown().convert(normalize(text)))


def plain_text(html: str) -> str:
    """The text of (sanitized) HTML, for search and summaries."""
    return " ".join(unescape(TAG.sub(" ", html)).split())
