"""Text utilities shared by indexing, retrieval and answering: sentences, tokens, content terms."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
# Short, common English words and research boilerplate that say nothing about a topic.
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers him his how i if in into is it its itself just me more most my no nor not
    now of off on once only or other our ours out over own same she should so some such than that the their
    theirs them then there these they this those through to too under until up very was we were what when
    where which while who whom why will with would you your yours paper papers work works study studies
    show shows shown propose proposes proposed present presents approach method methods result results
    use used using based new novel via whether however thus therefore further also may might many much
    one two three several various well given within without across among per etc e g i e et al
    abstract abstracts corpus tell know anything something does do did say says said describe described
    explain explains find found paper's authors author researchers anyone""".split()
)


def words(text: str) -> list[str]:
    """Lower-cased word tokens (hyphenated words kept whole)."""
    return _WORD.findall(text.lower())


@lru_cache(maxsize=1)
def _stemmer() -> Callable[[str], str]:
    import Stemmer  # PyStemmer's Snowball stemmer, the one BM25 uses too

    return Stemmer.Stemmer("english").stemWord


# British and American spellings of one word stem alike, so "quantisation" finds "quantization" and
# "behavior" finds "behaviour", in BM25 and in every term overlap. Both sides of a match go through this, so a
# rule that also rewrites a word with no other spelling ("noise" -> "noize") changes nothing.
SPELLING_VERSION = 1  # part of the keyword index's and term counts' key: a change rebuilds them
_SPELLING_RULES = [
    (re.compile(r"(?<=[a-z]{2})is(ations?|e|ed|es|ing|ers?)$"), r"iz\1"),  # quantise(d), normalisation
    (re.compile(r"(?<=[a-z]{2})ys(e|ed|es|ing|ers?)$"), r"yz\1"),  # analyse, catalysed
    (re.compile(r"(?<=[a-z]{2})our(s|ed|ing|al|ally|ite|ites|able|ably|less)?$"), r"or\1"),  # behaviour(al), neighbour
    (re.compile(r"(?<=[a-z]{2})([tb])re(s)?$"), r"\1er\2"),  # centre, fibre
    (re.compile(r"(?<=[a-z]{2})ogue(s)?$"), r"og\1"),  # analogue, dialogue
]
_SPELLING_WORDS = {
    "defence": "defense", "licence": "license", "offence": "offense", "artefact": "artifact",
    "artefacts": "artifacts", "grey": "gray", "programme": "program", "programmes": "programs",
    "judgement": "judgment", "judgements": "judgments", "ageing": "aging", "sceptical": "skeptical",
    "fulfil": "fulfill", "aluminium": "aluminum", "acknowledgement": "acknowledgment",
}


@lru_cache(maxsize=1 << 16)  # a corpus repeats its words: counting 10k abstracts calls this ~1.5M times
def american(word: str) -> str:
    """The American spelling of a lower-case word (see SPELLING_VERSION)."""
    if word in _SPELLING_WORDS:
        return _SPELLING_WORDS[word]
    for rule, replacement in _SPELLING_RULES:
        if rule.search(word):
            return rule.sub(replacement, word, count=1)
    return word


def stem(word: str) -> str:
    return _stemmer()(american(word))


def content_terms(text: str) -> list[str]:
    """Stemmed words that carry meaning; a hyphenated word also counts as its parts."""
    out: list[str] = []
    for w in words(text):
        if w in STOPWORDS or len(w) < 2:
            continue
        out.append(stem(w))
        if "-" in w:
            out.extend(stem(part) for part in w.split("-") if len(part) > 1 and part not in STOPWORDS)
    return out


@lru_cache(maxsize=1)
def _sentence_tokenizer() -> Callable[[str], list[str]]:
    from llama_index.core.node_parser.text.utils import split_by_sentence_tokenizer

    return split_by_sentence_tokenizer()


# Abbreviations that end a piece the tokenizer cut but never a sentence: "Jiang et al. (2020) examine …" was two
# sentences, the second a fragment that an answer quoted as "(2020) examine more than a dozen … [1]".
_NO_END = re.compile(r"\b(?:et al|e\.g|i\.e|cf|vs|resp|approx)\.$")


_ROUGH_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(“\"\[])")


def rough_sentences(text: str) -> list[str]:
    """Sentences split at a stop before a capital, glued back after "et al.", "e.g." and the like: for checks
    that only need a sentence's scope (a number near what it counts) and must not wait 2 s for the sentence
    tokenizer's import on a question's path. Ingest uses split_sentences."""
    out: list[str] = []
    for piece in _ROUGH_END.split(text.strip()):
        if out and _NO_END.search(out[-1]):
            out[-1] = f"{out[-1]} {piece}"
        elif piece:
            out.append(piece)
    return out


def split_sentences(text: str) -> list[str]:
    """Sentences of an abstract; pieces the tokenizer cut at 'i.i.d.'-style dots or after "et al." are glued back."""
    pieces: list[str] = []
    for piece in (p.strip() for p in _sentence_tokenizer()(text) if p.strip()):
        if pieces and _NO_END.search(pieces[-1]):  # before the length rule: "Common choices, e.g." is short
            pieces[-1] = f"{pieces[-1]} {piece}"
        else:
            pieces.append(piece)
    merged: list[str] = []
    for piece in pieces:
        if merged and (piece[0].islower() or len(piece) < 25 or not re.search(r"[.!?:)\]]$", merged[-1])):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


@lru_cache(maxsize=1)
def _encoding() -> Callable[[str], list[int]]:
    import llama_index.core
    import tiktoken

    # llama-index-core ships cl100k_base; point tiktoken at it so nothing is downloaded.
    os.environ.setdefault(
        "TIKTOKEN_CACHE_DIR", os.path.join(os.path.dirname(llama_index.core.__file__), "_static", "tiktoken_cache")
    )
    enc = tiktoken.get_encoding("cl100k_base")
    return lambda s: enc.encode(s, disallowed_special=())


def tokenizer() -> Callable[[str], list[int]]:
    """The tiktoken tokenizer used for prompt budgets."""
    return _encoding()


def count_tokens(text: str) -> int:
    return len(_encoding()(text))
