"""The synthetic case generator: determinism, FHIR shape, PDFs, labs and valid DICOM.

DICOM validity is checked by dicom3tools' dciodvfy, the reference IOD verifier, on one
rendered instance of every kind (each modality, each transfer syntax, MONOCHROME1,
multi-frame).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pymupdf
import pytest
from pydicom.uid import (
    JPEG2000,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from demo_server.synth import CaseBundle, InstanceSpec, generate_cases
from demo_server.synth import dicom as synth_dicom

SEED = 20261129
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
LOSSY = {JPEGLSNearLossless, JPEG2000}


@pytest.fixture(scope="module")
def cases() -> list[CaseBundle]:
    return generate_cases(SEED, 4)


@pytest.fixture(scope="module")
def samples(cases: list[CaseBundle]) -> dict[str, tuple[InstanceSpec, bytes]]:
    """The first instance of every series kind in the first four cases, rendered."""
    found: dict[str, tuple[InstanceSpec, bytes]] = {}
    for case in cases:
        for spec in case.instances:
            assert spec.series is not None
            if spec.series.kind not in found:
                found[spec.series.kind] = (spec, spec.render())
    return found


def _by_type(case: CaseBundle, resource_type: str) -> list[dict]:
    return [r for r in case.resources if r["resourceType"] == resource_type]


def _one(case: CaseBundle, resource_type: str) -> dict:
    (resource,) = _by_type(case, resource_type)
    return resource


def _references(value: object) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        for child in value.values():
            found += _references(child)
        return found
    if isinstance(value, list):
        return [ref for child in value for ref in _references(child)]
    return []


# --- determinism ---------------------------------------------------------------------


def test_case_i_is_the_same_whatever_the_count(cases: list[CaseBundle]) -> None:
    more = generate_cases(SEED, 6)
    assert [c.case_key for c in more] == [f"SYN-{n:04d}" for n in range(1, 7)]
    for small, big in zip(cases, more[:4], strict=True):
        assert small.resources == big.resources
        assert [b.data for b in small.binaries] == [b.data for b in big.binaries]
        assert small.instances == big.instances
    # The same instance rendered from two independent generations: identical bytes.
    for index in (0, 2):
        assert cases[index].instances[5].render() == more[index].instances[5].render()


_DIGEST = """
import hashlib, json, sys
from demo_server.synth import generate_cases

digest = hashlib.sha256()
for case in generate_cases(int(sys.argv[1]), 2):
    digest.update(json.dumps(case.resources, sort_keys=True).encode())
    for binary in case.binaries:
        digest.update(binary.data)
    for spec in case.instances[:: max(len(case.instances) // 3, 1)]:
        digest.update(spec.render())
print(digest.hexdigest())
"""


def test_same_seed_same_bytes_in_another_process() -> None:
    """What the app caches by UID must not change when the server restarts: no output
    may depend on hash randomisation, the clock or process state."""
    runs = [
        subprocess.run(
            [sys.executable, "-c", _DIGEST, str(SEED)],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            cwd=Path(__file__).resolve().parents[2],
        ).stdout.strip()
        for hash_seed in ("1", "2")
    ]
    assert len(runs[0]) == 64
    assert runs[0] == runs[1]


def test_another_seed_gives_other_cases(cases: list[CaseBundle]) -> None:
    other = generate_cases(SEED + 1, 1)[0]
    assert _one(other, "Patient")["identifier"] != _one(cases[0], "Patient")["identifier"]
    assert other.binaries[0].data != cases[0].binaries[0].data
    assert other.instances[0].sop_instance_uid != cases[0].instances[0].sop_instance_uid


def test_render_gives_the_same_bytes_every_call(
    samples: dict[str, tuple[InstanceSpec, bytes]],
) -> None:
    for spec, data in samples.values():
        assert spec.render() == data


def test_generation_renders_no_dicom(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(spec: InstanceSpec) -> bytes:
        raise AssertionError("generate_cases must not render DICOM")

    monkeypatch.setattr(synth_dicom, "render_instance", refuse)
    case = generate_cases(SEED, 1)[0]
    assert case.instances
    with pytest.raises(AssertionError, match="must not render"):
        case.instances[0].render()


# --- case content and FHIR shape -----------------------------------------------------


def test_counts_and_specialties(cases: list[CaseBundle]) -> None:
    assert {c.specialty for c in cases} == {"oncology", "cardiology", "neurology", "orthopaedics"}
    for case in cases:
        task = _one(case, "Task")
        questions = [i for i in task["input"] if i["type"]["text"] == "patient-question"]
        assert 2 <= len(questions) <= 4
        assert all(q["valueString"] for q in questions)
        assert 2 <= len(case.binaries) <= 6
        assert 20 <= len(_by_type(case, "Observation")) <= 200
        assert _one(case, "ServiceRequest")["note"][0]["text"].endswith("?")
    ct_series = {i.series_uid for c in cases for i in c.instances if i.modality == "CT"}
    for uid in ct_series:
        assert sum(i.series_uid == uid for c in cases for i in c.instances) >= 200


def test_names_and_ids_are_obviously_synthetic(cases: list[CaseBundle]) -> None:
    for case in cases:
        patient = _one(case, "Patient")
        assert patient["name"][0]["family"] == "Testpatient"
        assert patient["identifier"][0]["value"].startswith("SYN-")
        assert _one(case, "Practitioner")["name"][0]["family"] == "Testdoctor"


def test_every_reference_resolves_within_the_case(cases: list[CaseBundle]) -> None:
    for case in cases:
        ids = [f"{r['resourceType']}/{r['id']}" for r in case.resources]
        assert len(ids) == len(set(ids))
        known = set(ids) | {f"Binary/{b.id}" for b in case.binaries}
        refs = _references(case.resources)
        assert refs
        assert set(refs) <= known, set(refs) - known


def test_task_and_service_request_shape(cases: list[CaseBundle]) -> None:
    for case in cases:
        task, request = _one(case, "Task"), _one(case, "ServiceRequest")
        patient = _one(case, "Patient")
        assert (task["status"], task["intent"]) == ("requested", "order")
        assert "owner" not in task
        assert task["focus"]["reference"] == f"ServiceRequest/{request['id']}"
        assert task["for"]["reference"] == f"Patient/{patient['id']}"
        due = dt.datetime.fromisoformat(task["restriction"]["period"]["end"])
        assert due > dt.datetime.fromisoformat(task["authoredOn"])
        assert request["requester"]["reference"].startswith("Practitioner/")
        assert task["identifier"][0]["value"] == case.case_key


def test_attachments_match_their_binaries(cases: list[CaseBundle]) -> None:
    for case in cases:
        binaries = {f"Binary/{b.id}": b for b in case.binaries}
        documents = _by_type(case, "DocumentReference")
        assert len(documents) == len(binaries)
        for doc in documents:
            attachment = doc["content"][0]["attachment"]
            data = binaries[attachment["url"]].data
            assert attachment["contentType"] == "application/pdf"
            assert attachment["size"] == len(data)
            assert base64.b64decode(attachment["hash"]) == hashlib.sha1(data).digest()
            assert doc["type"]["coding"][0]["system"] == LOINC


def test_imaging_studies_list_the_instances(cases: list[CaseBundle]) -> None:
    for case in cases:
        specs = {i.sop_instance_uid: i for i in case.instances}
        listed = 0
        for study in _by_type(case, "ImagingStudy"):
            assert "endpoint" not in study
            study_uid = study["identifier"][0]["value"].removeprefix("urn:oid:")
            for series in study["series"]:
                assert series["numberOfInstances"] == len(series["instance"])
                for inst in series["instance"]:
                    spec = specs[inst["uid"]]
                    assert (spec.study_uid, spec.series_uid) == (study_uid, series["uid"])
                    assert inst["sopClass"]["code"] == f"urn:oid:{spec.sop_class_uid}"
                    assert series["modality"]["code"] == spec.modality
                    listed += 1
        assert listed == len(specs)


# --- documents -----------------------------------------------------------------------


def test_pdfs_open_and_have_a_scanned_page(cases: list[CaseBundle]) -> None:
    for case in cases:
        scanned = 0
        for binary in case.binaries:
            with pymupdf.open(stream=binary.data, filetype="pdf") as doc:
                assert doc.page_count >= 2
                assert doc.metadata["creationDate"].startswith("D:20")
                for page in doc:
                    if not page.get_text().strip():
                        assert page.get_images(), "a page with neither text nor image"
                        scanned += 1
                assert "Testpatient" in doc[0].get_text()
        assert scanned >= 1


# --- labs ----------------------------------------------------------------------------


def test_lab_results_are_coded_and_flagged(cases: list[CaseBundle]) -> None:
    flags: set[str] = set()
    strings: list[str] = []
    for case in cases:
        observations = _by_type(case, "Observation")
        panels = set()
        dates = []
        for obs in observations:
            assert obs["code"]["coding"][0]["system"] == LOINC
            assert obs["category"][0]["coding"][0]["code"] == "laboratory"
            panels.add(obs["category"][1]["coding"][0]["code"])
            interpretation = obs["interpretation"][0]["coding"][0]
            assert interpretation["system"] == V3_INTERPRETATION
            flags.add(interpretation["code"])
            assert obs["referenceRange"][0]["text"]
            if "valueQuantity" in obs:
                q = obs["valueQuantity"]
                assert (q["system"], q["code"]) == (UCUM, q["unit"])
                assert isinstance(q["value"], int | float)
            else:
                strings.append(obs["valueString"])
            dates.append(dt.datetime.fromisoformat(obs["effectiveDateTime"]))
        assert len(panels) >= 3
        assert any("valueString" in o for o in observations)
        assert max(dates) - min(dates) >= dt.timedelta(days=90)
    assert {"H", "L", "N"} <= flags
    assert any(s.startswith("<") for s in strings)
    assert "positive" in strings


def test_tumour_marker_rises_again_after_its_nadir(cases: list[CaseBundle]) -> None:
    """Both oncology stories are recurrences: CEA or PSA climbs after its lowest point."""
    oncology = next(c for c in cases if c.specialty == "oncology")
    values = [
        o["valueQuantity"]["value"] if "valueQuantity" in o else 0.0  # "<0.1": undetectable
        for o in _by_type(oncology, "Observation")
        if o["code"]["coding"][0]["code"] in {"2039-6", "2857-1"}
    ]
    assert len(values) >= 4
    nadir = values.index(min(values))
    assert nadir < len(values) - 1
    assert values[-1] > 2 * max(min(values), 0.05)


# --- DICOM ---------------------------------------------------------------------------


def test_first_four_cases_cover_every_format(
    samples: dict[str, tuple[InstanceSpec, bytes]],
) -> None:
    syntaxes = {spec.transfer_syntax_uid for spec, _ in samples.values()}
    assert syntaxes == {
        ExplicitVRLittleEndian,
        RLELossless,
        JPEGLSLossless,
        JPEGLSNearLossless,
        JPEG2000Lossless,
        JPEG2000,
    }
    assert {spec.modality for spec, _ in samples.values()} == {"CT", "MR", "CR", "US"}


def _dciodvfy(path: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("dciodvfy")
    if exe is None:
        pytest.fail("dciodvfy not found: install the Debian package dicom3tools")
    return subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("kind", sorted(synth_dicom.KINDS))
def test_dciodvfy_finds_no_error(
    kind: str, samples: dict[str, tuple[InstanceSpec, bytes]], tmp_path: Path
) -> None:
    spec, data = samples[kind]
    path = tmp_path / f"{kind}.dcm"
    path.write_bytes(data)
    result = _dciodvfy(path)
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines() if line.startswith("Error")]
    assert errors == [], output
    assert result.returncode == 0, output
    iod = {"CT": "CTImage", "MR": "MRImage", "CR": "CRImage", "US": "USMultiFrameImage"}
    assert iod[spec.modality] in output.splitlines()


def test_dciodvfy_check_would_catch_an_error(
    samples: dict[str, tuple[InstanceSpec, bytes]], tmp_path: Path
) -> None:
    """The check above can fail: a dataset missing type 1 and 2 attributes is caught."""
    ds = pydicom.dcmread(io.BytesIO(samples["ct-body"][1]))
    del ds.PatientID
    del ds.ImagePositionPatient
    path = tmp_path / "broken.dcm"
    ds.save_as(path)
    output = _dciodvfy(path).stderr
    assert any(line.startswith("Error") and "PatientID" in line for line in output.splitlines())


@pytest.mark.parametrize("kind", sorted(synth_dicom.KINDS))
def test_pixel_data_decodes(kind: str, samples: dict[str, tuple[InstanceSpec, bytes]]) -> None:
    spec, data = samples[kind]
    ds = pydicom.dcmread(io.BytesIO(data))
    assert ds.file_meta.TransferSyntaxUID == spec.transfer_syntax_uid
    assert ds.SOPInstanceUID == spec.sop_instance_uid
    assert ds.SOPClassUID == spec.sop_class_uid
    pixels = ds.pixel_array
    frames = int(ds.get("NumberOfFrames", 1))
    expected = (ds.Rows, ds.Columns) if frames == 1 else (frames, ds.Rows, ds.Columns)
    assert pixels.shape == expected
    assert pixels.dtype == (np.uint8 if ds.BitsAllocated == 8 else np.uint16)
    assert pixels.max() > pixels.min()  # an image, not a blank
    if spec.transfer_syntax_uid in LOSSY:
        assert ds.LossyImageCompression == "01"
        # A one-item multi-valued element reads back as a single value.
        assert float(ds.LossyImageCompressionRatio) > 1
        assert ds.LossyImageCompressionMethod in {"ISO_14495_1", "ISO_15444_1"}
    else:
        assert ds.LossyImageCompression == "00"
    if spec.modality == "CR":
        assert ds.PhotometricInterpretation == "MONOCHROME1"
        assert len(ds.ImagerPixelSpacing) == 2
    if spec.modality == "US":
        assert frames > 1
        assert float(ds.FrameTime) > 0
        assert ds.FrameIncrementPointer == 0x00181063


def test_lossless_round_trip_is_exact(samples: dict[str, tuple[InstanceSpec, bytes]]) -> None:
    spec, data = samples["ct-head"]  # JPEG-LS lossless
    assert spec.series is not None
    decoded = pydicom.dcmread(io.BytesIO(data)).pixel_array
    expected = synth_dicom.ct_pixels("ct-head", spec.number - 1, spec.series.count)
    assert np.array_equal(decoded, expected)


def test_dicom_patient_matches_fhir(cases: list[CaseBundle]) -> None:
    for case in cases:
        patient = _one(case, "Patient")
        ds = pydicom.dcmread(io.BytesIO(case.instances[0].render()), stop_before_pixels=True)
        assert ds.PatientName.family_name == patient["name"][0]["family"]
        assert ds.PatientName.given_name == patient["name"][0]["given"][0]
        assert ds.PatientID == patient["identifier"][0]["value"]
        assert ds.PatientBirthDate == patient["birthDate"].replace("-", "")
        assert ds.PatientSex == {"female": "F", "male": "M"}[patient["gender"]]
        study = next(
            r
            for r in _by_type(case, "ImagingStudy")
            if r["identifier"][0]["value"] == f"urn:oid:{ds.StudyInstanceUID}"
        )
        started = dt.datetime.fromisoformat(study["started"])
        assert (ds.StudyDate, ds.StudyTime) == (f"{started:%Y%m%d}", f"{started:%H%M%S}")


def test_ct_geometry_is_consistent(cases: list[CaseBundle]) -> None:
    ct = [i for i in cases[0].instances if i.modality == "CT"]
    assert len(ct) >= 200
    picks = [*range(0, len(ct), 23), 1, 2, len(ct) - 1]
    datasets = {
        n: pydicom.dcmread(io.BytesIO(ct[n].render()), stop_before_pixels=True) for n in picks
    }
    first = datasets[0]
    spacing = float(first.SpacingBetweenSlices)
    assert spacing > 0
    assert float(first.SliceThickness) == pytest.approx(spacing)
    orientation = np.array(first.ImageOrientationPatient, dtype=float)
    normal = np.cross(orientation[:3], orientation[3:])
    origin = np.array(first.ImagePositionPatient, dtype=float)
    sign = None
    for n, ds in datasets.items():
        assert (ds.Rows, ds.Columns) == (512, 512)
        assert ds.InstanceNumber == n + 1
        assert ds.FrameOfReferenceUID == first.FrameOfReferenceUID
        assert list(ds.ImageOrientationPatient) == list(first.ImageOrientationPatient)
        assert list(ds.PixelSpacing) == list(first.PixelSpacing)
        assert (float(ds.RescaleSlope), float(ds.RescaleIntercept)) == (1.0, -1024.0)
        assert len(ds.WindowCenter) == len(ds.WindowWidth) >= 3
        assert len(ds.WindowCenterWidthExplanation) == len(ds.WindowCenter)
        offset = np.array(ds.ImagePositionPatient, dtype=float) - origin
        along = float(offset @ normal)
        # Only along the normal, by whole slice steps, always in the same direction.
        assert np.allclose(offset - along * normal, 0, atol=1e-4)
        if n:
            assert abs(along) == pytest.approx(n * spacing, abs=1e-3)
            sign = sign or np.sign(along)
            assert np.sign(along) == sign


def test_concurrent_rendering_gives_the_same_bytes() -> None:
    # The server renders on its request threads; the compressing encoders are not
    # thread-safe, and unserialised concurrent renders crashed the process.
    from concurrent.futures import ThreadPoolExecutor

    specs = [spec for case in generate_cases(1, 2, ct_slices=4) for spec in case.instances]
    sequential = [hashlib.sha256(spec.render()).hexdigest() for spec in specs]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda s: hashlib.sha256(s.render()).hexdigest(), specs))
    assert parallel == sequential
