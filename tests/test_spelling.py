"""A question's words as the abstracts spell them (spelling.Speller), and the answers that needed it."""

from __future__ import annotations

import pytest

from assistant.api import Assistant
from assistant.spelling import Speller, edits1, read_as
from assistant.text import stem

TEXTS = [
    "PowerNorm: Rethinking Batch Normalization in Transformers. Code: https://github.com/x/powernorm",
    "Neural collapse is a phenomenon of the last layer. Benign overfitting of neural networks. Flight plans.",
]
STEMS = {stem(w) for text in TEXTS for w in text.lower().replace(".", " ").replace(":", " ").split()}
EVERYDAY = frozenset({"what", "is", "are", "the", "planes", "neural", "layer", "model", "animal", "which", "fits", "data", "of", "an"})


def speller(everyday: frozenset[str] | None = EVERYDAY) -> Speller:
    return Speller(stem, STEMS, everyday)


def test_a_typo_is_read_as_the_word_the_abstracts_use_and_said() -> None:
    assert speller()("What is nueral colapse?", TEXTS) == (
        "What is neural collapse?", [("nueral", "neural"), ("colapse", "collapse")],
    )
    assert speller()("Nueral collapse", TEXTS)[0] == "Neural collapse"  # its capital kept
    assert read_as([("nueral", "neural")]) == "Read “nueral” as “neural”, as the abstracts spell it."


def test_an_everyday_word_a_short_word_or_a_name_is_never_read_as_another() -> None:
    assert speller()("What are planes?", TEXTS) == ("What are planes?", [])  # not "plans"
    assert speller()("What is a plan?", TEXTS) == ("What is a plan?", [])  # too short to guess
    assert speller()("What is NueralNet?", TEXTS) == ("What is NueralNet?", [])  # capitals: a name as typed
    assert speller(None)("What is nueral collapse?", TEXTS) == ("What is nueral collapse?", [])  # no vocabulary: no guess


@pytest.mark.parametrize(
    ("question", "texts"),
    [
        ("How does Imagen generate images?", ["Diffusion models generate images."]),  # a name, capitalised inside
        ("Which papers propose a new sampler?", ["A simpler sample of the data."]),  # sample + r
        ("Which methods merge layers and what merges?", ["Abilities that emerges from scale."]),  # merge + s
        ("Which papers study fine grained sparsity?", ["Networks trained with sparsity."]),  # grain + ed
        ("Why arent sparse networks worse?", ["The parent network is dense."]),  # a contraction
        ("What are the imitations here?", ["The limitations of the model."]),  # the first letter is kept
    ],
)
def test_real_words_the_vocabulary_lacks_are_not_read_as_typos(question: str, texts: list[str]) -> None:
    """Each was "corrected" (Imagen: Images, sampler: simpler, merges: emerges, grained: trained, arent: parent,
    imitations: limitations); "How does Imagen generate images?" then answered instead of abstaining."""
    everyday = EVERYDAY | {"sample", "merge", "grain", "imitation", "fine", "sparse", "networks", "worse"}
    assert Speller(stem, STEMS, everyday)(question, texts) == (question, [])


def test_a_name_typed_in_lower_case_is_written_as_the_abstracts_write_it() -> None:
    # the link's "powernorm" is no way of writing the name
    assert speller()("what is powernorm", TEXTS) == ("what is PowerNorm", [])
    lower_too = [*TEXTS, "a powernorm layer"]
    assert speller()("what is powernorm", lower_too) == ("what is powernorm", [])


def test_another_spelling_of_a_word_the_corpus_knows_is_respelled_without_a_word() -> None:
    # "overfiting" stems as "overfitting" does: the same word, so nothing to say, but the sentences spell it so
    assert speller()("what is benign overfiting", TEXTS) == ("what is benign overfitting", [])


def test_edits1_holds_each_kind_of_typo() -> None:
    near = edits1("nueral")
    assert {"neural", "nural", "nuerals", "nueril"} <= near and "nueral" in near  # transposition, deletion, ...


@pytest.mark.parametrize(
    ("typed", "spelled", "read"),
    [
        ("what is nueral collapse", "What is neural collapse?", [("nueral", "neural")]),
        ("what are hypernetwroks?", "What are hypernetworks?", [("hypernetwroks", "hypernetworks")]),
        ("what is the neural tangent kernal?", "What is the neural tangent kernel?", [("kernal", "kernel")]),
        ("what is powernorm", "What is PowerNorm?", []),
        ("What is quantisation?", "What is quantization?", []),  # British spelling: the same word
        ("What are GraNd and EL2N?", "What is GraNd?", []),  # two names the abstract writes as "(GraNd)", "(EL2N)"
    ],
)
def test_a_misspelt_question_is_answered_as_the_spelt_one(
    assistant: Assistant, typed: str, spelled: str, read: list[tuple[str, str]]
) -> None:
    """Each abstained ("the closest abstracts do not mention nueral collapse") with the right paper ranked first."""
    answer, right = assistant.ask(typed), assistant.ask(spelled)
    assert not answer.abstained and not right.abstained, answer.text
    assert answer.citations[0].paper_id == right.citations[0].paper_id
    assert answer.question == typed  # the question as the user typed it
    assert (answer.notice or "").startswith(read_as(read)) if read else "Read “" not in (answer.notice or "")


def test_another_ending_of_a_known_word_is_left_as_typed() -> None:
    texts = ["We evaluate hypernetworks on many tasks."]
    stems = {stem(w) for w in ("we", "evaluate", "hypernetworks", "many", "tasks")}
    asked = "Which paper evaluates a hypernetwork?"
    assert Speller(stem, stems, EVERYDAY)(asked, texts) == (asked, [])


def test_an_everyday_word_is_no_name_an_abstract_writes_in_capitals() -> None:
    texts = ["We release ANIMAL, a benchmark of neural recordings."]
    assert speller()("Which model fits the neural data of an animal?", texts)[0].endswith("an animal?")
    assert Speller(stem, STEMS, EVERYDAY | {"animal"})("an animal", texts) == ("an animal", [])
