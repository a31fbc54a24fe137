"""Reading a series from the vault: slice order, undecodable instances, frames, the cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reviewer_app.errors import UndecodableImage
from reviewer_app.imaging import series as series_module
from reviewer_app.imaging.cache import FrameCache
from reviewer_app.imaging.series import (
    NOT_DOWNLOADED,
    InstanceRef,
    build_stack,
    decode_slice,
    read_header,
    thumbnail,
)
from reviewer_app.vault import KeySource, Profile, ScryptParams, create_profile
from tests.reviewer_app.imaging.series_data import base_value, cine, ct_slice, store_series

FAST = ScryptParams(n=2**10, r=8, p=1)


@pytest.fixture
def vault(tmp_path: Path) -> Any:
    v = create_profile(
        Profile(tmp_path / "p"),
        "pass phrase for tests",
        scrypt=FAST,
        key_source=KeySource.PASSPHRASE,
    )
    yield v
    v.close()


def _refs(vault: Any, series_uid: str) -> list[InstanceRef]:
    rows = vault.read().execute(
        "SELECT sop_instance_uid, number, object_id FROM instances WHERE series_uid = ? "
        "ORDER BY number",
        (series_uid,),
    )
    return [InstanceRef(*row) for row in rows]


def test_slices_follow_position_not_instance_number(vault: Any) -> None:
    zs = [10.0, 0.0, 40.0, 20.0, 30.0]
    uid = store_series(vault, "c1", [ct_slice(z, n + 1) for n, z in enumerate(zs)])
    stack = build_stack(vault, _refs(vault, uid))
    assert stack.order.method == "position"
    assert list(stack.positions) == sorted(zs)
    cache = FrameCache(1 << 20)
    for index, z in enumerate(sorted(zs)):
        frame = decode_slice(vault, stack, index, cache)
        assert int(frame[-1, -1]) == base_value(z)


def test_an_undecodable_instance_keeps_its_reason_and_the_others_work(vault: Any) -> None:
    truncated = ct_slice(5.0, 3)
    items = [ct_slice(0.0, 1), b"this is not a DICOM file at all" * 10, truncated]
    from tests.reviewer_app.imaging.synthetic import file_bytes

    items[2] = file_bytes(truncated)[:-200]
    uid = store_series(vault, "c1", items)
    refs = [*_refs(vault, uid), InstanceRef("1.2.3.4", 9, None)]
    stack = build_stack(vault, refs)
    cache = FrameCache(1 << 20)
    problems = {}
    shown = []
    for index in range(len(stack.slices)):
        try:
            shown.append(decode_slice(vault, stack, index, cache))
        except UndecodableImage as error:
            problems[stack.instances[stack.slices[index].instance].number] = error.reason
    assert len(shown) == 1
    assert "not a DICOM file" in problems[2]
    assert "truncated" in problems[3]
    assert problems[9] == NOT_DOWNLOADED


def test_multi_frame_instance_gives_one_slice_per_frame(vault: Any) -> None:
    uid = store_series(vault, "c1", [cine(frames=5)], modality="US")
    stack = build_stack(vault, _refs(vault, uid))
    assert [(s.frame, s.frames) for s in stack.slices] == [(f, 5) for f in range(5)]
    cache = FrameCache(1 << 20)
    assert [int(decode_slice(vault, stack, i, cache)[0, 0]) for i in range(5)] == [
        0,
        20,
        40,
        60,
        80,
    ]


def test_cache_stays_within_its_budget_and_evicts_oldest() -> None:
    cache = FrameCache(1000)
    for i in range(10):
        assert cache.put(i, np.zeros(300, np.uint8))
        assert cache.used_bytes <= 1000
    assert 9 in cache and 0 not in cache
    assert cache.peak_bytes <= 1000
    assert not cache.put("big", np.zeros(2000, np.uint8))
    cache.get(7)  # 7 becomes the most recent: 8 is evicted before it
    cache.put("x", np.zeros(300, np.uint8))
    assert 7 in cache and 8 not in cache
    cache.resize(300)
    assert len(cache) == 1


def test_thumbnail_is_small(vault: Any) -> None:
    uid = store_series(vault, "c1", [ct_slice(0.0, 1, size=256)])
    pixels = thumbnail(vault, _refs(vault, uid)[0].object_id, size=64)
    assert pixels.dtype == np.uint8 and max(pixels.shape) <= 64


@pytest.mark.parametrize("size", [32, 800])  # one 1 MiB chunk, and several
def test_a_header_is_read_without_parsing_the_whole_file(
    vault: Any, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ordering a 500-slice series reads 500 headers: each must stop before the pixels,
    not go through the whole-file reader (which it once did for every file)."""
    uid = store_series(vault, "c1", [ct_slice(12.5, 1, size=size)])
    ref = _refs(vault, uid)[0]
    assert ref.object_id is not None
    chunks = vault.objects.open(ref.object_id).chunk_count
    assert (chunks == 1) == (size == 32)

    def whole_file(_data: object) -> None:
        raise AssertionError("the header was read through the whole-file path")

    monkeypatch.setattr(series_module, "read_dataset", whole_file)
    header = read_header(vault, ref.object_id)
    assert "PixelData" not in header
    assert (int(header.Rows), int(header.Columns)) == (size, size)
    assert float(header.ImagePositionPatient[2]) == 12.5
    assert str(header.file_meta.TransferSyntaxUID)


def test_a_rebuilt_stack_reads_only_the_new_headers_and_orders_them_in(
    vault: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    zs = [0.0, 10.0, 20.0, 30.0]
    uid = store_series(vault, "c1", [ct_slice(z, n + 1) for n, z in enumerate(zs)])
    full = _refs(vault, uid)
    # Opened while the sync was running: the slices at 10 and 30 mm not stored yet.
    partial = [r if r.number in (1, 3) else InstanceRef(r.sop_uid, r.number, None) for r in full]
    first = build_stack(vault, partial)
    assert [first.problem(i) for i in range(4)] == [None, None, NOT_DOWNLOADED, NOT_DOWNLOADED]
    known = {
        r.object_id: h
        for r, h in zip(first.instances, first.headers, strict=True)
        if r.object_id is not None and h is not None
    }
    read: list[str] = []
    real = series_module.read_header

    def counting(v: Any, object_id: str) -> Any:
        read.append(object_id)
        return real(v, object_id)

    monkeypatch.setattr(series_module, "read_header", counting)
    again = build_stack(vault, full, known=known)
    assert sorted(read) == sorted(r.object_id for r in full if r.number in (2, 4))
    assert list(again.positions) == zs
    assert all(again.problem(i) is None for i in range(4))
    # The slice at 20 mm was the second shown; now it is the third.
    sop = full[2].sop_uid
    assert first.index_of(sop) == 1 and again.index_of(sop) == 2
    assert again.headers[2] is first.headers[2]
