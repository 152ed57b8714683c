"""The experiment function end to end through its command line: `accelerate launch -m speeder.experiment` on two
CPU processes (gloo), tiny settings (a tiny random Llama saved as a HF folder, the real ml-100k protocol)."""
import json, os, subprocess, sys
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from speeder.backbone import backbone_path, tiny_llama
from speeder.experiment import ExperimentConfig, fingerprint
from speeder.trainer import machine_cores


def tiny_backbone(path: Path) -> str:
    "A tiny random Llama with the bundled tokenizer, as a folder any `--backbone` accepts."
    tok = AutoTokenizer.from_pretrained(backbone_path())
    tiny_llama(vocab_size=len(tok), hidden=32).save_pretrained(path); tok.save_pretrained(path)
    return str(path)


def speeder_train(*args, **kw) -> subprocess.CompletedProcess:
    "Run the `speeder-train` console script (the venv's, else the one on PATH) without GPUs; output captured as text."
    exe = Path(sys.executable).parent / 'speeder-train'
    return subprocess.run([str(exe) if exe.exists() else 'speeder-train', *args], capture_output=True, text=True, env=dict(os.environ, CUDA_VISIBLE_DEVICES=''), **kw)


TINY = ['--dataset', 'ml-100k', '--image_dir', 'None', '--text_encoder', 'llm', '--modalities', '["text"]', '--stages', '[3]', '--epochs', '[1]',
        '--samples_per_epoch', '32', '--batch_size', '4', '--grad_accum', '2', '--eval_samples', '16', '--config', 'paper', '--n_max', '6', '--quiet']


def test_cli_two_processes(tmp_path):
    out = tmp_path / 'runs'
    args = TINY + ['--backbone', tiny_backbone(tmp_path / 'tiny-llama'), '--output_dir', str(out), '--run_name', 'ddp']
    # `--multi_gpu` goes through torch.distributed.run; without GPUs the processes run MULTI_CPU with gloo (see test_trainer.test_two_processes)
    cmd = [sys.executable, '-m', 'accelerate.commands.launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1',
           '--mixed_precision', 'no', '--dynamo_backend', 'no', '-m', 'speeder.experiment', *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env=dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES=''))   # the CPU / gloo path, also on a one-GPU machine
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    run = out / 'ml-100k' / 'ddp'
    m = json.loads((run / 'metrics.json').read_text())
    assert m['processes'] == 2 and m['train_prompts'] == 32 and m['n_test'] > 0 and 0 <= m['test']['vhr1'] <= 1
    assert set(m['features']) == {'text'} and len(m['features']['text']) == 12 and len(m['code']['commit']) == 40 and m['machine']['cpu_capability']   # which frozen features, which code, which CPU
    assert 0 <= m['test']['answer_mode'] < 5 or m['test']['valid_ratio'] == 0
    pr = json.loads((run / 'test_predictions.json').read_text())     # per test sample: the same numbers, recomputable
    assert len(pr['answer']) == len(pr['target']) == m['n_test'] and abs(sum(a == t for a, t in zip(pr['answer'], pr['target'])) / m['n_test'] - m['test']['vhr1']) < 1e-9
    cfg = ExperimentConfig.from_dict(m['config'])                      # the typed configuration, saved with the run
    assert cfg.name == 'paper' and cfg.model.n_max == 6 and cfg.model.mrc.modalities == ('text',) and cfg.train.stages == (3,)
    steps = [json.loads(l) for l in (run / 'log.jsonl').read_text().splitlines() if '"step"' in l]
    assert [s['global_step'] for s in steps] == [1, 2], 'one log line per optimizer step, written by the main process only'
    assert r.stdout.count("== ml-100k seed 0, config 'paper'") == 0      # --quiet: no progress or summary lines
    assert (run / 'checkpoints' / 'best' / 'config.json').exists() and (run / 'checkpoints' / 'last' / 'state.json').exists()
    assert json.loads((run / 'experiment.json').read_text())['train']['processes'] == 2   # the saved settings say how many processes trained it


@pytest.mark.skipif(machine_cores() < 2, reason='two processes need two cores (more processes than cores is refused)')
def test_processes_parameter(tmp_path):
    "`--processes 2` without a launcher: the console script computes the features, starts two processes through `accelerate launch` on the saved settings, and exits 0."
    out = tmp_path / 'runs'
    args = TINY + ['--backbone', tiny_backbone(tmp_path / 'tiny-llama'), '--output_dir', 'runs', '--run_name', 'two', '--processes', '2']   # relative to cwd
    r = speeder_train(*args, timeout=1200, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    run = out / 'ml-100k' / 'two'
    m = json.loads((run / 'metrics.json').read_text())
    assert m['processes'] == 2 and m['config']['train']['processes'] == 2 and m['train_prompts'] == 32 and m['machine']['threads'] >= 1
    steps = [json.loads(l) for l in (run / 'log.jsonl').read_text().splitlines() if '"step"' in l]
    assert [s['global_step'] for s in steps] == [1, 2] and steps[-1]['prompts'] == 32   # batch 4 x 2 processes x grad_accum 2: the steps of one process with batch 8
    assert m['wall_time_s'] >= m['train_time_s'] > 0
    launch = json.loads((run / 'launch.json').read_text())   # what the processes ran: this command's settings, where the run lives made absolute
    assert launch['output_dir'] == str(out.resolve()) and launch['run_name'] == 'two' and launch['train']['processes'] == 2
    assert m['config']['output_dir'] == str(out.resolve())   # the processes ran launch.json (experiment.json says 'runs', as given)
    assert json.loads((run / 'experiment.json').read_text())['output_dir'] == 'runs'


def test_without_text(tmp_path):
    "Table 3's w/o text through the command line: with no images and modalities ['sequential'], $E_s$ is MRC's anchor and the run reads no text features."
    out = tmp_path / 'runs'
    args = [a if a != '["text"]' else '["sequential"]' for a in TINY] + ['--backbone', tiny_backbone(tmp_path / 'tiny-llama'), '--output_dir', str(out), '--run_name', 'notext',
                                                                       '--seqrec_epochs', '3']   # a short SASRec behind E_s: this checks the wiring, not E_s
    r = speeder_train(*args, timeout=1200)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    m = json.loads((out / 'ml-100k' / 'notext' / 'metrics.json').read_text())
    assert set(m['features']) == {'sequential'} and m['config']['model']['mrc']['modalities'] == ['sequential'] and 0 <= m['test']['vhr1'] <= 1
    from speeder.data import load_dataset
    from speeder.encoders import sequential_features
    from speeder.sequential import SeqRecConfig
    es = sequential_features(load_dataset('ml-100k', image_dir=None, n_max=6, seed=0, verbose=False), SeqRecConfig(model='sasrec', seed=0, epochs=3), train=False)   # the run's E_s, from this session's cache: the parameter reached SASRec
    assert m['config']['seqrec_epochs'] == 3 and es.info['epochs_run'] == 3 and fingerprint(es.x) == m['features']['sequential']


def test_console_script_help():
    r = speeder_train('--help', timeout=300)
    text = ' '.join(r.stdout.split())
    assert r.returncode == 0 and '--samples_per_epoch' in text and 'accelerate launch -m speeder.experiment' in text


@pytest.mark.skipif(machine_cores() < 2, reason='two processes need two cores (more processes than cores is refused)')
def test_processes_interrupted(tmp_path):
    "Interrupting `processes=2` as a notebook cell is interrupted (SIGINT to a process that lives on and keeps the traceback, as IPython does) stops the launcher and both workers."
    import signal, threading, time
    import psutil
    args = [a if a != '32' else '100000' for a in TINY] + ['--backbone', tiny_backbone(tmp_path / 'tiny-llama'), '--output_dir', str(tmp_path / 'runs'), '--run_name', 'stopped', '--processes', '2']   # samples_per_epoch: a run far longer than the waits below
    kernel = ('import signal, sys, time\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n'   # as IPython does (a background job starts with SIGINT ignored)
              'from speeder.experiment import main\ntry: main(sys.argv[1:])\n'
              'except KeyboardInterrupt: sys.last_traceback = sys.exc_info()[2]; print("\\ninterrupted", flush=True); time.sleep(600)')
    p = subprocess.Popen([sys.executable, '-c', kernel, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ, CUDA_VISIBLE_DEVICES=''))
    launch = str(tmp_path / 'runs' / 'ml-100k' / 'stopped' / 'launch.json')
    def running():   # the launcher and its workers: every process whose command line names this run's launch.json
        procs = []
        for q in psutil.process_iter(['cmdline']):
            try:
                if launch in ' '.join(q.info['cmdline'] or []): procs.append(q)
            except psutil.Error: pass
        return procs
    watchdog = threading.Timer(300, p.kill); watchdog.daemon = True   # the reading below never blocks for long
    try:
        t0 = time.time()
        while len(running()) < 3 and p.poll() is None and time.time() - t0 < 600: time.sleep(0.5)
        assert len(running()) >= 3, 'the launcher and two workers never ran'
        time.sleep(3); p.send_signal(signal.SIGINT)
        watchdog.start()
        lines = []
        for line in p.stdout:
            lines.append(line)
            if line.strip() == 'interrupted': break
        assert lines and lines[-1].strip() == 'interrupted', 'the "kernel" did not live on: ' + ''.join(lines)[-2000:]
        psutil.wait_procs(running(), timeout=90)
        assert running() == [], 'workers left running after the interrupt'
    finally:
        watchdog.cancel(); p.kill(); p.wait()
        for q in running(): q.kill()
