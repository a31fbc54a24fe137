"""Render synthetic DICOM instances: pydicom datasets of the right IOD, pixels from
phantom.py, optionally compressed, written as Part 10 bytes.

Everything that varies comes from the SeriesPlan and the instance number, so the
bytes are the same on every call. The attributes set are those dciodvfy expects for
each IOD (CT, MR, CR, US Multi-frame); tests/demo_server/test_synth.py runs it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    JPEG2000,
    UID,
    ComputedRadiographyImageStorage,
    CTImageStorage,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    JPEGLSNearLossless,
    MRImageStorage,
    RLELossless,
    UltrasoundMultiFrameImageStorage,
)

from demo_server.synth import phantom as ph
from demo_server.synth.model import InstanceSpec, SeriesPlan

_IMPLEMENTATION_UID = "2.25.160393393209262443305521340414838409133"
_MANUFACTURER = "Synthetic Imaging Ltd"
_INSTITUTION = "Testville General Hospital (synthetic)"
_LOSSY_METHOD: dict[str, str] = {JPEGLSNearLossless: "ISO_14495_1", JPEG2000: "ISO_15444_1"}


@dataclass(frozen=True)
class Kind:
    """What a series of this kind looks like and how it is stored."""

    modality: str
    sop_class: str
    transfer_syntax: str
    study_description: str
    series_description: str
    body_part: str
    rows: int
    cols: int
    pixel_spacing: float  # mm; ImagerPixelSpacing for CR
    coverage: float  # mm covered by the slices (tomographic kinds)
    slices: int  # 0 = the ct_slices parameter; 1 for CR and US
    frames: int = 1


# fmt: off
KINDS = {
    "ct-body": Kind("CT", CTImageStorage, ExplicitVRLittleEndian,
                    "CT chest abdomen pelvis with contrast", "Axial soft tissue", "CHEST",
                    512, 512, 0.78125, 600.0, 0),
    "ct-head": Kind("CT", CTImageStorage, JPEGLSLossless, "CT head without contrast",
                    "Axial brain", "HEAD", 512, 512, 0.46875, 150.0, 0),
    "mr-liver": Kind("MR", MRImageStorage, JPEG2000Lossless, "MR liver", "Ax T2 HASTE",
                     "ABDOMEN", 256, 256, 1.5625, 180.0, 30),
    "mr-brain": Kind("MR", MRImageStorage, JPEGLSNearLossless, "MR brain", "Ax T2 FLAIR",
                     "HEAD", 256, 256, 0.9375, 130.0, 26),
    "mr-cardiac": Kind("MR", MRImageStorage, RLELossless, "MR heart", "SAX SSFP", "HEART",
                       256, 256, 1.40625, 96.0, 12),
    "mr-knee": Kind("MR", MRImageStorage, RLELossless, "MR knee right", "Sag PD", "KNEE",
                    320, 320, 0.5, 84.0, 24),
    "cr-knee": Kind("CR", ComputedRadiographyImageStorage, JPEG2000, "XR knee right",
                    "AP knee standing", "KNEE", 1152, 960, 0.15, 0.0, 1),
    "us-cardiac": Kind("US", UltrasoundMultiFrameImageStorage, ExplicitVRLittleEndian,
                       "Echocardiogram", "Apical 4 chamber cine", "HEART", 384, 512, 0.3,
                       0.0, 1, frames=32),
}
# fmt: on

# Label -> value lookup tables (index = phantom label).
# fmt: off
_CT_HU = np.array([-1000, -100, 40, -850, 45, 220, 900, 260, 65, 160, 25, -900, 38, 28, 5,
                   150, 55, 90, 10, 70, 50], dtype=np.float32)
_MR_SIGNAL = {
    # T2 HASTE: fluid and lesion bright, liver dark.
    "mr-liver": [0, 700, 300, 20, 150, 120, 40, 500, 180, 450, 1100, 0, 300, 300, 1500,
                 0, 420, 300, 1400, 120, 220],
    # FLAIR: CSF dark, lesions bright, grey brighter than white.
    "mr-brain": [0, 800, 350, 20, 100, 100, 60, 500, 250, 300, 1300, 0, 620, 460, 80, 0,
                 300, 300, 100, 150, 300],
    # SSFP: blood bright, myocardium dark, scar (late enhancement look) bright.
    "mr-cardiac": [0, 900, 350, 30, 1200, 1200, 60, 600, 300, 400, 1000, 0, 300, 300, 900,
                   0, 400, 300, 900, 150, 260],
    # PD: marrow fat bright, cartilage intermediate, fluid bright, ligaments dark.
    "mr-knee": [0, 1100, 450, 30, 500, 500, 60, 1000, 300, 300, 900, 0, 300, 300, 1200, 0,
                300, 750, 1500, 80, 420],
}
# fmt: on


@lru_cache(maxsize=8)
def _noise(rows: int, cols: int) -> np.ndarray:
    """A fixed field of unit Gaussian noise; slices take shifted windows of it."""
    return np.random.default_rng(20240229).standard_normal((rows * 2, cols * 2)).astype(np.float32)


def _noise_window(rows: int, cols: int, n: int) -> np.ndarray:
    field = _noise(rows, cols)
    oy, ox = (n * 131) % rows, (n * 197) % cols
    return field[oy : oy + rows, ox : ox + cols]


def _slice_f(n: int, count: int) -> float:
    return n / max(count - 1, 1)


def _tomo_labels(kind: str, rows: int, cols: int, spacing: float, f: float) -> np.ndarray:
    c = ph.Canvas(rows, cols, spacing)
    if kind == "ct-body":
        ph.body(c, f, lesion=True)
    elif kind == "mr-liver":
        ph.body(c, 0.4 + 0.3 * f, lesion=True)
    elif kind in ("ct-head", "mr-brain"):
        ph.head(c, f, lesions=kind == "mr-brain")
    elif kind == "mr-cardiac":
        ph.heart_short_axis(c, f)
    else:
        ph.knee_sagittal(c, f)
    return c.labels


def ct_pixels(kind: str, n: int, count: int) -> np.ndarray:
    """Stored values (HU + 1024, 12 bits) of CT slice n (0-based)."""
    k = KINDS[kind]
    labels = _tomo_labels(kind, k.rows, k.cols, k.pixel_spacing, _slice_f(n, count))
    hu = _CT_HU[labels] + 12.0 * _noise_window(k.rows, k.cols, n)
    return np.clip(hu + 1024.0, 0, 4095).astype(np.uint16)


def mr_pixels(kind: str, n: int, count: int) -> np.ndarray:
    """Magnitude MR signal of slice n: Rician noise on a label map."""
    k = KINDS[kind]
    labels = _tomo_labels(kind, k.rows, k.cols, k.pixel_spacing, _slice_f(n, count))
    lut = np.asarray(_MR_SIGNAL[kind], dtype=np.float32)
    real = lut[labels] + 20.0 * _noise_window(k.rows, k.cols, n)
    imaginary = 20.0 * _noise_window(k.rows, k.cols, n + 7)
    signal = np.hypot(real, imaginary)
    return np.clip(signal, 0, 4095).astype(np.uint16)


def cr_pixels() -> np.ndarray:
    """MONOCHROME1 stored values: bone has low values so it displays white."""
    k = KINDS["cr-knee"]
    attenuation = ph.knee_radiograph(k.rows, k.cols, k.pixel_spacing)
    noise = _noise_window(k.rows, k.cols, 0)
    bright = 250.0 + attenuation * 38.0 + 30.0 * noise
    return (4095 - np.clip(bright, 0, 4095)).astype(np.uint16)


@lru_cache(maxsize=1)
def _us_geometry(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    dx, dy = xx - cols / 2, yy + 10
    radius = np.hypot(dx, dy)
    theta = np.arctan2(dx, dy)
    fan = (np.abs(theta) < 0.75) & (radius < rows - 12)
    speckle = np.random.default_rng(7).rayleigh(1.0, (rows + 16, cols + 16)).astype(np.float32)
    return fan, speckle, np.stack([xx, yy])


def us_pixels(frames: int) -> np.ndarray:
    """Apical four-chamber cine: the ventricle contracts and relaxes once per 28 frames."""
    k = KINDS["us-cardiac"]
    fan, speckle, grid = _us_geometry(k.rows, k.cols)
    xx, yy = grid
    out = np.empty((frames, k.rows, k.cols), dtype=np.uint8)
    for t in range(frames):
        squeeze = 1.0 - 0.22 * (0.5 - 0.5 * np.cos(2 * np.pi * t / 28))
        tissue = np.full((k.rows, k.cols), 70.0, dtype=np.float32)
        wall = ((xx - 230) / (75 * squeeze)) ** 2 + ((yy - 200) / (150 * squeeze)) ** 2
        tissue[wall < 1.45] = 150.0  # myocardium
        tissue[wall < 1.0] = 8.0  # blood pool in the left ventricle
        rv = ((xx - 330) / 55) ** 2 + ((yy - 210) / 120) ** 2
        tissue[rv < 1.0] = 8.0
        s = speckle[t % 8 : t % 8 + k.rows, t % 16 : t % 16 + k.cols]
        img = tissue * s * (1.0 - yy / (k.rows * 1.6))  # depth attenuation
        img[~fan] = 0
        out[t] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def _common(ds: Dataset, spec: InstanceSpec, plan: SeriesPlan, k: Kind) -> None:
    """Patient, General Study, General Series, General Equipment, SOP Common."""
    study = plan.study
    date = study.date.strftime("%Y%m%d")
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = spec.sop_class_uid
    ds.SOPInstanceUID = spec.sop_instance_uid
    ds.InstanceCreationDate = date
    ds.InstanceCreationTime = study.time
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = date
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = study.time
    ds.AccessionNumber = study.accession
    ds.Modality = k.modality
    ds.Manufacturer = _MANUFACTURER
    ds.InstitutionName = _INSTITUTION
    ds.ReferringPhysicianName = study.referring
    ds.StationName = "SYNTH01"
    ds.StudyDescription = k.study_description
    ds.SeriesDescription = k.series_description
    ds.ManufacturerModelName = "Phantom " + k.modality
    ds.DeviceSerialNumber = "SYN-0000"
    ds.SoftwareVersions = "1.0"
    ds.PatientName = study.patient.name
    ds.PatientID = study.patient.patient_id
    ds.PatientBirthDate = study.patient.birth_date
    ds.PatientSex = study.patient.sex
    ds.PatientIdentityRemoved = "NO"
    ds.BodyPartExamined = k.body_part
    if k.body_part == "KNEE":
        ds.Laterality = "R"  # a paired body part: General Series requires the side
    ds.StudyInstanceUID = study.study_uid
    ds.SeriesInstanceUID = plan.series_uid
    ds.StudyID = study.study_id
    ds.SeriesNumber = plan.series_number
    ds.InstanceNumber = spec.number
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"


def _pixel_module(ds: Dataset, rows: int, cols: int, bits: int, photometric: str) -> None:
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = 8 if bits == 8 else 16
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0


def _fmt(value: float) -> str:
    """A DS value of at most 16 characters."""
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def _plane(ds: Dataset, plan: SeriesPlan, k: Kind, n: int) -> None:
    """Image Plane module; n is the 0-based slice index."""
    half_r = (k.rows - 1) / 2 * k.pixel_spacing
    half_c = (k.cols - 1) / 2 * k.pixel_spacing
    step = plan.slice_spacing
    if plan.kind == "mr-knee":
        # Sagittal: rows run towards posterior, columns towards the feet.
        orientation = [0, 1, 0, 0, 0, -1]
        position = [(plan.count - 1) / 2 * step - n * step, -half_c, half_r]
        location = position[0]
    else:
        orientation = [1, 0, 0, 0, 1, 0]
        top = (plan.count - 1) / 2 * step
        position = [-half_c, -half_r, top - n * step]
        location = position[2]
    ds.ImageOrientationPatient = [_fmt(v) for v in orientation]
    ds.ImagePositionPatient = [_fmt(v) for v in position]
    ds.PixelSpacing = [_fmt(k.pixel_spacing)] * 2
    ds.SliceThickness = _fmt(step)
    ds.SpacingBetweenSlices = _fmt(step)
    ds.SliceLocation = _fmt(location)
    ds.FrameOfReferenceUID = plan.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    ds.PatientPosition = "FFS" if plan.kind == "mr-knee" else "HFS"


def _windows(ds: Dataset, presets: list[tuple[str, float, float]]) -> None:
    ds.WindowCenter = [_fmt(c) for _, c, _ in presets]
    ds.WindowWidth = [_fmt(w) for _, _, w in presets]
    ds.WindowCenterWidthExplanation = [name for name, _, _ in presets]


def _ct(ds: Dataset, spec: InstanceSpec, plan: SeriesPlan, k: Kind) -> np.ndarray:
    n = spec.number - 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    _plane(ds, plan, k, n)
    _pixel_module(ds, k.rows, k.cols, 12, "MONOCHROME2")
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    ds.KVP = "120"
    ds.AcquisitionNumber = 1
    ds.ConvolutionKernel = "STANDARD"
    ds.XRayTubeCurrent = 250
    ds.ExposureTime = 500
    if plan.kind == "ct-head":
        _windows(
            ds, [("BRAIN", 40, 80), ("SUBDURAL", 75, 215), ("STROKE", 40, 40), ("BONE", 600, 2800)]
        )
    else:
        _windows(
            ds,
            [
                ("SOFT TISSUE", 40, 400),
                ("LUNG", -600, 1500),
                ("BONE", 400, 1800),
                ("LIVER", 60, 160),
            ],
        )
    return ct_pixels(plan.kind, n, plan.count)


def _mr(ds: Dataset, spec: InstanceSpec, plan: SeriesPlan, k: Kind) -> np.ndarray:
    n = spec.number - 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
    _plane(ds, plan, k, n)
    _pixel_module(ds, k.rows, k.cols, 12, "MONOCHROME2")
    flair = plan.kind == "mr-brain"
    ds.ScanningSequence = (
        ["SE", "IR"] if flair else (["GR"] if plan.kind == "mr-cardiac" else ["SE"])
    )
    ds.SequenceVariant = ["SK"]
    ds.ScanOptions = ""
    ds.MRAcquisitionType = "2D"
    ds.RepetitionTime = "9000" if flair else ("3.2" if plan.kind == "mr-cardiac" else "3000")
    ds.EchoTime = "90" if plan.kind != "mr-cardiac" else "1.6"
    ds.EchoTrainLength = 16
    if flair:
        ds.InversionTime = "2500"
    ds.MagneticFieldStrength = "1.5"
    ds.ImagedNucleus = "1H"
    ds.AcquisitionNumber = 1
    _windows(ds, [("DEFAULT", 600, 1200), ("HIGH CONTRAST", 500, 600)])
    return mr_pixels(plan.kind, n, plan.count)


def _cr(ds: Dataset, spec: InstanceSpec, plan: SeriesPlan, k: Kind) -> np.ndarray:
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.PatientOrientation = ["L", "F"]
    ds.ViewPosition = "AP"
    ds.KVP = "60"
    ds.ImagerPixelSpacing = [_fmt(k.pixel_spacing)] * 2
    ds.AcquisitionNumber = 1
    _pixel_module(ds, k.rows, k.cols, 12, "MONOCHROME1")
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.RescaleType = "US"
    _windows(ds, [("NORMAL", 2048, 3600), ("BONE", 1500, 1800)])
    return cr_pixels()


def _us(ds: Dataset, spec: InstanceSpec, plan: SeriesPlan, k: Kind) -> np.ndarray:
    ds.ImageType = ["ORIGINAL", "PRIMARY", "TRANSTHORACIC", "0001"]
    ds.PatientOrientation = ""
    _pixel_module(ds, k.rows, k.cols, 8, "MONOCHROME2")
    ds.NumberOfFrames = k.frames
    ds.FrameIncrementPointer = 0x00181063  # Frame Time
    ds.FrameTime = "33.3333"
    ds.CineRate = 30
    ds.RecommendedDisplayFrameRate = 30
    ds.AcquisitionDateTime = plan.study.date.strftime("%Y%m%d") + plan.study.time
    ds.HeartRate = 64
    return us_pixels(k.frames)


_BUILDERS = {"CT": _ct, "MR": _mr, "CR": _cr, "US": _us}


def build_dataset(spec: InstanceSpec) -> Dataset:
    """The full dataset of an instance, pixel data encoded in its transfer syntax."""
    plan = spec.series
    assert plan is not None
    k = KINDS[plan.kind]
    ds = Dataset()
    _common(ds, spec, plan, k)
    pixels = _BUILDERS[k.modality](ds, spec, plan, k)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(spec.sop_class_uid)
    meta.MediaStorageSOPInstanceUID = UID(spec.sop_instance_uid)
    meta.ImplementationClassUID = UID(_IMPLEMENTATION_UID)
    meta.ImplementationVersionName = "REVIEWER_SYNTH"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    tsuid = spec.transfer_syntax_uid
    if tsuid == ExplicitVRLittleEndian:
        ds.PixelData = pixels.tobytes()
    else:
        options: dict = {}
        if tsuid == JPEGLSNearLossless:
            options["jls_error"] = 3
        elif tsuid == JPEG2000:
            options["j2k_cr"] = [12]
        ds.compress(tsuid, pixels, generate_instance_uid=False, **options)
        if tsuid in _LOSSY_METHOD:
            ratio = pixels.nbytes / len(ds.PixelData)
            ds.LossyImageCompression = "01"
            ds.LossyImageCompressionRatio = [f"{ratio:.2f}"]
            ds.LossyImageCompressionMethod = [_LOSSY_METHOD[tsuid]]
            ds.ImageType = ["DERIVED", *list(ds.ImageType)[1:]]
    return ds


def render_instance(spec: InstanceSpec) -> bytes:
    """Part 10 bytes of an instance."""
    buffer = io.BytesIO()
    build_dataset(spec).save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
