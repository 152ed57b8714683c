import io, json, threading, time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from speeder.images import fetch_images, is_valid_image
from speeder.data import load_dataset


def _jpeg(color):
    buf = io.BytesIO(); Image.new('RGB', (16, 24), color).save(buf, 'JPEG'); return buf.getvalue()


@pytest.fixture
def server():
    "Fixture images on 127.0.0.1: good, undecodable, missing (404), flaky (500 once), slow (past the timeout)."
    hits = Counter()
    good = _jpeg((10, 200, 10))

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a): pass
        def do_GET(self):
            name = self.path.lstrip('/'); hits[name] += 1
            if name == 'slow.jpg': time.sleep(1.5)
            if name.endswith('_broken.jpg'): body, code = b'\xff\xd8\xff garbage, not a jpeg', 200
            elif name == 'missing.jpg' or name.startswith('missing'): body, code = b'not found', 404
            elif name == 'flaky.jpg' and hits[name] == 1: body, code = b'busy', 503
            elif name == 'busy.jpg': body, code = b'busy', 503
            else: body, code = good, 200
            try:
                self.send_response(code); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError): pass

    srv = ThreadingHTTPServer(('127.0.0.1', 0), H); srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{srv.server_address[1]}/', hits
    srv.shutdown(); srv.server_close()


def test_fetch_images(server, tmp_path):
    base, hits = server
    urls = {'ok': base + 'a.jpg', 'ok2': base + 'a.jpg', 'broken': base + 'x_broken.jpg', 'gone': base + 'missing.jpg',
            'flaky': base + 'flaky.jpg', 'slow': base + 'slow.jpg', 'none': None}
    kw = dict(timeout=0.5, retries=1, backoff=0.05, progress=False)
    rep = fetch_images(urls, tmp_path, **kw)
    assert rep.counts() == dict(valid=3, missing=1, invalid=0, failed=3)
    assert sorted(rep.paths) == ['flaky', 'ok', 'ok2'] and all(is_valid_image(p) for p in rep.paths.values())
    assert hits['a.jpg'] == 1, 'one URL shared by two items is fetched once'
    assert hits['flaky.jpg'] == 2, 'a 503 is retried'
    assert hits['missing.jpg'] == 1, 'a 404 is not retried'
    assert hits['slow.jpg'] == 2, 'a timeout is retried'
    manifest = json.loads((tmp_path / 'manifest.json').read_text())
    assert set(manifest) == {base + 'x_broken.jpg', base + 'missing.jpg'}   # permanent failures only
    before = hits.copy()
    rep2 = fetch_images(urls, tmp_path, **kw)                                 # resumed
    assert rep2.paths == rep.paths and rep2.counts() == rep.counts()
    new = hits - before
    assert set(new) == {'slow.jpg'}, f'only the transient failure is tried again, got {dict(new)}'
    fetch_images(urls, tmp_path, retry_failed=True, **kw)
    assert (hits - before)['missing.jpg'] == 1


def _drop_u1_later(root):
    "U1's later B006 review would leave U1 no item outside its own (negatives are items the user never interacted with)."
    lines = (root / 'Toy.jsonl').read_text().splitlines()
    (root / 'Toy.jsonl').write_text('\n'.join(l for l in lines if not ('"U1"' in l and '"B006"' in l)) + '\n')


def test_amazon_download_images(server, amazon_root, tmp_path):
    base, hits = server
    root = amazon_root / 'amazon2023'
    meta = root / 'meta_Toy.jsonl'
    meta.write_text(meta.read_text().replace('IMG/', base))
    _drop_u1_later(root)
    ds = load_dataset('amazon2023:Toy', root=root, download_images=True, image_cache=tmp_path / 'img', verbose=False,
                      min_item_interactions=2, min_seq_len=2, min_distinct_history=1, n_candidates=2, ppt=False, split=(0.6, 0.2, 0.2))
    # B005 has no image, B007's is undecodable; B008/B009 are never fetched-for-nothing counted as missing
    assert ds.image_counts['failed'] == 1 and ds.image_counts['valid'] == 5
    assert sorted(ds.item_ids) == ['B001', 'B002', 'B003', 'B004', 'B006']
    assert hits['B002.jpg'] == 1 and hits['B002_side.jpg'] == 0, 'the MAIN image is chosen'
    assert all(is_valid_image(p) for p in ds.images)
    assert ds.report[3]['step'] == 'image' and ds.report[3]['removed_items'] == 2
    # an image file of the cached dataset disappears: the next load notices and rebuilds (downloading it again)
    before = hits.copy()
    gone = ds.images[0]; __import__('os').remove(gone)
    again = load_dataset('amazon2023:Toy', root=root, download_images=True, image_cache=tmp_path / 'img', verbose=False,
                         min_item_interactions=2, min_seq_len=2, min_distinct_history=1, n_candidates=2, ppt=False, split=(0.6, 0.2, 0.2))
    assert again.images == ds.images and is_valid_image(gone) and sum((hits - before).values()) == 1


def test_transient_download_failures_not_cached(server, amazon_root, tmp_path, monkeypatch, capsys):
    "A dataset built while some downloads failed for a passing reason (HTTP 503) is not cached; a later load tries them again."
    monkeypatch.setenv('SPEEDER_CACHE', str(tmp_path / 'cache'))
    base, hits = server
    root = amazon_root / 'amazon2023'
    meta = root / 'meta_Toy.jsonl'
    meta.write_text(meta.read_text().replace('IMG/', base).replace('B001.jpg', 'busy.jpg'))
    _drop_u1_later(root)
    opts = dict(root=root, download_images=True, image_cache=tmp_path / 'img', verbose=False, min_item_interactions=2, min_seq_len=2,
                min_distinct_history=1, n_candidates=2, ppt=False, split=(0.6, 0.2, 0.2))
    ds = load_dataset('amazon2023:Toy', **opts)
    assert 'B001' not in ds.item_ids and 'NOT cached' in capsys.readouterr().out
    assert not list((tmp_path / 'cache' / 'datasets').glob('*.json'))
    load_dataset('amazon2023:Toy', **opts)
    assert hits['busy.jpg'] == 6, 'tried again (3 attempts per load)'
