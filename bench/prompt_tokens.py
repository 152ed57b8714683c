"""Prompt tokens per sample for Speeder's hybrid prompt vs the LLaRA-style and TALLRec-style title prompts, in both wordings.

Reproduce:  .venv/bin/python bench/prompt_tokens.py            (ml-100k, test split, n_max=20)
Writes bench/results/prompt_tokens.{json,md}. Tokenization only: the numbers are exact, not timed.
"""
import argparse, itertools, json
from pathlib import Path

import numpy as np
from transformers import AutoTokenizer

from speeder.backbone import backbone_path
from speeder.data import load_dataset
from speeder.prompt import PromptBuilder, PromptConfig

ap = argparse.ArgumentParser()
ap.add_argument('--dataset', default='ml-100k')
ap.add_argument('--n-max', type=int, default=20)
ap.add_argument('--backbone', default=None)
ap.add_argument('--out', default='bench/results/prompt_tokens')
a = ap.parse_args()

ds = load_dataset(a.dataset, n_max=a.n_max, verbose=False)
tok = AutoTokenizer.from_pretrained(backbone_path(a.backbone))
rows = {}
for wording, style in itertools.product(['instruct', 'compact'], ['speeder', 'llara', 'tallrec']):
    pb = PromptBuilder(tok, PromptConfig(style=style, wording=wording, noun='movie' if a.dataset == 'ml-100k' else 'item'), ds.titles)
    n, soft, ans = [], [], []
    for i in range(len(ds.test)):
        s = ds.test[i]; p = pb.rec(s['history'], s['candidates'], s['label'])
        n.append(len(p.ids)); soft.append(len(p.slots)); ans.append(len(p.answer))
    rows[f'{style} / {wording}'] = dict(wording=wording, prompt_tokens_mean=float(np.mean(n)), prompt_tokens_max=int(np.max(n)),
                                        soft_tokens_mean=float(np.mean(soft)), answer_tokens_mean=float(np.mean(ans)), samples=len(n))
for r in rows.values(): r['ratio_to_speeder'] = round(r['prompt_tokens_mean'] / rows[f"speeder / {r['wording']}"]['prompt_tokens_mean'], 2)
Path(a.out + '.json').parent.mkdir(parents=True, exist_ok=True)
Path(a.out + '.json').write_text(json.dumps(dict(dataset=a.dataset, n_max=a.n_max, split='test', rows=rows), indent=1))
md = [f'Prompt tokens per sample, {a.dataset} test split ({len(ds.test)} samples), n_max={a.n_max}, SmolLM2 tokenizer. instruct = chat template + instruction sentence; compact = a few words, no chat template (same layout).',
      '', 'Reproduce: `.venv/bin/python bench/prompt_tokens.py`', '',
      '| prompt / wording | prompt tokens (mean / max) | soft tokens | answer tokens | × Speeder |', '|---|---|---|---|---|']
for k, r in rows.items():
    md.append(f"| {k} | {r['prompt_tokens_mean']:.1f} / {r['prompt_tokens_max']} | {r['soft_tokens_mean']:.1f} | {r['answer_tokens_mean']:.2f} | {r['ratio_to_speeder']} |")
Path(a.out + '.md').write_text('\n'.join(md) + '\n')
print('\n'.join(md))
