"""Does the LLM read an item token as its item? MPO stage 1's reconstruction task (`TrainConfig.recon`,
`PromptBuilder.recon`: the item's token alone, answer its title) scored on a finished run's kept checkpoint.

    .venv/bin/python bench/recon_probe.py runs/ml-100k/paper-recon4800-seed0 [--items 300]

For a fixed sample of catalogue items (seeded, the same for every run of a dataset): free greedy generation by the
plain LM head, as the paper's metrics are generated, and

- exact: the generated title equals the item's (cut to `max_title_tokens` tokens, as the prompt's answer is; spaces
  and case ignored);
- first word: the generated title's first word is the item's (e.g. "Star" of "Star Wars (1977)");
- distinct: how many different titles it generates for those items (1: the tokens no longer tell the items apart);
- CE: the answer tokens' cross-entropy in nats per token, teacher-forced (the training loss of these prompts);
  an untrained model starts near 7.

The item sample is drawn from the whole catalogue, as training draws its reconstruction items, so these items have
been trained on (a few times each): this measures what the LLM reads in its tokens, not generalisation to unseen
items. Under the run's precision (bf16 autocast where it trained so). Each run's row goes to
bench/results/recon_probe.json (keyed by the run's folder name), the table and a few examples to
bench/results/recon_probe.md. It needs the run's checkpoint, which the committed records do not keep: run it where
the run was trained.
"""
import argparse, json
from pathlib import Path

import numpy as np
import torch

from speeder.prompt import collate
from speeder.viz import load_run

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / 'bench' / 'results' / 'recon_probe'
norm = lambda s: ' '.join(s.lower().split())


def measure(run_dir, n_items: int, batch: int = 32) -> dict:
    model, ds, metrics = load_run(run_dir); P = model.prompts
    items = np.sort(np.random.default_rng(0).choice(ds.n_items, min(n_items, ds.n_items), replace=False)).tolist()
    truth = [model.tok.decode(P.title_ids[i]) for i in items]
    texts, ce = [], []
    with torch.no_grad(), torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=metrics.get('precision') == 'bf16'):   # as the run's own validation
        model.eval(); model.cache_item_tokens()
        for k in range(0, len(items), batch):
            ps = [P.recon(i) for i in items[k:k + batch]]
            texts += model.generate(collate(ps, with_answer=False), max_new_tokens=P.cfg.max_title_tokens + 1)[0]
            ce.append((float(model(collate(ps, with_answer=True))['loss']), sum(len(p.answer) for p in ps)))
    exact = [norm(t) == norm(g) for t, g in zip(texts, truth)]
    first = [bool(t.split()) and t.split()[0].lower() == g.split()[0].lower() for t, g in zip(texts, truth)]
    cfg = metrics['config']['train']
    return dict(run=Path(run_dir).name, items=len(items), exact=float(np.mean(exact)), first_word=float(np.mean(first)), distinct=len({norm(t) for t in texts}),
                ce=sum(c * n for c, n in ce) / sum(n for _, n in ce), recon=cfg.get('recon', 0), recon_stages=', '.join(map(str, cfg.get('recon_stages', [1]))),
                kept=f"stage {metrics.get('valid_best', {}).get('stage')} epoch {metrics.get('valid_best', {}).get('epoch')}",
                valid_vhr1=metrics.get('valid_best', {}).get('vhr1'),
                examples=[dict(title=g.strip(), generated=t.strip()) for t, g in list(zip(texts, truth))[:8]])


def table(rows: dict) -> str:
    md = ['Title reconstruction from the item token alone (`bench/recon_probe.py RUN_DIR ...`): the kept checkpoint of each run, '
          'a fixed sample of catalogue items, free greedy generation by the plain LM head. Exact: the whole title; first word: its first word; '
          'distinct: different titles generated; CE: teacher-forced cross-entropy per answer token (about 7 untrained).', '',
          '| run | reconstruction prompts per epoch | in stages | kept checkpoint | valid VHR@1 there | items | exact | first word | distinct | CE (nats / token) |',
          '|---|---|---|---|---|---|---|---|---|---|']
    for r in rows.values():
        md.append(f"| {r['run']} | {r['recon']:,} | {r['recon_stages']} | {r['kept']} | {r['valid_vhr1']:.3f} | {r['items']} | {r['exact']:.3f} | {r['first_word']:.3f} | {r['distinct']} | {r['ce']:.2f} |")
    for r in rows.values():
        md += ['', f"{r['run']}, the first items (title → generated): " + '; '.join(f"{e['title']!r} → {e['generated']!r}" for e in r['examples'])]
    return '\n'.join(md) + '\n'


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('runs', nargs='+', help='finished train.ipynb run folders (with checkpoints/best)')
    ap.add_argument('--items', type=int, default=300)
    a = ap.parse_args()
    path = OUT.with_suffix('.json'); rows = json.loads(path.read_text()) if path.exists() else {}
    for run in a.runs:
        r = measure(run, a.items); rows[r['run']] = r; print(json.dumps(r), flush=True)
    path.write_text(json.dumps(rows, indent=1)); OUT.with_suffix('.md').write_text(table(rows)); print(table(rows))
