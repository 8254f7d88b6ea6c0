"""Typed evaluation records: one case's row (per_question.jsonl) and the report (report.json); pure data.

Dumped with `.dump()`, which gives the documented keys ("hit@1", "recall@5" where 5 is k, "ndcg@10").
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

JUDGED = ("faithfulness", "correctness")  # keys present only when an LLM judged the answers


class _Record(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    def dump(self) -> dict[str, Any]:
        """The JSON-ready dict under the documented keys."""
        return self.model_dump(mode="json", by_alias=True)


class _Judged(_Record):
    """Answer figures that an LLM judge may add; their keys exist only when it did."""

    faithfulness: float | None = None
    correctness: float | None = None
    judged: bool = Field(default=False, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _from_file(cls, data: Any) -> Any:
        if isinstance(data, dict) and "judged" not in data and any(key in data for key in JUDGED):
            return {**data, "judged": True}  # read back from a judged report
        return data

    @model_serializer(mode="wrap")
    def _judged_keys(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        rest = {key: v for key, v in data.items() if key not in JUDGED}
        return {**rest, **{key: data[key] for key in JUDGED}} if self.judged else rest  # last, as before


class _AtK(_Record):
    """Retrieval figures; recall's key names the cut-off, which is a run parameter, not a field name."""

    hit_at_1: float | None = Field(
        serialization_alias="hit@1", validation_alias=AliasChoices("hit_at_1", "hit@1")
    )
    recall: float | None
    mrr: float | None
    ndcg_at_10: float | None = Field(
        serialization_alias="ndcg@10", validation_alias=AliasChoices("ndcg_at_10", "ndcg@10")
    )
    k: int = Field(exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _from_file(cls, data: Any) -> Any:
        """Read back from report.json / per_question.jsonl, where k is in recall's key."""
        if isinstance(data, dict) and "recall" not in data:
            key = next((key for key in data if str(key).startswith("recall@")), None)
            if key is not None:
                return {**{n: v for n, v in data.items() if n != key}, "recall": data[key], "k": int(key[7:])}
        return data

    @model_serializer(mode="wrap")
    def _recall_key(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = {(f"recall@{self.k}" if key == "recall" else key): v for key, v in handler(self).items()}
        return {"ranked": data.pop("ranked"), **data} if "ranked" in data else data  # a row lists its papers first


class CaseRetrieval(_AtK):
    """One case in one retrieval mode: its ranked papers and their scores."""

    ranked: list[str]
    hit_at_1: float = Field(
        serialization_alias="hit@1", validation_alias=AliasChoices("hit_at_1", "hit@1")
    )
    recall: float
    mrr: float
    ndcg_at_10: float = Field(
        serialization_alias="ndcg@10", validation_alias=AliasChoices("ndcg_at_10", "ndcg@10")
    )


class CaseAnswer(_Judged):
    """One case's answer from `ask`, and how it scored (None where a metric does not apply)."""

    text: str
    abstained: bool
    cited: list[str]
    citation_precision: float | None
    citation_recall: float | None
    cited_sentence_share: float | None
    unresolved_markers: int
    dropped_markers: int
    rouge_l: float | None
    reference_cosine: float | None = None
    latency_ms: float
    settings_hash: str
    # Per expected quote (the row's expected_quotes, in order): how much of it the cited sentences hold
    # (None: no paper holding it is cited) and whether that is enough (metrics.evidence_hit).
    evidence_overlap: list[float | None] | None = None
    evidence_hit: list[bool] | None = None
    evidence_share: float | None = None  # share of the case's quotes hit
    evidence_first: bool | None = None  # the answer's first cited sentence holds one of them (what is read first)
    judge_error: str | None = None  # why the LLM judge gave no figure for this case (timeout, unreadable reply)
    mode: str = "extractive"  # who wrote the answer
    fallback: bool = False  # the offline composer, because the LLM was unavailable
    notice: str | None = None  # the answer's notice (why the LLM's answer was replaced, markers dropped, …)


class CaseRow(_Record):
    """One question's row: gold papers, retrieval per mode, the answer, and why it failed (if it did)."""

    id: str
    kind: str
    line: int
    question: str
    answerable: bool
    gold: list[str]
    gold_titles: list[str]
    retrieval: dict[str, CaseRetrieval] = Field(default_factory=dict)
    answer: CaseAnswer | None = None  # None when the assistant refused the question (see error)
    error: str | None = None
    failures: list[str] = Field(default_factory=list)
    expected_quotes: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _no_answer(cls, data: Any) -> Any:
        return {**data, "answer": None} if isinstance(data, dict) and data.get("answer") == {} else data

    @model_serializer(mode="wrap")
    def _empty_answer(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        return {**data, "answer": data["answer"] or {}}  # the file format writes {} for "no answer"


class RetrievalSummary(_AtK):
    """Mean retrieval figures of one mode over the cases retrieved for (None when there were none)."""

    cases: int


class AnswerSummary(_Judged):
    """Answer figures over a set of cases; None where no case applies."""

    cases: int
    errors: int
    citation_precision: float | None
    citation_recall: float | None
    cited_sentence_share: float | None
    abstention_accuracy: float | None
    false_abstention_rate: float | None
    reference_cosine: float | None
    reference_rouge_l: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    unresolved_markers: int
    dropped_markers: int
    evidence_hit_rate: float | None = None  # expected quotes whose sentence the answer cites, all pooled
    evidence_hit_rate_cited: float | None = None  # the same, over quotes whose paper the answer cites
    evidence_first_rate: float | None = None  # cases with quotes whose answer's first cited sentence holds one
    paper_coverage: float | None = None  # citation recall of the multi and summary cases


class KindSummary(_Record):
    """The figures of one question kind."""

    cases: int
    retrieval: dict[str, RetrievalSummary]
    answers: AnswerSummary


class ReportIssue(_Record):
    """A question-file line that did not run."""

    line: int | None
    message: str


class Target(_Record):
    """One of the issue's quality targets, the measured value and whether it is met (None: not measured)."""

    name: str
    target: str
    value: float | int | str | None
    met: bool | None


class EvalReport(_Record):
    """report.json: the stable, documented shape (README, "Evaluation")."""

    schema_: int = Field(
        serialization_alias="schema", validation_alias=AliasChoices("schema_", "schema")
    )
    created: str
    question_file: str
    settings_hash: str
    code_hash: str
    corpus_size: int
    answer_mode: str
    answer_model: str | None = None  # the LLM's model and host ("llama3.2 at 127.0.0.1:11434"); None: extractive
    fallbacks: int = 0  # answers the offline composer wrote because the LLM was unavailable
    k: int
    modes: list[str]
    cases: int
    answerable: int
    unanswerable: int
    failed: int
    issues: list[ReportIssue]
    retrieval: dict[str, RetrievalSummary]
    answers: AnswerSummary
    llm_judged: bool
    # "passed", or why the judge cannot be trusted (it called a known-unsupported answer faithful); None: no judge
    judge_control: str | None = None
    judge_errors: int = 0  # cases whose judging failed (see each row's judge_error)
    interrupted: bool = False  # the run was stopped: the figures cover the cases that ran
    by_kind: dict[str, KindSummary]
    targets: list[Target] = Field(default_factory=list)
