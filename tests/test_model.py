import json, subprocess, sys
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from speeder.backbone import backbone_path, tiny_llama
from speeder.encoders import Features
from speeder.model import SpeederConfig, SpeederModel
from speeder.prompt import collate


@pytest.fixture(scope='module')
def tok():
    t = AutoTokenizer.from_pretrained(backbone_path()); t.padding_side = 'left'
    return t


def _feats(n=40):
    g = torch.Generator().manual_seed(1)
    return dict(text=Features(torch.randn(n, 12, generator=g), torch.ones(n, dtype=torch.bool), 't'),
                vision=Features(torch.randn(n, 8, generator=g), torch.arange(n) % 4 != 0, 'v'),
                sequential=Features(torch.randn(n, 6, generator=g), torch.ones(n, dtype=torch.bool), 's'))


def _model(tok, backbone=None, mrc=None, **kw):
    cfg = SpeederConfig(backbone=backbone, n_max=8, mrc=dict(d_f=16, heads=2, dropout=0., **(mrc or {})), lora_dropout=0., **kw)
    return SpeederModel(cfg, tiny_llama(vocab_size=len(tok), hidden=32), tok, _feats(), [f'Title {i}' for i in range(40)]).eval()


def _prompts(m):
    return [m.prompts.rec([1, 2, 3], [4, 5, 6, 7, 8], 1), m.prompts.rec([9, 10, 11, 12, 13, 14, 15, 16], [17, 18, 19, 20, 21], 4),
            m.prompts.ppt([1, 2, 3, 4, 5], [0, 2, 4], 1)]


_LOAD = '''
import json, sys, torch
from speeder.model import SpeederModel
from speeder.prompt import collate
m = SpeederModel.load(sys.argv[1])
p = [m.prompts.rec([1, 2, 3], [4, 5, 6, 7, 8], 1), m.prompts.rec([9, 10, 11, 12, 13, 14, 15, 16], [17, 18, 19, 20, 21], 4), m.prompts.ppt([1, 2, 3, 4, 5], [0, 2, 4], 1)]
print(json.dumps(m.score(collate(p, with_answer=False)).tolist()))
'''

@pytest.mark.parametrize('presence', [True, False])   # False: Eq. 18 as written, no gate presence alpha among the weights
def test_save_load_fresh_process(tok, tmp_path, presence):
    bb = tmp_path / 'tiny-backbone'
    torch.manual_seed(0); tiny_llama(vocab_size=len(tok), hidden=32).save_pretrained(bb); tok.save_pretrained(bb)
    m = _model(tok, backbone=str(bb), mrc=dict(presence=presence))
    assert (m.items.gates['sequential'].alpha is None) == (not presence)
    m.llm.get_base_model().load_state_dict(type(m.llm.get_base_model()).from_pretrained(bb).state_dict(), strict=False)
    with torch.no_grad():   # trained-like weights everywhere: LoRA B, MRC, PPL
        for n, p in m.named_parameters():
            if p.requires_grad: p.add_(0.05 * torch.randn_like(p))
    want = m.score(collate(_prompts(m), with_answer=False))
    m.save(tmp_path / 'ckpt')
    assert not list((tmp_path / 'ckpt').rglob('*.bin')) and not list((tmp_path / 'ckpt').rglob('*.pt')), 'no pickle files'
    out = subprocess.run([sys.executable, '-c', _LOAD, str(tmp_path / 'ckpt')], capture_output=True, text=True, check=True)
    got = torch.tensor(json.loads(out.stdout.strip().splitlines()[-1]))
    assert torch.allclose(got, want, atol=1e-6), (got, want)


def test_padding_does_not_change_outputs(tok):
    m = _model(tok)
    with torch.no_grad():
        for n, p in m.llm.named_parameters():
            if 'lora_B' in n: p.add_(0.1 * torch.randn_like(p))
    ps = _prompts(m)
    b = collate(ps, with_answer=False)
    s = m.score(b); texts, parsed = m.generate(b, max_new_tokens=4)
    for k, p in enumerate(ps):
        one = collate([p], with_answer=False)
        assert torch.allclose(m.score(one)[0, :2], s[k, :2], atol=1e-4)
        t1, p1 = m.generate(one, max_new_tokens=4)
        assert t1[0] == texts[k] and p1[0] == parsed[k]


def test_cached_generation_matches_recomputation(tok):
    "generate's KV-cached loop decodes what greedy decoding over the whole, growing sequence decodes."
    m = _model(tok)
    with torch.no_grad():
        for n, p in m.llm.named_parameters():
            if 'lora_B' in n: p.add_(0.1 * torch.randn_like(p))
    b = collate(_prompts(m), with_answer=False); eos = m.tok.eos_token_id
    texts, _ = m.generate(b, max_new_tokens=4)
    dec = m.llm.get_base_model().get_decoder(); emb = dec.get_input_embeddings()
    x, att, pos, out = m.inputs_embeds(b), b.attention_mask, b.position_ids, []
    with torch.no_grad():
        for step in range(4):
            h = dec(inputs_embeds=x, attention_mask=att, position_ids=pos, use_cache=False).last_hidden_state
            nxt = m.answer_logits(b, h).argmax(-1) if step == 0 else m._head(h[:, -1]).argmax(-1)
            if out: nxt = torch.where(torch.stack(out).eq(eos).any(0), torch.full_like(nxt, eos), nxt)
            out.append(nxt)
            x = torch.cat([x, emb(nxt)[:, None]], 1); att = torch.cat([att, torch.ones_like(att[:, :1])], 1); pos = torch.cat([pos, pos[:, -1:] + 1], 1)
    assert m.tok.batch_decode(torch.stack(out, 1), skip_special_tokens=True) == texts


def test_gradients_reach_only_trainable_parts(tok):
    m = _model(tok).train()
    m(collate(_prompts(m), with_answer=True))['loss'].backward()
    grads = {n: p.grad for n, p in m.named_parameters() if p.requires_grad}
    assert grads['ppl'] is not None and grads['ppl'][:8].abs().sum() > 0
    assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items() if n.startswith('items.'))
    assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items() if 'lora_A' in n or 'lora_B' in n)
    assert all(not p.requires_grad for n, p in m.llm.named_parameters() if 'lora_' not in n)


def test_candidate_readout_and_ppl_bounds(tok):
    m = _model(tok, readout='candidate').train()
    out = m(collate(_prompts(m), with_answer=True))
    assert torch.isfinite(out['loss'])
    # the pointer head: at the answer position the candidates' letters carry the per-candidate yes-logits
    b = collate(_prompts(m)[:2], with_answer=False)
    h = m.hidden(b)
    yes_w = m.llm.get_base_model().get_output_embeddings().weight[m.prompts.yes]
    want = h[torch.arange(2)[:, None], b.cand_pos] @ yes_w
    assert torch.allclose(m.choice_logits(b, h), want, atol=1e-5)
    s = m.eval().score(collate(_prompts(m)[:2], with_answer=False))
    assert s.shape == (2, 5) and torch.allclose(s.sum(1), torch.ones(2), atol=1e-5)
    with pytest.raises(ValueError, match='longer than n_max=8'):
        m.score(collate([m.prompts.rec(list(range(10)), [20, 21, 22, 23, 24])], with_answer=False))


def test_cached_item_tokens_match(tok):
    m = _model(tok)
    b = collate(_prompts(m), with_answer=False)
    s = m.score(b)
    m.cache_item_tokens()
    assert m._cache.shape == (40, 32)
    assert torch.allclose(m.score(b), s, atol=1e-6)
    ranked = m.recommend([1, 2, 3], [4, 5, 6, 7, 8])
    assert sorted(i for i, _ in ranked) == [4, 5, 6, 7, 8] and ranked[0][1] >= ranked[-1][1]
    m.train(); assert m._cache is None


def test_candidate_readout_in_mixed_batches(tok):
    "A PPT row in the batch must not switch the rec rows back to the index readout."
    m = _model(tok, readout='candidate')
    ps = _prompts(m)
    mixed = m.score(collate(ps, with_answer=False))
    alone = m.score(collate(ps[:2], with_answer=False))
    assert torch.allclose(mixed[:2], alone, atol=1e-4)
    m.cfg.readout = 'index'
    assert not torch.allclose(m.score(collate(ps[:2], with_answer=False)), alone, atol=1e-3)
