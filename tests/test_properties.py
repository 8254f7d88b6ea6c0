"""Property tests: the seed parser and the citation parser never crash, and their invariants hold."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assistant.cite import all_resolve, markers, validate
from assistant.corpus import (
    MAX_ABSTRACT_CHARS,
    MIN_ABSTRACT_CHARS,
    decode,
    merge,
    parse_csv,
    parse_jsonl,
    parse_page,
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SENTENCE = "We propose a method that improves accuracy on standard benchmarks while using fewer parameters."
# Lines that look like the seed pages: labels, furniture, titles, abstracts, and arbitrary text.
PAGE_LINE = st.one_of(
    st.sampled_from(["", "Abstract:", "Authors:", "Title:", "Via", "Mar 11", "Figures and Tables:", "new", "Subscribe"]),
    st.builds(lambda s: "Abstract:" + s, st.text(max_size=300)),
    st.builds(lambda a: "Authors:" + a, st.text(max_size=60)),
    st.builds(lambda n: " ".join([SENTENCE] * n), st.integers(1, 5)),
    st.text(max_size=200),
)
PAGES = st.lists(PAGE_LINE, max_size=25).map("\n".join)


def flat(text: str) -> str:
    return " ".join(text.split())


@FAST
@given(PAGES)
@example("Abstract:" + "x" * (MAX_ABSTRACT_CHARS + 50))
@example(". " + "x" * 100)  # opens with a bare full stop: the label must not be empty
def test_seed_parser_never_crashes_and_every_paper_has_its_abstract(page: str) -> None:
    drafts, issues = parse_page(page, "page.txt")
    for draft in drafts:
        assert MIN_ABSTRACT_CHARS <= len(draft.abstract) <= MAX_ABSTRACT_CHARS
        assert flat(draft.abstract) in flat(page)  # taken from the page, never invented
    papers = merge(drafts)
    assert len({p.id for p in papers}) == len(papers)
    assert len(papers) <= len(drafts)
    for paper in papers:
        assert paper.abstract.strip() and paper.title.strip() and paper.sources == ["page.txt"]
    assert all(issue.source == "page.txt" for issue in issues)


@FAST
@given(st.binary(max_size=400))
def test_any_bytes_decode_or_are_refused_with_a_reason(data: bytes) -> None:
    text, issue = decode(data, "f.txt")
    assert text is not None or (issue is not None and "binary" in issue.message)
    if text is not None:
        parse_page(text, "f.txt")


@FAST
@given(st.lists(st.one_of(st.text(max_size=80), st.just('{"abstract": "' + SENTENCE + '"}')), max_size=10))
def test_jsonl_parser_reports_every_bad_line_by_number(lines: list[str]) -> None:
    text = "\n".join(lines)
    drafts, issues = parse_jsonl(text, "f.jsonl")
    physical = text.splitlines()
    bad = {i.line for i in issues}
    assert all(i.line is not None and 1 <= i.line <= len(physical) for i in issues)
    # Every non-blank line is either a paper or an issue: nothing vanishes silently.
    assert len(drafts) + len(bad) == sum(1 for line in physical if line.strip())


@FAST
@given(st.text(max_size=300))
def test_csv_parser_never_crashes(text: str) -> None:
    drafts, issues = parse_csv(text, "f.csv")
    assert drafts or issues or "abstract" in text.lower()
    for draft in drafts:
        assert len(draft.abstract) >= MIN_ABSTRACT_CHARS


# -- citations ------------------------------------------------------------------------------------
MARKERS = st.one_of(
    st.integers(0, 12).map(lambda n: f"[{n}]"),
    st.lists(st.integers(0, 12), min_size=1, max_size=3).map(lambda ns: "[" + ", ".join(map(str, ns)) + "]"),
)
ANSWER = st.lists(
    st.one_of(MARKERS, st.sampled_from(["[", "]", " ", ".", ",", ";", "1", "Kernels describe training"]), st.text(max_size=8)),
    max_size=20,
).map("".join)


@FAST
@given(ANSWER, st.integers(0, 6))
@example("x [[5]1] y", 2)  # dropping [5] must not leave a new, unvalidated [1]
@example("[2 [9], 1].", 2)
def test_every_marker_left_in_an_answer_resolves(text: str, n_sources: int) -> None:
    checked = validate(text, n_sources)
    assert all_resolve(checked.text, len(checked.sources))
    assert sorted(set(markers(checked.text))) == list(range(1, len(checked.sources) + 1))
    assert len(set(checked.sources)) == len(checked.sources)
    assert all(1 <= n <= n_sources for n in checked.sources)
    assert checked.dropped <= len(markers(text))
    again = validate(checked.text, len(checked.sources))
    assert (again.text, again.dropped) == (checked.text, 0)


@FAST
@given(st.text(max_size=200), st.integers(0, 6))
def test_validate_never_crashes_on_any_text(text: str, n_sources: int) -> None:
    checked = validate(text, n_sources)
    assert all_resolve(checked.text, len(checked.sources))
