"""musegen: generate music with LSTM networks, from parts you wire together.

Example:
    >>> from musegen import Event, Piece, Tokenizer
    >>> Tokenizer.seed().encode(Piece((Event(0, 1, (60, 64, 67), 81),)))
    ['C4,E4,G4_medium_v81']
"""

from musegen._files import library_version
from musegen.events import Event, Piece
from musegen.midi_io import Corpus, LoadFailure, MidiReadError, load_corpus, read_midi, write_midi
from musegen.tokenizer import (
    DurationBuckets,
    Tokenizer,
    TokenizerProtocol,
    VelocityBuckets,
    seed_configurations,
)
from musegen.vocabulary import UnknownTokenError, Vocabulary

__version__ = library_version()

__all__ = [
    "Corpus",
    "DurationBuckets",
    "Event",
    "LoadFailure",
    "MidiReadError",
    "Piece",
    "Tokenizer",
    "TokenizerProtocol",
    "UnknownTokenError",
    "VelocityBuckets",
    "Vocabulary",
    "__version__",
    "load_corpus",
    "read_midi",
    "seed_configurations",
    "write_midi",
]
