"""Named corpora: ``"musegen:<name>"`` wherever a corpus source is read.

- ``skuli``: the 92 piano MIDI files of the original recipe (Skuli's
  "Classical Piano Composer"): transcriptions of video-game music (Final
  Fantasy, Zelda, Kingdom Hearts, ...). The recipe's MIT licence covers its
  code, not these compositions, so the package does not carry them: a clone of
  the repository has them in ``data/skuli-midi``, and after a ``pip install``
  `download` fetches them once from the recipe's repository (a pinned commit,
  every file checked against its SHA-256) into the user's cache.
- ``jsb``: the JSB Chorales benchmark split (Boulanger-Lewandowski, Vincent and
  Bengio, ICML 2012: 229 train, 76 valid, 77 test chorales by J. S. Bach, public
  domain), a frame per quarter note, shipped with the package (44 kB; the JSON of
  C.-Z. A. Huang's github.com/czhuang/JSB-Chorales-dataset, commit 9a7f733, checked
  against its SHA-256 when read). `jsb_chorales` gives one split;
  ``"musegen:jsb"`` is train and valid (the songs a model is built and chosen on),
  ``"musegen:jsb/test"`` (or ``/train``, ``/valid``) one split. `bench/jsb.py`
  runs the benchmark. The frames carry no metre: `jsb_metres` gives each song's
  (time signature, pickup, changes), matched once to its source among music21's
  Bach chorales (``bench/jsb_metres.py``; ``jsb_chorales(split, metre=True)``).
- music21's own corpus (``"music21:bach"``, the Bach chorales, public domain)
  ships inside music21 and is the default everywhere.

Give ``"musegen:skuli"`` to `musegen.io.corpus.load_corpus`, ``musegen tokenize |
train`` or the examples' ``--data``, or `path` for the folder.

Examples:
    >>> sorted(DATASETS)
    ['skuli']
    >>> len(DATASETS["skuli"].files)
    93
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from musegen._files import atomic_write_bytes
from musegen._parallel import file_progress
from musegen.events import Event, Piece

__all__ = [
    "DATASETS",
    "JSB_SPLITS",
    "Dataset",
    "DatasetNotFoundError",
    "cache_dir",
    "download",
    "jsb_chorales",
    "jsb_metres",
    "jsb_source",
    "path",
]

_REPOSITORY = Path(__file__).resolve().parents[1] / "data"
"""``data/`` of a clone of the musegen repository (absent in an installed wheel)."""


class DatasetNotFoundError(FileNotFoundError):
    """A named dataset that is neither in a clone of the repository nor downloaded."""


@dataclass(frozen=True)
class Dataset:
    """A corpus known by name: where its files come from and what they must hash to.

    Attributes:
        name: the name after ``musegen:``.
        folder: the folder name, in the repository's ``data/`` and in the cache.
        url: the base URL; a file's URL is ``url + remote path``.
        description: one line on what the files are and whose they are.
    """

    name: str
    folder: str
    url: str
    description: str

    @property
    def files(self) -> dict[str, tuple[str, str]]:
        """Local file name -> ``(remote path, SHA-256)``, from the package's checksum list.

        Examples:
            >>> DATASETS["skuli"].files["8.mid"][0]
            'midi_songs/8.mid'
        """
        listing = resources.files("musegen") / "data" / f"{self.folder}.sha256"
        files = {}
        for line in listing.read_text(encoding="utf-8").splitlines():
            digest, name = line.split(maxsplit=1)
            files[name] = ("midi_songs/" + name if name.endswith(".mid") else name, digest)
        return files


DATASETS = {
    "skuli": Dataset(
        name="skuli",
        folder="skuli-midi",
        url="https://raw.githubusercontent.com/Skuldur/Classical-Piano-Composer/"
        "15724e2600ff0a1d53afcdfb0565a095c74cf369/",
        description="the original recipe's 92 piano MIDI files (video-game transcriptions; "
        "the recipe's MIT licence covers its code, not the compositions)",
    )
}
"""Dataset name -> `Dataset`."""


def cache_dir() -> Path:
    """Where `download` puts datasets: ``$MUSEGEN_DATA``, else ``$XDG_CACHE_HOME/musegen``.

    Examples:
        >>> cache_dir().name in ("musegen", os.environ.get("MUSEGEN_DATA", "musegen"))
        True
    """
    if os.environ.get("MUSEGEN_DATA"):
        return Path(os.environ["MUSEGEN_DATA"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "musegen"


def path(name: str = "skuli") -> Path:
    """The folder of a named dataset: the repository's copy, else the downloaded one.

    Raises:
        ValueError: naming an unknown dataset and the known ones.
        DatasetNotFoundError: when the files are in neither place, saying how to get them.

    Examples:
        >>> path("skuli").name
        'skuli-midi'
    """
    dataset = _dataset(name)
    files = dataset.files
    for folder in (_REPOSITORY / dataset.folder, cache_dir() / dataset.folder):
        if all((folder / file).is_file() for file in files):
            return folder
    raise DatasetNotFoundError(
        f"musegen:{name} is not on this machine: {dataset.description}; fetch it once with "
        f"`musegen download {name}` (or musegen.datasets.download({name!r}))"
    )


def download(
    name: str = "skuli",
    to: str | os.PathLike[str] | None = None,
    *,
    url: str | None = None,
    progress: bool = True,
) -> Path:
    """Fetch a named dataset's files, check each against its SHA-256, and return the folder.

    Files already there with the right checksum are kept; each new one is
    written atomically only after its checksum matched, so an interrupted or
    corrupted download leaves no bad file behind.

    Args:
        name: a key of `DATASETS`.
        to: the folder that receives the dataset's folder (default `cache_dir`).
        url: another base URL serving the same files (a mirror).
        progress: a progress bar over the files.

    Raises:
        ValueError: for an unknown dataset, or a file whose checksum does not
            match (naming the file, the URL and both checksums).
        OSError: naming the URL when a file cannot be fetched.

    Examples:
        >>> folder = download("skuli")  # doctest: +SKIP
        >>> len(list(folder.glob("*.mid")))  # doctest: +SKIP
        92
        >>> download("skuli-2")
        Traceback (most recent call last):
        ValueError: unknown dataset 'skuli-2'; musegen knows: ['skuli']
    """
    dataset = _dataset(name)
    folder = Path(to).expanduser() if to is not None else cache_dir()
    folder = folder / dataset.folder
    base, files = url or dataset.url, dataset.files  # files: read from the package once
    for local, (remote, digest) in file_progress(
        files.items(), progress, f"musegen:{name}", len(files)
    ):
        target = folder / local
        if target.is_file() and _sha256(target.read_bytes()) == digest:
            continue
        address = urllib.parse.urljoin(base.rstrip("/") + "/", urllib.parse.quote(remote))
        try:
            with urllib.request.urlopen(address, timeout=60) as response:
                data = response.read()
        except OSError as err:
            raise OSError(f"could not fetch {address}: {err}") from None
        if _sha256(data) != digest:
            raise ValueError(
                f"{local} from {address} has SHA-256 {_sha256(data)}, expected {digest}; "
                "nothing was written"
            )
        atomic_write_bytes(target, data)
    return folder


def _dataset(name: str) -> Dataset:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; musegen knows: {sorted(DATASETS)}")
    return DATASETS[name]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


JSB_SPLITS = ("train", "valid", "test")
"""The JSB Chorales benchmark's splits, in the order of `jsb_chorales`' sources."""

_JSB_FILE = "jsb-chorales-quarter.json.gz"
_JSB_SHA256 = "2db9329f1881a1d3f49703ec556bf1d6f84b4f6c1d702c156536e93cf31e1c91"
_JSB_METRES = "jsb-metres.json.gz"


def jsb_chorales(split: str = "train", *, metre: bool = False) -> list[Piece]:
    """One split of the JSB Chorales benchmark, a piece per chorale, an event per frame.

    Each frame (a quarter note) becomes an event of length 1 holding the pitches
    sounding then (a rest where none does), so held and repeated notes look the
    same, as in the benchmark. `musegen.tokens.frame_tokenizer.FrameTokenizer`
    spells them frame by frame (``bench/jsb.py``: NLL per frame).

    Args:
        split: ``"train"`` (229 chorales), ``"valid"`` (76) or ``"test"`` (77).
        metre: Give each chorale its metre map (time signature, pickup, changes)
            from `jsb_metres`; a chorale with no match there stays 4/4 with no pickup.

    Raises:
        ValueError: for another split, or a shipped file that does not match its
            published SHA-256.

    Examples:
        >>> chorales = jsb_chorales("valid")
        >>> len(chorales), chorales[0].source
        (76, 'jsb/valid/000')
        >>> chorales[0].events[0].pitches
        (72, 76, 79, 84)
        >>> waltz = jsb_chorales("train", metre=True)[4]
        >>> waltz.time_signature, waltz.pickup, waltz.bar_lines(10)
        ('3/4', 0.0, [0.0, 3.0, 6.0, 9.0])
    """
    pieces = _jsb_splits([split])[split]
    if not metre:
        return pieces
    return [
        piece
        if found is None
        else replace(
            piece,
            time_signature=found["time_signature"],
            time_signature_changes=tuple((float(at), str(s)) for at, s in found["changes"]),
            pickup=float(found["pickup"]),
        )
        for piece, found in zip(pieces, jsb_metres(split), strict=True)
    ]


def jsb_metres(split: str = "train") -> list[dict[str, Any] | None]:
    """Each chorale's metre in one JSB split, from its source among music21's Bach chorales.

    The benchmark's frames carry no metre; ``bench/jsb_metres.py`` matched each
    song once to the music21 chorale it was made from (comparing piano rolls,
    transposed, repeats played) and shipped the result
    (``musegen/data/jsb-metres.json.gz``). An entry holds ``time_signature``,
    ``pickup`` (quarter notes before the first bar line), ``changes`` (``[offset,
    metre]`` pairs, e.g. a fermata bar's ``5/4`` and back), ``source`` (music21's
    corpus name, ``+repeats`` when its repeats were expanded), ``repeat`` (frames
    of the start played twice where music21 marks no repeat), ``transpose``,
    ``shift`` and ``score`` (the match's overlap, 0..1). A song without a
    confident match is None.

    Args:
        split: ``"train"``, ``"valid"`` or ``"test"``.

    Raises:
        ValueError: for another split.

    Examples:
        >>> found = jsb_metres("train")[0]
        >>> found["source"], found["time_signature"], found["pickup"]
        ('bach/bwv190.7', '4/4', 1.0)
    """
    if split not in JSB_SPLITS:
        raise ValueError(f"unknown JSB split {split!r}; choose from {list(JSB_SPLITS)}")
    raw = gzip.decompress((resources.files("musegen") / "data" / _JSB_METRES).read_bytes())
    entries: list[dict[str, Any] | None] = json.loads(raw)[split]
    return entries


def _jsb_splits(splits: list[str]) -> dict[str, list[Piece]]:
    """The chorales of `splits`, from one read of the shipped file (checked against its SHA-256)."""
    unknown = [s for s in splits if s not in JSB_SPLITS]
    if unknown:
        raise ValueError(f"unknown JSB split {unknown[0]!r}; choose from {list(JSB_SPLITS)}")
    raw = gzip.decompress((resources.files("musegen") / "data" / _JSB_FILE).read_bytes())
    if _sha256(raw) != _JSB_SHA256:
        raise ValueError(
            f"musegen/data/{_JSB_FILE} has SHA-256 {_sha256(raw)}, expected {_JSB_SHA256}: "
            "the package is damaged; reinstall musegen"
        )
    frames = json.loads(raw)
    return {
        split: [
            Piece(
                tuple(Event(float(k), 1.0, tuple(map(int, f))) for k, f in enumerate(chorale)),
                source=f"jsb/{split}/{i:03d}",
            )
            for i, chorale in enumerate(frames[split])
        ]
        for split in splits
    }


def jsb_source(source: str) -> list[Piece] | None:
    """The chorales a ``"musegen:jsb[/split]"`` source names, or None for another source.

    ``"musegen:jsb"`` is train and valid (the test split stays out of training).

    Examples:
        >>> len(jsb_source("musegen:jsb")), len(jsb_source("musegen:jsb/test"))
        (305, 77)
        >>> jsb_source("musegen:skuli") is None
        True
    """
    split = _jsb_split(source)
    if split is None:
        return None
    chorales = _jsb_splits([split] if split else ["train", "valid"])
    return [piece for pieces in chorales.values() for piece in pieces]


def _jsb_split(source: str) -> str | None:
    """The split a ``"musegen:jsb[/split]"`` source names ("" for none), None for another source.

    Examples:
        >>> _jsb_split("musegen:jsb/test"), _jsb_split("musegen:jsb"), _jsb_split("musegen:skuli")
        ('test', '', None)
    """
    name, _, split = source.removeprefix("musegen:").partition("/")
    return split if source.startswith("musegen:") and name == "jsb" else None
