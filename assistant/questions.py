"""Question files (JSONL, one case per line) -> evaluation cases with their gold papers resolved.

Bad lines become issues naming the line and the case; the good lines still run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .corpus import jsonl_objects, normalise
from .errors import AssistantError
from .types import Paper, ParseIssue


class QuestionFileError(AssistantError):
    """The question file cannot be used at all (missing, or no valid case)."""

    exit_code = 2


class EvalCase(BaseModel):
    """One line of a question file; `gold` is filled in by resolving titles and quotes to paper ids."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    expected_papers: list[str] = Field(default_factory=list)
    expected_quotes: list[str] = Field(default_factory=list)
    reference_answer: str = ""
    answerable: bool = True
    kind: str = ""
    line: int = 0
    gold: tuple[str, ...] = ()

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @property
    def group(self) -> str:
        """The question kind used to break metrics down (a default when the file gives none)."""
        return self.kind or ("answerable" if self.answerable else "unanswerable")


@dataclass
class QuestionFile:
    """The usable cases of a question file, and the lines that could not be used."""

    cases: list[EvalCase]
    issues: list[ParseIssue] = field(default_factory=list)


def resolve_quote(quote: str, papers: Sequence[Paper]) -> list[str]:
    """Ids of the papers whose abstract contains `quote`, ignoring case and whitespace."""
    needle = normalise(quote)
    if not needle:
        return []
    return [p.id for p in papers if needle in normalise(p.abstract)]


def resolve_paper(ref: str, papers: Sequence[Paper]) -> str | None:
    """A paper id given either the id itself or the paper's exact title (case-insensitive)."""
    for p in papers:
        if p.id == ref:
            return p.id
    wanted = normalise(ref)
    for p in papers:
        if normalise(p.title) == wanted:
            return p.id
    return None


def _resolve(case: EvalCase, papers: Sequence[Paper]) -> tuple[list[str], list[str]]:
    """Gold paper ids of a case, and what could not be resolved."""
    gold: list[str] = []
    problems: list[str] = []
    for ref in case.expected_papers:
        pid = resolve_paper(ref, papers)
        if pid is None:
            problems.append(f"expected paper {ref!r} is neither a paper id nor an exact title in the store")
        else:
            gold.append(pid)
    for quote in case.expected_quotes:
        found = resolve_quote(quote, papers)
        if not found:
            problems.append(f"expected quote {quote!r} is in no abstract")
        gold.extend(found)
    if case.answerable and not gold and not problems:
        problems.append("an answerable case needs expected_papers or expected_quotes")
    return list(dict.fromkeys(gold)), problems


def parse_questions(text: str, papers: Sequence[Paper], source: str = "questions") -> QuestionFile:
    """Cases from JSONL text; every bad line becomes an issue naming its line (and case), the rest run."""
    cases: list[EvalCase] = []
    issues: list[ParseIssue] = []
    seen: set[str] = set()
    for number, record in jsonl_objects(text, source, issues):
        try:
            case = EvalCase.model_validate({**record, "line": number})
        except ValidationError as exc:
            fields = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'line'}: {e['msg']}" for e in exc.errors())
            name = f"case {record.get('id')!r}: " if record.get("id") else ""
            issues.append(ParseIssue(source=source, line=number, message=f"{name}{fields}"))
            continue
        if case.id in seen:
            issues.append(ParseIssue(source=source, line=number, message=f"case {case.id!r}: duplicate id"))
            continue
        gold, problems = _resolve(case, papers)
        if problems:
            if unknown := sorted(set(record) - set(EvalCase.model_fields)):  # a misspelt field ("expected_paper")
                problems = [*problems[:-1], f"{problems[-1]} (fields not read: {', '.join(unknown)})"]
            for problem in problems:
                issues.append(ParseIssue(source=source, line=number, message=f"case {case.id!r}: {problem}"))
            continue
        seen.add(case.id)
        cases.append(case.model_copy(update={"gold": tuple(gold)}))
    return QuestionFile(cases=cases, issues=issues)


def _shape_hint(text: str) -> str:
    """What the file is instead of JSON lines, when that is plain to see."""
    line = next((line.strip() for line in text.lstrip("\ufeff").splitlines() if line.strip()), "")
    if not line:
        return ": the file is empty"
    if line.startswith("["):
        return ": it holds one JSON array; write each object on a line of its own (JSON lines)"
    if not line.startswith("{") and ("," in line or "\t" in line):
        return ": it looks like a table (CSV); question files are JSON lines"
    return ""


def load_questions(path: str | Path, papers: Sequence[Paper]) -> QuestionFile:
    """Read and resolve a question file; a missing file or one with no usable case is an error."""
    file = Path(path)
    try:  # a byte-order mark (PowerShell 5's and older Notepad's UTF-8) is no part of the first line
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise QuestionFileError(
            f"the question file {file} is not UTF-8 text (byte {exc.start}); save it as UTF-8 and run again"
        ) from exc
    except OSError as exc:
        raise QuestionFileError(f"cannot read the question file {file}: {exc}") from exc
    result = parse_questions(text, papers, source=str(path))
    if not result.cases:
        details = "".join(f"\n  {issue}" for issue in result.issues[:10])
        raise QuestionFileError(
            f"{file} has no usable question{_shape_hint(text)} (one JSON object per line with id, question and "
            f"expected_papers or expected_quotes){details}"
        )
    return result
