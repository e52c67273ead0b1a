"""A fresh clone runs: the repository copied alone to a temporary folder, every example run there.

Nothing sits beside the copy (no ``../shared``): the examples read the data that
ships with musegen (``musegen:skuli``) or with music21 (``music21:bach``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICKEST = {
    "compare_samplers": "--limit 3 --epochs 1 --units 8 --seq-len 8 --pieces 2 --steps 12 "
    "--prime 4 --min-count 1 --no-audio",
    "harmonize": "--limit 20 --minutes 0.05 --chorales 1 --notes 6",
    "other_dataset": "--limit 3 --epochs 1 --units 8 --pieces 1 --steps 8",
    "seed_encodings": "--limit 3 --epochs 1 --units 8 --steps 8",
    "sequence_lengths": "--limit 3 --epochs 1 --units 8 --seq-lens 5,10",
    "several_instruments": "--limit 3 --epochs 1 --units 8 --steps 8",
    "skuli_baseline": "--limit 5 --epochs 1 --units 8,8,8 --steps 8",
    "song_structure": "--limit 3 --epochs 1 --units 8 --steps 16 --min-count 1",
}
DRIVER = """
import json, sys
from pathlib import Path
sys.path.insert(0, "examples")
import musegen
assert Path(musegen.__file__).resolve().is_relative_to(Path.cwd().resolve()), musegen.__file__
done = {}
for name, args in json.loads(sys.argv[1]).items():
    module = __import__(name)
    module.main([*args.split(), "--out", str(Path(sys.argv[2]) / name)])
    done[name] = sorted(p.name for p in (Path(sys.argv[2]) / name).rglob("*") if p.is_file())
print("DONE " + json.dumps(done))
"""


def test_every_example_runs_in_a_copy_with_nothing_beside_it(
    tmp_path: Path, copy_repository
) -> None:
    examples = sorted(p.stem for p in (ROOT / "examples").glob("*.py") if p.stem[0] != "_")
    assert sorted(QUICKEST) == examples, "give every example its quickest setting here"
    clone = copy_repository(tmp_path / "alone" / "musegen")
    assert sorted(p.name for p in clone.parent.iterdir()) == ["musegen"]
    assert (clone / "data" / "skuli-midi" / "LICENSE").is_file()
    env = {**os.environ, "PYTHONPATH": str(clone), "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(QUICKEST), str(tmp_path / "out")],
        cwd=clone, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    done = json.loads(result.stdout.split("DONE ", 1)[1])
    assert sorted(done) == examples
    assert all(done.values()), done  # every example wrote its outputs
    assert any(f.endswith(".mid") for f in done["compare_samplers"])
