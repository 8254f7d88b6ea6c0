"""Follow-up questions: what to search for when a question leans on the conversation before it.

Both answer modes come here: the extractive mode carries the previous question's subject (a
heuristic); the LLM mode first asks the model for a standalone rewrite (`rewrite`, injected) and
falls back to the heuristic when the model fails or says nothing usable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .prompts import render
from .text import content_terms

Turn = dict[str, str] | tuple[str, str]
# Given the condense prompt, the model's reply, or None when the call failed.
Rewrite = Callable[[str], str | None]

HISTORY_TURNS = 6  # most recent turns shown to the condenser
HISTORY_CHARS = 400  # each turn is clipped to this many characters
# A rewrite longer than this is an essay, not a standalone question: the heuristic is used instead.
STANDALONE_CHARS = 300
_REFERS_BACK = re.compile(
    r"\b(it|its|it's|they|them|their|this|that|these|those|the paper|the method|the model|the approach|same|above|"
    r"previous|earlier|also|more|else)\b",
    re.IGNORECASE,
)


def _said_by(history: Sequence[Turn] | None, role: str) -> list[str]:
    """What one side of the conversation said, oldest first, from role/content dicts or (question, answer) pairs."""
    place = 0 if role == "user" else 1
    out: list[str] = []
    for turn in history or []:
        if isinstance(turn, dict):
            if turn.get("role") == role and turn.get("content"):
                out.append(str(turn["content"]))
        elif isinstance(turn, (tuple, list)) and len(turn) > place and turn[place]:
            out.append(str(turn[place]))
    return out


def check_history(history: object) -> None:
    """TypeError unless `history` is a list of turns this module reads: {"role": "user" | "assistant",
    "content": text} dicts or (question, answer) pairs. Any other shape would be read as no conversation, and a
    follow-up would lose its subject without a word."""
    if history is None:
        return
    shapes = 'a list of {"role": "user", "assistant" or "system", "content": text} dicts or of (question, answer) pairs'
    if isinstance(history, (str, bytes, dict)) or not isinstance(history, Sequence):
        raise TypeError(f"history must be {shapes}, not a {type(history).__name__}")
    for n, turn in enumerate(history, start=1):
        if isinstance(turn, dict):
            ok = turn.get("role") in ("user", "assistant", "system") and isinstance(turn.get("content"), str)
        else:
            ok = isinstance(turn, (tuple, list)) and 1 <= len(turn) <= 2 and all(isinstance(t, str) or t is None for t in turn)
        if not ok:
            raise TypeError(f"history turn {n} ({str(turn)[:60]!r}) is not one of {shapes}")


def previous_questions(history: Sequence[Turn] | None) -> list[str]:
    """The user's earlier questions, oldest first."""
    return _said_by(history, "user")


def previous_answers(history: Sequence[Turn] | None) -> list[str]:
    """The assistant's earlier answers, oldest first."""
    return _said_by(history, "assistant")


def not_to_repeat(question: str, history: Sequence[Turn] | None) -> list[str]:
    """The earlier answers whose sentences an offline answer to `question` should not say again: all of them
    for a follow-up ("What more does it show?"), none for a question of its own ("How much accuracy does LoRA
    retain?" later in a conversation), whose best sentence may be one an earlier answer quoted."""
    return previous_answers(history) if leans_on_earlier(question) else []


# ... and "that" standing for a thing ("… and how is that fixed?", "Can that be estimated?", "What causes that?"), not
# joining a clause ("Is it true that …", "the method that …"): after an auxiliary, before a word that is no article,
# or closing the question
_AUXILIARY = ("is", "are", "was", "were", "does", "do", "did", "can", "could", "would", "will", "should", "has", "have", "had")
_THAT = "|".join(f"(?<=\\b{aux} )" for aux in _AUXILIARY)
_LEANS_BACK = re.compile(
    r"\b(it|its|they|them|their|theirs|this|these|those|he|she|his|her"
    rf"|(?:{_THAT})that(?=\s+(?!(?:the|a|an)\b)[a-z])|that(?=\s*\?\s*$))\b",
    re.IGNORECASE,
)
# "Thanks!", "ok", "Got it.": nothing to look up (each was answered with a fresh cited answer from its nearest
# abstracts). "No" and "Yes" too: the assistant asks nothing, so they answer nothing it asked.
_ACKNOWLEDGES = re.compile(
    r"^\W*(?:(?:ok(?:ay)?|thanks?|thank\s+you|thx|ty|many\s+thanks|(?:so|very)\s+much|great|cool|nice|perfect|got\s+it|i\s+see"
    r"|understood|yes|no|yep|nope|sure|alright|all\s+right|awesome|excellent|good|fine|bye|goodbye)(?:\W+|$))+$",
    re.IGNORECASE,
)
ACKNOWLEDGED = "Glad to help. Ask another question about the abstracts whenever you like."


def acknowledges(question: str) -> bool:
    """Whether the question only thanks or acknowledges ("Thanks!", "ok, got it"): nothing to search for."""
    return bool(_ACKNOWLEDGES.match(question))


NEEDS_EARLIER = (
    "This reads like a follow-up to an earlier question (it says “{word}” without saying what that is). "
    "Ask it right after the question it follows, or name the paper or method it refers to."
)


_ASKED_ABOUT = re.compile(
    r"^\s*(?:(?:what|which|how many|how much)(?:\s+[\w-]+){1,2}?\s+(?:do|does|did|is|are|was|were|can|could|would|will|should)"
    r"|who\s+(?:wrote|authored|proposed|introduced|developed|published))\s*$",  # "Who wrote it?" asked first
    re.IGNORECASE,
)


# "What about the second one?", "Tell me more about paper [2]": one of the papers the previous answer cited.
_ORDINAL_REF = re.compile(
    # not "the first paper to prove …", "the last work on …": those name papers of their own
    r"\b(?:the\s+)?(?P<word>first|second|third|fourth|fifth|last)\s+(?:one|paper|work|article|study|reference|source)\b"
    r"(?!\s+(?:to|that|which|who|whose|where|on|about|in|from|by|of|for|with)\b)"
    r"|\b(?:paper|reference|source)\s*\[?(?P<n>[1-9])\]?(?!\w)"  # not "reference 3D models", "paper 2019"
    # "Tell me about the latter.", "What does the former propose?"; not "the latter stages of training"
    r"|\bthe\s+(?P<which>former|latter)(?:\s+(?:one|paper|work|article|study))?(?=\s*[?.!,;:]|\s*$"
    r"|\s+(?:propose|proposes|show|shows|use|uses|do|does|find|finds|claim|claims|say|says|study|studies)\b)",
    re.IGNORECASE,
)
_ORDINALS = {"first": 1, "former": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}


def points_at_a_place(question: str) -> bool:
    """Whether the question names a paper by its place in the previous answer ("the latter", "paper [2]")."""
    return _ORDINAL_REF.search(question) is not None
_CITED = re.compile(r"([^\[\]]+?)\s*((?:\[\d+\])+)")


def _pointed_at(question: str, history: Sequence[Turn] | None) -> tuple[str, int, dict[int, str]] | None:
    """For a question pointing at a paper of the previous answer by its place ("the second one", "paper [2]"):
    its words, the number it points at, and what that answer said from each paper it cited. The previous answer
    is the latest that cited a paper: after a refusal or a "no paper matches", "the second one" is of the list
    before."""
    match = _ORDINAL_REF.search(question)
    if match is None:
        return None
    said = next((each for answer in reversed(previous_answers(history)) if (each := said_from_each(answer))), {})
    word = (match["word"] or match["which"] or "").lower()
    last = word in ("last", "latter")  # of two papers, "the latter" is the second
    wanted = int(match["n"]) if match["n"] else (max(said) if last and said else _ORDINALS.get(word, 0))
    return match.group(0), wanted, said


# "Which other papers study X?", "Is there another work on it?", "anything besides these?": past those cited so far
_OTHERS = re.compile(
    r"\b(?:other|another|further|additional)\s+(?:[\w-]+\s+){0,2}?(?:papers?|works?|studies|abstracts|articles)\b"
    r"|\b(?:besides|apart from|aside from|other than|except(?: for)?)\s+(?:this|that|these|those|it|them|the ones?)\b",
    re.IGNORECASE,
)


def cited_before(question: str, history: Sequence[Turn] | None) -> list[str]:
    """For a question asking past the papers cited so far ("Which other papers study the geometry of last-layer
    features?"), what the earlier answers said from each paper they cited (the words that find each again), else
    none: it was answered from the paper the conversation had just quoted three times."""
    if not _OTHERS.search(question):
        return []
    return [said for answer in previous_answers(history) for said in said_from_each(answer).values()]


def cited_paper_text(question: str, history: Sequence[Turn] | None) -> str | None:
    """For a question pointing at one paper of the previous answer by its place ("the second one", "paper
    [2]"), what that answer said from it, or None: the words that find the paper again."""
    pointed = _pointed_at(question, history)
    return pointed[2].get(pointed[1]) if pointed else None


def beyond_cited(question: str, history: Sequence[Turn] | None) -> tuple[str, int] | None:
    """For a question pointing past the papers the previous answer cited ("Who wrote the second one?" after an
    answer citing one, which named the first), its words and how many papers that answer cited."""
    pointed = _pointed_at(question, history)
    if pointed is None or not pointed[2] or pointed[1] in pointed[2]:  # no answer cited a paper: searched as before
        return None
    return pointed[0], len(pointed[2])


def said_from_each(answer: str) -> dict[int, str]:
    """What an answer said from each paper it cites: its sentences marked [n], joined, by n."""
    by_number: dict[int, list[str]] = {}
    for text, marks in _CITED.findall(answer):
        for n in dict.fromkeys(int(m) for m in re.findall(r"\d+", marks)):
            by_number.setdefault(n, []).append(text.strip(" .;:"))
    return {n: " ".join(texts) for n, texts in sorted(by_number.items())}


def first_cited_text(history: Sequence[Turn] | None) -> str | None:
    """What the latest answer that cited a paper said from its [1] ("Who wrote it?" after a refusal is about the
    paper before it), or None when no answer cited one."""
    return next((each[1] for answer in reversed(previous_answers(history)) if 1 in (each := said_from_each(answer))), None)


# "How do they differ?", "Which of them is faster?", "What datasets do these use?": the papers just cited
_THEM = re.compile(r"\b(?:they|them|their|these|those|both|each)\b", re.IGNORECASE)


def cited_texts(question: str, history: Sequence[Turn] | None) -> list[str]:
    """For a question about the papers the previous answer cited ("How do they differ?"), what that answer
    said from each of them, one text a paper (two at least, else none): the words that find each again."""
    answers = previous_answers(history)
    if not answers or not _THEM.search(question) or _ORDINAL_REF.search(question):
        return []
    said = said_from_each(answers[-1])
    return list(said.values()) if len(said) > 1 else []


def missing_antecedent(question: str, history: Sequence[Turn] | None) -> str | None:
    """The pronoun a question leans on when there is no conversation to resolve it ("How do they differ?"
    asked first), or None: a pronoun that nothing before it in the question can refer to, in a question
    that names at most two things itself."""
    if previous_questions(history):
        return None
    if ordinal := _ORDINAL_REF.search(question):  # "What about the second one?" asked first
        return ordinal.group(0)
    word = points_back(question)
    return word if word is not None and len(set(content_terms(_LEANS_BACK.sub(" ", question)))) <= 2 else None


def points_back(question: str) -> str | None:
    """The pronoun a question (or a part of one) leans on when nothing before it in the question names what it
    points at ("And what does it improve?", "What GPU does it train on?"), or None ("… by sampling random models and
    looking at how their losses are distributed?" names them first)."""
    match = _LEANS_BACK.search(question)
    # "What problem do they address?": the words a wh-question asks about are not what "they" points at
    before = _ASKED_ABOUT.sub("", question[: match.start()]) if match else ""
    return match.group(1) if match is not None and not content_terms(before) else None


def followup_query(question: str, history: Sequence[Turn] | None) -> str:
    """Retrieval query for a follow-up: carry the conversation's subject when this question leans on it.
    The subject is the latest earlier question that stands on its own: after "What are martingale posterior
    neural processes?" and "What problem do they address?", a third "How do they compare …?" carried only the
    second, which names nothing, and was answered from another paper."""
    earlier = previous_questions(history)
    if not earlier or not leans_on_earlier(question):
        return question
    if said := cited_paper_text(question, history):  # "the second one": what the last answer said from it
        return f"{said}. {question}"
    subject = conversation_subject(earlier)
    if (switched := asked_of(subject, question)) is not None:
        return switched
    return f"{subject} {question}"


def conversation_subject(earlier: Sequence[str]) -> str:
    """The question the conversation is about by now: the latest that stands on its own, or what a later "What
    about X?" made of it ("How do they differ?" after "Which papers study pruning?" and "What about quantization?"
    compared the pruning papers)."""
    subject = earlier[0]
    for question in earlier:
        if not leans_on_earlier(question):
            subject = question
        elif (switched := asked_of(subject, question)) is not None:
            subject = switched
    return subject


# "What about SaRA?", "How about the LoRA paper?", "And PowerNorm?": a new subject, asked the earlier question
_SWITCHES = re.compile(r"^\W*(?:and|what\s+about|how\s+about)\s+", re.IGNORECASE)
# ... but not a question of its own after "And …" / a preposition ("on CIFAR-10"), a pronoun or a verb
_NOT_A_TOPIC = re.compile(
    r"^(?:how|what|why|which|who|when|where|whether|is|are|was|were|do|does|did|can|could|would|will|should|has"
    r"|have|had|on|in|for|with|at|to|by|from|under|over|it|its|they|them|their|this|that|these|those)\b"
    r"|\b(?:it|its|they|them|their|is|are|was|were|do|does|did|can|could|would|will|should|compare|compared)\b",
    re.IGNORECASE,
)


# What a "What about …?" asks of the papers already found, not a topic of its own: a determiner, or an aspect
_ASPECT = re.compile(
    r"^(?:the|a|an|any|some|other|its|their|each|all|more|further)\b"
    r"|^(?:limitations?|drawbacks?|weaknesses?|advantages?|strengths?|results?|findings?|datasets?|data|benchmarks?"
    r"|baselines?|experiments?|evaluations?|performance|accuracy|metrics?|code|implementations?|methods?|approach(?:es)?"
    r"|contributions?|assumptions?|proofs?|applications?|complexity|costs?|speed|runtime|training|architectures?"
    r"|hyperparameters?|settings?|setups?|tasks?|examples?|details?|authors?|years?|venues?|citations?|references?"
    r"|sources?|conclusions?|future\s+work|open\s+problems?)\b",
    re.IGNORECASE,
)


def _names(text: str) -> list[str]:
    """Words with a capital after the first word: "PowerNorm", "SaRA", "MgNO", "NTK"."""
    return [w for w in (t.strip("?.,!:;\"“”‘’()") for t in text.split()[1:]) if any(c.isupper() for c in w)]


def asked_of(subject: str, question: str) -> str | None:
    """The earlier question asked of the new thing a "What about X?" / "And X?" names, or None when it names
    nothing new: after "What is PowerNorm?", "What about SaRA?" is "What is SaRA?" (searched as "What is PowerNorm?
    What about SaRA?" it found PowerNorm and abstained); after "Which datasets does PowerNorm use?", "Which datasets
    does SaRA use?". An earlier question with several names or none to swap gives the question on its own."""
    opener = _SWITCHES.match(question)
    if opener is None:
        return None
    topic = question[opener.end() :].strip(" ?.!,;:")
    if not topic or _NOT_A_TOPIC.match(topic) or _NOT_A_TOPIC.search(topic.split(" ", 1)[-1] if " " in topic else ""):
        return None  # "And how does it compare to BatchNorm?", "What about on CIFAR-10?": not a new subject
    # after "Which papers study pruning?", "What about quantization?" searches anew; "What about limitations?", "And
    # the results?" ask more of the same papers
    if _SEARCHES.match(subject) and not _ASPECT.match(topic):
        return f"Which papers are about {topic}?"
    old = _names(subject)
    if not [n for n in _names(question) if n not in old]:
        return None
    if defined := _DEFINES.match(subject):  # the pattern ends on the term's first character
        return f"{subject[: defined.end() - 1]}{topic}?"
    if len(set(old)) == 1:
        return re.sub(rf"(?<![\w-]){re.escape(old[0])}(?![\w-])", lambda _: topic, subject)
    return question


# "And …", "What about …": a question that continues the one before, whatever it names.
_CONTINUES = re.compile(r"^\W*(?:and|also|so|then|but|what\s+about|how\s+about)\b", re.IGNORECASE)


# "Which papers study quantization?", "Any works on pruning?": a search of the library names its own topic, however
# short ("Which papers study quantization?" was answered from the previous answer's NTK papers); "Which papers did you
# cite?", "Which papers were used?" ask about the answer before
_SEARCHES = re.compile(
    r"^\W*(?:which|what|any|are\s+there(?:\s+any)?|is\s+there\s+(?:a|any)|list|find|show\s+me)\s+(?:other\s+)?"
    r"(?:papers?|works?|studies|articles?|publications?|abstracts?)\b"
    r"(?!\s+(?:did|do|does|have|has|had|you|were|was|is)\b)(?!\s+are\s+[a-z]+ed\b)"
    r"(?!\s+(?:are\s+)?(?:better|best|worse|worst|faster|slower|stronger|weaker|larger|smaller|higher|lower|more"
    r"|less|most|least)\b)\s+\S",
    re.IGNORECASE,
)


# "What is grokking?", "Define dropout", "Explain distillation.": a definition names its own topic, however
# short; "What are the limitations?" asks about the earlier one's
_DEFINES = re.compile(
    r"^\W*(?:what\s+(?:is|are)\s+(?:an?\s+)?|define\s+|explain\s+|describe\s+|(?:can|could)\s+you\s+(?:explain|define|describe)\s+)"
    # ... not "What is proposed?", "What is new here?", "Explain in detail": no topic named there
    r"(?!(?:the|this|that|these|those|its|their|it|they|them|new|different|missing|better|worse|next|why|how|what|further"
    r"|more|again|in|known|unknown|wrong|left|novel|special|important|interesting|possible|unclear|needed|used)\b)"
    r"(?![a-z]+ed\b)[\w-]",
    re.IGNORECASE,
)


def leans_on_earlier(question: str) -> bool:
    """Whether a question needs the conversation before it: it points back ("How is it trained?"), continues
    ("What about training cost?"), or is short and names at most one thing, and no name ("Which datasets were
    used?", "Limitations?"). A short question with a topic of its own ("How does quantization reduce model
    size?", "What is PowerNorm?") stands alone, and so does a definition ("What is grokking?"): every question of
    six words or fewer was taken for a follow-up, and answered from the previous question's papers."""
    if _REFERS_BACK.search(question) or _CONTINUES.match(question) or _ORDINAL_REF.search(question):
        return True
    words = question.split()
    if len(words) > 6 or _DEFINES.match(question) or (_SEARCHES.match(question) and content_terms(question)):
        return False
    named = any(w[:1].isupper() or any(c.isupper() for c in w[1:]) for w in words[1:])  # PowerNorm, NTK, Jacot
    return len(content_terms(question)) <= 1 and not named


def format_history(history: Sequence[Turn]) -> str:
    """Recent turns as `User: ...` / `Assistant: ...` lines, each clipped."""
    lines: list[str] = []
    for turn in history:
        if isinstance(turn, dict):
            pairs = [(str(turn.get("role", "")), str(turn.get("content") or ""))]
        elif isinstance(turn, (tuple, list)) and len(turn) >= 1:
            pairs = [("user", str(turn[0] or "")), ("assistant", str(turn[1] or "") if len(turn) > 1 else "")]
        else:
            continue
        for role, content in pairs:
            content = " ".join(content.split())
            if role in ("user", "assistant") and content:
                clipped = content if len(content) <= HISTORY_CHARS else content[:HISTORY_CHARS] + " …"
                lines.append(f"{role.capitalize()}: {clipped}")
    return "\n".join(lines[-HISTORY_TURNS:])


_PREAMBLE = re.compile(r"^(sure|okay|ok|certainly|of course|here|here's|here is|the standalone)\b.*:$", re.IGNORECASE)


def standalone_line(reply: str, limit: int) -> str | None:
    """The standalone question in a condenser's reply: its first line that is neither a preamble ("Sure!
    Here is the standalone question:"), a reasoning block, nor a bare URL, without a label or quotes."""
    from .modeltext import clean

    for line in clean(reply).text.splitlines():
        text = re.sub(r"^(standalone question:\s*)", "", line.strip(), flags=re.IGNORECASE).strip(" \"'*`")
        if not text or _PREAMBLE.match(text) or text.endswith(":") or re.fullmatch(r"\S+://\S+", text):
            continue
        return text if len(text) <= limit else None
    return None


def search_query(question: str, history: Sequence[Turn] | None, rewrite: Rewrite | None = None, limit: int = 2000) -> str:
    """What to retrieve for `question` in this conversation: the model's standalone rewrite when a
    `rewrite` is given and gives one question line (preambles, reasoning, links skipped; at most
    STANDALONE_CHARS), otherwise the heuristic (the question, with the previous one when it leans on it)."""
    conversation = format_history(history or [])
    if rewrite is not None and conversation:
        reply = rewrite(render("condense", history=conversation, question=question))
        standalone = standalone_line(reply, min(limit, STANDALONE_CHARS)) if reply else None
        if standalone:
            return standalone
    return followup_query(question, history)
