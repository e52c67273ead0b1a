import json
import subprocess
import sys
import time

import pytest

from musegen.events import Event, Piece
from musegen.io.writing import write_midi
from musegen.tokens import token_cache
from musegen.tokens.token_cache import TokenCache, cached_tokens, tokenize_file
from musegen.tokens.tokenizer import DurationBuckets, Tokenizer


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    """Eight small MIDI files, all different, and one that is not MIDI."""
    folder = tmp_path_factory.mktemp("songs")
    paths = []
    for number in range(8):
        events = [Event(i * 0.5, 0.5, (60 + number + i % 5,), 70) for i in range(6)]
        events.append(Event(4.0, 1.0, (48 + number, 55 + number), 90))
        paths.append(write_midi(Piece(tuple(events)), folder / f"song{number}.mid"))
    (folder / "broken.mid").write_text("not music")
    return paths, folder / "broken.mid"


def _entries(directory):
    return sorted(p for p in directory.rglob("*") if p.is_file())


def test_second_run_reads_only_the_cache(songs, tmp_path, monkeypatch):
    paths, _ = songs
    tokenizer = Tokenizer.seed()
    first = cached_tokens(paths, tokenizer, cache=tmp_path, workers=1, progress=False)
    assert first.hits == 0
    assert first.tokens == [tokenize_file(p, tokenizer) for p in paths]
    assert len(_entries(tmp_path)) == len(paths)

    def no_reading(*args, **kwargs):
        raise AssertionError("a file was parsed on a warm run")

    monkeypatch.setattr(token_cache, "tokenize_file", no_reading)
    second = cached_tokens(paths, tokenizer, cache=TokenCache(tmp_path), progress=False)
    assert second.hits == len(paths)
    assert second.tokens == first.tokens
    assert second.paths == paths


def test_changed_tokenizer_or_reader_option_misses(songs, tmp_path):
    paths, _ = songs
    cached_tokens(paths[:2], Tokenizer(), cache=tmp_path, workers=1, progress=False)
    coarser = Tokenizer(durations=DurationBuckets((1.0,), ("s", "l"), (0.5, 2.0)))
    assert cached_tokens(paths[:2], coarser, cache=tmp_path, progress=False).hits == 0
    assert cached_tokens(paths[:2], Tokenizer(), cache=tmp_path, progress=False).hits == 2
    other_parts = cached_tokens(paths[:2], Tokenizer(), cache=tmp_path, parts="first")
    assert other_parts.hits == 0


def test_a_file_is_found_by_its_contents_not_its_name(songs, tmp_path):
    paths, _ = songs
    cached_tokens(paths[:1], Tokenizer(), cache=tmp_path / "cache", progress=False)
    copy = tmp_path / "renamed.mid"
    copy.write_bytes(paths[0].read_bytes())
    assert cached_tokens([copy], Tokenizer(), cache=tmp_path / "cache").hits == 1


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # truncated
        lambda text: "",
        lambda text: text.replace('"tokens":[', '"tokens":[1,'),  # not all text
        lambda text: json.dumps({"key": "another", "tokens": []}),
    ],
)
def test_corrupt_entry_is_a_miss_and_is_rewritten(songs, tmp_path, damage):
    paths, _ = songs
    tokenizer = Tokenizer()
    good = cached_tokens(paths[:1], tokenizer, cache=tmp_path, progress=False).tokens
    (entry,) = _entries(tmp_path)
    entry.write_text(damage(entry.read_text()))
    again = cached_tokens(paths[:1], tokenizer, cache=tmp_path, progress=False)
    assert (again.hits, again.tokens) == (0, good)
    assert cached_tokens(paths[:1], tokenizer, cache=tmp_path, progress=False).hits == 1


def test_killed_writer_leaves_the_old_entry_intact(tmp_path):
    cache = TokenCache(tmp_path)
    key = cache.key(b"song", {"tokenizer": "x"})
    cache.put(key, ["C4", "old"])
    # A writer that hangs after writing its temporary file, before renaming it.
    script = (
        "import os, sys, time\n"
        "os.replace = lambda *a: time.sleep(60)\n"
        "from musegen.tokens.token_cache import TokenCache\n"
        f"TokenCache(sys.argv[1]).put({key!r}, ['C4'] * 100000)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)])
    try:
        deadline = time.monotonic() + 30
        while not list(tmp_path.rglob(".*.tmp*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(tmp_path.rglob(".*.tmp*")), "the writer never started"
    finally:
        writer.kill()
        writer.wait()
    assert cache.get(key) == ["C4", "old"]
    cache.put(key, ["E4"])  # a leftover temporary file does not stop later writes
    assert cache.get(key) == ["E4"]


def test_unreadable_files_are_reported_not_cached(songs, tmp_path):
    paths, broken = songs
    result = cached_tokens([paths[0], broken], Tokenizer(), cache=tmp_path, progress=False)
    assert result.paths == [paths[0]]
    assert [f.path for f in result.failures] == [str(broken)]
    assert "not a MIDI file" in result.failures[0].reason
    assert len(_entries(tmp_path)) == 1


def test_worker_processes_give_the_same_tokens(songs):
    paths, broken = songs
    files = [*paths, broken]
    one = cached_tokens(files, Tokenizer.seed(), workers=1, progress=False)
    two = cached_tokens(files, Tokenizer.seed(), workers=2, progress=False)
    assert (two.paths, two.tokens) == (one.paths, one.tokens)
    assert [f.path for f in two.failures] == [str(broken)]


def test_music21_engine_gives_the_same_tokens_on_simple_files(songs):
    paths, _ = songs
    tokenizer = Tokenizer.seed()
    assert tokenize_file(paths[0], tokenizer, engine="music21") == tokenize_file(
        paths[0], tokenizer
    )
    with pytest.raises(ValueError, match="engine"):
        tokenize_file(paths[0], tokenizer, engine="pretty_midi")
