"""How long each Speeder run sat on the answer-loss plateau (issue 12: why some runs never leave chance).

    .venv/bin/python bench/plateau.py                      # every committed letter-answer Speeder run of ml-100k
    .venv/bin/python bench/plateau.py --local              # and the runs in runs/ on this machine (finished or not)
    .venv/bin/python bench/plateau.py --match s3x6 lrl     # only runs whose name holds one of these strings

A Speeder run answers a letter and then end of text; the training loss is the mean over those two answer tokens.
While the LM head guesses the letter uniformly among the m candidates (end of text learnt) that loss is ln(m) / 2 = 0.80
for m = 5 — the plateau every `best`-like run first sits on; PPT prompts (yes / no, never learnt in any run so far) sit
at ln(2) / 2, so a run with a share f of PPT prompts plateaus at (1 - f) ln(m) / 2 + f ln(2) / 2. In the epochs where
PPT is taught by halves (`TrainConfig.ppt_halves`) a third of the PPT prompts are lookups, which answer one of the
history's n_max letters (ln(n_max) / 2 at chance), so the level there is (1 - f) ln(m) / 2 + f (ln(n_max) + 2 ln(2)) / 6
(0.62 for f = 1 and n_max = 10; histories shorter than n_max make it a little lower); each window is held to the mean
level of its steps, and the halves epochs' mean answer loss (after the first window) is reported beside their level. A run has *left* the
plateau by the end of the first window of 600 training prompts whose mean answer loss is 0.05 (1 - f) below that level
(the letter's loss about 0.1 nats under chance; a run of PPT prompts only, f = 1: 0.05 below, yes / no 0.1 nats under chance):
an upper bound, to within a window; the first window (the warm-up's fall onto the plateau) is not counted, so `1,200`
means "by 1,200". `never`: no window of a finished run is; `not yet`: an unfinished run (no metrics.json, only with
--local). A run that trains PPT prompts alone first (`TrainConfig.ppt_first`) has f = 1 in those epochs and is read
for leaving only after them: the plateau of its recommendation prompts. Their first window is counted, although the
recommendation answers' own fall from the warm-up is in it, so such a run's exit can read one window early. Read from each run's `log.jsonl` (per-step answer loss — the
loss itself where the run has no extra loss terms —, prompts seen),
valid VHR@1 from its validations; finished runs also give the test VHR@1 of the checkpoint kept on valid (read once by
the run itself; nothing here re-tests). Writes bench/results/plateau.md.
"""
import argparse, json, math
from pathlib import Path

import numpy as np

from records import all_runs
from speeder.data import Protocol
from speeder.experiment import ExperimentConfig

ROOT = Path(__file__).resolve().parents[1]
WINDOW = 600   # training prompts per loss window
DROP = 0.05    # how far below the plateau (per recommendation prompt share; runs of PPT prompts only: in full) a window must fall


def plateau(folder: Path) -> dict | None:
    "The plateau level, the prompts by which the run left it (None: not (yet)), window losses and valid VHR@1 of one letter-answer Speeder run; None for other runs."
    cfg = json.loads((folder / 'experiment.json').read_text())
    if cfg['method'] != 'speeder' or cfg['model']['readout'] != 'index': return None
    m = cfg.get('options', {}).get('n_candidates', Protocol.n_candidates)
    train = ExperimentConfig.from_dict(cfg).train
    f = train.ppt_frac if train.ppt else 0.0
    plateau_at = lambda f, halves: (1 - f) * math.log(m) / 2 + f * ((math.log(n_max) + 2 * math.log(2)) / 6 if halves else math.log(2) / 2)
    halves, first, n_max = train.ppt_halves, train.ppt_first, cfg['model']['n_max']
    level = plateau_at(f, False)
    run_epoch = lambda r: train.run_epoch(r['stage'], r['epoch'])   # as `speeder.trainer` counts it
    in_halves = lambda r: run_epoch(r) < halves
    in_first = lambda r: run_epoch(r) < first     # PPT prompts only (TrainConfig.ppt_first)
    share = lambda r: 1.0 if in_first(r) else f
    steps, valid = {}, []
    for line in (folder / 'log.jsonl').read_text().splitlines():
        r = json.loads(line)
        if r['kind'] == 'step': steps[r['global_step']] = r   # a resumed run logs steps again from its checkpoint: the last write counts
        elif r['kind'] == 'valid': valid.append((r['global_step'], r['prompts'], r['vhr1']))
    recon, n = {}, 0   # stage 1's reconstruction prompts (TrainConfig.recon) answer a title: their steps are left out, and prompts count recommendation / PPT prompts only
    for g in sorted(steps): n += steps[g].get('recon_prompts', 0); recon[g] = n
    windows, levels, firsts, half_losses, half_levels = {}, {}, {}, [], []
    for g, r in steps.items():
        if r.get('recon_prompts'): continue
        k, loss = (r['prompts'] - recon[g] - 1) // WINDOW, r.get('answer_loss', r['loss'])   # answer_loss: logged beside the total when extra loss terms are on
        windows.setdefault(k, []).append(loss); firsts.setdefault(k, []).append(in_first(r))
        levels.setdefault(k, []).append(plateau_at(share(r), in_halves(r)) - DROP * ((1 - share(r)) or 1))   # the level a window must fall below
        if in_halves(r) and k: half_losses.append(loss); half_levels.append(plateau_at(share(r), True))   # after the warm-up's window, as for leaving
    valid = [(p - recon.get(g, 0), v) for g, p, v in valid]
    losses = [float(np.mean(windows[k])) for k in sorted(windows)]
    left = next((WINDOW * (k + 1) for k in sorted(windows) if k and not any(firsts[k]) and np.mean(windows[k]) < np.mean(levels[k])), None)   # window 0 is the warm-up's fall to the plateau; by key (a window of mixed steps only is empty); after the PPT-first epochs
    metrics = folder / 'metrics.json'
    test = json.loads(metrics.read_text())['test'].get('vhr1') if metrics.exists() else None
    return dict(level=level, halves=halves, ppt_first=first, halves_level=float(np.mean(half_levels)) if half_levels else None, halves_loss=float(np.mean(half_losses)) if half_losses else None, left=left, losses=losses, valid=dict(valid), prompts=max(r['prompts'] - recon[g] for g, r in steps.items()),
                finished=metrics.exists(), test=test, lr_lora=cfg['train']['lr_lora'], stages=cfg['train']['stages'], ppt=f, layout=cfg['model']['prompt']['layout'])


def halves_cell(p: dict) -> str:
    "'N: loss / level' over the run's first N epochs, where PPT is taught by halves; '—' where it is not."
    return '—' if not p['halves'] else '%d: %.3f / %.3f' % (p['halves'], p['halves_loss'], p['halves_level'])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--dataset', default='ml-100k')
    ap.add_argument('--match', nargs='*', default=[], help='keep runs whose name contains any of these strings')
    ap.add_argument('--local', action='store_true', help="also read runs/ on this machine (unfinished runs too): the table then depends on this machine")
    ap.add_argument('--out', default='bench/results/plateau.md')
    a = ap.parse_args()
    rows = []
    for name, folder in all_runs(a.dataset, a.local).items():
        if a.match and not any(s in name for s in a.match): continue
        p = plateau(folder)
        if p: rows.append((name, p))
    lines = [f'# The answer-loss plateau, per run ({a.dataset})', '',
             f'Command: `.venv/bin/python bench/plateau.py{" --local" if a.local else ""}{" --match " + " ".join(a.match) if a.match else ""}`.'
             f'{" Runs in runs/ of the machine that wrote this are included." if a.local else " Committed records only."} Plateau: (1 - f) ln(5) / 2 + f ln(2) / 2 '
             f'for a share f of PPT prompts (0.80 without PPT); in the epochs that teach PPT by halves, (1 - f) ln(5) / 2 + f (ln(10) + 2 ln(2)) / 6, their mean answer loss beside it. Left by: the end of the first {WINDOW}-prompt window (after the first) whose mean answer '
             f'loss is {DROP} (1 - f) below it ({DROP} for PPT prompts only, f = 1; `not yet`: an unfinished run). Valid: the plain LM head\'s VHR@1 at each validation; test: the kept checkpoint\'s, read once by the run.', '',
             '| run | layout | lr LoRA | stages | PPT share | halves epochs: loss / plateau | prompts | left the plateau by (prompts) | valid VHR@1 at the validations | test VHR@1 | loss per window |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for name, p in sorted(rows):
        v = ' / '.join(f'{x:.2f}' for _, x in sorted(p['valid'].items()))
        lines.append(f"| {name} | {p['layout']} | {p['lr_lora']:g} | {','.join(map(str, p['stages']))} | {p['ppt']:g}{' (1 in the first %d epochs)' % p['ppt_first'] if p['ppt_first'] else ''} | {halves_cell(p)} | {p['prompts']:,} | "
                     f"{format(p['left'], ',') if p['left'] else 'never' if p['finished'] else 'not yet'} | {v} | {'—' if p['test'] is None else format(p['test'], '.3f')} | "
                     f"{' '.join(f'{l:.2f}' for l in p['losses'])} |")
    out = ROOT / a.out
    out.write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines[6:]))
    print(f'wrote {out} ({len(rows)} runs)')


if __name__ == '__main__':
    main()
