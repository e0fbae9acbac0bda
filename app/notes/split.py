"""Splitting a note into updates, on the block tokens of a Markdown parser (markdown-it-py).

Notes arrive in two shapes: Markdown with headings, and text pasted from a web page or a word
processor, whose headings lost their "#" and often their colon. Bullets of either shape ("•",
"o", "-", "1.") are first made Markdown list items by `render.normalize`; the text is then
parsed, and a layout model of pasted text reads its blocks:

- A Markdown heading is a title. So is a paragraph of one short line, without final
  punctuation, before a paragraph or a list, that reads like a title: title-cased ("Rome
  Conference Debrief", "World Justice Forum, Joel Martinez"), a few words ("Latin America",
  "Actualizaciones regionales"), or the name of a region or of a group of updates ("Global
  Updates"). A handle before or after it is its speaker ("South Africa VNR Workshop @rina").
- A line ending in ":" is a title only when it reads like one ("Highlights from Coalition
  Members:"); a sentence that introduces a list stays text ("@rina then talked briefly about
  some forward-looking action:").
- A title glued to the line before it ("June 2019 Coalition Call Notes Global Updates") is cut
  from it; so is a title glued to the sentence after it ("Peru Learning Exchange update @ana
  spoke about ...").
- The first line, when it names the notes themselves ("March 2019 Coalition Call Notes"), is
  the note's own title: the text under it is the opening.
- Groups: a title that names a group of updates ("Global Updates", "Regional Campaign
  Updates:") holds the plain titles after it (a region title inside a regional group, any
  topic inside a global one) until a title ending in ":", a region title after a global
  group, a closing title ("Ways to Get Involved") or a Markdown heading of its level or above.
- Inside a section that names no region, a top-level or second-level bullet whose lead names a
  region ("Asia (@rina)", "West Africa:", "Kenya - ...") starts an update of its own, with
  everything nested under it; so does a bullet among such items that holds only bullets naming
  regions (a group the region tree does not know: "Pacific" over "Fiji: ..."). Under a
  regional group's title, a top-level bullet that opens with a handle is a regional update
  even without a region's name first ("• @rina gave an update on the Asia Pro Bono
  Conference"): its region is the first one its first sentence names.
- Items under "Action points", "Next steps" and the like are tasks for people, some of whom are
  named like countries ("Chad: book the interpreters"): they are never split into updates.

Sections without any text are dropped; an update keeps its title. Everything is linear in the
size of the note: one parse, one pass over its blocks.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
from collections.abc import Callable, Iterator, Sequence

from babel import Locale
from markdown_it import MarkdownIt
from markdown_it.token import Token

from app.taxonomy.services import HANDLE
from app.taxonomy.services import normalize as fold

from .render import INDENT, normalize

LEAD_END = re.compile(r"\s*(?:[:(—–]|\s-\s|$)")
# Where an item's title ends and its text starts: "Kenya: ...", "Tanzania - ...", "Asia — ...".
TITLE_END = re.compile(r"[ \t]*(?::|[ \t]-[ \t]|[—–])[ \t]*")
EMPHASIS = re.compile(r"(?<!\w)[*_`]+|[*_`]+(?!\w)")
MAX_LABEL = 80
MAX_TITLE = 100
MAX_TITLE_WORDS = 14
SHORT_TITLE_WORDS = 4
SHORT_LABEL_WORDS = 5  # "Welcome and introductions:", "Highlights from members:"
FINAL_PUNCTUATION = tuple(".!?;,…")
# Small words inside the names of places ("Bay of Bengal", "Middle East & Maghreb").
PLACE_NAME_LINKS = frozenset(
    {"and", "of", "the", "&", "/", "y", "et", "e", "de", "del", "du", "des", "do", "da"}
)
# Words a title-cased title leaves in lower case, in the languages notes are written in.
SMALL_WORDS = frozenset(
    {
        "a", "an", "the", "of", "and", "or", "for", "to", "in", "on", "at", "by", "from",
        "with", "as", "vs", "via", "de", "del", "la", "las", "el", "los", "y", "e", "et", "du",
        "des", "le", "les", "da", "do", "das", "dos", "em", "para", "en", "sur", "au", "aux",
        "pour", "con", "por", "com", "d", "l",
    }
)  # fmt: skip
# Titles of sections of tasks, in the languages notes are written in, alone or joined
# ("Next steps and action points").
ACTIONS = re.compile(
    r"action(?:s| points?| items?)?|next steps?|follow[- ]?ups?|to[- ]?dos?|tasks|"
    r"prochaines etapes|actions a (?:mener|suivre)|suivi|"
    r"proximos pasos|acciones|tareas|proximos passos|encaminhamentos|acoes|tarefas"
)
ARTICLE = re.compile(r"^(?:the|la|le|les|el|los|las|l'|o|os|a|as)\s+", re.IGNORECASE)
TITLE_PARTS = re.compile(r"\s*(?:&|/|,|\band\b|\bet\b|\by\b|\be\b)\s*")
# Titles of groups of updates (folded): "Global Campaign Updates", "Regional Updates",
# "Actualizaciones regionales", "Mises à jour régionales", "Atualizações globais".
_UPDATES = r"(?:updates?|news|highlights|actualizaciones|novedades|noticias|nouvelles|" + (
    r"mises a jour|actualites|atualizacoes|noticias|novidades)"
)
GLOBAL_WORDS = r"(?:global|globales|globais|international|internacional(?:es)?|internationales)"
REGIONAL_WORDS = r"(?:regional|regionales|regionais|regionaux|country|national|members?)"
_GROUP = (
    rf"(?:(?:{GLOBAL_WORDS}|{REGIONAL_WORDS})(?: campaign| coalition| network)?\s+{_UPDATES}"
    rf"|{_UPDATES}\s+(?:de (?:la |l')?(?:campana|campagne|campanha)\s+)?"
    rf"(?:{GLOBAL_WORDS}|{REGIONAL_WORDS}|(?:par |por )?(?:region|pays|pais|paises)))"
)
GROUP_TITLE = re.compile(rf"^{_GROUP}$")
GLOBAL_TITLE = re.compile(rf"(?:^|\s){GLOBAL_WORDS}(?:\s|$)")
# A group title glued to the end of the line before it.
GLUED_TAIL = re.compile(rf"^(?P<head>.*\S)\s+(?P<title>{_GROUP})\s*:?$")
# A title glued to the start of the sentence after it: "Peru Learning Exchange update @ana ...".
GLUED_HEAD = re.compile(
    r"^(?P<title>(?:[A-Z0-9][\w'’&-]*\s+){1,8}[Uu]pdates?)\s+(?P<rest>(?:@|[A-Z]).*)$", re.DOTALL
)
# A paragraph that opens with a label: "Next meeting: 12 May".
INLINE_LABEL = re.compile(r"^(?P<title>[^:\n]{3,40}):\s+(?P<rest>\S.*)$", re.DOTALL)
# Closing sections, which end any group: "Ways to Get Involved", "Upcoming events".
CLOSING = re.compile(
    r"^(?:ways to (?:get )?involved?|how to get involved|get involved|upcoming events?|"
    r"other (?:news|announcements|updates|business)|announcements|next (?:call|steps?|meeting)|"
    r"aob|any other business|date of (?:the )?next (?:call|meeting)|"
    r"formas de participar|como participar|proximos eventos|otros anuncios|"
    r"comment (?:vous )?impliquer|prochains evenements|autres annonces|questions diverses|"
    r"como se envolver|outros anuncios|proximos passos)\b"
)
# A first line that names the notes themselves: "March 2019 Coalition Call Notes".
NOTE_TITLE = re.compile(
    r"\b(?:notes|minutes|notas|compte[- ]rendu|ata|summary|resumen|resume|"
    r"call|calls|llamada|appel|chamada|reunion|reuniao)\b"
)
YEAR = re.compile(r"\b(?:19|20)\d\d\b")
EMPTY_PARENTHESES = re.compile(r"\(\s*\)")
# The words after a region's name in the title of its update: "Latin America Update".
REGION_TITLE_END = re.compile(
    r"\s+(?:updates?|news|report|highlights|actualizaci[oó]n(?:es)?|novedades|nouvelles|"
    r"mise a jour|atualizac[aã]o|atualizac[oõ]es)\s*$",
    re.IGNORECASE,
)
GLUED_HANDLE = re.compile(r"(?<=[^\W\d_])@(?=[a-z0-9_][\w.-]*\b(?![.@]\w))", re.IGNORECASE)

Names = Callable[[str], Sequence[int]]

# Only the blocks are wanted: inline content is read as written, never parsed.
_parser = MarkdownIt("commonmark").enable("table").disable(["inline", "text_join"])


@dataclasses.dataclass
class Section:
    title: str
    kind: str  # note (its own title line) | preamble | heading | label | title | item
    lines: list[str] = dataclasses.field(default_factory=list)
    depth: int = 0  # list depth of an item; level of a heading (7: a label, 8: a title)
    region_leads: list[str] = dataclasses.field(default_factory=list)  # bullets naming regions
    parent: Section | None = None  # for a title, the title it sits under
    # The titles with nothing of their own just before this section (only the sections
    # `split` returns have them), and whether this section sits under the last.
    groups: list[Section] = dataclasses.field(default_factory=list)
    in_group: bool = False
    group: str = ""  # a group title's kind: "global" | "regional" | "closing" | ""
    has_list: bool = False  # whether a list was met in its own text
    # For a regional bullet whose lead names no region: the text its region is read from.
    about_text: str = ""

    @property
    def body(self) -> str:
        return "\n".join(self.lines).strip("\n")

    @property
    def is_empty(self) -> bool:
        return not self.body.strip() and not (self.kind == "item" and self.title)

    @property
    def is_actions(self) -> bool:
        return _is_actions(self)

    @property
    def is_global(self) -> bool:
        """Whether this section, or a group it sits in, reports on the whole coalition."""
        section: Section | None = self
        while section is not None:
            if section.group in ("global", "regional"):
                return section.group == "global"
            section = section.parent
        return False


# --- reading titles and leads ----------------------------------------------------------------


def lead_part(text: str) -> str:
    """An item's text before ":" or " - ", handles included: "Sahel (@issa_m)"."""
    match = re.search(r":|\s-\s|[—–]", text)
    return text[: match.start()] if match else text


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


def sentence_title(text: str) -> tuple[str, str]:
    """A regional bullet that names no region first: its first sentence (to ":" or ".") is its
    title, the rest its text."""
    match = re.search(r"[:.](?:\s|$)", text)
    if match is None or match.start() > 2 * MAX_TITLE:
        return item_title(text)
    return EMPHASIS.sub("", text[: match.start()]).strip(), text[match.end() :].strip()


def clean_title(text: str) -> str:
    """A title line as shown: emphasis removed, a handle glued to the word before it parted
    from it ("Other Announcements@rina")."""
    return GLUED_HANDLE.sub(" @", EMPHASIS.sub("", text)).strip()


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_][\w'’.-]*", HANDLE.sub(" ", text))


def is_title_cased(text: str) -> bool:
    """Whether the words of `text` are capitalised as a title's are: the first, and most of
    those that are not small words ("Ways to Get Involved", "Civil Justice Indicator Update")."""
    words = _words(text)
    if not words or not (words[0][0].isupper() or words[0][0].isdigit()):
        return False
    big = [word for word in words[1:] if word.casefold() not in SMALL_WORDS]
    if not big:
        return True
    capitalised = sum(1 for word in big if word[0].isupper() or word[0].isdigit())
    return capitalised / len(big) >= 0.75


def region_title(title: str, names: Names) -> list[int]:
    """The regions a title consists of, alone or before "Update" ("Latin America Update",
    "Kenya (@wanjiru)", "Asia (@rina: chair)"), with at most one place the tree does not know
    ("Asia and the Pacific"); [] for a title about anything else ("Kenya: paralegals
    trained", "South Africa VNR Workshop")."""
    bare = EMPTY_PARENTHESES.sub(" ", HANDLE.sub(" ", clean_title(title)))
    bare = bare.split("(", 1)[0].strip(" :.-–—,")
    if bare.lower().endswith(" by"):
        bare = bare[:-3]
    bare = REGION_TITLE_END.sub("", bare)
    if not bare:
        return []
    found = list(names(bare))
    if found:
        return found
    unknown = 0
    for part in TITLE_PARTS.split(bare):
        part = ARTICLE.sub("", part).strip()
        named = names(part) if part else []
        if named:
            found += [rid for rid in named if rid not in found]
        elif re.fullmatch(r"[A-Z][\w'-]+", part) and not unknown:
            unknown += 1
        elif part:
            return []
    return found


def group_kind(title: str, names: Names) -> str:
    """ "global", "regional", "closing" or "" for a title (as `clean_title` gives it)."""
    folded = fold(HANDLE.sub(" ", title)).strip(" .:")
    if GROUP_TITLE.match(folded):
        return "global" if GLOBAL_TITLE.search(folded) else "regional"
    if CLOSING.match(folded):
        return "closing"
    head = re.sub(r"\s+(?:campaign\s+)?(?:updates?|news)$", "", folded)
    if head != folded and head in ("global", "world", "international"):
        return "global"
    return ""


def looks_like_title(text: str, names: Names, *, strict: bool = False) -> bool:
    """Whether a stand-alone line reads as a title (see the module's docstring). `strict`: for
    the first line of a longer paragraph, which must be title-cased or a group's title."""
    text = clean_title(text)
    bare = HANDLE.sub(" ", text).strip(" \t-–—,")
    if bare.lower().endswith(" by"):
        bare = bare[:-3].strip()
    if not bare or len(bare) > MAX_TITLE or bare.endswith(FINAL_PUNCTUATION):
        return False
    if text.startswith("@") and re.match(r"@\S+\s+[a-z]", text):
        return False  # "@rina spoke about ..."
    if re.search(r"\S:\s+\S", re.sub(r"\([^)]*\)", "", text)):
        return False  # "Kenya: paralegals trained", "Facilitator: @rina": a label and its text
    words = _words(bare)
    if (
        not words
        or len(words) > MAX_TITLE_WORDS
        or not (words[0][0].isupper() or words[0][0].isdigit())
    ):
        return False
    colon = bare.endswith(":")
    bare = EMPTY_PARENTHESES.sub(" ", bare.rstrip(":")).strip()
    if group_kind(bare, names) or region_title(bare, names):
        return True
    if is_title_cased(bare):
        return True
    if strict:
        return False
    return len(words) <= (SHORT_LABEL_WORDS if colon else SHORT_TITLE_WORDS)


# --- blocks ----------------------------------------------------------------------------------


@dataclasses.dataclass
class Item:
    """A list item: its first line's text, its depth, its lines [start, end) and its items."""

    text: str
    depth: int
    start: int
    end: int
    children: list[Item] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Block:
    kind: str  # heading | paragraph | list | other
    lines: list[str]
    text: str = ""  # a heading's or paragraph's text
    level: int = 0  # a heading's
    items: list[Item] = dataclasses.field(default_factory=list)  # a list's, top level
    first: int = 0  # the number of its first line in the note
    plain: bool = False  # text that is never a title: what a glued title was cut from


def blocks(text: str) -> list[Block]:
    """The note's top-level blocks, each with its source lines."""
    lines = text.split("\n")
    tokens = _parser.parse(text)
    found: list[Block] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.level != 0 or token.map is None or token.nesting == -1:
            index += 1
            continue
        start, end = token.map
        source = lines[start:end]
        if token.type == "heading_open":
            found.append(Block("heading", source, tokens[index + 1].content, int(token.tag[1:])))
        elif token.type == "paragraph_open":
            found.append(Block("paragraph", source, tokens[index + 1].content))
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            items, index = _items(tokens, index)
            found.append(Block("list", source, items=items))
            found[-1].first = start
            continue
        else:
            found.append(Block("other", source))
        found[-1].first = start
        index = _close(tokens, index)
    return found


def _close(tokens: list[Token], index: int) -> int:
    """The index after the block opened at `index`."""
    token = tokens[index]
    if token.nesting != 1:
        return index + 1
    depth = 0
    while index < len(tokens):
        depth += tokens[index].nesting
        index += 1
        if depth == 0:
            return index
    return index


def _items(tokens: list[Token], index: int) -> tuple[list[Item], int]:
    """The items of the list opened at `index`, nested; and the index after the list."""
    top: list[Item] = []
    stack: list[Item] = []
    depth = 0
    while index < len(tokens):
        token = tokens[index]
        depth += token.nesting
        if token.type == "list_item_open" and token.map is not None:
            item = Item("", len(stack), token.map[0], token.map[1])
            (stack[-1].children if stack else top).append(item)
            stack.append(item)
        elif token.type == "list_item_close":
            stack.pop()
        elif token.type == "inline" and stack and not stack[-1].text:
            stack[-1].text = token.content.split("\n", 1)[0]
        index += 1
        if depth == 0:
            break
    return top, index


def _unglued(found: list[Block], names: Names) -> Iterator[Block]:
    """The blocks with each glued title cut from its paragraph."""
    for block in found:
        if block.kind != "paragraph":
            yield block
            continue
        first = block.text.split("\n", 1)[0]
        tail = GLUED_TAIL.match(fold(first)) if len(block.lines) == 1 else None
        # The title's words are the line's last ones (folding may change a word's length).
        words = first.split()
        size = len(tail["title"].split()) if tail is not None else 0
        title = " ".join(words[-size:]) if size else ""
        if tail is not None and looks_like_title(title, names):
            head = " ".join(words[:-size])
            yield dataclasses.replace(block, lines=[head], text=head, plain=True)
            yield dataclasses.replace(block, lines=[title], text=title)
            continue
        inline = INLINE_LABEL.match(block.text)
        if inline is not None and CLOSING.match(fold(inline["title"])):
            # "Next meeting: 12 May at 14:00 UTC (@lucia_f)"
            yield dataclasses.replace(block, lines=[inline["title"]], text=inline["title"])
            rest = inline["rest"]
            yield dataclasses.replace(
                block, lines=[rest.split("\n", 1)[0], *block.lines[1:]], text=rest
            )
            continue
        glued = GLUED_HEAD.match(block.text)
        if (
            glued is not None
            and is_title_cased(glued["title"].rsplit(None, 1)[0])
            and len(_words(glued["rest"])) >= 3
        ):
            rest = glued["rest"]
            yield dataclasses.replace(block, lines=[glued["title"]], text=glued["title"])
            source = [rest.split("\n", 1)[0], *block.lines[1:]]
            yield dataclasses.replace(block, lines=source, text=rest)
            continue
        yield from _titled_lines(block, names)


def _titled_lines(block: Block, names: Names) -> Iterator[Block]:
    """The paragraph, with each line in it that is a title directly above its text (no blank
    line between them) made a block of its own: a title-cased line, or a short line above one at
    least twice as long (pasted paragraphs are one line each, not wrapped)."""
    texts = block.text.split("\n")
    cuts = [0]
    for number, line in enumerate(texts[:-1]):
        following = texts[number + 1]
        if looks_like_title(line, names, strict=len(line) * 2 > len(following)):
            cuts += [number, number + 1]
    cuts.append(len(texts))
    if len(cuts) == 2:
        yield block
        return
    for start, end in itertools.pairwise(cuts):
        if start < end:
            text = "\n".join(texts[start:end])
            yield dataclasses.replace(block, lines=block.lines[start:end], text=text)


# --- splitting -------------------------------------------------------------------------------


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


def _opens_with_handle(text: str) -> bool:
    """ "@rina gave an update on the Asia Pro Bono Conference": a regional update whose region
    title is missing, given by someone."""
    match = HANDLE.match(EMPHASIS.sub("", text).strip())
    return match is not None


@functools.cache
def _month_names() -> frozenset[str]:
    """Month names, folded, in the languages notes are written in (from CLDR, through Babel)."""
    names = set()
    for code in ("en", "es", "fr", "pt"):
        for width in ("wide", "abbreviated"):
            names |= {
                fold(n).strip(".") for n in Locale.parse(code).months["format"][width].values()
            }
    return frozenset(name for name in names if len(name) > 2)


def _is_note_title(block: Block, names: Names) -> bool:
    """Whether the first block opens with the note's own title ("June 2019 Coalition Call
    Notes", "Coalition call – 11 September", "# Asia-Pacific regional call — notes"): a line
    naming the call or its notes, or dated, that is not a group's title; in Markdown, a
    top-level heading only."""
    if block.kind != "paragraph" and not (block.kind == "heading" and block.level == 1):
        return False
    first = block.text.split("\n", 1)[0]
    folded = fold(first)
    if (
        len(first) > MAX_TITLE
        or first.rstrip().endswith(FINAL_PUNCTUATION)
        or group_kind(first, names)
    ):
        return False
    words = set(re.findall(r"\w+", folded))
    return bool(NOTE_TITLE.search(folded) or YEAR.search(folded) or words & _month_names())


class _Splitter:
    def __init__(self, names: Names, places: Names) -> None:
        self.names = names
        self.places = places
        self.sections: list[Section] = [Section("", "preamble")]
        self.section = self.sections[0]  # the titled section that text goes to
        self.headings: list[Section] = []  # the open titles, outermost first

    def title(self, text: str, kind: str, level: int) -> None:
        title = clean_title(text)
        if kind == "label":
            title = title.rstrip(":").rstrip()
        group = group_kind(title, self.names)
        if kind != "heading":
            level = self._pasted_level(title, kind, group)
        while self.headings and (
            self.headings[-1].depth >= level or (group and self.headings[-1].group)
        ):
            self.headings.pop()  # a group of updates never sits inside another
        section = Section(title, kind, depth=level, group=group)
        section.parent = self.headings[-1] if self.headings else None
        self.sections.append(section)
        self.headings.append(section)
        self.section = section

    def _pasted_level(self, title: str, kind: str, group: str) -> int:
        """7 for a title at the top of pasted notes, 8 for one inside an open group."""
        if kind == "label" or group:
            return 7
        group_section = next((s for s in reversed(self.headings) if s.depth == 7), None)
        open_group = group_section.group if group_section is not None else ""
        if open_group == "global" and group_section is not None and group_section.has_list:
            return 7  # its global updates were its list: a topic after it is one of its own
        if open_group == "global" and region_title(title, self.names):
            return 7  # a region's update ends the global ones
        return 8 if open_group else 7

    def paragraph(self, block: Block, following: Block | None) -> None:
        single = len(block.lines) == 1 and not block.plain
        if single and following is not None and looks_like_title(block.text, self.names):
            kind = "label" if clean_title(block.text).endswith(":") else "title"
            self.title(block.text, kind, 8)
            return
        section = self.section
        if ":" in block.text and region_title(section.title, self.names):
            # "Chile: Fima leads the process" in Latin America's update tags it with Chile.
            head = block.text.split(":", 1)[0]
            if names_regions(head, self.names):
                section.region_leads.append(lead(head))
        section.lines.extend([*block.lines, ""])

    def list(self, block: Block) -> None:
        """Split the list's region items off into updates; the rest stays in the section."""
        section = self.section
        section.has_list = True
        extracted: list[tuple[Item, Section]] = []
        # A region's section, or one given by someone ("Sahel (@issa_m)"): its region bullets
        # are part of it.
        in_region = bool(region_title(section.title, self.names)) or (
            section.kind != "preamble" and bool(HANDLE.search(section.title))
        )
        if in_region:
            # Bullets naming countries in a region's section are part of it and tag it.
            for item in block.items:
                for bullet in (item, *item.children):
                    if names_regions(bullet.text, self.names):
                        section.region_leads.append(lead(bullet.text))
        elif not _is_actions(section):
            # Under a regional group's title, every top-level bullet is a regional update.
            regional = section.group == "regional"
            self._find_items(block.items, section, regional, extracted)
        owner: dict[int, tuple[Item, Section]] = {}
        for item, update in extracted:
            for number in range(item.start, item.end):
                owner[number] = (item, update)
        for offset, line in enumerate(block.lines):
            number = block.first + offset
            if number in owner:
                item, update = owner[number]
                if number == item.start:
                    continue  # its title and text were taken when it was found
                prefix = INDENT * (item.depth + 1)
                update.lines.append(
                    line[len(prefix) :] if line.startswith(prefix) else line.strip()
                )
            else:
                section.lines.append(line)
        section.lines.append("")

    def _find_items(
        self,
        items: list[Item],
        section: Section,
        regional: bool,
        extracted: list[tuple[Item, Section]],
    ) -> None:
        names = self.names
        found_region = False
        for item in items:
            is_region = names_regions(item.text, names)
            if is_region or (regional and item.depth == 0 and self._is_regional(item)):
                update = self._start_item(item, section, named=is_region)
                extracted.append((item, update))
                found_region = found_region or is_region
                self._leads(item, update)
            elif (
                found_region
                and _is_place_like(item.text)
                and item.children
                and all(names_regions(child.text, names) for child in item.children)
            ):
                update = self._start_item(item, section, named=True)
                extracted.append((item, update))
                self._leads(item, update)
            elif item.depth == 0 and item.children:
                # "- Regional updates:" over region bullets: they are updates of their own.
                self._find_items(item.children, section, False, extracted)

    def _is_regional(self, item: Item) -> bool:
        """Whether a bullet under a regional group's title is a regional update of its own:
        given by someone ("@rina gave an update on ...", "Sahel (@issa_m)"), a place the tree
        does not know ("Pacific"), or a first sentence naming a place ("The Eastern Europe
        working group did not meet")."""
        text = item.text
        if _opens_with_handle(text) or HANDLE.search(lead_part(text)) or _is_place_like(text):
            return True
        first = re.split(r"[.:](?:\s|$)", text, maxsplit=1)[0]
        return bool(self.places(first))

    def _leads(self, item: Item, update: Section) -> None:
        """Bullets naming regions inside a region's update are part of it and tag it."""
        for child in item.children:
            if names_regions(child.text, self.names):
                update.region_leads.append(lead(child.text))
            self._leads(child, update)

    def _start_item(self, item: Item, section: Section, *, named: bool) -> Section:
        title, rest = item_title(item.text) if named else sentence_title(item.text)
        update = Section(title, "item", lines=[rest, ""] if rest else [], depth=item.depth)
        update.parent = section
        if not named:
            update.about_text = item.text
        self.sections.append(update)
        return update

    def run(self, found: list[Block]) -> list[Section]:
        if found and _is_note_title(found[0], self.names):
            # The note's own title line: shown above what follows, an update of its own only
            # if text follows it before the first section (that text is the opening).
            first = found[0]
            title = first.text.split("\n", 1)[0]
            self.sections.insert(0, Section(clean_title(title), "note"))
            rest = first.lines[1:] if first.kind == "paragraph" else []
            self.sections[1].lines.extend([*rest, ""] if rest else [])
            found = found[1:]
        for number, block in enumerate(found):
            following = found[number + 1] if number + 1 < len(found) else None
            if block.kind == "heading":
                self.title(block.text, "heading", block.level)
            elif block.kind == "paragraph":
                self.paragraph(block, following)
            elif block.kind == "list":
                self.list(block)
            else:
                self.section.lines.extend([*block.lines, ""])
        return self.sections


def split(text: str, names: Names, places: Names | None = None) -> list[Section]:
    """The note's sections and region updates, in order; `names` gives the regions a text
    consists of ([] if it is not only region names), `places` those a sentence names.

    Inside a section or bullet that itself names a region, bullets naming regions stay part
    of it (and add their regions to its tags): a region's update keeps its countries and its
    speaker, whether it came as a heading or as a pasted bullet.
    """
    found = list(_unglued(blocks(normalize(text)), names))
    sections = _Splitter(names, places or (lambda text: [])).run(found)
    kept = _grouped(sections)
    # A note of headings alone still shows them.
    return kept or [s for s in sections if s.title]


def _grouped(sections: list[Section]) -> list[Section]:
    """The sections with something in them, each with the empty titles before it ("##
    Regional updates", "Regional Campaign Updates:"), which group what follows: a title while
    it is the parent of the titles after it."""
    kept: list[Section] = []
    pending: list[Section] = []
    group: Section | None = None
    for section in sections:
        if section.is_empty:
            if section.title and section.kind != "item":
                pending.append(section)
            continue
        if pending:
            section.groups, pending = pending, []
            group = section.groups[-1]
        if group is not None and not _is_under(section, group):
            group = None
        section.in_group = group is not None
        kept.append(section)
    return kept


def _is_under(section: Section, group: Section) -> bool:
    parent = section.parent
    while parent is not None:
        if parent is group:
            return True
        parent = parent.parent
    return False
