"""From ids to a trained model: datasets, the model factory, fit, checkpoints, budgets, bundles.

One module per concept; every public name is importable from `musegen` too.

- `musegen.training.bundle`
- `musegen.training.checkpoints`
- `musegen.training.custom_loop`
- `musegen.training.dataset`
- `musegen.training.fitting`
- `musegen.training.launch`
- `musegen.training.model`
- `musegen.training.recipe`: what `musegen train` decides, as one library function (`train`)
- `musegen.training.run_lock`: one writer per run directory (`RunLock`)
- `musegen.training.shards`
- `musegen.training.time_budget`
"""
