import json, math, os, subprocess, sys
from pathlib import Path

import pytest
import torch

from speeder.backbone import tiny_llama
from speeder.model import SpeederModel
from speeder.prompt import collate
from speeder.mpo import set_stage
from speeder.trainer import DivergenceError, train
from trainer_helpers import tiny_cfg, tiny_setup


def _losses(path):
    return [(r['stage'], r['epoch'], r['step'], round(r['loss'], 6), round(r['grad_norm'], 4)) for r in map(json.loads, Path(path).read_text().splitlines()) if r['kind'] == 'step']


def test_resume_gives_identical_losses(tmp_path):
    ds, model = tiny_setup()
    full = train(model, ds, tiny_cfg(), tmp_path / 'full', progress=False)
    ref = _losses(tmp_path / 'full' / 'log.jsonl')
    ck = tmp_path / 'full' / 'checkpoints'   # frozen features are written once and linked by later checkpoints
    assert (ck / 'best' / 'features.safetensors').stat().st_ino == (ck / 'last' / 'features.safetensors').stat().st_ino
    assert len(ref) == 6 * 3 and full['best'] is not None and not full['stopped_early']
    assert all(gn > 0 and math.isfinite(gn) for *_, gn in ref)   # the pre-clipping gradient norm of each step
    # interrupted mid-epoch in stage 2 (step 9 of 18), then resumed in a new model object
    ds, model = tiny_setup()
    part = train(model, ds, tiny_cfg(max_steps=9), tmp_path / 'run', progress=False)
    assert part['stopped_early'] and len(_losses(tmp_path / 'run' / 'log.jsonl')) == 9
    last = tmp_path / 'run' / 'checkpoints' / 'last'   # one format: a saved model plus the training state
    assert {'config.json', 'lora', 'speeder.safetensors', 'features.safetensors', 'items.json', 'accelerate', 'state.json'} == {p.name for p in last.iterdir()}
    saved = {p.name for p in (last / 'accelerate').iterdir()}   # accelerate's save_state: optimizer, scheduler, RNG streams; no model weights
    assert {'optimizer.bin', 'scheduler.bin', 'random_states_0.pkl'} <= saved and not any(n.startswith('model') for n in saved), saved
    assert SpeederModel.load(last, llm=tiny_llama(vocab_size=len(model.tok), hidden=32), tok=model.tok).cfg.n_max == 6
    ds, model = tiny_setup(init_seed=1)   # other initial trainable weights: all of them must come from the checkpoint
    resumed = train(model, ds, tiny_cfg(), tmp_path / 'run', progress=False)
    assert _losses(tmp_path / 'run' / 'log.jsonl') == ref
    prompts = lambda p: [r['prompts'] for r in map(json.loads, Path(p).read_text().splitlines()) if r['kind'] == 'step']
    assert prompts(tmp_path / 'run' / 'log.jsonl') == prompts(tmp_path / 'full' / 'log.jsonl')   # prompts seen count on across sittings
    assert resumed['prompts'] == full['prompts'] > 0 and resumed['prompts_per_s'] > 0
    assert full['earlier_sittings_s'] == 0 < resumed['earlier_sittings_s'] <= part['train_time_s'] <= resumed['train_time_s']   # time counts on too
    valid = [json.loads(l) for l in (tmp_path / 'run' / 'log.jsonl').read_text().splitlines() if '"valid"' in l]
    assert all(0 <= v['vhr1'] <= v['valid_ratio'] <= 1 and 0 <= v['ppt_acc'] <= 1 for v in valid)
    best_dir = tmp_path / 'run' / 'checkpoints' / 'best'
    best = SpeederModel.load(best_dir, llm=tiny_llama(vocab_size=len(model.tok), hidden=32), tok=model.tok)
    live = tiny_setup(init_seed=2)[1].load_weights(best_dir)          # the notebook's way: best weights back into the live model
    b = collate([best.prompts.rec(ds.valid.history(0)[-6:], ds.valid.candidates[0].tolist())], with_answer=False)
    assert best.cfg.n_max == 6 and torch.allclose(best.score(b), live.score(b), atol=1e-6)


def test_every_stage_and_run_trains_in_its_precision(tmp_path):
    "Every MPO stage trains in the run's precision, and a notebook kernel may train several times with different precisions (accelerate's state is one per process; found on the GPU). Until session 42 a stage after the first, and a run after the first in one kernel, trained in fp32: accelerate's prepare returned the model it had flagged as prepared unchanged, without the autocast the trainer had unwrapped."
    ds, model = tiny_setup()
    seen = []   # (active modalities, training mode, autocast on) inside the model's forward (the LLM is called from it), as the training steps and validation run it
    model.llm.get_base_model().get_decoder().register_forward_pre_hook(lambda m, args, kw: seen.append((model.active, model.training, torch.is_autocast_enabled(model.device.type))), with_kwargs=True)
    for i, p in enumerate(('no', 'bf16', 'no')):
        seen.clear()
        s = train(model, ds, tiny_cfg(stages=(1, 2), epochs=(1, 1), samples_per_epoch=8, eval_samples=4, mixed_precision=p), tmp_path / f'{i}{p}', progress=False)
        assert s['precision'] == p and {a for a, t, _ in seen if t} == {('text',), ('text', 'vision')}   # training steps of both stages ran
        assert [on for _, _, on in seen] == [p == 'bf16'] * len(seen), (p, seen)   # in each stage, and nothing left over from the run before


def test_divergence_stops_clearly(tmp_path):
    ds, model = tiny_setup()
    with torch.no_grad(): model.ppl.fill_(float('nan'))
    with pytest.raises(DivergenceError, match='last good checkpoint'):
        train(model, ds, tiny_cfg(), tmp_path / 'nan', progress=False)


def test_two_processes(tmp_path):
    script = Path(__file__).parent / 'two_process_train.py'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get('PYTHONPATH')])), CUDA_VISIBLE_DEVICES='')   # the CPU / gloo path, also on a one-GPU machine
    # In accelerate 1.15 `launch --cpu --num_processes 2` starts ONE process (the multi-CPU path wants mpirun);
    # `--multi_gpu` goes through torch.distributed.run, and on a machine without GPUs the trainer's
    # Accelerator(cpu=True) then runs MULTI_CPU with the gloo backend.
    cmd = [sys.executable, '-m', 'accelerate.commands.launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1',
           '--mixed_precision', 'no', '--dynamo_backend', 'no', str(script), str(tmp_path / 'ddp')]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    summary = json.loads((tmp_path / 'ddp' / 'summary.json').read_text())
    assert summary['processes'] == 2 and summary['distributed'] == 'MULTI_CPU' and 0 <= summary['best']['letter_hr1'] <= 1 and summary['best']['select_metric'] == 'vhr1'
    lines = (tmp_path / 'ddp' / 'log.jsonl').read_text().splitlines()
    steps = [json.loads(l) for l in lines if '"step"' in l]
    assert len({s['global_step'] for s in steps}) == len(steps), 'only rank 0 writes the log'
    assert (tmp_path / 'ddp' / 'checkpoints' / 'best' / 'config.json').exists()
    accel = {p.name for p in (tmp_path / 'ddp' / 'checkpoints' / 'last' / 'accelerate').iterdir()}
    assert {'random_states_0.pkl', 'random_states_1.pkl'} <= accel, accel   # every process's RNG streams
    ref = _losses(tmp_path / 'ddp' / 'log.jsonl')
    assert len(ref) == 6 and _losses(tmp_path / 'ddp' / 'resumed' / 'log.jsonl') == ref   # stopped in stage 3 and resumed: the same losses


def test_resume_at_a_stage_boundary_is_exact(tmp_path):
    "A run stopped at the start of stage 2 (its checkpoint holds stage 2's fresh optimizer and the RNG streams entering it) resumes stage 2 with stage 2's modalities and the losses of an uninterrupted run."
    ds, model = tiny_setup()
    train(model, ds, tiny_cfg(stages=(1, 2), epochs=(1, 1)), tmp_path / 'full', progress=False)
    ref = _losses(tmp_path / 'full' / 'log.jsonl')
    assert [r[0] for r in ref] == [1] * 6 + [2] * 6
    ds, model = tiny_setup()
    train(model, ds, tiny_cfg(stages=(1, 2), epochs=(1, 1), max_steps=6), tmp_path / 'run', progress=False)   # stops after stage 1's last step, before its validation
    ds, model = tiny_setup()
    train(model, ds, tiny_cfg(stages=(1, 2), epochs=(1, 1), max_steps=6), tmp_path / 'run', progress=False)   # validates stage 1, saves stage 2's first checkpoint, stops
    last = tmp_path / 'run' / 'checkpoints' / 'last'
    s = json.loads((last / 'state.json').read_text()); assert (s['stage_idx'], s['epoch'], s['step'], s['global_step']) == (1, 0, 0, 6)
    assert json.loads((last / 'config.json').read_text())['active'] == ['text', 'vision']
    ds, model = tiny_setup(init_seed=1)
    train(model, ds, tiny_cfg(stages=(1, 2), epochs=(1, 1)), tmp_path / 'run', progress=False)
    assert model.active == ('text', 'vision')
    assert _losses(tmp_path / 'run' / 'log.jsonl') == ref
    valid = lambda p: [(r['stage'], round(r['vhr1'], 6)) for r in map(json.loads, Path(p).read_text().splitlines()) if r['kind'] == 'valid']
    assert valid(tmp_path / 'run' / 'log.jsonl') == valid(tmp_path / 'full' / 'log.jsonl')


def test_resume_on_a_short_last_step_after_a_crash(tmp_path):
    "11 batches per epoch with accumulation 2 (the epoch's last step has one batch): a run stopped on that step, with a line logged after its checkpoint (as a crash leaves), resumes with the uninterrupted run's log."
    ds, model = tiny_setup()
    train(model, ds, tiny_cfg(samples_per_epoch=44), tmp_path / 'full', progress=False)
    ref = _losses(tmp_path / 'full' / 'log.jsonl')
    assert len(ref) == 6 * 3
    ds, model = tiny_setup()
    train(model, ds, tiny_cfg(samples_per_epoch=44, max_steps=12), tmp_path / 'run', progress=False)   # stage 2, epoch 0, its short last step
    with open(tmp_path / 'run' / 'log.jsonl', 'a') as f: f.write(json.dumps(dict(kind='step', stage=2, epoch=1, step=1, loss=0., grad_norm=0.)) + '\n')
    ds, model = tiny_setup(init_seed=1)
    train(model, ds, tiny_cfg(samples_per_epoch=44), tmp_path / 'run', progress=False)
    assert _losses(tmp_path / 'run' / 'log.jsonl') == ref


def test_resume_refuses_another_process_count(tmp_path):
    ds, model = tiny_setup()
    train(model, ds, tiny_cfg(max_steps=2), tmp_path / 'run', progress=False)
    state = tmp_path / 'run' / 'checkpoints' / 'last' / 'state.json'
    state.write_text(json.dumps(dict(json.loads(state.read_text()), processes=2)))   # as a 2-process run saves it
    with pytest.raises(ValueError, match='--num_processes 2'):
        train(model, ds, tiny_cfg(), tmp_path / 'run', progress=False)


def test_stage1_reconstruction_prompts_train_and_resume(tmp_path):
    "Stage 1's reconstruction prompts (TrainConfig.recon): their own steps in stage 1 only, a finite title loss; with seq_residual and the E_s teacher (best's extras: recon batches have no history and no candidates); a run interrupted in stage 1 resumes to the same losses."
    kw = dict(seq_residual=1.0, seq_residual_all_stages=True, teach=1.0)
    cfg = lambda **k: tiny_cfg(stages=(1, 3), epochs=(1, 1), samples_per_epoch=16, recon=16, grad_accum=1, **k)
    ds, model = tiny_setup(**kw)
    train(model, ds, cfg(), tmp_path / 'full', progress=False)
    steps = [r for r in map(json.loads, (tmp_path / 'full' / 'log.jsonl').read_text().splitlines()) if r['kind'] == 'step']
    kinds = [(r['stage'], r['recon_prompts']) for r in steps]
    assert kinds == [(1, 4), (1, 0)] * 4 + [(3, 0)] * 4   # batches of 4: one reconstruction batch before each recommendation batch in stage 1
    assert all(math.isfinite(r['loss']) and r['loss'] > 0 for r in steps) and steps[-1]['prompts'] == 32 + 16
    ref = _losses(tmp_path / 'full' / 'log.jsonl')
    ds, model = tiny_setup(**kw)
    train(model, ds, cfg(max_steps=3), tmp_path / 'run', progress=False)   # stopped in the middle of stage 1 (after a reconstruction step)
    ds, model = tiny_setup(init_seed=1, **kw)
    train(model, ds, cfg(), tmp_path / 'run', progress=False)
    assert _losses(tmp_path / 'run' / 'log.jsonl') == ref
