"""JSON text that gives its data back exactly, or nothing.

The plan cache's key and the remembered config validations both name data by its JSON text;
two different values must never get one text. JSON writes ``1`` and ``"1"`` alike as keys,
``None`` as ``"null"``, a tuple as a list, and cannot write a date or NaN, so such data has no
exact text and is never remembered by it.

Imports: nothing of ttsbuild.
"""

from __future__ import annotations

import json
from typing import Any


def exact_json(data: Any) -> str | None:
    """``data`` as compact JSON text (key order kept), or None where JSON would not give it
    back as it is.

    >>> exact_json({"a": [1, 2.0, True, None]})
    '{"a":[1,2.0,true,null]}'
    >>> exact_json({1: "x"}), exact_json((1, 2)), exact_json(float("nan"))
    (None, None, None)
    """
    try:
        text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None
    return text if json.loads(text) == data else None
