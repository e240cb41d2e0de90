"""Counter-based randomness and PID arithmetic for the generator.

Record-level choices (which record carries a typo, which spelling a school uses) are drawn from a
hash of ``(seed, salt, keys...)`` rather than from a stateful generator, so the same record gets the
same dirt in every monthly delivery and month ``k`` can be generated without replaying months
``0..k-1``.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_PID_WEIGHTS = np.arange(13, 1, -1, dtype=np.int64)  # weights 13..2 for digits 0..11
_POW10 = 10 ** np.arange(12, -1, -1, dtype=np.int64)  # place values of a 13-digit PID


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def hash_u64(seed: int, salt: str, *keys: np.ndarray | int) -> np.ndarray:
    """Deterministic 64-bit hash of ``(seed, salt, keys)``, broadcast over array keys."""
    start = (seed * 0x2545F4914F6CDD1D + zlib.crc32(salt.encode())) & 0xFFFFFFFFFFFFFFFF
    h = _mix(np.atleast_1d(np.asarray(start, dtype=np.uint64)))
    with np.errstate(over="ignore"):
        for key in keys:
            k = np.asarray(key).astype(np.int64).astype(np.uint64)
            h = _mix(h ^ (k * _GOLDEN + np.uint64(0x632BE59BD9B4E019)))
    return h


def hash_uniform(seed: int, salt: str, *keys: np.ndarray | int) -> np.ndarray:
    """Uniform floats in ``[0, 1)``, one per broadcast key."""
    return (hash_u64(seed, salt, *keys) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def hash_choice(seed: int, salt: str, n: int, *keys: np.ndarray | int) -> np.ndarray:
    """Uniform integers in ``[0, n)``, one per broadcast key."""
    return (hash_u64(seed, salt, *keys) % np.uint64(n)).astype(np.int64)


def check_digit(body12: np.ndarray) -> np.ndarray:
    """Mod-11 check digit of 12-digit PID bodies given as int64 (body = PID // 10)."""
    digits = (body12[:, None] // _POW10[None, 1:]) % 10
    x = (digits @ _PID_WEIGHTS) % 11
    return (11 - x) % 10


def make_pid(body12: np.ndarray) -> np.ndarray:
    """13-digit PIDs (int64) with a valid check digit from 12-digit bodies."""
    body12 = np.asarray(body12, dtype=np.int64)
    return body12 * 10 + check_digit(body12)


def pid_digits(pid: np.ndarray) -> np.ndarray:
    """``(n, 13)`` digit matrix of int64 PIDs."""
    return (np.asarray(pid, dtype=np.int64)[:, None] // _POW10[None, :]) % 10


def digits_to_pid(digits: np.ndarray) -> np.ndarray:
    """Inverse of :func:`pid_digits`."""
    return digits @ _POW10


def pid_is_valid(pid: np.ndarray) -> np.ndarray:
    """True where an int64 PID's check digit is right."""
    pid = np.asarray(pid, dtype=np.int64)
    return check_digit(pid // 10) == pid % 10


def pid_str(pid: np.ndarray) -> pd.Series:
    """13-character strings of int64 PIDs; negative values (no PID) become NA."""
    pid = np.asarray(pid, dtype=np.int64)
    out = np.zeros(len(pid), dtype=object)
    if len(pid):
        out = np.strings.zfill(np.where(pid >= 0, pid, 0).astype(str), 13).astype(object)
    out[pid < 0] = None
    return pd.Series(out, dtype=object)
