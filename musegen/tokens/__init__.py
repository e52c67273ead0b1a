"""From music to tokens and ids: tokenizers, encodings, the vocabulary, the token table and cache.

One module per concept; every public name is importable from `musegen` too.

- `musegen.tokens.encodings`
- `musegen.tokens.frame_tokenizer`
- `musegen.tokens.note_tokenizer`
- `musegen.tokens.token_cache`
- `musegen.tokens.token_table`
- `musegen.tokens.tokenizer`
- `musegen.tokens.track_tokenizer`
- `musegen.tokens.vocabulary`
"""
