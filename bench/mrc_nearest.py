"""Where along MRC the item tokens lose what $E_s$'s geometry is worth: the nearest-mean rule on valid at every point of MRC.

    .venv/bin/python bench/mrc_nearest.py runs/ml-100k/paper-eq18open-lr1e4-s3x10-seed0 --out bench/results/mrc_nearest.md

Per run, the untrained model (`run_experiment`'s build: the same seed, features and backbone) and a checkpoint (`--which`,
default `best`). At each point `bench/mrc_drift.py` traces over every catalogue item (each modality's adapter output, before
Eq. 18's gate and the type embedding, its
token after each MoME layer, the pooled vector, after $A_f$'s LayerNorm, $A_f$'s hidden layer, MRC's output), for the
item tokens the LLM reads (MRC's output scaled to the word-embedding norm) and for the frozen features themselves: valid HR@1 of the candidate whose vector there (centred over the catalogue) has the highest
cosine with the mean of the prompt's history items' (`item_geometry.nearest_mean`, the rule `bench/score_priors.py`
applies to $E_s$). No LLM is involved: it measures what an LLM that compares items by their tokens' similarity could
read at each point, and so where MRC mixes $E_s$'s geometry away. Also the mean of the modalities' adapter outputs (a
reference: an average with no MoME in between, whose inputs keep their own scales). Written to --out.
"""
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))


def path_scores(run: str, which: str = 'best') -> list:
    from item_geometry import nearest_mean, run_data, untrained
    from mrc_drift import trace
    from speeder.model import LLMRec
    cfg, ds = run_data(run)
    m0, m1 = untrained(run, (cfg, ds)).eval(), LLMRec.load(Path(run) / 'checkpoints' / which).eval()
    ms = m0.items.cfg.modalities
    feats = {f'frozen {k} features': m0.items.features[k].x for k in ms}
    t0, t1 = trace(m0), trace(m1)
    mean = lambda t: torch.stack([t[f'{k} adapter output'] for k in ms]).mean(0)
    rows = [(k, nearest_mean(x, ds.valid), None) for k, x in feats.items()]
    rows += [(k, nearest_mean(t0[k], ds.valid), nearest_mean(t1[k], ds.valid)) for k in t0]
    rows.insert(len(feats) + len(ms), ('mean of the adapter outputs (reference, no MoME)', nearest_mean(mean(t0), ds.valid), nearest_mean(mean(t1), ds.valid)))
    with torch.no_grad(): read = [nearest_mean(m.item_tokens(torch.arange(len(m.titles))), ds.valid) for m in (m0, m1)]
    rows.append(('the item tokens the LLM reads (`item_tokens`: scaled to the word-embedding norm)', *read))
    md = [f'### {run}', '', f'| point along MRC | valid HR@1 of the nearest-mean rule, untrained | {which} checkpoint |', '|---|---|---|']
    return md + [f"| {k} | {a:.3f} | {'—' if b is None else format(b, '.3f')} |" for k, a, b in rows] + ['']


if __name__ == '__main__':
    from mrc_drift import main
    main(path_scores, 'The nearest-mean rule (no LLM) along MRC, on valid', 'mrc_nearest', __doc__)
