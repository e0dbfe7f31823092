"""Run directory lock: one writer at a time, the holder named, nothing stale after a kill."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from evonas.errors import RunDirBusyError
from evonas.runtime.run_dir import RunDir

HOLD = textwrap.dedent(
    """
    import sys, time
    from evonas.runtime.run_dir import RunDir
    with RunDir(sys.argv[1]).locked():
        print("locked", flush=True)
        time.sleep(60)
    """
)


def hold_in_subprocess(path):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_process_is_refused_with_the_holder_named_and_the_lock_dies_with_it(tmp_path):
    holder = hold_in_subprocess(tmp_path)
    try:
        with pytest.raises(RunDirBusyError, match=rf"in use by pid {holder.pid} on .* since .*\(.*-c"):
            with RunDir(tmp_path).locked():
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with RunDir(tmp_path).locked():  # the kernel dropped the lock of the killed holder
        assert f'"pid": {os.getpid()}' in (tmp_path / ".lock").read_text()


def test_lock_is_reentrant_within_a_process(tmp_path):
    run = RunDir(tmp_path)
    with run.locked():
        with run.locked():
            pass
        holder = subprocess.run([sys.executable, "-c", HOLD, str(tmp_path)], capture_output=True, text=True,
                                timeout=60)
        assert holder.returncode != 0 and "in use by pid" in holder.stderr  # still held by the outer block
    proc = hold_in_subprocess(tmp_path)  # released after the outer block
    proc.kill()
    proc.wait()


def test_locking_clears_temporaries_of_killed_writers(tmp_path):
    (tmp_path / ".checkpoint.pkl.k3j_9x2q.tmp").write_bytes(b"half a checkpoint")
    with RunDir(tmp_path).locked():
        pass
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


HOLD_WITH_WORKER = textwrap.dedent(
    """
    import os, sys, time
    from evonas.runtime.run_dir import RunDir
    with RunDir(sys.argv[1]).locked():
        worker = os.fork()  # as a DataLoader or process-pool worker is forked
        if worker == 0:  # the fork handlers have run once the child runs Python: report from here, not the parent
            print(os.getpid(), flush=True)
            time.sleep(60)
            os._exit(0)
        time.sleep(60)
    """
)


def test_a_forked_worker_outliving_a_killed_holder_does_not_keep_the_lock(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WITH_WORKER, str(tmp_path)], stdout=subprocess.PIPE,
                              text=True)
    worker = int(holder.stdout.readline())
    try:
        with pytest.raises(RunDirBusyError):  # the holder itself still has it
            with RunDir(tmp_path).locked():
                pass
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        os.kill(worker, 0)  # the worker is still alive ...
        with RunDir(tmp_path).locked():  # ... yet the run can be resumed at once
            pass
    finally:
        try:
            os.kill(worker, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_lock_holder_names_a_live_holder_only(tmp_path):
    import os
    import subprocess
    import sys

    from evonas.runtime.lock import RunLock, lock_holder

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    assert lock_holder(tmp_path) is None
    with RunLock(tmp_path):
        assert lock_holder(tmp_path)["pid"] == os.getpid()
    assert lock_holder(tmp_path) is None
    code = ("import sys, time; from evonas.runtime.lock import RunLock; lock = RunLock(sys.argv[1]).acquire(); "
            "print('held', flush=True); sys.stdin.readline(); lock.release(); print('released', flush=True); "
            "sys.stdin.readline()")
    other = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert other.stdout.readline().strip() == "held"
        assert lock_holder(tmp_path)["pid"] == other.pid  # another process holds it
        other.stdin.write("\n")
        other.stdin.flush()
        assert other.stdout.readline().strip() == "released"
        assert lock_holder(tmp_path) is None  # released: nobody named, though that process lives on
    finally:
        other.communicate("\n", timeout=60)
    code = f"from evonas.runtime.lock import RunLock; RunLock({str(tmp_path)!r}).acquire(); import os; os._exit(0)"
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert lock_holder(tmp_path) is None  # it died holding the lock (no release): its pid is gone
