"""Identifier strings built straight into Arrow buffers.

Tens of millions of ids are formatted per run; a Python f-string per id would dominate the
run time, so ids are fixed-width digit runs written into one byte matrix with numpy.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

I64 = npt.NDArray[np.int64]

# Event numbers are day * EVENTS_PER_DAY + position, so ids stay unique per run and
# deterministic whatever order the days are written in.
EVENTS_PER_DAY: Final = 100_000_000
EVENT_DIGITS: Final = 12
CONTENT_DIGITS: Final = 12
ACCOUNT_DIGITS: Final = 7
TICKET_DIGITS: Final = 8


_SPREAD: Final = 91_234_567  # odd and not a multiple of 5: a bijection modulo 10**8


def scatter(day: int, positions: I64, salt: int = 0) -> I64:
    """Unique numbers of a day's rows, in no telling order.

    Rows are numbered as generators add them, and misconduct is added last; numbering in
    that order would let anyone find the insiders by their ids. An affine map modulo 10**8
    keeps numbers unique while hiding the order.
    """
    offset = (day * 7_654_321 + salt * 3_571 + 12_345) % EVENTS_PER_DAY
    return day * EVENTS_PER_DAY + (positions * _SPREAD + offset) % EVENTS_PER_DAY


def fixed_width(prefix: str, numbers: npt.ArrayLike, width: int) -> pa.StringArray:
    """``prefix`` + zero-padded ``numbers``; negative numbers become nulls."""
    nums = np.asarray(numbers, dtype=np.int64)
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    row = len(head) + width
    valid = nums >= 0
    if nums.size and int(nums.max(initial=0)) >= 10**width:
        raise ValueError(f"number too large for a {width}-digit id with prefix {prefix!r}")
    out = np.empty((nums.size, row), dtype=np.uint8)
    out[:, : len(head)] = head
    rest = np.where(valid, nums, 0)
    for pos in range(width - 1, -1, -1):
        out[:, len(head) + pos] = 48 + (rest % 10)
        rest //= 10
    if valid.all():
        offsets = np.arange(0, (nums.size + 1) * row, row, dtype=np.int32)
        return pa.StringArray.from_buffers(nums.size, pa.py_buffer(offsets), pa.py_buffer(out))
    # Nulls take no bytes: compact the matrix so offsets stay monotone.
    lengths = np.where(valid, row, 0)
    offsets = np.zeros(nums.size + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    data = out[valid].reshape(-1)
    mask = np.packbits(valid, bitorder="little")
    return pa.StringArray.from_buffers(
        nums.size,
        pa.py_buffer(offsets),
        pa.py_buffer(data),
        pa.py_buffer(mask),
        null_count=int((~valid).sum()),
    )


def digits_for(count: int, minimum: int = 4) -> int:
    """Width of an id that can number ``count`` things (u0001 … u9999, then wider)."""
    return max(minimum, len(str(max(count, 1))))


def actor_ids(count: int) -> list[str]:
    width = digits_for(count)
    return [f"u{i + 1:0{width}d}" for i in range(count)]


def event_ids(numbers: I64) -> pa.StringArray:
    return fixed_width("e", numbers, EVENT_DIGITS)


def content_ids(numbers: I64) -> pa.StringArray:
    return fixed_width("c", numbers, CONTENT_DIGITS)


def account_ids(numbers: I64) -> pa.StringArray:
    return fixed_width("a", numbers, ACCOUNT_DIGITS)


def ticket_ids(numbers: I64) -> pa.StringArray:
    return fixed_width("T", numbers, TICKET_DIGITS)


def account_id(number: int) -> str:
    return f"a{number:0{ACCOUNT_DIGITS}d}"


def content_id(number: int) -> str:
    return f"c{number:0{CONTENT_DIGITS}d}"
