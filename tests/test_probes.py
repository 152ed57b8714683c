"PPT's halves as prompts (`PromptBuilder.ppt(refs='letters')`, `PromptBuilder.locate`; bench/letter_probe.py and `TrainConfig.ppt_halves` use them): the comparison alone names the triple by its history letters, the lookup asks one item's letter."
import pytest
from transformers import AutoTokenizer

from speeder.backbone import backbone_path
from speeder.data import ppt_label
from speeder.prompt import PromptBuilder, PromptConfig, collate


@pytest.fixture(scope='module')
def builder():
    return PromptBuilder(AutoTokenizer.from_pretrained(backbone_path()), PromptConfig(noun='movie', wording='compact'))


def test_ppt_by_letters(builder):
    P, history, triple = builder, [5, 9, 13, 2, 7, 11], [4, 1, 2]
    items, letters = P.ppt(history, triple, ppt_label(*triple)), P.ppt(history, triple, ppt_label(*triple), refs='letters')
    assert len(items.slots) == len(history) + 3 and items.slot_items[-3:] == [history[p] for p in triple]
    assert letters.slots == items.slots[:len(history)] and letters.slot_items == history          # no item token left in the triple
    assert [letters.ids[s] for s in items.slots[-3:]] == [P.hist_ids[p] for p in triple]           # each replaced by its history letter
    assert len(letters.ids) == len(items.ids) and letters.answer == items.answer == [P.no] + P.end  # |4-1| > |1-2|: no
    assert P.tok.decode(letters.ids).endswith('Three of them: e, b, c. First gap at most the second? Answer:')


def test_locate(builder):
    P, history = builder, [5, 9, 13, 2, 7, 11]
    p = P.locate(history, 3)
    assert p.slot_items == history + [2] and p.slot_pos == [1, 2, 3, 4, 5, 6, 0]                   # the asked item carries no PPL
    assert p.choices == P.hist_ids[:6] and p.target == 3 and p.answer == [P.hist_ids[3]] + P.end
    b = collate([p, P.locate(history[:4], 1, with_answer=False)], with_answer=False)
    assert b.choices.shape == (2, 6) and (b.choices[1, 4:] == -1).all()                             # fewer letters: padded, not scored
