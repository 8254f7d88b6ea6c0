"""A question's words as the abstracts spell them: "nueral collapse" read as "neural collapse", "powernorm" as
"PowerNorm". Pure: the retrieved papers' text and what counts as a known word are given.

A typo cost the whole answer: "what is nueral collapse" abstained ("the closest abstracts do not mention
nueral collapse") with the Neural Collapse paper ranked first, and so did "grokkng", "kernal", "hypernetwroks";
a name typed in lower case ("what is powernorm") was no name, so the paper's title did not count for it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Container, Iterable

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_LINK = re.compile(r"\S+://\S+|\bwww\.\S+|\S+@\S+")  # "github.com/…/powernorm" writes no name in lower case
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Shorter words have too many neighbours one edit away ("mode": made, more, node, model) to guess which was meant
MIN_TYPO_LETTERS = 5


# Contractions typed without their apostrophe are words, not typos ("arent" is no "parent")
_CONTRACTIONS = frozenset((
    "arent", "isnt", "wasnt", "werent", "dont", "doesnt", "didnt", "cant", "couldnt", "wouldnt", "shouldnt", "wont",
    "hasnt", "havent", "hadnt", "mustnt", "neednt", "theyre", "youre", "thats", "whats", "theres", "heres", "lets",
))
# Endings of a regular form whose base is a word ("sampler": sample, "merges": merge, "grained": grain)
_ENDINGS = ("ings", "ing", "ers", "er", "ed", "es", "s", "d", "r")


def edits1(word: str) -> set[str]:
    """Every string one deletion, transposition, replacement or insertion away (Norvig's spelling corrector),
    the first letter kept: a typo rarely starts a word wrong, and words one letter apart at the start are other
    words ("imitations", "limitations"; "arent", "parent"; "router", "outer")."""
    first, word = word[:1], word[1:]
    return {first + w for w in _edits1(word)} if first else set()


def _edits1(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    transposes = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in _LETTERS]
    inserts = [a + c + b for a, b in splits for c in _LETTERS]
    return set(deletes + transposes + replaces + inserts)


def _name_like(form: str) -> bool:
    """Written as a name is: a capital after the first letter, or a digit ("PowerNorm", "EL2N", "GraNd")."""
    return any(c.isupper() for c in form[1:]) or any(c.isdigit() for c in form)


class Speller:
    """`stem`: a word's stem as the corpus's term counts key it; `stems`: the corpus's stems; `everyday`: common
    English words, never read as a typo of another ("planes" is no misspelt "plans"). Without `everyday` (an
    embedding model with no word-piece vocabulary) the question is left as typed."""

    def __init__(self, stem: Callable[[str], str], stems: Container[str], everyday: Container[str] | None) -> None:
        self.stem = stem
        self.stems = stems
        self.everyday = everyday

    def __call__(self, question: str, texts: Iterable[str]) -> tuple[str, list[tuple[str, str]]]:
        """The question respelled after `texts` (the retrieved papers' titles and abstracts), and each typo read
        as another word (typed, read); a name's capitals are restored silently."""
        forms: dict[str, Counter[str]] = {}
        for text in texts:
            for token in _TOKEN.findall(_LINK.sub(" ", text)):
                forms.setdefault(token.lower(), Counter())[token] += 1
        read: list[tuple[str, str]] = []

        def respell(found: re.Match[str]) -> str:
            word = found.group(0)
            low = word.lower()
            if word != low and found.start() > len(question) - len(question.lstrip(" \t\"'“‘(")):
                return word  # capitalised inside the question: a name as typed ("How does Imagen …?")
            if low in forms:
                written = forms[low]
                # only ever written as a name there (never in lower case): "powernorm" is PowerNorm; an everyday
                # word stays one ("animal" is no acronym ANIMAL an abstract defines)
                if word == low and low not in written and all(_name_like(f) for f in written) and self._rare(low):
                    return written.most_common(1)[0][0]
                return word
            if not self._may_be_a_typo(word, low):
                return word
            # a word the corpus does not know, or one it knows by its stem only ("overfiting" stems as
            # "overfitting" does, but no sentence starts a word with it): then only another spelling of that stem,
            # not another ending ("evaluates" is "evaluate" already, as a word's start: answer.mentions)
            stem = self.stem(low)
            known = stem in self.stems
            near = [
                w for w in edits1(low)
                if w in forms and (not known or (self.stem(w) == stem and not (w.startswith(low) or low.startswith(w))))
            ]
            if not near:
                return word
            best = max(near, key=lambda w: (sum(forms[w].values()), w))
            form = forms[best].most_common(1)[0][0]
            form = form if _name_like(form) else (best.capitalize() if word[0].isupper() else best)
            if not known:  # a word read as another is said; another spelling of the same one is not
                read.append((word, form))
            return form

        return _TOKEN.sub(respell, question), read

    def _rare(self, low: str) -> bool:
        """Not a word of everyday English (as far as the vocabulary tells: none, nothing is rare)."""
        return self.everyday is not None and low not in self.everyday

    def _may_be_a_typo(self, word: str, low: str) -> bool:
        """A lower-case (or capitalised) word of letters, long enough, that everyday English does not know, nor
        its base with a regular ending taken off, nor as a contraction (and the texts do not use: the caller's)."""
        if not (len(low) >= MIN_TYPO_LETTERS and low.isalpha() and word in (low, low.capitalize()) and self._rare(low)):
            return False
        # a base of five letters or more: "mach" + "ing" is a misspelt "matching", "replay" + "ed" no typo
        bases = [low[: -len(end)] for end in _ENDINGS if low.endswith(end) and len(low) - len(end) >= 4]
        known = [b for b in (*bases, *(b + "e" for b in bases)) if len(b) >= 5 and not self._rare(b)]
        return low not in _CONTRACTIONS and not known


def read_as(read: list[tuple[str, str]]) -> str:
    """The notice an answer gives for the typos it read as other words."""
    said = ", ".join(f"“{typed}” as “{meant}”" for typed, meant in read)
    return f"Read {said}, as the abstracts spell it."
