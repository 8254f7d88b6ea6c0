"""Text utilities shared by indexing, retrieval and answering: sentences, tokens, content terms."""

from __future__ import annotations

import os
import re
import threading
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


_stemmers = threading.local()


def _stemmer() -> Callable[[str], str]:
    """PyStemmer's Snowball stemmer, the one BM25 uses too. One per thread: a stemmer keeps a cache and is not
    safe to share (the page answers up to eight questions at once)."""
    if not hasattr(_stemmers, "english"):
        import Stemmer

        _stemmers.english = Stemmer.Stemmer("english").stemWord
    return _stemmers.english


# British and American spellings of one word stem alike, so "quantisation" finds "quantization" and
# "behavior" finds "behaviour", in BM25 and in every term overlap (both sides of a match go through this).
# A rewrite must not touch a word that has one spelling: Snowball strips "-ize" but not "-ise", so "supervised"
# read as "supervized" would no longer share a stem with "supervision", and "expertise" would become "expert".
SPELLING_VERSION = 3  # part of the keyword index's and term counts' key: a change rebuilds them
_ISE = re.compile(r"(?<=[a-z]{2})([iy])s(ations?|e|ed|es|ing|ers?)$")  # quantise(d), normalisation, analyse
# Words that end in -ise in American English too (and every "-wise"): left alone
_ISE_TOO = frozenset(
    """advertise advise apprise appraise arise bruise chastise chemise circumcise comprise compromise concise
    cruise demise despise devise disguise enterprise excise exercise expertise franchise guise improvise incise
    merchandise mortise noise paradise poise porpoise praise precise premise promise raise reprise revise rise
    supervise surmise surprise televise tortoise treatise turquoise valise vise""".split()
)
# British -our words, by the start they share with their American -or spelling ("neighbourhood", "colourful")
_OUR = re.compile(
    r"^(arm|behavi|cand|clam|col|endeav|fav|ferv|flav|harb|hon|hum|lab|neighb|od|parl|ranc|rig|rum|sav|savi"
    r"|splend|tum|val|vap|vig)our"
)
_OGUE = re.compile(r"(?<=[a-z]{3})ogue(s)?$")  # analogue, catalogue, dialogue
_SPELLING_WORDS = {
    "defence": "defense", "licence": "license", "offence": "offense", "artefact": "artifact",
    "artefacts": "artifacts", "grey": "gray", "greyscale": "grayscale", "programme": "program",
    "programmes": "programs", "judgement": "judgment", "judgements": "judgments", "ageing": "aging",
    "sceptical": "skeptical", "fulfil": "fulfill", "aluminium": "aluminum", "acknowledgement": "acknowledgment",
    "centre": "center", "centres": "centers", "centred": "centered", "centring": "centering",
    "metre": "meter", "metres": "meters", "litre": "liter", "litres": "liters", "fibre": "fiber",
    "fibres": "fibers", "theatre": "theater", "spectre": "specter", "calibre": "caliber", "lustre": "luster",
    "meagre": "meager", "sombre": "somber", "manoeuvre": "maneuver",
}


@lru_cache(maxsize=1 << 16)  # a corpus repeats its words: counting 10k abstracts calls this ~1.5M times
def american(word: str) -> str:
    """The American spelling of a lower-case word (see SPELLING_VERSION); every rule that applies, in turn
    ("colourisation" -> "colorization")."""
    if word in _SPELLING_WORDS:
        return _SPELLING_WORDS[word]
    word = _OUR.sub(r"\1or", word, count=1)
    found = _ISE.search(word)
    if found and not _is_ise_too(word[: found.start()] + found.group(1) + "se"):
        word = word[: found.start()] + found.group(1) + "z" + found.group(2)
    return _OGUE.sub(r"og\1", word, count=1)


def _is_ise_too(base: str) -> bool:
    """"unsupervise(d)" and "imprecise" as "supervise" and "precise"; a short one ("rise", "noise") only whole:
    "categorise" and "regularise" end in "rise" and "arise"."""
    return base in _ISE_TOO or base.endswith("wise") or any(base.endswith(w) for w in _ISE_TOO if len(w) >= 6)


_IZE = re.compile(r"(?<=[a-z]{2})[iy](z)(?:ations?|e|ed|es|ing|ers?)$")  # an American spelling _ISE would give
_OR = re.compile(_OUR.pattern.removesuffix("our") + "o")  # ... and _OUR
_BRITISH = {us: uk for uk, us in _SPELLING_WORDS.items()}


def spelling_site(word: str) -> int:
    """Where a lower-case word's British and American spellings part ("quantization" -> 6, at the "z";
    "behavior" -> 7), or its length: a prefix up to here is the same in both (listing.phrase_pattern)."""
    other = american(word)
    if other == word:  # already American: where a British spelling would part from it
        if found := _IZE.search(word):
            return found.start(1)
        if found := _OR.match(word):
            return found.end()
        other = _BRITISH.get(word, word)
    n = 0
    while n < min(len(word), len(other)) and word[n] == other[n]:
        n += 1
    return n


# An abbreviation's plural ("GNNs", "LLMs", "SSMs"): Snowball strips no "s" from a word without a vowel, so
# "GNNs" and "GNN" were two terms. Part of SPELLING_VERSION.
_ABBREVIATION_PLURAL = re.compile(r"[b-df-hj-np-tv-xz0-9]{2,}s")


def stem(word: str) -> str:
    if _ABBREVIATION_PLURAL.fullmatch(word):
        word = word[:-1]
    return _stemmer()(american(word))


# "Which papers talk about pruning?": the verb before "about" only says the papers are about it, as "study" or
# "discuss" do, but a rare word weighs most in a question's terms ("talk" took half of it: no sentence reached
# the abstention threshold). Not a stopword: "memory reads and writes" is a topic.
_SAYING_ABOUT = re.compile(r"\b(?:talk(?:s|ed|ing)?|writ(?:e|es|ing|ten)|wrote|speak(?:s|ing)?|spoke)\s+(?=about\b)")


def content_terms(text: str) -> list[str]:
    """Stemmed words that carry meaning; a hyphenated word also counts as its parts."""
    out: list[str] = []
    for w in words(_SAYING_ABOUT.sub("", text.lower())):
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


# Where rough_sentences cuts: after a stop, before a capital of the Latin, Greek or Cyrillic alphabet ("ΣAE connects
# …" starts a sentence), an opening quote or a bracket.
_ROUGH_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\u00c0-\u00d6\u00d8-\u00de\u0391-\u03a9\u0410-\u042f(“\"\[])")


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


# A stop after a lone lower-case letter ends a sentence: "… for every input dimension d. Experiments confirm …" was one
# sentence, the tokenizer taking "d." for an initial; a person's initial is a capital ("by J. Smith" stays whole).
_VARIABLE_END = re.compile(r"(?<=[\s(][a-z]\.)\s+(?=[A-Z][a-z])")


def split_sentences(text: str) -> list[str]:
    """Sentences of an abstract; pieces the tokenizer cut at 'i.i.d.'-style dots or after "et al." are glued back."""
    pieces: list[str] = []
    cut = (part for p in _sentence_tokenizer()(text) for part in _VARIABLE_END.split(p))
    for piece in (p.strip() for p in cut if p.strip()):
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


# "Neural Collapse (NC)", "mixture-of-experts (MoE)": a run of words, then the abbreviation in parentheses
_DEFINED = re.compile(r"((?:[A-Za-z][\w'-]*\s+){1,7})\(([A-Z][A-Za-z0-9-]{0,9}[A-Z0-9]s?)\)")

_JOINING = frozenset({"and", "of", "the", "for", "in", "on", "to", "a", "an", "with", "via", "by"})


def abbreviations(abstract: str) -> dict[str, str]:
    """Abbreviation -> long form, for those the abstract defines ("Neural Collapse (NC)"): the long
    form is the shortest run of words before the parenthesis whose initials spell the abbreviation."""
    found: dict[str, str] = {}
    for match in _DEFINED.finditer(abstract):
        short = match.group(2)
        letters = [c.lower() for c in short.rstrip("s") if c.isalpha()]
        run = match.group(1).split()
        for n in range(1, len(run) + 1):
            if run[-n].lower() in _JOINING:  # "and Reasoning Corpus (ARC)": the long form opens on a word of its own
                continue
            spelling = [w for w in run[-n:] if w.lower() not in _JOINING]  # "Abstraction and Reasoning Corpus"
            initials = [w[0].lower() for w in spelling] + [p[0].lower() for w in spelling for p in w.split("-")[1:] if p]
            if sorted(initials) == sorted(letters) or [w[0].lower() for w in run[-n:]] == letters:
                found[short] = " ".join(run[-n:])
                break
    return found
