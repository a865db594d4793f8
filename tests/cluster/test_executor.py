"""The executor interface without Dask: what a piece reports reaches map's progress handler, stop ends
pieces early, and a deadline crosses to another process (or machine) as a wall-clock time."""

import os
import pickle
import time

from trigrad.properties import executor
from trigrad.properties.minimize import Deadline


def _piece(k):
    executor.report(("piece", k))
    return k * k


def _until_stopped(seconds):
    executor.report("running")
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if executor.stop_requested():
            return "stopped"
        time.sleep(0.01)
    return "ran out"


def _dies(status):
    os._exit(status)


def test_in_process_pieces_report_and_stop():
    pool = executor.InProcess()
    seen = []
    results = []
    for i, r in pool.map(_piece, [(1,), (2,), (3,)], seen.append):
        results.append((i, r))
        pool.stop()  # the pieces not started are dropped
    assert results == [(0, 1)] and seen == [("piece", 1)]
    assert not executor.stop_requested()  # outside a piece


def test_pool_pieces_report_stop_and_die_with_their_exit_status():
    pool = executor.Pool(2)
    try:
        seen = []
        assert sorted(pool.map(_piece, [(2,), (3,)], seen.append)) == [(0, 4), (1, 9)]
        assert sorted(seen) == [("piece", 2), ("piece", 3)]
        # the first piece to run asks for the stop: running pieces end early, the others never start
        ended = [r for _, r in pool.map(_until_stopped, [(60,), (60,)], lambda message: pool.stop())]
        assert ended in (["stopped"], ["stopped", "stopped"])
    finally:
        pool.close()
    pool = executor.Pool(1)
    try:
        [(i, died)] = list(pool.map(_dies, [(5,)]))
        assert i == 0 and died == executor.Died("exited with status 5")
    finally:
        pool.close()


def test_a_deadline_crosses_processes_as_a_wall_clock_time():
    d = pickle.loads(pickle.dumps(Deadline(5.0)))
    assert 4.0 < d.left <= 5.0 and not d.passed
    assert pickle.loads(pickle.dumps(Deadline(-1.0))).passed
