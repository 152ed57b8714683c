"Run by tests/test_trainer.py under `accelerate launch --multi_gpu --num_processes 2` (gloo on CPU): a full run, and a run stopped mid-stage then resumed from its checkpoint (accelerate state: each process's RNG streams)."
import json, sys
from pathlib import Path

from accelerate import PartialState
from trainer_helpers import tiny_cfg, tiny_setup
from speeder.trainer import train

out = Path(sys.argv[1])
cfg = dict(stages=(1, 3), epochs=(1, 1))
ds, model = tiny_setup()
summary = train(model, ds, tiny_cfg(**cfg), out, progress=False)
ds, model = tiny_setup()
train(model, ds, tiny_cfg(**cfg, max_steps=4), out / 'resumed', progress=False)   # stage 3, step 1 of 3 (3 steps per stage on 2 processes)
ds, model = tiny_setup(init_seed=1)
train(model, ds, tiny_cfg(**cfg), out / 'resumed', progress=False)
if PartialState().is_main_process: (out / 'summary.json').write_text(json.dumps(summary))
