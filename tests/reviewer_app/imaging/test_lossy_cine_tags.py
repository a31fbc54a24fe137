"""Lossy flag, cine timing, tag browser rows, presets."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import (
    JPEG2000,
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    JPEGLSNearLossless,
)

from reviewer_app.imaging import dataset_rows, frame_times_ms, lossy_compression, presets_for
from reviewer_app.imaging.tags import MAX_VALUE_CHARS
from reviewer_app.imaging.voi import CT_PRESETS, Window
from tests.reviewer_app.imaging.synthetic import image


def with_syntax(uid: str, flag: str | None = None) -> Dataset:
    ds = image(np.zeros((2, 2), np.uint8), syntax=uid)
    if flag is not None:
        ds.LossyImageCompression = flag
    return ds


def test_lossy_by_attribute_and_syntax() -> None:
    assert not lossy_compression(with_syntax(ExplicitVRLittleEndian))
    assert not lossy_compression(with_syntax(JPEGLSLossless))
    marked = with_syntax(ExplicitVRLittleEndian, "01")
    marked.LossyImageCompressionRatio = 10
    marked.LossyImageCompressionMethod = "ISO_10918_1"
    result = lossy_compression(marked)
    assert result.lossy
    assert result.reason == "lossy compressed (marked in the file, ratio 10:1, method ISO_10918_1)"
    baseline = lossy_compression(with_syntax(JPEGBaseline8Bit, "00"))
    assert baseline.lossy  # a baseline JPEG is lossy whatever the attribute says
    assert "JPEG Baseline" in baseline.reason
    assert lossy_compression(with_syntax(JPEGLSNearLossless)).lossy
    assert lossy_compression(with_syntax(JPEG2000)).reason.startswith("possibly lossy")
    assert not lossy_compression(with_syntax(JPEG2000, "00"))


def test_frame_time() -> None:
    ds = Dataset()
    ds.NumberOfFrames = 4
    ds.FrameTime = 33.3
    t = frame_times_ms(ds)
    assert t.source == "FrameTime"
    assert t.times_ms == pytest.approx((0, 33.3, 66.6, 99.9))
    assert t.delay_ms(3) == pytest.approx(33.3)


def test_frame_time_vector_wins() -> None:
    ds = Dataset()
    ds.NumberOfFrames = 4
    ds.FrameTime = 50
    ds.FrameTimeVector = [0, 40, 20, 60]
    t = frame_times_ms(ds)
    assert (t.source, t.times_ms) == ("FrameTimeVector", (0, 40, 60, 120))
    assert [t.delay_ms(i) for i in range(4)] == [40, 20, 60, 60]


def test_wrong_length_vector_falls_back_then_rates() -> None:
    ds = Dataset()
    ds.NumberOfFrames = 3
    ds.FrameTimeVector = [0, 40]
    ds.CineRate = 25
    t = frame_times_ms(ds)
    assert (t.source, t.times_ms) == ("CineRate", (0, 40, 80))
    del ds.CineRate
    assert frame_times_ms(ds).source == "default"


def test_tag_rows_flatten_sequences_and_size_binary() -> None:
    ds = image(np.zeros((4, 4), np.uint16), ImageComments="S" * 300)
    item = Dataset()
    item.CodeValue = "T-0001"
    item.CodeMeaning = "Synthetic"
    ds.AnatomicRegionSequence = [item, Dataset()]
    ds.add_new(0x00091010, "LO", "private value")
    rows = dataset_rows(ds)
    by_keyword = {r.keyword: r for r in rows}
    assert by_keyword["TransferSyntaxUID"].depth == 0  # file meta first
    assert rows[0].tag.startswith("(0002,")
    assert by_keyword["PixelData"].value == "<binary data, 32 bytes>"
    assert by_keyword["PixelData"].vr == "OW"
    study = by_keyword["ImageComments"].value
    assert len(study) == MAX_VALUE_CHARS and study.endswith("…")
    seq = by_keyword["AnatomicRegionSequence"]
    start = rows.index(seq)
    assert [(r.tag, r.keyword, r.value, r.depth) for r in rows[start : start + 5]] == [
        ("(0008,2218)", "AnatomicRegionSequence", "2 items", 0),
        ("(FFFE,E000)", "Item", "item 1 of 2", 1),
        ("(0008,0100)", "CodeValue", "T-0001", 2),
        ("(0008,0104)", "CodeMeaning", "Synthetic", 2),
        ("(FFFE,E000)", "Item", "item 2 of 2", 1),
    ]
    private = next(r for r in rows if r.tag == "(0009,1010)")
    assert private.value == "private value"


def test_unreadable_value_is_a_row_not_a_crash() -> None:
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag

    ds = Dataset()
    ds[0x00200013] = RawDataElement(Tag(0x00200013), "IS", 2, b"1A", 0, False, True)
    rows = dataset_rows(ds, include_meta=False)
    assert [(r.tag, r.value) for r in rows] == [("(0020,0013)", "<unreadable value>")]


def test_ct_presets() -> None:
    ds = Dataset()
    ds.Modality = "CT"
    assert presets_for(ds) == CT_PRESETS
    assert Window(40, 80, explanation="Brain") in CT_PRESETS
    assert CT_PRESETS[2].label == "W 1500 L -600"
    ds.Modality = "MR"
    assert presets_for(ds) == ()
