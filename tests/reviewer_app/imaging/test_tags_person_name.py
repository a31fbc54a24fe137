"""The tag browser shows a person's name as one value (a PersonName iterates its letters)."""

from __future__ import annotations

from pydicom.dataset import Dataset

from reviewer_app.imaging import dataset_rows


def test_person_name_is_one_value() -> None:
    ds = Dataset()
    ds.PatientName = "Synthetic^Patient"
    ds.ReferringPhysicianName = ["Doe^A", "Roe^B"]
    values = {row.keyword: row.value for row in dataset_rows(ds)}
    assert values["PatientName"] == "Synthetic^Patient"
    assert values["ReferringPhysicianName"] == "Doe^A\\Roe^B"
