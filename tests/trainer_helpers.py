"Tiny, real training setups shared by the trainer tests and the two-process script."
import torch
from transformers import AutoTokenizer

from speeder.backbone import backbone_path, tiny_llama
from speeder.data import load_dataset
from speeder.encoders import Features
from speeder.model import SpeederConfig, SpeederModel
from speeder.trainer import TrainConfig


def tiny_setup(init_seed=0, **model_cfg):
    "ml-100k (real splits) + a tiny random Llama with the real tokenizer + small random (frozen) item features; `init_seed` seeds the trainable parts; `model_cfg`: other SpeederConfig fields."
    ds = load_dataset('ml-100k', n_max=6, verbose=False)
    tok = AutoTokenizer.from_pretrained(backbone_path()); tok.padding_side = 'left'
    g = torch.Generator().manual_seed(0)
    feats = dict(text=Features(torch.randn(ds.n_items, 16, generator=g), torch.ones(ds.n_items, dtype=torch.bool), 't'),
                 vision=Features(torch.randn(ds.n_items, 8, generator=g), torch.rand(ds.n_items, generator=g) > 0.1, 'v'),
                 sequential=Features(torch.randn(ds.n_items, 8, generator=g), torch.ones(ds.n_items, dtype=torch.bool), 's'))
    torch.manual_seed(init_seed)
    model = SpeederModel(SpeederConfig(n_max=6, mrc=dict(d_f=16, heads=2), **model_cfg), tiny_llama(vocab_size=len(tok), hidden=32), tok, feats, ds.titles)
    return ds, model


def tiny_cfg(**kw):
    return TrainConfig(**{**dict(stages=(1, 2), epochs=(1, 2), samples_per_epoch=48, batch_size=4, grad_accum=2, save_every=2,
                                 eval_samples=16, eval_generate=True, mixed_precision='no'), **kw})
