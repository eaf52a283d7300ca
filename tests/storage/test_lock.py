"""The one-writer lock: refusal with the holder's details, nothing left behind by a killed
holder or its forked children, re-entrance, waiting, and release on a failed constructor."""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from gancore.core.errors import BusyError
from gancore.storage.io import append_text
from gancore.storage.lock import (
    LOCK_NAME,
    FileLock,
    folder_lock,
    read_holder,
    releases_on_error,
    update_lock,
)

#: Takes a folder's lock (and with "fork", forks a child that lives on), then sleeps.
HOLD = textwrap.dedent("""
    import os, sys, time
    from gancore.storage.lock import folder_lock
    lock = folder_lock(sys.argv[1]).acquire()
    if sys.argv[2] == "fork":
        child = os.fork()
        if child == 0:
            time.sleep(120)
            os._exit(0)
        print(child, flush=True)
    print("held", flush=True)
    time.sleep(120)
""")


def _hold(folder: Path, mode: str = "plain") -> tuple[subprocess.Popen, int | None]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder), mode],
                            stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline()) if mode == "fork" else None
    assert proc.stdout.readline().strip() == "held"
    return proc, child


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.is_file() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_a_second_writer_is_refused_with_the_holders_details(tmp_path):
    folder = tmp_path / "run"
    proc, _ = _hold(folder)
    try:
        before = os.listdir(folder)
        with pytest.raises(BusyError) as info:
            folder_lock(folder, hint="choose another --out").acquire()
        err = info.value
        assert err.source == str(folder) and err.hint == "choose another --out"
        assert err.message.startswith(f"the run folder is being written by another process: "
                                      f"process {proc.pid} on {socket.gethostname()} (`-c ")
        assert f"{folder} plain`, since " in err.message
        holder = read_holder(folder / LOCK_NAME)
        assert holder.pid == proc.pid and abs(holder.started - time.time()) < 120
        assert err.holder == holder.describe()
        assert os.listdir(folder) == before  # the refused one wrote nothing
    finally:
        proc.kill()
        proc.wait()
    with folder_lock(folder) as lock:  # the holder is gone: taken at once
        assert lock.held and read_holder(folder / LOCK_NAME).pid == os.getpid()


def test_a_killed_holder_and_the_child_it_forked_block_nothing(tmp_path):
    folder = tmp_path / "run"
    proc, child = _hold(folder, "fork")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    try:
        assert _alive(child)  # the forked child lives on, with a copy of the descriptor
        assert read_holder(folder / LOCK_NAME).pid == proc.pid  # the dead holder's record
        lock = folder_lock(folder).acquire(wait=0)
        assert read_holder(folder / LOCK_NAME).pid == os.getpid()
        lock.release()
    finally:
        os.kill(child, signal.SIGKILL)
    assert folder.is_dir() and not any(folder.iterdir())  # the lock file removed (the folder
    # is the dead holder's, so it stays)


def test_release_removes_the_lock_file_and_only_the_folders_it_made(tmp_path):
    lock = folder_lock(tmp_path / "a" / "b").acquire()
    assert (tmp_path / "a" / "b" / LOCK_NAME).is_file()
    lock.release()
    lock.release()  # a second release is a no-op
    assert not (tmp_path / "a").exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    with folder_lock(kept):
        (kept / "file.txt").write_text("x")
    assert [p.name for p in kept.iterdir()] == ["file.txt"]


def test_reentrant_in_its_thread_refused_in_another(tmp_path):
    outer = folder_lock(tmp_path).acquire()
    inner = folder_lock(tmp_path).acquire()  # a study's run, then its trainer
    refused: list[str] = []

    def other() -> None:
        try:
            folder_lock(tmp_path).acquire()
        except BusyError as exc:
            refused.append(exc.message)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert len(refused) == 1 and f"process {os.getpid()} on" in refused[0]
    assert "(another thread)" in refused[0]
    inner.release()
    assert (tmp_path / LOCK_NAME).is_file()  # the outer one still holds it
    outer.release()
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_waiting_writer_goes_on_when_the_holder_lets_go(tmp_path):
    folder = tmp_path / "run"
    proc, _ = _hold(folder)
    try:
        with pytest.raises(BusyError):
            folder_lock(folder).acquire(wait=0.3)  # waited, then refused
        said: list[str] = []
        threading.Timer(0.5, proc.kill).start()
        lock = folder_lock(folder).acquire(wait=None, on_wait=said.append)
    finally:
        proc.kill()
        proc.wait()
    assert lock.held
    assert len(said) == 1 and said[0].startswith(
        f"the run folder is being written by process {proc.pid} on ")
    assert said[0].endswith("; waiting for it to finish")
    lock.release()


def test_a_failed_constructor_and_a_dropped_holder_let_go(tmp_path):
    class Writer:
        @releases_on_error("lock")
        def __init__(self, fail: bool) -> None:
            self.lock = folder_lock(tmp_path / "w").acquire()
            if fail:
                raise ValueError("no")

    with pytest.raises(ValueError) as info:
        Writer(True)
    assert not (tmp_path / "w").exists()  # although the traceback keeps the object alive
    del info
    writer = Writer(False)
    assert writer.lock.held and (tmp_path / "w" / LOCK_NAME).is_file()
    del writer
    gc.collect()
    assert not (tmp_path / "w").exists()
    assert not FileLock(None).acquire().held  # a lock of no folder guards nothing


def test_update_lock_serializes_read_merge_write(tmp_path):
    target = tmp_path / "counter.txt"
    code = textwrap.dedent("""
        import sys
        from pathlib import Path
        from gancore.storage.io import atomic_write_text
        from gancore.storage.lock import update_lock
        path = Path(sys.argv[1])
        for _ in range(40):
            with update_lock(path):
                n = int(path.read_text()) if path.exists() else 0
                atomic_write_text(path, str(n + 1))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code, str(target)]) for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    assert target.read_text() == "120"  # no update lost
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter.txt"]
    with update_lock(target) as lock:
        assert lock.held


def test_appended_lines_are_whole(tmp_path):
    log = tmp_path / "log.jsonl"
    code = ("import sys\nfrom gancore.storage.io import append_text\n"
            "for i in range(300):\n"
            "    append_text(sys.argv[1], sys.argv[2] * 3000 + '\\n')\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(log), tag]) for tag in "ab"]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    append_text(log, "c\n")
    lines = log.read_text().splitlines()
    assert len(lines) == 601 and all(line in ("a" * 3000, "b" * 3000, "c") for line in lines)
