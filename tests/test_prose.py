"""Abstract sentences as they read in an answer (assistant/prose.py): pure functions, hand-checked cases."""

from __future__ import annotations

import pytest

from assistant.cite import markers
from assistant.latex import readable_latex
from assistant.prose import (
    answer_sentence,
    gist,
    in_own_voice,
    is_meta,
    leans_back,
    refers_back,
    points_back,
    solves_earlier,
    states_a_claim,
    third_person,
)
from assistant.text import abbreviations
from assistant.types import Paper

TITLED = Paper(id="x", title="Go Wider", abstract="...")
UNTITLED = Paper(id="y", title="label", abstract="...", has_title=False)


@pytest.mark.parametrize(
    ("sentence", "paper", "name_it", "expected"),
    [
        ("In this paper, we propose X.", TITLED, True, "The authors of “Go Wider” propose X."),
        ("We prove Y.", UNTITLED, True, "The authors prove Y."),
        ("This paper studies Z.", TITLED, True, "“Go Wider” studies Z."),
        ("Weights matter.", TITLED, True, "Weights matter."),
        # "The network is shown to …" opened an answer from one paper: which network, the reader could not tell
        ("The network is shown to handle noise.", TITLED, True, "In “Go Wider”, the network is shown to handle noise."),
        ("The proposed method wins.", TITLED, True, "In “Go Wider”, the proposed method wins."),
        ("The network is shown to handle noise.", TITLED, False, "The network is shown to handle noise."),
        ("The networks of the brain differ.", TITLED, True, "In “Go Wider”, the networks of the brain differ."),
        ("The brain differs.", TITLED, True, "The brain differs."),
        ("Our method enhances Z.", TITLED, True, "In “Go Wider”, the authors' method enhances Z."),
        ("Our method enhances Z.", TITLED, False, "The authors' method enhances Z."),
        ("To this end, we show that our bound holds for us.", TITLED, False, "To this end, the authors show that their bound holds for them."),
        ("We show W.", TITLED, False, "The authors show W."),
        ("Here, we show the capabilities of V.", TITLED, True, "The authors of “Go Wider” show the capabilities of V."),
        ("We propose that if we can represent it, it is simpler.", TITLED, False, "The authors propose that if one can represent it, it is simpler."),
        ("We ask whether we could do more, and if we do, our gain.", TITLED, False,  # "we" again: the authors throughout
         "The authors ask whether the authors could do more, and if the authors do, their gain."),
        ("We will release the code when we can.", TITLED, False, "The authors will release the code when the authors can."),
        ("It converges once we cannot decrease the loss.", TITLED, False, "It converges once one cannot decrease the loss."),
        # everyone's era and understanding, not the authors'
        ("In our era of enormous networks, scale won.", TITLED, False, "In the era of enormous networks, scale won."),
        ("Our understanding of X is limited.", TITLED, False, "The understanding of X is limited."),
        ("We improve our understanding of X.", TITLED, False, "The authors improve the understanding of X."),
        ("Our world model learns fast.", TITLED, False, "The authors' world model learns fast."),  # theirs
    ],
)
def test_first_person_becomes_a_named_third_person(sentence: str, paper: Paper, name_it: bool, expected: str) -> None:
    assert third_person(sentence, paper, name_it) == expected


def test_a_we_joined_by_and_to_the_subject_is_they() -> None:
    """"The authors extensively test PN …, and the authors show that it …" read as two sets of authors."""
    from assistant.prose import answer_sentence

    said = answer_sentence("We test PN on NLP tasks, and we show that it outperforms LN.", TITLED, name_it=True)
    assert said == "The authors of “Go Wider” test PN on NLP tasks, and they show that it outperforms LN."
    assert answer_sentence("We study X, and then we prove Y, and we find Z.", TITLED, name_it=False) == (
        "The authors study X, and then they prove Y, and they find Z."
    )
    assert answer_sentence("We find that transformers underperform, and we attribute it to depth.", TITLED, False) == (
        "The authors find that transformers underperform, and the authors attribute it to depth."
    )
    # not a "we" the sentence does not join to its subject: "they" would read as the transformers
    assert answer_sentence("We show that transformers fail when we prune.", TITLED, name_it=False) == (
        "The authors show that transformers fail when the authors prune."
    )


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        (r"Robustness to $\epsilon$-Perturbations", "Robustness to ϵ-Perturbations"),  # was re.error: bad escape \e
        (r"Bounds in $\alpha$ and $\nu$", "Bounds in α and ν"),  # was a BEL character (\a) and a newline (\n)
        ("What We Learned From Our Failures", "What We Learned From Our Failures"),  # the title's own "We" stays
    ],
)
def test_a_title_is_inserted_as_text(title: str, shown: str) -> None:
    paper = Paper(id="t", title=title, abstract="...")
    assert third_person("We analyse robustness.", paper, True) == f"The authors of “{shown}” analyse robustness."
    assert third_person("This paper studies our bounds.", paper, True) == f"“{shown}” studies their bounds."
    assert third_person("Our bound holds.", paper, True) == f"In “{shown}”, the authors' bound holds."


def test_a_such_after_but_leans_on_the_sentence_before() -> None:
    from assistant.prose import leans_back

    assert leans_back("But, such deployment would limit the performance.")  # it had led, "such" pointing at nothing
    assert leans_back("However, this approach fails.") and not leans_back("Yet the method scales to large models.")
    assert answer_sentence("But, such deployment would limit the performance.", TITLED, False) == (
        "Such deployment would limit the performance."
    )


def test_our_with_no_one_named_before_it_is_the_authors_and_this_thesis_is_the_paper() -> None:
    """"On LLaMA-65B, our method loses …" read "…, their method loses …" where the answer had named no one for
    "their" to point at; "This thesis compares …" was left as it was where "This paper …" named the paper."""
    paper = Paper(id="t", title="Long Documents", abstract="...")
    assert third_person("On LLaMA-65B, our method loses 0.3 points.", paper, False, spoken=False) == (
        "On LLaMA-65B, the authors' method loses 0.3 points."
    )
    assert third_person("Our method wins and our code is public.", paper, False, spoken=False) == (
        "The authors' method wins and their code is public."
    )
    # named before in the answer, or by a "we" of the sentence itself, even after it: "their"
    assert third_person("On LLaMA-65B, our method loses 0.3 points.", paper, False) == "On LLaMA-65B, their method loses 0.3 points."
    assert third_person("As a byproduct of our results, we show X.", paper, False, spoken=False) == (
        "As a byproduct of their results, the authors show X."
    )
    assert third_person("We show that our method wins.", paper, False, spoken=False) == "The authors show that their method wins."
    assert third_person("This thesis compares three methods.", paper, True) == "“Long Documents” compares three methods."
    assert third_person("In this dissertation, we compare them.", paper, True) == "In “Long Documents”, the authors compare them."


def test_latex_is_made_readable_and_plain_text_is_left_alone() -> None:
    assert readable_latex(r"We introduce \textit{symbolic autoencoding} ($\Sigma$AE).") == "We introduce symbolic autoencoding (ΣAE)."
    assert readable_latex(r"a 50% cut of $\epsilon$ with ~10x speed") == "a 50% cut of ϵ with ~10x speed"
    assert readable_latex("plain 50% and a_b [1]") == "plain 50% and a_b [1]"
    assert readable_latex("in ``Fantastic Measures,'' Jiang et al.") == "in “Fantastic Measures,” Jiang et al."
    assert readable_latex("the derivative f'' of f") == "the derivative f'' of f"
    assert readable_latex("decomposing the `larger` groups, one `deep' method") == "decomposing the ‘larger’ groups, one ‘deep’ method"


def test_brackets_inside_an_abstract_never_read_as_citation_markers() -> None:
    text = answer_sentence("As shown by Barron [1993] and [Foster and Rakhlin, 2020], rates hold [12].", TITLED, False)
    assert markers(text) == [] and "(1993)" in text and "(12)" in text


@pytest.mark.parametrize(
    ("sentence", "meta"),
    [
        ("The code is available at https://github.com/x/y.", True),
        ("Code and models will be made publicly available.", True),
        ("We release our implementation.", True),
        ("We provide easy-to-use code that can turn existing networks into MIP-based hypernetworks.", True),
        ("We provide a theoretical framework for kernel learning.", False),
        ("Our code is open-sourced.", True),
        ("Models trained with our method are available to practitioners for deployment in low-memory settings.", True),
        ("The model is trained on publicly available data and reaches 80% accuracy.", False),
        ("We prove the kernel converges in the infinite-width limit.", False),
    ],
)
def test_sentences_about_code_and_links_are_recognised(sentence: str, meta: bool) -> None:
    assert is_meta(sentence) is meta


@pytest.mark.parametrize(
    ("sentence", "back"),
    [
        ("This phenomenon is known as Neural Collapse (NC).", True),
        # A motive clause pointing back is dropped from the sentence instead (next test): nothing is needed before.
        ("Addressing this issue, we introduce symbolic autoencoding.", False),
        ("To overcome these limitations, we propose Y.", False),
        ("Under these conditions, the loss is convex.", True),
        ("This paper studies Z.", False),
        ("We prove the kernel converges.", False),
        ("Moreover, such models fail.", True),
        ("Surprisingly, these complex systems share a structure.", True),
        ("Surprisingly, depth helps.", False),
        ("They can undergo a period of harmful overfitting before grokking.", True),
        ("Their key contribution is a lower bound.", True),
        ("It is known that wide networks behave like kernels.", False),
        ("Theory predicts the opposite.", False),
        # "that" as a conjunction points at nothing; after a preposition it does
        ("We prove that when training with weight decay, the only solutions are zero functions.", False),
        ("At that point, the network fits the noisy labels.", True),
        ("Unlike that method, ours needs no labels.", True),
        ("Given that the data are Gaussian, the kernel is constant.", False),
    ],
)
def test_openers_that_point_back(sentence: str, back: bool) -> None:
    assert points_back(sentence) is back


def test_abbreviations_the_abstract_defines() -> None:
    found = abbreviations("Flow matching (FM) is simple. We study Neural Collapse (NC) with mixture-of-experts (MoE) and large language models (LLMs) at 5 (V100) GPUs.")
    assert found == {"FM": "Flow matching", "NC": "Neural Collapse", "MoE": "mixture-of-experts", "LLMs": "large language models"}
    # a joining word is spelled by no letter, and opens no long form ("and Reasoning Corpus" was ARC)
    assert abbreviations("The Abstraction and Reasoning Corpus (ARC) measures it.") == {"ARC": "Abstraction and Reasoning Corpus"}
    assert abbreviations("We use Quality of Service (QoS) and the Bag of Words (BoW).") == {"QoS": "Quality of Service", "BoW": "Bag of Words"}


def test_linking_openers_are_dropped_when_a_sentence_stands_alone() -> None:
    assert answer_sentence("Moreover, we show W.", TITLED, False) == "The authors show W."
    assert answer_sentence("More generally, we classify W.", TITLED, False) == "The authors classify W."
    assert answer_sentence("Indeed, it needs no labels.", TITLED, False) == "It needs no labels."
    assert answer_sentence("Firstly, we empirically show W.", TITLED, False) == "The authors empirically show W."
    assert answer_sentence("First-order methods converge.", TITLED, False) == "First-order methods converge."
    assert answer_sentence("Consequently, we introduce T.", TITLED, True) == "The authors of “Go Wider” introduce T."
    assert answer_sentence("Thus far, nothing works.", TITLED, False) == "Thus far, nothing works."  # not a link
    assert answer_sentence("Namely, if A holds, no bound is tight.", TITLED, False) == "If A holds, no bound is tight."
    assert answer_sentence("In particular, PN fixes it.", TITLED, False) == "PN fixes it."
    assert answer_sentence("Finally we study the NTK.", TITLED, False) == "The authors study the NTK."
    assert answer_sentence("Further work is needed.", TITLED, False) == "Further work is needed."  # no comma, no "we"
    assert answer_sentence("Interestingly, depth helps.", TITLED, False) == "Interestingly, depth helps."  # a stance
    assert answer_sentence("However, we show W.", TITLED, False) == "The authors show W."
    assert answer_sentence("We therefore develop a limit.", TITLED, True) == "The authors of “Go Wider” develop a limit."
    assert answer_sentence("Moreover, we also use scores.", TITLED, False) == "The authors use scores."
    assert answer_sentence("We alsofind X.", TITLED, False) == "The authors alsofind X."  # whole words only
    assert answer_sentence("We also use scores.", TITLED, False, follows=True) == "The authors also use scores."
    assert answer_sentence("Training can also be described by a kernel.", TITLED, False) == "Training can be described by a kernel."
    assert answer_sentence("It is also fast.", TITLED, False, follows=True) == "It is also fast."  # after its sentence
    assert answer_sentence("Our key contribution is a bound.", UNTITLED, True) == "The authors' key contribution is a bound."
    assert answer_sentence("Our method, called P, learns.", TITLED, True) == "In “Go Wider”, the authors' method, called P, learns."
    assert answer_sentence("Contrastingly, passive learning fails.", TITLED, False) == "Passive learning fails."
    # an example of the sentence before, a restatement: read alone, the link goes too
    assert answer_sentence("In fact, using EL2N scores we prune.", TITLED, True) == "In “Go Wider”, using EL2N scores the authors prune."
    assert answer_sentence("For instance, on ResNet50, we prune half.", TITLED, False) == "On ResNet50, the authors prune half."
    # ... not the first half of a pair: "On the other hand, …" is often the answer's next sentence
    assert answer_sentence("On the one hand, depth helps.", TITLED, False) == "On the one hand, depth helps."
    assert answer_sentence("In fact, depth helps.", TITLED, False, follows=True) == "In fact, depth helps."  # after its sentence
    # a "we" after a relative word, the authors named before it in the sentence, is "they"
    assert answer_sentence("We propose a mixture for which we introduce a prior.", TITLED, True) == (
        "The authors of “Go Wider” propose a mixture for which they introduce a prior."
    )
    assert answer_sentence("We study models which the authors of LoRA prune.", TITLED, False) == (
        "The authors study models which the authors of LoRA prune."  # other authors
    )
    # a name the sentence opens with keeps its capital after the title ("Gaussian", as the abstract writes it)
    gp = Paper(id="g", title="Priors", abstract="Gaussian processes offer a framework, and we propose a prior.")
    assert answer_sentence(gp.abstract, gp, True) == "In “Priors”, Gaussian processes offer a framework, and the authors propose a prior."
    assert answer_sentence("Second, we observe V.", TITLED, False, follows=True) == "The authors observe V."
    assert readable_latex('overparameterized ans\\"atze') == "overparameterized ansätze"
    assert readable_latex(r"sorting in $O(nd\log d)$ time, $n\exp(-t)$") == "sorting in O(nd log d) time, n exp(-t)"
    assert readable_latex(r"sorting in O(nd\log d) time, x\log y outside math") == "sorting in O(nd log d) time, x log y outside math"
    assert readable_latex(r"$\det A$, $\arg\max_x f$, \Pr[X > t], $\log \log n$") == "det A, arg max_x f, Pr[X > t], log log n"
    assert readable_latex(r"the \log-likelihood, $\log\left(n\right)$, \exp (-t)") == "the log-likelihood, log(n), exp(-t)"
    assert readable_latex("A $5 and $10 budget") == "A $5 and $10 budget"  # money, not a formula
    assert readable_latex(r"less than 1\% loss --- with 4-bit weights, R\&D") == "less than 1% loss — with 4-bit weights, R&D"
    assert readable_latex("gains of 3--5 points -- and run with --flag") == "gains of 3–5 points – and run with --flag"
    assert readable_latex(r"run with --flag, 5\% more, $5 per hour, set {0,1}") == "run with --flag, 5% more, $5 per hour, set {0,1}"
    assert readable_latex("over prior work~nichani2023provable requiring d^4") == "over prior work requiring d^4"
    assert readable_latex(r"as in prior work~\cite{nichani2023provable}, we") == "as in prior work, we"
    # biblatex's citations go too (pylatexenc printed their keys), and one read as a noun becomes "earlier work"
    kernels = r"Kernels \parencite{a} and trees \autocite[p.~2]{b} fail\footcite{c}."
    assert readable_latex(kernels) == "Kernels and trees fail."
    assert readable_latex(r"As shown by \citet{a}, we do. \textcite{b} proved it.") == "As shown by earlier work, we do. Earlier work proved it."
    assert answer_sentence("Despite the fact, in this study, we show V.", TITLED, True) == "Despite the fact, in “Go Wider”, the authors show V."
    # right after the sentence it links to, the link reads
    assert answer_sentence("However, we show W.", TITLED, False, follows=True) == "However, the authors show W."
    assert answer_sentence("To address this issue, we add V.", TITLED, False, follows=True) == "To address this issue, the authors add V."


@pytest.mark.parametrize(
    ("sentence", "reads", "needs_the_one_before"),
    [
        ("Addressing this issue, we introduce symbolic autoencoding, a framework.",
         "The authors introduce symbolic autoencoding, a framework.", False),
        ("To this end, we minimize the quantization error of each layer.",
         "The authors minimize the quantization error of each layer.", False),
        # A condition is part of the claim: kept, and the sentence it points at comes along.
        ("Under this assumption, gradient descent converges.", "Under this assumption, gradient descent converges.", True),
        ("To address scalability, we shard the index.", "To address scalability, the authors shard the index.", False),
    ],
)
def test_a_motive_clause_pointing_back_is_dropped_a_condition_is_not(
    sentence: str, reads: str, needs_the_one_before: bool
) -> None:
    assert answer_sentence(sentence, TITLED, False) == reads
    assert points_back(sentence) is needs_the_one_before


@pytest.mark.parametrize(
    ("sentence", "solves"),
    [
        ("We propose Power Normalization (PN), a novel scheme that resolves this issue by relaxing BN.", True),
        ("To this end, we design a loss that mitigates these two shortcomings.", True),
        ("We propose X, which solves the problem of mode collapse.", False),
        ("To overcome these limitations, we propose Y.", False),  # the clause is dropped instead
        ("To overcome these limitations, we propose Y, which also avoids this bottleneck.", True),
        # answering, studying or easing what the sentence before names: a fragment without it
        ("We set out to simplify this process by grounding it in a mechanistic pipeline.", True),
        ("In this paper we attempt to answer this question by training networks in a subspace.", False),  # a question
        ("We study this phenomenon in deep linear networks.", True),
        ("We study the phenomenon of neural collapse in deep linear networks.", False),
        # a remedy for what the sentence before names
        ("We present a simple solution to this problem using a revised formulation.", True),
        ("A solution to many problems of training is to normalise.", False),
    ],
)
def test_sentences_that_solve_a_problem_named_before(sentence: str, solves: bool) -> None:
    assert solves_earlier(sentence) is solves


def test_an_opening_it_leans_back_unless_impersonal() -> None:
    assert leans_back("It consists in converting floating point representations.")
    assert not leans_back("It is known that wide networks behave like kernels.")
    assert leans_back("This process is called uniform quantization.") and not leans_back("Quantization saves memory.")


def test_the_authors_acting_on_it_lean_back() -> None:
    """"Does dropout help with label noise?" opened on "The authors … analyze it for both single model and
    Co-teaching [1]", the "it" never said."""
    assert leans_back("We analyze it for both single model and Co-teaching.")
    assert leans_back("Moreover, we then apply them to vision.")
    assert not leans_back("We make it possible to train deep networks.") and not leans_back("We analyze its bias.")
    assert not leans_back("We show it is possible to train.") and not leans_back("We found it useful.")


def test_a_this_standing_alone_leans_back() -> None:
    """"We achieve this using …" opened an answer about training speed, "this" never said."""
    assert leans_back("We achieve this using a frequency-domain parametrization.")
    assert leans_back("Moreover, we show that this is optimal.")
    assert not leans_back("This paper shows a speed-up.") and not leans_back("We prove this bound is tight.")
    assert not leans_back("To achieve this, we use a frequency-domain parametrization.")  # the clause goes, the rest reads


@pytest.mark.parametrize(
    ("sentence", "back"),
    [
        ("The authors demonstrate that this approach is robust.", True),
        ("Both of these phenomena provably occur in ReLU networks.", True),
        ("PFNs are applied for the first time in this context.", True),
        ("Features collapse to their class-means, and those class-means form a simplex.", False),  # named before it
        ("If we can represent a network sparsely, then this representation is interpretable.", False),  # same stem
        ("Bounds are converted to regret, and these respectively give O(KT).", False),  # an adverb
        ("Rates match those of diffusion models for losses such as the hinge loss.", False),
        ("We anticipate this thesis will interest many.", False),  # the work itself
        ("To overcome this limitation, we propose X.", False),  # the motive clause goes (answer_sentence)
        ("This phenomenon is known as grokking.", True),  # leans_back
        # an adjective between: the noun after it was named before in the sentence, or was not
        ("Pruning removes unimportant parameters, and we reuse these ineffective parameters.", False),
        ("We study networks and show that these ineffective parameters matter.", True),
        ("The model is fast and this approach is robust.", True),  # "is" names nothing
        ("Despite strong performance on benchmarks, these models perform poorly.", True),  # a verb, not the noun again
        ("The cost only depends on the degree; this dimension dependence is optimal.", False),  # a noun, by its stem
    ],
)
def test_a_demonstrative_anywhere_refers_back_unless_the_sentence_names_it(sentence: str, back: bool) -> None:
    assert refers_back(sentence) is back


@pytest.mark.parametrize(
    ("sentence", "own", "claim"),
    [
        ("Batch normalization is the standard in computer vision.", False, False),  # the field
        ("Prior work has shown that wide networks behave like kernels.", False, False),  # others' finding
        ("We prove that gradient descent converges.", True, True),
        ("Here we theoretically also show a lower bound.", True, True),
        ("This paper introduces a new normalizer.", True, True),
        ("In this work, batch statistics are revisited.", True, False),  # the authors speak, claim nothing
        ("Our analysis reveals a phase transition.", True, True),
        ("Our code is released.", True, False),
        ("To our knowledge this is open.", True, False),
    ],
)
def test_the_authors_own_voice_and_their_claims_are_recognised(sentence: str, own: bool, claim: bool) -> None:
    assert in_own_voice(sentence) is own and states_a_claim(sentence) is claim


def test_math_whose_backslashes_were_lost_reads_as_math() -> None:
    """A scraper dropped the backslashes of these seeds' LaTeX: command words that are no English word are read
    as math, and "times", "ll", "circ" only inside braces or between single letters."""
    assert readable_latex("where M^* in R^{n_1 times n_2} has rank r ll min{n_1,n_2} via FG^top") == (
        "where M^* in R^{n_1 × n_2} has rank r ≪ min{n_1,n_2} via FG^⊤"
    )
    assert readable_latex("complexity mathcal{O}(d^2) against widetildeTheta(d^4)") == "complexity O(d^2) against Θ̃(d^4)"
    assert readable_latex("h = g circ p where p : R^d rightarrow R") == "h = g ∘ p where p : R^d → R"
    assert readable_latex("a novel Omega (1/T^2) lower bound") == "a novel Ω(1/T^2) lower bound"
    assert readable_latex("the sub-differential of the ell_1-loss") == "the sub-differential of the ℓ_1-loss"
    assert readable_latex("the network function f_theta follows x^{alpha}, beta_2 and a_betamax") == (
        "the network function f_θ follows x^α, beta_2 and a_betamax"
    )
    assert readable_latex("defined by mathcal O_i(u) = sum_j mathcal W_{ij} u") == "defined by O_i(u) = sum_j W_{ij} u"
    assert readable_latex("norm Oleft(left(dB_Lright)^{max{p log(1/ epsilon), p}}right).") == "norm O((dB_L)^{max{p log(1/ϵ), p}})."
    for english in ("It is 2 times faster, as we'll see.", "all good times", "the Omega team", "a well known result", "as well_",
                    "(shown to the right)", "(Albright)", "the left|right split"):
        assert readable_latex(english) == english


def test_references_and_metadata_answers_show_a_titles_latex_readable() -> None:
    """The answer read "ℓ_1" while its reference, "Who wrote …?" and the closest abstracts printed "$\\ell_1$"."""
    from assistant.listing import authors_answer
    from assistant.terminal import answer_footer
    from assistant.types import Answer, Citation

    paper = Paper(id="g", title=r"Sparse Gaussian Mixtures for $\ell_1$-Regularised Clustering", abstract="We cluster.",
                  authors=["Ana Rivera"], year=2021)
    answer = Answer(question="q", text="We cluster [1].", citations=[Citation.of(1, paper, "We cluster.")],
                    abstained=False, settings_hash="h")
    assert "[1] Sparse Gaussian Mixtures for ℓ_1-Regularised Clustering — Ana Rivera, 2021" in answer_footer(answer)
    assert authors_answer("Who wrote it?", answer, paper, "h").text.startswith("“Sparse Gaussian Mixtures for ℓ_1-Regularised")
    assert answer.citations[0].title == paper.title  # the record keeps the title as its source wrote it


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("The optimization of the exponent remains hard.", "In “NUPES”, the optimization of the exponent remains hard."),
        ("PROSE learns operators.", "In “NUPES”, PROSE learns operators."),  # an acronym keeps its case
        ("Neural Tangent Kernel theory applies.", "In “NUPES”, Neural Tangent Kernel theory applies."),  # a named phrase
        ("Gaussian priors help.", "In “NUPES”, Gaussian priors help."),  # capitalised mid-sentence in the abstract too
        ("The NTK regime is studied.", "In “NUPES”, the NTK regime is studied."),  # a capital after "The" is no phrase
        ("A ReLU network fits it.", "In “NUPES”, a ReLU network fits it."),
        ("Bayesian priors help.", "In “NUPES”, Bayesian priors help."),  # an adjective made from a name
        ("Median filters help.", "In “NUPES”, median filters help."),
        # a name's part ("BERT-Large") is no capital the abstract gives "Large" mid-sentence
        ("Large-batch training diverges on BERT-Large.", "In “NUPES”, large-batch training diverges on BERT-Large."),
        ("We search the exponent.", "The authors of “NUPES” search the exponent."),  # "we" is named as before
    ],
)
def test_an_answer_from_several_papers_names_each_paper_where_it_first_cites_it(sentence: str, expected: str) -> None:
    paper = Paper(id="p", title="NUPES", abstract=f"Quantization with non-Gaussian priors. {sentence}")
    assert answer_sentence(sentence, paper, name_it=True, introduce=True) == expected
    assert answer_sentence(sentence, paper, name_it=False, introduce=True) == answer_sentence(sentence, paper, name_it=False)
    if not sentence.startswith("We"):  # one paper's answer does not name it where its sentence does not speak of it
        assert answer_sentence(sentence, paper, name_it=True) == sentence


GIST_ABSTRACT = (
    "Training large models is a costly process. "
    "We set out to simplify this process by grounding it in small proxy tasks. "
    "(2) While the tasks are synthetic, they predict scaling. "
    "Our code is available at https://github.com/x/y. "
    "We show that the proxies correlate with perplexity. "
    "We also find that hybrid models scale best."
)


def test_a_gist_is_what_the_authors_contribute_with_what_it_points_back_to() -> None:
    """"What did X propose?" is answered by the sentence saying what the paper contributes, not its opening;
    "simplify this process" needs the process first; a list item or a code link is never a gist."""
    paper = Paper(id="g", title="Proxy Tasks", abstract=GIST_ABSTRACT)
    raw = [r for r, _ in gist(paper)]
    assert raw == ["Training large models is a costly process.", "We set out to simplify this process by grounding it in small proxy tasks."]
    said = [t for _, t in gist(paper)]
    assert said[0].startswith("In “Proxy Tasks”, training large models") and said[1].startswith("The authors set out")
    assert [r for r, _ in gist(paper, most=2)][2:] == ["We show that the proxies correlate with perplexity."]
    assert len(gist(paper, most=3)) == 4  # the process it points back to is no claim of its own
    listed = Paper(id="h", title="T", abstract="(1) We propose a list item. We introduce a method that reads alone.")
    assert [r for r, _ in gist(listed)] == ["We introduce a method that reads alone."]


def test_a_gist_prefers_the_proposal_and_a_sentence_that_reads_alone() -> None:
    paper = Paper(id="p", title="PN", abstract=(
        "Batch statistics fluctuate. This results in instability. "
        "To address this, we propose PN, a scheme that resolves this issue. We show PN is stable."
    ))
    assert [r for r, _ in gist(paper)] == ["To address this, we propose PN, a scheme that resolves this issue."]
    acting = Paper(id="a", title="A", abstract="Fields grow. We achieve this using a trick. We consider a model of growth.")
    assert [r for r, _ in gist(acting)] == ["We consider a model of growth."]  # "achieve this" needs what came before
    assert gist(Paper(id="e", title="E", abstract="See https://github.com/x/y.")) == []


@pytest.mark.parametrize(
    ("sentence", "poses"),
    [
        ("This raises the question of whether uniformly-tight bounds are at all possible.", True),
        ("Thus, a natural open question is whether the NTK is well conditioned in such a setup.", True),
        ("It is therefore natural to ask: how much of the data is superfluous", True),
        ("It remains unclear whether pruning helps.", True),
        ("It remains unclear whether pruning helps, and we show that it does.", False),  # answered in it
        ("The question is whether this holds; our experiments confirm it does.", False),
        ("In this paper, we answer this question in the affirmative.", False),
        ("The question of scale is central to our study.", False),
        # the question as the purpose of a study
        ("In this paper, we perform a systematic study of NLP models to understand why BN has a poor performance.", True),
        ("We study X to understand why it fails, and show that it is due to Y.", False),
        ("To understand how depth helps, we prove a separation theorem.", False),
        ("Our analysis helps to explain why large learning rates lead to flat minima.", False),  # a finding
        ("We develop a theory to explain how transformers perform in-context learning.", False),
        ("We conduct a study to understand why BN fails: the statistics fluctuate.", False),  # the answer follows
    ],
)
def test_a_sentence_that_only_poses_a_question(sentence: str, poses: bool) -> None:
    from assistant.prose import poses_a_question

    assert poses_a_question(sentence) is poses


@pytest.mark.parametrize(
    ("sentence", "hopes"),
    [
        ("We anticipate this thesis will be of interest to anyone interested in dynamical systems.", True),
        ("We hope our work will inspire future research on efficient transformers.", True),
        ("Finally, we hope that this work paves the way for scalable verification.", True),
        ("We expect our method to be useful for practitioners.", True),
        ("We believe these findings inspire the interpretation of transformers as a hierarchy of SVMs.", False),
        ("We expect the error to decrease as the width grows.", False),  # a prediction: a finding
        ("We show the bound is of interest in practice, and hope it inspires others.", False),  # shows something
        ("We hope our analysis sheds light on grokking.", True),
        ("We hope this benchmark will serve as a useful testbed.", True),
        ("As we expect, weight decay encourages low-rank solutions.", False),  # not the authors' own wish
        ("We expect, and empirically confirm, that larger widths encourage lazy training.", False),
    ],
)
def test_a_sentence_that_only_hopes_finds_nothing(sentence: str, hopes: bool) -> None:
    from assistant.prose import only_hopes

    assert only_hopes(sentence) is hopes


def test_what_asks_for_a_name_and_what_gives_one() -> None:
    from assistant.prose import asks_for_a_name, gives_a_name

    assert asks_for_a_name("What's the name of the method?") and asks_for_a_name("What is it called when nets fit noise?")
    assert not asks_for_a_name("What does the paper call for?")
    assert gives_a_name("We refer to this procedure as grokking.") and gives_a_name("This is known as Neural Collapse.")
    for said in ("The functions called by the optimizer are cheap.", "Pruning is widely known as an effective trick.",
                 "This so-called lazy regime is studied."):
        assert not gives_a_name(said), said


@pytest.mark.parametrize(
    ("sentence", "setting"),
    [
        ("We analyze deep ReLU networks trained with mini-batch SGD.", True),
        ("This paper studies kernel ridge regression in high dimensions.", True),
        ("First, we consider the symmetric setting.", True),
        ("We perform a systematic study of NLP transformer models.", True),
        ("We study the source of SGD noise and prove that the only solutions are zero.", False),  # a finding too
        ("We prove that SSMs can estimate such functions.", False),
        ("The study of wide networks is old.", False),  # no one studies anything here
    ],
)
def test_a_sentence_saying_only_what_the_authors_study_sets_out(sentence: str, setting: bool) -> None:
    from assistant.prose import sets_out

    assert sets_out(sentence) is setting


@pytest.mark.parametrize(
    ("sentence", "contributes"),
    [
        ("We propose Power Normalization, a novel scheme.", True),
        ("We therefore develop a new infinite width limit that exhibits representation learning.", True),
        ("Here, we then introduce a sparse variant.", True),
        ("Next, we also present a baseline.", True),
        ("We therefore find that the limit exhibits no representation learning.", False),  # a finding
        ("Therefore, prior work develops such limits.", False),  # not the authors
    ],
)
def test_a_sentence_saying_what_the_authors_contribute_past_adverbs(sentence: str, contributes: bool) -> None:
    """"We therefore develop a new infinite width limit, …" is what that paper contributes; the lift of a question
    asking for contributions went to "Next, we introduce the possibility of using this limit …" instead."""
    from assistant.prose import states_a_contribution

    assert states_a_contribution(sentence) is contributes


def test_a_sentence_pointing_back_past_an_impersonal_frame() -> None:
    """"However, it is known that these architectures are encumbered by issues …" opened an answer before the sentence
    naming the architectures: "It is known that" points nowhere, but what follows it does."""
    from assistant.prose import points_back

    assert points_back("However, it is known that these architectures are encumbered by issues.")
    assert points_back("It has been well known that this limit is exact.")
    assert not points_back("It is known that deep networks generalize.")
