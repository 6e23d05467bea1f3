"""Reading objects: one long-lived `git cat-file --batch` per repository, and the parsing
of batch output for bulk reads."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path
from typing import IO

from gitflow_uet.errors import GitError


class CatFile:
    """One long-lived `git cat-file --batch`: reads cost a pipe round trip, not a spawn.

    It resolves names (`refs/uet`, `<tree>:<path>`) afresh on every request, loose or
    packed, so it also serves as the cheap way to read a ref. Shared by threads.
    """

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]):
        self._argv, self._cwd, self._env = argv, cwd, env
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                self._argv, cwd=self._cwd, env=self._env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        return self._proc

    def read(self, name: str) -> tuple[str, str, bytes] | None:
        """(sha, type, content) of the object `name` names, or None when there is none."""
        if "\n" in name:
            raise GitError(f"object name with a newline: {name!r}")
        with self._lock:
            proc = self._start()
            stdin, stdout = proc.stdin, proc.stdout
            assert stdin is not None and stdout is not None
            stdin.write(name.encode() + b"\n")
            stdin.flush()
            header = stdout.readline()
            parts = header.split()
            if len(parts) != 3:
                if not header:
                    self._proc = None
                    raise GitError(f"git cat-file ended while reading {name}")
                return None  # "<name> missing" / "ambiguous"
            size = int(parts[2])
            data = read_exact(stdout, size + 1)[:-1]
            return parts[0].decode(), parts[1].decode(), data

    @property
    def running(self) -> bool:
        proc = self._proc
        return proc is not None and proc.poll() is None

    def close(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                assert self._proc.stdin is not None
                try:
                    self._proc.stdin.close()
                except OSError:  # the pipe is already broken: it is ending anyway
                    pass
                try:
                    self._proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            if self._proc is not None and self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None


def read_exact(stream: IO[bytes], size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise GitError("git cat-file ended mid-object")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def parse_batch(out: bytes, expected: int | None) -> list[bytes]:
    """Split `cat-file --batch` output into object contents."""
    blobs, pos, end = [], 0, len(out)
    while pos < end:
        nl = out.index(b"\n", pos)
        header = out[pos:nl].split(b" ")
        if len(header) != 3:
            raise GitError(f"cat-file: {out[pos:nl].decode(errors='replace')}")
        size = int(header[2])
        blobs.append(out[nl + 1:nl + 1 + size])
        pos = nl + 2 + size
    if pos != end:
        raise GitError("cat-file output ends mid-object")
    if expected is not None and len(blobs) != expected:
        raise GitError(f"cat-file returned {len(blobs)} objects, expected {expected}")
    return blobs


def scratch_file() -> IO[bytes]:
    """An anonymous read-write file for a child's output; in memory where there is memfd."""
    if hasattr(os, "memfd_create"):
        try:
            return open(os.memfd_create("git-uet"), "w+b")
        except OSError:
            pass
    import tempfile

    return tempfile.TemporaryFile()
