"""Whether training on this CPU is bit-reproducible: the same command and seed run twice, their losses compared step by step.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/rerun_drift.py

The main command's settings (config 'best', ml-100k with posters when found, seed 0, the cached frozen features) for
its first `--prompts` training prompts (MPO stage 1 alone; the same learning-rate schedule as a run of that length),
twice, one after the other, each the `speeder-train` command shown in its own temporary folder. Reports the first
optimizer step whose loss differs between the two runs (and by how much), and the last losses of each. Writes
bench/results/rerun_drift.md and .json.
"""
import argparse, json, os, shlex, subprocess, sys, tempfile
from pathlib import Path

from speeder.experiment import machine

ROOT = Path(__file__).resolve().parents[1]


def losses(args: list, out: Path, name: str) -> list:
    "Run `speeder-train` with `args` into `out`/ml-100k/`name`; the loss of every optimizer step, in order."
    cmd = [str(Path(sys.executable).parent / 'speeder-train'), *args, '--output_dir', str(out), '--run_name', name, '--quiet']
    print('==', shlex.join(cmd[1:]), flush=True)
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode: sys.exit(f'{name} failed (exit {r.returncode}):\n{r.stdout[-3000:]}{r.stderr[-3000:]}')
    return [json.loads(l)['loss'] for l in (out / 'ml-100k' / name / 'log.jsonl').read_text().splitlines() if '"step"' in l]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--prompts', type=int, default=240, help='training prompts per run (batch 8: prompts / 8 optimizer steps)')
    ap.add_argument('--out', default=str(ROOT / 'bench/results/rerun_drift'))
    a = ap.parse_args()
    args = ['--stages', '[1]', '--epochs', '[1]', '--samples_per_epoch', str(a.prompts), '--eval_samples', '32']
    with tempfile.TemporaryDirectory() as d:
        runs = [losses(args, Path(d), f'run{k}') for k in (1, 2)]
    first = next((i for i, (x, y) in enumerate(zip(*runs)) if x != y), None)
    res = dict(command=f'HF_HUB_OFFLINE=1 .venv/bin/python bench/rerun_drift.py --prompts {a.prompts}', args=args, steps=len(runs[0]),
               first_differing_step=None if first is None else first + 1, losses=runs, cpu=machine())
    Path(a.out + '.json').write_text(json.dumps(res, indent=1))
    lines = [f'# Rerun drift: the same command twice\n', f'Command: `{res["command"]}` (each run: `speeder-train {shlex.join(args)}`). Machine: {res["cpu"]}.\n']
    if first is None: lines.append(f'The two runs agree to the last bit at all {len(runs[0])} optimizer steps.')
    else: lines.append(f'The two runs agree to the last bit for {first} optimizer steps; from step {first + 1} on they differ '
                       f'(loss {runs[0][first]!r} against {runs[1][first]!r}); at the last step ({len(runs[0])}) {runs[0][-1]!r} against {runs[1][-1]!r}.')
    Path(a.out + '.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
