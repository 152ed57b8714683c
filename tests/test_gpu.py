"""GPU paths (skipped without CUDA; run by bench/gpu.sh on a GPU machine): the backbone in bf16, item features as
device buffers, no host sync in Speeder's own parts of a training step, bf16 training, and evaluation under it.
Exact resume on the GPU is tests/test_trainer.py's resume test, which runs on the GPU when there is one."""
import pytest
import torch

from trainer_helpers import tiny_cfg, tiny_setup
from speeder.backbone import backbone_dtype
from speeder.prompt import collate
from speeder.trainer import draw_train_prompts, pick_precision, train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device')


def test_precision_and_dtype():
    assert pick_precision() == ('bf16' if torch.cuda.is_bf16_supported() else 'no')
    assert backbone_dtype(pick_precision()) == (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32) and backbone_dtype('no') == torch.float32


def test_features_move_with_the_model():
    ds, model = tiny_setup(); model.cuda()
    assert all(b.is_cuda for n, b in model.named_buffers() if n.startswith('items.feat_') or n.startswith('items.mask_'))
    tok = model.item_tokens(torch.arange(5, device='cuda'))
    assert tok.is_cuda and tok.shape == (5, model.llm.config.hidden_size)


@pytest.fixture
def production_kernels():
    "The kernels the trainer runs (conftest turns deterministic ones on for GPU runs)."
    was = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)
    yield
    torch.use_deterministic_algorithms(was, warn_only=True)


@pytest.mark.parametrize('extras', [dict(choice_loss=1.0, readout='candidate'), dict(seq_residual=1.0, seq_residual_all_stages=True, teach=1.0)],
                         ids=['pointer', 'best'])   # the pointer head's loss path; best's E_s residual and teacher KL
def test_training_step_has_no_host_sync(production_kernels, extras):
    "Speeder's own parts of a step (item tokens, PPL, the splice, the losses, their backward) never wait for the GPU."
    ds, model = tiny_setup(**extras); model.cuda().train()
    batch = collate(draw_train_prompts(model, ds, tiny_cfg(stages=(3,), epochs=(1,)), 3, 0)[:8]).to('cuda')
    torch.cuda.synchronize()
    with torch.autocast('cuda', dtype=torch.bfloat16):
        torch.cuda.set_sync_debug_mode('error')
        try: emb = model.inputs_embeds(batch)
        finally: torch.cuda.set_sync_debug_mode('default')
        h = model.llm.get_base_model().get_decoder()(inputs_embeds=emb, attention_mask=batch.attention_mask, position_ids=batch.position_ids).last_hidden_state
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode('error')
        try:
            out = model.losses(batch, h)
            out['loss'].backward()
        finally: torch.cuda.set_sync_debug_mode('default')
    assert torch.isfinite(out['loss']).item() and model.ppl.grad is not None


def test_train_and_evaluate_in_bf16(tmp_path):
    ds, model = tiny_setup()
    s = train(model, ds, tiny_cfg(stages=(3,), epochs=(1,), mixed_precision='auto'), tmp_path / 'run', progress=False)
    assert s['precision'] == pick_precision() and model.device.type == 'cuda'
    assert s['best'] is not None and 0 <= s['best']['vhr1'] <= 1
