"""Decides whether retrieved evidence can answer a question, before an extractive answer is written.

Similarity alone cannot tell "a paraphrase of what an abstract says" from "a question about that
paper asking for something it never states" (its accuracy, hardware, datasets, affiliations).
So three checks, each a reason to abstain:
1. weak evidence: the best sentence's score is under the threshold (off-topic questions);
2. a missing detail: the question asks for a kind of fact (a metric, compute, an optimizer, an
   affiliation, a quantity, ...) that the best paper's abstract never states;
3. an absent name: the question names something (a capitalised word, an acronym, a numbered name
   like WikiText-103) that the abstracts the answer would come from never mention, in any spelling
   (its long form, its camel-case parts). "What perplexity does <paper> reach on WikiText-103?" is
   about that paper and answered by nothing in it. Measured on bundled + dev: checking the best
   abstract instead of the whole corpus abstains on 4 more dev near-misses at no new false abstention
   (benchmarks/QUALITY.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence, Set
from itertools import pairwise, takewhile

from .filters import VENUE_NAMES, fold
from .text import STOPWORDS, abbreviations, rough_sentences, stem, words

# Words that name a specific kind of fact; abstracts that state such a fact use the word too.
DETAIL_CUES = frozenset(
    stem(w)
    for w in """accuracy top-1 top-5 fid bleu auc f1 perplexity score scores gpu gpus tpu tpus hardware hours
    flops optimizer optimiser learning-rate batch-size schedule university universities affiliation affiliated
    institution company github license licence venue conference dataset datasets percentage
    limitation limitations drawback drawbacks weakness weaknesses shortcoming shortcomings downside downsides""".split()
)
_ASKS = ("what", "which")
# "how many / how few X" counts X, "how much / how little X" measures it (_counted, measured)
_COUNTING, _MEASURING = ("many", "few"), ("much", "little")
_QUANTITY = re.compile(rf"\b(how ({'|'.join(_COUNTING + _MEASURING)})(?![\w-])|what (percentage|fraction|share|proportion)|by what factor)\b", re.I)
# A stated quantity: a numeral not glued to a name ("Camelyon17", "WikiText-103", "ResNet-50" state no
# count; "3-layer", "10^5", "2x" do), a number word, or an order of growth ("as little as Ω(√(N))", "O(log T)").
_NUMBER = re.compile(
    r"(?<![\w-])\d|(?<![\w-])(?:[OΩΘ]|\\?Omega|\\?Theta|\\mathcal\{O\})\s?\("
    r"|\b(twice|half|double|triple|times|fold|percent|two|three|four|five|six|seven|eight|nine|ten"
    r"|dozens?|hundreds?|thousands?|millions?|billions?)\b",
    re.I,
)
_NAME = re.compile(r"\b(?:[A-Z][\w-]+|[\w-]*\d[\w-]*)")
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_MODIFIERS = frozenset({"like", "style", "type", "based", "wise"})  # "XOR-like" names XOR
# A share, in figures or words: "prune half of the CIFAR10 training set" says what percentage can be pruned
_PERCENT = re.compile(
    r"\d\s?%|\bper\s?cent|(?<!first\s)(?<!second\s)\bhalf\b(?![\s-]precision)"
    r"|\b(?:a\s+third|a\s+quarter|(?:one|two)[\s-]thirds?|three[\s-]quarters)\b", re.I
)
YEAR = re.compile(r"(?:19|20)\d\d")  # a publication year, as a question names one


# A metric's short name, as abstracts write it, and the metrics a "score" may be (each a cue stem)
_METRIC_NAMES = {"ppl": stem("perplexity"), "acc": stem("accuracy")}
_METRICS = frozenset(stem(w) for w in ("accuracy", "top-1", "top-5", "fid", "bleu", "auc", "f1", "perplexity"))
# A percentage said of a result against another: "outperforms ViT by 1.5%", "a 2% higher accuracy"
_COMPARES = re.compile(r"\b(?:outperform|improv|gain|better|higher|lower|error|accura|surpass|beat)", re.IGNORECASE)


# Cues that ask for one kind of fact, in its word: "What drawbacks …?" is answered by "it is limited to …"
_SAME_KIND = {stem(w): stem("limitation") for w in ("limitation", "drawback", "weakness", "shortcoming", "downside")}
# The words that may stand between "what"/"which" and what it asks for
_ASKING_FOR = frozenset({
    "is", "are", "was", "were", "the", "a", "an", "its", "their", "main", "key", "biggest", "major", "primary", "chief",
    "principal", "most", "one", "some", "any", "known", "do", "does", "did", "has", "have", "of",
    "about",  # "What about its limitations?", a follow-up asking for them
})


# Cues written as two words as often as hyphenated ("What learning rate did PowerNorm use?" asked for none)
_TWO_WORD_CUES = {
    ("learning", "rate"): "learning-rate", ("learning", "rates"): "learning-rate", ("step", "size"): "learning-rate",
    ("step", "sizes"): "learning-rate", ("batch", "size"): "batch-size", ("batch", "sizes"): "batch-size",
}


def _cue_words(text: str) -> list[str]:
    """The text's words, a two-word cue ("learning rate") as its hyphenated one."""
    out: list[str] = []
    for word in words(text):
        if out and (joined := _TWO_WORD_CUES.get((out[-1], word))):
            out[-1] = joined
        else:
            out.append(word)
    return out


def asked_details(question: str) -> set[str]:
    """Detail words the question asks for: a cue within four words after 'what' or 'which'."""
    tokens = _cue_words(question)
    asked: set[str] = set()
    for i, token in enumerate(tokens):
        if token in _ASKS or (token == "how" and i + 1 < len(tokens) and tokens[i + 1] in ("many", "much")):
            window = tokens[i + 1 : i + 5]
            for j, cue in enumerate(stem(t) for t in window):
                # a limitation is asked for when it is what the question asks ("What is the main limitation of
                # X?"), not when a method is ("Which method overcomes the limitations of BN?")
                if cue in DETAIL_CUES and (cue not in _SAME_KIND or set(window[:j]) <= _ASKING_FOR):
                    asked.add(cue)
    # "Any limitations?", "And its drawbacks?": a follow-up of a cue alone asks for it
    cues = {stem(t) for t in tokens} & DETAIL_CUES
    if cues and {t for t in tokens if stem(t) not in DETAIL_CUES} <= _ASKING_FOR | {"and", "also", "so"}:
        asked |= cues
    return asked


# "limit" as mathematics ("the infinite-width limit", "its limiting kernel", "in the limits of large width") shares
# the stem of "limitation": it states no shortcoming. "is limited to", "limits its use" and "limitations" do.
_MATH_LIMIT = frozenset({"limit", "limiting", "limits"})
_LIMITS_WHAT = frozenset({"its", "the", "their", "this", "these", "our", "a", "an", "them", "it"})  # "limits" as a verb


def _stated_kinds(text: str) -> set[str]:
    """The detail cues a text states, as stems of their kind (a drawback is a limitation)."""
    tokens = _cue_words(text)
    kept = [
        t for i, t in enumerate(tokens)
        if t not in _MATH_LIMIT or (t == "limits" and i + 1 < len(tokens) and tokens[i + 1] in _LIMITS_WHAT)
    ]
    return {_SAME_KIND.get(s, s) for s in map(stem, kept)}


def missing_details(question: str, best_abstract: str) -> list[str]:
    """What the question asks for that the best abstract never states."""
    present = _stated_kinds(best_abstract)
    present |= {_METRIC_NAMES[w.lower()] for w in words(best_abstract) if w.lower() in _METRIC_NAMES}  # "PPL"
    if _PERCENT.search(best_abstract):  # "by more than 99%" states a percentage
        present.add(stem("percentage"))
    if any(_PERCENT.search(s) and _COMPARES.search(s) for s in rough_sentences(best_abstract)):
        present.add(stem("accuracy"))  # "outperforms ViT by 1.5%": an accuracy gain, as abstracts state one
    if present & _METRICS:
        present.add(stem("score"))  # "What BLEU score …?" is stated by "0.4 BLEU"
    asked = {_SAME_KIND.get(s, s) for s in asked_details(question)}
    if stem("dataset") in asked:  # stated by a name: "on various datasets" says which no more than silence does
        present.discard(stem("dataset"))
        # the question's own names are what it asks about: "… evaluate Todyformer?" is not answered by "benchmark
        # datasets demonstrate that Todyformer outperforms …"
        if _names_a_dataset(best_abstract, {name.lower() for name in names(question)}):
            present.add(stem("dataset"))
    missing = sorted(asked - present)
    if _LIMITATION in missing and _states_a_problem_of(question, best_abstract):
        missing.remove(_LIMITATION)
    opening = _opening(question)
    if _QUANTITY.search(opening) and not _NUMBER.search(best_abstract):
        missing.append("any number")
    elif (counted := _counted(opening)) and not any(
        _NUMBER.search(s) and any(speaks_of(c, s) for c in counted) for s in rough_sentences(best_abstract)
    ):
        missing.append(f"a number of {counted[0]}")  # "six OoD methods" does not count "episodes"
    # a kind of detail the cues above read ("Which benchmark datasets …?") is theirs to judge
    phrase, kind = _asked_kind(question)
    if not asked and kind and not kind & _spoken(best_abstract):
        missing.append(phrase)
    return missing


# "Which activation functions does the bound assume?": what the question asks to be named, in two or three words
# after the wh-word. An abstract that uses none of them ("activation", "functions") names none; one word alone
# ("Which architecture …?") is often answered by a name without it ("a Transformer"), and is left to the rest, as
# are the words that only sort what is asked for.
_ASKS_WHICH = re.compile(
    r"^\W*(?:which|what)\s+((?:[\w-]+\s+){1,2}?[\w-]+)\s+(?:does|do|did|is|are|was|were|can|could|would|should|has|have|had)\b",
    re.IGNORECASE,
)


# Words that sort what is named rather than name it: "What base architecture does PowerNorm modify?" is answered by
# "Transformers", "Which classic algorithm …?" by an algorithm's name, neither word in the abstract.
_CLASSIFYING = frozenset(stem(w) for w in """architecture architectures algorithm algorithms model models method
    methods approach approaches technique techniques scheme schemes framework frameworks strategy strategies criterion
    criteria mechanism mechanisms procedure procedures kind kinds type types class classes family families variant
    variants version versions base main classic classical standard specific particular new novel different existing
    key exact underlying original common popular prior previous""".split())


def _asked_kind(question: str) -> tuple[str, frozenset[str]]:
    """What a "Which X Y does …?" question asks to be named, as written and as the stems of its content words less
    those that only sort it (_CLASSIFYING); no stems unless it is two or three content words."""
    found = _ASKS_WHICH.match(question)
    if not found:
        return "", frozenset()
    kind = [w.lower() for w in words(found[1]) if w.lower() not in STOPWORDS and not w.isdigit()]
    return found[1].lower(), frozenset(stem(w) for w in kind) - _CLASSIFYING if len(kind) >= 2 else frozenset()


_LIMITATION = stem("limitation")
# Words that state what is wrong with something: "existing hypernetworks are challenging to train, converge slowly"
# states their shortcomings without the word
def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in text.split())


_PROBLEM_WORDS = _stems("""challenging difficult slow slowly expensive sensitive suffer
    suffers suffering fail fails failure unstable instability degradation degrade degrades restrictive inefficient
    inefficiency bottleneck struggle struggles poor poorly brittle prohibitive hinder hinders over-smoothing
    over-squashing overfitting""")
_STOPPED = frozenset(map(stem, STOPWORDS))  # stopwords as stems: once, not per word of a question
_NOT_THE_SUBJECT = _stems("""limitation limitations drawback drawbacks weakness weaknesses
    shortcoming shortcomings downside downsides main key biggest major primary existing current standard
    traditional conventional prior previous""")


def _states_a_problem_of(question: str, abstract: str) -> bool:
    """Whether a sentence of the abstract says what is wrong with what the question asks the limitations of, in
    other words: a problem word, and at least half of the question's subject ("What are the shortcomings of
    existing hypernetworks?": "… hypernetworks … are challenging to train"). "What is the main limitation of
    PowerNorm?" is not answered by what its abstract says is wrong with batch normalization."""
    subject = {t for t in map(stem, _cue_words(question)) if t not in _NOT_THE_SUBJECT and t not in _STOPPED}
    subject = {t for t in subject if t.isalnum() or "-" in t}
    # a name the question gives is what is asked about: all of it ("Weight Compander": "weight" alone is not it)
    named = {stem(p) for token in names(question) for p in name_parts(token)} & subject
    if not subject:
        return False
    defined = {short: {stem(w) for w in words(long)} for short, long in abbreviations(abstract).items()}
    for sentence in rough_sentences(abstract):
        said = _spoken(sentence)
        # "BN leads to significant performance degradation" speaks of batch normalization, as the abstract defines it
        said |= {s for token in sentence.split() for s in defined.get(token.strip("().,;:"), ())}
        about = named <= said if named else 2 * len(subject & said) >= len(subject)
        if about and _states_a_problem(sentence):
            return True
    return False


# What undoes a problem: "reduced susceptibility to overfitting", "less sensitive", "without instability"
_UNDONE = re.compile(
    r"\b(?:reduc|avoid|less|lower|mitigat|obviat|without|alleviat|overc[oa]m|prevent|robust|free|no)\w*\b", re.IGNORECASE
)


# Problem words whose stem is a neutral word: "costly" is "cost", as in "the functional cost" a network minimises
_PROBLEM_AS_WRITTEN = frozenset({"costly"})


# A negative result states a shortcoming without a problem word: "networks found by Random Search neither perform better
# nor converge more efficiently than their random counterparts", "… does not improve on …", "no better than …"
_FALLS_SHORT = re.compile(
    r"\bneither\s+(?:[\w-]+\s+){0,3}?(?:perform|improve|outperform|converge|generali[sz]e|help|scale|work|beat)\w*\b"
    r"|\b(?:do|does|did)\s+not\s+(?:[\w-]+ly\s+)?(?:perform\s+better|improve|outperform|converge|generali[sz]e|help|scale|beat)\w*\b"
    r"|\bno\s+better\s+than\b",
    re.IGNORECASE,
)


def _states_a_problem(sentence: str) -> bool:
    """A problem word in the sentence that no "reduces", "avoids", "less" or "without" just before undoes, or a
    negative result (_FALLS_SHORT)."""
    if _FALLS_SHORT.search(sentence):
        return True
    return any(
        (stem(found.group(0).lower()) in _PROBLEM_WORDS or found.group(0).lower() in _PROBLEM_AS_WRITTEN)
        and not _UNDONE.search(" ".join(sentence[: found.start()].split()[-3:]))  # within three words before
        for found in re.finditer(r"[\w-]+", sentence)
    )


_DATA_WORDS = frozenset(stem(w) for w in ("dataset", "benchmark", "corpus", "corpora"))


# A sentence reporting results: the numbered names it evaluates "on" are data ("0.4/0.6 BLEU on IWSLT14/WMT14").
_RESULT_WORDS = frozenset(stem(w) for w in (
    "outperform", "outperforms", "achieve", "achieves", "evaluate", "evaluated", "experiments", "results", "accuracy",
    "error", "bleu", "perplexity", "ppl", "score", "scores", "tested", "improves", "improvement",
))
_DATA_NAME = re.compile(r"^(?:[A-Z][A-Za-z]*\d[\w-]*|[A-Z]{2,}[\w-]*|[A-Z][a-z]+[A-Z][\w-]*)$")  # CIFAR-10, PTB, WikiText-103


def _names_a_dataset(abstract: str, asked_about: Set[str] = frozenset()) -> bool:
    """Whether a name stands within six words of "dataset"/"benchmark"/"corpus" in a sentence ("on CIFAR-10
    and ImageNet datasets", "benchmarks (LCBench, NAS-Bench-201)"), or follows "on" in a sentence reporting
    results ("… BLEU on IWSLT14/WMT14 and … PPL on PTB/WikiText-103"): "which datasets?" asks for names."""
    for sentence in rough_sentences(abstract):
        tokens = [t.strip("()[],;:.") for t in sentence.split()]
        near = [i for i, t in enumerate(tokens) if stem(t.lower()) in _DATA_WORDS]
        named = [  # "45 datasets" counts them, "MNIST" and "CIFAR-10" name them; `asked_about`'s names do not
            i for i, t in enumerate(tokens)
            if i and _NAME.match(t) and not t.isdigit() and t.lower() not in STOPWORDS and t.lower() not in asked_about
        ]
        if any(abs(i - j) <= 6 for i in named for j in near):
            return True
        if any(stem(t.lower()) in _RESULT_WORDS for t in tokens) and any(
            before.lower() == "on" and all(_DATA_NAME.match(part) for part in after.split("/") if part)
            and any(c.isdigit() for c in after)  # a numbered name: "on BERT", "on NTK" name models and theories
            for before, after in pairwise(tokens) if after
        ):
            return True
    return False


# What a network's width is counted in, by any of its names: "How many hidden units per layer …?" is answered by
# "the number of neurons is as little as Ω(√N)" (a question a researcher typed abstained). Stems.
_SAME_COUNT = tuple(stem(w) for w in ("neurons", "units", "nodes", "hidden", "width"))


# Nouns a question counts that the stop words hold as research boilerplate ("How many methods reach …?")
_COUNTABLE = frozenset({"method", "methods", "approach", "approaches", "result", "results", "studies", "authors"})


def _counted(opening: str) -> tuple[str, ...]:
    """The stems of what "how many" counts: the words right after it, a modifier and its noun ("How many
    out-of-distribution methods …" -> "out-of-distribut", "method": "six OoD methods" counts them), or else the first
    word that is no stop word ("How many of the language models …" -> "languag"); () when it asks no count."""
    tokens = words(opening)
    for i in range(len(tokens) - 2):
        if tokens[i] == "how" and tokens[i + 1] in _COUNTING:  # "How few parameters does it tune?" asks how many
            rest = tokens[i + 2 :]
            after = [t for t in rest if t not in STOPWORDS]
            if len(after) > 1 and after[0] == "hidden" and stem(after[1]) not in _SAME_COUNT:
                return (stem(after[1]),)  # "how many hidden layers" counts layers; "hidden units" a width
            phrase = list(takewhile(lambda t: t not in STOPWORDS or t in _COUNTABLE, rest))[:2]
            if len(phrase) == 2 and phrase[0].endswith(("ing", "ed")):
                phrase = phrase[1:]  # "how many training examples" counts examples, not anything of training
            return tuple(stem(t) for t in phrase or after[:1])
    return ()


def _opening(question: str) -> str:
    """Where "How many …?" is read: "is there a way … how many …" does not ask for a number."""
    return " ".join(question.split()[:6])


def _word_parts(text: str) -> list[str]:
    """A text's words, and the parts of its hyphenated ones ("over-parameterized": also "over", "parameterized")."""
    return [p for w in words(text) for p in (w, *w.split("-")) if p]


def _spoken(text: str) -> set[str]:
    """The stems of a text's words and of their hyphenated parts (_word_parts)."""
    return {stem(p) for p in _word_parts(text)}


# A verb made of a noun names another thing: "parametrized" counts no parameters, "memorization" no memory
_MADE_A_VERB = re.compile(r"i[sz](?:e|ed|es|ing|ation|ations)$")


def speaks_of(counted: str, text: str) -> bool:
    """Whether the text has a word, or a part of a hyphenated one ("bit-widths"), stemming to what a question counts
    or measures (`measured`), or longer but for a verb made of it ("750-dimensional" speaks of dimensions)."""
    alike = _SAME_COUNT if counted in _SAME_COUNT else (counted,)
    for part in _word_parts(text):
        said = stem(part)
        if said in alike or (said.startswith(alike) and not _MADE_A_VERB.search(part)):
            return True
    return False


def measured(question: str) -> str | None:
    """The stem of what "how many X" counts or "how much X" measures, when X follows at once ("How much memory does
    SaRA save?" -> "memori"); None for "how much of …", "how much faster", "how much does …"."""
    opening = _opening(question)
    if counted := _counted(opening):
        return counted[0]
    tokens = words(opening)
    for i in range(len(tokens) - 2):
        after = tokens[i + 2]
        if tokens[i] == "how" and tokens[i + 1] in _MEASURING and after not in STOPWORDS and not after.endswith(("er", "ly")):
            return stem(after)
    return None


# "How much faster …?" asks for a figure of that comparison: "over 10 000 times faster" states it, a sentence only
# naming the things compared does not. What may say each comparative besides itself (stems' prefixes).
_SAID_AS = {
    "faster": ("faster", "quicker", "speedup", "speed-up", "accelerat"), "quicker": ("faster", "quicker", "speedup"),
    "slower": ("slower", "slowdown"), "better": ("better", "improv", "outperform"), "cheaper": ("cheaper", "cost"),
    "smaller": ("smaller", "reduc", "fewer", "less"), "fewer": ("fewer", "reduc", "less"), "less": ("less", "reduc"),
}
_COMPARATIVE = re.compile(r"[a-z]{2,}er$|^(?:more|less|fewer)$")


def compared_figure(question: str) -> tuple[str, ...]:
    """What "how much faster / how many more / how far better …" compares, as the words that may say it (_SAID_AS);
    () when the question asks no comparison's figure, or when "how much more memory" measures a noun."""
    tokens = words(_opening(question))
    for i in range(len(tokens) - 2):
        said = tokens[i + 2]
        if tokens[i] == "how" and tokens[i + 1] in _MEASURING + _COUNTING + ("far",) and _COMPARATIVE.search(said):
            after = tokens[i + 3] if i + 3 < len(tokens) else "than"
            if said in ("more", "less", "fewer") and after not in STOPWORDS and after != "than":
                return ()  # "how many more parameters" counts parameters (`_counted` reads it)
            return _SAID_AS.get(said, (said,))
    return ()


_SHARE = re.compile(
    r"\b(?:what|which)(?:'s|\s+is|\s+are)?\s+(?:the\s+)?(?:percentage|fraction|share|proportion)\b", re.IGNORECASE
)


def states_the_figure(question: str, text: str) -> bool | None:
    """Whether `text` states the figure the question asks for, as far as words tell: what "how many / how much"
    counts or measures (`measured`: "How much memory does SaRA save?" is answered by the sentence on memory), a share
    for "what percentage / fraction" ("as few as 0.019% of model parameters", "prune half of …"), a number and the
    metric "what accuracy / perplexity …" names ("achieves 100% training accuracy"), a number beside the comparative
    "how much faster" asks for ("over 10 000 times faster", `compared_figure`); None when it asks no figure."""
    opening = _opening(question)
    if compares := compared_figure(question):
        return bool(_NUMBER.search(text)) and any(w.startswith(compares) for w in _word_parts(text.lower()))
    if quantity := measured(question):
        return speaks_of(quantity, text)
    if _SHARE.search(opening):
        return bool(_PERCENT.search(text))
    metrics = asked_details(opening) & _METRICS
    if metrics:
        said = {stem(w) for w in _cue_words(text)} | {_METRIC_NAMES[w] for w in words(text) if w in _METRIC_NAMES}
        return bool(_NUMBER.search(text)) and not metrics.isdisjoint(said)
    return None


def _spells(acronym: str, text_words: list[str]) -> bool:
    """Whether consecutive words of the text have the acronym's letters as initials ("CKA": centered
    kernel alignment; hyphenated parts count, "multi-layer perceptron" spells MLP)."""
    letters = acronym.lower()
    initials = [p[0] for w in text_words for p in w.split("-") if p]
    return letters in "".join(initials) and any(
        "".join(initials[i : i + len(letters)]) == letters for i in range(len(initials) - len(letters) + 1)
    )


_PLURAL_ACRONYM = re.compile(r"([A-Z]{2,})s")


def _acronym(token: str) -> str | None:
    """An acronym, its plural read as the acronym ("GNNs" -> "GNN")."""
    if token.isupper() and token.isalpha():
        return token
    plural = _PLURAL_ACRONYM.fullmatch(token)
    return plural[1] if plural else None


def name_parts(token: str) -> list[str]:
    """A name's camel-case and hyphen parts, lower-cased: "PowerNorm" -> power, norm; "LC-PFN" -> lc, pfn."""
    return [p.lower() for piece in token.split("-") for p in _CAMEL.findall(piece)]


_SENTENCE_START = re.compile(r"([.?!]\s+)[A-Z][a-z]+\b")

# The field's generic acronyms name a kind of model, not a work, and abstracts often say it in other words: a
# question swapping "each MLP sublayer" for experts abstained on the abstract "replacing the feed-forward network
# (FFN) with mixture-of-experts". Each is said when the text has one of these spellings (lower-case, from a
# word's start, so "convolutional" says CNN).
FIELD_TERMS: dict[str, tuple[str, ...]] = {
    "MLP": ("multilayer perceptron", "feed-forward", "feedforward", "ffn", "fully connected", "fully-connected"),
    "FFN": ("feed-forward", "feedforward", "mlp", "multilayer perceptron", "fully connected", "fully-connected"),
    "CNN": ("convolutional", "convnet"),
    "ConvNet": ("convolutional", "convnet"),
    "RNN": ("recurrent",),
    "GNN": ("graph neural", "graph network", "message passing", "message-passing"),
    "LLM": ("language model",),
    "LM": ("language model",),
    "DNN": ("neural network", "deep network", "deep net"),
    "NN": ("neural network", "neural net"),
    "ViT": ("vision transformer",),
}
_FIELD_TERMS = {
    name: re.compile(r"\b(?:" + "|".join(re.escape(s) for s in spellings) + ")") for name, spellings in FIELD_TERMS.items()
}


_NUMBERED = re.compile(r"[A-Za-z][\s-]?\d|\d[\s-]?[A-Za-z]")


def _spelled_apart(name: str) -> re.Pattern[str]:
    """A numbered name's letters and digits with or without a hyphen or space between, as a word ("resnet-50" finds
    "ResNet50", not the "t 5" of "first 5")."""
    runs = re.findall(r"[a-z]+|\d+", name.lower())
    return re.compile(r"\b" + r"[\s-]?".join(runs) + r"\b")


def names(question: str) -> list[str]:
    """Capitalised words, acronyms and numbered names of a question (its first word is capitalised anyway)."""
    body = question.split(None, 1)[1] if len(question.split()) > 1 else ""
    # Nor is a sentence's: a follow-up's query is "<earlier question or answer>. Summarize it."
    body = _SENTENCE_START.sub(r"\1", body)
    return list(dict.fromkeys(_NAME.findall(body)))


# A name owning a paper (its author's) the way a reader cites one: "Jacot's NTK paper", "the NTK paper by Jacot et
# al.", "Yang and Hu's paper" (both names)
_OWNED = re.compile(r"\b([A-Z][\w-]+)(?:['’]s\b|\s+et\s+al\b)|\b([A-Z][\w-]+)(?=\s+(?:and|&)\s+[A-Z][\w-]+['’]s\b)")


def owners(question: str) -> list[str]:
    """The names owning a paper in the question (_OWNED), in order."""
    return list(dict.fromkeys(name for match in _OWNED.finditer(question) for name in match.groups() if name))


def absent_names(
    question: str, texts: Sequence[str], published: Sequence[str] = (), undated: bool = False, unauthored: bool = False
) -> list[str]:
    """Capitalised words, acronyms and numbered names in the question that none of `texts` mentions in
    any spelling. Short tokens other than acronyms ("l1", the "1" of a formula) are notation, not names. A big
    venue's short name ("NeurIPS") names where a paper appeared, not what its abstract says, and a year or
    venue the papers' records give (`published`: "NeurIPS 2020") is theirs too. `undated`: a paper of `texts`
    has no year on record, so a year ("the 2018 NTK paper") cannot be checked: it is not counted absent (a
    store of pages or plain abstracts holds no years, and every such question abstained). `unauthored`: as
    `undated`, for a name owning a paper ("Jacot's NTK paper", "by Jacot et al.": owners) where no paper of `texts`
    has authors on record."""
    owned = set(owners(question)) if unauthored else set()
    joined = " ".join([*texts, *published])
    low, text_words = joined.lower(), words(joined)
    have = {stem(w) for w in text_words} | {stem(p) for w in text_words for p in w.split("-") if p}
    absent: list[str] = []
    for token in names(question):
        if (len(token) <= 2 and not token.isupper()) or token.lower() in STOPWORDS or token.lower() in low:
            continue
        if fold(token) in VENUE_NAMES or (undated and YEAR.fullmatch(token)) or token in owned:
            continue
        single = _acronym(token) or token  # "CNNs" is the plural of CNN: "convolutional neural networks" names it
        field = _FIELD_TERMS.get(single) or _FIELD_TERMS.get(single.removesuffix("s"))  # "ViTs"
        if single.lower() in low or (field and field.search(low)):
            continue
        if _NUMBERED.search(single) and _spelled_apart(single).search(low):  # "ResNet-50" is "ResNet50", "GPT 2" "GPT-2"
            continue
        raw = [p for piece in single.split("-") for p in _CAMEL.findall(piece)]
        parts = [p for p in raw if p.lower() not in STOPWORDS and p.lower() not in _MODIFIERS and len(p) > 2]

        def said(part: str) -> bool:  # "SDE-based": the SDE part spelled out as stochastic differential equation
            low_part = part.lower()
            return stem(low_part) in have or any(w.startswith(low_part) for w in text_words) or (
                part.isupper() and part.isalpha() and _spells(part, text_words)
            )

        if parts and all(said(p) for p in parts):
            continue  # "XOR-like", "LayerNorm" (layer normalization): the text names it in other words
        if single.isupper() and single.isalpha() and _spells(single, text_words):
            continue
        absent.append(token)
    return absent


_ASKING = re.compile(r"[^?]*?[^?\s.!][^?]*\?")  # a stretch of text up to a question mark, not only spaces
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|‘[^’]*’")
_HIDDEN = "\ue001"


# "What is grokking and what does X achieve?": two questions joined by "and", each opening on a wh-word and its
# verb (not "What GPU hardware and how many GPU hours …", nor "Which papers …, and what does each …?")
_VERB = r"(?:is|are|was|were|does|do|did|can|could|would|will|should|has|have)\b"
_WH_VERB = r"(?:what|which|how|why|who|when|where)\s+" + _VERB
# "…, and what GPU does it train on?", "… and how many parameters does it need?": a wh-word, its noun, the verb
_WH_NOUN_VERB = r"(?:what|which|how\s+(?:many|much))\s+(?:[\w-]+\s+){1,3}?" + _VERB
_JOINED = re.compile(r",?\s+and\s+(?=" + _WH_VERB + "|" + _WH_NOUN_VERB + ")", re.IGNORECASE)
_OPENS_ASKING = re.compile(r"^\W*" + _WH_VERB, re.IGNORECASE)


def asking_parts(question: str) -> list[str]:
    """The sentences of a question that ask something ("How many bits …? Can that be estimated …?" has two; so
    has "What is grokking and what does X achieve?"), or the whole question when it asks once (or only states:
    "reward hacking in RLHF"). Split at question marks, not by split_sentences: its tokenizer (NLTK's punkt) took
    2 s to import on a cold `assistant ask`."""
    quoted = _QUOTED.sub(lambda m: m[0].replace("?", _HIDDEN), question)  # a title's "?" ends no part
    parts = [p.strip().replace(_HIDDEN, "?") for p in _ASKING.findall(quoted)] or [question]
    joined = [
        piece if piece.endswith("?") else f"{piece}?"
        for part in parts
        for piece in (_JOINED.split(part) if _OPENS_ASKING.match(part) else [part])
    ]
    return joined if len(joined) > 1 else [question]


def unstated_parts(
    question: str,
    best_abstract: str,
    sources: Sequence[str] = (),
    published: Sequence[str] = (),
    undated: bool = False,
    unauthored: bool = False,
) -> list[tuple[str, list[str]]]:
    """The parts of a question that ask for a detail the best abstract never states, or (in a question of
    several parts, given the answer's `sources` and their records as for absent_names) name what none of them
    mentions, each with what is missing: (part, missing). When every part misses something the question is not
    answered; when only some do, the rest is, and the answer says what it leaves out ("What is PowerNorm, and
    what GPU does it train on?" abstained whole for the GPU)."""
    parts = asking_parts(question)
    out: list[tuple[str, list[str]]] = []
    for part in parts:
        missing = missing_details(part, best_abstract)
        if len(parts) > 1 and sources:
            missing += [n for n in absent_names(part, sources, published, undated, unauthored) if n.lower() not in missing]
        if missing:
            out.append((part, missing))
    return out


def abstention_reason(
    question: str,
    best_evidence: float | None,
    sources: Sequence[str],
    threshold: float,
    published: Sequence[str] = (),
    asked: str | None = None,
    undated: bool = False,
    unauthored: bool = False,
    unstated: Sequence[tuple[str, list[str]]] | None = None,
) -> str | None:
    """Why the evidence cannot answer the question, or None when it can (`best_evidence`: the best
    sentence's score, None when there is no sentence at all; `sources`: title and abstract of the papers
    the answer would come from, the best first; `published`: their venues and years; `asked`: the user's
    own question when `question` is a follow-up's search query: the details and names of the question
    before it are not asked again; `unstated`: its unstated_parts for these sources, when the caller has them)."""
    if best_evidence is None or best_evidence < threshold:
        return "no abstract is close enough to the question"
    own = asked or question
    parts = asking_parts(own)
    if unstated is None:
        unstated = unstated_parts(own, sources[0] if sources else "", sources, published, undated, unauthored)
    if unstated and len(unstated) == len(parts):
        missing = list(dict.fromkeys(m for _, found in unstated for m in found))
        return f"the closest abstract does not mention {', '.join(missing)}"
    # the names of a part said to go unanswered do not stop the rest of the question being answered
    answered = " ".join(part for part in parts if part not in {p for p, _ in unstated}) if len(parts) > 1 else own
    absent = absent_names(answered, sources, published, undated, unauthored)
    if absent:
        return f"the closest abstracts do not mention {', '.join(absent)}"
    return None
