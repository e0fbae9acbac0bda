"""No note can carry XSS: every vector, rendered and saved, parses to inert HTML.

The output is read with a real HTML parser (the standard library's), every start tag and
attribute: no scriptable element, no event handler or style attribute, and every URL is
http(s), mailto or relative once its entities are decoded and whitespace and control characters
(which browsers skip inside schemes) are removed. The browser side is tests/e2e/test_xss.py.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy.orm import Session

from app.notes.render import render
from app.notes.services import NoteError, NoteInput, save_note

from .xss_vectors import VECTORS, Vector

FORBIDDEN_TAGS = {
    "script", "style", "iframe", "object", "embed", "form", "input", "button", "meta", "base",
    "link", "svg", "math", "frame", "frameset", "applet", "textarea", "select", "noscript",
    "template", "video", "audio", "source", "body", "html", "head", "title", "xmp", "isindex",
    "bgsound", "marquee", "details", "use", "animate", "set", "portal", "plaintext",
}  # fmt: skip
URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "xlink:href", "background", "data", "poster",
    "srcset", "lowsrc", "dynsrc", "codebase", "cite", "longdesc", "ping", "manifest", "icon",
    "usemap", "srcdoc", "to", "values", "from", "by",
}  # fmt: skip
SAFE_SCHEMES = ("http:", "https:", "mailto:")
# What browsers ignore in a URL's scheme: ASCII whitespace and C0 controls anywhere, plus DEL.
IGNORED = re.compile(r"[\x00-\x20\x7f]+")
SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")

IDS = [vector.id for vector in VECTORS]


def normalized_url(value: str) -> str:
    """The URL as a browser would pick its scheme: entities already decoded by the parser."""
    return IGNORED.sub("", value).lower()


def url_is_safe(value: str) -> bool:
    url = normalized_url(value)
    if url.startswith(SAFE_SCHEMES):
        return True
    # Relative: "/", "#", "?" or no scheme at all.
    return url.startswith(("/", "#", "?")) or SCHEME.match(url) is None


class Audit(HTMLParser):
    """Every start tag and attribute of a document, with what is wrong with them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # attribute values arrive entity-decoded
        self.tags: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}> element")
        names = {name for name, _ in attrs}
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> event handler")
            if name == "style":
                self.problems.append(f"<{tag} style=...> attribute")
            if name in URL_ATTRIBUTES:
                urls = [part.split()[0] for part in value.split(",") if part.split()]
                urls = urls if name == "srcset" else [value]
                for url in urls:
                    if not url_is_safe(url):
                        self.problems.append(f"<{tag} {name}={value!r}> unsafe URL")
        if tag == "a" and "href" in names:
            rel = (dict(attrs).get("rel") or "").lower().split()
            if "nofollow" not in rel or "noopener" not in rel:
                self.problems.append(f"<a> without rel nofollow noopener: {attrs!r}")

    def handle_comment(self, data: str) -> None:
        self.problems.append(f"comment <!--{data}--> (conditional comments)")

    def unknown_decl(self, data: str) -> None:
        self.problems.append(f"declaration <![{data}]>")

    def handle_pi(self, data: str) -> None:
        self.problems.append(f"processing instruction <?{data}>")


def audit(html: str) -> Audit:
    parser = Audit()
    parser.feed(html)
    parser.close()
    return parser


def assert_inert(html: str, where: str) -> None:
    problems = audit(html).problems
    assert not problems, f"{where} lets through {problems}:\n{html}"


# --- the checker itself catches what it must -------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        '<a href="jav&#x09;ascript:alert(1)" rel="nofollow noopener">x</a>',
        '<a href=" JAVASCRIPT:alert(1)" rel="nofollow noopener">x</a>',
        '<a href="\x01javascript:alert(1)" rel="nofollow noopener">x</a>',
        '<img src="data:image/svg+xml;base64,AAAA">',
        '<a href="vbscript:x" rel="nofollow noopener">x</a>',
        '<a href="https://example.com">no rel</a>',
        '<p style="background:url(x)">x</p>',
        '<svg><a xlink:href="javascript:alert(1)">x</a></svg>',
        "<math><mi>x</mi></math>",
        '<img src="https://e.com/a.png" srcset="https://e.com/b.png 1x, javascript:x 2x">',
        "<!--[if IE]><script>alert(1)</script><![endif]-->",
    ],
)
def test_the_audit_catches_unsafe_html(html: str) -> None:
    assert audit(html).problems


@pytest.mark.parametrize(
    "html",
    [
        '<p><a href="https://example.com/a?b=c#d" rel="nofollow noopener">x</a></p>',
        '<a href="mailto:x@example.com" rel="noopener nofollow">x</a>',
        '<a href="/notes/x" rel="nofollow noopener">x</a><a href="#top" rel="nofollow noopener">',
        '<a href="javas\ufffdcript:alert(1)" rel="nofollow noopener">relative, not a scheme</a>',
        '<img src="x" alt="javascript:alert(1)"><h2 id="asia">Asia</h2>',
        "<pre><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></pre>",
    ],
)
def test_the_audit_passes_safe_html(html: str) -> None:
    assert audit(html).problems == []


def test_the_vectors_are_many_and_distinct() -> None:
    assert len(VECTORS) >= 60
    assert len(set(IDS)) == len(IDS), "vector ids must be unique"


# --- every vector, through render and through save_note ---------------------------------------


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_render_output_is_inert(vector: Vector) -> None:
    assert_inert(render(vector.text), f"render() of {vector.id}")


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_saved_note_and_its_updates_are_inert(vector: Vector, session: Session) -> None:
    body = f"## Asia\n\n{vector.text}\n\n## Kenya\n\n- Before: {vector.text}\n"
    if "\x00" in vector.text:  # refused before rendering: no stored text holds a NUL
        with pytest.raises(NoteError, match="NUL"):
            save_note(session, NoteInput(title=f"XSS {vector.id}", body=body))
        return
    for text in (vector.text, body):
        note, _ = save_note(
            session, NoteInput(title=f"XSS {vector.id}", body=text, status="published")
        )
        session.flush()
        assert_inert(note.body_html, f"note.body_html of {vector.id}")
        assert note.updates or text == vector.text, f"{vector.id}: no updates"
        for update in note.updates:
            assert_inert(update.body_html, f"update {update.anchor!r} of {vector.id}")


CODE_TEXT = {
    "md-fenced-script": ["<script>alert(1)</script>"],
    "md-fenced-tilde-img": ["<img src=x onerror=alert(1)>"],
    "md-fenced-lang-breakout": ['" onclick="alert(1)'],
    "md-fenced-braces": ["print(1)"],
    "md-indented-code": ["<script>alert(1)</script>"],
    "md-inline-code": ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"],
}


class CodeText(HTMLParser):
    """The text inside <code> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "code":
            self.depth += 1
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "code":
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.texts[-1] += data


@pytest.mark.parametrize("vector_id", sorted(CODE_TEXT))
def test_code_shows_the_markup_as_text(vector_id: str) -> None:
    vector = next(v for v in VECTORS if v.id == vector_id)
    html = render(vector.text)
    parser = CodeText()
    parser.feed(html)
    parser.close()
    for expected in CODE_TEXT[vector_id]:
        assert any(expected in text for text in parser.texts), html
    assert not {"script", "img"} & set(audit(html).tags), html
