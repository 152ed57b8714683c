"""The LLM baselines train through the same trainer as Speeder (one stage, no MPO) and are scored by the paper's
generated metrics: a title that names a candidate is a valid answer."""
import pytest
import torch
from transformers import AutoTokenizer

from trainer_helpers import tiny_cfg
from speeder.backbone import backbone_path, tiny_llama
from speeder.baselines import LLaRAModel, TALLRecModel
from speeder.data import load_dataset
from speeder.encoders import Features
from speeder.model import LLMRec, SpeederConfig
from speeder.trainer import train


@pytest.mark.parametrize('cls', [LLaRAModel, TALLRecModel])
def test_baseline_trains_and_reloads(cls, tmp_path):
    ds = load_dataset('ml-100k', n_max=6, verbose=False)
    tok = AutoTokenizer.from_pretrained(backbone_path()); tok.padding_side = 'left'
    feats = dict(sequential=Features(torch.randn(ds.n_items, 8, generator=torch.Generator().manual_seed(0)), torch.ones(ds.n_items, dtype=torch.bool), 's'))
    torch.manual_seed(0)
    model = cls(SpeederConfig(n_max=6, lora_dropout=0., prompt=dict(noun='movie', wording='compact')), tiny_llama(vocab_size=len(tok), hidden=32), tok,
                feats if cls is LLaRAModel else {}, ds.titles, ds.item_ids)
    s = train(model, ds, tiny_cfg(stages=(3,), epochs=(1,), samples_per_epoch=32, eval_samples=8), tmp_path / 'run', progress=False)
    assert s['global_steps'] == 4 and s['best']['select_metric'] == 'vhr1' and 0 <= s['best']['vhr1'] <= s['best']['valid_ratio'] <= 1
    assert 'letter_hr1' not in s['best'] and 'pointer_hr1' not in s['best']                  # a title answer has no one-pass decoder
    back = LLMRec.load(tmp_path / 'run' / 'checkpoints' / 'best', llm=tiny_llama(vocab_size=len(tok), hidden=32), tok=tok)
    assert type(back) is cls
