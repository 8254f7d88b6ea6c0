"""Citation markers: parsing, validation, renumbering."""

from __future__ import annotations

from assistant.cite import all_resolve, format_references, markers, validate


def test_markers_parse_groups_and_repeats() -> None:
    assert markers("A [1]. B [2, 3]. C [1][4].") == [1, 2, 3, 1, 4]


def test_validate_drops_unknown_and_renumbers_by_first_use() -> None:
    checked = validate("First [3]. Second [7]. Third [1, 3]. Fourth [0].", n_sources=3)
    assert checked.text == "First [1]. Second. Third [2][1]. Fourth."
    assert checked.sources == [3, 1]
    assert checked.dropped == 2
    assert all_resolve(checked.text, len(checked.sources))


def test_validate_leaves_the_sources_spacing_where_no_marker_went() -> None:
    text = "Targets h = g circ p where p : R^d maps ; and more [1]."  # an abstract's own spacing
    assert validate(text, n_sources=1).text == text
    assert validate("Claim [9]; next [1] .", n_sources=1).text == "Claim; next [1] ."
    # markers side by side are one run: both dropped, no space is left before the stop ("uses SDEs .")
    assert validate("Diffusion uses SDEs [2][3].", n_sources=1).text == "Diffusion uses SDEs."
    assert validate("Diffusion uses SDEs [1] [3]!", n_sources=1).text == "Diffusion uses SDEs [1]!"


def test_validate_without_markers_is_identity() -> None:
    checked = validate("No citations here.", n_sources=2)
    assert (checked.text, checked.sources, checked.dropped) == ("No citations here.", [], 0)


def test_references_are_numbered() -> None:
    assert format_references([(1, "A"), (2, "B")]) == "[1] A\n[2] B"


def test_ranges_of_markers_cite_every_source_in_them() -> None:
    assert markers("A [1-3]. B [2, 4–5]. C [1]–[3].") == [1, 2, 3, 2, 4, 5, 1, 2, 3]
    checked = validate("Shown in [2-4] and again [1]—[2].", n_sources=4)
    assert checked.text == "Shown in [1][2][3] and again [4][1]." and checked.sources == [2, 3, 4, 1]
    # not ranges of sources: a backwards or overlong one keeps its ends, prose and years are left alone
    assert markers("A [3-1]. B [1-40].") == [3, 1, 1, 40]
    assert validate("Pages 1-3, as [Foster, 2020-2021] say [1].", n_sources=1).text == "Pages 1-3, as [Foster, 2020-2021] say [1]."


def test_a_marker_dropped_after_an_abbreviation_leaves_one_stop() -> None:
    """"… by Smith et al. [7]." with 3 sources read "… by Smith et al.." once the marker went."""
    checked = validate("It was proposed by Smith et al. [7]. It holds [1].", 3)
    assert checked.text == "It was proposed by Smith et al. It holds [1]." and checked.dropped == 1
    assert validate("Shown by Smith et al. [2]. It holds [1].", 3).text == "Shown by Smith et al. [1]. It holds [2]."


def test_an_answer_maps_to_the_sentences_the_store_keeps_and_a_greek_capital_starts_one() -> None:
    from assistant.cite import cited_sentences, marked_sentences
    from assistant.text import rough_sentences
    from assistant.types import Citation, Paper

    abstract = "We introduce symbolic autoencoding ($\\Sigma$AE). $\\Sigma$AE connects two models. It works."
    paper = Paper(id="p1", title="T", abstract=abstract)
    # the store's sentences, as ingest split them; splitting the abstract again would not find the second
    stored = {"p1": ["We introduce symbolic autoencoding ($\\Sigma$AE).", "$\\Sigma$AE connects two models.", "It works."]}
    text = "The authors introduce symbolic autoencoding (ΣAE) [1]. ΣAE connects two models [1]."
    assert rough_sentences(text) == ["The authors introduce symbolic autoencoding (ΣAE) [1].", "ΣAE connects two models [1]."]
    citation = Citation(n=1, paper_id="p1", title="T", quote=stored["p1"][0])
    assert [s for _, s in marked_sentences(text, [citation], {"p1": paper}, stored)] == stored["p1"][:2]
    assert cited_sentences(text, [citation], {"p1": paper}, stored=stored) == {"p1": stored["p1"][:2]}
