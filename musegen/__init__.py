"""musegen: generate music with LSTM networks, from parts you wire together.

Every public name is importable from here: the union of the ``__all__`` of the
public modules of every stage (``tests/test_public_api.py`` holds it to that).
The parts that need TensorFlow (datasets, models, training, bundles, decoding,
likelihood) are imported on first use, so ``import musegen`` stays quick for
tokenizing alone.

Two modules export a name for different objects: ``duration_histogram`` and
``velocity_histogram`` here are the metrics' (`musegen.evaluation.metrics`,
counts); the plots of the same names are `musegen.evaluation.plots`'.

Examples:
    >>> from musegen import Event, Piece, Tokenizer
    >>> Tokenizer.seed().encode(Piece((Event(0, 1, (60, 64, 67), 81),)))
    ['C4,E4,G4_medium_v81']
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from musegen import datasets
from musegen._files import library_version
from musegen.datasets import (
    BL12_NAMES,
    BL12_SPLITS,
    DATASETS,
    JSB_SPLITS,
    Dataset,
    DatasetNotFoundError,
    cache_dir,
    download,
    jsb_chorales,
    jsb_metres,
    jsb_source,
    load_bl12,
    path,
)
from musegen.defaults import GENERATION, TRAINING, GenerationDefaults, TrainingDefaults
from musegen.evaluation.display import PieceDisplay, show
from musegen.evaluation.metrics import (
    BAR_POSITION_BINS,
    DURATION_EDGES,
    HISTOGRAMS,
    METRICS,
    Comparison,
    EvaluationTable,
    Stat,
    bar_position_histogram,
    compare,
    duration_histogram,
    empty_beat_rate,
    evaluate,
    groove_consistency,
    in_key_share,
    interval_histogram,
    jensen_shannon,
    longest_repeat,
    n_pitch_classes_used,
    pitch_class_entropy,
    pitch_class_histogram,
    pitch_range,
    polyphony,
    repetition_rate,
    scale_consistency,
    strong_beat_long_notes,
    velocity_histogram,
)
from musegen.evaluation.plots import piano_roll, piano_rolls, save_png, training_curves
from musegen.events import DEFAULT_VELOCITY, Event, Piece
from musegen.generation import processors, samplers
from musegen.generation.processors import (
    BarConstraint,
    BaseProcessor,
    Chain,
    ChordProgression,
    GrammarConstraint,
    KeyConstraint,
    LogitsProcessor,
    MelodyConstraint,
    NoRepeatNGram,
    NoteDensity,
    PitchClassHistogram,
    PitchRange,
    RepetitionPenalty,
)
from musegen.generation.samplers import (
    ArgmaxSampler,
    BaseSampler,
    CategoricalSampler,
    Sampler,
    TopKSampler,
    TopPSampler,
)
from musegen.generation.views import TranspositionViews
from musegen.io.audio import (
    PEAK_DBFS,
    SOUNDFONT_CANDIDATES,
    SOUNDFONT_ENV,
    AudioError,
    find_soundfont,
    render_wav,
)
from musegen.io.corpus import Corpus, LoadFailure, load_corpus, source_files
from musegen.io.midi_fast import read_midi_fast, read_symusic, read_tracks_fast
from musegen.io.notation import to_notation, write_musicxml
from musegen.io.reading import (
    MAX_QUARTER_LENGTH,
    MidiReadError,
    piece_from_stream,
    read_midi,
    read_piece,
    read_tracks,
    score_from_stream,
)
from musegen.io.splice import (
    SpliceReport,
    TrackSplice,
    bar_span,
    check_target,
    splice_gap,
    time_signature_at,
)
from musegen.io.tracks import FAMILIES, Score, Track, family
from musegen.io.writing import MidiWriteWarning, piece_to_stream, write_midi
from musegen.keys import KEYS, MODES, SCALES, best_key, key_name, key_shift, scale, tied_keys, tonic
from musegen.tokens.encodings import encodings
from musegen.tokens.frame_tokenizer import FrameTokenizer
from musegen.tokens.note_tokenizer import NoteTokenizer
from musegen.tokens.token_cache import (
    ENTRY_FORMAT,
    TokenCache,
    TokenizedFiles,
    cached_tokens,
    tokenize_file,
)
from musegen.tokens.token_table import KINDS, TokenTable
from musegen.tokens.tokenizer import (
    DurationBuckets,
    TokenInfo,
    Tokenizer,
    TokenizerProtocol,
    VelocityBuckets,
    seed_configurations,
)
from musegen.tokens.track_tokenizer import TrackTokenizer
from musegen.tokens.transposition import transpose_token, transposed_vocabulary
from musegen.tokens.vocabulary import PAD_TOKEN, UNK_TOKEN, UnknownTokenError, Vocabulary

if TYPE_CHECKING:
    from musegen.evaluation.likelihood import nll_per_quarter, token_nll
    from musegen.generation.beam import beam_search
    from musegen.generation.compose import (
        Composition,
        Continuation,
        compose,
        continuation,
        key_lean,
        with_chord_track,
    )
    from musegen.generation.decoding import generate, prime_ids
    from musegen.generation.infill import Infill, infill
    from musegen.generation.lstm_runner import LSTMRunner
    from musegen.generation.runner import KerasRunner, Runner, join_states, runner_for, take_state
    from musegen.training.bundle import (
        BUNDLE_FILES,
        Bundle,
        BundleError,
        BundleWarning,
        bundle_path,
        load_bundle,
        save_bundle,
        shipped_bundles,
    )
    from musegen.training.checkpoints import Backup, BestCheckpoint, HistoryLog, run_history
    from musegen.training.custom_loop import (
        barrier,
        fit_custom,
        is_chief,
        needs_custom_loop,
        worker_count,
    )
    from musegen.training.dataset import (
        SequenceDataset,
        normalized,
        split_pieces,
        split_songs,
        transposed,
    )
    from musegen.training.fitting import distribution_strategy, fit, training_callbacks
    from musegen.training.launch import WorkerError, local_cluster, run_local_workers
    from musegen.training.model import build_lstm, scale_ids, skuli_lstm
    from musegen.training.recipe import (
        RUN_OPTIONS,
        Recipe,
        RecipeError,
        TrainingError,
        TrainResult,
        check_rerun,
        train,
    )
    from musegen.training.run_lock import LOCK_NAME, RunLock, RunLockedError, is_chief_process
    from musegen.training.shards import (
        INDEX_NAME,
        ShardedDataset,
        ShardIndex,
        ShardInfo,
        write_shards,
    )
    from musegen.training.time_budget import TimeBudget

__version__ = library_version()

_LAZY = {
    "nll_per_quarter": "musegen.evaluation.likelihood",
    "token_nll": "musegen.evaluation.likelihood",
    "beam_search": "musegen.generation.beam",
    "compose": "musegen.generation.compose",
    "Composition": "musegen.generation.compose",
    "Continuation": "musegen.generation.compose",
    "continuation": "musegen.generation.compose",
    "key_lean": "musegen.generation.compose",
    "with_chord_track": "musegen.generation.compose",
    "generate": "musegen.generation.decoding",
    "prime_ids": "musegen.generation.decoding",
    "Infill": "musegen.generation.infill",
    "infill": "musegen.generation.infill",
    "LSTMRunner": "musegen.generation.lstm_runner",
    "KerasRunner": "musegen.generation.runner",
    "Runner": "musegen.generation.runner",
    "runner_for": "musegen.generation.runner",
    "take_state": "musegen.generation.runner",
    "join_states": "musegen.generation.runner",
    "Bundle": "musegen.training.bundle",
    "BUNDLE_FILES": "musegen.training.bundle",
    "bundle_path": "musegen.training.bundle",
    "BundleError": "musegen.training.bundle",
    "BundleWarning": "musegen.training.bundle",
    "load_bundle": "musegen.training.bundle",
    "save_bundle": "musegen.training.bundle",
    "shipped_bundles": "musegen.training.bundle",
    "Backup": "musegen.training.checkpoints",
    "run_history": "musegen.training.checkpoints",
    "LOCK_NAME": "musegen.training.run_lock",
    "RunLock": "musegen.training.run_lock",
    "RunLockedError": "musegen.training.run_lock",
    "is_chief_process": "musegen.training.run_lock",
    "BestCheckpoint": "musegen.training.checkpoints",
    "HistoryLog": "musegen.training.checkpoints",
    "barrier": "musegen.training.custom_loop",
    "fit_custom": "musegen.training.custom_loop",
    "is_chief": "musegen.training.custom_loop",
    "needs_custom_loop": "musegen.training.custom_loop",
    "worker_count": "musegen.training.custom_loop",
    "normalized": "musegen.training.dataset",
    "SequenceDataset": "musegen.training.dataset",
    "split_pieces": "musegen.training.dataset",
    "split_songs": "musegen.training.dataset",
    "transposed": "musegen.training.dataset",
    "distribution_strategy": "musegen.training.fitting",
    "fit": "musegen.training.fitting",
    "training_callbacks": "musegen.training.fitting",
    "local_cluster": "musegen.training.launch",
    "run_local_workers": "musegen.training.launch",
    "WorkerError": "musegen.training.launch",
    "build_lstm": "musegen.training.model",
    "scale_ids": "musegen.training.model",
    "skuli_lstm": "musegen.training.model",
    "build_transformer": "musegen.training.transformer",
    "PositionEmbedding": "musegen.training.transformer",
    "transformer_context": "musegen.training.transformer",
    "Recipe": "musegen.training.recipe",
    "RUN_OPTIONS": "musegen.training.recipe",
    "check_rerun": "musegen.training.recipe",
    "RecipeError": "musegen.training.recipe",
    "train": "musegen.training.recipe",
    "TrainingError": "musegen.training.recipe",
    "TrainResult": "musegen.training.recipe",
    "INDEX_NAME": "musegen.training.shards",
    "ShardedDataset": "musegen.training.shards",
    "ShardIndex": "musegen.training.shards",
    "ShardInfo": "musegen.training.shards",
    "write_shards": "musegen.training.shards",
    "BudgetProgress": "musegen.training.time_budget",
    "TimeBudget": "musegen.training.time_budget",
}
"""The TensorFlow-backed names and the module each is imported from on first use."""


def __getattr__(name: str) -> Any:
    """Import the TensorFlow-backed names on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'musegen' has no attribute {name!r}")
    if "tensorflow" not in sys.modules:  # the first TensorFlow-backed name: start it quietly
        from musegen._quiet import start_tensorflow

        start_tensorflow()
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "__version__",
    "ArgmaxSampler",
    "AudioError",
    "Backup",
    "run_history",
    "LOCK_NAME",
    "RunLock",
    "RunLockedError",
    "is_chief_process",
    "bar_span",
    "BAR_POSITION_BINS",
    "bar_position_histogram",
    "barrier",
    "BarConstraint",
    "BaseProcessor",
    "BaseSampler",
    "beam_search",
    "best_key",
    "BestCheckpoint",
    "build_lstm",
    "build_transformer",
    "PositionEmbedding",
    "transformer_context",
    "BL12_NAMES",
    "BL12_SPLITS",
    "load_bl12",
    "Bundle",
    "BUNDLE_FILES",
    "bundle_path",
    "BundleError",
    "BundleWarning",
    "cache_dir",
    "cached_tokens",
    "CategoricalSampler",
    "Chain",
    "check_target",
    "ChordProgression",
    "compare",
    "Comparison",
    "compose",
    "Composition",
    "Continuation",
    "continuation",
    "Corpus",
    "Dataset",
    "DatasetNotFoundError",
    "DATASETS",
    "datasets",
    "DEFAULT_VELOCITY",
    "distribution_strategy",
    "download",
    "DURATION_EDGES",
    "duration_histogram",
    "DurationBuckets",
    "empty_beat_rate",
    "groove_consistency",
    "encodings",
    "ENTRY_FORMAT",
    "evaluate",
    "EvaluationTable",
    "Event",
    "FAMILIES",
    "family",
    "find_soundfont",
    "fit",
    "fit_custom",
    "FrameTokenizer",
    "generate",
    "GENERATION",
    "GenerationDefaults",
    "GrammarConstraint",
    "HISTOGRAMS",
    "HistoryLog",
    "in_key_share",
    "INDEX_NAME",
    "Infill",
    "infill",
    "interval_histogram",
    "is_chief",
    "jensen_shannon",
    "jsb_chorales",
    "jsb_metres",
    "jsb_source",
    "JSB_SPLITS",
    "KerasRunner",
    "key_lean",
    "key_shift",
    "KeyConstraint",
    "KEYS",
    "KINDS",
    "load_bundle",
    "load_corpus",
    "LoadFailure",
    "local_cluster",
    "LogitsProcessor",
    "longest_repeat",
    "LSTMRunner",
    "MAX_QUARTER_LENGTH",
    "MelodyConstraint",
    "METRICS",
    "MidiReadError",
    "MidiWriteWarning",
    "MODES",
    "n_pitch_classes_used",
    "needs_custom_loop",
    "nll_per_quarter",
    "NoRepeatNGram",
    "normalized",
    "NoteDensity",
    "NoteTokenizer",
    "PAD_TOKEN",
    "path",
    "piano_roll",
    "piano_rolls",
    "Piece",
    "piece_from_stream",
    "piece_to_stream",
    "PieceDisplay",
    "pitch_class_entropy",
    "pitch_class_histogram",
    "pitch_range",
    "PitchClassHistogram",
    "PitchRange",
    "polyphony",
    "prime_ids",
    "processors",
    "read_midi",
    "read_midi_fast",
    "read_symusic",
    "read_piece",
    "read_tracks",
    "read_tracks_fast",
    "Recipe",
    "RUN_OPTIONS",
    "check_rerun",
    "RecipeError",
    "render_wav",
    "repetition_rate",
    "RepetitionPenalty",
    "run_local_workers",
    "Runner",
    "runner_for",
    "Sampler",
    "samplers",
    "save_bundle",
    "save_png",
    "scale",
    "scale_consistency",
    "strong_beat_long_notes",
    "scale_ids",
    "SCALES",
    "Score",
    "score_from_stream",
    "seed_configurations",
    "SequenceDataset",
    "ShardedDataset",
    "ShardIndex",
    "ShardInfo",
    "shipped_bundles",
    "show",
    "skuli_lstm",
    "SOUNDFONT_CANDIDATES",
    "PEAK_DBFS",
    "SOUNDFONT_ENV",
    "source_files",
    "splice_gap",
    "SpliceReport",
    "split_pieces",
    "split_songs",
    "Stat",
    "take_state",
    "join_states",
    "tied_keys",
    "key_name",
    "time_signature_at",
    "to_notation",
    "BudgetProgress",
    "TimeBudget",
    "token_nll",
    "TokenCache",
    "TokenInfo",
    "tokenize_file",
    "TokenizedFiles",
    "Tokenizer",
    "TokenizerProtocol",
    "TokenTable",
    "tonic",
    "TopKSampler",
    "TopPSampler",
    "Track",
    "TrackSplice",
    "TrackTokenizer",
    "train",
    "TRAINING",
    "training_callbacks",
    "training_curves",
    "TrainingDefaults",
    "TrainingError",
    "TrainResult",
    "transpose_token",
    "transposed",
    "transposed_vocabulary",
    "TranspositionViews",
    "UNK_TOKEN",
    "UnknownTokenError",
    "velocity_histogram",
    "VelocityBuckets",
    "Vocabulary",
    "with_chord_track",
    "worker_count",
    "WorkerError",
    "write_midi",
    "write_musicxml",
    "write_shards",
]
