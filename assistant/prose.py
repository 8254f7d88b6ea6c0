"""Abstract sentences -> sentences that read well in an answer: LaTeX made readable, the authors'
first person turned into a named third person, brackets that could pass for citation markers made
round, and sentences that say nothing about the research (code links, availability notes) recognised.
The abstracts themselves, and the quotes of citations, stay verbatim."""

from __future__ import annotations

import re

from .latex import readable_latex
from .text import STOPWORDS, rough_sentences
from .types import Paper

_BRACKETS = re.compile(r"\[([^\[\]]*)\]")

# "In this paper, we", "Here, we", "We", "Our", "This paper": the authors speaking of themselves.
_OPENING_WE = re.compile(
    r"^(?:(?:(?:In|Within) (?:this|the present) (?:paper|work|study|article|note)|Here|Herein),?\s+)?[Ww]e\b"
)
_OPENING_PAPER = re.compile(r"^(?:This|The present|Our) (?:paper|work|study|article|note|thesis|dissertation)\b")
_THIS_PAPER = re.compile(r"\b[Ii]n (?:this|the present) (?:paper|work|study|article|note|thesis|dissertation)\b")
# "The network is shown to …", "The proposed method …": the paper's own thing, which an answer names it for
_ITS_OWN = re.compile(
    r"^(?:The|This|These|Its|Their)\s+(?:[\w-]+\s+){0,2}?(?:network|model|method|approach|framework|algorithm"
    r"|architecture|system|technique|scheme|estimator|procedure)s?\b"
)
_PRONOUNS = {"we": "the authors", "us": "them", "our": "their", "ours": "theirs", "ourselves": "themselves"}
_FIRST_PERSON = re.compile(r"\b(we|us|our|ours|ourselves)\b", re.IGNORECASE)
# "if we can represent a network …": anyone, not the authors ("if the authors can represent" reads as a doubt
# about them); only before a modal verb and the verb it governs, where "one" needs no other change, and only
# when no "we" or "our" follows ("If we could sample exactly, we would …" is the authors throughout)
_GENERIC_WE = re.compile(
    r"\b(if|when|whenever|unless|once|whether)\s+we\s+(?=(?:can|cannot|could|may|might|will|would|should|must)(?:n't)?\s+(?:not\s+)?[a-z])",
    re.IGNORECASE,
)
# "In our era of enormous neural networks", "our understanding of grokking": everyone's, not the authors' ("In their
# era" read as the authors' own era); not "our time complexity", "our world model", "our field experiments"
_SHARED_OUR = re.compile(r"\b([Oo])ur\s+(?=(?:era|age|times|society|understanding)\b(?![-\w]))")
# Discourse openers that only link to the sentence before; dropped when the sentence stands alone.
# "Namely, if …" and "In particular, …" lean on the sentence before just as "Moreover, …" does; an opener
# without its comma only before "we" ("Finally we study …"): "Further work …" and "Then the …" read on.
_LINKING = re.compile(
    r"^(?:Moreover|Furthermore|Additionally|In addition|Also|Further|Besides|Finally|Then|Next"
    r"|First(?:ly)?|Second(?:ly)?|Third(?:ly)?|Lastly|Consequently|Therefore|Thus|Hence|Accordingly"
    r"|Namely|Specifically|In particular|Similarly|Likewise|Meanwhile|In turn|As a (?:result|consequence)"
    r"|On the other hand|In contrast|Conversely|Contrastingly|However|Nevertheless|Nonetheless|Subsequently|Overall"
    r"|In summary|In short|More (?:precisely|specifically|concretely|generally)|Indeed"
    # ... and what only reads after the sentence before: an example of it, a restatement of it
    r"|In fact|Concretely|For (?:instance|example)|Instead|In other words|Put differently|As such"
    r"|Taken together|All in all|To (?:summari[sz]e|sum up|conclude)|In conclusion"
    r"|But|Yet)(?:,\s+|\s+(?=we\b))"  # "But, such deployment …": a contrast with what is not shown
)
# Openers that point back at something the previous sentence named: "This phenomenon…", and an opening
# clause that refers back ("Addressing this issue, …", "To overcome these limitations, …").
_POINTS_BACK = re.compile(
    # "They", "Their", "Its" name nothing of their own ("It" is left out: "It is known that …" points nowhere)
    r"^(?:(?:They|Their|Its)\b|(?:This|These|That|Those|Such)\b(?!\s+(?:paper|work|study|article|note)\b)"
    # "In this setting, …", "Using these, …"; "that" only after a preposition ("At that point, …", "Unlike that
    # method, …"): "We prove that when training with weight decay, …" and "Given that the data are …" point nowhere
    r"|[^,.;]{0,60}?(?:\b(?:this|these|those|such)|\b(?:in|on|at|under|with|for|from|by|of|to|after|before|despite|unlike"
    r"|beyond|following|like|about|against|within|without|through|via|into|over|upon|towards?)\s+that)"
    r"\s+(?!paper\b|work\b|study\b|article\b)\w+[^,.;]{0,30},)",
    re.IGNORECASE,
)
# An opening clause that points back ("Addressing this issue, we …", "To overcome these limitations, the …"):
# dropped when a full sentence follows it, instead of pulling in the sentence it points at.
_BACK_CLAUSE = re.compile(
    # Only motives and purposes ("to address this", "motivated by this"): a condition ("Under this
    # assumption, …", "With such a prior, …") is part of the claim and stays, with its antecedent.
    r"^(?=[^,.;]*\b(?:this|these|that|those|such)\b)(?:to\s+(?:address|overcome|tackle|solve|mitigate|remedy|fill|bridge|close|achieve|this\s+end)"
    r"|addressing|motivated\s+by|inspired\s+by|building\s+on|in\s+this\s+(?:context|light|spirit)"
    r"|with\s+this\s+(?:goal|aim|in\s+mind)|for\s+this\s+(?:reason|purpose)|towards?\s+this)\b[^,.;]{0,60},\s+"
    r"(?=(?:we|the|our|a|an|it|they|its|their)\b|[A-Z])",
    re.IGNORECASE,
)
_URL = re.compile(r"https?://|www\.|github\.com|\bgitlab\b|\bhuggingface\.co\b", re.IGNORECASE)
_AVAILABILITY = re.compile(
    r"\b(?:code|data(?:set)?s?|models?|implementation|software|weights|checkpoints)\b[^.]{0,60}"
    r"\b(?:(?:is|are|will be|has been|have been|be made)\s+(?:publicly\s+|freely\s+|openly\s+)?(?:available|released|open[- ]sourced)"
    r"|available\s+at|can be found)\b"
    r"|\b(?:we|the authors)\s+(?:release|open[- ]source|make (?:\w+ )?(?:code|data|models?)[^.]{0,20}available)\b"
    # "We provide easy-to-use code that …": the code itself offered, not a finding
    r"|\b(?:we|the authors)\s+(?:also\s+)?(?:provide|share|publish)\s+(?:[\w-]+\s+){0,3}(?:code|implementations?|software|library|toolkit)\b",
    re.IGNORECASE,
)
_ASKS_FOR_RESOURCES = re.compile(r"\b(?:code|github|repository|repo|url|link|available|availability|release[sd]?|download)\b", re.IGNORECASE)


def round_brackets(text: str) -> str:
    """[12], [Foster and Rakhlin, 2020] -> (12), (...): in an answer only citation markers are square."""
    return _BRACKETS.sub(r"(\1)", text)


def is_meta(sentence: str) -> bool:
    """A sentence about the paper's code, data or links rather than its findings."""
    return bool(_URL.search(sentence) or _AVAILABILITY.search(sentence))


# A question the abstract poses without a question mark: "This raises the question of whether uniformly-tight
# bounds are at all possible …", "Thus, a natural open question is whether the NTK is well conditioned …". It
# restates what a researcher asks (the closest sentence to "Are uniformly tight bounds possible?") and answers
# nothing; the sentence after it does ("We prove mathematically that no such bound can be uniformly tight").
_POSES_QUESTION = re.compile(
    r"^(?:(?:this|that|it|which)\s+(?:\w+ly\s+)?(?:raises|begs|poses|prompts|leads\s+to)\s+the\s+question"
    r"|(?:an?|the)\s+(?:[\w-]+\s+){0,2}question\s+(?:is|remains)\s+(?:whether|how|what|why|if)\b"
    r"|it\s+is\s+(?:\w+\s+)?(?:natural|interesting|important)\s+to\s+ask\b"
    r"|it\s+(?:is|remains)\s+(?:unclear|unknown|not\s+clear|an\s+open\s+question)\s+(?:whether|how|what|why|if)\b"
    # "we perform a systematic study … to understand why BN has a poor performance": a study whose purpose is the
    # question, not a finding that explains ("Our analysis helps to explain why …") nor a tool built to find out
    # ("We propose a test to determine whether …")
    r"|.{0,80}?\b(?:we|the\s+authors)\s+(?:\w+ly\s+)?(?:perform|conduct|carry\s+out|present|undertake)\s+(?:an?\s+)?"
    r"(?:[\w-]+\s+){0,3}(?:study|analysis|investigation|examination|evaluation)\b[^.;]{0,80}?\bto\s+(?:understand|determine)"
    r"\s+(?:why|how|whether)\b(?![^.]*:\s))",  # "…: the statistics fluctuate": the answer follows the colon
    re.IGNORECASE,
)
# ... unless it answers in the same sentence ("…, and we show that it is")
_ANSWERS_TOO = re.compile(
    r"\b(?:we|the\s+authors)\s+(?:\w+ly\s+)?(?:show|prove|find|answer|demonstrate|establish|resolve)\b"
    r"|\bour\s+(?:results?|experiments|analysis|findings)\s+(?:\w+ly\s+)?(?:show|confirm|suggest|indicate|reveal)|\bwhich\s+we\s+\w+"
    r"|,?\s+and\s+(?:\w+ly\s+)?(?:show|prove|find|demonstrate|establish|identify|reveal)\b",
    re.IGNORECASE,
)


def poses_a_question(sentence: str) -> bool:
    """Whether the sentence only poses a question (_POSES_QUESTION), past a linking opener ("Thus, …")."""
    text = _LINKING.sub("", sentence.strip())
    return bool(_POSES_QUESTION.match(text)) and not _ANSWERS_TOO.search(text)


# What the authors hope their paper does for its readers ("We anticipate this thesis will be of interest to anyone
# interested in …", "We hope our work will inspire future research"): a wish, not a finding.
_HOPES = re.compile(
    r"^(?:finally,?\s+)?(?:we|the\s+authors)\s+(?:also\s+|further\s+)?(?:hope|anticipate|expect|envision|trust)"
    r"\s+(?:that\s+)?(?:this|these|our|the|it|they|such)\b[^.;]{0,80}?\b(?:"
    r"sheds?\s+(?:new\s+)?light|serve\s+as|"
    r"(?:be|of)\s+(?:of\s+)?(?:\w+\s+)?(?:interest|use|value|benefit|help)\b|(?:be|prove)\s+(?:\w+\s+)?(?:useful|helpful|valuable)\b"
    r"|(?:useful|valuable|helpful)\s+(?:reference|resource|guide|starting\s+point)"
    r"|inspire|encourage|stimulate|spur|pav(?:es?|ing)\s+the\s+way|open\s+(?:up\s+)?(?:new|future)|future\s+(?:work|research|studies))",
    re.IGNORECASE,
)


def only_hopes(sentence: str) -> bool:
    """Whether the sentence only says what the authors hope their work will be to others (_HOPES), finding nothing:
    their own main clause ("We hope our work will inspire …"), not "As we expect, weight decay encourages …"."""
    text = _LINKING.sub("", sentence.strip())
    return bool(_HOPES.match(text)) and not _ANSWERS_TOO.search(text)


# "We prove …", "This paper introduces …", "our analysis reveals …": a sentence stating what the paper itself does
# or finds (answer.ExtractiveComposer scores it: benchmarks/fit_sentences.py).
_CLAIM = re.compile(
    r"\b(?:we|(?:this|the present|our) (?:paper|work|study|article|note)|our (?:results?|analysis|experiments|"
    r"method|approach|findings|theory|framework))\s+(?:\w+ly\s+)?(?:also\s+)?(?:propose|introduce|show|prove|"
    r"demonstrate|find|present|develop|derive|establish|obtain|achieve|provide|give|identify|argue|reveal|suggest|"
    r"study|investigate|analy[sz]e|consider|explore|design)",
    re.IGNORECASE,
)


def in_own_voice(sentence: str) -> bool:
    """The authors speak of themselves or their paper ("we", "our", "This paper …", "In this work …")."""
    return bool(_FIRST_PERSON.search(sentence) or _OPENING_PAPER.match(sentence) or _THIS_PAPER.search(sentence))


def states_a_claim(sentence: str) -> bool:
    """What the paper itself proposes, shows or finds, said as such (see _CLAIM)."""
    return bool(_CLAIM.search(sentence))


def asks_for_resources(question: str) -> bool:
    return bool(_ASKS_FOR_RESOURCES.search(question))


# "What is the phenomenon where … known as?", "What do the authors call …?", "What name is given to …?": the question
# asks for a name, which a sentence gives by "is known as", "called", "termed", "we call it".
_ASKS_NAME = re.compile(
    r"\b(?:known|referred\s+to)\s+as\s*\??\s*$|\b(?:called|termed|named|dubbed)\s*\??\s*$|\bis\s+it\s+called\b"
    r"|\bwhat(?:'s|\s+is)?\s+(?:the\s+)?(?:name|term)\s+(?:of|for|given)\b|\bwhat\s+(?:name|term)\s+(?:is|do|does)\b"
    r"|\bwhat\s+do(?:es)?\s+[\w\s-]{1,40}?\bcall\b(?!\s+(?:for|into|on|upon|out)\b)",
    re.IGNORECASE,
)
_NAMES = re.compile(
    r"(?<!so-)\b(?:known|referred\s+to)\s+as\b(?!\s+an?\b)|(?<!so-)\b(?:called|termed|dubbed)\b(?!\s+(?:by|upon|for|on)\b)"
    r"|\bcoin(?:s|ed)?\s+the\s+term\b|\b(?:we|the\s+authors)\s+(?:call|name|term|dub)\b"
    r"|\b(?:we|the\s+authors)\s+refer\s+to\s+(?:\w+\s+){1,3}as\b",
    re.IGNORECASE,
)


def asks_for_a_name(question: str) -> bool:
    """Whether the question asks what something is called (_ASKS_NAME)."""
    return bool(_ASKS_NAME.search(question.strip()))


def gives_a_name(sentence: str) -> bool:
    """Whether the sentence says what something is called ("This phenomenon is known as Neural Collapse (NC).")."""
    return bool(_NAMES.search(sentence))


# A problem named only in the sentence before, solved later in this one: "PN, a scheme that resolves this issue
# by …" reads as an answer only with the issue it resolves.
_SOLVES_EARLIER = re.compile(
    r"(?:\b(?:resolv|solv|address|overc[oa]m|mitigat|tackl|alleviat|fix|remed|circumvent|avoid"
    # ... or studies or eases what they name: "simplify this process", "we study this phenomenon" read as fragments
    # without it ("answer this question" points at a question, which is never evidence to bring)
    r"|stud|investigat|explor|examin|simplif|explain|understand|characteri[sz]|analy[sz])\w*\s+"
    # ... or offers a remedy for it: "We present a simple solution to this problem using …"
    r"|\b(?:solutions?|remed(?:y|ies)|fix(?:es)?|cures?|workarounds?)\s+(?:to|for)\s+)"
    r"(?:this|these|that|those|such|the\s+above)\s+(?:\w+\s+)?(?:issues?|problems?|limitations?|challenges?|"
    r"drawbacks?|shortcomings?|difficult(?:y|ies)|bottlenecks?|deficienc(?:y|ies)|phenomen(?:on|a)|"
    r"process(?:es)?|gaps?|puzzles?|behaviou?rs?)\b",
    re.IGNORECASE,
)


# "Surprisingly, these complex systems …": a stance adverb stays in the answer, but what follows it may point back.
_STANCE = re.compile(r"^[A-Z][a-z]+ly,\s+")


# "It is known that these architectures are encumbered by …": an impersonal frame, then what the sentence says, which
# may open by pointing back (the answer had read it before the sentence naming the architectures)
_IMPERSONAL = re.compile(
    r"^it\s+(?:is|was|has\s+been)\s+(?:(?:well|widely|now|also|often|generally|commonly)[-\s]+)?(?:known|shown|observed"
    r"|established|believed|argued|recogni[sz]ed|accepted|understood)\s+that\s+",
    re.IGNORECASE,
)


def points_back(sentence: str) -> bool:
    """Whether the sentence opens by pointing at something named before it ("This phenomenon…", also past "It is
    known that …") in a way that dropping an opening clause (answer_sentence) does not mend."""
    text = _STANCE.sub("", _LINKING.sub("", sentence))
    said = _IMPERSONAL.sub("", text)
    said = said[:1].upper() + said[1:]
    return any(bool(_POINTS_BACK.match(t)) and not _BACK_CLAUSE.match(t) for t in {text, said})


def solves_earlier(sentence: str) -> bool:
    """Whether the sentence solves a problem only the sentences before it name ("… a scheme that resolves
    this issue by …"), past any opening clause that answer_sentence drops."""
    text = _LINKING.sub("", sentence)
    return bool(_SOLVES_EARLIER.search(_BACK_CLAUSE.sub("", text, count=1)))


_OPENS_ON_IT = re.compile(r"it\s+(?!is\b|was\b|has\s+been\b|remains\b)", re.IGNORECASE)  # "However, it consists …"
# "We analyze it for both single model and Co-teaching": the authors' verb on a thing the sentence before named
# (an answer opened on it); not "we make it possible", "we find it useful", where "it" names nothing
_ACTS_ON_IT = re.compile(
    r"(?:we|the\s+authors)\s+(?:\w+ly\s+)?(?:also\s+|then\s+|further\s+)?(?!(?:make|made|find|found|take|took|keep|kept)\b)"
    r"[a-z]+\s+(?:it|them)\b(?!\s+(?:is|was|that|has|can|will|would|may|might|could|should|must|remains|seems)\b)",
    re.IGNORECASE,
)


def leans_back(sentence: str) -> bool:
    """points_back, an opening "It" that is not an impersonal "It is known that …", or a "this" standing alone for
    what was said before ("We achieve this using …"): a sentence that needs the one before it, to be read first
    (answer.with_antecedents, answer.lead_group)."""
    text = _LINKING.sub("", sentence)
    return points_back(sentence) or points_back(text) or bool(_OPENS_ON_IT.match(text) or _ACTS_ON_IT.match(text)) or bool(
        _BARE_DEMONSTRATIVE.search(_BACK_CLAUSE.sub("", text, count=1))
    )


# "… demonstrate that this approach is …", "… to tackle this limitation …": a thing named before the sentence, in
# the middle of it where points_back does not look. Not the paper itself ("this thesis"), nor "such as", "those of".
_DEMONSTRATIVE_NOUN = re.compile(
    r"\b(?:this|these|those|such)\s+(?:an?\s+)?(?!(?:paper|work|study|article|note|thesis|manuscript|chapter|report"
    r"|end|as|that|which|who|whom|of|in|is|are|was|were|be|been|can|could|will|would|may|might|must|should|has|have|had"
    r"|does|do|did|not)\b)([a-z][\w-]*)(?:\s+([a-z][\w-]*))?",
    re.IGNORECASE,
)


_NOUN_ENDING = re.compile(r"(?:ence|ance|tion|sion|ment|ness|ity|ism|ure|ers|ors|ies)s?$")


def _same_stem(a: str, b: str) -> bool:
    return a == b or (min(len(a), len(b)) >= 5 and a[:5] == b[:5])  # "represent" … "this representation"


def refers_back(sentence: str) -> bool:
    """leans_back, or a demonstrative naming a thing the sentence itself has not named before it ("…, then this
    representation …" after "represent" has): the sentence needs the one before it beside it. Before this, 24 of the
    176 answers to bundled + dev questions opened on such a sentence ("… demonstrate that this approach is …")."""
    if leans_back(sentence):
        return True
    text = _BACK_CLAUSE.sub("", _LINKING.sub("", sentence), count=1)
    for match in _DEMONSTRATIVE_NOUN.finditer(text):
        noun = match.group(1).lower()
        if noun.endswith("ly"):  # "convert these respectively to …": an adverb; "these" is named in the sentence
            continue
        # "… removing unimportant parameters, we … use these ineffective parameters": an adjective, then the noun
        # named before (a dangling "these" brought SaRA's scene-setting first sentence into a "which papers" answer)
        after = (match.group(2) or "").lower()
        before = re.findall(r"[a-z][\w-]*", text[: match.start()].lower())
        # the word after as the same word again, or by its stem when it reads as a noun ("depends …; this dimension
        # dependence"), not as a verb ("performance …, these models perform")
        again = bool(after) and after not in STOPWORDS and any(
            after.rstrip("s") == w.rstrip("s") or (_NOUN_ENDING.search(after) is not None and _same_stem(after, w))
            for w in before
        )
        if not again and not any(_same_stem(noun, w) for w in before):
            return True
    return False


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# An adjective made from a name: Gaussian, Bayesian, Hessian, Euclidean, Laplacian, Jacobian
_NAMED_ADJECTIVE = re.compile(r"[A-Z][a-z]{3,}(?:ian|ean)")  # not "Median", "Clean"


def _lower_first(sentence: str, abstract: str) -> str:
    """The sentence's first letter in lower case, as it reads after "In “…”, ", unless its first word is a
    name: an acronym or a mixed-case word ("PROSE", "ReLU"), a word of a capitalised phrase ("Neural Tangent
    Kernel"), or one the abstract capitalises mid-sentence too ("Gaussian")."""
    first = re.match(r"(\w+)\W*(\w*)", sentence)
    if not first or not first[1][:1].isupper():
        return sentence
    word, after = first[1], first[2]
    if word.lower() in STOPWORDS:  # "The NTK regime …", "A ReLU network …": the capital is the sentence's
        return sentence[:1].lower() + sentence[1:]
    if _NAMED_ADJECTIVE.fullmatch(word):  # "Gaussian processes …" opened the abstract, never mid-sentence
        return sentence
    # ... capitalised mid-sentence, or after a lower-case prefix ("non-Gaussian"); a name's part after another name
    # ("BERT-Large") says nothing of "Large-batch training …" opening the abstract
    if any(c.isupper() for c in word[1:]) or after[:1].isupper() or re.search(rf"(?:[\w,;:)] |[a-z]-){re.escape(word)}\b", abstract):
        return sentence
    return sentence[:1].lower() + sentence[1:]


def third_person(sentence: str, paper: Paper, name_it: bool, introduce: bool = False, spoken: bool = True) -> str:
    """The authors' "we"/"our" as "the authors"/"their"; `name_it` names the paper on the way, once. The title
    is inserted as text, never as a pattern's replacement (a title's `\\epsilon` is no escape) and never
    rewritten itself ("What We Learned…" keeps its "We"). `introduce`: name it even where the sentence has no
    "we" ("In “…”, the optimization of …"): an answer from several papers says which paper says what. `spoken`:
    the answer has named the paper's authors before, so "our" is "their"; else, in a sentence with no "we", the
    first "our" is "the authors'" ("On LLaMA-65B, their method loses …" had no one for "their" to point at)."""
    titled = paper.has_title and name_it
    title = readable_latex(paper.title) if titled else ""
    sentence = _SHARED_OUR.sub(lambda m: "The " if m[1] == "O" else "the ", sentence)

    spoken = spoken or bool(re.search(r"\b(?:we|us)\b", sentence, re.IGNORECASE))  # "their results, the authors …"

    def swap(match: re.Match[str]) -> str:
        nonlocal spoken
        said = match.group(1).lower()
        # "On LLaMA-65B, our method loses …" read "…, their method loses …", no one named for "their" to point at
        word = _PRONOUNS[said] if spoken or said != "our" else "the authors'"
        spoken = spoken or said in ("we", "our")
        return _capital(word) if match.group(1)[0].isupper() else word

    def generic(match: re.Match[str]) -> str:
        return match[0] if _FIRST_PERSON.search(match.string, match.end()) else f"{match[1]} one "

    def rest(text: str) -> str:
        return _FIRST_PERSON.sub(swap, _GENERIC_WE.sub(generic, text))

    if opening := _OPENING_WE.match(sentence):
        named = f"The authors of “{title}”" if titled else "The authors"
        spoken = True
        return named + rest(sentence[opening.end() :])
    if titled and (opening := _OPENING_PAPER.match(sentence)):
        spoken = True  # "“…” studies their bounds": the paper speaks for its authors
        return f"“{title}”" + rest(sentence[opening.end() :])
    if sentence.startswith("Our "):  # "Their key contribution is …" opening an answer names no one
        sentence, spoken = "The authors' " + sentence[4:], True
    if titled and (here := _THIS_PAPER.search(sentence)):  # "…, in this study, we show" names the paper there
        return _capital(rest(sentence[: here.start()]) + f"in “{title}”" + rest(sentence[here.end() :]))
    if titled and (_FIRST_PERSON.search(sentence) or sentence.startswith("The authors' ")):
        return f"In “{title}”, " + rest(_lower_first(sentence, paper.abstract))
    if titled and (introduce or _ITS_OWN.match(sentence)):
        return f"In “{title}”, " + _lower_first(rest(sentence), paper.abstract)
    return _capital(rest(sentence))


# "… can also be described by a kernel", the sentence before not shown: "also" adds to what the reader never saw.
_ALSO = re.compile(r"\b(can|could|may|might|will|would|should|must|is|are|was|were|has|have|had|do|does)\s+also\b")
_ORDINAL = re.compile(r"^(?:First(?:ly)?|Second(?:ly)?|Third(?:ly)?|Lastly),\s+")
# "We therefore develop …", "We also use …": a link to the sentence before, inside the opening; dropped with it.
_WE_LINKING = re.compile(r"^(\s*[Ww]e)\s+(?:therefore|thus|hence|also|then|further|additionally|furthermore|moreover|finally|next|consequently|accordingly|in turn)\b,?(?=\s)")


# "The authors test PN …, and the authors show …": a "we" the sentence joins by "and" to its subject is "they"
# ... unless a clause of another subject stands between ("The authors find that transformers underperform, and the
# authors attribute …": "they" would read as the transformers)
_AND_THE_AUTHORS = re.compile(
    r"(\b[Tt]he authors\b(?: of “[^”]*”)?(?:(?!\b(?:that|whether|which|when|if|how|why|where|while)\b)[^.;:“])*?,?\s+and\s+"
    r"(?:then\s+|also\s+)?)the authors\b(?!')"
)


# "… the authors propose the scale mixture of NNGPs for which the authors introduce a prior …": a "we" after a relative
# word, the authors named before it in the sentence, is "they"
_RELATIVE_THE_AUTHORS = re.compile(
    r"(\b[Tt]he authors\b(?!')(?: of “[^”]*”)?[^.;:“]*?\b(?:which|whom|where|whereby)\s+)the authors\b(?!'|\s+of\b)"
)


def answer_sentence(
    sentence: str, paper: Paper, name_it: bool, follows: bool = False, introduce: bool = False, spoken: bool = True
) -> str:
    """One abstract sentence as it reads in an answer. `follows`: the answer's sentence before it is the one
    before it in the abstract, so a link to it ("However, …", "To address this issue, …") still reads.
    `introduce`: the answer cites several papers, so the sentence naming this one (`name_it`) always names it.
    `spoken`: the answer has named the paper's authors before this sentence (third_person)."""
    if follows:  # an ordinal still goes: "Second, …" after a "First, …" that was dropped reads as a gap
        text = _ORDINAL.sub("", sentence)
        text = _capital(text) if text != sentence else text
    else:
        text = _BACK_CLAUSE.sub("", _LINKING.sub("", sentence), count=1)
        text = _capital(text) if text != sentence else text
        text = _ALSO.sub(r"\1", _WE_LINKING.sub(r"\1", text))
    out = third_person(round_brackets(readable_latex(text)), paper, name_it, introduce, spoken)
    while (again := _AND_THE_AUTHORS.sub(r"\1they", out, count=1)) != out:
        out = again
    return _RELATIVE_THE_AUTHORS.sub(r"\1they", out)


# What a paper contributes, said by its authors: "We propose X", "This doctoral thesis provides Y", "Our key
# contribution is Z" (a gist's first choice), then what it studies or proves ("We study …", "We prove …").
# Past adverbs: "We therefore develop a new infinite width limit" is the contribution, as "We propose" is.
_AUTHORS_ACT = (
    r"\b(?:we|(?:this|the present|our)\s+(?:[\w-]+\s+)?(?:paper|work|study|article|note|thesis|dissertation))\s+"
    r"(?:(?:\w+ly|also|therefore|thus|hence|then|further|first|here|now|instead|next|too)\s+){0,2}"
)
_CONTRIBUTES = re.compile(
    _AUTHORS_ACT + r"(?:propose|introduce|present|develop|design|set out|put forward|provide|offer|build|construct)"
    r"|\bour\s+(?:\w+\s+){0,2}contributions?\s+(?:is|are|include)\b",
    re.IGNORECASE,
)
# "We study …", "This paper considers …": what the authors look at, not what they found
_SETS_OUT = re.compile(
    _AUTHORS_ACT + r"(?:stud(?:y|ies)|considers?|analy[sz]es?|investigates?|examines?|explores?|focus(?:es)?"
    r"|(?:perform|conduct|carr(?:y|ies)\s+out)s?\s+(?:an?\s+)?(?:[\w-]+\s+){0,2}(?:study|analysis|investigation))\b",
    re.IGNORECASE,
)


_FINDS = re.compile(r"\b(?:prove|show|find|found|demonstrate|establish|observe|reveal)(?:s|ed|n)?\b", re.IGNORECASE)


def sets_out(sentence: str) -> bool:
    """The authors say what they study or consider ("We analyze deep ReLU networks trained with SGD …"): the setting,
    which holds the words a question uses to say which work it means, not what the work found. A sentence that goes
    on to a finding ("We study the source of SGD noise and prove that …") is not only the setting."""
    return bool(_SETS_OUT.search(sentence)) and not _FINDS.search(sentence)


def says_its_subject(sentence: str) -> bool:
    """The authors say what their work proposes or looks at ("We investigate the Rademacher complexity of …", "We
    propose Random Search as a baseline … and study its performance"), findings or not: what a question asking
    what each paper studies wants."""
    return states_a_contribution(sentence) or bool(_SETS_OUT.search(sentence))


def states_a_contribution(sentence: str) -> bool:
    """The authors say what they propose, introduce, present or develop ("We propose Power Normalization (PN)", "Our
    key contribution is …")."""
    return bool(_CONTRIBUTES.search(sentence))


_STUDIES = re.compile(_AUTHORS_ACT + r"(?:study|investigate|examine|analy[sz]e|explore|establish|derive|prove|show)", re.IGNORECASE)
# "We consider …", "This paper delves into …": the authors doing anything ("our era" is not them acting)
_ACTS = re.compile(_AUTHORS_ACT + r"(?!are\b|is\b|was\b|were\b|have\b|had\b)[a-z]+", re.IGNORECASE)
# "We achieve this using …", "This allows …": a demonstrative standing for what the sentence before said.
_BARE_DEMONSTRATIVE = re.compile(
    r"\b(?:this|these)\s*(?:[,.;]|\b(?:by|using|through|via|with|is|are|was|were|allows?|enables?|means|leads?)\b)",
    re.IGNORECASE,
)


_LIST_ITEM = re.compile(r"^\s*\(?(?:\d|[ivx]+|[a-e])\)")  # "(3) While …": an item of a list the reader never saw


def _needs_before(sentence: str) -> bool:
    text = _BACK_CLAUSE.sub("", sentence, count=1)
    return solves_earlier(sentence) or leans_back(text) or bool(_BARE_DEMONSTRATIVE.search(text))


def gist(paper: Paper, most: int = 1) -> list[tuple[str, str]]:
    """What a paper is about, as an answer says it: its first sentence saying what the authors contribute, study or
    prove ("We propose …", "This paper studies …"), else the first of them acting, else the first claim, else the
    opening (past the first three, one that reads alone: not "We achieve this …"); the sentence before it too when
    it points back ("simplify this process"), and up to `most` - 1 further claims after it (a summary). Each as (the abstract's sentence, as it reads in an answer), in abstract order; the first names the
    paper. Split without the sentence tokenizer: a listing must not wait 2 s for its import."""
    said = [s for s in rough_sentences(paper.abstract) if s]
    usable = [
        i for i, s in enumerate(said) if not is_meta(s) and not s.rstrip().endswith("?") and not _LIST_ITEM.match(s)
    ]
    if not usable:
        return []
    alone = [i for i in usable if not _needs_before(said[i])]
    def contributes(text: str) -> bool:
        return bool(_CONTRIBUTES.search(text) or _STUDIES.search(text))

    tiers = ((contributes, usable), (_ACTS.search, alone), (states_a_claim, alone))
    first = next((i for test, pool in tiers for i in pool if test(said[i])), (alone or usable)[0])
    chosen = [first, *[i for i in usable if i > first and states_a_claim(said[i])][: max(0, most - 1)]]
    if first > 0 and _needs_before(said[first]) and not _needs_before(said[first - 1]):  # "simplify this process"
        chosen.insert(0, first - 1)
    out: list[tuple[str, str]] = []
    for n, i in enumerate(chosen):
        follows = n > 0 and chosen[n - 1] == i - 1
        out.append((said[i], answer_sentence(said[i], paper, name_it=n == 0, follows=follows, introduce=n == 0)))
    return out
