"""What ``musegen train`` decides, as a library function: `Recipe` and `train`.

A `Recipe` holds the training options with the measured defaults
(`musegen.defaults.TRAINING`); where an option's default depends on the others
(the songs moved by ``transpose`` unless they are moved to one key or a band
trains, the model read in as many keys as it learnt) it is None until
`Recipe.resolved` decides it. `train` splits the songs (validation by song),
builds the vocabulary of the training songs, trains for the time budget in a
resumable run directory, keeps the weights of the lowest validation loss,
scores the held-out songs and writes the bundle ``out/bundle``; it returns
what it did as a `TrainResult`.

The held-out score is given, not imported: training sits below evaluation and
generation in the house, so `train` takes the scorer
(`musegen.evaluation.likelihood.nll_per_quarter`) and the views' factory
(`musegen.generation.views.TranspositionViews.around`) as arguments, as
``musegen train`` passes them.

Examples:
    >>> Recipe(minutes=1).resolved().transpose  # every song also moved -3..+3 semitones
    (-3, 3)
    >>> Recipe(normalize_keys=True).resolved().transpose is None
    True
"""

from __future__ import annotations

import json
import math
import numbers
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence, Sized
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from musegen._files import atomic_save, atomic_write_text
from musegen._words import plural
from musegen.defaults import GENERATION, TRAINING
from musegen.events import Piece
from musegen.io.corpus import Corpus
from musegen.io.tracks import Score
from musegen.tokens.encodings import encodings
from musegen.tokens.vocabulary import Vocabulary
from musegen.training.run_lock import RunLock, RunLockedError, is_chief_process

__all__ = [
    "RUN_OPTIONS",
    "Recipe",
    "RecipeError",
    "TrainResult",
    "TrainingError",
    "check_rerun",
    "train",
]

RUN_OPTIONS = "recipe.json"
"""The file of the run directory that keeps the options the run started with (`check_rerun`)."""

_SPEED_ONLY = frozenset({"workers"})
"""Of `train`'s ``read``: the options that change how fast the music is read, not what is read."""

_WHEN_TO_STOP = frozenset({"epochs"})
"""Of a `Recipe`: the options a rerun may change; it resumes and goes on to the new count."""

VAL_FRACTION = 0.1
"""Of the songs held out for validation; at least one whole song, or the end of a single one."""


class RecipeError(ValueError):
    """Options that do not go together, or that this music cannot follow (``musegen train``: 2).

    The message names the options as ``musegen train`` spells them; each is the
    `Recipe` field of the same name (``--seq-len``: ``seq_len``).

    Examples:
        >>> try:
        ...     Recipe(tracks=True, transpose=(-1, 1))
        ... except RecipeError as err:
        ...     print(err)
        --tracks does not transpose: leave out --transpose
    """


class TrainingError(Exception):
    """Training could not go on: another model's backup in the run directory, a lost worker.

    Examples:
        >>> str(TrainingError("runs/x holds the backup of an interrupted run"))
        'runs/x holds the backup of an interrupted run'
    """


MAX_VIEWS = 11
"""The most semitones each way a model is read in (``views``): -11..+11 reads every key once
each way; a view an octave off adds no key, only a register."""

MAX_TRANSPOSE = 12
"""The most semitones a training song is moved each way (``transpose``): an octave."""

WHOLE_RANGES: dict[str, tuple[int, int | None]] = {
    "seq_len": (1, 65_536),
    "units": (1, 8_192),
    "epochs": (1, 1_000_000),
    "batch_size": (1, 65_536),
    "views": (0, MAX_VIEWS),
    "min_count": (1, None),
    "seed": (0, 2**32 - 1),
}
"""The whole numbers a `Recipe` takes, ``(low, high)`` (None: no bound); ``units``: each size.
The seed is 32-bit, as numpy's and Keras's are."""

NUMBER_RANGES: dict[str, tuple[float, float, bool]] = {
    "minutes": (0.0, 525_600.0, False),
    "learning_rate": (0.0, 1.0, True),
}
"""The finite numbers a `Recipe` takes, ``(low, high, low excluded)``: a year's minutes at
most; a learning rate above 1 sends Adam's loss to NaN, one <= 0 trains backwards or not at all."""


def _option(name: str) -> str:
    """``--seq-len``: how ``musegen train`` spells the `Recipe` field `name`."""
    return "--" + name.replace("_", "-")


def _check_whole(name: str, value: Any) -> None:
    low, high = WHOLE_RANGES[name]
    whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not whole or value < low or (high is not None and value > high):
        takes = f">= {low}" if high is None else f"from {low} to {high}"
        raise RecipeError(f"{_option(name)} takes a whole number {takes}, got {value!r}")


def _check_number(name: str, value: Any) -> None:
    low, high, open_low = NUMBER_RANGES[name]
    number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (number and math.isfinite(value) and (low < value if open_low else low <= value)
            and value <= high):  # fmt: skip
        first = f"> {low:g} and at most" if open_low else f"from {low:g} to"
        raise RecipeError(f"{_option(name)} takes a finite number {first} {high:g}, got {value!r}")


@dataclass(frozen=True)
class Recipe:
    """The options of a training run, as ``musegen train`` takes them (see its ``--help``).

    None means the default given the other options, decided by `resolved`.

    Attributes:
        encoding: A name of `musegen.tokens.encodings.encodings` (``"band"`` with `tracks`).
        seq_len: Tokens per training chunk.
        units: LSTM sizes, first to last.
        minutes: Train for this many minutes, the learning rate annealed to 0 by
            then; 0 trains by `epochs` alone.
        epochs: Most epochs (None: as many as `minutes` allows; 20 with
            ``minutes=0``, stopping early when the validation loss stops falling).
        keep: With `minutes`, ``"best"`` (the weights of the lowest validation
            loss) or ``"last"``; None: best where there is validation data.
        batch_size: Chunks per batch.
        learning_rate: Adam's first learning rate.
        transpose: Also train on the songs moved ``lo..hi`` semitones; ``(0, 0)``:
            none; None: ``TRAINING.transpose`` unless `normalize_keys` or `tracks`.
        normalize_keys: Train on every song moved to C major / A minor instead;
            None: ``TRAINING.normalize_keys`` where the songs are not moved.
        views: Read the trained model in the keys this many semitones each way,
            its predictions averaged (held-out NLL and ``musegen generate``);
            None: ``TRAINING.views`` with `transpose`, at most as far as it moves
            the songs each way, else 0.
        min_count: Keep tokens seen at least this often; rarer ones become ``<unk>``.
        tracks: One model for the band: the music is `musegen.io.tracks.Score`
            objects, tokenized by `musegen.tokens.track_tokenizer.TrackTokenizer`.
        seed: Seeds the split of the songs, the model's first weights and the
            prime kept in the bundle: a run by epochs repeats itself.

    Raises:
        RecipeError: for options that do not go together.

    Examples:
        >>> recipe = Recipe(transpose=(-1, 1)).resolved()
        >>> recipe.normalize_keys, recipe.views
        (False, 1)
        >>> Recipe(tracks=True).resolved().encoding
        'band'
    """

    encoding: str = TRAINING.encoding
    seq_len: int = TRAINING.seq_len
    units: tuple[int, ...] = TRAINING.units
    minutes: float = TRAINING.minutes
    epochs: int | None = None
    keep: str | None = None
    batch_size: int = TRAINING.batch_size
    learning_rate: float = TRAINING.learning_rate
    transpose: tuple[int, int] | None = None
    normalize_keys: bool | None = None
    views: int | None = None
    min_count: int = 1
    tracks: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        self._check_ranges()
        if self.keep not in (None, "best", "last"):
            raise RecipeError(f"--keep takes 'best' or 'last', got {self.keep!r}")
        if not self.tracks and self.encoding not in encodings():
            raise RecipeError(f"--encoding: no encoding {self.encoding!r}")
        if self.tracks and getattr(encodings().get(self.encoding), "bars", False):
            raise RecipeError(
                f"--encoding {self.encoding} with --tracks: a band's tokens have no bar tokens "
                "(leave --encoding out, or --tracks)"
            )
        self._decided()

    def _check_ranges(self) -> None:
        """Refuse, naming the option, a number no run can use (`WHOLE_RANGES`, `NUMBER_RANGES`)."""
        for name in ("seq_len", "batch_size", "min_count", "seed"):
            _check_whole(name, getattr(self, name))
        for name in ("epochs", "views"):
            if getattr(self, name) is not None:
                _check_whole(name, getattr(self, name))
        if isinstance(self.units, str) or not isinstance(self.units, Sequence) or not self.units:
            raise RecipeError(f"--units takes one or more LSTM sizes, got {self.units!r}")
        for size in self.units:
            _check_whole("units", size)
        for name in NUMBER_RANGES:
            _check_number(name, getattr(self, name))
        if self.transpose is not None:
            moves = tuple(self.transpose) if isinstance(self.transpose, Sequence) else ()
            limit = MAX_TRANSPOSE
            if not (
                len(moves) == 2
                and all(isinstance(m, numbers.Integral) and -limit <= m <= limit for m in moves)
                and moves[0] <= moves[1]
            ):
                raise RecipeError(
                    f"--transpose takes LO HI, whole numbers from -{limit} to {limit} with "
                    f"LO <= HI, got {self.transpose!r}"
                )

    def resolved(self) -> Recipe:
        """This recipe with every default that depends on the others decided (`keep` aside).

        `keep` needs the data: `train` decides it (`TrainResult.recipe`).

        Examples:
            >>> Recipe(transpose=(0, 0)).resolved().views
            0
        """
        transpose, normalize_keys, views = self._decided()
        encoding = "band" if self.tracks else self.encoding
        return replace(
            self,
            encoding=encoding,
            transpose=transpose,
            normalize_keys=normalize_keys,
            views=views,
        )

    def _decided(self) -> tuple[tuple[int, int] | None, bool, int]:
        """`transpose`, `normalize_keys` and `views` decided, or RecipeError."""
        transpose, normalize_keys, views = self.transpose, self.normalize_keys, self.views
        if self.tracks and transpose is not None:
            raise RecipeError("--tracks does not transpose: leave out --transpose")
        if transpose is None:  # the default moves the songs, unless one key or a band is asked
            one_key = normalize_keys or (normalize_keys is None and TRAINING.normalize_keys)
            default = TRAINING.transpose if not (self.tracks or one_key) else None
            transpose = (int(default[0]), int(default[1])) if default else None
        else:
            transpose = (int(transpose[0]), int(transpose[1]))
        moved = transpose is not None and transpose != (0, 0)
        if normalize_keys and (self.tracks or moved):
            what = (
                "--tracks does not transpose"
                if self.tracks
                else "--transpose moves songs out of it"
            )
            raise RecipeError(f"--normalize-keys moves songs to one key and {what}: choose one")
        if normalize_keys is None:  # the default, unless the songs may not (or must not) move
            normalize_keys = TRAINING.normalize_keys and not (self.tracks or moved)
        if views is not None and views < 0:
            raise RecipeError(f"--views takes semitones >= 0, got {views}")
        if views and self.tracks:
            raise RecipeError("--tracks does not transpose: leave out --views")
        if views is None:  # a model that learnt several keys is read in those it learnt
            reach = min(TRAINING.views, -transpose[0], transpose[1]) if transpose else 0
            views = max(reach, 0) if moved else 0
        return transpose, bool(normalize_keys), int(views)

    def record(self) -> dict[str, Any]:
        """The options as plain data (lists for tuples), as a bundle keeps them.

        Examples:
            >>> Recipe(units=(8,)).record()["units"]
            [8]
        """
        fields = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}


@dataclass(frozen=True)
class TrainResult:
    """What `train` did.

    Attributes:
        run_dir: The run directory (checkpoint, ``history.csv``, the bundle).
        bundle: The bundle written (``run_dir / "bundle"``), or None on a worker
            of a cluster that is not its chief (the chief writes it).
        recipe: The recipe as followed, every default decided.
        held_out_nll: Held-out NLL per quarter note of the validation songs
            (nats), or None without any (or without a scorer).
        keys_read: How many keys the model was read in for it (1: the model alone).
        history: Each metric per epoch (``loss``, ``val_loss``, ...).
        kept_epoch: The epoch whose weights were kept (1-based) when training by time
            with ``keep="best"``, else None.
        minutes: Wall-clock minutes the training took (from the dataset's making to its end).

    Examples:
        >>> result = TrainResult(Path("runs/x"), Path("runs/x/bundle"), Recipe(), 4.2, 7,
        ...                      {"loss": [3.0, 2.5]}, 2, 3.0)
        >>> result.bundle.name, result.held_out_nll
        ('bundle', 4.2)
    """

    run_dir: Path
    bundle: Path | None
    recipe: Recipe
    held_out_nll: float | None
    keys_read: int
    history: dict[str, list[float]] = field(default_factory=dict)
    kept_epoch: int | None = None
    minutes: float = 0.0


def train(
    music: Corpus | Sequence[Piece] | Sequence[Score],
    out: str | os.PathLike[str],
    recipe: Recipe | None = None,
    *,
    read: Mapping[str, Any] | None = None,
    scorer: Callable[..., float] | None = None,
    views_of: Callable[[Any, Vocabulary, int], Sized | None] | None = None,
    verbose: int | str = "auto",
    progress: Callable[[str], object] = print,
    lock: RunLock | None = None,
) -> TrainResult:
    """Train an LSTM on `music` as ``musegen train`` does, and write its bundle in `out`.

    Reading the music forks processes: read it before TensorFlow starts (this
    starts it). With ``TF_CONFIG`` set this process is one worker of a cluster;
    only the chief writes the run directory. A rerun in the same `out` resumes
    an interrupted training, or writes the bundle of one that had ended; it
    keeps what the whole run would have (the best epoch and its weights, early
    stopping, the history of every epoch, the steps). The run directory is
    locked while the run lasts (`musegen.training.run_lock.RunLock`): a second
    run in it is refused, a lock left by a killed run taken over with one line.
    The options that shape the run (`recipe`, `read` but its ``workers``) are
    kept in ``out / "recipe.json"``: a rerun that finds an interrupted training
    with other options is refused (`check_rerun`); one that finds a finished
    run's bundle says that it trains anew and replaces it.

    Args:
        music: A `musegen.io.corpus.Corpus` or pieces; scores with ``recipe.tracks``.
        out: The run directory.
        recipe: The options (default ``Recipe()``: the measured defaults).
        read: How `music` was read (``source``, ``limit``, ...), kept in the
            bundle's training record before the recipe's options.
        scorer: Scores the held-out songs, as
            `musegen.evaluation.likelihood.nll_per_quarter` (None: no held-out NLL).
        views_of: Builds the views the scorer reads the model in, as
            `musegen.generation.views.TranspositionViews.around` (None: the model
            alone; the bundle still records ``recipe.views`` for generation).
        verbose: Keras' progress output (0 silent, 1 a bar, 2 a line per epoch).
        progress: Called with each line of news (what ``musegen train`` prints).
        lock: The lock of `out` that the caller holds (``musegen train`` takes it
            before reading the corpus) and releases; None: `train` takes its own
            (on the chief of a cluster) and releases it when it returns.

    Returns:
        What was done: the run directory, the bundle, the held-out NLL, the history.

    Raises:
        RecipeError: for options that do not go together, or ``keep="best"``
            without validation data.
        TrainingError: when `out` holds another model's backup or an interrupted
            run of other options, is another run's (its lock names the holder), or
            a worker of the cluster went away.

    Examples:
        >>> import tempfile
        >>> from musegen.events import Event
        >>> songs = [Piece(tuple(Event(i, 1, (60 + (i * k) % 12,)) for i in range(40)))
        ...          for k in (1, 2, 3, 5)]
        >>> recipe = Recipe(units=(4,), seq_len=8, minutes=0, epochs=1, transpose=(0, 0))
        >>> with tempfile.TemporaryDirectory() as out:
        ...     result = train(songs, out, recipe, verbose=0, progress=lambda line: None)
        ...     sorted(p.name for p in result.bundle.iterdir())
        ['metadata.json', 'model.keras', 'tokenizer.json', 'vocabulary.json']
        >>> result.recipe.keep, len(result.history["loss"])
        ('best', 1)
    """
    recipe = (Recipe() if recipe is None else recipe).resolved()
    if isinstance(music, Corpus):
        pieces: list[Any] = list(music.pieces)
        summary = music.summary()
    else:
        pieces = list(music)
        summary = (
            f"{len(pieces)} scores, {sum(len(s.tracks) for s in pieces)} tracks"
            if recipe.tracks
            else Corpus(pieces).summary()
        )
    if any(isinstance(p, Score) != recipe.tracks for p in pieces):
        raise RecipeError("--tracks trains on scores (read_tracks), else on pieces")
    chief = is_chief_process()  # the one process of a cluster that writes the run directory
    lock = RunLock(out, progress=progress) if lock is None else lock
    took = chief and not lock.held
    if took:
        try:
            lock.acquire()
        except RunLockedError as err:
            raise TrainingError(str(err)) from None
    try:
        if chief:
            _start_run(Path(out), recipe, read, progress)
        return _train(pieces, summary, out, recipe, read, scorer, views_of, verbose, progress)
    finally:
        if took:
            lock.release()


def _run_options(recipe: Recipe, read: Mapping[str, Any] | None) -> dict[str, Any]:
    """What shapes a run, as JSON keeps it: how the music was read, the recipe resolved."""
    kept = {k: v for k, v in (read or {}).items() if k not in _SPEED_ONLY}
    options = {"read": kept, "recipe": recipe.resolved().record()}
    parsed: dict[str, Any] = json.loads(json.dumps(options, default=str))
    return parsed


def _shown(value: Any) -> str:
    """An option's value as a command line spells it: ``32 32``, ``0.005``, ``none``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return " ".join(_shown(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def check_rerun(
    out: str | os.PathLike[str], recipe: Recipe, read: Mapping[str, Any] | None = None
) -> None:
    """Refuse to resume an interrupted run of `out` with options other than its own.

    The options a run started with are in ``out / "recipe.json"`` (`RUN_OPTIONS`);
    where `out` holds an interrupted training (its backup, or its trained weights
    before the bundle) and they differ from `recipe` and `read` (``workers`` and
    ``epochs`` aside: a rerun may train to another count), the run cannot
    resume. A run directory without the file (of an older musegen) is not checked.

    Args:
        out: The run directory.
        recipe: The options of this run.
        read: How this run's music was read (``source``, ``limit``, ...).

    Raises:
        TrainingError: naming each option that differs and both its values.

    Examples:
        >>> import tempfile
        >>> run = Path(tempfile.mkdtemp())
        >>> (run / "backup").mkdir()
        >>> kept = {"read": {"limit": 8}, "recipe": Recipe(learning_rate=0.005).resolved().record()}
        >>> _ = (run / RUN_OPTIONS).write_text(json.dumps(kept))
        >>> check_rerun(run, Recipe(learning_rate=0.005), {"limit": 8, "workers": 2})
        >>> try:
        ...     check_rerun(run, Recipe(learning_rate=0.01), {"limit": 8})
        ... except TrainingError as err:
        ...     print(str(err).replace(str(run), "runs/x"))
        runs/x holds an interrupted run with --learning-rate 0.005 (here 0.01): rerun it with \
the same options to resume, or use another --out
    """
    run = Path(out)
    if not ((run / "backup").is_dir() or (run / "trained.json").is_file()):
        return
    try:
        kept = json.loads((run / RUN_OPTIONS).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # an older musegen's run, or a damaged file: cannot tell
        return
    if not isinstance(kept, dict):
        return
    here = _run_options(recipe, read)
    differ = []
    for group in ("read", "recipe"):
        was, now = kept.get(group) or {}, here[group]
        if not isinstance(was, dict):
            continue
        for name in dict.fromkeys([*was, *now]):
            if group == "recipe" and name in _WHEN_TO_STOP:
                continue
            if was.get(name) != now.get(name):
                label = name if name == "source" else _option(name)
                differ.append(f"{label} {_shown(was.get(name))} (here {_shown(now.get(name))})")
    if differ:
        raise TrainingError(
            f"{run} holds an interrupted run with {', '.join(differ)}: rerun it with the "
            "same options to resume, or use another --out"
        )


def _start_run(
    run: Path, recipe: Recipe, read: Mapping[str, Any] | None, progress: Callable[[str], object]
) -> None:
    """Check a rerun's options and keep this run's in ``run / "recipe.json"``.

    A rerun on a finished run (its bundle, no backup) says that it replaces the bundle.
    """
    check_rerun(run, recipe, read)
    interrupted = (run / "backup").is_dir() or (run / "trained.json").is_file()
    if not interrupted and (run / "bundle").exists():
        progress(
            f"{run / 'bundle'} holds the bundle of a finished run: training anew, it is "
            "replaced when this run ends"
        )
    atomic_write_text(run / RUN_OPTIONS, json.dumps(_run_options(recipe, read), indent=1))


def _train(
    pieces: list[Any],
    summary: str,
    out: str | os.PathLike[str],
    recipe: Recipe,
    read: Mapping[str, Any] | None,
    scorer: Callable[..., float] | None,
    views_of: Callable[[Any, Vocabulary, int], Sized | None] | None,
    verbose: int | str,
    progress: Callable[[str], object],
) -> TrainResult:
    """`train` once the run directory is this process's (see there)."""
    from musegen._quiet import start_tensorflow

    start_tensorflow()
    import tensorflow as tf

    from musegen.training.bundle import save_bundle
    from musegen.training.checkpoints import run_history
    from musegen.training.custom_loop import barrier, is_chief
    from musegen.training.dataset import SequenceDataset, normalized, split_pieces, transposed
    from musegen.training.fitting import distribution_strategy, fit
    from musegen.training.model import build_lstm
    from musegen.training.time_budget import TimeBudget

    # a worker of a cluster when TF_CONFIG is set; otherwise one device, as always
    strategy = distribution_strategy("multi_worker" if os.environ.get("TF_CONFIG") else "default")
    started = time.perf_counter()
    if recipe.tracks:
        from musegen.tokens.track_tokenizer import TrackTokenizer

        tokenizer: Any = TrackTokenizer()
    else:
        tokenizer = encodings()[recipe.encoding]
    shifts = recipe.transpose if recipe.transpose not in (None, (0, 0)) else None
    # the vocabulary of the training songs: a held-out token it lacks is <unk>, as in a new song
    train_pieces, val_pieces = split_pieces(pieces, VAL_FRACTION, recipe.seed)

    def sources() -> Any:
        moved: Any = transposed(train_pieces, *shifts) if shifts else train_pieces
        return normalized(moved) if recipe.normalize_keys else moved

    vocabulary = tokenizer.build_vocabulary(sources(), min_count=recipe.min_count)
    if len(vocabulary) <= len(Vocabulary.reserved_ids):  # no token kept: nothing to learn
        counts = Counter(token for piece in sources() for token in tokenizer.encode(piece))
        most = plural(max(counts.values(), default=0), "time")
        raise RecipeError(
            f"--min-count {recipe.min_count} leaves no token of the training songs "
            f"(the most frequent is seen {most})"
        )
    data = SequenceDataset.from_pieces(
        pieces,
        tokenizer,
        vocabulary,
        seq_len=recipe.seq_len,
        shape="chunks",
        val_fraction=VAL_FRACTION,
        seed=recipe.seed,
        transpose=shifts,
        normalize_keys=bool(recipe.normalize_keys),
        unknown="map",  # a token rarer than min_count is still a step in time
    )
    by_time = recipe.minutes > 0
    progress(
        f"{recipe.encoding} encoding: {len(vocabulary)} ids; "
        + _data_line(data, len(train_pieces), shifts, bool(recipe.normalize_keys))
    )
    progress(_validation_line(data, pieces, val_pieces, by_time=by_time))
    if by_time and recipe.keep == "best" and not data.num_val:
        raise RecipeError("--keep best needs validation data and this run has none")
    if recipe.keep is None:  # the default: best where there is validation data to choose by
        recipe = replace(recipe, keep=TRAINING.keep if data.num_val else "last")
    import keras

    keras.utils.set_random_seed(recipe.seed)  # the first weights, dropout: a seed repeats a run
    with strategy.scope():
        model = build_lstm(
            len(vocabulary),
            units=tuple(recipe.units),
            return_sequences=True,
            learning_rate=recipe.learning_rate,
        )
    budget = TimeBudget(recipe.minutes, started_at=started) if by_time else None
    epochs = recipe.epochs if recipe.epochs is not None else (1_000_000 if by_time else 20)
    callbacks: list[Any] = [budget] if budget else []
    keep_best = by_time and recipe.keep == "best"
    if keep_best:  # a time budget outlasts the best epoch on a small corpus: keep that one
        import keras

        callbacks.append(keras.callbacks.EarlyStopping(patience=10**9, restore_best_weights=True))
    run_dir = Path(out)
    trained = _Trained(run_dir, progress) if is_chief(strategy) else None
    restored = trained.restore(model) if trained is not None else None
    try:
        if restored is None:  # else the training had ended and only its bundle was missing
            history = fit(
                model,
                data,
                epochs=epochs,
                run_dir=out,
                batch_size=recipe.batch_size,
                verbose=verbose,
                callbacks=callbacks,
                patience=None if by_time else 5,
                keep_backup=True,  # until the trained weights are saved (a cluster's goes at once)
            )
            # the whole run's: Keras' History of a resumed run holds the epochs it trained
            losses = run_history(run_dir / "history.csv") if trained is not None else {}
            losses = losses or {k: [float(x) for x in v] for k, v in history.history.items()}
            done = budget.steps if budget else None  # of the whole run (the backup keeps them)
            if trained is not None:
                trained.save(model, losses, done)
        else:
            losses, done = restored
    except ValueError as err:  # another model's backup, a cluster share without a batch
        raise TrainingError(str(err)) from err
    except tf.errors.UnavailableError as err:  # a peer of the cluster went away mid-step
        raise TrainingError(
            "lost contact with another worker of the cluster; start every worker again "
            f"with the same command to resume from {run_dir / 'backup'}"
        ) from err
    kept = None
    if keep_best:
        val_losses = losses["val_loss"]
        kept = min(range(len(val_losses)), key=val_losses.__getitem__) + 1
        progress(f"kept the weights of epoch {kept} of {len(val_losses)} (lowest validation loss)")
    seconds = time.perf_counter() - started
    if not is_chief(strategy):
        progress(f"trained in {seconds / 60:.1f} min; the chief writes the bundle")
        barrier(strategy)
        return TrainResult(run_dir, None, recipe, None, 1, losses, kept, seconds / 60)
    reach = int(recipe.views or 0)
    views = views_of(tokenizer, vocabulary, reach) if views_of is not None and reach else None
    nll = None
    if scorer is not None:
        nll = _held_out_nll(data, val_pieces, model, scorer, bool(recipe.normalize_keys), views)
    epochs_trained = plural(len(next(iter(losses.values()), [])), "epoch")
    steps = plural(done, "step") if done is not None else epochs_trained
    if budget and done is None:  # the record of an older musegen, without the steps
        steps = f"{epochs_trained} (before the restart)"
    progress(
        f"trained {steps} in {seconds / 60:.1f} min"
        + (f"; held-out NLL {nll:.2f} nats per quarter note" if nll is not None else "")
        + (f", the model read in {len(views)} keys" if views and nll is not None else "")
        + (" (on the songs that chose the weights)" if keep_best and nll is not None else "")
    )
    path = save_bundle(
        run_dir / "bundle",
        model,
        tokenizer,
        vocabulary,
        prime=_prime(data, min(recipe.seq_len, 16), recipe.seed),
        training={"command": "train", **(read or {}), "out": str(out), **recipe.record()},
        generation=GENERATION.to_dict(),
        corpus=summary,
        held_out_nll_per_quarter=nll,
        history=losses,
    )
    progress(f"saved {path}")
    if trained is not None:
        trained.finish()
    barrier(strategy)  # the workers leave together: one gone early reads as a crash to the rest
    keys_read = len(views) if views and nll is not None else 1
    return TrainResult(run_dir, path, recipe, nll, keys_read, losses, kept, seconds / 60)


def _data_line(
    data: Any, songs: int, shifts: tuple[int, int] | None, keys_normalized: bool = False
) -> str:
    """What the model trains on: `songs` training songs, their keys, how many examples."""
    what = plural(songs, "training song")
    if keys_normalized:
        what += ", each moved to C major or A minor (--normalize-keys)"
    if shifts and data.num_train_songs != songs:
        low, high = shifts
        what += (
            f", each also moved {low:+d}..{high:+d} semitones (--transpose): "
            f"{plural(data.num_train_songs, 'song')}"
        )
    return f"{what}, {plural(len(data), 'example')} of {data.seq_len} tokens"


def _validation_line(
    data: Any, pieces: Sequence[Any], val_pieces: Sequence[Any], by_time: bool
) -> str:
    """One line on what is held out for validation, or that nothing is and what that costs."""
    import numpy as np

    if not data.num_val:
        why = (
            "the held-out songs are too short to give an example (2 tokens each)"
            if val_pieces
            else "the only song cannot be cut in two (its notes start together)"
        )
        then = (
            "the last weights are kept (--keep best is refused)"
            if by_time
            else "early stopping watches the training loss"
        )
        return f"no validation data: {why}; no held-out NLL, and {then}"
    if len(pieces) == 1:
        what = (
            f"the last {val_pieces[0].duration:.1f} of {pieces[0].duration:.1f} quarter notes "
            "of the only song held out"
        )
    else:
        what = f"{len(val_pieces)} of {len(pieces)} songs held out"
    unknown = 100 * float(np.mean(np.concatenate(data.val_ids) == data.vocabulary.unk_id))
    return (
        f"validation: {what}, {data.num_val} examples; {unknown:.1f}% of their tokens "
        "are not in the training vocabulary"
    )


def _held_out_nll(
    data: Any,
    val_pieces: Sequence[Any],
    model: Any,
    scorer: Callable[..., float],
    keys_normalized: bool,
    views: Any,
) -> float | None:
    """Held-out NLL per quarter note of the validation songs, or None without any.

    A key-normalized model is scored on the songs moved to its key, plus each
    song's key shift at ``log(12)`` nats, so that the figure compares with a
    model of the songs as they are.
    """
    songs = [(ids, p.duration) for ids, p in zip(data.val_ids, val_pieces, strict=True)]
    songs = [(ids, q) for ids, q in songs if q > 0 and len(ids) > 1]
    if not songs:
        return None
    nll = float(
        scorer(model, [s for s, _ in songs], [q for _, q in songs], batch_size=4, views=views)
    )
    if keys_normalized:
        nll += sum(math.log(12) / q for _, q in songs) / len(songs)
    return nll


def _prime(data: Any, length: int, seed: int) -> list[int] | None:
    """A stretch of a validation song (else a training song) to prime generation with.

    One without ``<unk>`` where a few draws find one: a held-out song may hold
    tokens the training songs lack, and a model never learnt what follows them.
    """
    found: list[list[int]] = []
    for source in ("val", "train"):
        for draw in range(8):
            try:
                ids = [int(i) for i in data.prime(length, source=source, seed=seed + draw)]
            except ValueError:  # no song of that split is long enough (or there is none)
                break
            if data.vocabulary.unk_id not in ids:
                return ids
            found.append(ids)
    return found[0] if found else None


class _Trained:
    """The weights and history a finished training leaves until its bundle is written.

    ``fit`` keeps its backup when training ends; `save` writes the trained model's
    weights and history here, then removes the backup; the bundle comes next. A
    run killed before the bundle is written finds them on the rerun (`restore`)
    and writes the bundle without training again.
    """

    def __init__(self, run_dir: Path, progress: Callable[[str], object]) -> None:
        self.weights = run_dir / "trained.weights.h5"
        self.record = run_dir / "trained.json"
        self.backup = run_dir / "backup"
        self.options = run_dir / RUN_OPTIONS
        self.progress = progress

    def save(self, model: Any, history: dict[str, list[float]], steps: int | None) -> None:
        atomic_save(self.weights, model.save_weights)
        floats = {k: [float(x) for x in v] for k, v in history.items()}
        record = {"history": floats, "steps": steps}
        atomic_write_text(self.record, json.dumps(record))  # last: the marker
        shutil.rmtree(self.backup, ignore_errors=True)

    def restore(self, model: Any) -> tuple[dict[str, list[float]], int | None] | None:
        """The history and steps of the training that ended (its weights loaded), or None."""
        if not self.record.is_file():
            self.remove()  # a leftover of a kill while saving: the backup is still there
            return None
        try:
            record = json.loads(self.record.read_text(encoding="utf-8"))
            history, steps = record["history"], record.get("steps")
            model.load_weights(self.weights)
        except Exception as err:  # a foreign or damaged file: train again
            self.progress(f"{self.record}: unreadable ({type(err).__name__}); training again")
            self.remove()
            return None
        self.progress(
            f"training had ended before the bundle was written: writing it from {self.weights}"
        )
        return history, steps

    def remove(self) -> None:
        self.record.unlink(missing_ok=True)
        self.weights.unlink(missing_ok=True)

    def finish(self) -> None:
        """The bundle is written (it records the options): nothing of the training is needed."""
        self.remove()
        shutil.rmtree(self.backup, ignore_errors=True)
        self.options.unlink(missing_ok=True)
