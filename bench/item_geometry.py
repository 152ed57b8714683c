"""How distinguishable a trained model's item tokens are: the soft tokens the LLM reads, for every catalogue item.

    .venv/bin/python bench/item_geometry.py runs/ml-100k/paper-center-seed0 runs/ml-100k/tables-cpu/t2-llara-seed0 ...

Per run (its checkpoints/best): the mean and 95th percentile of the cosine similarity between two different items'
tokens (as `item_tokens` gives them, after normalisation; what the LLM sees), and, before normalisation, the norm of
the component common to all items against the mean norm of what is left per item. Tokens that all point one way
(cosine near 1) cannot tell items apart, whatever the LLM learns. Also MRC's gate presences (0 = the modality is
closed) with the share of each gated branch's norm that Eq. 18's gate passes, and how far the tokens keep E_s's geometry: the correlation between two items' token cosine and their E_s
cosine (centred), over about 400 items; the norm of the tokens the LLM reads against its word embeddings' mean norm; and what the
tokens' geometry alone is worth on valid, with no LLM: HR@1 of the candidate whose token (centred over the catalogue) has the
highest cosine with the mean of the prompt's history tokens (the rule `bench/score_priors.py` applies to E_s), beside the same rule on
E_s itself and, at a trained checkpoint, the LLM's own valid score there (`metrics.json`'s `valid_best`, by its select_metric). Written to bench/results/item_geometry.md (or --out).
"""
import argparse, json
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def run_data(run) -> tuple:
    "(ExperimentConfig, SeqDataset) of a run, from its experiment.json: its dataset, images, n_max and seed."
    from speeder.data import load_dataset
    from speeder.experiment import ExperimentConfig
    cfg = ExperimentConfig.from_dict(json.loads((Path(run) / 'experiment.json').read_text()))
    return cfg, load_dataset(cfg.dataset, image_dir=cfg.image_dir, n_max=cfg.model.n_max, seed=cfg.seed, verbose=False, **cfg.options)


def untrained(run, data: tuple | None = None):
    "The run's model as `run_experiment` builds it, before any training (the same seed, features and backbone); `data`: `run_data(run)` if already loaded."
    from speeder.experiment import _features, build_model
    cfg, ds = data or run_data(run)
    return build_model(cfg, ds, _features(cfg, ds, False))


def nearest_mean(x: torch.Tensor, split) -> float:
    "HR@1 on `split` of the candidate whose row of `x` (centred over the catalogue) has the highest cosine with the mean of its history items' rows (the prompt's, at most n_max)."
    import numpy as np
    from speeder.sequential import hr_at_1
    x = torch.nn.functional.normalize(x.float() - x.float().mean(0), dim=-1)
    cand = torch.as_tensor(np.asarray(split.candidates))
    return hr_at_1(torch.stack([x[cand[i]] @ x[split.history(i)].mean(0) for i in range(len(split))]), split.labels)


def llm_valid(run) -> float | None:
    "The valid score of the run's kept checkpoint by the metric that chose it (`metrics.json`'s `valid_best`); None before the run has finished."
    m = Path(run) / 'metrics.json'
    if not m.exists(): return None
    vb = json.loads(m.read_text())['valid_best']
    return vb[vb['select_metric']]


def geometry(run, init: bool = False) -> dict:
    from speeder.model import LLMRec
    cfg, ds = run_data(run)
    m = (untrained(run, (cfg, ds)) if init else LLMRec.load(Path(run) / 'checkpoints' / 'best')).eval()
    if init: run = f'{run} (untrained)'
    if m.items is None: return dict(run=str(run), method=m.method, note='no item tokens (titles only)')
    with torch.no_grad():
        items = torch.arange(len(m.titles))
        t = m.item_tokens(items).float(); x = m.encode_items(items).float()
        tn = torch.nn.functional.normalize(t, dim=-1); cs = (tn @ tn.T)[~torch.eye(len(t), dtype=torch.bool)]
        mu = x.mean(0)
        gates = getattr(m.items, 'gates', {})   # MRC's modality gates: their presence (0 = closed) and how much of the branch Eq. 18's tanh(A^tan(e)) * e passes
        def passes(k, g):   # mean over items of |gate(A_k(x))| / |A_k(x)|
            e = m.items.adapters[k](m.items.features[k].x.to(m.items.type_emb.dtype)); return (g(e).norm(dim=-1) / e.norm(dim=-1)).mean().item()
        presence = ' / '.join(f'{k} {float(g.presence()):.3f}' + (f' (passes {passes(k, g):.2f})' if k in m.items.features else '') for k, g in gates.items()) or '—'
        es, agree = m.items.features.get('sequential'), None
        if es is not None:   # do the tokens keep E_s's geometry? correlation of item-item cosines, every k-th item (about 400)
            k = torch.arange(0, len(t), max(1, len(t) // 400)); off = ~torch.eye(len(k), dtype=torch.bool)
            e = torch.nn.functional.normalize(es.x.float() - es.x.float().mean(0), dim=-1)[k]
            agree = torch.corrcoef(torch.stack([(tn[k] @ tn[k].T)[off], (e @ e.T)[off]]))[0, 1].item()
    return dict(run=str(run), method=m.method, center_items=m.cfg.center_items, cos_mean=cs.mean().item(), cos_p95=cs.quantile(0.95).item(),
                common_norm=mu.norm().item(), item_norm=(x - mu).norm(dim=-1).mean().item(), presence=presence, agree=agree,
                read_norm=t.norm(dim=-1).mean().item(), word_norm=m.token_norm, near=nearest_mean(t, ds.valid),
                near_es=None if es is None else nearest_mean(es.x, ds.valid), llm=None if init else llm_valid(run))


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('runs', nargs='+'); ap.add_argument('--out', default='bench/results/item_geometry.md')
    ap.add_argument('--init', action='store_true', help="also each run's model before training")
    a = ap.parse_args()
    rows = [g for r in a.runs for g in ([geometry(r, init=True)] if a.init else []) + [geometry(r)]]
    md = [f'Item-token geometry of {"models before training and at their best checkpoints" if a.init else "trained models (best checkpoints)"}. Command: `.venv/bin/python bench/item_geometry.py {"--init " if a.init else ""}{" ".join(a.runs)}{"" if a.out == ap.get_default("out") else " --out " + a.out}`', '',
          '| run | method | center_items | cosine between items, mean | cosine p95 | common component norm (before normalising) | per-item part norm | gate presence (share of the branch\'s norm the gate passes) | cosines\' correlation with E_s\'s | token norm the LLM reads, mean | word-embedding norm, mean | valid HR@1 of the tokens\' nearest-mean rule (no LLM) | the same rule on E_s | the LLM\'s valid score at this checkpoint (the metric that kept it) |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        if 'note' in r: md.append(f"| {r['run']} | {r['method']} | — | {r['note']} | | | | | | | | | | |")
        else: md.append(f"| {r['run']} | {r['method']} | {r['center_items']} | {r['cos_mean']:.4f} | {r['cos_p95']:.4f} | {r['common_norm']:.2f} | {r['item_norm']:.2f} | "
                        f"{r['presence']} | {'—' if r['agree'] is None else format(r['agree'], '.3f')} | {r['read_norm']:.2f} | {r['word_norm']:.2f} | {r['near']:.3f} | {'—' if r['near_es'] is None else format(r['near_es'], '.3f')} | {'—' if r['llm'] is None else format(r['llm'], '.3f')} |")
    (ROOT / a.out).write_text('\n'.join(md) + '\n'); print('\n'.join(md))
