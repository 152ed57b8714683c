"""Any Hugging Face causal LM as the backbone: tiny randomly initialised LLaMA-, Qwen2- and Gemma-style models,
built here (no download) with the bundled SmolLM2 tokenizer, train a few MPO steps, save, load and generate; a
model whose projections have other names, or a tokenizer whose index letters are not single tokens, fails with an
error that names the fix."""
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (AutoTokenizer, GemmaConfig, GemmaForCausalLM, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM,
                          PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM)

from trainer_helpers import tiny_cfg
from speeder.backbone import backbone_path
from speeder.data import load_dataset
from speeder.encoders import Features
from speeder.model import SpeederConfig, SpeederModel
from speeder.prompt import collate
from speeder.trainer import train

SIZES = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
ARCHS = dict(llama=(LlamaConfig, LlamaForCausalLM, {}),
             qwen2=(Qwen2Config, Qwen2ForCausalLM, {}),
             gemma=(GemmaConfig, GemmaForCausalLM, dict(head_dim=8)))


def tiny(arch, vocab, seed=0):
    cfg_cls, model_cls, extra = ARCHS[arch]
    torch.manual_seed(seed)
    return model_cls(cfg_cls(vocab_size=vocab, **SIZES, **extra)).eval()


@pytest.fixture(scope='module')
def setup():
    ds = load_dataset('ml-100k', n_max=6, verbose=False)
    tok = AutoTokenizer.from_pretrained(backbone_path()); tok.padding_side = 'left'
    g = torch.Generator().manual_seed(0)
    feats = dict(text=Features(torch.randn(ds.n_items, 16, generator=g), torch.ones(ds.n_items, dtype=torch.bool), 't'),
                 sequential=Features(torch.randn(ds.n_items, 8, generator=g), torch.ones(ds.n_items, dtype=torch.bool), 's'))
    return ds, tok, feats


def build(arch, setup, seed=0):
    ds, tok, feats = setup
    cfg = SpeederConfig(n_max=6, mrc=dict(d_f=16, heads=2, modalities=('text', 'sequential')), lora_dropout=0.)
    return SpeederModel(cfg, tiny(arch, len(tok), seed), tok, feats, ds.titles, ds.item_ids)


@pytest.mark.parametrize('arch', list(ARCHS))
def test_train_save_load_generate(arch, setup, tmp_path):
    ds, tok, _ = setup
    model = build(arch, setup)
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad and 'lora_B' in n}
    s = train(model, ds, tiny_cfg(stages=(3,), epochs=(1,), samples_per_epoch=32, eval_samples=8), tmp_path / 'run', progress=False)
    assert s['global_steps'] == 4 and s['best'] is not None
    assert any(not torch.equal(p.cpu(), before[n].cpu()) for n, p in model.named_parameters() if n in before), 'LoRA did not train'
    model.save(tmp_path / 'saved')
    loaded = SpeederModel.load(tmp_path / 'saved', llm=tiny(arch, len(tok)), tok=tok).to(model.device)   # the same random backbone, rebuilt (on the GPU when training ran there)
    b = collate([model.prompts.rec(ds.test.history(i)[-6:], ds.test.candidates[i].tolist()) for i in range(4)], with_answer=False)
    model.eval()
    assert torch.allclose(model.score(b), loaded.score(b), atol=1e-5)
    texts, parsed = loaded.generate(b)                       # free generation through this architecture's KV cache
    assert len(texts) == 4 and all(-1 <= p < 5 for p in parsed)
    t2, _ = loaded.generate(b, max_new_tokens=3)
    assert texts == t2


def test_lora_targets_must_exist(setup):
    ds, tok, feats = setup
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=1, n_head=2, n_positions=256))   # its projections are c_attn / c_proj
    with pytest.raises(ValueError, match=r"lora_targets.*c_attn"):
        SpeederModel(SpeederConfig(n_max=6, mrc=dict(d_f=16, heads=2, modalities=('text',))), gpt2, tok, dict(text=feats['text']), ds.titles)


def test_tokenizer_without_single_letter_tokens(setup):
    ds, _, feats = setup
    chars = sorted(set(' abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ,:.?'))
    t = Tokenizer(models.WordLevel({c: i for i, c in enumerate(['<unk>', '<eos>'] + chars)}, unk_token='<unk>'))
    t.pre_tokenizer = pre_tokenizers.Split('', 'isolated')   # one token per character: ' a' is two tokens
    tok = PreTrainedTokenizerFast(tokenizer_object=t, unk_token='<unk>', eos_token='<eos>', pad_token='<eos>')
    with pytest.raises(ValueError, match=r"' a' is 2 tokens.*single tokens"):
        SpeederModel(SpeederConfig(n_max=6, mrc=dict(d_f=16, heads=2, modalities=('text',)), prompt=dict(wording='compact')),
                     tiny('llama', len(tok)), tok, dict(text=feats['text']), ds.titles)
