"""LaTeX in abstracts and titles made readable: `\\textit{x}` -> x, `$\\Sigma$` -> Σ, ``quoted'' -> “quoted”, an
abstract's own citations left out, and the math a scraper stripped of its backslashes read as math. For what
a reader is shown (answers, references, titles); the stored abstracts and titles stay verbatim."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# a command, an accent (ans\"atze), a formula: a $…$ with a command, ^, _ or braces in it, or one letter ("$x$");
# "a $5 and $10 budget" is money
_LATEX = re.compile(r"\\[A-Za-z]+|\\[\"'`^~=.][A-Za-z{]|\$(?:[^$]*[\\^_{}][^$]*|[A-Za-z])\$")
_ESCAPED = re.compile(r"\\([%&_#])")  # "1\%": a special TeX would print, in text that is otherwise plain
# A citation inside the abstract: LaTeX's (pylatexenc would print "<cit.>") or the key its lost backslash left
# ("prior work~nichani2023provable"). The answer cites the abstract; its own references have no place there.
# biblatex's commands too (\parencite, \autocite, \footcite): pylatexenc prints their keys ("Prior work foo and bar").
_CITE = re.compile(
    r"\s*~?\\(?:paren|auto|foot|super|smart|full|no)?cite(?![a-z]*author)[a-z]*\*?(?:\[[^\]]*\])*\{[^}]*\}"
    r"|\s*~[A-Za-z][\w-]*?(?:19|20)\d\d[A-Za-z]\w*"
    r"|\s*<cit\.>"  # what pylatexenc made of one, in an abstract stored before ingest dropped them
)
# A citation read as a noun ("as shown by \citet{x}", "\textcite{x} proved"): dropped, it left "as shown by we do".
_CITED_AS_NOUN = re.compile(r"\\(?:citet|textcite|citeauthor|Citet|Textcite|Citeauthor)\*?(?:\[[^\]]*\])*\{[^}]*\}")
_DASH = re.compile(r"(?<=\s)---?(?=\s)|(?<=\d)--(?=\d)|(?<=\w)---(?=\w)")
_BARE = re.compile(r"(?<!\\)([%&#])")  # LaTeX specials an abstract means literally (50% is not a comment)
_TILDE = "\ue000"  # "~10x" means about, not LaTeX's non-breaking space
# An operator name (\log, \max, \det): written as its word, spaced as TeX sets it. pylatexenc prints some without
# the space on either side ("ndlogd", "loglog n") and drops others ("$\det A$" -> "A", "\Pr[X]" -> "[X]").
_OPERATOR = re.compile(r"\\(log|ln|lg|exp|sin|cos|tan|tanh|max|min|sup|inf|lim|det|dim|ker|arg|deg|gcd|Pr)(?![A-Za-z])\s*")


def _earlier_work(match: re.Match[str]) -> str:
    """What a citation read as a noun becomes: "Earlier work" where it opens a sentence."""
    before = match.string[: match.start()].rstrip()
    return "Earlier work" if not before or before[-1] in ".!?" else "earlier work"


def _operator(match: re.Match[str]) -> str:
    """The operator's word, a space before it after a symbol ("nd log d") and after it before an argument
    ("log d", "arg max"), none before a bracket, script, hyphen or stop ("exp(-t)", "max_i", "Pr[X]",
    "log-likelihood")."""
    text, start, end = match.string, match.start(), match.end()
    before = " " if start and (text[start - 1].isalnum() or text[start - 1] in "})") else ""
    after = "" if end >= len(text) or text[end] in "([{^_,.;:)]}'-" or text.startswith("\\left", end) else " "
    return before + match[1] + after


@lru_cache(maxsize=1)
def _latex() -> Any:
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text(math_mode="text")


# Math whose backslashes a scraper dropped ("mathcal{O}(d^2)", "r ll n", "XX^top", "R^{n times n}"): command
# words that are no English word, or read as math only between single letters or inside braces.
_RELATIONS = {"ll": "≪", "gg": "≫", "circ": "∘", "leq": "≤", "geq": "≥"}
_GREEK = {"Theta": "Θ", "Omega": "Ω"}
# A subscript or superscript that lost its backslash ("f_theta", "x^alpha"): a letter name there is the letter
_SCRIPT_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ϵ", "eta": "η", "theta": "θ", "lambda": "λ",
    "mu": "μ", "sigma": "σ", "tau": "τ", "phi": "ϕ", "psi": "ψ", "omega": "ω",
}
_LOST = [
    (re.compile(r"\bmath(?:cal|rm|bf|it)\{([A-Za-z])\}|\bmath(?:cal|rm|bf|it)\s+([A-Z])(?![a-z])"), lambda m: m[1] or m[2]),
    (re.compile(r"\bmathbb\{?R\}?(?![a-z])"), lambda m: "ℝ"),
    (re.compile(r"\bwidetilde\s*(Theta|Omega|O)\b"), lambda m: _GREEK.get(m[1], m[1]) + "\u0303"),
    (re.compile(r"\b(Theta|Omega)\s*(?=\()"), lambda m: _GREEK[m[1]]),
    (re.compile(r"(?<=\w)([_^])\{?(" + "|".join(_SCRIPT_GREEK) + r")\}?(?![A-Za-z])"), lambda m: m[1] + _SCRIPT_GREEK[m[2]]),
    (re.compile(r"\^top\b"), lambda m: "^⊤"),
    (re.compile(r"\bell_(?=\{?\w)"), lambda m: "ℓ_"),  # "the ell_1-loss"
    (re.compile(r"\b(rightarrow|leftarrow|rtimes|nabla|infty)\b"), lambda m: {"rightarrow": "→", "leftarrow": "←", "rtimes": "⋊", "nabla": "∇", "infty": "∞"}[m[1]]),
    (re.compile(r"\b([A-Za-z]\w?) (ll|gg|circ|leq|geq) (?=[A-Za-z]\w?\b|min\b|max\b)"), lambda m: f"{m[1]} {_RELATIONS[m[2]]} "),
    (re.compile(r"(?<=[\w}]) times (?=[\w{][^{}]*\})"), lambda m: " × "),  # inside braces: R^{n times n}
    # "Oleft(left(dB_Lright)^{…}right)": sizing words glued to their delimiters, never English ("to the right)",
    # "Albright)" keep theirs: a "right" goes only after a closing delimiter or a one-letter script)
    (re.compile(r"(?:(?<=[(\[{])|(?<=\b[A-Z]))left(?=[(\[|])|(?:(?<=[)\]}])|(?<=[_^]\w))right(?=[)\]|])"), lambda m: ""),
    (re.compile(r"(?<=/)\s?(" + "|".join(_SCRIPT_GREEK) + r")\b"), lambda m: _SCRIPT_GREEK[m[1]]),  # "log(1/ epsilon)"
]


def _lost_backslashes(text: str) -> str:
    for pattern, repl in _LOST:
        text = pattern.sub(repl, text)
    return text


def without_citations(text: str) -> str:
    """The text without the citations it holds (\\cite{…}, \\parencite{…}, "~key2023word"), one read as a noun
    ("\\citet{x} proved") as "earlier work"."""
    return _CITE.sub("", _CITED_AS_NOUN.sub(_earlier_work, text))


def readable_latex(text: str) -> str:
    """`\\textit{x}` -> x, `$\\Sigma$` -> Σ, ``quoted'' -> “quoted”; text without LaTeX is returned as it is."""
    text = without_citations(text)
    if "\\" not in text:
        text = _lost_backslashes(text)
    if "``" in text:  # TeX's quotes; a lone '' (f'') is a prime, not a quote
        text = text.replace("``", "“").replace("''", "”")
    if "`" in text:  # `single' (TeX) or `single` (as typed): quotes too
        text = re.sub(r"`([^`'\s][^`']{0,60}?)['`]", r"‘\1’", text)
    # TeX's dashes: "degradation --- with" is an em dash, "3--5" and " -- " an en dash ("--flag" stays)
    text = _DASH.sub(lambda m: "—" if m[0].strip() == "---" else "–", text)
    if not _LATEX.search(text):
        return _ESCAPED.sub(r"\1", text)  # only escapes: unescaped, the rest as it is ("$5", "{0,1}", "--flag")
    text = _OPERATOR.sub(_operator, text)
    escaped = _BARE.sub(r"\\\1", text.replace("~", _TILDE))
    try:
        plain = _latex().latex_to_text(escaped)
    except Exception:  # pylatexenc is lenient, but an abstract is not obliged to be valid LaTeX
        return text
    return " ".join(plain.replace(_TILDE, "~").split())
