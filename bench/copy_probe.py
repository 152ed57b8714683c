"""Can a trained model name the letter of a candidate it has just seen? The copy probe.

    .venv/bin/python bench/copy_probe.py runs/ml-100k/paper-center-seed0 runs/ml-100k/paper-copy30-seed0 ...

For the first 160 valid samples of the run's own data, the target candidate is also put into the history (its last
n_max - 1 items, at a random position: `speeder.trainer.plant_target`, as the `copy_frac` curriculum does), and the LM head's letter logits among the candidates (one pass,
`score` of a readout='index' model) pick an answer. A model that can tell items apart and bind a candidate to its
letter answers these nearly always right; chance is 0.2. The same samples without the planted target are scored
too. Written to bench/results/copy_probe.md.
"""
import argparse, json
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def probe(run, n: int = 160, batch: int = 16) -> dict:
    from speeder.data import load_dataset
    from speeder.experiment import ExperimentConfig
    from speeder.model import LLMRec
    from speeder.prompt import collate
    from speeder.trainer import plant_target
    m = LLMRec.load(Path(run) / 'checkpoints' / 'best').eval()
    cfg = ExperimentConfig.from_dict(json.loads((Path(run) / 'experiment.json').read_text()))   # the run's data: its dataset, images and seed
    ds = load_dataset(cfg.dataset, image_dir=cfg.image_dir, n_max=m.cfg.n_max, seed=cfg.seed, verbose=False, **cfg.options)
    rng = np.random.default_rng(0); sp = ds.valid; hit_copy, hit_real = [], []
    for i0 in range(0, n, batch):
        pc, pr, lab = [], [], []
        for i in range(i0, i0 + batch):
            h = list(sp.history(i)); c = sp.candidates[i].tolist(); l = int(sp.labels[i])
            pc.append(m.prompts.rec(plant_target(h, c[l], m.cfg.n_max, rng), c)); pr.append(m.prompts.rec(h[-m.cfg.n_max:], c)); lab.append(l)
        with torch.no_grad():
            hit_copy += (m.score(collate(pc, with_answer=False)).argmax(-1) == torch.tensor(lab)).tolist()
            hit_real += (m.score(collate(pr, with_answer=False)).argmax(-1) == torch.tensor(lab)).tolist()
    return dict(run=str(run), readout=m.cfg.readout, copy=float(np.mean(hit_copy)), real=float(np.mean(hit_real)), n=len(hit_copy))


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('runs', nargs='+'); ap.add_argument('--out', default='bench/results/copy_probe.md')
    a = ap.parse_args()
    rows = [probe(r) for r in a.runs]
    md = [f'Copy probe (first 160 valid samples, the target also planted in the history; one-pass HR@1 of `score`; chance 0.2). Command: `.venv/bin/python bench/copy_probe.py {" ".join(a.runs)}`', '',
          '| run | readout | HR@1, target planted in the history | HR@1, the real prompts | samples |', '|---|---|---|---|---|']
    md += [f"| {r['run']} | {r['readout']} | {r['copy']:.3f} | {r['real']:.3f} | {r['n']} |" for r in rows]
    (ROOT / a.out).write_text('\n'.join(md) + '\n'); print('\n'.join(md))
