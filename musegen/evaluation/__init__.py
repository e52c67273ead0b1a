"""How good it is: metrics, held-out likelihood, piano rolls, notebook display.

One module per concept; every public name is importable from `musegen` too.

- `musegen.evaluation.display`
- `musegen.evaluation.likelihood`
- `musegen.evaluation.metrics`
- `musegen.evaluation.plots`
"""
