"""Column-at-a-time string assembly for ``target_id`` and ``attrs``.

JSON objects are built from pre-rendered fragments (one per combination of small
vocabularies) plus id columns, so that each row costs one Arrow join instead of a
``json.dumps`` call. Every fragment value comes from a closed vocabulary or an id, so no
escaping is ever needed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc


def join(*parts: pa.Array | str) -> pa.Array:
    """Row-wise concatenation; plain strings are repeated on every row."""
    arrays = [p for p in parts if isinstance(p, pa.Array)]
    if not arrays:
        raise ValueError("join needs at least one array")
    return pc.binary_join_element_wise(*parts, "")


def pick(strings: Sequence[str] | pa.Array, codes: npt.ArrayLike) -> pa.Array:
    table = strings if isinstance(strings, pa.Array) else pa.array(list(strings), type=pa.string())
    return table.take(pa.array(np.asarray(codes, dtype=np.int64)))


def dumps(value: object) -> str:
    """The one JSON spelling used for every ``attrs`` (compact, sorted keys), so that no
    generator can be told apart from another by its punctuation."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def fragment(fields: dict[str, object], open_key: str | None = None) -> str:
    """``{"a":1,"b":"x",`` + ``"open_key":"`` — the head of a JSON object to be completed.

    With ``open_key`` the fragment ends inside that key's string value, so appending an id
    and ``"}`` (see ``close``) yields a complete object.
    """
    body = dumps(fields)
    if open_key is None:
        return body
    inner = body[1:-1]
    return "{" + (inner + "," if inner else "") + json.dumps(open_key) + ':"'


def close(key: str | None = None) -> str:
    """Ends a string value, optionally opens another string field, or closes the object."""
    return '"}' if key is None else '",' + json.dumps(key) + ':"'


def objects(rows: Sequence[dict[str, object]]) -> pa.Array:
    """For low-volume events where a per-row dict is simpler and cheap enough."""
    return pa.array(
        [dumps(r) for r in rows],
        type=pa.string(),
    )
