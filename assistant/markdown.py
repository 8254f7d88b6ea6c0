"""The Markdown a model writes in an answer, read as far as an answer needs it: paragraphs, lists, headings,
bold, italics and code. Links, images, tables and HTML are not read (they stay text, as render.md_literal shows
them), so neither a model nor a poisoned abstract it quotes can place a link, image or tag on the page. Pure
parsing; render.py writes the HTML."""

from __future__ import annotations

import re
from typing import Literal

Style = Literal["", "strong", "em", "code"]
Run = tuple[Style, str]  # a stretch of text in one style
Kind = Literal["p", "h", "ul", "ol"]
Block = tuple[Kind, list[str]]  # a paragraph or heading (one item: its text) or a list (its items)

_BULLET = re.compile(r"^ {0,3}[-*+]\s+(?=\S)(.*)$")
_NUMBERED = re.compile(r"^ {0,3}\d{1,3}[.)]\s+(?=\S)(.*)$")
_HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
_RULE = re.compile(r"^ {0,3}([-*_])(?:\s*\1){2,}\s*$")
# Emphasis as CommonMark reads its plain cases: the delimiters hug the text ("2 * 3 * 4" is not italics), an
# underscore inside a word is a letter ("snake_case_name", "f_*"), and a star or underscore is not the next one's.
_INLINE = re.compile(
    r"`(?P<code>[^`\n]+)`"
    r"|\*\*(?P<strong>[^\s*](?:[^\n]*?[^\s*])?)\*\*"
    r"|(?<![\w_])__(?P<strong_>[^\s_](?:[^\n]*?[^\s_])?)__(?![\w_])"
    r"|(?<![\w*\\])\*(?P<em>[^\s*](?:[^*\n]*?[^\s*\\])?)\*(?![\w*])"
    r"|(?<![\w_\\])_(?P<em_>[^\s_](?:[^_\n]*?[^\s_\\])?)_(?![\w_])"
)
_MASK = 0xE100  # private-use characters stand for the verbatim spans while emphasis is read


def blocks(text: str) -> list[Block]:
    """The text's paragraphs (their lines joined by "\n"), headings and lists, in order."""
    out: list[Block] = []
    kind_open: Kind | None = None  # what the next line may go on: a paragraph or a list, not after a blank line
    for line in text.splitlines():
        item = None if _RULE.match(line) else _BULLET.match(line) or _NUMBERED.match(line)
        heading = _HEADING.match(line)
        if item:
            kind: Kind = "ul" if _BULLET.match(line) else "ol"
            if kind_open == kind:
                out[-1][1].append(item.group(1))
            else:
                out.append((kind, [item.group(1)]))
            kind_open = kind
        elif not line.strip() or _RULE.match(line):
            kind_open = None
        elif heading:
            out.append(("h", [heading.group(1)]))
            kind_open = None
        elif kind_open:  # a paragraph's next line, or a list item's text going on
            out[-1][1][-1] += "\n" + (line.strip() if kind_open != "p" else line)
        else:
            out.append(("p", [line]))
            kind_open = "p"
    return out


def has_blocks(text: str) -> bool:
    """Whether the text is laid out in more than one paragraph, or holds a list or a heading."""
    found = blocks(text)
    return len(found) > 1 or any(kind != "p" for kind, _ in found)


def runs(text: str, verbatim: re.Pattern[str] | None = None) -> list[Run]:
    """The text's stretches of plain, bold, italic and code text. Nothing inside a `verbatim` match (math:
    "$a*b*c$") is read as emphasis, and emphasis is one level deep (stars inside bold stay stars)."""
    spans: list[str] = []

    def mask(m: re.Match[str]) -> str:
        spans.append(m.group(0))
        return chr(_MASK + len(spans) - 1)

    masked = verbatim.sub(mask, text) if verbatim else text
    masks = re.compile(f"[{chr(_MASK)}-{chr(_MASK + max(len(spans), 1) - 1)}]")

    def unmask(part: str) -> str:
        return masks.sub(lambda m: spans[ord(m.group(0)) - _MASK], part) if spans else part

    out: list[Run] = []
    pos = 0
    for m in _INLINE.finditer(masked):
        if m.start() > pos:
            out.append(("", unmask(masked[pos : m.start()])))
        name = next(key for key, value in m.groupdict().items() if value is not None)
        style: Style = "code" if name == "code" else "strong" if name.startswith("strong") else "em"
        out.append((style, unmask(m.group(name))))
        pos = m.end()
    if pos < len(masked):
        out.append(("", unmask(masked[pos:])))
    return out
