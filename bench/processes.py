"""One process with every core's threads against one process per core (data parallel, `processes`), on this CPU.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/processes.py

The main command's model (config 'best', ml-100k with posters, seed 0, the frozen features from the cache), trained
for one short stage 3 (every modality active: two thirds of the main command's prompts are stage 3's), validated once
on the whole valid split and tested, three ways on the same prompts: one process with as many threads as cores (what
the main command did before `processes`), one process per core with one thread each (`processes` = cores,
`batch_size` 8 / cores: the same optimizer-step batches), and one process with one thread (what one of those
processes would do alone). The runs go one after another on this machine (keep it idle: other jobs slow whichever
run they overlap); each is the `speeder-train` command shown, in a temporary folder. Measured from each run's own
log: training prompts per second after its first five optimizer steps, the validation's seconds, and the whole
command's seconds; ratios against the first. Writes bench/results/processes.md and .json.
"""
import argparse, json, os, shlex, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one(name, args, env, out):
    "Run `speeder-train` with `args` (and `env`) into `out`; its measurements."
    exe = Path(sys.executable).parent / 'speeder-train'
    cmd = [str(exe), *args, '--output_dir', str(out), '--run_name', name, '--quiet']
    print(f'== {name}: {" ".join(f"{k}={v}" for k, v in env.items())} {shlex.join(cmd[1:])}', flush=True)
    t = time.time(); r = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, **env), capture_output=True, text=True)
    wall = time.time() - t
    if r.returncode: sys.exit(f'{name} failed (exit {r.returncode}):\n{r.stdout[-3000:]}{r.stderr[-3000:]}')
    run = out / 'ml-100k' / name
    rows = [json.loads(l) for l in (run / 'log.jsonl').read_text().splitlines()]
    steps = [x for x in rows if x['kind'] == 'step']; valid = next(x for x in rows if x['kind'] == 'valid')
    a, b = steps[4], steps[-1]
    m = json.loads((run / 'metrics.json').read_text())
    res = dict(prompts_per_s=(b['prompts'] - a['prompts']) / (b['time'] - a['time']), valid_s=valid['time'] - b['time'], wall_s=wall,
               processes=m['processes'], threads=env.get('OMP_NUM_THREADS', 'all'), precision=m['precision'], steps=len(steps),
               valid_vhr1=m['valid_best']['vhr1'], test_vhr1=m['test']['vhr1'], command=' '.join([*(f'{k}={v}' for k, v in env.items()), shlex.join(['speeder-train', *args])]))
    print(f"   {res['prompts_per_s']:.2f} prompts/s, validation {res['valid_s']:.1f} s, command {wall:.0f} s", flush=True)
    return res


def main(a):
    cores = len(os.sched_getaffinity(0)); n = cores if 8 % cores == 0 else 2   # processes: each takes 8 / n prompts per micro-batch
    base = ['--dataset', 'ml-100k', '--seed', str(a.seed), '--stages', '[3]', '--epochs', '[1]', '--samples_per_epoch', str(a.samples)]
    ways = {f'1 process, {cores} threads': ([*base, '--batch_size', '8'], {}),
            f'{n} processes, 1 thread each': ([*base, '--batch_size', str(8 // n), '--processes', str(n)], {}),
            '1 process, 1 thread': ([*base, '--batch_size', '8'], dict(OMP_NUM_THREADS='1'))}
    with tempfile.TemporaryDirectory() as d:
        res = {name: one(name.replace(' ', '-').replace(',', ''), args, env, Path(d)) for name, (args, env) in ways.items()}
    first = next(iter(res.values()))
    load = os.getloadavg()[0]
    sys.path.insert(0, str(ROOT))
    from speeder.experiment import machine
    md = [f"# One process against one process per core, on this CPU ({machine()['cpu']}, {cores} cores)", '',
          f'Reproduce: `HF_HUB_OFFLINE=1 .venv/bin/python bench/processes.py --samples {a.samples} --seed {a.seed}` '
          f'({time.strftime("%Y-%m-%d")}); 1-minute load average {load:.2f} at the end. Model: config `best`, ml-100k with posters, seed {a.seed}, '
          f'stage 3 alone, {a.samples} training prompts (8 per optimizer step), one validation on the whole valid split, then the test; precision '
          f'`{first["precision"]}` (auto). Prompts per second after the first five optimizer steps; validation seconds from the log; the whole '
          'command (start-up, features from the cache, training, validation, test) by the clock.', '',
          '| way | prompts / s | × | validation s | × | command s | × | valid VHR@1 | test VHR@1 |', '|---|---|---|---|---|---|---|---|---|']
    for name, r in res.items():
        md.append(f"| {name} | {r['prompts_per_s']:.2f} | {r['prompts_per_s'] / first['prompts_per_s']:.2f} | {r['valid_s']:.1f} | "
                  f"{first['valid_s'] / r['valid_s']:.2f} | {r['wall_s']:.0f} | {first['wall_s'] / r['wall_s']:.2f} | {r['valid_vhr1']:.3f} | {r['test_vhr1']:.3f} |")
    md += ['', '× : how many times faster than the first row. The VHR@1 columns only show that each run trained (a short stage 3 alone, '
           'not a configuration of the tables). Commands:', '', *[f'- {name}: `{r["command"]}`' for name, r in res.items()], '']
    out = ROOT / 'bench' / 'results' / 'processes'
    out.with_suffix('.md').write_text('\n'.join(md)); out.with_suffix('.json').write_text(json.dumps(dict(results=res, load=load, cores=cores), indent=1))
    print('\n'.join(md))


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--samples', type=int, default=480, help='training prompts (batch 8: 60 optimizer steps)')
    ap.add_argument('--seed', type=int, default=0)
    main(ap.parse_args())
