"""The `teach` teacher alone (README, "A teacher for the letter"): the E_s nearest-mean rule over the prompt's history.

    .venv/bin/python bench/teach_temp.py --seeds 0 1 2

For each seed, on this machine's cached features (their fingerprints are printed beside the numbers): the rule's
HR@1 on valid and test (the candidate whose centred E_s has the highest cosine with the mean of the prompt's last
n_max history items' — exactly `SpeederModel.teacher_logits`), and the teacher's valid NLL, softmax(cosine / T), for
a range of temperatures T (the one `teach_temp` takes is chosen here, on valid). No training beyond the cached E_s.
Writes bench/results/teach_temp.md.
"""
import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from speeder.data import find_posters, load_dataset
from speeder.encoders import sequential_features
from speeder.experiment import fingerprint
from speeder.sequential import SeqRecConfig, hr_at_1

ap = argparse.ArgumentParser()
ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
ap.add_argument('--n-max', type=int, default=10)
ap.add_argument('--temps', type=float, nargs='+', default=[0.05, 0.1, 0.15, 0.2, 0.3, 0.5])
ap.add_argument('--out', default='bench/results/teach_temp.md')
a = ap.parse_args()

rows = []
for seed in a.seeds:
    ds = load_dataset('ml-100k', image_dir=find_posters(), n_max=a.n_max, seed=seed, verbose=False)
    seq = sequential_features(ds, SeqRecConfig(model='sasrec', seed=seed))   # the cached E_s of nbs/train.ipynb
    X = F.normalize(seq.x.float() - seq.x.float().mean(0), dim=-1)
    r = dict(seed=seed, es=fingerprint(seq.x))
    for name, sp in [('valid', ds.valid), ('test', ds.test)]:
        cand = torch.as_tensor(np.asarray(sp.candidates)); lab = torch.as_tensor(np.asarray(sp.labels))
        cos = torch.stack([X[cand[i]] @ F.normalize(X[sp.history(i)[-a.n_max:]].mean(0), dim=0) for i in range(len(sp))])
        r[name] = hr_at_1(cos, sp.labels)
        if name == 'valid': r['nll'] = {t: F.cross_entropy(cos / t, lab).item() for t in a.temps}
    rows.append(r); print(r)

head = '| seed | $E_s$ fingerprint | rule valid HR@1 | rule test HR@1 | ' + ' | '.join(f'valid NLL, T = {t:g}' for t in a.temps) + ' |'
md = [head, '|' + '---|' * (4 + len(a.temps))]
for r in rows:
    best = min(r['nll'], key=r['nll'].get)
    md.append(f"| {r['seed']} | `{r['es']}` | {r['valid']:.3f} | {r['test']:.3f} | " + ' | '.join((f"**{v:.3f}**" if t == best else f'{v:.3f}') for t, v in r['nll'].items()) + ' |')
md.append(f"| mean | | {np.mean([r['valid'] for r in rows]):.3f} | {np.mean([r['test'] for r in rows]):.3f} | " + ' | '.join(f"{np.mean([r['nll'][t] for r in rows]):.3f}" for t in a.temps) + ' |')
Path(a.out).write_text(f"The `teach` teacher alone: the $E_s$ nearest-mean rule over the prompt's last {a.n_max} history items (no LLM). "
                       f"Reproduce: `.venv/bin/python bench/teach_temp.py --seeds {' '.join(map(str, a.seeds))}` (this machine's cached $E_s$; "
                       f"chance NLL ln 5 = 1.609; bold: the lowest valid NLL per seed).\n\n" + '\n'.join(md) + '\n')
print(Path(a.out).read_text())
