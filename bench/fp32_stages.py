"""Which committed runs trained their later MPO stages in fp32 (README "Stages after the first trained in fp32").

    .venv/bin/python bench/fp32_stages.py

From `bf563a6` (session 32) up to the fix `e58c446` (session 42) the trainer, on one process, trained every MPO stage
after a sitting's first without its bf16 autocast. A committed run is listed when its `metrics.json` asks for bf16, its
`experiment.json` has more than one stage, and the code commit its `metrics.json` names lies in that range (a run
resumed after the fix names the fix: its earlier sitting is not caught here, and the README names those by hand).
Beside each: the median seconds per optimizer step by stage (`bench/train_rate.py --by-stage`), where the fp32
stages show as slower ones. Writes bench/results/fp32_stages.md.
"""
import json, subprocess
from pathlib import Path

from records import ROOT
from train_rate import step_times

BUG, FIX = 'bf563a6', 'e58c446'


def ancestor(a: str, b: str) -> bool: return subprocess.run(['git', 'merge-base', '--is-ancestor', a, b], cwd=ROOT).returncode == 0


def main():
    rows = []
    for m in sorted((ROOT / 'bench/results').glob('**/metrics.json')):
        run, metrics = m.parent, json.loads(m.read_text())
        exp = run / 'experiment.json'
        commit = (metrics.get('code') or {}).get('commit')
        if metrics.get('precision') != 'bf16' or not exp.exists() or not commit: continue
        if len(json.loads(exp.read_text())['train']['stages']) < 2: continue
        if not (ancestor(BUG, commit) and not ancestor(FIX, commit)): continue
        steps = {}
        for r in map(json.loads, (run / 'log.jsonl').read_text().splitlines()):
            if r['kind'] == 'step': steps[r['global_step']] = r
        times = step_times([steps[g] for g in sorted(steps)])
        rows.append(f"| `{run.relative_to(ROOT)}` | {commit[:7]} | " + ' / '.join(f'{v:.1f}' for v, _ in times.values()) + ' |')
    out = ROOT / 'bench/results/fp32_stages.md'
    out.write_text(f'Committed multi-stage bf16 runs made with code from {BUG} up to the fix {FIX}: stage 1 in bf16, later stages in fp32. '
                   f'Command: `.venv/bin/python bench/fp32_stages.py`. {len(rows)} runs.\n\n'
                   '| run | code | median s / optimizer step, stage 1 / 2 / 3 |\n|---|---|---|\n' + '\n'.join(rows) + '\n')
    print(out.read_text())


if __name__ == '__main__':
    main()
