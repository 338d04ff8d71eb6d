"""Durable file writing and reading for the index: every write is fsynced, arrays are checksummed
as they are written, small files are replaced atomically, unchanged files are hard-linked into
the next generation, and arrays are read back memory-mapped, never unpickled."""
from __future__ import annotations

import os
import shutil
import zlib
from pathlib import Path

import numpy as np

from .errors import IndexUnusable


def fsync_dir(path: Path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes(path: Path, data: bytes) -> int:
    """Write ``data`` durably; returns its CRC-32."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return zlib.crc32(data)


class Checksummed:
    """A file being written, with the CRC-32 of what was written to it so far."""

    def __init__(self, f):
        self.f, self.crc = f, 0

    def write(self, data) -> int:
        self.crc = zlib.crc32(data, self.crc)
        return self.f.write(data)


def save_array(path: Path, array: np.ndarray) -> int:
    """Write ``array`` durably as .npy; returns the file's CRC-32."""
    with open(path, "wb") as f:
        out = Checksummed(f)
        np.save(out, np.ascontiguousarray(array), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())
    return out.crc


def load_array(path: Path) -> np.ndarray:
    """A .npy file, memory-mapped (IndexUnusable when it is not one)."""
    # A plain ndarray over the mapping: np.memmap's Python hooks cost microseconds per slice.
    try:
        return np.asarray(np.load(path, mmap_mode="r", allow_pickle=False))
    except ValueError:  # (numpy's own message suggests loading it with pickle)
        raise IndexUnusable(f"{path} is damaged: not a NumPy array file") from None


def crc32_of(path: Path) -> int:
    """The CRC-32 of a whole file, read in pieces."""
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            crc = zlib.crc32(chunk, crc)
    return crc


def link(src: Path, dst: Path):
    """Share an unchanged file with the previous generation (a copy where links are refused)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
        with open(dst, "rb") as f:
            os.fsync(f.fileno())


def write_atomic(path: Path, data: bytes):
    """Write a small file so that readers see the old or the new content, never a mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write_bytes(tmp, data)
    os.replace(tmp, path)
    fsync_dir(path.parent)
