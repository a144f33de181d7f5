"""The process's spare card threads (executors/threads.py): reused by the next executor, gone when idle."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import tensorrag as tr
from tensorrag.executors import LocalExecutor
from tests.executors import cards as C

_REUSE = """
import threading, time
from tensorrag.executors import threads
seen, done = [], threading.Event()
def loop():
    seen.append(threading.get_ident())
    done.set()
threads.start(loop, lambda: 0.5)
assert done.wait(5)
done.clear()
deadline = time.monotonic() + 5
while not threads._parked:  # the loop has returned, the thread parks right after
    assert time.monotonic() < deadline, "the thread never parked"
    time.sleep(0.005)
threads.start(loop, lambda: 0.5)
assert done.wait(5)
assert seen[0] == seen[1], "a new thread served the second loop"
while any(t.ident == seen[0] for t in threading.enumerate()):
    assert time.monotonic() < deadline + 5, "a spare thread never left"
    time.sleep(0.05)
print("ok")
"""


def test_a_thread_a_loop_let_go_serves_the_next_loop_and_leaves_when_idle():
    # a fresh interpreter: spares parked by earlier tests would otherwise take the second loop
    out = subprocess.run([sys.executable, "-c", _REUSE], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


def test_runs_on_fresh_executors_reuse_the_threads_of_earlier_runs(tmp_path):
    p = tr.Pipeline("reuse")
    p.add(C.t_source, id="a")
    assert p.run(storage=tmp_path, executor=LocalExecutor(2), progress=False, cache=False).ok
    time.sleep(0.05)
    before = {t.ident for t in threading.enumerate() if t.name == "tensorrag-card"}
    assert p.run(storage=tmp_path, executor=LocalExecutor(2), progress=False, cache=False).ok
    after = {t.ident for t in threading.enumerate() if t.name == "tensorrag-card"}
    assert before and after <= before  # no new card thread was started
