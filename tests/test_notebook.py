"""examples/quickstart.ipynb runs top to bottom (with a training budget of seconds) and shows a piano roll."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


def test_quickstart_notebook_runs_and_shows_a_piano_roll(tmp_path: Path, monkeypatch) -> None:
    nbformat = pytest.importorskip("nbformat", reason="the [dev] extra installs nbformat")
    nbclient = pytest.importorskip("nbclient", reason="the [dev] extra installs nbclient")
    monkeypatch.setenv("MUSEGEN_QUICKSTART_MINUTES", "0.05")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, "the piano roll is shown"
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "js_pitch_class" in text  # the evaluation table
    assert (tmp_path / "quickstart.mid").is_file()
    assert os.environ["MUSEGEN_QUICKSTART_MINUTES"] == "0.05"
