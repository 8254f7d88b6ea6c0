"""Abstention from the evidence the answer would use: names the question asks about must be in the
abstracts the answer comes from, in some spelling; a detail it asks for must be stated there."""

from __future__ import annotations

import pytest

from assistant.abstain import (
    absent_names,
    abstention_reason,
    missing_details,
    unstated_parts,
)
from assistant.api import Assistant
from assistant.text import stem

SSM = (
    "We approach designing a state-space model for deep learning through its transfer function and report "
    "a 35% training speed improvement over S4 layers on the Long Range Arena benchmark."
)


@pytest.mark.parametrize(
    ("question", "text", "absent"),
    [
        ("What perplexity does the transfer-function SSM reach on WikiText-103?", SSM, ["WikiText-103"]),
        ("How does FlashAttention reduce memory traffic?", "Attention-free state-space models.", ["FlashAttention"]),
        ("Is there a rate in KL divergence?", "A rate in Wasserstein distance.", ["KL"]),
        # Spelled otherwise: a long form, camel-case parts, a modifier suffix; notation is not a name.
        ("Do linear encoding models and CKA recover it?", "linear encoding and centered kernel alignment", []),
        ("How much does PowerNorm gain over LayerNorm?", "PowerNorm beats layer normalization (LN).", []),
        ("Why do XOR-like clusters overfit?", "two-layer networks on XOR cluster data", []),
        ("What does an l1 loss buy the method?", "robust recovery with an absolute loss", []),
        ("Does the S4 layer help?", SSM, []),
        # an acronym's plural, and an acronym inside a hyphenated word, spelled out (each abstained)
        ("How can CNNs be compressed before training?", "a priori compression of convolutional neural networks", []),
        ("Do VQCs leak gradients?", "expressive variational quantum circuits in federated learning", []),
        ("Does it use an ODE, unlike SDE-based models?", "based on stochastic differential equations, it solves an ODE", []),
        ("How do GNNs over-squash?", "convolutional neural networks", ["GNNs"]),
        ("Is it SDE-based?", "based on ordinary differential equations", ["SDE-based"]),
        # the field's generic acronyms said in its other words (abstain.FIELD_TERMS); not in any words
        ("Which design swaps each MLP sublayer for experts?", "replacing the feed-forward network with experts", []),
        ("Do LLMs and ViTs memorize?", "large-scale language models and vision transformers memorize", []),
        ("Which design swaps each MLP sublayer for experts?", "replacing attention with experts", ["MLP"]),
        ("Do RNNs forget?", "convolutional networks forget", ["RNNs"]),
        # ... but any neural network is no MLP: a convolutional network's accuracy does not answer the MLP's
        ("What accuracy does the MLP reach on CIFAR-10?", "Deep convolutional neural networks reach 93% on CIFAR-10", ["MLP"]),
        ("Are bounds for sparse ConvNets non-vacuous?", "bounds for sparse convolutional neural networks", []),
        # a numbered name in another spelling, and not
        ("4-bit PTQ of ResNet-50: how much accuracy is lost?", "On ResNet50, PTQ loses under 1% accuracy", []),
        ("How does ResNet-18 fare?", "On ResNet50 it loses 1%", ["ResNet-18"]),
        ("How does T5 perform on GLUE?", "on the first 5 GLUE tasks", ["T5"]),  # a word's end is no name's start
    ],
)
def test_absent_names(question: str, text: str, absent: list[str]) -> None:
    assert absent_names(question, [text]) == absent


def test_names_are_looked_for_in_every_source_given() -> None:
    question = "Which papers compare FlashAttention with Hyena?"
    assert absent_names(question, ["FlashAttention is fast.", "Hyena is attention-free."]) == []
    assert absent_names(question, ["FlashAttention is fast."]) == ["Hyena"]


def test_a_percentage_is_stated_by_a_percent_sign() -> None:
    question = "By what percentage could the training set be cut?"
    assert missing_details(question, "It can be reduced by more than 99% without loss.") == []
    assert missing_details(question, "It can be reduced a lot without loss.") == ["percentag", "any number"]
    # a share in words: "prune half of the CIFAR10 training set" says what percentage can be pruned
    assert missing_details("What percentage of the training set can be pruned?", "We can prune half of the training set.") == []
    assert missing_details("What accuracy does it reach?", "We train in half-precision for speed.") == ["accuraci"]


def test_a_metric_stated_by_its_short_name_or_as_a_percentage_gain_is_stated() -> None:
    """"What BLEU score …?" against "0.4 BLEU", "What perplexity …?" against "5.6 PPL", "What accuracy improvement
    …?" against "outperforms ViT by 1.5%" each abstained; a percentage of anything else states no accuracy."""
    pn = "PN outperforms LN by 0.4/0.6 BLEU on IWSLT14/WMT14 and 5.6/3.0 PPL on PTB/WikiText-103."
    assert missing_details("What BLEU score improvement does PN give?", pn) == []
    assert missing_details("What perplexity improvement does PN get?", pn) == []
    assert missing_details("What accuracy improvement does it get over ViT?", "It outperforms ViT by 1.5%.") == []
    assert missing_details("What accuracy does it reach?", "It cuts memory use by 50%.") == ["accuraci"]
    assert missing_details("What FID score does it reach?", pn) == ["fid"]


@pytest.mark.parametrize(
    ("abstract", "states_a_number"),
    [
        ("We evaluate on Camelyon17 and WikiText-103 with a ResNet-50.", False),  # numerals inside names count nothing
        ("Training runs in three episodes.", True),
        ("A 3-layer network suffices.", True),
        ("It needs 10^5 samples.", True),
        ("Thousands of runs were made.", True),
    ],
)
def test_how_many_needs_a_number_that_is_not_part_of_a_name(abstract: str, states_a_number: bool) -> None:
    missing = missing_details("How many episodes does the method run on Camelyon17?", abstract)
    assert ("any number" not in missing) is states_a_number


def test_how_many_needs_the_number_beside_what_it_counts() -> None:
    question = "How many discovery episodes does the method run?"
    assert missing_details(question, "It helps six other methods. Discovery episodes find features.") == ["a number of discoveri"]
    assert missing_details(question, "It helps other methods. It runs two discovery episodes.") == []
    # "times" is what "how many times easier" counts
    assert missing_details("By intrinsic dimension, how many times easier is A than B?", "A is 100 times easier than B.") == []
    # a network's width by any of its names
    assert missing_details("How many hidden units per layer does it need?", "The number of neurons is 10 per layer.") == []
    assert missing_details("How many hidden units per layer does it need?", "It needs 10 layers.") == ["a number of hidden"]
    assert missing_details("How many hidden layers does it need?", "A width of 512 suffices.") == ["a number of layer"]
    # the modifier or its noun: "six OoD methods" counts the out-of-distribution methods; "methods" itself is counted
    ood = "Bonsai representations help six OoD methods achieve top performance."
    assert missing_details("How many out-of-distribution methods reach top performance?", ood) == []
    assert missing_details("How many methods reach top performance on ColoredMNIST?", ood) == []
    # a longer word is another thing: "parametrized" counts no parameters
    prose = "Previous works follow two approaches: learning operators from parametrized functions."
    assert missing_details("How many parameters does PROSE use?", prose) == ["a number of paramet"]
    assert missing_details("How many bits does it use?", "It uses 4-bit weights.") == []  # a hyphenated word's part
    assert missing_details("How many dimensions does it need?", "A 750-dimensional subspace suffices.") == []
    # "how many training examples" counts examples: a number beside "training" is none of them
    assert missing_details("How many training examples are needed?", "Training takes 3 days.") == ["a number of exampl"]
    # "how few-shot …" asks for no number
    assert missing_details("Explain how few-shot prompting helps language models reason.", "Prompting helps.") == []


def test_a_question_about_a_paper_naming_what_it_never_mentions_abstains(assistant: Assistant) -> None:
    near_miss = assistant.ask("What perplexity does the transfer-function state-space model reach on WikiText-103?")
    assert near_miss.abstained and near_miss.citations == []
    answered = assistant.ask("What training speed-up does the transfer-function state-space model report over S4?")
    assert not answered.abstained and answered.citations


def test_a_venue_or_year_in_the_question_is_looked_for_in_the_papers_records_not_their_abstracts() -> None:
    """"What did the NeurIPS 2020 paper on diffusion propose?": NeurIPS names where it appeared (never in an
    abstract), and 2020 is in its record; a year no record gives is still absent."""
    text = ["Denoising Diffusion Probabilistic Models We present high quality image synthesis results."]
    question = "What did the NeurIPS 2020 paper on diffusion propose?"
    assert absent_names(question, text, ["Advances in Neural Information Processing Systems 33 2020"]) == []
    assert absent_names(question, text, []) == ["2020"]
    assert absent_names("What did the Nature paper on diffusion propose?", text, ["NeurIPS 2020"]) == ["Nature"]


def test_a_limitation_is_asked_for_and_stated_by_its_word() -> None:
    """Abstracts seldom state their limits; when one does not, an answer quoting the method is no answer."""
    question = "What is the main limitation of PowerNorm?"
    assert missing_details(question, "We propose Power Normalization, which resolves this issue.") == ["limit"]
    assert missing_details(question, "Its main limitation is the cost of the running statistics.") == []
    assert missing_details("What drawbacks does it have?", "It is limited to small batches.") == []  # one kind of fact
    assert missing_details("What drawbacks does it have?", "It works on small batches.") == ["limit"]
    assert missing_details("Which method overcomes the limitations of batch norm?", "We propose PN.") == []  # asks for a method
    assert missing_details("Which method avoids the drawbacks of batch norm?", "We propose PN.") == []
    # a mathematical limit is no shortcoming: "What are the limitations of the NTK regime?" was answered from
    # "in the infinite-width limit it converges to an explicit limiting kernel"
    ntk = "In the infinite-width limit it converges to an explicit limiting kernel. Both limits are studied."
    assert missing_details("What are the limitations of the NTK regime?", ntk) == ["limit"]
    assert missing_details("What are the limitations of the NTK regime?", ntk + " Its width limits its use.") == []
    # nor is a cost the network minimises ("costly" shares its stem); a costly one is
    cost = ntk + " The NTK regime follows the kernel gradient of the functional cost."
    assert missing_details("What are the limitations of the NTK regime?", cost) == ["limit"]
    assert missing_details("What are the limitations of the NTK regime?", cost + " The NTK regime is costly.") == []
    # "What about its limitations?", a follow-up, asks for them too: it was answered "strong" from the NTK's abstract
    assert missing_details("What about its limitations?", ntk) == ["limit"]
    assert missing_details("What about its limitations?", ntk + " Its width limits its use.") == []
    for bare in ("Any limitations?", "And its drawbacks?", "Limitations?"):  # a follow-up of the cue alone
        assert missing_details(bare, ntk) == ["limit"], bare
    assert missing_details("Limitations of the NTK regime", ntk) == []  # a topic to search, no question


def test_which_datasets_needs_a_dataset_named() -> None:
    question = "Which benchmark datasets were used in the experiments?"
    assert missing_details(question, "Our results on various datasets demonstrate that our algorithms, especially the one based on KL loss, win.") == ["dataset"]
    assert missing_details(question, "It runs on 45 of these datasets.") == ["dataset"]  # counted, not named
    assert missing_details(question, "We evaluate on the CIFAR-10 and ImageNet datasets.") == []
    assert missing_details(question, "It holds for a range of datasets (MNIST, CIFAR10, and random data).") == []
    assert missing_details(question, "On four learning curve benchmarks (LCBench, NAS-Bench-201) it wins.") == []
    # named where results are reported "on" them, without the word "dataset"; a model or theory "on" is no data
    assert missing_details(question, "PN outperforms LN by 0.4/0.6 BLEU on IWSLT14/WMT14 and 3.0 PPL on PTB/WikiText-103.") == []
    assert missing_details(question, "We build on BERT and NTK theory, and our results improve.") == ["dataset"]
    # the name the question asks about is not a dataset: "… public benchmark datasets demonstrate that Todyformer …"
    todyformer = "Evaluations on public benchmark datasets demonstrate that Todyformer outperforms the state of the art."
    assert missing_details("What datasets were used to evaluate Todyformer?", todyformer) == ["dataset"]
    assert missing_details("What datasets were used to evaluate it?", todyformer) == []
    assert missing_details("What datasets were used to evaluate Todyformer?", todyformer + " It wins on the Reddit and MOOC datasets.") == []


def test_which_x_y_needs_an_abstract_that_speaks_of_x_or_y() -> None:
    """"Which activation functions does the sublinear-width NTK bound assume?" was answered with the bound, from an
    abstract that never speaks of activations or functions: it names none."""
    question = "Which activation functions does the NTK eigenvalue bound assume?"
    bound = "We prove a lower bound on the smallest NTK eigenvalue of deep networks."
    assert missing_details(question, bound) == ["activation functions"]
    assert missing_details(question, bound + " It holds for ReLU activations.") == []
    assert missing_details(question, bound + " Any Lipschitz function works.") == []
    # one word is often answered by a name without it; a kind the detail cues read is theirs
    assert missing_details("What architecture does the bound assume?", bound) == []
    assert missing_details("What base architecture does the bound assume?", bound) == []  # sorted, not named
    assert missing_details("Which classic algorithm does the bound assume?", bound) == []
    assert missing_details("Which benchmark datasets were used?", "PN wins by 0.4 BLEU on IWSLT14/WMT14.") == []


def test_an_order_of_growth_states_how_many() -> None:
    """"How many neurons does the NTK eigenvalue bound need?": "… as little as $\\Omega(\\sqrt{N})$" answers it; the
    sentence counted as stating no number was followed, and then preceded, by background naming "two-layer"."""
    question = "How many neurons does the NTK eigenvalue bound need?"
    for stated in ("the number of neurons is as little as $\\Omega(\\sqrt{N})$.", "neurons: Ω(√(N)) suffice",
                   "with $\\mathcal{O}(d)$ neurons", "we need Theta (d log d) neurons"):
        assert missing_details(question, stated) == [], stated
    for unstated in ("Our BOOK(x) needs neurons.", "An Ontology (of neurons)."):
        assert missing_details(question, unstated) == ["any number"], unstated


def test_an_answer_to_which_datasets_brings_the_sentence_naming_them(assistant: object) -> None:
    """"Which datasets does PowerNorm use?" abstained; then it answered without the sentence naming them; then
    that sentence, the answer, read last, after four sentences of the paper's story."""
    answer = assistant.ask("Which datasets does PowerNorm use?")  # type: ignore[attr-defined]
    assert not answer.abstained and "IWSLT14/WMT14" in answer.text.split("[1]")[0]


def test_a_question_in_two_parts_is_answered_when_one_part_is() -> None:
    """"How many bits …? Can that be estimated …?": the abstract states no number but answers the second
    part, so the answer is given, and says which part it leaves unanswered; when neither part is answered,
    or the question asks once, it abstains as before."""
    abstract = "Inductive bias Our approach models the loss distribution of random hypotheses to estimate inductive bias."
    compound = "How many bits of prior knowledge does a task need? Can that be estimated from random models' losses?"
    assert unstated_parts(compound, abstract) == [("How many bits of prior knowledge does a task need?", ["any number"])]
    assert abstention_reason(compound, 0.9, [abstract], 0.3) is None
    assert abstention_reason("How many bits of prior knowledge does a task need?", 0.9, [abstract], 0.3)
    both = "How many bits does a task need? What accuracy does the estimate reach?"
    assert len(unstated_parts(both, abstract)) == 2 and abstention_reason(both, 0.9, [abstract], 0.3)
    # a statement then one question is one question: "For a talk … I want X. How many …?"
    assert abstention_reason("I study inductive bias. How many bits does a task need?", 0.9, [abstract], 0.3)


def test_the_answer_to_a_question_in_two_parts_says_which_part_it_leaves_out(assistant: Assistant) -> None:
    answer = assistant.ask(
        "How many bits of inductive bias does an image task require? Can it be computed from the loss distribution of "
        "random hypotheses?"
    )
    assert not answer.abstained and answer.citations and answer.support == "partial"
    assert answer.notice and "How many bits of inductive bias does an image task require?" in answer.notice
    whole = assistant.ask("Can inductive bias be estimated by sampling random models and looking at their losses?")
    assert whole.notice is None


def test_each_part_of_a_question_in_several_parts_gets_a_sentence(assistant: Assistant) -> None:
    """The best sentences for the whole question all answered its first part; the second went unanswered
    without a notice, even from another paper than the first part's."""
    same = assistant.ask("What is Sign-RIP? What does small initialization do for SubGM?")
    assert "Sign-RIP" in same.text and "small initialization" in same.text and same.notice is None
    two = assistant.ask("What is PowerNorm? How does NUPES quantize weights?")
    titles = [c.title for c in two.citations]
    assert any(t.startswith("PowerNorm") for t in titles) and any(t.startswith("NUPES") for t in titles)
    # joined by "and" they are two questions too; and a part whose paper the whole question's search missed gets
    # its own search ("What is grokking?" went unanswered beside SaRA's paper)
    for asked in ("What is grokking, and how does SaRA fine-tune diffusion models?",
                  "What is grokking? How does SaRA fine-tune diffusion models?"):
        titles = [c.title for c in assistant.ask(asked).citations]
        assert any("Grokking" in t for t in titles) and any(t.startswith("SaRA") for t in titles), (asked, titles)


def test_two_questions_joined_by_and_are_two_parts_and_nothing_else_is() -> None:
    from assistant.abstain import asking_parts

    assert asking_parts("What is grokking and what does PowerNorm propose?") == [
        "What is grokking?", "what does PowerNorm propose?"
    ]
    # ... and when the second names its thing between the wh-word and the verb
    assert asking_parts("What is PowerNorm, and what GPU does it train on?") == ["What is PowerNorm?", "what GPU does it train on?"]
    assert asking_parts("What does NUPES do and how many bits per weight does it use?")[1] == "how many bits per weight does it use?"
    for one in ("What GPU hardware and how many GPU hours were used to train the models?",
                "Which papers study pruning, and what does each propose?",
                "Why are hypernetworks slow to train, and is there a simple fix?"):
        assert asking_parts(one) == [one]


def test_a_part_naming_what_no_abstract_mentions_leaves_the_other_part_answered() -> None:
    """"What is PowerNorm, and what GPU does it train on?" abstained whole: the GPU no abstract names counted
    against the question. Now that part is said to go unanswered and the other is answered; a question asking
    once about something absent still abstains, and so does one whose every part names something absent."""
    source = "PowerNorm: Rethinking Batch Normalization. We propose Power Normalization (PN) for transformers."
    two = "What is PowerNorm, and what GPU does it train on?"
    assert unstated_parts(two, source, [source]) == [("what GPU does it train on?", ["gpu"])]  # a detail and a name: once
    assert abstention_reason(two, 0.9, [source], 0.3) is None
    named = "What is PowerNorm, and what does SmoothQuant add?"  # a name, no detail asked for
    assert unstated_parts(named, source, [source]) == [("what does SmoothQuant add?", ["SmoothQuant"])]
    assert unstated_parts(named, source) == []  # no sources given: names are not looked for (as before)
    assert abstention_reason("What GPU does PowerNorm train on?", 0.9, [source], 0.3)
    assert abstention_reason("What is PowerNorm on TPUs, and what GPU does it train on?", 0.9, [source], 0.3)


def test_the_answer_says_which_part_naming_something_absent_it_leaves_out(assistant: Assistant) -> None:
    answer = assistant.ask("What is PowerNorm, and what GPU does it train on?")
    assert not answer.abstained and answer.citations[0].title.startswith("PowerNorm") and answer.support == "partial"
    assert answer.notice and "what GPU does it train on?" in answer.notice


def test_a_follow_up_is_checked_for_the_details_it_asks_not_those_of_the_question_before(assistant: Assistant) -> None:
    """A follow-up is searched with the question before it ("What GPUs … ? And what does it propose?"): the
    GPUs no abstract states were asked before, and this question is answered, with no notice about them."""
    first = "What GPUs did the PowerNorm experiments use?"
    before = assistant.ask(first)
    assert before.abstained
    after = assistant.ask("And what does it propose?", history=[(first, before.text)])
    assert not after.abstained and after.notice is None
    assert after.citations and after.citations[0].title.startswith("PowerNorm")


def test_a_part_answered_beside_one_that_is_not_gets_its_sentence_and_a_quoted_titles_mark_ends_no_part(
    assistant: Assistant,
) -> None:
    """"What is PowerNorm? How many bits …?": the sentences ranked for the whole question all came from the
    paper of the part the abstracts leave unanswered, and PowerNorm got none."""
    from assistant.abstain import asking_parts

    answer = assistant.ask("What is PowerNorm? How many bits per weight does NUPES quantize to?")
    assert any(c.title.startswith("PowerNorm") for c in answer.citations)
    title = "How many neurons does “How Powerful are Shallow Neural Networks with Bandlimited Random Weights?” use?"
    assert asking_parts(title) == [title]


def test_what_is_x_abstains_when_no_abstract_it_would_quote_names_x(assistant: object) -> None:
    """"What is contrastive learning?" was answered from the active-learning paper, which never names it."""
    for unnamed in ("What is contrastive learning?", "What is differential privacy?",
                    "What is reinforcement learning from human feedback?"):
        answer = assistant.ask(unnamed)  # type: ignore[attr-defined]
        assert answer.abstained, (unnamed, answer.text)
    for named in ("What is grokking?", "What is PowerNorm?", "What is neural collapse?", "What is a hypernetwork?",
                  "What is the Self-Tuning Networks paper about?",  # a paper's name, not "paper about"
                  "What are state space models?"):  # named "a state-space model" by the closest abstract
        assert not assistant.ask(named).abstained, named  # type: ignore[attr-defined]


def test_how_does_x_work_abstains_when_no_abstract_it_would_quote_names_x(assistant: Assistant) -> None:
    """"How does post-training quantization work?", asked of a library without such a paper, was answered from one
    on quantum circuits ("support: partial"): asked how X works, or to explain X, the answer needs an abstract
    naming X, as "What is X?" does."""
    for unnamed in ("How does beam search work?", "Explain retrieval-augmented generation.",
                    "Tell me about contrastive learning"):
        answer = assistant.ask(unnamed)
        assert answer.abstained, (unnamed, answer.text)
    for named in ("How does post-training quantization work?", "How does Weight Compander work?",
                  "Explain grokking.", "Tell me about neural collapse", "Explain the NTK like I'm five"):
        assert not assistant.ask(named).abstained, named


def test_only_a_term_is_looked_for_in_the_abstracts() -> None:
    from assistant.answer import defined_term

    for asked in ("What is the main idea?", "What are the advantages?", "What is the role of the discrete bottleneck?",
                  "What is the proposed method?", "What is PowerNorm? How does NUPES quantize weights?"):
        assert defined_term(asked) is None, asked
    assert defined_term("What are neural tangent kernels?") == "neural tangent kernels"
    assert defined_term("What is the Self-Tuning Networks paper about?") == "Self-Tuning Networks"
    assert defined_term("How does post-training quantization work?") == "post-training quantization"
    assert defined_term("Explain how diffusion models work.") == "diffusion models"
    assert defined_term("Tell me about the grokking paper") == "grokking"
    # how it is to be told is no part of it: "Explain the NTK like I'm five" abstained ("do not mention NTK like I'm five")
    assert defined_term("Explain the NTK like I'm five") == "NTK"
    assert defined_term("Explain grokking in simple terms, please.") == "grokking"
    assert defined_term("How does dropout in transformers work?") == "dropout"
    for asked in ("How does it work?", "How does the proposed method work?", "Explain why SGD generalizes.",
                  "How do the two papers work together?", "Tell me about the latter.", "Tell me more about paper [2]",
                  "Explain them."):
        assert defined_term(asked) is None, asked


def test_who_wrote_it_after_a_refused_question_is_about_the_paper_before(assistant: object) -> None:
    """"What is the Self-Tuning Networks paper about?", "What GPUs did it use?" (refused), "Who wrote it?": the
    last answer cited nothing, and the question was taken for one with no conversation before it."""
    first = "What is the Self-Tuning Networks paper about?"
    answered = assistant.ask(first)  # type: ignore[attr-defined]
    refused = assistant.ask("What GPUs did it use?", history=[(first, answered.text)])  # type: ignore[attr-defined]
    assert refused.abstained
    who = assistant.ask("Who wrote it?", history=[(first, answered.text), ("What GPUs did it use?", refused.text)])  # type: ignore[attr-defined]
    assert "Self-Tuning Networks" in who.text and "follow-up" not in who.text


def test_a_year_no_record_can_confirm_is_not_an_absent_name(assistant: Assistant) -> None:
    """The seeds hold no years: "What did the 2018 NTK paper show?" abstained ("do not mention 2018")."""
    from assistant.abstain import absent_names

    text = "Neural Tangent Kernel: Convergence and Generalization. We show that the NTK converges."
    asked = "What did the 2018 NTK paper show?"
    assert absent_names(asked, [text], [""], undated=True) == []
    assert absent_names(asked, [text], ["NeurIPS 2020"]) == ["2018"]  # a year on record, another one asked
    answer = assistant.ask(asked)
    assert not answer.abstained and "Tangent Kernel" in answer.citations[0].title
    assert answer.notice == "No year is on record for the cited paper: the question's 2018 was not checked."


def test_an_author_no_record_can_confirm_is_not_an_absent_name(assistant: Assistant) -> None:
    """The seeds hold no authors: "According to Jacot's NTK paper, …" abstained ("do not mention Jacot"). An author
    on record is checked: the drawn papers' author lists count as their words, and another name stays absent."""
    from assistant.abstain import absent_names

    text = "Neural Tangent Kernel. We show that the NTK converges."
    asked = "According to Jacot's NTK paper, what happens to the kernel?"
    assert absent_names(asked, [text], unauthored=True) == []
    assert absent_names(asked, [text], ["Arthur Jacot Franck Gabriel"]) == []
    assert absent_names(asked, [text], ["Greg Yang"]) == ["Jacot"]
    assert absent_names("Does Jacot show it?", [text], unauthored=True) == ["Jacot"]  # no paper of his named
    # a paper cited as readers cite one: "by Jacot et al.", "Jacot and Gabriel's paper" (both names)
    assert absent_names("What does the NTK paper by Jacot et al. show?", [text], unauthored=True) == []
    assert absent_names("What does Jacot and Gabriel's NTK paper show?", [text], unauthored=True) == []
    assert absent_names("What does the NTK paper by Jacot et al. show?", [text], ["Greg Yang"]) == ["Jacot"]
    answer = assistant.ask(asked)
    assert not answer.abstained and "Tangent Kernel" in answer.citations[0].title
    assert answer.notice == "No authors are on record for the cited paper: the question's Jacot was not checked."
    from assistant.answer import unchecked_owners
    from assistant.types import Paper

    cites = Paper(id="c", title="Language models", abstract="Following Bengio (2003), we train a neural language model.")
    assert "Bengio was not checked" in unchecked_owners("What do Bengio's results say?", [cites])  # a cited person
    # a possessive the cited abstract itself says is a method or a term, not an owner to check
    for asked in ("What fraction of ViT's trainable parameters does the best WideNet model use?",
                  "Which prior on the last-layer scale yields Student's t processes?"):
        answer = assistant.ask(asked)
        assert answer.citations and "not checked" not in (answer.notice or ""), (asked, answer.notice)


@pytest.mark.parametrize(
    ("question", "cue"),
    [
        ("What learning rate did PowerNorm use?", "learning-rate"), ("What batch size does it train with?", "batch-size"),
        ("What learning rates did PowerNorm use?", "learning-rate"), ("What batch sizes were used?", "batch-size"),
        ("What step size does SGD take?", "learning-rate"),
    ],
)
def test_a_detail_asked_for_in_two_words_is_a_detail(question: str, cue: str) -> None:
    from assistant.abstain import asked_details

    assert asked_details(question) == {stem(cue)}
    assert missing_details(question, "We train transformers with a new normalization.") == [stem(cue)]
    assert missing_details(question, f"We train with a {cue.replace('-', ' ')} of 0.1.") == []


def test_a_shortcoming_said_of_an_acronym_the_abstract_defines_answers_a_limitations_question() -> None:
    """"What are the limitations of batch normalization in transformers?" abstained: the abstract says "BN leads to
    significant performance degradation", having defined BN; PowerNorm's own limitation is still not stated."""
    abstract = ("This is different than batch normalization (BN), which is widely adopted. A naive use of BN leads to "
                "significant performance degradation for NLP tasks. We propose Power Normalization (PN).")
    assert missing_details("What are the limitations of batch normalization in transformers?", abstract) == []
    assert missing_details("What are the limitations of batch normalization in transformers?", abstract.replace("(BN)", "")) == ["limit"]
    assert missing_details("What is the main limitation of PowerNorm?", abstract) == ["limit"]


def test_shortcomings_stated_in_other_words_answer_a_limitations_question() -> None:
    """"What are the shortcomings of existing hypernetworks?" abstained: the abstract says they are "challenging
    to train" and "converge far more slowly", never "limitation"."""
    abstract = ("Hypernetworks are powerful models. However, existing hypernetworks are often challenging to train and "
                "converge far more slowly than non-hypernetwork models. We propose a fix.")
    assert missing_details("What are the shortcomings of existing hypernetworks?", abstract) == []
    # what the abstract says is wrong with another thing is no limitation of the paper's own method
    powernorm = ("Naively using batch normalization in NLP leads to significant performance degradation. We propose "
                 "PowerNorm, which outperforms layer normalization.")
    assert missing_details("What is the main limitation of PowerNorm?", powernorm) == [stem("limitation")]


def test_a_negative_result_answers_a_limitations_question() -> None:
    """"What are the limitations of Random Search for sparse architecture search?" abstained beside "… sparse networks
    found by Random Search neither perform better nor converge more efficiently than their random counterparts"."""
    abstract = ("We propose Random Search as a baseline for sparse architecture search. We observe that networks found by "
                "Random Search neither perform better nor converge more efficiently than random ones.")
    assert missing_details("What are the limitations of Random Search?", abstract) == []
    for result in ("Pruned networks found by Random Search do not outperform dense ones.",
                   "Random Search is no better than chance."):
        assert missing_details("What are the limitations of Random Search?", f"We study Random Search. {result}") == []
    # a strength is no shortcoming, nor is a problem undone
    for strength in ("Random Search performs better than every baseline.", "Random Search does not overfit."):
        assert missing_details("What are the limitations of Random Search?", f"We study Random Search. {strength}") == [
            stem("limitation")
        ]


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("What are the shortcomings of existing hypernetworks?", "Magnitude Invariant Parametrizations Improve Hypernetwork Learning"),
        ("What are the limitations of existing learning curve extrapolation methods?", "Efficient Bayesian Learning Curve Extrapolation"),
    ],
)
def test_a_limitations_question_the_abstract_answers_in_other_words_is_answered(
    assistant: Assistant, question: str, title: str
) -> None:
    answer = assistant.ask(question)
    assert not answer.abstained and answer.citations[0].title.startswith(title)
    assert assistant.ask("What is the main limitation of PowerNorm?").abstained  # not stated: still abstains


@pytest.mark.parametrize(
    "question",
    ["What are the limitations of MemControl?", "What are the limitations of MgNO?",
     "What is the biggest weakness of Weight Compander?"],
)
def test_a_limitations_question_is_not_answered_by_strengths_or_the_title_run_into_a_sentence(
    assistant: Assistant, question: str
) -> None:
    """Each was answered: "reduced susceptibility to overfitting" read as a problem, "weight" alone as the
    subject, and MemControl's title run into the abstract's first sentence ("… sensitive domains")."""
    assert assistant.ask(question).abstained


def test_a_year_a_record_contradicts_is_still_absent() -> None:
    from assistant.abstain import absent_names

    asked = "Compare the 2015 NTK paper with kernel ridge regression."
    # one of the papers has a year on record (2018): the question's 2015 is checked against it, and absent
    assert absent_names(asked, ["Neural Tangent Kernel. The NTK …", "Kernel ridge regression …"], ["NeurIPS 2018", ""]) == ["2015"]


@pytest.mark.parametrize(("ntk_year", "absent"), [(2018, True), (None, False)])
def test_an_undated_paper_beside_a_dated_one_does_not_let_any_year_through(ntk_year: int | None, absent: bool) -> None:
    """One undated paper among those an answer draws on switched the year check off for all of them: "the 2015 NTK
    paper" was answered from the NTK paper on record as 2018."""
    import numpy as np

    from assistant.answer import Candidate, ExtractiveComposer
    from assistant.types import Paper

    ntk = Paper(id="n", title="Neural Tangent Kernel", abstract="We show that the NTK converges.", year=ntk_year)
    other = Paper(id="o", title="Kernel ridge regression", abstract="Kernel ridge regression is a method.")
    best = Candidate(paper=ntk, rank=0, position=0, text=ntk.abstract, vector=np.zeros(2), score=0.9, rank_score=0.9)
    composer = ExtractiveComposer.__new__(ExtractiveComposer)
    reason = composer.why_not("Compare the 2015 NTK paper with kernel ridge regression.", [best], [ntk, other], 0.3)
    assert (reason is not None and "2015" in reason) is absent


def test_what_states_the_figure_a_question_asks_for() -> None:
    from assistant.abstain import states_the_figure

    share = "What percentage of model parameters does MemControl fine-tune?"
    assert states_the_figure(share, "It fine-tunes as few as 0.019% of model parameters.") is True
    assert states_the_figure(share, "To identify these subsets, we introduce a bi-level framework.") is False
    assert states_the_figure("What fraction of the training set can be pruned?", "We prune half of the data.") is True
    accuracy = "What training accuracy does the network reach after one step?"
    assert states_the_figure(accuracy, "The network achieves 100% training accuracy.") is True
    assert states_the_figure(accuracy, "Both phenomena occur in two-layer ReLU networks.") is False
    assert states_the_figure("How much memory does SaRA save?", "It saves memory.") is True
    assert states_the_figure("Why does batch normalization fail in NLP?", "Statistics fluctuate.") is None
    # a comparison's figure: a number beside the comparative, or a word saying the same ("speedup")
    faster = "How much faster than MCMC is the learned model?"
    assert states_the_figure(faster, "It is more accurate than MCMC while being over 10 000 times faster.") is True
    assert states_the_figure(faster, "It gives a 3x speedup over sampling.") is True
    assert states_the_figure(faster, "We train it on 10 million curves drawn with MCMC.") is False
    assert states_the_figure(faster, "It is faster than MCMC.") is False  # no figure


def test_which_comparison_a_question_asks_the_figure_of() -> None:
    from assistant.abstain import compared_figure

    assert "speedup" in compared_figure("How much faster is it than MCMC?")
    assert compared_figure("How much quicker is training?") == compared_figure("How much faster is training?")[:3]
    assert compared_figure("How far lower is the error?") == ("lower",)
    assert "improv" in compared_figure("How much better is X than Y?")
    # "how many more parameters" counts parameters; "how many layers" and "how much memory" compare nothing
    assert compared_figure("How many more parameters does it need?") == ()
    assert compared_figure("How many layers are pruned?") == compared_figure("How much memory does SaRA save?") == ()
