import gzip, json, os, subprocess, sys
import numpy as np
import pytest

from speeder.core import stable_hash
from speeder.data import DataError, load_dataset, ppt_label
from conftest import POSTERS, needs_posters

FIXTURE_PROTOCOL = dict(min_item_interactions=2, min_seq_len=4, n_candidates=3, n_max=5, split=(0.6, 0.2, 0.2))


def _check_protocol(ds):
    "Invariants of the paper's protocol that every split must satisfy."
    P = ds.protocol
    for name, sp in ds.splits.items():
        assert len(sp) > 0, name
        for i in range(len(sp)):
            s = sp[i]; seq = sp.seqs[i]
            assert len(seq) >= P.min_seq_len
            assert s['history'] == seq[:-1][-P.n_max:] and s['target'] == seq[-1]
            assert s['candidates'][s['label']] == s['target']
            assert len(set(s['candidates'])) == P.n_candidates
            assert not (set(s['candidates']) - {s['target']}) & set(seq), 'a negative is in the sequence'
            assert not (set(s['candidates']) - {s['target']}) & set(ds.user_items[str(sp.users[i])]), 'a negative the user interacted with elsewhere'
            assert set(seq) <= set(ds.user_items[str(sp.users[i])])
            assert all(0 <= c < ds.n_items for c in s['candidates'])
            if P.ppt and 'ppt_pos' in s:
                a, b, c = s['ppt_pos']
                assert len({s['history'][a], s['history'][b], s['history'][c]}) == 3
                assert s['ppt_label'] == ppt_label(a, b, c)


def test_ml100k_paper_protocol():
    ds = load_dataset('ml-100k', verbose=False)
    assert ds.stats() == dict(Inter=95813, Item=1215, Seq=1349, AvgSL=71.03)
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (944, 270, 135)
    _check_protocol(ds)
    labels = np.concatenate([sp.labels for sp in ds.splits.values()])
    assert np.bincount(labels, minlength=5).min() > 150, 'the target position in the candidates must be shuffled'
    steps = [r['step'] for r in ds.report]
    assert steps == ['read', 'repeats', 'text', 'rare items', 'sessions', 'short sequences', 'distinct history']
    rows = {r['step']: r for r in ds.report}
    assert rows['repeats']['removed_interactions'] == 0, 'ml-100k has one rating per user and movie'
    assert rows['rare items']['removed_items'] == 467 and rows['short sequences']['removed_sequences'] == 964


def test_test_set_independent_of_settings():
    "A seed's splits and candidates depend on the data, the filters and the seed only: not on n_max, ppt (or any model option)."
    ref = load_dataset('ml-100k', verbose=False)
    for opts in [dict(n_max=5), dict(n_max=26), dict(ppt=False), dict(ppt=False, n_max=3)]:
        ds = load_dataset('ml-100k', verbose=False, **opts)
        for k in ('train', 'valid', 'test'):
            assert ds.splits[k].seqs == ref.splits[k].seqs, (opts, k)
            assert np.array_equal(ds.splits[k].candidates, ref.splits[k].candidates), (opts, k)
            assert np.array_equal(ds.splits[k].labels, ref.splits[k].labels), (opts, k)
    assert not np.array_equal(load_dataset('ml-100k', verbose=False, seed=1).test.candidates, ref.test.candidates)


def test_negatives_never_interacted():
    "Negatives are never items the user rated in the raw file (any session, including sessions the protocol dropped)."
    from speeder.data import ml_100k, read_atomic
    ds = load_dataset('ml-100k', verbose=False)
    raw = {}
    for _, r in read_atomic(ml_100k().files[0], ('user_id', 'item_id')): raw.setdefault(r['user_id'], set()).add(r['item_id'])
    kept = {str(u) for sp in ds.splits.values() for u in sp.users}
    for sp in ds.splits.values():
        for u, seq, c, l in zip(sp.users, sp.seqs, sp.candidates, sp.labels):
            negs = {ds.item_ids[j] for j in np.delete(c, l).tolist()}
            assert not negs & raw[str(u)], (u, negs & raw[str(u)])
    # the exclusion reaches beyond the user's kept sequences: items rated only in dropped (short) sessions
    in_seqs = {}
    for sp in ds.splits.values():
        for u, seq in zip(sp.users, sp.seqs): in_seqs.setdefault(str(u), set()).update(ds.item_ids[j] for j in seq)
    assert sum(len({ds.item_ids[j] for j in ds.user_items[u]} - in_seqs[u]) for u in kept) > 1000


def test_repeated_pairs(tmp_path):
    "Repeated user-item pairs: the first is kept and the rest counted (dedupe=False keeps them)."
    inter = ['user_id:token\titem_id:token\ttimestamp:float']
    for u in range(4):                                      # each user: 6 items, then the last one again (a 'repeat the last item' target)
        inter += [f'{u}\t{i}\t{10 * k}' for k, i in enumerate([1, 2, 3, 4, 5, 6, 6])]
    (tmp_path / 'ml-100k.inter').write_text('\n'.join(inter) + '\n')
    (tmp_path / 'ml-100k.item').write_text('item_id:token\tmovie_title:token_seq\n' + ''.join(f'{i}\tMovie {i}\n' for i in range(1, 40)))
    for i in range(7, 40):   # other users' items, so that negatives exist
        (tmp_path / 'ml-100k.inter').open('a').write(''.join(f'{9 + k}\t{i}\t{k}\n' for k in range(2)))
    opts = dict(root=tmp_path, min_item_interactions=1, min_seq_len=3, n_candidates=3, split=(0.5, 0.25, 0.25), verbose=False)
    ds = load_dataset('ml-100k', **opts)
    rows = {r['step']: r for r in ds.report}
    assert rows['repeats']['removed_interactions'] == 4
    assert all(len(set(s)) == len(s) for sp in ds.splits.values() for s in sp.seqs)
    kept = load_dataset('ml-100k', dedupe=False, **opts)
    assert [r['step'] for r in kept.report][1] == 'text'
    assert sum(s[-1] == s[-2] for sp in kept.splits.values() for s in sp.seqs) == 4   # each target repeats the item before it
    assert not any(s[-1] == s[-2] for sp in ds.splits.values() for s in sp.seqs)


@needs_posters
def test_ml100k_with_posters():
    ds = load_dataset('ml-100k', image_dir=POSTERS, verbose=False)
    assert ds.image_counts == dict(valid=1418, missing=264, invalid=0, failed=0)
    assert all(p is not None and os.path.exists(p) for p in ds.images)
    assert [r['step'] for r in ds.report][3] == 'image'
    assert ds.stats()['Item'] < 1215
    _check_protocol(ds)


_SNIPPET = '''
import json, sys
from speeder.core import stable_hash
from speeder.data import load_dataset
opts = json.loads(sys.argv[1])
ds = load_dataset('ml-100k', verbose=False, **opts)
print(stable_hash(ds.to_json()['splits']))
'''

def _digest(tmp_path, name, **opts):
    env = dict(os.environ, SPEEDER_CACHE=str(tmp_path / name))   # a fresh cache: really rebuilt
    out = subprocess.run([sys.executable, '-c', _SNIPPET, json.dumps(opts)], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_same_seed_two_processes(tmp_path):
    opts = dict(image_dir=str(POSTERS)) if POSTERS.is_dir() else {}
    a = _digest(tmp_path, 'p1', seed=3, **opts)
    b = _digest(tmp_path, 'p2', seed=3, **opts)
    c = _digest(tmp_path, 'p3', seed=4, **opts)
    assert a == b
    assert a != c


def test_cache_key_follows_reader_and_data(tmp_path, monkeypatch):
    "The key changes with the reader's code; a copy of the same files elsewhere gives the same key."
    from speeder.data import DATASETS, Source, ml_100k, register_dataset
    monkeypatch.setenv('SPEEDER_CACHE', str(tmp_path / 'c'))
    src = ml_100k().files
    for f in src: (tmp_path / f.name).write_bytes(f.read_bytes())
    a = load_dataset('ml-100k', verbose=False)
    assert load_dataset('ml-100k', root=tmp_path, verbose=False).key == a.key   # content, not path
    try:
        @register_dataset('toy-reader')
        def toy(root=None): return ml_100k(root=root)
        k1 = load_dataset('toy-reader', root=tmp_path, verbose=False).key
        @register_dataset('toy-reader')
        def toy(root=None): return ml_100k(root=root)   # same behaviour, other code: a new key
        assert load_dataset('toy-reader', root=tmp_path, verbose=False).key != k1
    finally: DATASETS.pop('toy-reader', None)


def test_cache_hit_and_key(tmp_path, monkeypatch):
    monkeypatch.setenv('SPEEDER_CACHE', str(tmp_path))
    ds = load_dataset('ml-100k', verbose=False)
    files = list((tmp_path / 'datasets').iterdir())
    assert len(files) == 1
    mtime = files[0].stat().st_mtime_ns
    again = load_dataset('ml-100k', verbose=False)
    assert files[0].stat().st_mtime_ns == mtime and again.key == ds.key
    assert np.array_equal(again.test.candidates, ds.test.candidates)
    other = load_dataset('ml-100k', n_max=10, verbose=False)
    assert other.key != ds.key and len(list((tmp_path / 'datasets').iterdir())) == 2


@pytest.mark.parametrize('gz', [False, True])
def test_amazon2023_reader(amazon_root, gz):
    root = amazon_root / 'amazon2023'
    if gz:
        for f in list(root.iterdir()):
            (root / (f.name + '.gz')).write_bytes(gzip.compress(f.read_bytes())); f.unlink()
    ds = load_dataset('amazon2023:Toy', root=root, verbose=False, **{**FIXTURE_PROTOCOL, 'n_candidates': 2})   # U1 interacted with 6 of the 7 items
    rows = {r['step']: r for r in ds.report}
    assert rows['read']['interactions'] == 24 and rows['read']['items'] == 9
    assert rows['text']['removed_interactions'] == 2 and rows['text']['removed_items'] == 2  # '' title, no metadata
    assert rows['sessions']['sequences'] == 6 and rows['short sequences']['removed_sequences'] == 1
    assert ds.stats() == dict(Inter=21, Item=7, Seq=5, AvgSL=4.2)
    assert 'B008' not in ds.item_ids and 'B009' not in ds.item_ids
    u1 = ds.splits[[k for k, sp in ds.splits.items() if 'U1' in sp.users][0]]
    seq = u1.seqs[u1.users.index('U1')]
    assert [ds.item_ids[i] for i in seq] == ['B001', 'B002', 'B003', 'B004', 'B005']  # tie at 1600000100000 keeps file order
    assert ds.titles[ds.item_ids.index('B003')] == 'Wooden Puzzle'
    _check_protocol(ds)


def test_amazon2018_reader(amazon_root):
    ds = load_dataset('amazon2018:Toy', root=amazon_root / 'amazon2018', verbose=False, **{**FIXTURE_PROTOCOL, 'n_candidates': 2})
    assert ds.stats() == dict(Inter=21, Item=6, Seq=5, AvgSL=4.2)
    assert ds.titles[ds.item_ids.index('B003')] == 'Wooden Puzzle'   # the Python-literal line of older dumps
    _check_protocol(ds)


def test_bad_input(amazon_root, tmp_path):
    root = amazon_root / 'amazon2023'
    lines = (root / 'Toy.jsonl').read_text().splitlines()
    lines[3] = '{"user_id": "U1", "parent_asin": '
    (root / 'Toy.jsonl').write_text('\n'.join(lines) + '\n')
    with pytest.raises(DataError, match=r'Toy.jsonl:4: not valid JSON'):
        load_dataset('amazon2023:Toy', root=root, verbose=False)
    lines[3] = '{"user_id": "U1", "parent_asin": "B004"}'
    (root / 'Toy.jsonl').write_text('\n'.join(lines) + '\n')
    with pytest.raises(DataError, match=r'Toy.jsonl:4: missing field `timestamp`'):
        load_dataset('amazon2023:Toy', root=root, verbose=False)
    with pytest.raises(FileNotFoundError, match='Nope reviews not found'):
        load_dataset('amazon2023:Nope', root=root, verbose=False)
    with pytest.raises(DataError, match='Unknown dataset'):
        load_dataset('amazon2099:Toy')
    with pytest.raises(DataError, match=r"Unknown option\(s\) \['colour'\]"):
        load_dataset('amazon2018:Toy', root=root, colour='red')
    with pytest.raises(DataError, match="User 'U1' interacted with 5 of the 6 items.*Lower n_candidates"):   # 1 left for 2 negatives
        load_dataset('amazon2018:Toy', root=amazon_root / 'amazon2018', verbose=False, **FIXTURE_PROTOCOL)
    with pytest.raises(DataError, match='`rare items`'):
        load_dataset('amazon2018:Toy', root=amazon_root / 'amazon2018', min_item_interactions=100, verbose=False)
    with pytest.raises(DataError, match='require_image=True but no images'):
        load_dataset('ml-100k', require_image=True, verbose=False)
    with pytest.raises(FileNotFoundError, match='image_dir'):
        load_dataset('ml-100k', image_dir=tmp_path / 'nope', verbose=False)
