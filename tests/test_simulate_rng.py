"""Philox4x64-10 streams of the path kernels: bijection, streams, uniforms."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from numba import njit
from scipy import stats

from volresearch.simulate import StreamState, philox_key
from volresearch.simulate._rng import (
    philox4x64,
    philox4x64_numpy,
    stream_words,
    stream_words_numpy,
    uniforms_from_words,
    word_side_and_v,
)


@njit
def _philox_nb(ctr: np.ndarray, key: np.ndarray) -> np.ndarray:
    out = np.empty(4, dtype=np.uint64)
    b = philox4x64(ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1])
    for i in range(4):
        out[i] = b[i]
    return out


# Known-answer vectors of Random123 (kat_vectors, philox4x64-10).
KAT = [
    ([0, 0, 0, 0], [0, 0], [0x16554D9ECA36314C, 0xDB20FE9D672D0FDC, 0xD7E772CEE186176B, 0x7E68B68AEC7BA23B]),
    (
        [2**64 - 1] * 4,
        [2**64 - 1] * 2,
        [0x87B092C3013FE90B, 0x438C3C67BE8D0224, 0x9CC7D7C69CD777B6, 0xA09CAEBF594F0BA0],
    ),
    (
        [0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89],
        [0x452821E638D01377, 0xBE5466CF34E90C6C],
        [0xA528F45403E61D95, 0x38C72DBD566E9788, 0xA5A1610E72FD18B5, 0x57BD43B5E52B7FE6],
    ),
]


@pytest.mark.parametrize(("ctr", "key", "expected"), KAT)
def test_philox_known_answers(ctr: list[int], key: list[int], expected: list[int]) -> None:
    c = np.array(ctr, dtype=np.uint64)
    k = np.array(key, dtype=np.uint64)
    exp = np.array(expected, dtype=np.uint64)
    assert np.array_equal(philox4x64_numpy(c[None, :], k)[0], exp)
    assert np.array_equal(_philox_nb(c, k), exp)


def test_philox_matches_numpy_bit_generator() -> None:
    """numpy's Philox emits philox(counter + 1, key) as its first block."""
    rng = np.random.default_rng(5)
    for _ in range(20):
        key = rng.integers(0, 2**64, size=2, dtype=np.uint64)
        ctr = rng.integers(0, 2**63, size=4, dtype=np.uint64)
        ref = np.random.Philox(key=key, counter=ctr).random_raw(8)
        c1 = ctr.copy()
        c1[0] += np.uint64(1)
        c2 = ctr.copy()
        c2[0] += np.uint64(2)
        ours = philox4x64_numpy(np.stack([c1, c2]), key).ravel()
        assert np.array_equal(ours, ref)
        assert np.array_equal(_philox_nb(c1, key), ref[:4])


def test_stream_words_kernel_equals_numpy_twin() -> None:
    key = philox_key(2024)
    for stream, counter in [(0, 0), (7, 3), (2**40 + 5, 2**33 + 1)]:
        out = np.empty(37, dtype=np.uint64)
        stream_words(key, np.uint64(stream), np.uint64(counter), out)
        twin = stream_words_numpy(key, np.array([stream], np.uint64), np.array([counter], np.uint64), 37)[:, 0]
        assert np.array_equal(out, twin)


def test_stream_continues_across_calls() -> None:
    key = philox_key(1)
    whole = stream_words_numpy(key, np.arange(5, dtype=np.uint64), np.zeros(5, np.uint64), 11)
    first = stream_words_numpy(key, np.arange(5, dtype=np.uint64), np.zeros(5, np.uint64), 6)
    rest = stream_words_numpy(key, np.arange(5, dtype=np.uint64), np.full(5, 6, np.uint64), 5)
    assert np.array_equal(whole, np.vstack([first, rest]))


def test_streams_and_keys_differ() -> None:
    w = stream_words_numpy(philox_key(3), np.arange(50, dtype=np.uint64), np.zeros(50, np.uint64), 40)
    assert np.unique(w).size == w.size
    w2 = stream_words_numpy(philox_key(4), np.arange(50, dtype=np.uint64), np.zeros(50, np.uint64), 40)
    assert not np.any(w == w2)
    assert np.array_equal(philox_key(3), philox_key(3))
    assert not np.array_equal(philox_key(3), philox_key(4))


def test_side_and_v_are_exact_53_bit_uniforms() -> None:
    words = np.array([0, 2**63 - 1, 2**63, 2**64 - 1, 2**11, 2**63 + 2**11], dtype=np.uint64)
    side, v = word_side_and_v(words)
    assert side.tolist() == [0, 0, 1, 1, 0, 1]
    assert v[0] == 2.0**-54 and v[2] == 2.0**-54
    assert v[1] == 0.5 - 2.0**-54 and v[3] == 0.5 - 2.0**-54
    assert v[4] == 3 * 2.0**-54
    u = uniforms_from_words(words)
    assert np.all((u > 0.0) & (u < 1.0))
    assert u[0] == 2.0**-54 and u[1] == 0.5 - 2.0**-54
    assert u[3] == 0.5  # 1/2 + 2**-54 rounds to even: doubles carry one bit less than (side, v)
    assert u[2] == np.nextafter(1.0, 0.0)  # 1 - 2**-54 would round to 1


def test_uniforms_are_uniform() -> None:
    key = philox_key(77)
    w = stream_words_numpy(key, np.arange(100, dtype=np.uint64), np.zeros(100, np.uint64), 2000)
    u = uniforms_from_words(w).ravel()
    assert stats.kstest(u, "uniform").pvalue > 0.01
    # lanes and consecutive draws are uncorrelated
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01


def test_stream_state_create_copy_and_validation() -> None:
    st = StreamState.create(9, 4)
    assert st.stream.tolist() == [0, 1, 2, 3]
    assert st.counter.tolist() == [0, 0, 0, 0]
    snap = st.copy()
    st.counter[:] = 5
    assert snap.counter.tolist() == [0, 0, 0, 0]
    with pytest.raises(TypeError, match="uint64"):
        StreamState(st.key, st.stream.astype(np.int64), st.counter)
    with pytest.raises(ValueError, match="shape"):
        StreamState(st.key, st.stream, st.counter[:2])
    with pytest.raises(ValueError, match=r"\(2,\)"):
        StreamState(st.key[:1], st.stream, st.counter)


def test_stream_words_do_not_depend_on_thread_count() -> None:
    from volresearch.simulate import _kernels, build_ppf_table

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least 2 numba threads")
    table = build_ppf_table(stats.norm.ppf)
    before = numba.get_num_threads()
    try:
        res = []
        for threads in (1, 2):
            numba.set_num_threads(threads)
            st = StreamState.create(123, 1000)
            out = np.empty((64, 1000))
            _kernels.draw_innovations(st.key, st.stream, st.counter, *table.kernel_args, out)
            res.append(out)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(res[0], res[1])
