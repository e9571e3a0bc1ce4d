"""core/parallel.py: thread_map is the loop, in order, whatever the thread count."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ttsbuild.core.parallel import thread_map


@given(st.lists(st.integers(), max_size=300), st.integers(1, 7))
def test_thread_map_gives_what_the_loop_gives_in_order(items, threads):
    assert thread_map(lambda x: x * 3 - 1, items, threads) == [x * 3 - 1 for x in items]


@given(st.lists(st.integers(0, 50), min_size=1, max_size=200), st.integers(2, 5))
def test_thread_map_raises_the_loops_first_exception(items, threads):
    def fn(x: int) -> int:
        if x % 7 == 0:
            raise ValueError(x)
        return x

    failing = [x for x in items if x % 7 == 0]
    if not failing:
        assert thread_map(fn, items, threads) == items
        return
    with pytest.raises(ValueError) as raised:
        thread_map(fn, items, threads)
    assert raised.value.args == (failing[0],)
