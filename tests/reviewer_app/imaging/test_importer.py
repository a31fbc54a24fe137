"""Local import of a patient's CD (DICOMDIR) or a folder: encrypted, read-only, marked."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from pydicom.fileset import FileSet
from pydicom.uid import generate_uid

from reviewer_app.errors import NothingToImport
from reviewer_app.imaging.importer import import_folder
from reviewer_app.imaging.series import InstanceRef, build_stack
from reviewer_app.vault import KeySource, Profile, ScryptParams, create_profile
from tests.reviewer_app.imaging.series_data import PATIENT_MARKER, ct_slice, same_study

FAST = ScryptParams(n=2**10, r=8, p=1)


@pytest.fixture
def vault(tmp_path: Path) -> Any:
    v = create_profile(
        Profile(tmp_path / "profile"),
        "pass phrase for tests",
        scrypt=FAST,
        key_source=KeySource.PASSPHRASE,
    )
    yield v
    v.close()


def write_cd(folder: Path, slices: int = 3) -> Path:
    """A DICOMDIR file set with one CT series of ``slices`` instances, as on a CD."""
    datasets = same_study(
        [
            ct_slice(float(z) * 5, z + 1, StudyID="1", StudyTime="090000", PatientID="SYN-1")
            for z in range(slices)
        ],
        generate_uid(),
        generate_uid(),
    )
    fileset = FileSet()
    for ds in datasets:
        fileset.add(ds)
    folder.mkdir(parents=True, exist_ok=True)
    fileset.write(folder)
    fileset._stage["t"].cleanup()  # its staging copy of the (synthetic) test files
    return folder


def tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
            digest.update(str(path.stat().st_mtime_ns).encode())
    return digest.hexdigest()


def test_dicomdir_import_is_encrypted_marked_and_leaves_the_cd_alone(
    vault: Any, tmp_path: Path
) -> None:
    cd = write_cd(tmp_path / "cd")
    before = tree_hash(cd)
    result = import_folder(vault, "case-1", cd)
    assert (result.studies, result.series, result.instances) == (1, 1, 3)
    assert tree_hash(cd) == before
    conn = vault.read()
    assert conn.execute("SELECT source FROM studies WHERE case_id = 'case-1'").fetchall() == [
        ("import",)
    ]
    assert conn.execute("SELECT instance_count FROM series").fetchone()[0] == 3
    refs = [
        InstanceRef(*row)
        for row in conn.execute("SELECT sop_instance_uid, number, object_id FROM instances")
    ]
    stack = build_stack(vault, refs)
    assert [p for p in stack.positions] == [0.0, 5.0, 10.0]
    marker = PATIENT_MARKER.encode()
    for path in (tmp_path / "profile").rglob("*"):
        if path.is_file():
            assert marker not in path.read_bytes(), path.name


def test_importing_again_stores_nothing_twice(vault: Any, tmp_path: Path) -> None:
    cd = write_cd(tmp_path / "cd", slices=2)
    import_folder(vault, "case-1", cd)
    again = import_folder(vault, "case-1", cd)
    assert (again.instances, again.already_present) == (0, 2)
    assert vault.objects.count() == 2


def test_a_plain_folder_is_walked_and_non_dicom_files_ignored(vault: Any, tmp_path: Path) -> None:
    folder = tmp_path / "usb"
    (folder / "sub").mkdir(parents=True)
    for i, ds in enumerate(same_study([ct_slice(0.0, 1), ct_slice(5.0, 2)], "1.2.3", "1.2.3.4")):
        ds.save_as(folder / "sub" / f"IM{i}", enforce_file_format=True)
    (folder / "readme.txt").write_text("not an image")
    result = import_folder(vault, "case-1", folder)
    assert result.instances == 2


def test_a_folder_without_images_is_refused(vault: Any, tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "notes.txt").write_text("nothing here")
    with pytest.raises(NothingToImport):
        import_folder(vault, "case-1", folder)
    assert vault.objects.count() == 0


def test_a_later_sync_keeps_imported_images(vault: Any, tmp_path: Path) -> None:
    # The platform does not list a study imported from a CD; reconciling the case's
    # instances against the platform's listing must leave the imported ones (and their
    # encrypted objects) alone. This once shredded every imported image at the next sync.
    from reviewer_app.sync import local

    result = import_folder(vault, "case-1", write_cd(tmp_path / "cd"))

    def instances() -> list[tuple[str, str]]:
        return (
            vault.read()
            .execute("SELECT sop_instance_uid, object_id FROM instances WHERE case_id = 'case-1'")
            .fetchall()
        )

    before = instances()
    assert len(before) == 3
    stale = vault.write_sync(
        lambda conn: local._save_studies(conn, "case-1", [], drop_unlisted=True)
    )
    assert stale == []
    assert instances() == before
    sources = vault.read().execute("SELECT DISTINCT source FROM studies").fetchall()
    assert sources == [("import",)]
    assert all(vault.objects.read_bytes(object_id) for _, object_id in before)
    assert result is not None
