import pytest
import torch

from speeder.data import load_dataset
from speeder.encoders import text_features, vision_features
from speeder.mrc import MODALITIES, MRC, MRCConfig
from conftest import POSTERS, needs_posters


def _grads(module):
    return sum(p.grad.abs().sum().item() for p in module.parameters() if p.grad is not None)


def test_inactive_modality_gets_no_gradient():
    torch.manual_seed(0)
    mrc = MRC(MRCConfig(dims=dict(text=8, vision=6, sequential=4), d_f=16, heads=2, d_llm=10))
    feats = dict(text=torch.randn(5, 8), vision=torch.randn(5, 6), sequential=torch.randn(5, 4))
    mrc(feats, active=('text',)).sum().backward()
    assert _grads(mrc.adapters['text']) > 0 and _grads(mrc.mome[0].experts['text']) > 0
    for m in ('vision', 'sequential'):
        assert _grads(mrc.adapters[m]) == 0 and _grads(mrc.mome[0].experts[m]) == 0 and _grads(mrc.gates[m]) == 0
    mrc.zero_grad(); mrc(feats).sum().backward()
    assert all(_grads(mrc.gates[m]) > 0 for m in ('vision', 'sequential'))   # tanh gates start closed but learn


@pytest.mark.parametrize('gate', ['tanh', 'relu', 'none'])
def test_gate_options(gate):
    "MPO is continuous: a modality switched on behind a closed gate (tanh, relu) leaves every item token as it was; gate='none' (the ablation) jumps."
    torch.manual_seed(0)
    cfg = MRCConfig(dims=dict(text=8, vision=6, sequential=4), d_f=16, heads=2, d_llm=10, gate=gate, dropout=0.)
    mrc = MRC(cfg).eval()
    f = dict(text=torch.randn(3, 8), vision=torch.randn(3, 6), sequential=torch.randn(3, 4))
    stage1, stage2, stage3 = mrc(f, active=('text',)), mrc(f, active=('text', 'vision')), mrc(f)
    assert stage3.shape == (3, 10)
    if gate == 'none':
        assert (stage2 - stage1).abs().max() > 1e-3 and (stage3 - stage2).abs().max() > 1e-3
    else:
        torch.testing.assert_close(stage2, stage1, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(stage3, stage1, rtol=1e-6, atol=1e-6)
        with torch.no_grad(): mrc.gates['vision'].alpha.fill_(0.3)
        assert (mrc(f, active=('text', 'vision')) - stage1).abs().max() > 1e-3


@needs_posters
def test_mrc_on_real_features():
    ds = load_dataset('ml-100k', image_dir=POSTERS, min_item_interactions=150, verbose=False)   # a few hundred items keeps it quick
    ft, fv = text_features(ds), vision_features(ds)
    mrc = MRC(MRCConfig(modalities=('text', 'vision'), dims=dict(text=ft.dim, vision=fv.dim, sequential=64))).set_features(text=ft, vision=fv)
    items = torch.as_tensor(ds.test.candidates[:16])
    tok = mrc.encode_items(items)
    assert tok.shape == (16, 5, 576) and torch.isfinite(tok).all()
    with pytest.raises(ValueError, match='1280-d'):
        MRC(MRCConfig(dims=dict(text=384, vision=512, sequential=64))).set_features(vision=fv)


def test_mpo_stage_starts_are_continuous():
    "At the start of MPO stages 2 and 3 (gates closed) the SpeederModel's item tokens are those of the stage before."
    from speeder.mpo import set_stage
    from trainer_helpers import tiny_setup
    ds, model = tiny_setup()
    model.eval(); items = torch.as_tensor(ds.test.candidates[:8])
    toks = []
    for stage in (1, 2, 3):
        set_stage(model, stage); model.eval(); toks.append(model.item_tokens(items))
    assert model.active == ('text', 'vision', 'sequential')
    torch.testing.assert_close(toks[1], toks[0], rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(toks[2], toks[0], rtol=1e-6, atol=1e-6)
    # after stage 2 the vision gate is open: stage 3 starts from stage 2's tokens (the sequential gate still closed)
    with torch.no_grad(): model.items.gates['vision'].alpha.fill_(0.3)
    set_stage(model, 2); model.eval(); s2 = model.item_tokens(items)
    set_stage(model, 3); model.eval(); s3 = model.item_tokens(items)
    assert (s2 - toks[0]).abs().max() > 1e-3
    torch.testing.assert_close(s3, s2, rtol=1e-6, atol=1e-6)
