"""From a model to new ids: generate, beam search, samplers and logits processors.

One module per concept; every public name is importable from `musegen` too.

- `musegen.generation.compose`: a bundle, a prime and a length to the music as written
- `musegen.generation.runner`: the decoding seam every decoder reads through
- `musegen.generation.lstm_runner`
- `musegen.generation.beam`
- `musegen.generation.decoding`
- `musegen.generation.processors`
- `musegen.generation.samplers`
- `musegen.generation.views`
"""
