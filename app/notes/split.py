"""Splitting a note into updates.

A heading, or a short line ending in ":" on its own ("Regional Campaign Updates:"), starts a
section. Inside a section, a top-level or second-level list item whose lead names a region
("Asia (@rina)", "West Africa:", "Kenya - ...") starts an update of its own, and everything
nested under it belongs to it. Other lines belong to the section they are in. Sections and
updates without any text are dropped.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from app.taxonomy.services import HANDLE

from .render import FENCE, INDENT, normalize

HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
ITEM = re.compile(r"^(?P<indent>(?:    )*)(?:-|\d{1,3}[.)]) (?P<text>.*)$")
LEAD_END = re.compile(r"\s*(?:[:(—–]|\s-\s|$)")
PARTS = re.compile(r"\s*(?:/|&|,|\band\b|\bet\b|\by\b)\s*", re.IGNORECASE)
EMPHASIS = re.compile(r"(?<!\w)[*_`]+|[*_`]+(?!\w)")
MAX_LABEL = 80


@dataclasses.dataclass
class Section:
    title: str
    kind: str  # preamble | heading | label | item
    lines: list[str] = dataclasses.field(default_factory=list)
    depth: int = 0  # list depth of an item
    region_leads: list[str] = dataclasses.field(default_factory=list)  # bullets naming regions

    @property
    def body(self) -> str:
        return "\n".join(self.lines).strip("\n")

    @property
    def is_empty(self) -> bool:
        return not self.body.strip()


def lead(text: str) -> str:
    """The part of an item that may name a region: before ":", "(", " - " or a dash."""
    text = EMPHASIS.sub("", HANDLE.sub("", text)).strip()
    match = LEAD_END.search(text)
    return text[: match.start()].strip() if match else text


def names_regions(text: str, lookup: Callable[[str], object | None]) -> bool:
    """Whether the lead of `text` is one region name, or several joined by "and", "/", "&"."""
    head = lead(text)
    if not head or len(head) > MAX_LABEL:
        return False
    if lookup(head) is not None:
        return True
    parts = [part for part in PARTS.split(head) if part]
    return len(parts) > 1 and all(lookup(part) is not None for part in parts)


def item_title(text: str) -> tuple[str, str]:
    """("Kenya", "paralegals trained") from "**Kenya**: paralegals trained"."""
    text = EMPHASIS.sub("", text).strip()
    title, colon, rest = text.partition(":")
    if colon and rest.strip():
        return title.strip(), rest.strip()
    return text.rstrip(":").strip(), ""


def _is_label(line: str, following: str) -> bool:
    text = EMPHASIS.sub("", line).strip()
    return (
        text.endswith(":")
        and 1 < len(text) <= MAX_LABEL
        and not line.startswith((" ", "\t"))
        and not ITEM.match(line)
        and (not following.strip() or bool(ITEM.match(following)))
    )


def split(text: str, lookup: Callable[[str], object | None]) -> list[Section]:
    """The note's sections and region updates, in order; `lookup` names regions.

    Inside a section or bullet that itself names a region, bullets naming regions stay part
    of it (and add their regions to its tags): a region's update keeps its countries and its
    speaker, whether it came as a heading or as a pasted bullet.
    """
    lines = normalize(text).split("\n")
    sections: list[Section] = [Section("", "preamble")]
    section = sections[0]  # the heading or label section that lines go to
    items: list[Section] = []  # the open region updates, outermost first
    in_fence = False
    for number, line in enumerate(lines):
        following = lines[number + 1] if number + 1 < len(lines) else ""
        is_fence = bool(FENCE.match(line))
        if is_fence:
            in_fence = not in_fence
        if not in_fence and not is_fence:
            heading = HEADING.match(line)
            if heading or _is_label(line, following):
                title = heading.group(2) if heading else EMPHASIS.sub("", line).strip()[:-1]
                kind = "heading" if heading else "label"
                section = Section(EMPHASIS.sub("", title).strip(), kind)
                sections.append(section)
                items = []
                continue
            match = ITEM.match(line)
            if match:
                depth = len(match["indent"]) // len(INDENT)
                while items and depth <= items[-1].depth:
                    items.pop()
                if depth <= 1 and names_regions(match["text"], lookup):
                    parent = items[-1] if items else section
                    if parent.kind == "item" or names_regions(parent.title, lookup):
                        # Inside a region's update, a bullet naming a country is part of it
                        # and tags it too ("• Kenya: ..." under "• East Africa (@wanjiru)").
                        parent.region_leads.append(lead(match["text"]))
                    else:
                        title, rest = item_title(match["text"])
                        lines = [rest, ""] if rest else []
                        item = Section(title, "item", lines=lines, depth=depth)
                        sections.append(item)
                        items.append(item)
                        continue
            elif line.strip():
                while items and not line.startswith(INDENT * (items[-1].depth + 1)):
                    items.pop()
        if items:
            prefix = INDENT * (items[-1].depth + 1)
            items[-1].lines.append(line[len(prefix) :] if line.startswith(prefix) else line.strip())
        else:
            section.lines.append(line)
    kept = [s for s in sections if not s.is_empty]
    # A note of headings alone still shows them.
    return kept or [s for s in sections if s.title]
