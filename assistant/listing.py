"""Questions that are really metadata queries — "papers by Rivera", "what was published in 2024",
"papers in stat.ML" — answered from the papers' metadata, each paper cited, instead of abstained on
(an abstract rarely names its own authors or year)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

from .filters import VENUE_NAMES, Filters, fold
from .latex import readable_latex
from .text import content_terms, rough_sentences, spelling_site, stem, words
from .types import Answer, Citation, Header, Paper, named_authors, venue_and_year

# A name as a question writes it: capitalised words, with the lower-case particles of "Pieter van der Berg" and
# "Ana de la Cruz" between them or before them ("van der Berg"); "Pieter van Dijk" was read as "Pieter".
_PARTICLES = r"(?:van|von|der|den|de|del|della|di|da|du|la|le|dos|das|ten|ter|zu|bin|al|el)"
_PARTICLE = re.compile(_PARTICLES)


def _name_of(least: int) -> str:
    """A name of one word and up to two more (`least` of them at least), particles among them ("Pieter van Dijk")."""
    return rf"((?:{_PARTICLES}\s+)*[A-Z][\w'’.-]*(?:\s+(?:{_PARTICLES}\s+)*[A-Z][\w'’.-]*){{{least},2}})"


_NAME = _name_of(0)
_BY = re.compile(
    r"\b(?:papers?|works?|articles?|abstracts?|publications?|written|authored|co-?authored)\s+(?:\w+\s+){0,2}?by\s+(?:both\s+|either\s+)?"
    + _NAME
)
# "What has Rivera written?", "Which papers did Ana Rivera write?", "How many papers did Rivera write?", "What has
# Christopher Ré worked on?", "What did Michael Poli propose?" (a name that is no author is answered as any question)
_WROTE = re.compile(
    r"\b(?i:what|which|how\s+many)\s+(?:(?i:papers?|works?|articles?|publications?)\s+)?(?:has|did|have)\s+"
    + _NAME + r"\s*(?:write|written|publish(?:ed)?|author(?:ed)?)\b"
)
# A person's name in full (two words or more: "What did PowerNorm propose?" names no author, and must not read every
# record at 100k papers to find so) ...
_FULL_NAME = _name_of(1)
# ... whose work the whole question asks for ("What did Stefano Ermon study about SSMs?" asks about a topic)
_WORKED_ON = re.compile(
    r"^\W*(?i:what)\s+(?:has|did|have)\s+" + _FULL_NAME
    + r"\s+(?:work(?:ed)?\s+on|propos(?:e|ed)|introduc(?:e|ed)|present(?:ed)?|stud(?:y|ied))\W*$"
)
# "Stefano Ermon papers", "Show me Bo Chen publications"
_NAMED_PAPERS = re.compile(
    r"^\W*(?:(?i:show|list|find|give)\s+(?:me\s+)?)?" + _FULL_NAME + r"\s+(?i:papers|publications|works|articles)\W*$"
)
_OPENING_VERB = re.compile(r"^(?:show|list|find|give|get|display|see|name)\s+(?:me\s+)?", re.IGNORECASE)
# "Bo Chen's papers", "Show me Rivera's work"
_POSSESSIVE = re.compile(_NAME + r"['’]s\s+(?i:papers|works?|articles|publications|abstracts)\b")
# "published in 2024", "papers from 2019 to 2021", "2021 papers" — not any "in 2019" ("What did X achieve in
# 2019?"), but that too in a question that lists already ("What did Rivera publish in 2021?", "papers by Rivera in
# 2021": _LISTED_YEAR)
_YEARS = r"((?:19|20)\d\d)(?:\s*(?:-|–|to|and|\.\.)\s*((?:19|20)\d\d))?\b"
_YEAR = re.compile(
    r"\b(?:(?:published|publish|appeared|written|wrote|released)\s+(?:in\s+|between\s+)?"
    r"|(?:papers?|works?|articles?|abstracts?)\s+(?:(?:are|is|were|was)\s+)?(?:from|of)\s+)" + _YEARS
    + r"|\b(?i:which|what|the|all|any|list|show|me)\s+((?:19|20)\d\d)()\s+(?:papers|works|articles|publications)\b"
)
_LISTED_YEAR = re.compile(r"\b(?:in|from|during|between)\s+" + _YEARS)
# "NeurIPS papers", "ICML 2021 papers", "papers at ICLR", "published in JMLR": a big venue by its short name
# (filters.VENUE_NAMES), as written (capitals), with the year that may follow it.
# Papers in the plural, or published somewhere: "What does the ICML paper on X propose?" asks about one paper.
_VENUE = re.compile(
    r"\b(?:papers|works|articles|publications|published|presented|accepted|appeared)\s+(?:\w+\s+){0,2}?(?:at|in|from)\s+"
    r"(?P<after>[A-Z][A-Za-z]*[A-Z][A-Za-z]*)(?:\s+(?:in\s+)?(?P<year_after>(?:19|20)\d\d))?\b"
    r"|\b(?P<before>[A-Z][A-Za-z]*[A-Z][A-Za-z]*)(?:\s+'?(?P<year_before>(?:19|20)\d\d))?\s+(?:papers|works|articles|publications)\b"
)
# "published in Nature", "papers in the Journal of Machine Learning Research": any other venue by its whole
# name, a listing only when some paper of the store has that venue (a name no venue has may be a topic).
_NAMED_VENUE = re.compile(
    r"\b(?:papers|works|articles|publications|published|presented|accepted|appeared)\s+(?:\w+\s+){0,2}?(?:at|in)\s+"
    r"(?:the\s+)?(?P<name>[A-Z][\w&.'’-]*(?:\s+(?:of|on|and|for|in|the|&|\d+|[A-Z][\w&.'’-]*))*)"
)
_CONNECTORS = frozenset({"of", "on", "and", "for", "in", "the", "&"})
_CATEGORY = re.compile(r"\b(?:category|categories|in)\s+([a-z]{2,8}\.[A-Z]{2})\b")
# ... not "Which papers write about pruning?", which asks about a topic
_AUTHORSHIP = re.compile(r"\b(?:authors?|authored|co-?authors?|co-?authored|wrote|written|write)\b(?!\s+about\b)", re.IGNORECASE)
_PLURAL = re.compile(r"\b(?:papers|works|articles|abstracts|publications)\b", re.IGNORECASE)
_TOKEN = re.compile(r"[^\s,;:?!()\"“”]+")
_WHO_WROTE = re.compile(
    r"^\W*(?:who\s+(?:wrote|authored|co-?authored|are\s+the\s+authors|were\s+the\s+authors|is\s+the\s+author)"
    r"|(?:what|which)\s+(?:are|were)\s+the\s+(?:names\s+of\s+the\s+)?authors"
    r"|(?:list|name|give)\s+(?:me\s+)?the\s+authors)\b",
    re.IGNORECASE,
)
# "When was it published?", "What year is the NTK paper from?", "Where did it appear?": its record's year and venue
# ... when it asks of a paper: "it", "they", "the NTK paper", a title or a name ("When was PowerNorm published?"),
# not "When did grokking appear during training?" or "When did the loss spikes appear?"
_WHEN_PUBLISHED = re.compile(
    r"^\W*(?:(?:when|where)\s+(?:was|were|did|is|are)\s+(?P<subject>.+?)\s+"
    r"(?:published|publish|released|release|come\s+out|appear\w*|written|presented)\b"
    r"|(?:in\s+)?(?:what|which)\s+year\s+(?:was|were|did|is|are)\s+(?P<of>.+?)\s+"
    r"(?:published|publish|released|release|come\s+out|appear\w*|written|presented|from)\b"
    r"|(?:in\s+)?(?:what|which)\s+year\s+(?:is|was)\s+(?P<from>.+?)\s+from\b)",
    re.IGNORECASE,
)
_A_PAPER = re.compile(  # case matters in the last part only: a name has capitals ("PowerNorm", "NTK")
    r"(?i:^(?:it|they|this|that|these|those|this\s+one|that\s+one|the\s+(?:first|second|third|fourth|fifth|last"
    r"|former|latter)(?:\s+one)?)$|\bthe\b.*\b(?:paper|work|article|study|preprint)s?\b)|[“\"]|\b[A-Za-z]*[A-Z][\w-]*[A-Z0-9]"
)
_LISTS = re.compile(r"\b(?:papers?|works?|articles?|abstracts?|publications?|anything|what)\b", re.IGNORECASE)


# "the ICML paper on attention", "the 2019 paper on …", "the NeurIPS 2021 work on …": one paper, placed by its
# record (an abstract rarely says where or when it appeared).
_THE_PAPER = re.compile(  # ... or papers: "What did the 2021 papers on attention propose?" cited an undated one
    r"\bthe\s+(?:(?P<venue>[A-Z][A-Za-z]*[A-Z][A-Za-z]*)\s+)?(?:'?(?P<year>(?:19|20)\d\d)\s+)?"
    r"(?:papers?|works?|articles?|study|studies|preprints?)\b"
)


def placed_paper_filters(question: str, papers: Callable[[], Mapping[str, Header]]) -> Filters | None:
    """For a question about "the ICML 2019 paper on …", the venue and year as filters, when some paper of the
    store has them (else None: the year may be anything else, and a filter matching nothing hides every
    paper). A venue is one of the big venues' short names (filters.VENUE_NAMES)."""
    match = _THE_PAPER.search(question)
    if match is None or not (match["year"] or match["venue"]):
        return None
    venue = match["venue"] if match["venue"] and fold(match["venue"]) in VENUE_NAMES else None
    if not (venue or match["year"]):
        return None
    filters = Filters.parse(match["year"], venues=[venue] if venue else [])
    return filters if any(filters.admits(h) for h in papers().values()) else None


# "other papers by the same first author", "What else have these authors written?", "more from them": the authors
# of the paper the conversation cited ("first" when the question says so)
_SAME_AUTHORS = re.compile(
    r"\b(?:(?:same|these|those|its|their|that\s+paper'?s?|the\s+paper'?s)\s+(?P<first>first\s+|lead\s+)?authors?"
    r"|the\s+(?P<first2>first|lead)\s+author)\b"
    r"|\b(?:papers?|works?|else|more)\b.*\b(?:by|from)\s+(?:them|the\s+authors?)\b",
    re.IGNORECASE,
)
_ASKS_OTHERS = re.compile(r"\b(?:other|else|more|another|also)\b|\b(?:papers?|works?|publications?)\b", re.IGNORECASE)


def same_authors_asked(question: str) -> str | None:
    """"first" for a question asking for the other papers of the cited paper's first author, "all" for those of
    its authors, None for any other question ("Who are the authors?" asks for names, not papers)."""
    found = _SAME_AUTHORS.search(question)
    if found is None or not _ASKS_OTHERS.search(question) or _WHO_WROTE.match(question):
        return None
    return "first" if found["first"] or found["first2"] else "all"


_LIST_OPENING = re.compile(r"^\W*(?:which|what|list|show|give|find)\b", re.IGNORECASE)
_PAPERS_NAMED = re.compile(r"\b(?:papers?|works?|articles?|abstracts?|publications?)\b", re.IGNORECASE)  # not "What about it?"


def asks_for_a_list(question: str) -> bool:
    """"Which papers are here?", "List the papers", "Show me the papers": a question asking for papers."""
    return bool(_LIST_OPENING.match(question)) and bool(_PAPERS_NAMED.search(question))


def metadata_filters(question: str, papers: Callable[[], Mapping[str, Header]]) -> Filters | None:
    """The filters a listing question asks for, when the store holds papers they match; else None.
    `papers` is only called for a question that reads like a listing: a start at 100k papers must not
    read every record for an ordinary question (test_index)."""
    if not _LISTS.search(question):
        return None
    authors: list[str] = []
    for pattern in (_BY, _WROTE, _WORKED_ON, _POSSESSIVE, _NAMED_PAPERS):
        match = pattern.search(question)
        if match:  # "Show Bo Chen's papers": the opening verb is no part of the name
            authors.append(_OPENING_VERB.sub("", match.group(1)).strip().rstrip("?.!,"))
    year = _YEAR.search(question) or (_LISTED_YEAR.search(question) if authors else None)
    category = _CATEGORY.search(question)
    venue, venue_year = _venue(question)
    if venue is None and (named_venue := _NAMED_VENUE.search(question)):
        venue = _stored_venue(named_venue["name"], lambda: papers().values())
    # Only a question about who wrote which papers reads the author lists (every record, as any listing
    # does): "What do the authors of <title> argue?" names a title, and must not read 100k records.
    about_authors = bool(authors) or (_AUTHORSHIP.search(question) and _PLURAL.search(question))
    named = _full_names(question, lambda: papers().values()) if about_authors else []
    every = False
    known = bool(named) and len(named) >= len(authors)
    if known:  # full names the store knows beat a surname after "by"
        authors, every = named, len(named) > 1 and not re.search(r"\b(?:or|either)\b", question)
    else:
        authors = authors[:1]
    found = [g for g in year.groups() if g] if year else []  # a year, or the two ends of a range
    years = f"{found[0]}..{found[-1]}" if found else venue_year
    parsed = Filters.parse(years, authors, [category.group(1)] if category else [], [venue] if venue else [])
    filters = replace(parsed, every_author=every, whole_names=True)  # a name a question gives is whole
    if not filters:
        return None
    # None match: a year or a category asked for is answered "none" (the store has no such paper), and so are
    # authors the store knows by their full names ("papers by both Ana Rivera and Bo Chen", who wrote none
    # together); a name after "by" may be no author at all ("by the authors of …"): answered as any question.
    # ... and so is a name ("papers by Geoffrey Hinton", "by Hinton": said to be none, as --author Hinton says)
    whole = all(name.split() and all(w[:1].isupper() for w in name.split()) for name in authors)
    if not any(filters.admits(p) for p in papers().values()) and filters.authors and not (known or whole):
        return None
    return filters


def _venue(question: str) -> tuple[str | None, str | None]:
    """The big venue a listing question names by its short name ("NeurIPS"), and a year written after it."""
    for match in _VENUE.finditer(question):
        name, year = (match["after"], match["year_after"]) if match["after"] else (match["before"], match["year_before"])
        if fold(name) in VENUE_NAMES:
            return name, year
    return None, None


def _stored_venue(name: str, papers: Callable[[], Iterable[Header]]) -> str | None:
    """The longest start of `name` ("Nature in 2020" -> "Nature") that is a venue of the store, as written."""
    stored = {fold(p.venue) for p in papers() if p.venue}
    words = name.rstrip("?.!,;:").split()
    for end in range(len(words), 0, -1):
        if words[end - 1].lower() not in _CONNECTORS and fold(" ".join(words[:end])) in stored:
            return " ".join(words[:end])
    return None


def _full_names(question: str, papers: Callable[[], Iterable[Header]]) -> list[str]:
    """Authors of the store named in full in the question ("Stefano Ermon and Christopher Ré"), as the
    question spells them: runs of capitalised words, each run's longest stretch that is a stored name."""
    runs: list[list[str]] = [[]]
    for token in _TOKEN.findall(question):
        if token[0].isupper() or (runs[-1] and _PARTICLE.fullmatch(token)):  # "Pieter van Dijk" is one run
            runs[-1].append(token.rstrip(",;:?!"))
        elif runs[-1]:
            runs.append([])
    if not any(len(run) > 1 for run in runs):
        return []
    known = {fold(name) for paper in papers() for name in named_authors(paper.authors)[0]}
    found: list[str] = []
    for run in runs:
        start = 0
        while start < len(run) - 1:
            for end in range(len(run), start + 1, -1):  # longest first: "Jimmy T. H. Smith" before "H. Smith"
                if fold(" ".join(run[start:end])) in known:
                    found.append(" ".join(run[start:end]))
                    start = end - 1
                    break
            start += 1
    return list(dict.fromkeys(found))


# "How many papers are about diffusion models?", "How many abstracts mention dropout?", "How many papers are there?"
_HOW_MANY = re.compile(
    r"^\W*how\s+many\s+(?:papers|abstracts|works|articles|publications|studies|preprints)\b(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
# What relates the papers to their topic, and where they are: not part of the topic.
_RELATION_WORDS = """about on concerning regarding discuss discussing discusses study studying studies mention mentioning
    mentions use using uses address addressing addresses cover covering covers deal dealing deals focus focusing
    focuses propose proposing proposes relate related relating consider considering investigate investigating
    examine examining involve involving tackle tackling there here exist existing total collection store corpus
    library database paper papers hold holds have has contain contains include includes"""
_RELATION = frozenset(map(stem, _RELATION_WORDS.split()))

# "that", "them": the topic of an earlier question; "this collection" is the store.
_REFERS = re.compile(
    r"\b(?:it|that|this|these|those|them|they)\b(?!\s+(?:collection|store|corpus|library|database)\b)",
    re.IGNORECASE,
)


def counted_topics(question: str) -> list[list[str]] | None:
    """The topics a "how many papers …" question counts papers on, each as its words as typed ("How many
    papers are about diffusion models?" -> [["diffusion", "models"]]; "… mention dropout or batch norm?" ->
    [["dropout"], ["batch", "norm"]]; [] for "How many papers are there?"), or None for any other question."""
    asked = _HOW_MANY.match(question.strip())
    if asked is None or _DOES.match(asked["rest"]):  # "… did Parnichkun write?", "… does the LoRA paper compare against?"
        return None
    rest = _IN_STORE.sub(" ", asked["rest"])
    topics = []
    for part in re.split(r",|\bor\b|\band/or\b", rest):
        # Unicode words ("Schrödinger"), and names with signs ("C++")
        found = [w.strip(".-") for w in re.findall(r"[^\W_][\w+#.'-]*", part)]
        topic = [w for w in found if w and _topical(w)]
        if topic := [w for w in topic if not w.isdigit()]:
            topics.append(topic)
    if not topics and (_REFERS.search(rest) or any(_topical(w, relations=False) for w in words(rest))):
        return None  # "How many papers are about that?": a follow-up; a topic it could not read is not "all"
    return topics


def topic_runs(text: str) -> list[list[str]]:
    """The runs of topic words in `text`, as typed ("the post-training quantization methods in the corpus" ->
    [["post-training", "quantization"]]; "importance re-weighting for kernel ridge regression" -> [["importance",
    "re-weighting"], ["kernel", "ridge", "regression"]]): a stop word, a word relating papers to a topic or one
    naming the store ends a run."""
    runs: list[list[str]] = [[]]
    for word in (w.strip(".-'") for w in re.findall(r"[^\W_][\w+#.'-]*", text)):
        if word and _topical(word) and not word.isdigit():
            runs[-1].append(word)
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def _topical(word: str, relations: bool = True) -> bool:
    """Whether a word can be part of a count's topic: not a stop word, nor (`relations`) a word that relates
    papers to it ("about", "study") or names the store."""
    terms = content_terms(word) or ([word.lower()] if not word.isascii() or not word.isalnum() else [])
    return bool(terms) and not (relations and any(t in _RELATION for t in terms)) and word.lower() not in _STORE_WORDS


_DOES = re.compile(r"\s*(?:did|does|do)\b(?!\s+(?:the\s+)?(?:store|collection|corpus|library|database|index|you|we|i)\b)", re.IGNORECASE)
_STORE_WORDS = frozenset({"store", "collection", "corpus", "library", "database", "papers", "paper", "abstracts", "here", "there", "total"})
_STORE = r"(?:(?:the|this|your|my)\s+)?(?:store|collection|corpus|library|database|index)"
# "… does the store hold?", "… have been indexed so far?", "… are in the index?", "… do you have?": where the
# papers are, not what they are about ("How many papers study indexed retrieval?" counts "indexed retrieval")
_IN_STORE = re.compile(
    rf"\b(?:(?:does|do)\s+(?:{_STORE}|you|we|i)\s+(?:hold|have|contain|include|know\s+of)"
    rf"|(?:are|is|were|have\s+been|has\s+been)\s+(?:(?:currently|now|already)\s+)?(?:stored|indexed|ingested|loaded|available|in\s+{_STORE}))\b"
    r"(?:\s+(?:so\s+far|currently|now|in\s+total|altogether|here|there))*",
    re.IGNORECASE,
)


def phrase_pattern(topic: Sequence[str]) -> re.Pattern[str]:
    """The topic's words in a row, each a whole word from the start it shares with its stem, any ending after
    it (mentions_topic checks the endings): ["batch", "norm"] finds "batch normalization" and "Batch-Norm";
    "sparsity" (stem "sparsiti") finds "sparsity"; "RL" finds "RL" and not "world"."""
    parts = [f"({re.escape(_lead(w))}\\w*)" for w in topic]
    return re.compile(r"(?<!\w)" + r"[\s-]+".join(parts), re.IGNORECASE)


def mentions_topic(topic: Sequence[str], text: str) -> bool:
    """Whether `text` has the topic's words in a row, each a word whose stem starts with the topic word's:
    "batch normalization" for "batch norm", "theories" for "theory" (not "theoretical" or "theorem")."""
    wanted = [stem(w.lower()) if w.isalpha() else w.lower() for w in topic]
    for found in phrase_pattern(topic).finditer(text):
        said = [stem(w.lower()) if w.isalpha() else w.lower() for w in found.groups()]
        if all(s.startswith(w) for s, w in zip(said, wanted)):
            return True
    return False


def _lead(word: str) -> str:
    """The start a word shares with its stem ("sparsity", "sparsiti" -> "sparsit"; "models" -> "model") and with
    its other spelling ("quantization" -> "quanti", which "quantisation" has too)."""
    low = word.lower()
    stemmed = stem(low) if low.isalpha() else low
    n = 0
    while n < min(len(low), len(stemmed)) and low[n] == stemmed[n]:
        n += 1
    if low.isalpha():
        n = min(n, spelling_site(low))
    return low[: max(n, min(len(low), 3))]


def holds_words(paper: Paper, words: Sequence[str]) -> bool:
    """Whether the paper's id, title, abstract, authors, sources, venue or year hold every one of `words`
    (folded by filters.fold, as substrings): the Papers tab's search, where "sorensen" finds Sørensen."""
    hay = fold(" ".join([paper.id, paper.title, paper.abstract, *paper.authors, *paper.sources, paper.venue or "", str(paper.year or "")]))
    return all(w in hay or (w in VENUE_NAMES and VENUE_NAMES[w] in hay) for w in words)  # "icml": its full name too


def header_text(header: Header) -> str:
    """The header's id, title, authors, venue and year, folded: what a search word is looked for in."""
    return fold(" ".join([header.id, header.title, *header.authors, header.venue or "", str(header.year or "")]))


def asks_for_authors(question: str) -> bool:
    """"Who wrote …?", "Who are the authors of …?", "List the authors of …": a question whose answer is a
    paper's author list (its metadata), not a sentence of its abstract."""
    return bool(_WHO_WROTE.match(question))


# "Who proposed Mamba?", "Who introduced Power Normalization?": the people behind a thing, which the paper
# introducing it names in its author list
_WHO_MADE = re.compile(
    r"^\W*who\s+(?:first\s+|originally\s+)?(?:invented|proposed|introduced|developed|created|coined|designed"
    r"|came\s+up\s+with|originated)\s+(?:the\s+|an?\s+)?(?:(?:term|name|concept|notion|idea)\s+(?:of\s+)?)?"
    r"(?P<x>[^?]+?)\s*\??\s*$",
    re.IGNORECASE,
)


_WHEN_TOO = re.compile(r"(?:,?\s+and\s+when|\s+(?:in|around|back\s+in)\s+(?:19|20)\d\d|\s+first)\s*$", re.IGNORECASE)
_POINTING = frozenset({"it", "them", "this", "that", "these", "those", "they"})


def who_made(question: str) -> str | None:
    """What "Who proposed X?" asks the makers of (X; "… in 2020", ", and when" left off), or None for any other
    question and for "Who proposed it?" (a follow-up: its paper is the one the conversation cited)."""
    found = _WHO_MADE.match(question.strip())
    made = _WHEN_TOO.sub("", found["x"]).strip() if found else ""
    return made if made and made.lower() not in _POINTING else None


def made_elsewhere(question: str, made: str, answered: Answer, paper: Paper, settings_hash: str) -> Answer:
    """An abstention for "Who proposed X?" when the closest paper does not introduce X: it only mentions it (a paper
    comparing against Mamba was answered as if its authors had made it)."""
    closest = f"the closest paper, “{readable_latex(paper.title)}”," if paper.has_title else "the closest abstract"
    text = f"The abstracts do not say who introduced {made}: {closest} does not present it as its own."
    return _record_lacks(question, text, answered, settings_hash)


def asks_for_publication(question: str) -> bool:
    """"When was it published?", "In what year …?", "Where was it published?": a paper's year and venue, its
    metadata, which its abstract rarely states (each was answered with a sentence of the abstract)."""
    found = _WHEN_PUBLISHED.match(question)
    subject = next((g for g in found.groups() if g), "") if found else ""
    return bool(subject) and bool(_A_PAPER.search(subject.strip()))


def byline(paper: Paper) -> str:
    """"A. Author, B. Author and C. Author, 2021" with what is known."""
    names, more = named_authors(paper.authors)
    who = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else (names[0] if names else "")
    if len(names) > 3 or (more and names):
        who = f"{names[0]} et al."
    return ", ".join(part for part in (who, str(paper.year or "")) if part)


def opening(abstract: str) -> str:
    """An abstract's first sentence, the quote of a listing's citation: split without the sentence tokenizer,
    whose import (NLTK's punkt, 2 s) a metadata answer should not wait for."""
    return (rough_sentences(abstract) or [abstract.strip()])[0]


def list_papers(
    question: str,
    wanted: str,
    matching: Sequence[Header],
    fetch: Callable[[Sequence[str]], Mapping[str, Paper]],
    settings_hash: str,
    limit: int,
    ranked: Callable[[], Sequence[Header]] | None = None,
    head: str | None = None,
    describe: Callable[[Paper], Sequence[tuple[str, str]]] | None = None,
) -> Answer:
    """One cited line per matching paper (newest first, or in `ranked` order when the question also names
    a topic), at most `limit`, and how many more there are; `wanted` says what they match ("year 2021"), or
    `head` says the whole opening instead. Only the listed papers are read whole (`fetch`), for the opening
    sentence each citation quotes. `describe`: a paper's sentences saying what it is about, each as (abstract
    sentence, answer sentence), for a question asking what the papers propose or are about."""
    listed = list(ranked() if ranked else sorted(matching, key=lambda p: (-(p.year or 0), p.title)))[:limit]
    whole = fetch([h.id for h in listed])
    chosen = [whole[h.id] for h in listed if h.id in whole]  # one removed meanwhile is left out
    lines = []
    quotes: dict[str, str] = {}
    for n, paper in enumerate(chosen, start=1):
        details = byline(paper)
        said = describe(paper) if describe else []
        if said:
            lines.append(_described(paper, details, [text for _, text in said], n))
            quotes[paper.id] = said[0][0]
            continue
        lines.append(f"“{readable_latex(paper.title)}”" + (f" ({details})" if details else "") + f" [{n}].")
    more = len(matching) - len(chosen)
    one = len(matching) == 1
    head = head or f"{len(matching)} paper{'' if one else 's'} in the store {'matches' if one else 'match'} {wanted}"
    which = f"the {len(chosen)} closest to the question" if ranked else f"the first {len(chosen)}"  # ranked: by relevance
    text = f"{head}{f'; {which}' if more > 0 else ''}: " + " ".join(lines)
    citations = [
        Citation.of(n, paper, quotes.get(paper.id) or opening(paper.abstract))
        for n, paper in enumerate(chosen, start=1)
    ]
    return Answer(
        question=question, text=text, raw_text=text, citations=citations, abstained=False,
        settings_hash=settings_hash, support="strong", mode="metadata",
    )


def _described(paper: Paper, details: str, sentences: Sequence[str], n: int) -> str:
    """A listed paper's sentences, each cited [n], its byline after the title the first one names ("The authors
    of “T” (A. Rivera et al., 2021) propose …"), or before them for a paper without a title."""
    marked = [f"{s[:-1]} [{n}]{s[-1]}" if s[-1:] in ".!?" else f"{s} [{n}]." for s in (t.rstrip() for t in sentences)]
    title = f"“{readable_latex(paper.title)}”"
    if details and paper.has_title and title in marked[0]:
        marked[0] = marked[0].replace(title, f"{title} ({details})", 1)
    elif details:
        marked[0] = f"{details}: {marked[0]}"
    return " ".join(marked)


# "What is each about?", "What did Michael Poli propose?", "Summarize these papers", "What are their main
# contributions?": the question asks what the papers say, so each listed paper says it (prose.gist) — not "Show me
# Bo Chen's papers" or "papers presented at ICML", which ask for the papers.
_GIST = re.compile(
    r"\b(?:what\s+(?:is|are|was|were)\s+(?:each|they|it|these|those|them|the(?:se|ir)?\s+(?:papers?|works?))(?:\s+one)?\s+about"
    r"|propos(?:e|es|ed|als?)|introduc(?:e|es|ed)|contributions?|contribute[sd]?|presents?|stud(?:y|ies|ied)"
    r"|work(?:s|ed)?\s+on|findings?|find|shows|showed|prove[sd]?|summar\w*|overview|gist|main\s+ideas?|key\s+ideas?"
    r"|describe[sd]?|tl;?dr)\b",
    re.IGNORECASE,
)
# A gist question's own words (stems, as text.content_terms gives them): none of them a topic
GIST_TERMS = frozenset({
    "main", "key", "idea", "contribut", "propos", "introduc", "present", "find", "show", "summar", "summari",
    "overview", "gist", "give", "describ", "report", "tl", "dr", "novel", "new", "each", "say", "claim", "prove",
})


def asks_for_gist(question: str) -> bool:
    return bool(_GIST.search(question))


def _record_lacks(question: str, text: str, answered: Answer, settings_hash: str) -> Answer:
    """An abstention saying what the closest paper's record lacks; the papers found stay, shown as closest."""
    return Answer(question=question, text=text, raw_text=text, citations=[], abstained=True,
                  settings_hash=settings_hash, support="none", mode="metadata", passages=answered.passages)


def joined_records(answers: Sequence[Answer]) -> Answer:
    """Metadata answers about several papers ("Who wrote them?"), one after another, each [1] renumbered in
    turn; it abstains only when every one does (no paper's record has what was asked)."""
    if len(answers) == 1:
        return answers[0]
    texts: list[str] = []
    citations: list[Citation] = []
    for answer in answers:
        if answer.citations:
            n = len(citations) + 1
            citations.append(answer.citations[0].model_copy(update={"n": n}))
            texts.append(answer.text.replace("[1]", f"[{n}]"))
        else:
            texts.append(answer.text)
    text = " ".join(texts)
    abstained = all(a.abstained for a in answers)
    support = "none" if abstained else "partial" if any(a.abstained for a in answers) else answers[0].support
    return answers[0].model_copy(
        update={"text": text, "raw_text": text, "citations": citations, "abstained": abstained, "support": support}
    )


def publication_answer(question: str, answered: Answer, paper: Paper, settings_hash: str) -> Answer:
    """"When was it published?" answered from the record of the paper the ordinary answer cites first, as
    authors_answer does; a record without year or venue gets an abstention that says so."""
    where = venue_and_year(paper.venue, paper.year)
    if not where:
        text = (
            f"The store has no year or venue for the closest paper, “{readable_latex(paper.title)}”; its source file gave "
            "none, and its abstract does not say."
        )
        return _record_lacks(question, text, answered, settings_hash)
    said = f"appeared in {where}" if paper.venue else f"is from {where}"
    text = f"“{readable_latex(paper.title)}” {said} [1]."
    return Answer(question=question, text=text, raw_text=text, citations=[Citation.of(1, paper, opening(paper.abstract))],
                  abstained=False, settings_hash=settings_hash, support=answered.support, mode="metadata",
                  passages=answered.passages)


def authors_answer(question: str, answered: Answer, paper: Paper, settings_hash: str) -> Answer:
    """"Who wrote …?" answered from the author list of the paper the ordinary answer cites first
    (`answered`: that answer, which also decided the question is about a paper in the store). A paper
    stored without authors gets an abstention that says so, not a sentence of its abstract."""
    quote = opening(paper.abstract)
    citation = Citation.of(1, paper, quote)
    names, more = named_authors(paper.authors)
    if not names:
        text = (
            f"The store has no author list for the closest paper, “{readable_latex(paper.title)}”; its source file gave none, "
            "and its abstract does not name its authors."
        )
        return _record_lacks(question, text, answered, settings_hash)
    who = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    if more:  # the source named only these: say so rather than pass them off as all
        who = ", ".join(names) + " and others"
    text = f"“{readable_latex(paper.title)}” is by {who}" + (f" ({paper.year})" if paper.year else "") + " [1]."
    return Answer(question=question, text=text, raw_text=text, citations=[citation], abstained=False,
                  settings_hash=settings_hash, support=answered.support, mode="metadata", passages=answered.passages)
