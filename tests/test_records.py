"""The committed run records (bench/results/*_records, *_runs): every run's per-sample test answers give the numbers in its
metrics.json, and bench/paired.py compares two committed runs on the very samples those numbers came from."""
import json, subprocess, sys
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_posters
from speeder.eval import gen_metrics

ROOT = Path(__file__).resolve().parents[1]
RECORDS = sorted(p.parent for d in ('train_runs_records', 'paper_tables_runs') for p in (ROOT / 'bench/results' / d).glob('**/test_predictions.json'))
DECODER = dict(pointer_pick='pointer_hr1', letter_pick='letter_hr1')   # one-pass picks: HR@1 = their hit rate


@pytest.mark.parametrize('run', RECORDS, ids=lambda p: p.name)
def test_predictions_give_metrics(run):
    m, p = json.loads((run / 'metrics.json').read_text()), json.loads((run / 'test_predictions.json').read_text())
    target = np.asarray(p['target'])
    assert len(target) == m.get('n_test', m['test']['n'])
    for k, v in gen_metrics(p['answer'], target).items():   # the paper's ValidRatio / HR@1 / VHR@1 from the generated answers
        if k in m['test']: assert v == pytest.approx(m['test'][k], abs=1e-6), (run, k)
    for key, metric in DECODER.items():
        if key in p and metric in m['test']: assert np.mean(np.asarray(p[key]) == target) == pytest.approx(m['test'][metric], abs=1e-6), (run, key)
    if 'guided_answer' in p: assert gen_metrics(p['guided_answer'], target)['vhr1'] == pytest.approx(m['test']['guided_vhr1'], abs=1e-6)


def test_paired_on_records(tmp_path):
    "Two committed tags, 3 seeds: the table row's hit rates are the runs' own test VHR@1 means."
    tags = ('paper-seqres-long', 'paper-seqres3-long')
    recs = {t: [ROOT / 'bench/results/train_runs_records/ml-100k' / f'{t}-seed{s}' for s in range(3)] for t in tags}
    if not all((r / 'test_predictions.json').exists() for rs in recs.values() for r in rs): pytest.skip('records without test_predictions.json')
    out = tmp_path / 'paired.md'
    r = subprocess.run([sys.executable, 'bench/paired.py', *tags, '--boot', '200', '--out', str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    row = [l for l in out.read_text().splitlines() if l.startswith('| ml-100k |')]
    assert len(row) == 1
    cells = row[0].split(' | ')
    want = [np.mean([json.loads((x / 'metrics.json').read_text())['test']['vhr1'] for x in recs[t]]) for t in tags]
    assert [float(cells[6]), float(cells[7])] == pytest.approx(want, abs=6e-4)
    assert cells[5] == '405'


@needs_posters   # the records were made with the posters: without them the settings differ by design (no vision, MPO stages 1 and 3)
def test_main_scale_is_the_main_command():
    "bench/paper_tables.py --scale main: its `speeder (best)` row has the settings of nbs/train.ipynb's default (config='best'), and its w/o MPO row runs as many prompts, and the committed bench/train_runs.py records these rows reuse have exactly their settings."
    sys.path.insert(0, str(ROOT / 'bench'))
    import argparse
    import paper_tables as pt
    from records import settings, settings_diff
    from speeder.experiment import config_diff, experiment_config
    a = argparse.Namespace(scale='main', backbone=None, dataset='ml-100k', runs='runs')
    row = pt.row_params(a, pt.TABLE2['speeder (best)'], 0, 'x')
    assert config_diff(settings(row), settings(dict(dataset='ml-100k', seed=0, run_name='y', output_dir='runs'))) == []
    staged = experiment_config(verbose=False, **row)
    rows = pt.table3_rows(a, 'best', 'speeder (best)')
    assert 'w/o PPT' not in rows   # best has no PPT: that row would repeat the full model
    alone = experiment_config(verbose=False, **pt.row_params(a, rows['w/o MPO (stage 3 alone)'][2], 0, 'z'))
    assert tuple(alone.train.stages) == (3,) and sum(alone.train.epochs) == sum(staged.train.epochs)
    no_s1 = experiment_config(verbose=False, **pt.row_params(a, rows['w/o MPO-S1'][2], 0, 'z'))   # w/o MPO-S1: stages 2 and 3, the same prompts
    assert tuple(no_s1.train.stages) == (2, 3) and sum(no_s1.train.epochs) == sum(staged.train.epochs)
    # the committed train_runs records these rows reuse have exactly the rows' settings (made with the posters)
    old = pt.table3_rows(a, 'best (teach 0)', 'speeder (best, teach 0)')   # the best of sessions 19-23, before the E_s teacher
    assert old['w/o sequential'][2]['teach'] == rows['w/o sequential'][2]['teach'] == 0.0   # no E_s: no teacher either
    reused = {'speeder (best)': ('best-teach', [0, 1, 2], pt.TABLE2['speeder (best)']), 'speeder (best, teach 0)': ('best', [0, 1, 2], pt.TABLE2['speeder (best, teach 0)']),
              'speeder (paper)': ('paper-accum1-w05-s3x4', [0, 1, 2], pt.TABLE2['speeder (paper)']), 'w/o MPO, teach 0': ('best-s3x6', [0, 1, 2], old['w/o MPO (stage 3 alone)'][2])}
    for name, (tag, seeds, p) in reused.items():
        for seed in seeds:
            rec = ROOT / f'bench/results/train_runs_records/ml-100k/{tag}-seed{seed}'
            diff = settings_diff(rec, pt.row_params(a, p, seed, 'x'))
            assert [d for d in diff if d[0] != 'images'] == [], (name, rec, diff)


@needs_posters   # the records were made with the posters: without them the settings differ by design (no vision, MPO stages 1 and 3)
def test_train_runs_commands_remake_their_records():
    "Every bench/train_runs.py command listed in bench/results/train_runs.md (the parameters train_runs.json stores per tag) has its committed record's exact settings: rerunning it reuses the record, never refuses it (a named configuration that changed, e.g. best's teach, is pinned in the stored parameters)."
    sys.path.insert(0, str(ROOT / 'bench'))
    from records import record_dir, settings_diff
    rows = json.loads((ROOT / 'bench/results/train_runs.json').read_text())
    checked = 0
    for r in rows:
        rec = record_dir(r['dataset'], f"{r['tag']}-seed{r['seed']}")
        if not (rec / 'experiment.json').exists(): continue   # runs older than records
        diff = settings_diff(rec, dict(r.get('params') or {}, dataset=r['dataset'], seed=r['seed'], run_name='x'))
        assert [d for d in diff if d[0] != 'images'] == [], (r['tag'], r['seed'], diff)
        checked += 1
    assert checked >= 40


def test_paper_tables_runs_are_found_by_tag():
    "Every committed bench/paper_tables.py record is found by the bench scripts under its run name (tables-<scale>/<run>), seeds listed by its tag: paired.py and learning_curves.py work from a fresh clone."
    sys.path.insert(0, str(ROOT / 'bench'))
    from records import finished, names, record_dir
    runs = sorted((ROOT / 'bench/results/paper_tables_runs').glob('*/*/*-seed*/metrics.json'))
    assert runs
    for m in runs:
        run, scale, dataset = m.parent.name, m.parent.parent.name, m.parent.parent.parent.name
        name = f'tables-{scale}/{run}'
        assert record_dir(dataset, name) == m.parent and finished(dataset, name) is not None
        assert name in names(dataset, name.rpartition('-seed')[0])


# runs resumed across sittings before metrics.json's wall_time_s counted the earlier sittings (it held the last sitting's clock only)
WALL_BEFORE_FIX = {'cpu/t2-tallrec-lr-5e-4-seed1', 'cpu/t3-w-o-vision-seed0', 'main/t2-llara-seed0', 'main/t2-llara-seed1', 'main/t2-speeder-best-teach-0--LLaRA-style-wall-time-seed1'}


@pytest.mark.parametrize('run', RECORDS, ids=lambda p: p.name)
def test_wall_time_covers_training(run):
    "A run's wall time (every sitting) is at least its training time (every sitting, up to the last checkpoint)."
    m = json.loads((run / 'metrics.json').read_text())
    if f'{run.parent.name}/{run.name}' in WALL_BEFORE_FIX: pytest.skip('resumed before wall_time_s counted earlier sittings')
    assert m['wall_time_s'] >= m['train_time_s']


def test_plateau_on_records():
    "bench/plateau.py on committed runs: a stuck run never leaves the ln(5)/2 plateau, a learning one does when its loss falls; PPT prompts lower the level."
    sys.path.insert(0, str(ROOT / 'bench'))
    from plateau import plateau
    rec = ROOT / 'bench/results/train_runs_records/ml-100k'
    stuck, learnt, with_ppt = (plateau(rec / n) for n in ('best-s3x6-seed0', 'best-seed0', 'paper-seqres-long-seed0'))
    assert stuck['level'] == pytest.approx(np.log(5) / 2) and stuck['left'] is None
    assert all(abs(l - stuck['level']) < 0.05 for l in stuck['losses'][1:])   # on the plateau from the first window after the warm-up to the end
    assert learnt['left'] == 3600 and learnt['losses'][learnt['left'] // 600 - 1] < learnt['level'] - 0.05 <= min(learnt['losses'][1:learnt['left'] // 600 - 1])
    assert with_ppt['level'] == pytest.approx(0.8 * np.log(5) / 2 + 0.2 * np.log(2) / 2) and with_ppt['left'] == 7200
    assert plateau(ROOT / 'bench/results/paper_tables_runs/ml-100k/main/t2-llara-seed0') is None   # titles as answers: no letter plateau


def test_plateau_with_ppt_halves():
    "bench/plateau.py where PPT is taught by halves (README 'An open gate, unscaled tokens, and PPT at length'): PPT prompts only, through MPO, sits at the halves' level (0.64 against 0.615) and never leaves; with E_s weighted 3 it does."
    sys.path.insert(0, str(ROOT / 'bench'))
    from plateau import plateau
    rec = ROOT / 'bench/results/train_runs_records/ml-100k'
    stuck, learnt = plateau(rec / 'best-pptonly-halves3-seed0'), plateau(rec / 'best-pptonly-halves3-seqres3-seed0')
    assert stuck['halves'] == 3 and stuck['halves_level'] == pytest.approx((np.log(10) + 2 * np.log(2)) / 6) and stuck['level'] == pytest.approx(np.log(2) / 2)
    assert stuck['halves_loss'] == pytest.approx(0.643, abs=0.0005) and stuck['left'] is None
    assert learnt['halves_loss'] < learnt['halves_level'] and learnt['left'] == 2400
    assert plateau(rec / 'best-seed0')['halves_level'] is None
    first = plateau(rec / 'best-pptfirst6-ppt50-halves3-s3x12-seed0')   # PPT prompts only in its first 6 epochs: their level is PPT's alone, and leaving is read after them
    assert first['ppt_first'] == 6 and first['halves_level'] == pytest.approx(stuck['halves_level']) and first['left'] > 6 * 1200


def test_plateau_counts_in_readme():
    "The README's count (\"The plateau, and the layout that shortens it\"): of the 31 committed runs of `best` (its reruns on other features included) and its ablations without PPT, 25 left the plateau after 2,400-7,200 prompts, 6 never did."
    sys.path.insert(0, str(ROOT / 'bench'))
    from plateau import plateau
    from records import all_runs
    import re
    tags = re.compile(r'(best|best-long|best-s3x6|tables-main/t2-speeder-best-teach-0--LLaRA-style-wall-time)-seed\d+|best-rerun-.*|tables-main/t3-best-teach-0-(w-o-|gate-).*')
    runs = {n: plateau(d) for n, d in all_runs('ml-100k').items() if tags.fullmatch(n)}   # not best-seeds34-*: today's best, another tag
    assert len(runs) == 31 and all(p['ppt'] == 0 and p['layout'] == 'index-first' for p in runs.values())
    left = sorted(p['left'] for p in runs.values() if p['left'])
    assert len(left) == 25 and (left[0], left[-1]) == (2400, 7200)
    assert sorted(n for n, p in runs.items() if not p['left']) == ['best-rerun-amd-seed1', 'best-s3x6-seed0', 'tables-main/t3-best-teach-0-w-o-sequential-seed0', 'tables-main/t3-best-teach-0-w-o-sequential-seed1', 'tables-main/t3-best-teach-0-w-o-sequential-seed2', 'tables-main/t3-best-teach-0-w-o-vision-seed0']


def test_tables_reuse_the_first_made_record():
    "bench/paper_tables.py takes the first-made of several train_runs records with a row's settings: best-seed1 (the row's run), not best-rerun-seed1 (a later second test read), which sorts first by name."
    sys.path.insert(0, str(ROOT / 'bench'))
    from records import RECORDS as REC, first_made
    first, rerun = REC / 'ml-100k/best-seed1', REC / 'ml-100k/best-rerun-seed1'
    if first_made(first)[0] == first_made(rerun)[0]: pytest.skip('no git history that tells them apart here (a shallow clone or an export): the order falls back to names')
    assert sorted([rerun, first], key=first_made) == [first, rerun]
