import json

import pytest

from musegen.tokens.vocabulary import PAD_TOKEN, UNK_TOKEN, UnknownTokenError, Vocabulary


def test_build_sorts_tokens_after_reserved_ids():
    vocab = Vocabulary.build([["E4", "C4"], ["C4", "rest"]])
    assert vocab.decode(range(len(vocab))) == [PAD_TOKEN, UNK_TOKEN, "C4", "E4", "rest"]
    assert vocab.pad_id == 0 and vocab.unk_id == 1


def test_build_is_independent_of_corpus_order():
    assert Vocabulary.build([["b", "a"], ["c"]]) == Vocabulary.build([["c"], ["a", "b"]])


def test_min_count_drops_rare_tokens():
    vocab = Vocabulary.build([["a", "a", "b"], ["a", "c", "c"]], min_count=2)
    assert vocab.tokens == ["a", "c"]
    with pytest.raises(ValueError):
        Vocabulary.build([["a"]], min_count=0)


def test_encode_decode_inverse():
    vocab = Vocabulary.build([["C4", "E4", "G4"]])
    tokens = ["G4", "C4", "C4", "E4"]
    assert vocab.decode(vocab.encode(tokens)) == tokens


def test_unknown_tokens_map_skip_or_raise():
    vocab = Vocabulary(["C4"])
    assert vocab.encode(["C4", "X"]) == [2, 1]
    assert vocab.encode(["C4", "X"], unknown="skip") == [2]
    with pytest.raises(UnknownTokenError, match=r"'X' at position 1"):
        vocab.encode(["C4", "X"], unknown="error")
    # a reserved token in the input is unknown too, never id 0
    assert vocab.encode([PAD_TOKEN]) == [1]
    with pytest.raises(ValueError, match="mode"):
        vocab.encode(["C4"], unknown="mode")  # type: ignore[arg-type]


def test_decode_rejects_out_of_range_ids():
    with pytest.raises(ValueError, match="id 5"):
        Vocabulary(["a"]).decode([2, 5])


def test_id_of_names_missing_token():
    with pytest.raises(UnknownTokenError, match="'D9'"):
        Vocabulary(["a"]).id_of("D9")


def test_json_round_trip(tmp_path):
    vocab = Vocabulary.build([["C4,E4,G4_long_v81", "rest_short", "D4"]])
    path = vocab.save(tmp_path / "vocab.json")
    document = json.loads(path.read_text())
    assert document["format"] == "musegen.vocabulary" and document["class"] == "Vocabulary"
    assert Vocabulary.load(path) == vocab
    assert Vocabulary.from_json(vocab.to_json()).encode(["D4"]) == vocab.encode(["D4"])


def test_load_keeps_saved_id_order(tmp_path):
    vocab = Vocabulary(["z", "a"])
    assert Vocabulary.load(vocab.save(tmp_path / "v.json")).encode(["z", "a"]) == [2, 3]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not a JSON document"),
        (
            '{"format": "musegen.tokenizer", "format_version": 1}',
            "expected a musegen.vocabulary",
        ),
        (
            '{"format": "musegen.vocabulary", "format_version": 99, "class": "Vocabulary", "config": {}}',
            "newer",
        ),
        (
            '{"format": "musegen.vocabulary", "format_version": 1, "class": "Vocabulary", "config": {"tokens": ["a", "a"]}}',
            "repeats",
        ),
    ],
)
def test_bad_documents_raise_clear_errors(text, message):
    with pytest.raises(ValueError, match=message):
        Vocabulary.from_json(text, source="vocab.json")


def test_saved_files_follow_the_umask(tmp_path):
    import os

    path = Vocabulary(["a"]).save(tmp_path / "v.json")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["v.json"]
