"""The paper's comparisons from one command (issue 13): Table 2 (methods), Table 3 (ablations), Figures 6 / 8 (efficiency).

    .venv/bin/python bench/paper_tables.py --scale cpu                     # this machine; resumable, many sittings
    .venv/bin/python bench/paper_tables.py --scale main --ablation-config best   # at the main command's 7,200 prompts (reuses bench/train_runs.py's records where their settings match)
    python bench/paper_tables.py --scale gpu --backbone path/to/Llama-2-7b  # a GPU machine, the paper's budgets
    .venv/bin/python bench/paper_tables.py --scale cpu --only table2 --rows llara "speeder (paper)" --seeds 0
    .venv/bin/python bench/paper_tables.py --scale cpu --only table2 table3 --seeds 0 --collect   # tables from finished runs, no training

Every training run is `speeder.experiment` (the function nbs/train.ipynb calls) in its own process, in
runs/<dataset>/tables-<scale>/<row>-seed<k>/: a finished run (metrics.json) is skipped, an unfinished one resumes
from its checkpoint, so rerunning the same command continues where the last sitting stopped. After every run the
tables are rewritten from whatever has finished (each row states its seeds) into bench/results/paper_tables_<scale>.md
and .json, and each finished run's record (`speeder.experiment.RECORD`: settings, metrics, step log, test answers) is copied to bench/results/paper_tables_runs/<dataset>/<scale>/
(committed: a fresh checkout reuses them instead of training again). Another --dataset writes its own tables, paper_tables_<dataset>_<scale>.md. All rows of a seed share its test set (the protocol's split and candidates depend on the seed only).

Table 2: random, popularity and the ID models (bench/results/id_baselines.jsonl: run bench/id_baselines.py with the
same image setting), then the LLM methods trained by the same trainer, backbone and prompt budget: TALLRec-style,
LLaRA-style, Speeder in the paper's configuration, in the workspace's best and with the pointer head (`config='pointer'`). A second budget gives Speeder (paper)
the training time LLaRA-style took (step time, validation excluded; its cheaper steps buy it more prompts), per seed.
Table 3: Speeder's ablations of one Table 2 row (--ablation-config: paper, the default; paper + seq_residual; best; best (teach 0), the best of
sessions 19-23; pointer): w/o PPT, w/o PPL, w/o SPAE
(both), w/o MPO (stage 3 alone, the same prompts), w/o MPO-S1 (stages 2 and 3, stage 1's prompts in stage 2), gate relu / none, w/o each modality (w/o text: vision is MRC's
anchor, ungated, read alone in MPO stages 1 and 2; w/o sequential also drops seq_residual and teach's teacher,
which are E_s). A finished run with identical settings and seed — a bench/train_runs.py record
(bench/results/train_runs_records/) or another row of the same scale — is reused instead of training the same run again.
Efficiency: bench/efficiency.py at n_max 5, 10, 20, 26, with the data's own titles and with 20-token titles, then
one figure (per-sample training step and generation vs n, Speeder / LLaRA / TALLRec).
"""
import argparse, json, os, shlex, subprocess, sys, time
from pathlib import Path

import numpy as np

from records import first_made, record_dir, settings

ROOT = Path(__file__).resolve().parents[1]
SCALES = {   # CPU: what fits these 2-core machines (main: the main command's 7,200 prompts); GPU: the paper's setting (batch 128, 7B backbone, longer)
    'cpu': dict(params=dict(samples_per_epoch=1200, epochs=[1, 1, 1], batch_size=8), seeds=[0, 1, 2],   # optimizer steps and warm-up: each configuration's own
                hours='one run takes 10-30 min of one core with bf16 autocast (a CPU with AMX), 0.5-1 h in fp32: Table 2 about 2 h and Table 3 about 3 h per seed with bf16'),
    'main': dict(params=dict(samples_per_epoch=1200, epochs=[1, 1, 4], batch_size=8, grad_accum=1, warmup_frac=0.05), seeds=[0, 1, 2],   # the README main command's budget (config best's own schedule)
                 hours='one Speeder run takes about 30 min of one core with bf16 (7,200 prompts), a title baseline about twice that'),
    'cpu-long': dict(params=dict(samples_per_epoch=1200, epochs=[1, 1, 8], batch_size=8, grad_accum=1, warmup_frac=0.05), seeds=[0, 1, 2],   # the long runs' schedule (README, "The long run")
                     hours='one Speeder run takes 36-60 min of one core with bf16 (12,000 prompts), a title baseline about twice that: Table 2 about 6 h and Table 3 about 7 h per seed'),
    'gpu': dict(params=dict(samples_per_epoch=20000, epochs=[1, 1, 5], batch_size=32, grad_accum=4, n_max=20, text_encoder='llm'), seeds=[0, 1, 2, 3, 4],
                hours='not measured yet (no GPU run so far)'),
}
TABLE2 = {'tallrec': dict(method='tallrec', config='paper'), 'tallrec (lr 5e-4)': dict(method='tallrec', config='paper', lr_lora=5e-4, lr_items=1e-3),   # its rates before session 26 (Speeder's)
          'llara': dict(method='llara', config='paper'),
          'speeder (paper)': dict(config='paper'), 'speeder (paper + seq_residual)': dict(config='paper', seq_residual=1.0), 'speeder (best)': dict(config='best'),
          'speeder (best, teach 0)': dict(config='best', teach=0.0), 'speeder (pointer)': dict(config='pointer')}   # best, teach 0: the best of sessions 19-23, before the E_s teacher
ABLATION_BASES = {'paper': 'speeder (paper)', 'paper + seq_residual': 'speeder (paper + seq_residual)', 'best': 'speeder (best)', 'best (teach 0)': 'speeder (best, teach 0)',
                  'pointer': 'speeder (pointer)'}   # --ablation-config: the Table 2 row Table 3 ablates
EQUAL_TIME = {f'{base}, LLaRA-style wall time': base for base in ('speeder (paper)', 'speeder (best)', 'speeder (best, teach 0)')}   # equal wall-clock rows: the Speeder row given LLaRA-style's training time
TABLE3 = {'speeder': {}, 'w/o PPT': dict(ppt=False), 'w/o PPL': dict(ppl=False), 'w/o SPAE': dict(ppt=False, ppl=False),
          'w/o MPO (stage 3 alone)': 'stage3', 'w/o MPO-S1': 'no-s1', 'gate relu': dict(gate='relu'), 'w/o tanh (gate none)': dict(gate='none'),
          'w/o text': dict(modalities=['vision', 'sequential']), 'w/o vision': dict(modalities=['text', 'sequential']), 'w/o sequential': dict(modalities=['text', 'vision'])}
ID_ROWS = ['popularity', 'gru4rec', 'sasrec', 'bert4rec']


def tables_name(a) -> str:
    "The tables' file name: paper_tables_<scale> for ml-100k (the default dataset), paper_tables_<dataset>_<scale> for another."
    return f'paper_tables_{a.scale}' if a.dataset == 'ml-100k' else f"paper_tables_{a.dataset.replace(':', '_')}_{a.scale}"


def slug(name): return ''.join(c if c.isalnum() else '-' for c in name).strip('-').replace('--', '-')


def run(a, table, name, params, seed, train: bool = True) -> dict | None:
    "One training run through `python -m speeder.experiment` (a finished one is reused if it has these settings); its metrics, or None if it failed or (`train` False) has not finished."
    from speeder.experiment import config_diff, copy_record
    out = Path(a.runs) / a.dataset.replace(':', '_') / f'tables-{a.scale}'
    run_dir = out / f'{table}-{slug(name)}-seed{seed}'
    record = record_dir(a.dataset, f'tables-{a.scale}/{run_dir.name}')   # committed copy (bench/results/paper_tables_runs/): finished runs survive a fresh checkout
    if not (run_dir / 'metrics.json').exists() and (record / 'metrics.json').exists(): run_dir = record
    p = row_params(a, params, seed, f'tables-{a.scale}/{run_dir.name}')
    new = settings(p)   # this row's settings, as a run saves them
    if not (run_dir / 'metrics.json').exists():   # the same run made by bench/train_runs.py or as another row of this scale (identical settings and seed): reused
        pool = [*record_dir(a.dataset, '').glob(f'*-seed{seed}'), *record.parent.glob(f'*-seed{seed}'), *out.glob(f'*-seed{seed}')]
        same = sorted((d for d in pool if d.resolve() != run_dir.resolve() and (d / 'metrics.json').exists() and (d / 'experiment.json').exists()
                       and not config_diff(json.loads((d / 'experiment.json').read_text()), new)), key=first_made)
        if same:   # the first made: a later rerun of the same settings (e.g. on another E_s) is a second test read, never the row's
            print(f'== {table} / {name} / seed {seed}: reusing {same[0].relative_to(ROOT) if same[0].is_relative_to(ROOT) else same[0]} (identical settings)'
                  + (f'; later runs of these settings, not used: {", ".join(d.name for d in same[1:])}' if same[1:] else ''), flush=True); run_dir = same[0]
    if (run_dir / 'metrics.json').exists():   # experiment.json: the settings as given (metrics.json's config also holds what the model derived from its inputs)
        diff = config_diff(json.loads((run_dir / 'experiment.json').read_text()), new)
        why = f'{run_dir} finished with other settings ({", ".join(f"{k}: {a!r} there, {b!r} now" for k, a, b in diff[:4])})'
        if diff and not train:   # only read: a stale local folder (e.g. made before a named configuration changed) is left out, not fatal
            print(f'== {table} / {name} / seed {seed}: {why}; not this row\'s run, left out (move it away to stop this note)', flush=True); return None
        if diff: sys.exit(f'{why}: move it away, or run with another --runs folder.')
    elif not train: return None   # this row is only read from finished runs
    else:
        args = [x for k, v in p.items() for x in (f'--{k}', v if isinstance(v, str) else json.dumps(v))]
        print(f'== {table} / {name} / seed {seed}: {" ".join(args)}', flush=True)
        t = time.time(); r = subprocess.run([sys.executable, '-m', 'speeder.experiment', *args], cwd=ROOT)
        if r.returncode: print(f'   failed (exit {r.returncode}) after {time.time() - t:.0f} s; rerun to resume it', flush=True); return None
    if run_dir == out / run_dir.name: copy_record(run_dir, record)   # trained here (not a committed record, nor a train_runs one)
    return dict(json.loads((run_dir / 'metrics.json').read_text()), step_s=step_seconds(run_dir))


def row_params(a, params, seed, run_name='') -> dict:
    "A row's notebook parameters at this scale: the scale's, then the row's own."
    return {**SCALES[a.scale]['params'], **({'backbone': a.backbone} if a.backbone else {}), **params, 'dataset': a.dataset, 'seed': seed,
            'output_dir': str(Path(a.runs)), 'run_name': run_name}


def table3_rows(a, cfg, base) -> dict:
    """Table 3's rows for the ablated Table 2 row `base` (of --ablation-config `cfg`): name -> (table, run name, parameters).
    A row whose settings repeat an earlier row's for this configuration (w/o PPT where there is no PPT) is left out, saying so."""
    from speeder.experiment import config_diff
    rows, saved = {}, {}
    for name, p in TABLE3.items():
        p = stage3_params(a) if p == 'stage3' else no_s1_params(a) if p == 'no-s1' else p
        if not p: rows[name] = ('t2', base, TABLE2[base])   # the full model: Table 2's run of the same configuration
        else: rows[name] = ('t3' if cfg == 'paper' else f't3-{slug(cfg)}', name,
                            {**TABLE2[base], **p, **({'seq_residual': 0.0, 'seq_residual_all_stages': False, 'teach': 0.0} if 'sequential' not in p.get('modalities', ['sequential']) else {})})   # seq_residual and teach's teacher are E_s
        saved[name] = settings(row_params(a, rows[name][2], 0))
        twin = next((n for n in rows if n != name and not config_diff(saved[n], saved[name])), None)
        if twin: print(f'== table 3 ({cfg}) / {name}: the same settings as {twin!r} for this configuration: not a separate row', flush=True); del rows[name]
    return rows


def step_seconds(run_dir) -> float:
    "Training time without validation (whose generation costs the title baselines far more): the clock at the last step minus each validation's span."
    rows = [json.loads(l) for l in (run_dir / 'log.jsonl').read_text().splitlines()]
    last, spent, t = 0., 0., 0.
    for r in rows:
        if r['kind'] == 'step': t = last = r['time']
        elif r['kind'] == 'valid' and r['time'] <= max(x['time'] for x in rows if x['kind'] == 'step'): spent += r['time'] - t
    return last - spent


def time_ratio(sp, ll) -> float | None:
    """LLaRA-style's training time per prompt over Speeder's. From the efficiency bench at the runs' n_max with the data's titles
    where it exists: both methods timed interleaved in one process, so the machine's load cancels (two runs' own clocks, taken
    at different times on a shared machine, differed by 1.6x between seeds 0 and 1). Otherwise (a GPU machine) from the two
    runs' step time, validation excluded; None without either."""
    n = sp['config']['model']['n_max']
    f = ROOT / f'bench/results/efficiency_n/n{n}-own.json'
    if f.exists():
        r = json.loads(f.read_text())['rows']; ratio = r['llara']['train'] / r['speeder']['train']; src = f.relative_to(ROOT)
    elif ll: ratio = ll['step_s'] / sp['step_s']; src = 'the two runs\' step time'
    else: return None
    print(f'   equal wall-clock: LLaRA-style / Speeder training time per prompt = {ratio:.2f} ({src})', flush=True)
    return ratio


def realised_times(res) -> str:
    "Each equal wall-clock run's training minutes against LLaRA-style's of the same seed (both clocks without validation)."
    ll = {s: m for (t, n, s), m in res.items() if t == 't2' and n == 'llara' and m}
    out = [f'{name}, seed {s}: {m["step_s"] / 60:.1f} min against LLaRA-style\'s {ll[s]["step_s"] / 60:.1f} ({m["train_prompts"] / ll[s]["train_prompts"]:.2f}x the prompts)'
           for (t, name, s), m in res.items() if t == 't2' and name in EQUAL_TIME and m and s in ll]
    return '; '.join(out) or 'no pair finished yet'


def stat(vals):
    v = [x for x in vals if x is not None]
    return '—' if not v else f'{np.mean(v):.3f} ± {np.std(v):.3f}' if len(v) > 1 else f'{v[0]:.3f}'


def llm_row(name, ms, ref=None):
    "One table row over a method's seeds; with `ref` (the full model's metrics by seed), the paired difference in test VHR@1 on the seeds both have."
    t = lambda k: [m['test'].get(k) for m in ms]
    extra = stat([m['test'].get('guided_vhr1') for m in ms]) if any('guided_vhr1' in m['test'] for m in ms) else '—'
    delta = '' if ref is None else f" {stat([m['test']['vhr1'] - ref[m['seed']]['test']['vhr1'] for m in ms if m['seed'] in ref]) if any(m['seed'] in ref for m in ms) else '—'} |"
    fp = lambda m: '·'.join((m.get('features') or {}).get(k, '–')[:4] for k in ('text', 'sequential'))
    return (f"| {name} | {','.join(str(m['seed']) for m in ms)} | {stat([m['valid_best'].get('vhr1') for m in ms])} | {stat(t('valid_ratio'))} | {stat(t('hr1'))} | **{stat(t('vhr1'))}** |{delta} {extra} | "
            f"{np.mean([m['train_prompts'] for m in ms]):,.0f} | {np.mean([m['train_time_s'] for m in ms]) / 60:.1f} | {' / '.join(fp(m) for m in ms)} |")


def write(a, res):
    "Rewrite the tables from the finished runs."
    images = find_images(a)
    ids = [json.loads(l) for l in (ROOT / 'bench/results/id_baselines.jsonl').read_text().splitlines()] if (ROOT / 'bench/results/id_baselines.jsonl').exists() else []
    ids = [r for r in ids if r['dataset'] == a.dataset and r['images'] == images]
    md = [f'# The paper\'s tables on {a.dataset} ({a.scale} scale)', '', f'Command: `{shlex.join(["python", "bench/paper_tables.py"] + sys.argv[1:])}`. '
          f'Scale: {json.dumps(SCALES[a.scale]["params"])}; {SCALES[a.scale]["hours"]}. Images: {"posters" if images else "none (text + ID)"}. '
          'Test read once per run (the checkpoint chosen on valid); mean ± population sd (numpy std, ddof 0) over the seeds listed per row; every row of a seed on the same test set.', '',
          '## Table 2 analogue', '', '| method | seeds | valid VHR@1 | ValidRatio | HR@1 | **VHR@1** | pointer-guided VHR@1 (extra) | training prompts | train min | features (text·$E_s$) |', '|---|---|---|---|---|---|---|---|---|---|',
          f'| random | all | 0.200 | 1.000 | 0.200 | **0.200** | — | — | — | — |']
    for mname in ID_ROWS:
        rs = [r for r in ids if r['model'] == mname and r['seed'] in a.seeds]
        if rs: md.append(f"| {mname} (ID) | {','.join(str(r['seed']) for r in rs)} | {stat([r['valid_hr1'] for r in rs])} | 1.000 | {stat([r['test_hr1'] for r in rs])} | **{stat([r['test_hr1'] for r in rs])}** | — | — | — | — |")
    if not ids: md.append('| (ID models: run `bench/id_baselines.py` with the same image setting) | | | | | | | | | |')
    for name in list(TABLE2) + list(EQUAL_TIME):
        ms = [m for (t, n, s), m in res.items() if t == 't2' and n == name and m]
        if ms: md.append(llm_row(name, ms))
    md += ['', 'ID models (bench/id_baselines.py: the same dataset, image setting and seed, so the same test set) score one pass over the candidates (ValidRatio 1 by construction, HR@1 = VHR@1). LLM methods: the paper\'s generated '
           'ValidRatio / HR@1 / VHR@1 (plain LM head); `speeder (pointer)`\'s own decoder (pointer-guided generation, an extra) in its own column. '
           f'Answering one fixed letter scores, on these test sets, {fixed_letter(a)} (a model stuck on one letter lands anywhere in that range). '
           'Valid VHR@1: the plain LM head\'s on valid at the checkpoint the run kept (chosen on its configuration\'s own valid metric); for ID models their valid HR@1. '
           f'Train min: each run\'s own clock on a shared machine, under whatever else ran (not comparable between rows); a `…, LLaRA-style wall time` row gets LLaRA-style\'s time through its prompts: '
           'its Speeder row\'s prompts times LLaRA-style ÷ Speeder training time per prompt, measured interleaved in one process by the efficiency bench at the runs\' history length (`time_ratio`). '
           f'How equal the times came out, by the runs\' own training clocks (validation excluded; `step_seconds`): {realised_times(res)}.',
           'Features: each run\'s frozen text and $E_s$ fingerprints (first 4 hex digits of those in its metrics.json; vision follows text), seed by seed: features are computed per machine '
           '(README, "$E_s$ and the CPU"), so two rows compare like for like on a seed only where these match; the test set is the same either way.']
    for cfg in ABLATION_BASES:   # one Table 3 per ablated configuration that has finished rows
        rows = {n: [m for (t, n2, s), m in res.items() if t == f't3:{cfg}' and n2 == n and m] for n in TABLE3}
        if not any(ms for n, ms in rows.items() if n != 'speeder'): continue   # no ablation finished yet
        full = {m['seed']: m for m in rows['speeder']}
        md += ['', f'## Table 3 analogue (ablations of Speeder, {cfg} configuration)', '',
               '| variant | seeds | valid VHR@1 | ValidRatio | HR@1 | **VHR@1** | Δ VHR@1 vs speeder, same seeds | pointer-guided VHR@1 (extra) | training prompts | train min | features (text·$E_s$) |', '|---|---|---|---|---|---|---|---|---|---|---|']
        md += [llm_row(n, ms, ref=full if n != 'speeder' else {}) for n, ms in rows.items() if ms]   # {}: no difference to itself
        md += ['', 'Δ: the variant\'s test VHR@1 minus the full model\'s, seed by seed (the same test set), averaged over the seeds both have. '
               'Every other number of a run is in its `metrics.json`.']
    eff = ROOT / 'bench/results/efficiency_n.md'
    if eff.exists(): md += ['', '## Efficiency (Figures 6 and 8 analogue)', '', eff.read_text()]
    (ROOT / f'bench/results/{tables_name(a)}.md').write_text('\n'.join(md) + '\n')
    (ROOT / f'bench/results/{tables_name(a)}.json').write_text(json.dumps({f'{t}|{n}|{s}': dict(test=m['test'], valid=m['valid_best'], seed=s, train_prompts=m['train_prompts'],
                                                                                  train_time_s=m['train_time_s']) for (t, n, s), m in res.items() if m}, indent=1))   # finished runs only


def fixed_letter(a) -> str:
    "What answering one fixed letter scores on each seed's test set (the targets' letters are not uniform)."
    from speeder.data import load_dataset
    out = []
    for seed in a.seeds:
        lab = np.asarray(load_dataset(a.dataset, image_dir=find_posters_dir(a), n_max=SCALES[a.scale]['params'].get('n_max', 10), seed=seed, verbose=False).test.labels)
        share = [float(np.mean(lab == k)) for k in range(int(lab.max()) + 1)]
        out.append(f'seed {seed}: {min(share):.3f}–{max(share):.3f}')
    return '; '.join(out)


def find_posters_dir(a):
    "The ml-100k posters' folder when the runs use them (as nbs/train.ipynb's image_dir='auto' does), else None."
    sys.path.insert(0, str(ROOT))
    from speeder.data import find_posters
    return find_posters() if a.dataset == 'ml-100k' else None


def find_images(a): return find_posters_dir(a) is not None


def stage3_params(a):
    "w/o MPO: stage 3 alone with as many epochs as the staged run has in all (the same prompts)."
    ep = SCALES[a.scale]['params']['epochs']; stages = [1, 2, 3] if find_images(a) else [1, 3]
    return dict(stages=[3], epochs=[sum(ep[s - 1] for s in stages)])


def no_s1_params(a):
    """The paper's w/o MPO-S1: the curriculum without its first stage; stage 1's epochs go to the next stage (the same
    prompts). Without images the stages are 1 and 3, so this is stage 3 alone: the w/o MPO row, left out as its twin."""
    ep = SCALES[a.scale]['params']['epochs']; stages = [2, 3] if find_images(a) else [3]
    return dict(stages=stages, epochs=[ep[0] + ep[stages[0] - 1]] + [ep[s - 1] for s in stages[1:]])


def main(a):
    "Train what --only / --rows ask for (unless --collect) and read every other row from finished runs, so the tables always show all that has finished."
    res, want = {}, lambda part, name: part in a.only and not a.collect and (not a.rows or name in a.rows)
    for seed in a.seeds:
        for name, p in TABLE2.items():
            res[('t2', name, seed)] = r = run(a, 't2', name, p, seed, train=want('table2', name))
            if r: write(a, res)
        for name, base in EQUAL_TIME.items():   # equal wall-clock: Speeder gets LLaRA-style's training time, as more prompts per epoch
            sp, ll = res.get(('t2', base, seed)), res.get(('t2', 'llara', seed))
            ratio = time_ratio(sp, ll) if sp else None
            if ratio is None: continue
            n = int(round(SCALES[a.scale]['params']['samples_per_epoch'] * ratio))
            res[('t2', name, seed)] = r = run(a, 't2', name, dict(TABLE2[base], samples_per_epoch=n), seed, train=want('table2', name))
            if r: write(a, res)
    for cfg, base in ABLATION_BASES.items():   # every ablation configuration's finished rows; the one asked for is trained
        rows = table3_rows(a, cfg, base)
        for seed in a.seeds:
            for name, (table, run_name, p) in rows.items():
                train = want('table3', name) and cfg == a.ablation_config
                res[(f't3:{cfg}', name, seed)] = r = run(a, table, run_name, p, seed, train=train)
                if r and train: write(a, res)
    if 'efficiency' in a.only and not a.collect:
        if a.scale == 'gpu': print('efficiency: on a GPU, bench/gpu_bench.py (run by bench/gpu.sh) times Speeder vs LLaRA-style on a 7B-shaped backbone; this sweep is the CPU one')
        else: efficiency(a)
    write(a, res)
    print((ROOT / f'bench/results/{tables_name(a)}.md').read_text())


def efficiency(a):
    "bench/efficiency.py at each history length, with the data's titles and with titles of 20 tokens; one figure and table."
    rows = []
    for titles in (None, 20):
        for n in (5, 10, 20, 26):
            out = Path('bench/results/efficiency_n') / f'n{n}-{"own" if titles is None else f"t{titles}"}'   # relative to ROOT (the reproduce line it writes)
            if not (ROOT / f'{out}.json').exists():
                cmd = [sys.executable, 'bench/efficiency.py', '--n-max', str(n), '--rounds', str(a.eff_rounds), '--out', str(out)] + (['--title-tokens', str(titles)] if titles else [])
                print('== efficiency:', ' '.join(cmd[1:]), flush=True)
                subprocess.run(cmd, cwd=ROOT, check=True, env=dict(os.environ, OMP_NUM_THREADS='1'))
            d = json.loads((ROOT / f'{out}.json').read_text())
            rows.append(dict(n=n, titles='own' if titles is None else f'{titles} tokens', **{m: d['rows'][m] for m in ('speeder', 'llara', 'tallrec')}))
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for j, titles in enumerate(('own', '20 tokens')):
        rs = [r for r in rows if r['titles'] == titles]; ns = [r['n'] for r in rs]
        for i, (key, what) in enumerate((('train', 'training step'), ('total', 'generation (prompt + decode)'))):
            ax = axes[i, j]
            for m, lab in (('speeder', 'Speeder'), ('llara', 'LLaRA-style'), ('tallrec', 'TALLRec-style')):
                ax.plot(ns, [1e3 * r[m][key] for r in rs], marker='o', label=lab)
            for r in rs: ax.annotate(f"{r['llara'][key] / r['speeder'][key]:.1f}x", (r['n'], 1e3 * r['llara'][key]), textcoords='offset points', xytext=(0, 5), ha='center', fontsize=8)
            ax.set_title(f'{what}, titles: {titles}'); ax.set_ylabel('ms / sample'); ax.grid(alpha=.3)
            if i == 1: ax.set_xlabel('history length n (n_max)')
    axes[0, 0].legend(); fig.suptitle('Per-sample cost vs history length (CPU, fp32, one thread, SmolLM2-135M + LoRA)\nlabels: LLaRA-style ÷ Speeder; the paper reports 2.5x (training) and ~4x (inference)')
    fig.tight_layout(); fig.savefig(ROOT / 'bench/results/efficiency_n.png', dpi=110)
    md = ['![efficiency](efficiency_n.png)', '', '| titles | n | tokens S / L / T | train ms S / L / T | LLaRA ÷ Speeder train | generation ms S / L / T | LLaRA ÷ Speeder generation |', '|---|---|---|---|---|---|---|']
    for r in rows:
        s, l, t = r['speeder'], r['llara'], r['tallrec']
        md.append(f"| {r['titles']} | {r['n']} | {s['tokens']:.0f} / {l['tokens']:.0f} / {t['tokens']:.0f} | {1e3 * s['train']:.0f} / {1e3 * l['train']:.0f} / {1e3 * t['train']:.0f} | "
                  f"{l['train'] / s['train']:.2f}x | {1e3 * s['total']:.0f} / {1e3 * l['total']:.0f} / {1e3 * t['total']:.0f} | {l['total'] / s['total']:.2f}x |")
    (ROOT / 'bench/results/efficiency_n.md').write_text('\n'.join(md) + '\n')


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--scale', choices=list(SCALES), default='cpu')
    ap.add_argument('--dataset', default='ml-100k')
    ap.add_argument('--seeds', type=int, nargs='+', default=None)
    ap.add_argument('--only', nargs='+', default=['table2', 'table3', 'efficiency'], choices=['table2', 'table3', 'efficiency'])
    ap.add_argument('--rows', nargs='+', default=None, help='only these rows (names as in the tables)')
    ap.add_argument('--ablation-config', default='paper', choices=list(ABLATION_BASES))
    ap.add_argument('--backbone', default=None, help='HF name or folder (gpu scale: the 7B backbone)')
    ap.add_argument('--eff-rounds', type=int, default=3)
    ap.add_argument('--runs', default='runs')
    ap.add_argument('--collect', action='store_true', help='write the tables from finished runs only (train nothing)')
    a = ap.parse_args(); a.seeds = a.seeds or SCALES[a.scale]['seeds']
    main(a)
