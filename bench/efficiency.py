"""Training and inference cost of Speeder's hybrid prompt vs the LLaRA-style and TALLRec-style title prompts.

Reproduce (ml-100k + posters, the train notebook's settings: SmolLM2-135M, LoRA r16 q/k/v/o, n_max 10):
    .venv/bin/python bench/efficiency.py --image-dir ../shared/data/ml-100k-posters/images
The three models share the backbone, the batches (same samples) and the machine; their timings are
interleaved round by round, so noise hits all alike, and reported as medians and as ratios to Speeder.
Writes bench/results/efficiency.{json,md}.
"""
import argparse, json, platform, statistics, sys, time
from pathlib import Path

import torch

from speeder.backbone import load_backbone
from speeder.data import load_dataset
from speeder.encoders import sequential_features, text_features, vision_features
from speeder.model import SpeederConfig, SpeederModel
from speeder.prompt import collate
from speeder.sequential import SeqRecConfig

ap = argparse.ArgumentParser()
ap.add_argument('--dataset', default='ml-100k')
ap.add_argument('--image-dir', default=None)
ap.add_argument('--n-max', type=int, default=10)
ap.add_argument('--wording', default='compact')
ap.add_argument('--batch-size', type=int, default=8)
ap.add_argument('--rounds', type=int, default=5)
ap.add_argument('--out', default='bench/results/efficiency')
a = ap.parse_args()

ds = load_dataset(a.dataset, image_dir=a.image_dir, n_max=a.n_max, verbose=False)
feats = dict(text=text_features(ds), sequential=sequential_features(ds, SeqRecConfig(model='sasrec', epochs=150, patience=30)))
if a.image_dir: feats['vision'] = vision_features(ds)
noun = 'movie' if a.dataset == 'ml-100k' else 'item'
llm, tok = load_backbone()
models = {'speeder': SpeederConfig(n_max=a.n_max, readout='candidate', mrc=dict(modalities=tuple(feats)), prompt=dict(noun=noun, wording=a.wording)),
          'llara': SpeederConfig(n_max=a.n_max, item_encoder='id', prompt=dict(style='llara', noun=noun, wording=a.wording)),
          'tallrec': SpeederConfig(n_max=a.n_max, item_encoder='none', prompt=dict(style='tallrec', noun=noun, wording=a.wording))}
built = {}
for name, cfg in models.items():   # each wraps its own copy of the backbone with LoRA
    l, _ = load_backbone(); built[name] = SpeederModel(cfg, l, tok, feats, ds.titles, ds.item_ids)

B = a.batch_size
def batches(m, r):   # the same test samples for every model
    idx = range(r * B, (r + 1) * B)
    return [m.prompts.rec(ds.test.history(i)[-a.n_max:], ds.test.candidates[i].tolist(), int(ds.test.labels[i])) for i in idx]

times = {n: dict(train=[], score=[], generate=[], tokens=[]) for n in built}
for r in range(a.rounds + 1):                      # round 0 warms up and is dropped
    for name, m in built.items():
        prompts = batches(m, r)
        m.train(); b = collate(prompts, with_answer=True)
        t = time.perf_counter(); m(b)['loss'].backward(); m.zero_grad(set_to_none=True); t_train = time.perf_counter() - t
        m.eval(); b = collate(prompts, with_answer=False)
        t = time.perf_counter(); m.score(b); t_score = time.perf_counter() - t
        t = time.perf_counter(); m.generate(b); t_gen = time.perf_counter() - t
        if r:
            times[name]['train'].append(t_train / B); times[name]['score'].append(t_score / B); times[name]['generate'].append(t_gen / B)
            times[name]['tokens'].append(sum(len(p.ids) + len(p.answer) for p in prompts) / B)
    print(f'round {r}: ' + ', '.join(f"{n} train {times[n]['train'][-1]:.3f}s" for n in built) if r else 'warm-up done', flush=True)

rows = {n: {k: statistics.median(v) for k, v in t.items()} for n, t in times.items()}
for n, rw in rows.items():
    for k in ['train', 'score', 'generate', 'tokens']: rw[f'{k}_x'] = round(rw[k] / rows['speeder'][k], 2)
meta = dict(dataset=a.dataset, images=a.image_dir is not None, n_max=a.n_max, wording=a.wording, batch_size=B, rounds=a.rounds,
            threads=torch.get_num_threads(), host=platform.node(), cpu=platform.processor() or platform.machine())
Path(a.out + '.json').parent.mkdir(parents=True, exist_ok=True)
Path(a.out + '.json').write_text(json.dumps(dict(meta, rows=rows, raw=times), indent=1))
md = [f"Seconds per sample (median of {a.rounds} interleaved rounds, batch {B}, {a.dataset} test samples, n_max={a.n_max}, {a.wording} wording, "
      f"{meta['threads']} threads, fp32 CPU). Ratios are to Speeder in the same run.", '', 'Reproduce: `.venv/bin/python ' + ' '.join(['bench/efficiency.py'] + sys.argv[1:]) + '`', '',
      '| model | tokens / sample | train step | × | score (1 pass) | × | generate | × |', '|---|---|---|---|---|---|---|---|']
for n, rw in rows.items():
    md.append(f"| {n} | {rw['tokens']:.1f} | {rw['train']:.3f} | {rw['train_x']} | {rw['score']:.3f} | {rw['score_x']} | {rw['generate']:.3f} | {rw['generate_x']} |")
Path(a.out + '.md').write_text('\n'.join(md) + '\n')
print('\n'.join(md))
