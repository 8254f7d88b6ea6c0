"""Passages -> cited answer. The offline extractive mode: a LlamaIndex query engine that picks the
sentences of the retrieved abstracts that best answer the question and cites each one.
"""

from __future__ import annotations

import json
import math
import re
from abc import abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.response.schema import Response
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from .abstain import (
    YEAR, absent_names, abstention_reason, asking_parts, missing_details, name_parts, names, owners,
    states_the_figure, unstated_parts,
)
from .cite import validate
from .latex import readable_latex
from .listing import mentions_topic, topic_runs
from .config import Settings
from .followup import (
    ACKNOWLEDGED,
    NEEDS_EARLIER,
    Turn,
    acknowledges,
    beyond_cited,
    cited_before,
    cited_paper_text,
    cited_texts,
    conversation_subject,
    followup_query,
    leans_on_earlier,
    missing_antecedent,
    not_to_repeat,
    points_at_a_place,
    points_back,
    previous_questions,
)
from .store import write_atomic
from .prompts import CANNOT_ANSWER
from .spelling import Speller, read_as
from .prose import (
    answer_sentence, asks_for_a_name, asks_for_resources, gives_a_name, in_own_voice, is_meta, leans_back, only_hopes,
    poses_a_question, refers_back, says_its_subject, sets_out, solves_earlier, states_a_claim, states_a_contribution,
)
from .text import STOPWORDS, abbreviations, american, content_terms, rough_sentences, words
from .types import Answer, Citation, Event, Final, Paper, Passage, Status, TextDelta, venue_and_year

if TYPE_CHECKING:
    from .retrieve import PaperRetriever

SentenceSource = Callable[[Sequence[str]], Mapping[str, Sequence[tuple[str, Sequence[float] | np.ndarray]]]]

LEXICAL_WEIGHT = 0.35  # how much exact term overlap adds to embedding similarity
RANK_PENALTY = 0.06  # per rank step: prefer sentences from papers retrieval ranked higher
REDUNDANCY = 0.85  # two sentences this similar say the same thing
# A third sentence of one paper only when it scores within this share of the best: the scores cannot tell it from
# the two before it. Bundled + dev evidence .580 / .642 -> .605 / .675 for 5 more words an answer (QUALITY.md).
NEAR_TIE = 0.95
KEEP_RATIO = 0.82  # a further sentence must score at least this share of the best one
OTHER_PAPER_RATIO = 0.92  # ... and one from a second paper this much, unless several papers are asked for
SEVERAL_KEEP_RATIO = 0.65  # how far down a question asking for several papers may reach
# ... or to any paper whose title holds this share of the question's term weight (corpus idf): "Which papers
# study post-training quantization?" left out NUPES, whose title says so, because the other paper's
# background sentence restated the question (.858) and NUPES's best sentence scored .538. No answer of
# bundled, dev or held-out changes with it (benchmarks/QUALITY.md).
TITLE_SHARE = 0.8
# Which sentence of a paper answers: weights of a pairwise logistic model fitted on bundled + dev (the
# sentence holding an expected quote against the paper's other sentences; benchmarks/fit_sentences.py).
# In-paper top-1 / top-2, 5-fold cross-validated: .490 / .635 with the first four, .479 / .693 with
# "background" and "claim" (an answer cites about two sentences of a paper); dev evidence .608 -> .642
# (benchmarks/QUALITY.md, 2026-12-02). Relative to the cosine.
ANSWER_WEIGHTS = {
    "lexical": 0.526,  # share of the question's corpus-idf weight the sentence holds
    "local": 0.42,  # ... each term weighted by its rarity among the abstract's own sentences
    "opening": -0.335,  # the first sentence sets the scene more often than it answers
    "length": 0.147,  # min(words, 60) / 60: a fragment rarely carries the finding
    "background": -0.484,  # before the authors first speak of their own work: the field, not the finding
    "claim": 0.12,  # says what the paper proposes, shows or finds ("We prove …", "This paper introduces …")
}
# A sentence answering worse than its paper's best ranks this much per unit of the gap below that paper's
# best evidence (rank_score). With the six weights above, bundled + dev evidence .580 / .642 at 0.1 and
# 0.15, .580 / .642 at 0.2 (paraphrase precision .785 not .792), .568 / .642 at 0.3, .568 / .600 at 0.5 and
# .506 / .558 at 1: further down, answers keep fewer of the paper's sentences (benchmarks/QUALITY.md).
ANSWER_GAP = 0.15
# A sentence only posing the abstract's question ("This raises the question of whether …", prose.poses_a_question)
# restates what is asked and answers nothing: it ranks below its paper's other sentences. It stays a candidate, so
# "We answer this question in the affirmative" still brings it as what "this question" is. So does one only hoping
# the work will be of use to others ("We anticipate this thesis will be of interest to anyone …", prose.only_hopes).
NO_FINDING = 1.0
# Asked what something is called ("What is the phenomenon where … known as?"), a sentence giving a name ("This
# phenomenon is known as Neural Collapse (NC).", prose.gives_a_name) ranks above its paper's others, its antecedent
# read before it: the sentence describing the phenomenon shared more words with the question and answered alone.
GIVES_THE_NAME = 1.0
# "What problem does WideNet solve?" asks for the difficulty the paper takes on, which its abstract states before
# the authors speak ("However, weak modeling capacity limits their performance."): for such a question a sentence
# naming a difficulty gains this much, and one of the abstract's background loses nothing for being background
# (the fitted weights pick the finding, which answered "using 0.46 times … parameters, WideNet can still surpass …").
STATES_THE_PROBLEM = 0.3
_ASKS_THE_PROBLEM = re.compile(
    r"^\W*(?:what|which)\s+(?:[\w-]+\s+){0,3}?(?:problems?|issues?|challenges?|difficult(?:y|ies)|gaps?|shortcomings?"
    r"|bottlenecks?|weakness(?:es)?)\s+(?:[\w-]+\s+){0,6}?(?:does|do|did|is|are|was|were|can|could)\s+(?P<subject>.+?)\s+"
    r"(?:(?:\w+\s+)?to\s+)?(?:address|solv|tackl|overcom|fix|mitigat|resolv|target|remed|alleviat)",
    re.IGNORECASE,
)
# ... and so does a question asking what is wrong with X itself: "What problems do temporal GNNs suffer from?", "What
# are the drawbacks of PINNs?", "What is wrong with fixed mesh positions?" (each had quoted the paper's own method:
# "… propose Physics-Informed Gaussians …", not "PINNs often suffer from …"). Not "Why does X perform poorly?": that
# asks the cause ("the statistics of NLP data … exhibit large fluctuations"), which the abstract may give as a finding.
_FAULTS = r"(?:problems?|issues?|challenges?|difficult(?:y|ies)|shortcomings?|bottlenecks?|weakness(?:es)?|drawbacks?|downsides?|disadvantages?|limitations?|pitfalls?)"
_ASKS_A_DIFFICULTY = re.compile(
    r"^\W*(?:what|which)\s+(?:[\w-]+\s+){0,2}?" + _FAULTS + r"\s+(?:do|does|did)\s+(?P<subject>.+?)\s+"
    r"(?:suffer|face|have|has|encounter|run\s+into|exhibit)\b"
    r"|^\W*what\s+(?:is|are|were|was)\s+(?:the\s+|some\s+)?(?:[\w-]+\s+)?" + _FAULTS + r"\s+(?:of|with)\s+(?P<of>.+?)\W*$"
    r"|^\W*what(?:'s|\s+is|\s+was)\s+wrong\s+with\s+(?P<with>.+?)\W*$",
    re.IGNORECASE,
)
_DIFFICULTY = re.compile(
    r"\b(?:fail\w*|suffer\w*|limit(?:s|ed|ing|ations?)?|challeng\w*|difficult\w*|hard(?:er)?|costly|expensive"
    r"|unstable|instabilit\w*|bottlenecks?|problems?|issues?|lack\w*|susceptib\w*|vulnerab\w*|concerns?|degrad\w*"
    r"|struggl\w*|inefficien\w*|drawbacks?|prone|hinder\w*|impractical|prohibitive\w*"
    r"|ill-suited|unsuited|poor(?:ly)?|restrict(?:s|ed|ing)?|encumber\w*|obstacles?|suboptimal|inaccura\w*"
    # ... and a negative result ("… neither perform better nor converge more efficiently than …")
    r"|neither|no\s+better|(?:do|does|did)\s+not\s+(?:perform|improve|outperform|converge|generali[sz]e|help|scale|beat))\b",
    re.IGNORECASE,
)


def problem_of(question: str) -> str | None:
    """What "What problem does X solve?", "Which issues does X aim to mitigate?", "What are the drawbacks of X?" asks the
    difficulty of (X), or None:
    the answer is the difficulty, not the fix, and X's name found the paper but does not choose its sentence."""
    found = _ASKS_THE_PROBLEM.search(question) or _ASKS_A_DIFFICULTY.search(question)
    return next((g for g in found.groups() if g), None) if found else None


# "What did the PowerNorm paper propose?" asks for what the authors say they propose: that sentence ("We propose
# Power Normalization (PN), …") ranks above its paper's others, as a name does for GIVES_THE_NAME. It had answered
# "… extensively test PN for transformers …", which shares more words with the paper's name.
GIVES_THE_CONTRIBUTION = 1.0
# So does a question looking for a way to do something ("Is there a method / work on …?", "Has anyone …?",
# "How can one …?", "Which papers propose …?"), the passive ("Which scores are proposed to …?"), and a question's
# second part asking it ("Which papers study X, and what does each contribute?"): the answer is what a paper offers,
# not its setting ("How can one stop an image generator from reproducing …?" is answered by "we introduce …
# MemControl, that automates …").
# Where a question's asking starts: its opening, past a leading phrase ("For symmetric matrix sensing, does …?", "In
# the Tensor Programs work, can …?"), or a sentence after a statement ("Hypernetworks are slow to train. Is there …?").
_ASKING = r"(?:^|(?<=[.!?])\s+)\W*(?:[^,.?!;]{1,80},\s*)?"
_REMEDIES = r"(?:fix|solv|address|mitigat|overcom|remed|resolv|tackl|alleviat|cure|circumvent|avoid|prevent)"
_ASKS_THE_CONTRIBUTION = re.compile(
    r"(?:^\W*|,\s*(?:and\s+)?|;\s*|\band\s+)what\s+(?:new\s+\w+\s+|\w+\s+)?(?:does|did|do|is|was|were|are)\s+.+?\s+"
    r"(?:propose|introduce|present|contribute|develop|put\s+forward)\b"
    r"|" + _ASKING + r"(?:(?:is|are)\s+there\s+(?:an?|any|some|work|research)\b|has\s+anyone\b|how\s+(?:can|could|should|might)\s+(?:i|we|one|you)\b)"
    r"|^\W*(?:what|which)\s+(?:[\w-]+\s+){0,3}(?:is|are|was|were)\s+(?:\w+\s+)?(?:proposed|introduced|presented|developed)\b"
    r"|^\W*which\s+(?:[\w-]+\s+){0,2}(?:papers?|works?|studies|articles?)\s+(?:\w+\s+)?"
    r"(?:propose|introduce|present|develop|define|design|put\s+forward)"
    # a question asking how a difficulty is met ("… and how is it fixed?", "… fix it by changing …", "…, and is
    # there a simple fix?") is answered by the remedy ("We present a simple solution to this problem …")
    r"|\bhow\s+(?:[\w-]+\s+){0,6}?" + _REMEDIES + r"|\b" + _REMEDIES + r"\w*\s+(?:[\w-]+\s+){0,3}?by\b"
    r"|(?:,\s*(?:and\s+)?|;\s*|\band\s+)(?:is|are)\s+there\s+(?:an?\s+|any\s+)?(?:[\w-]+\s+)?"
    r"(?:fix|solution|remedy|cure|workaround)",
    re.IGNORECASE,
)


# A yes-or-no question ("Can SSMs estimate … as efficiently as Transformers?") is answered by what the authors found
# ("we prove that SSMs can estimate …"), not by what they set out to study ("we theoretically explore in which tasks
# SSMs can be alternatives of Transformers …", which holds more of the question's words): that sentence ranks lower
# in its paper (prose.sets_out). So is "What did X find / show / conclude …?". "Is there …?" and "Has anyone …?" ask
# for a contribution instead.
_YES_NO = re.compile(_ASKING + r"(?:can|could|does|do|did|is|are|was|were|will|would|should|has|have|must)\b", re.IGNORECASE)
_ASKS_THE_FINDING = re.compile(
    r"(?:^\W*|,\s*(?:and\s+)?|\band\s+)what\s+(?:\w+\s+)?(?:does|did|do)\s+.+?\s+"
    r"(?:show|find|conclude|prove|demonstrate|reveal|establish|observe)\b",
    re.IGNORECASE,
)
SETTING_COST = 0.5
# "How does the weight compander regularize a network?" asks the mechanism: the sentence saying by what means ("…
# improve generalization by reparameterizing each weight …") gains MEANS_LIFT over a result holding more of the
# question's words ("We show experimentally that using weight compander … improves the performance …"). Not "How did X
# do / fare / perform …?", "How does X compare …?": they ask how well, or how two differ.
MEANS_LIFT = 0.3
_ASKS_HOW = re.compile(
    _ASKING + r"how\s+(?:does|do|did|is|are|was|were)\s+(?!.*\b(?:compare|compared|differ|different|relate|related|perform|performed|fare|fared|do|does|did)\b)",
    re.IGNORECASE,
)
# "What causes memorization in diffusion models?", "Why does X happen?" ask a cause: the sentence giving one ("We
# hypothesize that this memorization stems from the overparameterization of deep models …") gains CAUSE_LIFT over a
# finding holding more of the question's words ("… regulating the model capacity via PEFT mitigates memorization …").
# Words that bring the cause ("due to", "stems from"), not the effect ("X leads to a smaller Lipschitz constant" had
# answered why batch normalization fails with what PowerNorm does).
CAUSE_LIFT = 0.3
_ASKS_WHY = re.compile(
    _ASKING + r"(?:why\b|what\s+(?:causes?|caused|leads?\s+to|drives?|explains?|underlies)\b"
    r"|what\s+(?:is|are|was|were)\s+(?:the\s+)?(?:root\s+|main\s+|underlying\s+)?(?:causes?|sources?|origins?|reasons?)\b)",
    re.IGNORECASE,
)
_GIVES_A_CAUSE = re.compile(
    r"\b(?:stem(?:s|med)?\s+from|due\s+to|caused\s+by|because|result(?:s|ed)?\s+from|aris(?:e|es|ing)\s+from"
    r"|attribut\w+\s+to|root\s+cause|(?:the|a|its|their)\s+(?:main\s+)?(?:cause|source|origin|reason)\s+(?:of|for|is))\b",
    re.IGNORECASE,
)
_BY_MEANS = re.compile(r"\b(?:by|through)\s+(?:\w+ly\s+)?[a-z]{3,}ing\b|\bby\s+means\s+of\b", re.IGNORECASE)
# "Which papers use PFNs, and what does each use them for?" quoted "We present Prior-Data Fitted Networks (PFNs).":
# every word of it but the verb is the question's or the title's, so it tells the reader nothing the question did not.
# When several papers are asked for, a sentence saying fewer than SAYS_LITTLE words of its own costs LITTLE_COST.
SAYS_LITTLE = 2
LITTLE_COST = 1.0
# (with the stopwords, which already hold "present", "propose", "study", "show", "new", "method", …)
_SAYING_WORDS = frozenset(content_terms("introduce describe use consider develop framework first call term"))
# "How do the two papers … differ in what they study?", "What does each paper investigate?": what the work looks at
# is the answer, the sentence saying what the authors study, consider or propose (prose.says_its_subject) ranks first,
# lifted as a contribution is; it had quoted each paper's results ("… prove generalization bounds for …"). Not "What
# kind of bound does each consider?": that asks for a thing the work looks at, which its findings may say best.
_WORK = r"(?:they|each(?:\s+(?:one|paper|work|study|of\s+them))?|it|the\s+(?:[\w-]+\s+){0,2}(?:papers?|authors|works|studies))"
_LOOKS_AT = r"(?:stud(?:y|ies)|investigates?|considers?|examines?|explores?|focus(?:es)?\s+on|analy[sz]es?|looks?\s+at|works?\s+on)\b"
_ASKS_THE_SUBJECT = re.compile(
    r"\bwhat\s+(?:do|does|did)\s+" + _WORK + r"\s+(?:\w+ly\s+)?" + _LOOKS_AT
    + r"|\bwhat\s+" + _WORK + r"\s+(?:\w+ly\s+)?" + _LOOKS_AT,
    re.IGNORECASE,
)


# Best evidence score from which an answer is "strong" (below it, down to the abstention threshold, "partial").
# On bundled + dev (pooled, 178 answered cases) 91% / 81% of strong answers cited only expected papers,
# 57% / 52% of partial ones (benchmarks/QUALITY.md).
STRONG_EVIDENCE = 0.55
# Sentences before one that "resolves this issue" that an answer may add to say what the issue is: PowerNorm's
# "resolves this issue" needs "the statistics … exhibit large fluctuations" and "This results in instability".
SOLVED_CONTEXT = 2

# "Which papers ...", "compare", "how do they differ": the user wants the literature, not one answer.
_SEVERAL = re.compile(
    r"\b(?:papers|works|studies|abstracts|articles|authors)\b"
    r"|\b(?:which|what|different|several|multiple|various|other)\s+(?:\w+\s+)?(?:approaches|methods|models)\b"
    # ... not the two parts of one named thing ("the two generative models in ΣAE", "… of the quantization paper")
    r"|\btwo\s+(?:\w+\s+)?(?:approaches|methods|models)\b(?!\s+(?:in|of|within|inside|behind)\s+(?:the\s+)?"
    r"(?:(?-i:[\w-]*(?:\w[A-Z]|[\u0370-\u03ff])[\w-]*)|(?:[\w-]+\s+){0,5}(?:paper|work)\b))"
    r"|\b(?:main|major|key|existing|common)\s+(?:approaches|methods|techniques)\s+(?:to|for)\b"  # not "… of the X paper"
    # "how do they differ", "the difference": a comparison; "a different model" is one thing, not several
    r"|\b(?:compar\w*|differ(?:s|ed|ing|ences?)?|contrast\w*|versus|vs\.?|both|either)\b"
    r"|\band\s[^?.]*?\b(?:dis)?agree\b",  # "Do X and Y agree …?" (_COMPARED)
    re.IGNORECASE,
)


def asks_for_several(question: str) -> bool:
    return bool(_SEVERAL.search(question))


# A query typed as a sentence ("Which work …?", "Is there a …?", "Explain …") says how many things it wants; a
# string of search words ("single-index SGD minibatch reuse") does not, and a paper near-tied with the best may be
# the one meant.
_PHRASED = re.compile(
    r"\?\s*$|^\W*(?:what|which|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|can|could|would|will"
    r"|should|has|have|had|explain|describe|tell|give|list|name|find|show|define|summari[sz]e|compare)\b",
    re.IGNORECASE,
)


def phrased(question: str) -> bool:
    """Whether the query is a question or a request in words, not a string of search terms."""
    return bool(_PHRASED.search(question))


# "Summarize …", "give an overview of …", "what is known about …": the user wants the gist, not one sentence.
_SUMMARY = re.compile(
    r"\b(?:summari[sz]e|summary|overview|what is known|survey|review|main (?:findings|results|ideas))\b", re.IGNORECASE
)


def asks_for_summary(question: str) -> bool:
    return bool(_SUMMARY.search(question))


def summary_topic(question: str) -> list[list[str]]:
    """What a summary asks about, as runs of topic words after "summarize", "overview", "what is known"
    ("Summarize what the collection says about prior-data fitted networks" -> [["prior-data", "fitted",
    "networks"]]); [] for any other question."""
    found = _SUMMARY.search(question)
    if not found:
        return []
    # the words of the request ("main findings", "key ideas behind", "research on") are no part of the topic
    runs = [[w for w in run if not set(content_terms(w)) <= _ASKING_ABOUT] for run in topic_runs(question[found.end() :])]
    return [run for run in runs if run]


# "What is X?", "Define X", "What does X stand for?": the reader wants the sentence that introduces X, and
# abstracts introduce a thing where they first name it ("we propose X, a ..."). By similarity alone, a
# question of two words matched any sentence naming X ("... the same X achieves ...").
_DEFINITION = re.compile(
    r"^\s*(?:what\s+(?:is|are)\s+(?:an?\s+|the\s+)?(?P<a>.+?)|define\s+(?P<b>.+?)"
    r"|what\s+does\s+(?P<c>.+?)\s+(?:do|mean|stand\s+for))\s*[?.!]*\s*$",
    re.IGNORECASE,
)


_PAPER_WORDS = re.compile(r"\b(?:papers?|works?|articles?|stud(?:y|ies)|abstracts?|about)\b", re.IGNORECASE)
# "What is the role of …", "What is the main idea?", "What are the advantages?": what they ask about is no term
_NOT_A_TERM = re.compile(
    r"\b(?:of|for|in|on|over|with|to|by|between|under|used|being|main|key|proposed|new|novel|central|core"
    r"|overall|primary|idea|ideas|finding|findings|method|methods|contribution|contributions|advantages?"
    r"|disadvantages?|limitations?|results?|goal|goals|problem|approach|difference|differences|purpose|point)\b",
    re.IGNORECASE,
)


# "How does X work?", "Explain X", "Tell me about X" ask about X as "What is X?" does: an abstract never naming X
# cannot answer them. "How does post-training quantization work?", asked of a library without such a paper, was
# answered from one on quantum circuits, flagged only as partly supported.
_ASKS_ABOUT = re.compile(
    r"^\s*(?:how\s+(?:does|do|did|can|could)\s+(?P<a>.+?)\s+work|(?:explain|describe)\s+how\s+(?P<b>.+?)\s+works?"
    r"|(?:explain|describe)\s+(?!how\b|what\b|why\b|which\b|when\b|whether\b)(?P<c>.+?)"
    r"|(?:tell\s+me|what\s+do\s+you\s+know)\s+about\s+(?P<d>.+?))\s*[?.!]*\s*$",
    re.IGNORECASE,
)


# Where "Explain X …" or "How does X … work" goes on to say how, or of what, it is asked
_TOLD_HOW = re.compile(
    r"[,;:(]|\s+(?:like|as|in|for|to|so|please|briefly|simply|with|using|from|on|at|within|when|while|if|vs\.?|versus)\b",
    re.IGNORECASE,
)


def defined_term(question: str) -> str | None:
    """The term a single "What is X?" asks to define, or one "How does X work?", "Explain X" or "Tell me about
    X" asks about, when it is one (up to six words: "reinforcement learning from human feedback"; a paper's name
    without "paper about"), or None: "What is the role of …?", "What is the main idea?" and "What is PowerNorm?
    How does …?" name no term to look for."""
    if len(asking_parts(question)) != 1 or points_back(question) is not None or points_at_a_place(question):
        return None  # "Tell me about the latter.", "Explain it": a paper of the conversation, no term
    about = _ASKS_ABOUT.match(question)
    term = next((g for g in about.groups() if g), None) if about else asks_for_definition(question, most=6)
    if about and term:  # what X is asked about ends where how to tell it begins: "Explain the NTK like I'm five"
        term = _TOLD_HOW.split(term, maxsplit=1)[0]
    if term and len(term.split()) > 6:
        return None
    term = re.sub(r"^(?:an?|the)\s+", "", _PAPER_WORDS.sub(" ", term or "").strip(), flags=re.IGNORECASE)
    if not term or _NOT_A_TERM.search(term):
        return None
    return term if content_terms(term) else None


def asks_for_definition(question: str, most: int = 4) -> str | None:
    """The term a "what is X?" question asks about (at most `most` words), or None; "What is X called?" asks for
    X's name, not what X is (it abstained: "the closest abstracts do not mention revised hypernetwork formulation
    called")."""
    if asks_for_a_name(question):
        return None
    found = _DEFINITION.match(question)
    term = next((g for g in found.groups() if g), None) if found else None
    return term.strip() if term and len(term.split()) <= most and not asks_for_summary(question) else None


def mentions(term: str, sentence: str, defined: Mapping[str, str]) -> bool:
    """Whether the sentence names the term: as written, by the long form of an abbreviation the abstract
    defines, or by words starting with each of its parts ("PowerNorm": "Power Normalization"), a hyphen read as
    a space ("state space models": "a state-space model")."""
    low = sentence.lower()
    if term.lower() in low or (term in defined and defined[term].lower() in low):
        return True
    # British and American spellings alike ("quantisation": "quantization"), and a word written as it is counts
    # whatever its parts ("GraNd and EL2N": "(GraNd)", "(EL2N)")
    said = [american(part) for word in words(sentence) for part in (word, *word.split("-"))]

    def named(word: str) -> bool:
        if re.search(rf"(?<![a-z0-9]){re.escape(word.lower())}(?![a-z0-9])", low):
            return True
        parts = [american(p) for p in name_parts(word) if p not in STOPWORDS]
        return bool(parts) and all(any(w.startswith(p) for w in said) for p in parts)

    wanted = [word for word in term.split() if [p for p in name_parts(word) if p not in STOPWORDS]]
    return bool(wanted) and all(named(word) for word in wanted)


@dataclass(frozen=True, eq=False)  # compared by identity: the vector is an array
class Candidate:
    paper: Paper
    rank: int
    position: int
    text: str
    vector: np.ndarray
    score: float  # evidence: how well the sentence matches the question (abstention, strength, paper choice)
    rank_score: float = 0.0  # its paper's best evidence, less how much worse it answers than that paper's best
    features: Mapping[str, float] = field(default_factory=dict)  # how it answers, besides its cosine (ANSWER_WEIGHTS)
    cosine: float = 0.0
    title_share: float = 0.0  # share of the question's term weight its paper's title holds


class TermCounts:
    """Papers and, per content term, the papers that use it: counted one paper at a time, so a stream
    read for another purpose (the keyword index) can count them as it goes by."""

    def __init__(self) -> None:
        self.n = 0
        self.df: dict[str, int] = {}

    def add(self, paper: Paper) -> None:
        self.n += 1
        for term in set(content_terms(f"{paper.title} {paper.abstract}")):
            self.df[term] = self.df.get(term, 0) + 1


class TermWeights:
    """Inverse document frequency of content terms over the corpus."""

    def __init__(self, papers: Iterable[Paper], counts: tuple[int, dict[str, int]] | None = None) -> None:
        if counts is None:
            tally = TermCounts()
            for paper in papers:  # one pass, nothing kept: `papers` may stream from the store
                tally.add(paper)
            counts = (tally.n, tally.df)
        self.n = max(1, counts[0])
        self.df = counts[1]

    @classmethod
    def cached(
        cls, papers: Callable[[], Iterable[Paper]], path: Path | None, fingerprint: str, counted: TermCounts | None = None
    ) -> TermWeights:
        """Counted once per corpus and kept at `path` (beside the keyword index): counting took 3 s of a cold
        start at 10k papers (benchmarks/RESULTS.md). `fingerprint` changes with any paper, so it is never
        stale; `papers` is only called to count, and not even then when `counted` holds a whole pass."""
        try:
            data = json.loads(path.read_text()) if path else {}
            if data.get("fingerprint") == fingerprint:
                return cls((), (int(data["n"]), {str(k): int(v) for k, v in data["df"].items()}))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # missing or damaged: count again
        weights = cls((), (counted.n, counted.df)) if counted is not None else cls(papers())
        if path and path.parent.is_dir():
            write_atomic(path, json.dumps({"fingerprint": fingerprint, "n": weights.n, "df": weights.df}))
        return weights

    def idf(self, term: str) -> float:
        return math.log(1 + self.n / (1 + self.df.get(term, 0)))

    def overlap(self, query_terms: set[str], text_terms: set[str]) -> float:
        """Share of the query's term weight found in the text (0..1)."""
        total = sum(self.idf(t) for t in query_terms)
        return sum(self.idf(t) for t in query_terms & text_terms) / total if total else 0.0


class ExtractiveComposer:
    """Scores every sentence of the retrieved abstracts and writes a short answer from the best ones."""

    def __init__(self, settings: Settings, sentences: SentenceSource, weights: TermWeights) -> None:
        self.settings = settings
        self.sentences = sentences
        self.weights = weights

    def candidates(self, question: str, query_vector: Sequence[float], papers: Sequence[Paper]) -> list[Candidate]:
        asked = set(content_terms(question))
        problem = problem_of(question)
        sought = sought_terms(question)
        named = set(content_terms(" ".join(names(question))))  # "PowerNorm", "WikiText-103"
        keep_meta = asks_for_resources(question)  # "where is the code?" is the one time a link answers
        naming = asks_for_a_name(question)
        contribution = problem is None and bool(_ASKS_THE_CONTRIBUTION.search(question))
        subject = problem is None and bool(_ASKS_THE_SUBJECT.search(question))
        how = problem is None and bool(_ASKS_HOW.search(question))
        why = bool(_ASKS_WHY.search(question))
        finding = bool(_YES_NO.search(question) or _ASKS_THE_FINDING.search(question)) and not (contribution or subject)
        several = asks_for_several(question)
        query = np.asarray(query_vector, dtype=np.float64)
        by_paper = self.sentences([p.id for p in papers])
        out: list[Candidate] = []
        for rank, paper in enumerate(papers):
            rows = by_paper.get(paper.id, [])
            if not rows:
                continue
            vectors = np.asarray([vector for _, vector in rows], dtype=np.float64)
            dense = vectors @ query if query.size else np.zeros(len(rows))
            # An abbreviation the abstract defines counts as its long form, in the sentences and the question.
            defined = abbreviations(paper.abstract)
            # A name the question uses that only the title holds ("What is PowerNorm?", an abstract saying
            # "Power Normalization") is in every sentence's context: a sentence is read under its title.
            title_terms = set(content_terms(paper.title)) if paper.has_title else set()
            titled = named & title_terms
            title_share = self.weights.overlap(asked, title_terms)
            q_terms = asked | _expansions(question, defined)
            # A question the abstract asks ("… and how do we find them?") poses the problem and answers nothing: it
            # ranks as a posed question does (NO_FINDING), and stays a candidate for "We attempt to answer this
            # question by …" to bring it (that sentence opened a "which papers" answer with "this question" unsaid)
            kept = [(position, text) for position, (text, _) in enumerate(rows) if keep_meta or not is_meta(text)]
            plain = [set(content_terms(text)) for _, text in kept]
            local = _local_overlaps(sought, plain)
            own_voice = next((i for i, (_, text) in enumerate(kept) if in_own_voice(text)), len(kept))
            found: list[tuple[Candidate, float, float]] = []
            for index, ((position, text), own, near) in enumerate(zip(kept, plain, local)):
                lexical = self.weights.overlap(q_terms, own | _expansions(text, defined) | titled)
                score = float(dense[position]) + LEXICAL_WEIGHT * lexical - RANK_PENALTY * rank
                features = {
                    "lexical": self.weights.overlap(sought, own),
                    "local": near,
                    "opening": float(position == 0),
                    "length": min(len(text.split()), 60) / 60,
                    "background": float(index < own_voice),
                    "claim": float(states_a_claim(text)),
                }
                cand = Candidate(
                    paper, rank, position, text, vectors[position], score,
                    features=features, cosine=float(dense[position]), title_share=title_share,
                )
                answers = float(dense[position]) + sum(ANSWER_WEIGHTS[k] * v for k, v in features.items())
                answers += GIVES_THE_NAME * (naming and gives_a_name(text))
                lift = GIVES_THE_CONTRIBUTION * (
                    (contribution and states_a_contribution(text)) or (subject and says_its_subject(text))
                )
                answers += lift
                answers -= SETTING_COST * (finding and sets_out(text))
                answers += MEANS_LIFT * (how and bool(_BY_MEANS.search(text)))
                answers += CAUSE_LIFT * (why and bool(_GIVES_A_CAUSE.search(text)))
                answers -= LITTLE_COST * (several and len(own - q_terms - title_terms - _SAYING_WORDS) < SAYS_LITTLE)
                if problem is not None:  # the difficulty is the answer, and it is background by nature
                    answers += STATES_THE_PROBLEM * bool(_DIFFICULTY.search(text)) - ANSWER_WEIGHTS["background"] * features["background"]
                asks = text.rstrip().endswith("?") or poses_a_question(text)
                found.append((cand, answers - NO_FINDING * (asks or only_hopes(text)), lift))
            if found:
                # The paper's sentence saying what the authors contribute ranks first when that is asked, and the
                # others keep their distance from the best of the rest: lifted above them, it had pushed them under
                # KEEP_RATIO ("Is there an approach …?" lost the sentence saying how the approach works).
                best_score = max(c.score for c, _, _ in found)
                best_answer = max(a - lift for _, a, lift in found)
                found.sort(key=lambda f: -f[1])  # of equal rank scores, the lifted sentence first
                out += [replace(c, rank_score=best_score - ANSWER_GAP * max(0.0, best_answer - a)) for c, a, _ in found]
        out.sort(key=lambda c: -c.rank_score)
        return out

    def select(
        self, candidates: Sequence[Candidate], several: bool = False, summary: bool = False, hedge: bool = True,
        spanning: Set[str] = frozenset(),
    ) -> list[Candidate]:
        """Best sentences, no two saying the same thing, at most two per paper (a third on a NEAR_TIE with the
        best; one when several papers are asked for, to cover more of them; up to the answer's length for a
        summary of one);
        a second paper only on near-equal evidence unless the question asks for several (then down to
        SEVERAL_KEEP_RATIO of the best, or any paper whose title names what is asked: TITLE_SHARE); with
        `hedge` False (a question in words asking for one thing: `phrased`), never a second paper."""
        if not candidates:
            return []
        if summary and spanning:
            return self.across(candidates, spanning)
        best = candidates[0].rank_score
        keep = (SEVERAL_KEEP_RATIO if several or summary else KEEP_RATIO) * best
        new_paper = (SEVERAL_KEEP_RATIO if several else OTHER_PAPER_RATIO) * best
        per_paper_cap = (2 if summary else 1) if several else (self.settings.answer_sentences if summary else 3)
        # "Which papers …?": a sentence from each relevant paper, as many papers as an answer may cite (5)
        most = self.settings.answer_sentences
        if several and not summary:
            most = max(most, self.settings.answer_papers)
        chosen: list[Candidate] = []
        per_paper: dict[str, int] = {}
        for cand in candidates:
            if len(chosen) >= most:
                break
            # "Which papers study X?": a paper whose title names X studies it, however its sentences score
            by_title = several and cand.paper.id not in per_paper and self.titled(cand)
            if cand.rank_score < keep and not by_title:
                continue
            if per_paper.get(cand.paper.id, 0) >= per_paper_cap:
                continue
            if per_paper.get(cand.paper.id, 0) >= 2 and not summary and cand.rank_score < NEAR_TIE * best:
                continue
            if cand.paper.id not in per_paper and (
                len(per_paper) >= (self.settings.answer_papers if several or summary or hedge else 1)
                or (cand.rank_score < new_paper and not by_title)
            ):
                continue
            if _says_again(cand, chosen):
                continue
            chosen.append(cand)
            per_paper[cand.paper.id] = per_paper.get(cand.paper.id, 0) + 1
        if several and not summary and len(per_paper) == 1:  # "compare …" that one paper answers: two sentences
            for cand in candidates:
                if per_paper.get(cand.paper.id, 2) < 2 and cand.rank_score >= keep and not _says_again(cand, chosen):
                    chosen.append(cand)
                    break
        return chosen

    def across(self, candidates: Sequence[Candidate], spanning: Set[str]) -> list[Candidate]:
        """A summary of a topic several papers name (`spanned`): the best sentence of each (at most answer_papers),
        then a second one of each, best first, while the answer has room (its length, or two sentences a paper up to
        answer_papers sentences)."""
        floor = self.settings.abstain_threshold
        chosen: list[Candidate] = []
        for cand in candidates:
            if len(chosen) >= self.settings.answer_papers:
                break
            if cand.paper.id in spanning and cand.score >= floor and all(c.paper.id != cand.paper.id for c in chosen):
                if not _says_again(cand, chosen):
                    chosen.append(cand)
        most = max(self.settings.answer_sentences, min(2 * len(chosen), self.settings.answer_papers))
        bar = SEVERAL_KEEP_RATIO * candidates[0].rank_score
        for cand in candidates:
            if len(chosen) >= most:
                break
            mine = [c for c in chosen if c.paper.id == cand.paper.id]
            if len(mine) == 1 and cand is not mine[0] and cand.rank_score >= bar and not _says_again(cand, chosen):
                chosen.append(cand)
        return chosen

    def spanned(self, question: str, candidates: Sequence[Candidate], papers: Sequence[Paper]) -> frozenset[str]:
        """The papers a summary of a topic draws on: those of `papers` whose title or abstract names every run of its
        topic (summary_topic, listing.mentions_topic), when there are several and the best evidence's paper is one.
        "Summarize what the collection says about prior-data fitted networks" quoted one of the two PFN papers, where
        "Which papers use prior-data fitted networks?" cited both. Empty for a summary of one paper ("the X paper")."""
        topic = summary_topic(question)
        if not topic or not candidates or identifying(question):
            return frozenset()
        on = {p.id for p in papers if all(mentions_topic(run, f"{p.title}\n{p.abstract}") for run in topic)}
        return frozenset(on) if len(on) > 1 and candidates[0].paper.id in on else frozenset()

    def titled(self, cand: Candidate) -> bool:
        """Whether the candidate's paper has a title naming what is asked (TITLE_SHARE) and the sentence is evidence."""
        return cand.title_share >= TITLE_SHARE and cand.score >= self.settings.abstain_threshold

    def beside(
        self, question: str, query_vector: Sequence[float], papers: Sequence[Paper], given: Sequence[Paper]
    ) -> list[Paper]:
        """Of `papers` (found for "Which other papers study X?", `given` among them: those the conversation cited),
        the others a "Which papers study X?" answer citing `given` would cite too, as select reads several papers:
        best evidence within SEVERAL_KEEP_RATIO of the best paper's and over the abstention threshold, or a title
        naming X. Left out of the ranking, the cited papers no longer set the bar: the rest moved up a rank and
        past the threshold, and a paper on single-index models answered which others study flow matching."""
        candidates = self.candidates(question, query_vector, papers)
        if not candidates:
            return []
        bar = max(SEVERAL_KEEP_RATIO * candidates[0].rank_score, self.settings.abstain_threshold)
        cited = {p.id for p in given}
        others = {c.paper.id for c in candidates if c.paper.id not in cited and (c.rank_score >= bar or self.titled(c))}
        return [p for p in papers if p.id in others]

    def compose(
        self,
        question: str,
        query_vector: Sequence[float],
        papers: Sequence[Paper],
        settings_hash: str,
        said: Sequence[str] = (),
        asked: str | None = None,
        each: bool = False,
        compares: str | None = None,
    ) -> tuple[Answer, list[str]]:
        """The answer, and its sentences one by one (for streaming). `said`: earlier answers in the
        conversation, whose sentences a follow-up's answer does not repeat (unless nothing else is left).
        `asked`: the user's own question when `question` is a follow-up's search query (the earlier question
        and this one): its parts, and the details it asks for, are this question's alone. `each`: `papers` are
        what the question asks about ("How do they differ?"), and each of them is answered from. `compares`:
        the question naming the two things a follow-up compares ("Compare X and Y" before "How do they differ?")."""
        own = asked or question
        sides = compares or own  # what is compared, if anything
        candidates = speaking_of_both(self.candidates(question, query_vector, papers), own)
        several = asks_for_several(question)
        if not (several or each or len(asking_parts(own)) > 1):
            candidates = from_the_named(own, candidates, papers)
        by_title = names_the_papers(sides, papers)
        threshold = -math.inf if by_title else self.settings.abstain_threshold
        drawn = self.drawn(question, candidates, papers, own)
        sources = [titled_text(p) for p in drawn]
        # "How many bits …? Can that be estimated …?": the second is answered, the first is said to be not
        missing = unstated_parts(own, sources[0], sources, *records(drawn)) if sources else []
        if self.why_not(question, candidates, papers, threshold, asked=own, unstated=missing):
            return self.abstain(question, papers, settings_hash)
        parts = asking_parts(own)
        unstated = [part for part, _ in missing]
        unsaid = fresh = not_yet_said(candidates, said)
        if said and candidates and (not fresh or drifts(fresh[0], candidates[0])):
            # the earlier answers gave what the best paper says on this, and another paper's leftovers are weaker
            # than a second paper needs: the best paper's unsaid sentences, or its best sentence once more ("Is that
            # better than diffusion models?" after two answers from the flow-matching paper was answered from two
            # fine-tuning papers' leftovers)
            fresh = [c for c in fresh if c.paper.id == candidates[0].paper.id] or candidates[:1]
        # a follow-up's query ends on the user's own words: "What is grokking? Tell me more." asks no definition
        term = asks_for_definition(own if question.endswith(own) else question)
        summary = asks_for_summary(question)
        spanning = self.spanned(own, candidates, papers) if summary and not several and not said else frozenset()
        chosen = self.select(
            naming_first(fresh or candidates, term), several, summary, hedge=not phrased(own), spanning=spanning
        )
        selected = chosen
        chosen = with_answer_said_before(chosen, candidates, fresh, own)
        again = chosen is not selected  # that sentence answers the follow-up: it reads first
        chosen = with_introduction(chosen, candidates, term)
        uncontrasted = chosen
        chosen = with_contrast(chosen, candidates, sides)
        if said and chosen is not uncontrasted and all(chosen[-1] is not c for c in fresh):
            # "How do they differ?" after the answer that quoted how: that sentence answers it again, first
            chosen, again = [chosen[-1], *uncontrasted], True
        if not (several or summary or each or len(parts) > 1 or compared(sides)):
            chosen = with_the_rest_asked(chosen, candidates, own, self.weights)
        detailed = chosen
        chosen = with_stated_details(chosen, candidates, own)
        chosen = with_the_figure(chosen, candidates, own)
        stated = chosen[-1] if chosen is not detailed else None  # the one sentence stating what is asked for
        if by_title:  # "Compare MemControl and SaRA": each paper named, however little its sentences share with two names
            chosen = with_each_named(chosen, candidates, sides)
        if each:
            chosen = with_every_paper(chosen, [*fresh, *candidates], papers)
        if len(parts) > 1:  # "What is Sign-RIP? What does small initialization do?": a sentence for each
            chosen = with_each_part(
                chosen, fresh or candidates, parts, self.weights, self.settings.abstain_threshold, unanswered=unstated
            )
        # a definition reads first, then what else is said; so does the best evidence of a question asking one thing
        # (the sentences beside it in the abstract's order read as background before the answer: "A line of work
        # has studied … Ω(N) neurons" opened the answer to how many neurons the paper's bound needs)
        # A comparison reads in the abstract's order: its contrast ("Unlike diffusion models, …") before the rest
        one_thing = not (several or summary or each or len(parts) > 1 or compared(sides))
        lead = chosen[0] if (term or again or one_thing) and chosen else None
        if one_thing and not term and not again and stated is not None and stated in chosen:
            # "What datasets … and by how much does it beat LayerNorm?": "PN outperforms LN by 0.4/0.6 BLEU on
            # IWSLT14/WMT14 …" is the answer, and read last, after four sentences of the paper's story
            lead = stated
        if one_thing and not term and not again and lead is not None and states_the_figure(own, lead.text) is False:
            # "How much memory does SaRA save?": the sentence saying something of memory reads first, not the one
            # giving "10% to 20% of parameters"; "What percentage of model parameters does MemControl fine-tune?": the
            # one saying "as few as 0.019% of model parameters", not the framework's "To identify these subsets, …"
            speaks = [c for c in chosen if c.paper.id == lead.paper.id and states_the_figure(own, c.text)]
            if speaks:
                lead = speaks[0]
        paper_order = list(dict.fromkeys(c.paper.id for c in chosen))
        picked = {id(c) for c in chosen}  # each paper's quote is a sentence chosen for the question, not its context
        context = with_antecedents(chosen, candidates)
        if fresh and len(fresh) < len(candidates):  # a follow-up: what the last answers said, the reader has read
            kept = {id(c) for c in (*chosen, *fresh)}
            context = [c for c in context if id(c) in kept]
        chosen = context
        leading = lead_group(lead, chosen)
        chosen.sort(key=lambda c: (paper_order.index(c.paper.id), (c.paper.id, c.position) not in leading, c.position))
        numbers = {pid: i for i, pid in enumerate(paper_order, start=1)}
        pieces: list[str] = []
        named: set[str] = set()
        spoken: set[str] = set()
        for before, cand in zip([None, *chosen], chosen):
            follows = before is not None and (before.paper.id, before.position) == (cand.paper.id, cand.position - 1)
            body = answer_sentence(
                cand.text, cand.paper, name_it=cand.paper.id not in named, follows=follows, introduce=len(paper_order) > 1,
                spoken=cand.paper.id in spoken,
            ).rstrip()
            named.add(cand.paper.id)
            if re.search(r"\b(?:the authors|they)\b", body, re.IGNORECASE):  # what a later "our" can be "their" of
                spoken.add(cand.paper.id)
            if body[-1:] in ".!?":
                pieces.append(f"{body[:-1]} [{numbers[cand.paper.id]}]{body[-1]}")
            else:
                pieces.append(f"{body} [{numbers[cand.paper.id]}].")
        raw = " ".join(pieces)
        checked = validate(raw, len(paper_order))
        best_quote: dict[str, Candidate] = {}
        for cand in sorted(chosen, key=lambda c: id(c) not in picked):
            best_quote.setdefault(cand.paper.id, cand)
        by_id = {c.paper.id: c.paper for c in chosen}
        citations = [
            Citation.of(i, by_id[pid], best_quote[pid].text)
            for i, pid in enumerate(paper_order, start=1)
        ]
        answer = Answer(
            question=question,
            text=checked.text,
            raw_text=raw,
            citations=citations,
            abstained=False,
            settings_hash=settings_hash,
            support="strong" if (candidates[0].rank_score >= STRONG_EVIDENCE or defines(lead, term)) and not unstated
            else "partial",
            mode="extractive",
            notice=" ".join(
                [f"The closest abstract does not answer this part of the question: “{part.strip()}”" for part in unstated]
                + [SAID_BEFORE] * (bool(said) and not any(c is u for c in chosen for u in unsaid))
                + [unchecked_years(own, [by_id[pid] for pid in paper_order])]
                + [unchecked_owners(own, [by_id[pid] for pid in paper_order])]
            ).strip() or None,
        )
        return answer, [p + (" " if i < len(pieces) - 1 else "") for i, p in enumerate(pieces)]

    def why_not(
        self, question: str, candidates: Sequence[Candidate], papers: Sequence[Paper], threshold: float,
        asked: str | None = None, unstated: Sequence[tuple[str, list[str]]] | None = None,
    ) -> str | None:
        """Why these candidates cannot answer the question (abstain.abstention_reason), or None. `threshold`
        is the evidence score to reach: benchmarks/fit_abstention.py calibrates it through this method.
        `unstated`: the question's unstated_parts for the papers drawn on, when the caller has worked them out."""
        own = asked or question
        best = candidates[0].rank_score if candidates else None  # the best evidence score (see candidates)
        drawn = self.drawn(question, candidates, papers, own)
        sources = [titled_text(p) for p in drawn]
        published, undated, unauthored = records(drawn)
        reason = abstention_reason(
            question, best, sources, threshold, published, asked=own, undated=undated, unauthored=unauthored,
            unstated=unstated,
        )
        # "What is contrastive learning?" was answered from a paper that never names it: a definition needs the term
        term = defined_term(own)
        # each word as a word's start ("contrastive", not the "contrast" of "in contrast"); a plural as its singular
        one = " ".join(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in (term or "").split())
        if reason is None and term and drawn and not any(mentions(one, s, abbreviations(s)) for s in sources):
            return f"the closest abstracts do not mention {term}"
        return reason

    @staticmethod
    def drawn(question: str, candidates: Sequence[Candidate], papers: Sequence[Paper], own: str) -> list[Paper]:
        """Where the answer would come from, so where names and details are looked for: the best paper, or the
        first three when several papers or several parts are asked for."""
        several = asks_for_several(question) or len(asking_parts(own)) > 1
        return list(papers[:3]) if several else [c.paper for c in candidates[:1]]

    def abstain(self, question: str, papers: Sequence[Paper], settings_hash: str) -> tuple[Answer, list[str]]:
        closest = "; ".join(f"“{readable_latex(p.title)}”" for p in papers[:3])
        text = CANNOT_ANSWER + (f"\n\nClosest abstracts: {closest}." if closest else "")
        answer = Answer(
            question=question, text=text, raw_text=text, citations=[], abstained=True, settings_hash=settings_hash
        )
        return answer, [text]


def from_the_named(question: str, candidates: list[Candidate], papers: Sequence[Paper]) -> list[Candidate]:
    """A question asking one thing about a paper's name ("How does SaRA reduce …?") is answered from that paper: when
    the best sentence's paper does not mention a name (the answer would abstain for it, abstain.absent_names) that
    another retrieved paper's title holds, and that paper mentions every name, that paper's sentences. "How does
    SaRA reduce the number of trainable parameters?" had the intrinsic-dimension paper's sentence on trainable
    parameters first, and abstained. A name only another abstract mentions ("WikiText-103", "KL") is a detail that
    paper may share with the question by chance: measured, it answered two dev near-misses from the wrong paper."""
    if not candidates:
        return candidates
    absent = absent_names(question, [titled_text(candidates[0].paper)], *records([candidates[0].paper]))
    if not absent:
        return candidates
    holders = {
        p.id for p in papers
        if all(_in_title(name, p.title) for name in absent) and not absent_names(question, [titled_text(p)], *records([p]))
    }
    return [c for c in candidates if c.paper.id in holders] or candidates


def _in_title(name: str, title: str) -> bool:
    """The name as a word of the title, or its plural ("PFN" in "… Prior-Data Fitted Networks (PFNs)"), not the start of
    a longer word: "Bayes optimal" named the paper on "… Bayesian Deep Learning", not the one ranked first, whose
    answer ("we provide explicit activation functions …") never says "Bayes"."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?:s|es)?(?![\w])", title, re.IGNORECASE) is not None


def records(drawn: Sequence[Paper]) -> tuple[list[str], bool, bool]:
    """What the papers' records say beside their abstracts, as abstain.absent_names reads it: venues, years and
    authors ("the NeurIPS 2020 paper on diffusion", "Jacot's NTK paper" name a record, not a word of the
    abstract); whether none has a year on record (a year cannot be checked), or authors."""
    published = [venue_and_year(p.venue, p.year) for p in drawn] + [" ".join(p.authors) for p in drawn]
    undated = bool(drawn) and all(p.year is None for p in drawn)  # a year on record is checked against it
    unauthored = bool(drawn) and not any(p.authors for p in drawn)
    return published, undated, unauthored


def titled_text(paper: Paper) -> str:
    """The title and abstract as one text of sentences: the title ends with a stop, so it is no part of the
    abstract's first sentence ("MemControl: … Selection Diffusion models excel …" read as one)."""
    title = paper.title.rstrip()
    return f"{title}{'' if title.endswith(('.', '?', '!')) else '.'} {paper.abstract}"


def unchecked_years(question: str, cited: Sequence[Paper]) -> str:
    """What an answer says when the question names a year ("the 2018 NTK paper") that no record of the papers it
    cites can confirm (abstain.absent_names lets such a year pass), or ""."""
    years = [token for token in names(question) if YEAR.fullmatch(token)]
    undated = [p for p in cited if p.year is None]
    if not years or not undated:
        return ""
    which = "the cited paper" if len(cited) == 1 else "the cited papers" if len(undated) == len(cited) else "some of the cited papers"
    return f"No year is on record for {which}: the question's {' and '.join(years)} was not checked."


def unchecked_owners(question: str, cited: Sequence[Paper]) -> str:
    """As unchecked_years, for a name owning a paper ("Jacot's NTK paper", abstain.owners) when no cited paper has
    authors on record (abstain.absent_names lets it pass), or "". A name the cited papers' texts say owns no paper:
    "ViT's trainable parameters", "WideNet's improvement" and "Student's t processes" are the abstracts' own words."""
    said = " ".join(f"{p.title} {p.abstract}" for p in cited)
    unchecked = [  # ... said as a cited person ("Bengio (2003)", "Bengio et al.") it is still one to check
        name for name in owners(question)
        if not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])(?!\s*(?:\(\d{{4}}|,\s*\d{{4}}|et\s+al))", said)
    ]
    if not unchecked or not cited or any(p.authors for p in cited):
        return ""
    which = "the cited paper" if len(cited) == 1 else "the cited papers"
    return f"No authors are on record for {which}: the question's {' and '.join(unchecked)} was not checked."


SAID_BEFORE = (
    "The earlier answers already quoted what the abstracts say on this; this answer repeats the closest of those sentences."
)
PART_HELD = 0.5  # share of a question part's term weight a weakly scored sentence must hold to answer it (with_each_part)
REPEAT = 0.8  # content-term F1 from which an answer sentence says what an earlier one said


def _repeats(terms: set[str], said: set[str]) -> bool:
    """Whether a sentence with content terms `terms` says what one with `said` said: their F1 is REPEAT or more."""
    return bool(terms and said) and 2 * len(terms & said) / (len(terms) + len(said)) >= REPEAT


def drifts(fresh: Candidate, best: Candidate) -> bool:
    """Whether a follow-up's best unsaid sentence leaves the best paper for one weaker than a second paper needs."""
    return fresh.paper.id != best.paper.id and fresh.rank_score < OTHER_PAPER_RATIO * best.rank_score


def not_yet_said(candidates: Sequence[Candidate], said: Sequence[str]) -> list[Candidate]:
    """The candidates whose sentence no earlier answer already gave. The answers are split by text.rough_sentences:
    a follow-up is a question, and the sentence tokenizer's import (NLTK, 2 s) belongs to ingest."""
    earlier = [set(content_terms(s)) for answer in said for s in rough_sentences(answer)]
    if not earlier:
        return list(candidates)

    def repeated(terms: set[str]) -> bool:
        return any(_repeats(terms, e) for e in earlier)

    return [c for c in candidates if not repeated(set(content_terms(c.text)))]


# "What does the in-context autoregressive learning paper find about attention heads?": the words naming the paper
# ("work" is left out: "Does the dropout regularizer work for …?" names no paper)
_THE_PAPER = re.compile(r"\bthe\s+((?:[\w-]+\s+){1,6}?)(?:paper|study|article|abstract|thesis)\b", re.IGNORECASE)
# What a question asks of a paper it names, when it asks nothing else ("Summarize the X paper"): no sentence says it
_REQUESTS = frozenset(content_terms("summarize summarise summary describe explain overview tell find show say propose "
                                    "introduce main key result results contribution contributions idea ideas about"))
# ... and what a summary asks of a topic ("Summarize the main findings on neural collapse")
_ASKING_ABOUT = _REQUESTS | frozenset(content_terms(
    "findings finding research literature progress behind state art recent current overall general ideas"
))


def identifying(question: str) -> set[str]:
    """The content terms of the question that say which paper it is about ("the in-context autoregressive learning
    paper"): they found the paper, and every sentence of it that repeats them (its naming sentence, "The authors call
    the resulting procedure in-context autoregressive learning") outscored the one about attention heads."""
    return {t for m in _THE_PAPER.finditer(question) for t in content_terms(m[1])}


def _local_overlaps(asked: set[str], sentences: Sequence[set[str]]) -> list[float]:
    """Per sentence, the share of the question's terms it holds, each weighted by its rarity among these
    sentences (log(1 + n/df)): inside one abstract, the term that singles out a sentence is what is asked."""
    n = len(sentences)
    idf = {t: math.log(1 + n / df) for t in asked if (df := sum(t in s for s in sentences))}
    total = sum(idf.values())
    return [sum(idf[t] for t in s if t in idf) / total if total else 0.0 for s in sentences]


def _expansions(text: str, defined: Mapping[str, str]) -> set[str]:
    """Content terms of the long forms of the abbreviations `text` uses."""
    return {t for short, long in defined.items() if re.search(rf"\b{re.escape(short)}\b", text) for t in content_terms(long)}


# How close the best sentence of a paper naming a defined term must come to the best of one that names only its
# words apart to answer instead (naming_first)
NAMING_RATIO = 0.7
_ARTICLE = re.compile(r"^(?:an?|the)\s+", re.IGNORECASE)


# The authors presenting a thing ("we propose", "we introduce a framework, X", "a formulation that we call X"): the
# term is what follows the verb
_PRESENTS = re.compile(
    r"\b(?:we|the\s+authors|this\s+(?:paper|work|thesis))\s+(?:\w+ly\s+)?(?:also\s+)?(?:propose|introduce|present|develop"
    r"|design|devise|formulate|construct|build|set\s+out|call|term|name|dub|coin)\w*\b"
    # ... or a name the abstract gives its thing ("the RFC algorithm, also called the Bonsai algorithm"), not one the
    # field gives ("is known as", "commonly called")
    r"|(?<!commonly\s)(?<!usually\s)(?<!often\s)\b(?:also\s+)?(?:called|termed|dubbed|coined)\b",
    re.IGNORECASE,
)
# Words naming a kind of thing after its name ("the MAD pipeline", "Bonsai representations"), left out to find it
_KIND_WORDS = re.compile(
    r"\s+(?:pipeline|method|model|algorithm|approach|framework|architecture|representations?|technique|scheme|"
    r"procedure|network|layer|loss|metric|benchmark|dataset|hypothesis)s?$",
    re.IGNORECASE,
)


def introduces(paper: Paper, term: str) -> bool:
    """Whether the paper presents the term as its own: its title's own name is it ("PowerNorm: Rethinking …"), or an
    authors' verb of presenting has it within the next words ("we propose Power Normalization (PN)", "… that we call
    Magnitude Invariant Parametrizations"), not a mention ("We show that Hyena outperforms Mamba")."""
    defined = abbreviations(paper.abstract)
    names = [term, *([short] if (short := _KIND_WORDS.sub("", term)) != term and short else [])]
    own = paper.title.split(":")[0] if paper.has_title and ":" in paper.title else ""
    own = own if len(own.split()) <= 3 else ""  # a name ("PowerNorm: …"), not a topic ("Neural Collapse in Deep …: …")
    if own and any(mentions(name, own, defined) for name in names):
        return True
    for sentence in rough_sentences(paper.abstract):
        for verb in _PRESENTS.finditer(sentence):
            after = sentence[verb.end() : verb.end() + 120]
            if any(mentions(name, after, defined) for name in names):
                return True
    return False


def defines(lead: Candidate | None, term: str | None) -> bool:
    """Whether the answer's first sentence says what the asked term is: it spells out the acronym ("… group-relative
    policy optimization (GRPO) …" for "What does GRPO stand for?"), opens on the term saying what it is
    ("Over-squashing, the compression of …"), or is the paper presenting it as its own ("We propose Adaptive Momentum
    Warmup (AMW)"). A short question's words score low against any sentence: "What is AMW?" and "Define
    over-squashing" were "partial" beside the answers' own definitions; "What is over-squashing?" was "strong"."""
    if lead is None or not term:
        return False
    defined = abbreviations(lead.paper.abstract)
    if not mentions(term, lead.text, defined):
        return False
    long_form = next((full for short, full in defined.items() if short.lower() == term.lower()), None)
    if long_form is not None and long_form.lower() in lead.text.lower():
        return True
    if re.match(rf"(?:an?\s+|the\s+)?{re.escape(term)}\b\s*(?:,|\(|is\b|are\b|refers\b|denotes\b|means\b)", lead.text, re.I):
        return True
    return introduces(lead.paper, term) and bool(_PRESENTS.search(lead.text))


def names_as_phrase(term: str, paper: Paper) -> bool:
    """Whether the paper's title or abstract writes the term's words together, in any inflection ("Neural
    Processes" names "neural process"; "Neural Network Gaussian Processes" does not)."""
    parts = _ARTICLE.sub("", term).split()
    if not parts:
        return False
    pattern = r"[\s-]+".join(re.escape(w.lower()[: max(4, len(w) - 2)]) + r"\w*" for w in parts)
    return re.search(rf"\b{pattern}\b", f"{paper.title} {paper.abstract}".lower()) is not None


def naming_first(candidates: Sequence[Candidate], term: str | None) -> Sequence[Candidate]:
    """For "What is a neural process?" (a term of two words or more): when the best paper names only the term's
    words apart ("Neural Network Gaussian Processes") and a close one names the term itself ("A Neural Process
    (NP) estimates …"), the candidates of the papers naming it; of those, a close paper introducing the term's; else
    the candidates as they are."""
    if not term or not candidates:
        return candidates
    if len(content_terms(term)) >= 2 and not names_as_phrase(term, candidates[0].paper):
        naming = [c for c in candidates if names_as_phrase(term, c.paper)]
        if naming and naming[0].rank_score >= NAMING_RATIO * candidates[0].rank_score:
            candidates = naming
    # ... and a close paper presenting X as its own (`introduces`) before one using it: "What are prior-data fitted
    # networks?" was answered from a paper applying PFNs, "We describe the first application of PFNs in this context"
    # one check a paper, in the candidates' order (a paper has a candidate for each of its sentences)
    papers = list({c.paper.id: c.paper for c in candidates}.values())
    if introduces(papers[0], term):
        return candidates
    made = next((p.id for p in papers if introduces(p, term)), None)
    maker = next((c for c in candidates if c.paper.id == made), None)
    if maker is not None and maker.rank_score >= NAMING_RATIO * candidates[0].rank_score:
        return [c for c in candidates if c.paper.id == maker.paper.id]
    return candidates


def with_introduction(chosen: list[Candidate], candidates: Sequence[Candidate], term: str | None) -> list[Candidate]:
    """For "what is X?": the first sentence of the answer's paper that names X leads, then the best others
    (as many as before, at least one); unchanged when no sentence names it."""
    if not term or not chosen:
        return chosen
    paper = chosen[0].paper
    defined = abbreviations(paper.abstract)
    own = sorted((c for c in candidates if c.paper.id == paper.id), key=lambda c: c.position)
    intro = next((c for c in own if mentions(term, c.text, defined)), None)
    if intro is None:
        return chosen
    return [intro, *(c for c in chosen if c is not intro)][: max(2, len(chosen))]


# "Compare X and Y", "How does X compare with Y?", "X versus Y": the two things compared.
# Matched on the question with its spaces collapsed and its closing punctuation stripped: single spaces and a
# greedy last group keep the match linear (with `\s+` and a lazy `.+?\W*$` a run of spaces took minutes).
_COMPARED = re.compile(
    r"^(?:compare|contrast) (?P<a>.+?) (?:and|with|to|against) (?P<b>.+)$"
    # "Which papers compare SSMs with transformers?": papers that set the two against each other (speaking_of_both)
    r"|^(?:which|what|any) (?:papers|works|studies|articles) (?:\w+ )?(?:compare|contrast) (?P<k>.+?) (?:and|with|to|against) (?P<l>.+)$"
    r"|^(?:how (?:does|do|did|is|are) )?(?P<c>.+?) (?:compare|differ|contrast)s? (?:with|to|from|against) (?P<d>.+)$"
    r"|^(?P<e>.+?) (?:vs\.?|versus) (?P<f>.+)$"
    r"|^(?:what(?:'s| is| are) )?(?:the )?differences? between (?P<g>.+?) and (?P<h>.+)$"
    r"|^(?:how (?:is|are) )?(?P<i>.+?) (?:different|distinct) from (?P<j>.+)$"
    # "Do the NTK paper and the feature learning paper agree on whether …?": one abstention had answered from one
    r"|^(?:do|did|does) (?P<m>.+?) and (?P<n>.+?) (?:dis)?agree\b.*$",
    re.IGNORECASE,
)
# A sentence that sets one thing against another
_CONTRAST = re.compile(
    r"\b(?:unlike|in contrast|whereas|compared (?:to|with)|than|versus|vs\.?|instead of|differs?|differences?|different"
    r"|outperform\w*|comparable)\b",
    re.IGNORECASE,
)
# ... and says how they differ, not only which scores higher or that they are alike ("comparable to", "outperforms")
_DIFFERENCE = re.compile(
    r"\b(?:unlike|in contrast|whereas|instead of|rather than|as opposed to|differs?|differences?|different)\b",
    re.IGNORECASE,
)


# "How do they differ?", "What is the difference?", "How do they compare?": a comparison, whatever it names
_ASKS_TO_COMPARE = re.compile(r"\b(?:compar\w*|contrast\w*|differ(?:s|ed|ing|ences?)?)\b", re.IGNORECASE)


def compared_earlier(question: str, history: Sequence[Turn] | None) -> str | None:
    """For a follow-up asking how two things differ without naming them ("How do they differ?"), the question of
    the conversation that names them ("Compare flow matching and diffusion models"), or None."""
    if compared(question) is not None or not _ASKS_TO_COMPARE.search(question) or not leans_on_earlier(question):
        return None
    earlier = previous_questions(history)
    subject = conversation_subject(earlier) if earlier else None
    return subject if subject is not None and compared(subject) is not None else None


def compared_sides(question: str) -> tuple[str, str] | None:
    """The two things a question compares, as written ("Compare MemControl and SaRA": MemControl, SaRA)."""
    m = _COMPARED.match(" ".join(question.split()).rstrip("?!.;: "))
    if not m:
        return None
    a, b = (x for x in m.groups() if x)
    return a, b


def compared(question: str) -> tuple[set[str], set[str]] | None:
    """The content terms of the two things a question compares, or None when it compares nothing."""
    found = compared_sides(question)
    if found is None:
        return None
    sides = set(content_terms(found[0])), set(content_terms(found[1]))
    return sides if all(sides) and sides[0] != sides[1] else None


def speaking_of_both(candidates: list[Candidate], question: str) -> list[Candidate]:
    """For "Which papers compare SSMs with transformers?" (_COMPARED's k/l form): the candidates of papers whose title
    and abstract speak of both sides (a paper on transformers alone, PowerNorm, was cited as comparing them); all of
    them when none does. For any other comparison ("How does Power Normalization differ from batch normalization?")
    whose best paper names every word of both sides, only the papers that do too: a margin paper mentioning batch
    normalization was cited as [2]."""
    form = _COMPARED.match(" ".join(question.split()).rstrip("?!.;: "))
    sides = compared(question) if form else None
    if form is None or sides is None or not candidates:
        return candidates
    written = tuple(x for x in form.groups() if x)[:2]
    papers = {c.paper.id: c.paper for c in candidates}

    def said_in(paper: Paper) -> tuple[str, set[str]]:
        text = f"{paper.title}. {paper.abstract}"
        said = set(content_terms(text)) | _expansions(text, abbreviations(paper.abstract))
        return text, said | {f"{t}s" for t in said}  # "SSMs" is said by "SSM"

    def both(paper: Paper) -> bool:
        text, said = said_in(paper)
        # ... or by its names in any spelling absent_names accepts ("selective state space models" spells SSMs)
        return all(
            _half_said(side, said) or bool(names(f"of {name}")) and not absent_names(f"of {name}", [text])
            for side, name in zip(sides, written)
        )

    def wholly(paper: Paper) -> bool:
        return all(side <= said_in(paper)[1] for side in sides)

    if form["k"]:
        kept = {pid for pid, paper in papers.items() if both(paper)}
    elif wholly(candidates[0].paper):
        kept = {pid for pid, paper in papers.items() if wholly(paper)}
    else:
        return candidates
    return [c for c in candidates if c.paper.id in kept] or candidates


def _half_said(side: set[str], said: set[str]) -> bool:
    """Whether `said` holds at least half the content terms of one side of a comparison."""
    return 2 * len(side & said) >= len(side)


def named_sides(question: str) -> tuple[str, str] | None:
    """The two things a question compares when it names one ("MemControl vs SaRA", "NUPES and the layer-wise
    calibration paper"): each is searched for on its own (CitingEngine.retrieve_papers)."""
    found = compared_sides(question) if compared(question) else None
    if found is None or not any(_named_in(side, question) for side in found):
        return None
    return found


def _named_in(side: str, question: str) -> list[str]:
    """The words of one side of a comparison that are names: a capital inside a word ("SaRA", "NUPES",
    "PowerNorm") or a capitalised word that does not open the question ("Flow matching vs …" names nothing)."""
    opening = " ".join(question.split()).lstrip(" \"“").startswith(side)
    return [
        w for i, w in enumerate(side.split())
        if any(c.isupper() for c in w[1:]) or (w[:1].isupper() and not (opening and i == 0))
    ]


def names_the_papers(question: str, papers: Sequence[Paper]) -> bool:
    """Whether each thing the question compares is named in the title of one of the first papers ("Compare
    MemControl and SaRA"): the papers are what is asked about, however little their sentences share with the
    question's two words."""
    sides, written = compared(question), named_sides(question)
    if sides is None or written is None:
        return False  # "Compare neural networks and kernels": words many titles hold name no paper
    titles = [set(content_terms(p.title)) for p in papers[:3] if p.has_title]
    named = [set(content_terms(" ".join(_named_in(w, question)))) for w in written]
    # a side with a name is named in a title by that name; the other side by half its words, as with_contrast reads
    return all(
        any((name <= t) if name else _half_said(side, t) for t in titles) for side, name in zip(sides, named)
    )


def with_contrast(chosen: list[Candidate], candidates: Sequence[Candidate], question: str) -> list[Candidate]:
    """For "compare X and Y": a sentence of a cited paper that sets X against Y ("Unlike diffusion models,
    which …, FM employs …") joins the answer, unless one of its sentences already does. One saying how they
    differ comes before one saying only that they are alike or which scores higher: "FM can reach convergence
    rates comparable to those of diffusion models" answered "Compare flow matching and diffusion models" without
    the abstract's "Unlike diffusion models, which are based on stochastic differential equations, FM employs …"."""
    sides = compared(question)
    if sides is None or not chosen:
        return chosen

    by_place = {(c.paper.id, c.position): c for c in candidates}
    # what tells the two apart: "layer normalization" and "batch normalization" share a word that says neither
    apart = [side - other or side for side, other in (sides, sides[::-1])]

    written = compared_sides(question) or ("", "")

    def contrasts(cand: Candidate, defined: Mapping[str, str], marker: re.Pattern[str] = _CONTRAST) -> bool:
        said = set(content_terms(cand.text)) | _expansions(cand.text, defined)
        text = cand.text
        before = by_place.get((cand.paper.id, cand.position - 1))
        if before is not None and leans_back(cand.text):  # "This is different than BN": "this" is LN, said before
            said |= set(content_terms(before.text)) | _expansions(before.text, defined)
            text = f"{before.text} {text}"
        # each side whole ("normalization" alone is no "layer normalization"), or by its name in other words:
        # "PowerNorm" is the "PN" of "PN outperforms LN by 0.4/0.6 BLEU"
        longer = " ".join([text, *(long for short, long in defined.items() if re.search(rf"\b{re.escape(short)}\b", text))])
        return bool(marker.search(cand.text)) and all(
            side <= said or mentions(name, longer, defined) for side, name in zip(apart, written)
        )

    papers = {c.paper.id: c.paper for c in chosen}  # in the answer's order
    defined = {pid: abbreviations(paper.abstract) for pid, paper in papers.items()}
    for marker in (_DIFFERENCE, _CONTRAST):
        if any(contrasts(c, defined[c.paper.id], marker) for c in chosen):
            return chosen
        for pid in papers:
            own = sorted((c for c in candidates if c.paper.id == pid), key=lambda c: c.position)
            found = next((c for c in own if c not in chosen and contrasts(c, defined[pid], marker)), None)
            if found is not None:
                return [*chosen, found]
    return chosen


def with_answer_said_before(
    chosen: list[Candidate], candidates: Sequence[Candidate], fresh: Sequence[Candidate], question: str
) -> list[Candidate]:
    """A follow-up whose every word a sentence of an earlier answer holds ("What convergence rate does it
    achieve?" after an answer that gave it) is answered by that sentence again, first: left out as said before,
    the answer gave everything but the rate. The rest stays new; "Tell me more" names nothing and repeats nothing."""
    asked = set(content_terms(question))
    if not asked or len(fresh) == len(candidates):
        return chosen

    def holds(cand: Candidate) -> bool:
        return asked <= set(content_terms(cand.text))

    if any(holds(c) for c in chosen):
        return chosen
    said = [c for c in candidates if all(c is not f for f in fresh) and holds(c)]  # best first
    return [said[0], *chosen] if said else chosen


def with_stated_details(chosen: list[Candidate], candidates: Sequence[Candidate], question: str) -> list[Candidate]:
    """For "Which datasets does PowerNorm use?" (a number, a dataset, a percentage asked for): when none of the
    answer's sentences states it and a cited paper's sentence does ("… BLEU on IWSLT14/WMT14 …"), the best such
    sentence joins the answer."""
    wanted = missing_details(question, " ".join(c.text for c in chosen)) if chosen else []
    if not wanted:
        return chosen
    cited = {c.paper.id for c in chosen}
    found = next(
        (c for c in candidates if c.paper.id in cited and c not in chosen and len(missing_details(question, c.text)) < len(wanted)),
        None,
    )
    return chosen if found is None else [*chosen, found]


def with_the_figure(chosen: list[Candidate], candidates: Sequence[Candidate], question: str) -> list[Candidate]:
    """For "How much faster than MCMC is LC-PFN?" (a figure asked for, `states_the_figure`): when none of the answer's
    sentences states it and a cited paper's sentence does ("… while being over 10 000 times faster"), the best such
    sentence joins the answer, in place of its paper's weakest when that paper already gave three (the three had
    scored higher on the words the question shares with them)."""
    if not chosen or any(states_the_figure(question, c.text) is not False for c in chosen):
        return chosen
    cited = {c.paper.id for c in chosen}
    found = next(
        (c for c in candidates if c.paper.id in cited and c not in chosen and states_the_figure(question, c.text)), None
    )
    if found is None:
        return chosen
    own = [c for c in chosen if c.paper.id == found.paper.id]
    weakest = min(own, key=lambda c: c.rank_score) if len(own) >= 3 else None
    return [*(c for c in chosen if c is not weakest), found]


def with_each_named(chosen: list[Candidate], candidates: Sequence[Candidate], question: str) -> list[Candidate]:
    """For "compare X and Y" where X and Y are named in titles: the best sentence of the paper each names joins
    the answer, unless a sentence of a paper it names is there already."""
    out = list(chosen)
    for side in compared(question) or ():

        def names(paper: Paper, side: set[str] = side) -> bool:
            return paper.has_title and _half_said(side, set(content_terms(paper.title)))

        if not any(names(c.paper) for c in out):
            out += [c for c in candidates if names(c.paper)][:1]  # candidates come best first
    return out


def with_every_paper(chosen: list[Candidate], candidates: Sequence[Candidate], papers: Sequence[Paper]) -> list[Candidate]:
    """For "How do they differ?" about the papers the last answer cited: the best of `candidates` of each paper
    joins the answer, unless one of its sentences is there already (the pruning papers' comparison quoted one
    of the two, whose sentences outscored the other's)."""
    out = list(chosen)
    for paper in papers:
        if not any(c.paper.id == paper.id for c in out):
            out += [c for c in candidates if c.paper.id == paper.id][:1]  # candidates come best first
    return out


SAID_FROM = 0.8  # share of an answer text's content terms a paper's title and abstract hold when it was said from it


def the_papers_said(texts: Sequence[str], papers: Sequence[Paper]) -> list[Paper]:
    """Of `papers`, those an earlier answer said each of `texts` from (its record holds at least SAID_FROM of
    the text's content terms: an answer sentence is an abstract sentence, rewritten, and a listing's line is
    a title, authors and year), in their order."""
    records = {
        p.id: set(content_terms(f"{p.title} {p.abstract} {' '.join(p.authors)} {p.venue or ''} {p.year or ''}"))
        for p in papers
    }
    kept: list[Paper] = []
    for text in texts:
        terms = set(content_terms(text))
        for paper in papers:
            held = terms & records[paper.id]
            if terms and len(held) >= SAID_FROM * len(terms) and paper not in kept:
                kept.append(paper)
                break
    return [p for p in papers if p in kept]


def with_each_part(
    chosen: list[Candidate], candidates: Sequence[Candidate], parts: Sequence[str], weights: TermWeights, floor: float,
    unanswered: Collection[str] = (),
) -> list[Candidate]:
    """For a question in several parts, the sentence that best holds each part's words joins the answer
    unless a chosen sentence holds them as well: the best sentences for the whole question all answered "What
    is Sign-RIP?", and "What does small initialization do for SubGM?" went unanswered without a word. A
    sentence scored against the whole question is diluted by the other parts, so one whose evidence is under
    `floor` (the abstention threshold) joins only when it holds at least half the part's term weight. A part
    pointing back ("What is PowerNorm? And what does it improve?") asks about the subject of the part before it:
    it is answered from the paper that part was answered from, or not at all (NUPES's "an improvement over …"
    answered what PowerNorm improves). `unanswered`: parts said to go unanswered, which add no sentence."""
    out = list(chosen)
    pool = list(candidates)
    subject: str | None = None  # the paper the latest part with a subject of its own was answered from
    for part in parts:
        pointing = subject is not None and points_back(part) is not None
        asked = set(content_terms(part))
        named = set(content_terms(" ".join(names(part))))  # "What is PowerNorm?": a name only the title holds
        holds = {
            id(c): weights.overlap(asked, set(content_terms(c.text)) | (named & set(content_terms(c.paper.title))))
            for c in [*pool, *out]
        }
        from_pool, from_out = (
            ([c for c in pool if c.paper.id == subject], [c for c in out if c.paper.id == subject]) if pointing else (pool, out)
        )
        best = max(from_pool, key=lambda c: (holds[id(c)], c.rank_score), default=None)
        said = max(from_out, key=lambda c: holds[id(c)], default=None)
        joins = (
            part not in unanswered and best is not None and holds[id(best)] > 0
            and (said is None or holds[id(said)] < holds[id(best)])
            and (best.score >= floor or holds[id(best)] >= PART_HELD) and not _says_again(best, out)
        )
        if joins and best is not None:
            out.append(best)
        if not pointing:
            answering = best if joins else said if said is not None and holds[id(said)] > 0 else out[0] if out else None
            subject = answering.paper.id if answering is not None else None
    return out


_WORKS = frozenset(content_terms("paper papers work works study studies article articles thesis dissertation abstract"))
REST_SHARE = 0.1  # share of what a question asks for that a sentence must add to join for it (with_the_rest_asked)


# "In the XOR cluster setting, what happens after the first gradient step?": a leading phrase setting the scene before
# the question proper says which work is meant, as "the X paper" does; the sentence repeating it ("… we show that both
# of these phenomena provably occur … on XOR cluster data …") outscored "after the first step of GD, the network …".
_SETTING_THE_SCENE = re.compile(
    r"^\W*(?:in|for|according\s+to|within|under)\s+(?P<scene>[^,;?]{3,80}?),\s*"
    r"(?=(?:what|which|how|why|when|where|who|is|are|does|do|did|can|could|should|would|will|has|have)\b)",
    re.IGNORECASE,
)


def sought_terms(question: str) -> set[str]:
    """The words saying what a question asks for: which sentence answers is judged by what is asked, not by
    the words that find the paper (its name, the scene a leading phrase sets, the problem it solves)."""
    asked = set(content_terms(question))
    scene = _SETTING_THE_SCENE.match(question)
    rest = asked - identifying(question) - set(content_terms(problem_of(question) or "")) - set(
        content_terms(scene["scene"] if scene else "")
    )
    return rest if rest - _REQUESTS else asked


def with_the_rest_asked(
    chosen: list[Candidate], candidates: Sequence[Candidate], question: str, weights: TermWeights
) -> list[Candidate]:
    """For a question asking one thing: when the lead paper's sentences (and its title) leave some of what is asked
    unsaid, and another of its sentences says it, scoring within KEEP_RATIO of the best, that sentence takes the place
    of the paper's sentence adding nothing the others do not hold (or joins, beside fewer than three). "Which prior
    on the last-layer scale turns wide networks into Student's t processes?" quoted two sentences on a scale prior,
    not the one naming the inverse gamma prior that gives Student's t processes."""
    if not chosen:
        return chosen
    lead = chosen[0].paper
    sought = sought_terms(question)
    own = [c for c in chosen if c.paper.id == lead.id]
    defined = abbreviations(lead.abstract)  # "SSMs" holds "state space models"
    terms = {id(c): set(content_terms(c.text)) | _expansions(c.text, defined) for c in candidates if c.paper.id == lead.id}
    title = set(content_terms(lead.title)) if lead.has_title else set()
    held = title.union(*(terms.get(id(c), set()) for c in own))
    missing = sought - held - _WORKS  # "the thesis on …" names the work, never a part of it asked for
    if not missing:
        return chosen
    bar = KEEP_RATIO * candidates[0].rank_score
    found = max(
        (
            c for c in candidates
            if id(c) in terms and c not in chosen and c.rank_score >= bar and not c.features.get("background")
            and not (sets_out(c.text) or only_hopes(c.text) or poses_a_question(c.text) or c.text.rstrip().endswith("?"))
            and weights.overlap(sought, missing & terms[id(c)]) >= REST_SHARE
        ),
        key=lambda c: (weights.overlap(missing, terms[id(c)]), c.rank_score),
        default=None,
    )
    if found is None or _says_again(found, chosen):
        return chosen

    def adds(c: Candidate) -> bool:
        others = title.union(*(terms[id(o)] for o in own if o is not c))
        return bool(sought & terms[id(c)] - others)

    idle = [c for c in own[1:] if not adds(c)]
    if idle:
        weakest = min(idle, key=lambda c: c.rank_score)
        return [found if c is weakest else c for c in chosen]
    return [*chosen, found] if len(own) < 3 else chosen


def _says_again(cand: Candidate, chosen: Sequence[Candidate]) -> bool:
    """Whether a chosen sentence already says what `cand` says (or is `cand`). Two sentences of one abstract are told
    apart by their words (content-term F1 under REPEAT): their vectors are pooled from one pass over the abstract, so
    they share its context, and 3% of the seed abstracts' sentence pairs are over REDUNDANCY, nearly all of them saying
    different things ("We consider two types of generalization bounds …" and "We prove … that no such bound can be
    uniformly tight …", .88). Sentences of different abstracts are compared by their vectors."""

    def same(c: Candidate) -> bool:
        if c.paper.id != cand.paper.id:
            return float(cand.vector @ c.vector) > REDUNDANCY
        return _repeats(set(content_terms(cand.text)), set(content_terms(c.text)))

    return any(cand is c or same(c) for c in chosen)


def needs_before(text: str) -> bool:
    """A demonstrative mid-sentence naming what the sentence before said ("… demonstrate that this approach is …"),
    where the sentence does not solve a problem named before (with_antecedents brings that problem its own way)."""
    return refers_back(text) and not solves_earlier(text)


def lead_group(lead: Candidate | None, chosen: Sequence[Candidate]) -> set[tuple[str, int]]:
    """Where the leading sentence and the antecedents it points back at stand (paper, position): they read
    first, in the abstract's order ("Neural networks … They can … They can undergo … (“grokking”)"), not the
    lead first with its "They" dangling. A lead that solves a problem the answer's sentences before it name
    ("… PN, a scheme that resolves this issue by …", with_antecedents) reads after them too."""
    if lead is None:
        return set()
    pid, at = lead.paper.id, lead.position
    texts = {c.position: c.text for c in chosen if c.paper.id == pid}
    group = {(pid, at)}
    solving = solves_earlier(texts[at]) and not leans_back(texts[at])
    # A lead naming "this approach" mid-sentence still reads first, the sentence saying what it is right after it:
    # reading that one first cost the best evidence its first place on 2 bundled and 5 dev questions (QUALITY.md)
    # ... and the abstract's own question a sentence of the group answers ("How many parameters are really needed?
    # We attempt to answer this question …"), as with_antecedents brought it: it had read after the group
    while at - 1 in texts and (
        leans_back(texts[at])
        or (solving and lead.position - at < SOLVED_CONTEXT)
        or (needs_before(texts[at]) and texts[at - 1].rstrip().endswith("?"))
    ):
        at -= 1
        group.add((pid, at))
        if solving and not leans_back(texts[at]):
            break  # the problem, read from a sentence that stands alone
    return group


def with_antecedents(chosen: list[Candidate], candidates: Sequence[Candidate]) -> list[Candidate]:
    """`chosen`, plus the sentence before each one that opens by pointing back at it ("This phenomenon…") or names
    a thing said before it mid-sentence ("… that this approach is …", needs_before), and the one before that while they point back too ("Neural networks … They can … They can …"). A sentence
    solving a problem only the sentences before it name ("… resolves this issue by …") brings them too, at
    most SOLVED_CONTEXT of them, and only if the first of them reads on its own: else it stands alone."""
    by_place = {(c.paper.id, c.position): c for c in candidates}
    out = list(chosen)

    def add(taken: Sequence[Candidate]) -> None:
        out.extend(t for t in taken if all(t is not c for c in out))

    for cand in chosen:
        chain: list[Candidate] = []
        cur = cand
        # ... or on "It" ("It consists in converting floating point …"): the one naming it
        # past the first step only a sentence opening on its link ("In this manner, …"): a demonstrative in the middle of
        # each sentence before ("this transfers …") walked four sentences back from one "this method"
        # ... and the abstract's own question that "this question" names ("How many parameters are really needed? We
        # attempt to answer this question …", the second brought by "… the dimension of this subspace")
        while (before := by_place.get((cand.paper.id, cur.position - 1))) is not None and (
            leans_back(cur.text) or (needs_before(cur.text) and (cur is cand or before.text.rstrip().endswith("?")))
        ):
            chain.append(before)
            cur = before
        if chain or not solves_earlier(cand.text):
            add(chain)
            continue
        cur = cand
        while len(chain) < SOLVED_CONTEXT and (before := by_place.get((cand.paper.id, cur.position - 1))) is not None:
            chain.append(before)
            cur = before
            if not leans_back(before.text):
                add(chain)  # the problem, read from a sentence that stands alone
                break
    return out


BEYOND_CITED = "The last answer cited only {papers}, not “{words}”. Ask about {which}, or name the paper you mean."


def needs_earlier(question: str, history: Sequence[Turn] | None, settings_hash: str) -> Answer | None:
    """For a follow-up asked with no conversation before it ("How do they differ?"), an answer saying so; for one
    pointing past the papers the last answer cited ("the second one" of one), an answer saying that; for thanks or
    an "ok", one that invites the next question: none has anything to search for."""
    if (beyond := beyond_cited(question, history)) is not None:
        words, cited = beyond
        # no "[1]" in it: read back as the conversation's, a marker made this refusal the answer that cited a paper,
        # and "When was it published?" next looked for the paper it "cited"
        papers = "one paper" if cited == 1 else f"{cited} papers"
        text = BEYOND_CITED.format(words=words.strip(), papers=papers, which="it" if cited == 1 else "one of those")
        return Answer(question=question, text=text, raw_text=text, citations=[], abstained=True, settings_hash=settings_hash)
    word = missing_antecedent(question, history)
    if word is None and not acknowledges(question):
        return None
    text = NEEDS_EARLIER.format(word=word) if word is not None else ACKNOWLEDGED
    return Answer(question=question, text=text, raw_text=text, citations=[], abstained=True, settings_hash=settings_hash)


NO_OTHER_PAPER = "No other paper in the store addresses this beyond {which} the conversation already cited: {titles}."


def no_other_paper(question: str, given: Sequence[Paper], settings_hash: str) -> Answer:
    """For "Which other papers study X?" when no paper but those the conversation cited (`given`) does: an answer
    saying so, naming them (it cites nothing: what they say was said)."""
    which = "the one" if len(given) == 1 else f"the {len(given)}"
    text = NO_OTHER_PAPER.format(which=which, titles="; ".join(f"“{readable_latex(p.title)}”" for p in given))
    return Answer(question=question, text=text, raw_text=text, citations=[], abstained=True, settings_hash=settings_hash)


class AnswerEngine(Protocol):
    """What the Assistant asks a question of: a typed Answer, or the same as a stream of typed events."""

    def answer(self, question: str, history: Sequence[Turn] | None = None) -> Answer: ...

    def stream(self, question: str, history: Sequence[Turn] | None = None) -> Iterator[Event]: ...


@dataclass
class CitedResponse(Response):
    """LlamaIndex's Response with the typed, validated Answer beside it."""

    answer: Answer | None = None


@dataclass(frozen=True)
class Found:
    """What a question found: the question as the abstracts spell it, the query searched, the retrieved nodes and
    their papers, and the typos read as other words (typed, read)."""

    question: str
    query: QueryBundle
    nodes: list[NodeWithScore]
    papers: list[Paper]
    read: list[tuple[str, str]]
    # "Which other papers …?": the papers the conversation cited, left out of `papers`, and every paper found, best first
    given: list[Paper] = field(default_factory=list)
    ranked: list[Paper] = field(default_factory=list)

    def noted(self, answer: Answer) -> Answer:
        """The answer, saying which typos it read as other words."""
        if not self.read:
            return answer
        return answer.model_copy(update={"notice": " ".join(filter(None, [read_as(self.read), answer.notice]))})


class CitingEngine(BaseQueryEngine):
    """A LlamaIndex query engine assembled from a retriever and the papers it ranks; `query()` gives a
    CitedResponse, `answer()` the Answer itself. `speller`: reads a question's typos as the words the retrieved
    abstracts use (spelling.py); None leaves questions as typed."""

    def __init__(self, retriever: PaperRetriever, papers: Mapping[str, Paper], speller: Speller | None = None) -> None:
        super().__init__(callback_manager=None)
        self.retriever = retriever
        self.papers = papers
        self.speller = speller

    def find(self, question: str, query_for: Callable[[str], str], history: Sequence[Turn] | None = None) -> Found:
        """retrieve_papers for `query_for(question)` (a follow-up's search query, or the question); when the
        papers found spell a word of the question otherwise, the question respelled is searched instead. A
        question asking for other papers than the conversation's (followup.cited_before) finds only others."""
        query = QueryBundle(query_str=query_for(question))
        nodes, papers = self.retrieve_papers(query, own=query.query_str == question)
        read: list[tuple[str, str]] = []
        if self.speller is not None:
            respelled, read = self.speller(question, map(titled_text, papers))
            if respelled != question:
                question, query = respelled, QueryBundle(query_str=query_for(respelled))
                nodes, papers = self.retrieve_papers(query, own=query.query_str == respelled)
            else:
                read = []
        ranked = papers
        if before := the_papers_said(cited_before(question, history), papers):
            nodes = [n for n in nodes if all(n.node.node_id != p.id for p in before)]
            papers = [p for p in papers if p not in before]
        return Found(question, query, nodes, papers, read, before, ranked)

    def _get_prompt_modules(self) -> dict[str, Any]:
        return {}

    def retrieve_papers(self, query: QueryBundle, own: bool = False) -> tuple[list[NodeWithScore], list[Paper]]:
        """The retrieved nodes of papers the store holds, and those papers, best first. `own`: the query is the
        user's question as asked (not a follow-up's query, whose parts are the earlier question and this one)."""
        nodes = self._known(self.retriever.retrieve(query))
        parts = asking_parts(query.query_str) if own else []
        # a part pointing back ("What is ΣAE? And what does it improve?") names nothing to search for: searched on its
        # own, it found an unrelated paper, which took the place of the first part's
        searched = [part for i, part in enumerate(parts) if i == 0 or points_back(part) is None]
        # "MemControl vs SaRA", "What is grokking? How does SaRA fine-tune …?": the best paper for each side, or each
        # part, leads (searched as a whole, SaRA's paper filled the list and the grokking part went unanswered)
        if sides := named_sides(query.query_str) or (searched if len(parts) > 1 else None):
            firsts = [found[0] for side in sides if (found := self._known(self.retriever.retrieve(QueryBundle(query_str=side))))]
            by_id = {n.node.node_id: n for n in [*firsts, *nodes]}  # scored for the question where it found them
            order = dict.fromkeys(n.node.node_id for n in [*firsts, *nodes])
            nodes = [by_id[i] for i in order][: max(len(nodes), len(firsts))]  # still k papers
        return nodes, [self.papers[n.node.node_id] for n in nodes]

    def _known(self, nodes: Sequence[NodeWithScore]) -> list[NodeWithScore]:
        return [n for n in nodes if n.node.node_id in self.papers]

    @abstractmethod
    def answer(self, question: str, history: Sequence[Turn] | None = None) -> Answer: ...

    def _query(self, query_bundle: QueryBundle) -> CitedResponse:
        answer = self.answer(query_bundle.query_str)
        nodes = [NodeWithScore(node=TextNode(id_=p.paper_id, text=p.text, metadata={"title": p.title}), score=p.score)
                 for p in answer.passages]
        return CitedResponse(response=answer.text, source_nodes=nodes, answer=answer)

    async def _aquery(self, query_bundle: QueryBundle) -> CitedResponse:
        return self._query(query_bundle)


class ExtractiveEngine(CitingEngine):
    """The offline mode: retrieve papers, then compose the answer from their sentences."""

    def __init__(
        self, retriever: PaperRetriever, composer: ExtractiveComposer, papers: Mapping[str, Paper], settings_hash: str,
        speller: Speller | None = None,
    ) -> None:
        super().__init__(retriever, papers, speller)
        self.composer = composer
        self.settings_hash = settings_hash

    def _compose(self, typed: str, history: Sequence[Turn] | None) -> tuple[Answer, list[str]]:
        unresolved = needs_earlier(typed, history, self.settings_hash)
        if unresolved is not None:
            return unresolved, [unresolved.text]
        found = self.find(typed, lambda q: followup_query(q, history), history)  # the retriever embeds the query
        question, query, nodes, papers = found.question, found.query, found.nodes, found.papers
        if found.given:  # "Which other papers …?": those a "Which papers …?" answer would cite beside the ones given
            beside = self.composer.beside(query.query_str, query.embedding or [], found.ranked, found.given)
            if not beside:
                none = no_other_paper(typed, found.given, self.settings_hash)
                return found.noted(none).model_copy(update={"passages": to_passages(nodes)}), [none.text]
            papers = [p for p in papers if p in beside]
        cited: list[Paper] = []
        if cited_paper_text(question, history):  # "the second one": the paper its sentences find first, alone
            papers = papers[:1]
        elif texts := cited_texts(question, history):  # "How do they differ?": the papers just cited, only
            cited = the_papers_said(texts, papers)
            papers = cited or papers
        said = not_to_repeat(question, history)
        answer, pieces = self.composer.compose(
            query.query_str, query.embedding or [], papers, self.settings_hash, said, asked=question, each=len(cited) > 1,
            compares=compared_earlier(question, history),
        )
        return found.noted(answer).model_copy(update={"passages": to_passages(nodes), "question": typed}), pieces

    def answer(self, question: str, history: Sequence[Turn] | None = None) -> Answer:
        return self._compose(question, history)[0]

    def stream(self, question: str, history: Sequence[Turn] | None = None) -> Iterator[Event]:
        """Status("retrieving"), Status("writing"), the answer sentence by sentence, then Final."""
        yield Status(stage="retrieving")
        answer, pieces = self._compose(question, history)
        yield Status(stage="writing")
        for piece in pieces:
            yield TextDelta(text=piece)
        yield Final(answer=answer)


def to_passages(nodes: Sequence[NodeWithScore]) -> list[Passage]:
    return [
        Passage(
            paper_id=n.node.node_id,
            title=str(n.node.metadata.get("title", "")),
            score=round(float(n.score or 0.0), 6),
            text=n.node.get_content(),
        )
        for n in nodes
    ]
