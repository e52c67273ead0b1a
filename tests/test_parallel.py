import os
import time

import pytest

from musegen._parallel import map_unordered, processes_for


def _pid_after_nap(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _inverse(number: int) -> float:
    return 1 / number


def test_this_process_and_a_worker_share_the_items():
    naps = [0.02] * 12
    done = dict(map_unordered(_pid_after_nap, naps, workers=2, sizes=list(range(12))))
    assert sorted(done) == list(range(12))
    assert os.getpid() in done.values() and len(set(done.values())) == 2
    # the worker starts from the largest, this process from the smallest
    assert done[11] != os.getpid() and done[0] == os.getpid()


@pytest.mark.parametrize("items", [[0, 1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7, 0]])
def test_a_failing_item_raises_in_the_caller(items):  # done by the worker, then by this process
    with pytest.raises(ZeroDivisionError):
        list(map_unordered(_inverse, items, workers=2))


def test_few_items_stay_in_this_process():
    assert processes_for(None, 3) == 1
    assert {pid for _, pid in map_unordered(_pid_after_nap, [0.0] * 7, workers=2)} == {os.getpid()}


def _touch(path) -> None:
    time.sleep(0.05)
    path.touch()


def test_stopping_early_drops_the_items_no_one_started(tmp_path):
    marks = [tmp_path / f"{number}.done" for number in range(40)]
    results = map_unordered(_touch, marks, workers=2, sizes=list(range(40)))
    next(results)
    results.close()  # as a caller leaving its loop, or an interrupt, does
    assert sum(mark.exists() for mark in marks) < 10
