"""From a model to new ids: generate, beam search, samplers and logits processors.

One module per concept; every public name is importable from `musegen` too.

- `musegen.generation.beam`
- `musegen.generation.decoding`
- `musegen.generation.processors`
- `musegen.generation.samplers`
- `musegen.generation.views`
"""
