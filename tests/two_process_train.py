"Run by tests/test_trainer.py under `accelerate launch --num_processes 2 --cpu` (gloo)."
import json, sys
from pathlib import Path

from accelerate import PartialState
from trainer_helpers import tiny_cfg, tiny_setup
from speeder.trainer import train

out = Path(sys.argv[1])
ds, model = tiny_setup()
summary = train(model, ds, tiny_cfg(stages=(1, 3), epochs=(1, 1)), out, progress=False)
if PartialState().is_main_process: (out / 'summary.json').write_text(json.dumps(summary))
