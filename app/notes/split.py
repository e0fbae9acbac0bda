"""Splitting a note into updates.

A heading, or a short line ending in ":" on its own ("Regional Campaign Updates:"), starts a
section. Inside a section, a top-level or second-level list item whose lead names a region
("Asia (@rina)", "West Africa:", "Kenya - ...") starts an update of its own, and everything
nested under it belongs to it; so does a bullet among such items that holds only bullets naming
regions (a group the region tree does not know: "Pacific" over "Fiji: ..."). Other lines belong
to the section they are in. Sections without any text are dropped; an update keeps its title.

Items under "Action points", "Next steps" and the like are tasks for people, some of whom are
named like countries ("Chad: book the interpreters"): they are never split into updates.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence

from app.taxonomy.services import HANDLE
from app.taxonomy.services import normalize as fold

from .render import FENCE, INDENT, normalize

HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
ITEM = re.compile(r"^(?P<indent>(?:    )*)(?:-|\d{1,3}[.)]) (?P<text>.*)$")
LEAD_END = re.compile(r"\s*(?:[:(—–]|\s-\s|$)")
# Where an item's title ends and its text starts: "Kenya: ...", "Tanzania - ...", "Asia — ...".
TITLE_END = re.compile(r"[ \t]*(?::|[ \t]-[ \t]|[—–])[ \t]*")
EMPHASIS = re.compile(r"(?<!\w)[*_`]+|[*_`]+(?!\w)")
MAX_LABEL = 80
# Small words inside the names of places ("Bay of Bengal", "Middle East & Maghreb").
PLACE_NAME_LINKS = frozenset(
    {"and", "of", "the", "&", "/", "y", "et", "e", "de", "del", "du", "des", "do", "da"}
)
# Titles of sections of tasks, in the languages notes are written in, alone or joined
# ("Next steps and action points").
ACTIONS = re.compile(
    r"action(?:s| points?| items?)?|next steps?|follow[- ]?ups?|to[- ]?dos?|tasks|"
    r"prochaines etapes|actions a (?:mener|suivre)|suivi|"
    r"proximos pasos|acciones|tareas|proximos passos|encaminhamentos|acoes|tarefas"
)
TITLE_PARTS = re.compile(r"\s*(?:&|/|,|\band\b|\bet\b|\by\b|\be\b)\s*")

Names = Callable[[str], Sequence[int]]


@dataclasses.dataclass
class Section:
    title: str
    kind: str  # preamble | heading | label | item
    lines: list[str] = dataclasses.field(default_factory=list)
    depth: int = 0  # list depth of an item; level of a heading
    region_leads: list[str] = dataclasses.field(default_factory=list)  # bullets naming regions
    parent: Section | None = None  # for a heading or label, the heading it sits under
    # The headings or labels with nothing of their own just before this section (only the
    # sections `split` returns have them), and whether this section sits under the last.
    groups: list[Section] = dataclasses.field(default_factory=list)
    in_group: bool = False

    @property
    def body(self) -> str:
        return "\n".join(self.lines).strip("\n")

    @property
    def is_empty(self) -> bool:
        return not self.body.strip() and not (self.kind == "item" and self.title)


def lead(text: str) -> str:
    """The part of an item that may name a region: before ":", "(", " - " or a dash."""
    text = EMPHASIS.sub("", HANDLE.sub("", text)).strip()
    match = LEAD_END.search(text)
    return text[: match.start()].strip() if match else text


def names_person(text: str) -> bool:
    """Whether an item starts with a person's name: "Georgia (@georgia_w): circulate ...", a
    one-word lead followed at once by a handle that starts with it."""
    text = EMPHASIS.sub("", text).strip()
    handle = HANDLE.search(text)
    head = lead(text)
    if handle is None or len(head.split()) != 1:
        return False  # no region of several words is also someone's first name
    if fold(text[: handle.start()].rstrip(" \t(:-–—")) != fold(head):
        return False
    return fold(handle.group(1)).startswith(fold(head))


def names_regions(text: str, names: Names) -> bool:
    """Whether the lead of `text` is one region name, or several joined by "and", "/", "&"."""
    head = lead(text)
    if not head or len(head) > MAX_LABEL or names_person(text):
        return False
    return bool(names(head))


def item_title(text: str) -> tuple[str, str]:
    """("Kenya", "paralegals trained") from "**Kenya**: paralegals trained", and likewise at
    " - " or a dash; emphasis is kept in the text ("**Kenya:** the *new* act")."""
    for match in TITLE_END.finditer(text):
        before = text[: match.start()]
        if before.count("(") != before.count(")"):
            continue  # inside "(...)": "Asia (@rina: chair)"
        title = EMPHASIS.sub("", before).strip()
        if not title:
            continue
        rest = text[match.end() :].strip()
        opened = EMPHASIS.findall(before)
        if len(opened) % 2:  # the title's emphasis spans the separator: "**Kenya:** ..."
            marker = opened[-1]
            rest = rest[len(marker) :].lstrip() if rest.startswith(marker) else marker + rest
        return title, rest
    return EMPHASIS.sub("", text).strip().rstrip(":").strip(), ""


def _is_label(line: str, following: str) -> bool:
    text = EMPHASIS.sub("", line).strip()
    return (
        text.endswith(":")
        and 1 < len(text) <= MAX_LABEL
        and not line.startswith((" ", "\t"))
        and not ITEM.match(line)
        and (not following.strip() or bool(ITEM.match(following)))
    )


def _is_actions(section: Section) -> bool:
    parts = TITLE_PARTS.split(fold(section.title).strip(" .:"))
    return any(ACTIONS.fullmatch(part) for part in parts)


def _is_place_like(text: str) -> bool:
    """Whether an item reads like the name of a place: a few capitalised words ("Pacific",
    "Great Lakes", "Middle East & Maghreb"), not a sentence ("Thanks to all")."""
    words = lead(text).split()
    return 0 < len(words) <= 5 and all(
        word[0].isupper() or word in PLACE_NAME_LINKS for word in words
    )


def _holds_only_regions(lines: list[str], number: int, depth: int, names: Names) -> bool:
    """Whether the item on line `number` holds bullets, all of which name regions."""
    children = 0
    for line in lines[number + 1 :]:
        match = ITEM.match(line)
        if match:
            child_depth = len(match["indent"]) // len(INDENT)
            if child_depth <= depth:
                break
            if child_depth == depth + 1:
                if not names_regions(match["text"], names):
                    return False
                children += 1
        elif line.strip() and not line.startswith(INDENT * (depth + 1)):
            break
    return children > 0


def split(text: str, names: Names) -> list[Section]:
    """The note's sections and region updates, in order; `names` gives the regions a text
    consists of ([] if it is not only region names).

    Inside a section or bullet that itself names a region, bullets naming regions stay part
    of it (and add their regions to its tags): a region's update keeps its countries and its
    speaker, whether it came as a heading or as a pasted bullet.
    """
    lines = normalize(text).split("\n")
    sections: list[Section] = [Section("", "preamble")]
    section = sections[0]  # the heading or label section that lines go to
    headings: list[Section] = []  # the open headings, outermost first
    items: list[Section] = []  # the open region updates, outermost first
    region_siblings: set[int] = set()  # depths at which the open list has region updates
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
                level = len(heading.group(1)) if heading else 7
                while headings and headings[-1].depth >= level:
                    headings.pop()
                parent = headings[-1] if headings else None
                kind = "heading" if heading else "label"
                section = Section(EMPHASIS.sub("", title).strip(), kind, depth=level)
                section.parent = parent
                sections.append(section)
                if heading:
                    headings.append(section)
                items = []
                region_siblings = set()
                continue
            match = ITEM.match(line)
            if match:
                depth = len(match["indent"]) // len(INDENT)
                while items and depth <= items[-1].depth:
                    items.pop()
                region_siblings = {d for d in region_siblings if d <= depth}
                is_region = depth <= 1 and names_regions(match["text"], names)
                if (is_region or depth in region_siblings) and not _is_actions(section):
                    parent = items[-1] if items else section
                    in_region = parent.kind == "item" or names_regions(parent.title, names)
                    if is_region:
                        if in_region:
                            # Inside a region's update, a bullet naming a country is part of
                            # it and tags it ("• Kenya: ..." under "• East Africa (@wanjiru)").
                            parent.region_leads.append(lead(match["text"]))
                        else:
                            items.append(_start_item(sections, match["text"], depth))
                            region_siblings.add(depth)
                            continue
                    elif (
                        not in_region
                        and depth in region_siblings
                        and _is_place_like(match["text"])
                        and _holds_only_regions(lines, number, depth, names)
                    ):
                        items.append(_start_item(sections, match["text"], depth))
                        continue
            elif line.strip():
                while items and not line.startswith(INDENT * (items[-1].depth + 1)):
                    items.pop()
                region_siblings = set() if not line.startswith(" ") else region_siblings
        if items:
            prefix = INDENT * (items[-1].depth + 1)
            items[-1].lines.append(line[len(prefix) :] if line.startswith(prefix) else line.strip())
        else:
            section.lines.append(line)
    kept = _grouped(sections)
    # A note of headings alone still shows them.
    return kept or [s for s in sections if s.title]


def _grouped(sections: list[Section]) -> list[Section]:
    """The sections with something in them, each with the empty headings and labels before it
    ("## Regional updates", "Regional Campaign Updates:"), which group what follows: a heading
    while it is the parent of the headings after it, a label until the next heading."""
    kept: list[Section] = []
    pending: list[Section] = []
    group: Section | None = None
    for section in sections:
        if section.is_empty:
            if section.title and section.kind in ("heading", "label"):
                pending.append(section)
            continue
        if pending:
            section.groups, pending = pending, []
            group = section.groups[-1]
        if group is not None and _ends(group, section):
            group = None
        section.in_group = group is not None
        kept.append(section)
    return kept


def _ends(group: Section, section: Section) -> bool:
    """Whether `section` is no longer under `group`: a heading not below it, a label after a
    label's group, the preamble."""
    if section.kind == "heading":
        return not _is_under(section, group)
    return section.kind == "preamble" or (section.kind == "label" and group.kind == "label")


def _is_under(section: Section, group: Section) -> bool:
    parent = section.parent
    while parent is not None:
        if parent is group:
            return True
        parent = parent.parent
    return False


def _start_item(sections: list[Section], text: str, depth: int) -> Section:
    title, rest = item_title(text)
    item = Section(title, "item", lines=[rest, ""] if rest else [], depth=depth)
    sections.append(item)
    return item
