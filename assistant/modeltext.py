"""What real models write, made into an answer the citation check can read. Pure functions.

Local and hosted models rarely write the tidy `[n]` the prompt asks for: they write `[1-3]`, `[Source 2]`,
`【1】`, `[^1]`, "According to Source 2", a trailing "Sources: 1, 2" or a References list; reasoning models
put a `<think>` block first; some echo the prompt's tags, wrap the answer in a code fence, start with
"Answer:", or add images and HTML. `clean` turns all of these into plain text with `[n]` markers (the
reasoning is returned apart, never shown as the answer); `refuses` recognises the cannot-answer sentence
in its common paraphrases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .controls import printable_reply

_REASONING = re.compile(r"<(think|thinking|reasoning|reflection)>(.*?)(</\1>|$)", re.IGNORECASE | re.DOTALL)
_FULL_WIDTH = str.maketrans({"【": "[", "】": "]", "［": "[", "］": "]", "〔": "[", "〕": "]"})
_RANGE = re.compile(r"\[\s*(\d{1,3})\s*[-–—]\s*(\d{1,3})\s*\]")
_SOURCE_LIST = re.compile(r"\[\s*((?:sources?|refs?|references?|docs?|documents?)\b[^\]\[]{0,80})\]", re.IGNORECASE)
_SOURCE_WORD = re.compile(r"\b(?:Source|Abstract|Document)\s+(\d{1,3})\b(?!\s*[\]\d])")
_FOOTNOTE = re.compile(r"\[\^(\d{1,3})\]")
_TRAILER = re.compile(r"\n\s*(?:\*\*)?(sources?|references?|citations?)(?:\*\*)?\s*:?\s*(?:\*\*)?\s*([\d\s,;\[\]]*)$", re.IGNORECASE)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]\d][^\]]*)\]\((?:https?|ftp|javascript|data):[^)]*\)", re.IGNORECASE)
# A marker written as a Markdown link, "[1](https://arxiv.org/abs/…)" or "[2](#source-2)": the marker, without the
# target (its text "(https://…)" was left after the [1] link on the page).
_MARKER_LINK = re.compile(r"(\[\d{1,3}\])\((?:(?:https?|ftp|javascript|data):|#|www\.)[^)\s]*\)", re.IGNORECASE)
_SCRIPT = re.compile(r"<(script|style)\b.*?(</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9_-]*(\s[^<>]*)?/?>")
_FENCE = re.compile(r"^```[\w-]*\s*\n?(.*?)\n?(?:```\s*)?$", re.DOTALL)  # unclosed while it streams
_PREFIX = re.compile(r"^\s*(?:\*\*)?(?:final\s+)?answer(?:\*\*)?\s*:\s*(?:\*\*)?\s*", re.IGNORECASE)
_REFUSAL = re.compile(
    r"\b(?:the\s+)?(?:provided\s+|given\s+|these\s+|above\s+)?(?:abstracts?|sources?|context|documents?|texts?)\s+"
    r"(?:do\s+not|don't|does\s+not|doesn't|did\s+not|cannot|can't|can\s+not|fail\s+to)\s+"
    r"(?:answer|address|contain|provide|mention|say|state|include|discuss|cover)"
    r"|\b(?:none|neither)\s+of\s+the\s+(?:provided\s+|given\s+)?(?:abstracts|sources|documents|papers)\s+"
    r"(?:answers?|address(?:es)?|contains?|provides?|mentions?|says?|states?|includes?|discuss(?:es)?|covers?)"
    r"|\bI\s+(?:cannot|can't|can\s+not|am\s+unable\s+to|could\s+not|couldn't)\s+(?:answer|find)\b[^.]{0,60}?"
    r"\b(?:from|in|with|based\s+on)\s+the\s+(?:provided\s+|given\s+)?(?:abstracts|sources|context|documents)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Cleaned:
    text: str  # the answer, markers as [n]
    reasoning: str  # what the model thought aloud (not shown as the answer)
    unfinished_reasoning: bool  # a reasoning block that never closed: the answer was cut off inside it


def _numbers(spec: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d{1,3}", spec)]


def markers_to_brackets(text: str) -> str:
    """Every citation style we have met, as [n] markers."""
    text = text.translate(_FULL_WIDTH)
    text = _FOOTNOTE.sub(r"[\1]", text)
    text = _RANGE.sub(lambda m: "".join(f"[{n}]" for n in range(int(m.group(1)), min(int(m.group(2)), int(m.group(1)) + 9) + 1)), text)
    text = _SOURCE_LIST.sub(lambda m: "".join(f"[{n}]" for n in _numbers(m.group(1))), text)
    return _SOURCE_WORD.sub(r"[\1]", text)


def clean(raw: str) -> Cleaned:
    """The answer part of a model's reply, in plain text with [n] markers."""
    reasoning: list[str] = []
    unfinished = False

    def keep_reasoning(match: re.Match[str]) -> str:
        nonlocal unfinished
        reasoning.append(match.group(2).strip())
        unfinished = unfinished or not match.group(3)
        return ""

    text = _REASONING.sub(keep_reasoning, printable_reply(raw)).strip()  # printed by the CLI: no escapes
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    text = _SCRIPT.sub("", text)
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _MARKER_LINK.sub(r"\1", text)
    text = _TAG.sub("", text)  # echoed <source id=…> tags, HTML
    text = _PREFIX.sub("", text)
    text = markers_to_brackets(text)
    trailer = _TRAILER.search(text)
    if trailer:  # "Sources: 1, 2" at the end cites them for the answer; a "References:" list is not an answer
        numbers = _numbers(trailer.group(2)) if trailer.group(2).strip() else []
        body = text[: trailer.start()].rstrip()
        cites = "".join(f"[{n}]" for n in numbers)
        end = body[-1:] if body[-1:] in (".", "!", "?", "。") else ""  # "It holds. Sources: 1" -> "It holds [1]."
        text = f"{body[: len(body) - len(end)]} {cites}{end}" if cites else body
    else:
        text = _cut_reference_list(text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    return Cleaned(text=text.strip(), reasoning="\n\n".join(r for r in reasoning if r), unfinished_reasoning=unfinished)


def _cut_reference_list(text: str) -> str:
    """Drop a trailing block headed References/Sources/Bibliography whose lines list sources."""
    match = re.search(r"\n\s*(?:#+\s*)?(?:\*\*)?(?:references|sources|bibliography|citations)(?:\*\*)?\s*:?\s*\n", text, re.IGNORECASE)
    return text[: match.start()].rstrip() if match else text


def refuses(text: str) -> bool:
    """Whether the text says the abstracts do not answer the question (in any common wording)."""
    return bool(_REFUSAL.search(" ".join(text.split())))
