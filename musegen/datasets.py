"""Data that ships with musegen, so that every example and test runs on a fresh install.

- ``skuli``: the 92 piano MIDI files of the original recipe (Skuli's
  "Classical Piano Composer": Final Fantasy and other game music), MIT licence
  (``LICENSE`` beside them). Give ``"musegen:skuli"`` wherever a corpus source
  is read (`musegen.midi_io.load_corpus`, ``musegen tokenize | train``, the
  examples' ``--data``), or `path` for the folder.
- music21's own corpus (``"music21:bach"``, the Bach chorales) ships inside music21.

Examples:
    >>> sorted(DATASETS)
    ['skuli']
    >>> len(list(path("skuli").glob("*.mid")))
    92
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["DATASETS", "path"]

DATASETS = {"skuli": "skuli-midi"}
"""Dataset name -> its folder inside the package's ``data/``."""


def path(name: str = "skuli") -> Path:
    """The folder of a bundled dataset.

    Raises:
        ValueError: naming an unknown dataset and the known ones.

    Examples:
        >>> path("skuli").name
        'skuli-midi'
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; musegen ships: {sorted(DATASETS)}")
    return Path(str(resources.files("musegen") / "data" / DATASETS[name]))
