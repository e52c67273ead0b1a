"""Save and load a trained model together with its tokenizer and vocabulary.

A bundle is one directory::

    model.keras        the Keras model (loaded with safe_mode=True)
    tokenizer.json     the tokenizer (`Tokenizer.to_json`)
    vocabulary.json    the vocabulary (`Vocabulary.to_json`)
    metadata.json      library version, format version, anything the caller adds

The model is saved for generation: uncompiled, without its optimizer's state
(a third of the size; training resumes from a run's checkpoints, not from its
bundle), its weights in float32 or, with ``weights="float16"``, in half the
space (they load as float32 again). ``"musegen:<name>"`` names a bundle that
ships with the library (`shipped_bundles`), trained by ``bench/bundles.py``.

`save_bundle` writes a complete bundle into a temporary folder beside the
target and only then moves it into place, so an interrupted save leaves the
previous bundle (or nothing) behind, never half a bundle. Directories cannot be
swapped atomically: the previous bundle is first moved aside (into a hidden
``.<name>.*.old`` folder beside it), then the new one moved in. A save that
fails between the two moves puts the previous bundle back; one killed there
leaves it aside, where `load_bundle` still finds it.
"""

from __future__ import annotations

import glob
import json
import math
import os
import re
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeVar

import numpy as np

from musegen._files import atomic_write_text, dump_document, library_version, load_document
from musegen.tokens.note_tokenizer import NoteTokenizer  # noqa: F401  (registers it for Tokenizer.load)
from musegen.tokens.tokenizer import Tokenizer
from musegen.tokens.vocabulary import Vocabulary

if TYPE_CHECKING:
    import keras

    from musegen.events import Piece

__all__ = [
    "BUNDLE_FILES",
    "Bundle",
    "BundleError",
    "BundleWarning",
    "bundle_path",
    "load_bundle",
    "save_bundle",
    "shipped_bundles",
]

BUNDLE_FILES = ("model.keras", "tokenizer.json", "vocabulary.json", "metadata.json")
"""The files every bundle holds."""


T = TypeVar("T")


class BundleError(Exception):
    """A bundle cannot be saved or loaded; the message names the bundle and the cause.

    The message is one line: the bundle's folder or the file of it at fault,
    then what is wrong.

    Examples:
        >>> str(BundleError("runs/a/bundle/tokenizer.json: not a JSON document"))
        'runs/a/bundle/tokenizer.json: not a JSON document'
    """


class BundleWarning(UserWarning):
    """A bundle that loads but may not behave as it did: one saved by a newer musegen.

    Examples:
        >>> issubclass(BundleWarning, UserWarning)
        True
    """


@dataclass
class Bundle:
    """A trained model with what it needs to read and write music.

    Attributes:
        model: The Keras model.
        tokenizer: The tokenizer its training data went through.
        vocabulary: Token <-> id mapping; its length is the model's output size.
        metadata: What `save_bundle` was given, plus ``vocab_size`` and the
            ``musegen_version`` that saved it.

    Examples:
        >>> from musegen.training.model import build_lstm
        >>> vocab = Vocabulary(["C4", "D4"])
        >>> Bundle(build_lstm(len(vocab), units=(4,)), Tokenizer(), vocab).vocabulary
        Vocabulary(4 ids)
    """

    model: keras.Model
    tokenizer: Tokenizer
    vocabulary: Vocabulary
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def normalizes_keys(self) -> bool:
        """Whether the model learnt its songs moved to C major / A minor (``normalize_keys``)."""
        return bool((self.metadata.get("training") or {}).get("normalize_keys"))

    @property
    def view_semitones(self) -> int:
        """How far each way the model is read in other keys (``views``; 0: not at all).

        `musegen.generation.views.TranspositionViews.of_bundle` builds those readings.
        """
        return int((self.metadata.get("training") or {}).get("views") or 0)

    def in_key(self, music: Piece | str | None) -> Bundle:
        """This bundle reading and writing in the key of `music`: a piece, a key name or None.

        A key-normalized model (`normalizes_keys`) learnt one key; here its
        vocabulary is relabeled (`musegen.tokens.transposition.transposed_vocabulary`)
        so that a prime in `music`'s key reaches the model in C major / A minor
        and what the model writes comes back in `music`'s key. Any other
        bundle, or None, is returned as it is.

        Examples:
            >>> from musegen.training.model import build_lstm
            >>> vocab = Vocabulary(["C4", "E4", "G4", "4th"])
            >>> bundle = Bundle(build_lstm(len(vocab), units=(4,)), NoteTokenizer(), vocab,
            ...                 {"training": {"normalize_keys": True}})
            >>> bundle.in_key("D major").vocabulary.tokens
            ['D4', 'F#4', 'A4', '4th']
        """
        if not self.normalizes_keys or music is None:
            return self
        from musegen.keys import key_shift
        from musegen.tokens.transposition import transposed_vocabulary

        moved = transposed_vocabulary(self.tokenizer, self.vocabulary, -key_shift(music))
        return Bundle(self.model, self.tokenizer, moved, self.metadata)


def save_bundle(
    path: str | os.PathLike[str],
    model: keras.Model,
    tokenizer: Tokenizer,
    vocabulary: Vocabulary,
    weights: Literal["float32", "float16"] = "float32",
    **metadata: Any,
) -> Path:
    """Write a bundle directory at `path`, replacing any bundle already there.

    Args:
        path: The bundle directory.
        model: The trained Keras model; its output size must be ``len(vocabulary)``.
            Its layers and weights are saved, not its optimizer's state.
        tokenizer: The tokenizer (anything with ``to_json()``).
        vocabulary: The vocabulary.
        weights: ``"float16"`` stores the weights in half the space (the
            shipped bundles do: probabilities move by about 1e-3); they load as
            float32.
        **metadata: JSON-able facts to keep with it (training configuration,
            corpus summary, ...); ``vocab_size`` and ``musegen_version`` are added.

    Returns:
        The bundle's path.

    Raises:
        BundleError: when the model's output size differs from the vocabulary's,
            or a metadata value is not JSON-able (naming it).

    Examples:
        >>> import tempfile, pathlib
        >>> from musegen.training.model import build_lstm
        >>> vocab = Vocabulary(["C4", "D4"])
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "run"
        >>> _ = save_bundle(path, build_lstm(4, units=(4,)), Tokenizer(), vocab, epochs=3)
        >>> sorted(p.name for p in path.iterdir())
        ['metadata.json', 'model.keras', 'tokenizer.json', 'vocabulary.json']
    """
    target = Path(path)
    _check_sizes(target, model, vocabulary)
    if weights not in ("float32", "float16"):
        raise BundleError(f"{target}: weights must be 'float32' or 'float16', got {weights!r}")
    for key, value in metadata.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError) as err:
            raise BundleError(f"{target}: metadata {key!r} is not JSON-able ({err})") from None
    facts = {**metadata, "vocab_size": len(vocabulary), "musegen_version": library_version()}
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        _for_generation(model).save(staging / "model.keras")
        if weights == "float16":
            _halve_weights(staging / "model.keras")
        atomic_write_text(staging / "tokenizer.json", tokenizer.to_json())
        atomic_write_text(staging / "vocabulary.json", vocabulary.to_json())
        atomic_write_text(
            staging / "metadata.json",
            dump_document("bundle", "Bundle", facts),
        )
        _replace_dir(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def load_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Read a bundle written by `save_bundle`.

    Args:
        path: The bundle directory, the run directory of ``musegen train``
            holding one (``run/bundle``), or ``"musegen:<name>"`` for a bundle
            that ships with the library (`shipped_bundles`).

    A bundle of this format saved by a newer musegen release (a higher major
    or minor version) loads with a `BundleWarning`: it may hold settings this
    version does not know. One of a newer format is refused.

    Raises:
        BundleError: in one line naming the bundle's folder and the file at
            fault, when a file is missing, unreadable or malformed, the bundle
            was written by a newer (or no known) format version, a value of
            ``metadata.json`` or ``tokenizer.json`` is one generation cannot
            use (naming the field and what it takes: `_check_metadata`,
            `_check_tokenizer`), or the vocabulary size differs from the
            model's output size.

    Examples:
        >>> import tempfile, pathlib
        >>> from musegen.training.model import build_lstm
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "run"
        >>> _ = save_bundle(path, build_lstm(4, units=(4,)), Tokenizer(), Vocabulary(["C4", "D4"]))
        >>> load_bundle(path).vocabulary.tokens
        ['C4', 'D4']
    """
    folder = bundle_path(path)
    if (folder / "bundle").is_dir() and not (folder / "metadata.json").is_file():
        folder = folder / "bundle"  # a run directory
    if not folder.is_dir():
        retired = _retired(folder)
        if not retired:
            raise BundleError(f"{folder}: no bundle directory there")
        folder = retired[0]  # a save was killed between moving the old bundle out and the new in
    missing = [name for name in BUNDLE_FILES if not (folder / name).is_file()]
    if missing:
        raise BundleError(f"{folder}: bundle lacks {', '.join(missing)}")
    metadata = _read(folder / "metadata.json", "bundle metadata", _metadata)
    tokenizer = _read(folder / "tokenizer.json", "tokenizer", _tokenizer)
    vocabulary = _read(folder / "vocabulary.json", "vocabulary", Vocabulary.from_json)
    _check_metadata(folder / "metadata.json", metadata, vocabulary)
    _warn_if_newer(folder, metadata.get("musegen_version"))
    archive = folder / "model.keras"
    if not zipfile.is_zipfile(archive):
        raise BundleError(
            f"{archive}: cannot load the model: not a complete .keras archive "
            f"({archive.stat().st_size} bytes; truncated or damaged: save the bundle again)"
        )
    import keras  # here: finding a bundle (`bundle_path`) starts no TensorFlow

    try:
        import musegen.training.transformer  # noqa: F401 (its layers, for a Transformer's bundle)

        model = keras.saving.load_model(archive, safe_mode=True)
    except Exception as err:  # Keras raises many types for a bad archive
        raise BundleError(f"{archive}: cannot load the model ({_one_line(err)})") from err
    _check_sizes(folder, model, vocabulary)
    return Bundle(model, tokenizer, vocabulary, metadata)


def _metadata(text: str, *, source: str) -> dict[str, Any]:
    """The bundle's metadata (the document's config); its own ``musegen_version`` checked."""
    config = load_document(text, "bundle", source)[1]
    saved_by = json.loads(text).get("musegen_version")
    if saved_by is not None and not isinstance(saved_by, str):
        raise ValueError(
            f"{source}: musegen_version takes the release that wrote the file, "
            f"a string such as '0.1.0', got {_shown(saved_by)}"
        )
    return config


def _tokenizer(text: str, *, source: str) -> Tokenizer:
    """The tokenizer of a ``tokenizer.json``, its values checked (`_check_tokenizer`)."""
    tokenizer = Tokenizer.from_json(text, source=source)
    _check_tokenizer(source, load_document(text, "tokenizer", source)[1], tokenizer.get_config())
    return tokenizer


def _check_tokenizer(source: str, given: dict[str, Any], built: dict[str, Any]) -> None:
    """Refuse values a tokenizer's constructor converts without complaint but cannot use.

    A switch (a setting the tokenizer holds as a bool) must be written true or
    false, not a string or number that merely converts; ``default_velocity`` a
    MIDI velocity, 1 to 127; every number (durations, edges, steps) finite.

    Raises:
        ValueError: starting with `source`, naming the field and what it takes.
    """

    def refuse(name: str, takes: str, value: object) -> NoReturn:
        raise ValueError(f"{source}: config.{name} takes {takes}, got {_shown(value)}")

    for key, value in built.items():
        if isinstance(value, bool) and key in given and not isinstance(given[key], bool):
            refuse(key, "true or false", given[key])
    if "default_velocity" in given:
        velocity = given["default_velocity"]
        if not (_whole(velocity) and 1 <= velocity <= 127):
            refuse("default_velocity", "a whole number, 1 to 127", velocity)
    fields: dict[str, Any] = {}
    for key, value in built.items():  # one level of tables: durations.values, ...
        parts = value.items() if isinstance(value, dict) else [("", value)]
        fields.update({f"{key}.{part}" if part else key: inner for part, inner in parts})
    for name, value in fields.items():
        several = isinstance(value, (list, tuple))
        numbers = value if several else [value]
        if any(isinstance(x, float) and not math.isfinite(x) for x in numbers):
            refuse(name, "finite numbers" if several else "a finite number", value)


def _check_metadata(file: Path, metadata: dict[str, Any], vocabulary: Vocabulary) -> None:
    """Refuse a value of ``metadata.json`` that generation reads but cannot use.

    ``prime`` (the ids generation starts from when given none) must be ids of
    `vocabulary`; ``generation`` a sampler record (a table with a ``name``: the
    generation stage checks its options as it builds it); ``training`` a table
    whose ``views`` is a whole number 0 to `musegen.training.recipe.MAX_VIEWS`
    and ``normalize_keys`` true or false;
    ``musegen_version`` a string. Absent or empty values are left to the
    defaults, as generation reads them.

    Raises:
        BundleError: one line starting with `file`, naming the field and what it takes.
    """

    def refuse(name: str, takes: str, value: object) -> NoReturn:
        raise BundleError(f"{file}: config.{name} takes {takes}, got {_shown(value)}")

    saved_by = metadata.get("musegen_version")
    if saved_by is not None and not isinstance(saved_by, str):
        refuse(
            "musegen_version",
            "the release that saved the bundle, a string such as '0.1.0'",
            saved_by,
        )
    prime = metadata.get("prime")
    last = len(vocabulary) - 1
    if prime and not (isinstance(prime, list) and all(_whole(i) and 0 <= i <= last for i in prime)):
        refuse(
            "prime",
            f"the ids generation starts from, whole numbers 0 to {last} (the vocabulary's)",
            prime,
        )
    record = metadata.get("generation")  # its options are checked where a sampler is built
    if record and not (isinstance(record, dict) and isinstance(record.get("name"), str)):
        refuse("generation", "a sampler record such as {'name': 'top_p', 'p': 0.9}", record)
    training = metadata.get("training")
    if not training:
        return
    if not isinstance(training, dict):
        refuse("training", "the record of the training run, a table of its options", training)
    from musegen.training.recipe import MAX_VIEWS

    views = training.get("views")
    if views is not None and not (_whole(views) and 0 <= views <= MAX_VIEWS):
        refuse("training.views", f"a whole number, 0 to {MAX_VIEWS}", views)
    keys = training.get("normalize_keys")
    if keys is not None and not isinstance(keys, bool):
        refuse("training.normalize_keys", "true or false", keys)


def _whole(value: object) -> bool:
    """Whether `value` is a whole number as JSON writes one (an int, not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(value: object, limit: int = 80) -> str:
    """`value` as Python writes it, cut to `limit` characters.

    Examples:
        >>> _shown([9999, 1]), _shown(list(range(40)), 20)
        ('[9999, 1]', '[0, 1, 2, 3, 4, 5...')
    """
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _read(file: Path, what: str, parse: Callable[..., T]) -> T:
    """`parse` (text, source=) of one JSON file of a bundle; any failure a one-line `BundleError`.

    A document that parses but whose settings no class accepts raises
    whatever its constructor raises (TypeError, KeyError, ...): all name `file`.
    """
    source = str(file)
    try:
        return parse(file.read_text(encoding="utf-8"), source=source)
    except UnicodeDecodeError as err:
        reason = f"not UTF-8 text ({err.reason} at byte {err.start})"
    except (OSError, ValueError) as err:
        reason = _one_line(err).removeprefix(f"{source}: ")
    except Exception as err:  # a malformed config: its class raises any type
        reason = f"not a {what} this musegen reads ({type(err).__name__}: {_one_line(err)})"
    raise BundleError(f"{source}: {reason}")


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _release(version: object) -> tuple[int, int] | None:
    """(major, minor) of a version such as ``"0.1.0"`` or ``"1.2rc1"``; None if it has none.

    Examples:
        >>> _release("0.1.0"), _release("99.0"), _release("unknown")
        ((0, 1), (99, 0), None)
    """
    found = re.match(r"(\d+)\.(\d+)", version) if isinstance(version, str) else None
    return (int(found[1]), int(found[2])) if found else None


def _warn_if_newer(folder: Path, saved_by: object) -> None:
    """One `BundleWarning` line when a newer musegen release (major or minor) saved the bundle."""
    saved, running = _release(saved_by), _release(library_version())
    if saved is not None and running is not None and saved > running:
        warnings.warn(
            f"{folder}: saved by musegen {saved_by}, newer than this one ({library_version()}); "
            "it loads, but may not play as it was trained: upgrade musegen",
            BundleWarning,
            stacklevel=3,
        )


def shipped_bundles() -> dict[str, Path]:
    """The bundles that ship with the library, by name, each a bundle directory.

    ``bench/bundles.py`` trains them on corpora music21 ships (public domain);
    each one's ``metadata.json`` records how (``training``, ``record``) and what
    it scored.

    Examples:
        >>> sorted(shipped_bundles())
        ['chorales', 'folk', 'quartets']
    """
    root = Path(__file__).resolve().parents[1] / "data" / "bundles"
    found = sorted(p.parent for p in root.glob("*/metadata.json"))
    return {p.name: p for p in found}


def bundle_path(path: str | os.PathLike[str]) -> Path:
    """The directory `path` names: itself, or a shipped bundle's for ``"musegen:<name>"``.

    Raises:
        BundleError: for ``"musegen:<name>"`` when no bundle of that name ships,
            naming those that do.

    Examples:
        >>> bundle_path("musegen:chorales").name
        'chorales'
        >>> str(bundle_path("runs/bach/bundle"))
        'runs/bach/bundle'
    """
    text = os.fspath(path)
    if not text.startswith("musegen:"):
        return Path(text)
    name = text.removeprefix("musegen:")
    shipped = shipped_bundles()
    if name not in shipped:
        raise BundleError(
            f"{text}: no bundle of that name ships with musegen "
            f"(there are: {', '.join(shipped) or 'none'})"
        )
    return shipped[name]


def _for_generation(model: keras.Model) -> keras.Model:
    """`model` without its compiled loss and optimizer (whose state is twice the weights)."""
    if not getattr(model, "optimizer", None):
        return model
    bare = type(model).from_config(model.get_config())
    bare.set_weights(model.get_weights())
    return bare


def _halve_weights(archive: Path) -> None:
    """Rewrite a ``.keras`` archive's float32 weights as float16 (Keras casts them on load)."""
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(archive) as source:
        members = {name: source.read(name) for name in source.namelist()}
    halved = io.BytesIO()
    with (
        h5py.File(io.BytesIO(members["model.weights.h5"]), "r") as old,
        h5py.File(halved, "w") as new,
    ):

        def copy(group: Any, into: Any) -> None:
            into.attrs.update(group.attrs)
            for key, item in group.items():
                if isinstance(item, h5py.Group):
                    copy(item, into.create_group(key))
                else:
                    data = item[()]
                    into.create_dataset(
                        key, data=data.astype(np.float16) if data.dtype == np.float32 else data
                    )

        copy(old, new)
    members["model.weights.h5"] = halved.getvalue()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in members.items():
            out.writestr(name, data)


def _check_sizes(where: Path, model: keras.Model, vocabulary: Vocabulary) -> None:
    outputs = model.output_shape[-1]
    if outputs != len(vocabulary):
        raise BundleError(
            f"{where}: the vocabulary has {len(vocabulary)} ids but the model predicts "
            f"{outputs}; they were not trained together"
        )


def _replace_dir(staging: Path, target: Path) -> None:
    """Move `staging` to `target`; an old bundle stays on disk until the new one is in place."""
    if target.exists():
        if not (target / "metadata.json").is_file() and any(target.iterdir()):
            raise BundleError(f"{target}: exists and is not a bundle; not replacing it")
        retired = Path(
            tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
        )
        os.replace(target, retired / target.name)
        try:
            os.replace(staging, target)
        except BaseException:
            os.replace(retired / target.name, target)  # put the previous bundle back
            retired.rmdir()
            raise
    else:
        os.replace(staging, target)
    for old in target.parent.glob(f".{glob.escape(target.name)}.*.old"):
        shutil.rmtree(old, ignore_errors=True)


def _retired(target: Path) -> list[Path]:
    """Previous bundles a save moved aside and never removed (it was killed), newest first."""
    found = [
        old / target.name
        for old in target.parent.glob(f".{glob.escape(target.name)}.*.old")
        if (old / target.name / "metadata.json").is_file()
    ]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)
