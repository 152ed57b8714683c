"""The widget notebooks in a real browser: JupyterLab on 127.0.0.1, headless Chromium driven by playwright.

A small run is trained first through the README's main command (papermill `nbs/train.ipynb --log-output`, tiny
settings), which also checks what its terminal shows (progress lines, the closing summary). Then each widget
notebook is opened in JupyterLab, Run All, its default views checked, one control moved and its output checked
to change, with no error on the page. Screenshots go to tests/screenshots/ (git-ignored).

Needs Chromium (`bash .ci/install-browser.sh`: Debian's package) and playwright (requirements.txt); skipped when
either is missing, unless SPEEDER_BROWSER_TEST=1 (CI), which makes a missing browser a failure.
"""
import json, os, re, secrets, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path

import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path(__file__).parent / 'screenshots'
CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
REQUIRED = os.environ.get('SPEEDER_BROWSER_TEST') == '1'

try: from playwright.sync_api import sync_playwright
except ImportError: sync_playwright = None
missing = ('playwright is not installed (pip install -r requirements.txt)' if sync_playwright is None else
           f'no Chromium at {CHROMIUM} (bash .ci/install-browser.sh)' if not Path(CHROMIUM).exists() else None)
if missing and REQUIRED: raise RuntimeError(f'SPEEDER_BROWSER_TEST=1 but {missing}.')
pytestmark = pytest.mark.skipif(missing is not None, reason=str(missing))

TINY = dict(image_dir='None', modalities='["text"]', stages='[3]', epochs='[1]', samples_per_epoch='32', batch_size='8', grad_accum='1',
            eval_samples='16', config='paper', run_name='tiny')   # as strings, the way the shell passes them


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A run trained by the README's main command on tiny settings; returns (run_dir, terminal output)."
    out = tmp_path_factory.mktemp('runs'); run_dir = out / 'ml-100k' / 'tiny'; run_dir.mkdir(parents=True)
    cmd = [str(ROOT / '.venv/bin/papermill'), str(ROOT / 'nbs/train.ipynb'), str(run_dir / 'train.ipynb'), '-p', 'dataset', 'ml-100k',
           '-p', 'output_dir', str(out), *[a for k, v in TINY.items() for a in ('-p', k, v)], '--log-output']
    if not Path(cmd[0]).exists(): cmd[0:1] = [sys.executable, '-m', 'papermill']
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stderr[-3000:]
    return run_dir, p.stdout + p.stderr


def test_main_command_prints_progress_and_summary(run):
    run_dir, term = run
    assert re.search(r'stage 3 epoch 0 step 4/4 \| loss \d+\.\d+ \| 32 prompts', term), term[-3000:]     # progress lines
    assert re.search(r'stage 3 epoch 0: valid \{"letter_hr1": \d', term), term[-3000:]                          # valid metrics
    assert f'files in {run_dir}/' in term and "the paper's VHR@1" in term                                         # the closing summary
    assert 'FutureWarning' not in term
    m = json.loads((run_dir / 'metrics.json').read_text())
    assert m['config']['model']['mrc']['modalities'] == ['text'] and m['train_prompts'] == 32   # the JSON-string parameters arrived typed


@pytest.fixture(scope='module')
def lab(run, tmp_path_factory):
    "JupyterLab on 127.0.0.1 serving the three widget notebooks, parameterised for the tiny run."
    run_dir, _ = run; root = tmp_path_factory.mktemp('lab')
    for nb in ('attention', 'cases', 'ppt'):
        pm.execute_notebook(str(ROOT / f'nbs/{nb}.ipynb'), str(root / f'{nb}.ipynb'), parameters=dict(run_dir=str(run_dir)), prepare_only=True)
        pm.execute_notebook(str(ROOT / f'nbs/{nb}.ipynb'), str(root / f'{nb}-executed.ipynb'), parameters=dict(run_dir=str(run_dir), explorer=False), cwd=str(ROOT))   # as the README runs them
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    token = secrets.token_hex(16); log = open(root / 'jupyterlab.log', 'w')
    settings = root / '.settings' / '@jupyterlab' / 'apputils-extension'; settings.mkdir(parents=True)
    (settings / 'notification.jupyterlab-settings').write_text(json.dumps(dict(fetchNews='false', checkForUpdates=False)))   # no news pop-up over the screenshots
    srv = subprocess.Popen([sys.executable, '-m', 'jupyterlab', '--no-browser', '--ip=127.0.0.1', f'--port={port}', f'--IdentityProvider.token={token}',
                            f'--ServerApp.root_dir={root}', '--allow-root', f'--LabApp.user_settings_dir={root / ".settings"}', '--LabApp.extension_manager=readonly'],
                           cwd=root, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONWARNINGS='ignore'))
    base = f'http://127.0.0.1:{port}'
    for _ in range(120):
        try: urllib.request.urlopen(f'{base}/api/status?token={token}', timeout=2); break
        except OSError: time.sleep(1)
    else: srv.kill(); pytest.fail(f'JupyterLab did not start: {(root / "jupyterlab.log").read_text()[-2000:]}')
    yield base, token
    srv.terminate(); srv.wait(30)


@pytest.fixture(scope='module')
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                                                               '--disable-component-update', '--disable-sync'])
        yield b
        b.close()


NB = '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook'   # the notebook on screen


def _prompts(page):
    return page.evaluate(f"() => [...document.querySelectorAll('{NB} .jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim())")


def _run_all(page, timeout=900):
    page.wait_for_selector(f'{NB} .jp-CodeCell', timeout=120_000)
    page.wait_for_function("() => document.querySelector('.jp-Notebook-ExecutionIndicator')?.getAttribute('data-status') === 'idle'", timeout=120_000)
    for attempt in range(3):   # the menu command acts on the focused notebook: focus it first, retry if nothing started
        page.locator(f'{NB} .jp-Cell').first.click(); page.wait_for_timeout(1000)
        page.locator('.lm-MenuBar-itemLabel', has_text=re.compile('^Run$')).click()
        page.locator('.lm-Menu-itemLabel', has_text=re.compile('^Run All Cells$')).click()
        try: page.wait_for_function(f"() => [...document.querySelectorAll('{NB} .jp-InputPrompt')].some(e => /\\[(\\*|\\d+)\\]/.test(e.textContent))", timeout=30_000); break
        except Exception: continue
    t0 = time.time()
    while time.time() - t0 < timeout:
        pr = _prompts(page)
        if pr and all(re.fullmatch(r'\[\d+\]:', p) for p in pr): return
        time.sleep(2)
    raise AssertionError(f'cells still running after {timeout} s: {_prompts(page)}')


def _open(browser, base, token, path):
    page = browser.new_page(viewport=dict(width=1500, height=1100)); errors = []
    page.on('pageerror', lambda e: errors.append(f'pageerror: {e}'))
    page.on('console', lambda m: m.type == 'error' and errors.append(f'console: {m.text}'))
    page.goto(f'{base}/lab/tree/{path}?reset&token={token}')   # reset: no tabs restored from an earlier page
    page.wait_for_selector(f'{NB} .jp-CodeCell', timeout=120_000)
    return page, errors


def _plots(n):
    "At least n plotly figures drawn."
    return lambda nb: nb.locator('.js-plotly-plot').count() >= n

# notebook -> (its default views are there, how to move one control of its explorer)
CASES = {
    'attention': (_plots(3), lambda cell: cell.locator('select').first.select_option('cand A')),   # two default views and the explorer's
    'cases': (lambda nb: nb.locator('.jp-Cell-outputArea h4').count() >= 3 and nb.get_by_text('candidates (probability from the scoring pass)').count() >= 3,
              lambda cell: cell.locator('button', has_text='misses').click()),
    'ppt': (_plots(1), lambda cell: (cell.locator('.noUi-handle').first.focus(), cell.locator('.noUi-handle').first.press('ArrowRight'))),
}


@pytest.mark.parametrize('name', list(CASES))
def test_widget_notebook_in_browser(name, lab, browser):
    "Live: Run All, the default views drawn, one control of the explorer moved and its output changed, no page error."
    base, token = lab; views, move = CASES[name]; SHOTS.mkdir(exist_ok=True)
    page, errors = _open(browser, base, token, f'{name}.ipynb')
    _run_all(page)
    nb = page.locator(NB)
    err = nb.locator('[data-mime-type="application/vnd.jupyter.error"]')
    assert err.count() == 0, err.first.inner_text()
    page.wait_for_timeout(3000)   # plotly draws after the output arrives
    assert views(nb), f'{name}: default views missing'
    cell = nb.locator('.jp-CodeCell').last.locator('.jp-Cell-outputArea')          # the explorer: its controls ...
    out = cell.locator('.jupyter-widgets > .jp-OutputArea')                          # ... and what it draws
    out.scroll_into_view_if_needed(); page.screenshot(path=str(SHOTS / f'{name}-before.png'))
    before = out.inner_html()
    assert before.strip(), f'{name}: the explorer drew nothing'
    move(cell)
    page.wait_for_function("([el, b]) => el.innerHTML !== b", arg=[out.element_handle(), before], timeout=120_000)
    page.wait_for_timeout(1500); page.screenshot(path=str(SHOTS / f'{name}-after.png'))
    assert not errors, errors
    page.close()


SAVED = {'attention': _plots(2), 'cases': CASES['cases'][0], 'ppt': _plots(1)}   # the default views, without the explorer's


@pytest.mark.parametrize('name', list(SAVED))
def test_papermill_output_readable_without_running(name, lab, browser):
    "The papermill-executed copy, opened untrusted and not run, shows its default views."
    base, token = lab
    page, errors = _open(browser, base, token, f'{name}-executed.ipynb')
    page.wait_for_timeout(5000)
    nb = page.locator(NB)
    nb.locator('.jp-Cell-outputArea .js-plotly-plot, .jp-Cell-outputArea h4').first.scroll_into_view_if_needed()
    assert all(re.fullmatch(r'\[\d+\]:', p) for p in _prompts(page))   # as saved: nothing re-run
    assert SAVED[name](nb), f'{name}: default views missing from the saved output'
    page.screenshot(path=str(SHOTS / f'{name}-saved.png'), full_page=True)
    assert not errors, errors
    page.close()
