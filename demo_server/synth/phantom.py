"""Anatomical phantoms drawn with numpy: label maps for tomographic slices, projections
for radiographs, a beating ventricle for ultrasound.

A slice is painted as a map of tissue labels (ellipses inside bounding boxes, so a
512 x 512 slice takes a millisecond or two); imaging.py maps labels to Hounsfield units
or MR signal and adds noise. Coordinates are millimetres from the image centre:
x towards the patient's left, y towards posterior (DICOM LPS); `f` runs from 0 at the
first slice to 1 at the last.
"""

from __future__ import annotations

import math

import numpy as np

# Tissue labels.
AIR, FAT, SOFT, LUNG, BLOOD, CONTRAST, BONE, MARROW = 0, 1, 2, 3, 4, 5, 6, 7
LIVER, KIDNEY, LESION, GAS, GREY, WHITE, CSF, TABLE = 8, 9, 10, 11, 12, 13, 14, 15
SPLEEN, CARTILAGE, FLUID, LIGAMENT, MUSCLE = 16, 17, 18, 19, 20
N_LABELS = 21


class Canvas:
    """A label map with millimetre coordinates for its columns (x) and rows (y)."""

    def __init__(self, rows: int, cols: int, spacing: float) -> None:
        self.labels = np.zeros((rows, cols), dtype=np.uint8)
        self.xs = (np.arange(cols, dtype=np.float32) - (cols - 1) / 2) * spacing
        self.ys = (np.arange(rows, dtype=np.float32) - (rows - 1) / 2) * spacing

    def ellipse(self, cx: float, cy: float, a: float, b: float, label: int) -> None:
        """Fill the axis-aligned ellipse centred (cx, cy) with semi-axes a (x) and b (y)."""
        if a <= 0 or b <= 0:
            return
        c0, c1 = np.searchsorted(self.xs, (cx - a, cx + a))
        r0, r1 = np.searchsorted(self.ys, (cy - b, cy + b))
        if c0 >= c1 or r0 >= r1:
            return
        dx = ((self.xs[c0:c1] - cx) / a) ** 2
        dy = ((self.ys[r0:r1] - cy) / b) ** 2
        block = self.labels[r0:r1, c0:c1]
        block[dy[:, None] + dx[None, :] <= 1.0] = label

    def rect(self, x0: float, y0: float, x1: float, y1: float, label: int) -> None:
        c0, c1 = np.searchsorted(self.xs, (x0, x1))
        r0, r1 = np.searchsorted(self.ys, (y0, y1))
        self.labels[r0:r1, c0:c1] = label


def _bump(f: float, start: float, end: float) -> float:
    """0 outside [start, end], rising to 1 in the middle: organs wax and wane along z."""
    if not start < f < end:
        return 0.0
    return math.sin(math.pi * (f - start) / (end - start)) ** 0.5


def body(c: Canvas, f: float, lesion: bool) -> None:
    """Axial chest-abdomen slice; `f` 0 = lung apices, 1 = pelvis."""
    c.rect(-220, 150, 220, 165, TABLE)
    c.ellipse(0, 10, 170 - 10 * f, 125, FAT)
    c.ellipse(0, 10, 155 - 10 * f, 112, SOFT)
    lung = _bump(f, -0.05, 0.48)
    for side in (-1, 1):
        c.ellipse(side * 75, 0, 58 * lung, 80 * lung, LUNG)
    heart = _bump(f, 0.2, 0.46)
    c.ellipse(18, -35, 60 * heart, 48 * heart, BLOOD)
    liver = _bump(f, 0.36, 0.78)
    c.ellipse(-62, -5, 88 * liver, 72 * liver, LIVER)
    if lesion and 0.52 < f < 0.56:
        c.ellipse(-95, 30, 5.5, 4.5, LESION)
    spleen = _bump(f, 0.4, 0.6)
    c.ellipse(85, 35, 35 * spleen, 45 * spleen, SPLEEN)
    kidney = _bump(f, 0.58, 0.82)
    for side in (-1, 1):
        c.ellipse(side * 68, 62, 24 * kidney, 36 * kidney, KIDNEY)
    bowel = _bump(f, 0.7, 1.05)
    for k in range(5):
        angle = 1.3 * k + 9 * f
        c.ellipse(60 * math.cos(angle), -40 + 25 * math.sin(angle), 14 * bowel, 10 * bowel, GAS)
    # Paraspinal muscles, the aorta in front of the spine, vertebra with its marrow.
    for side in (-1, 1):
        c.ellipse(side * 35, 88, 26, 20, MUSCLE)
    c.ellipse(-8, 28, 12, 12, CONTRAST)
    disc = (f * 40) % 1.0 < 0.15
    c.ellipse(0, 62, 22, 18, SOFT if disc else BONE)
    if not disc:
        c.ellipse(0, 62, 18, 14, MARROW)
    c.ellipse(0, 92, 9, 14, BONE)


def head(c: Canvas, f: float, lesions: bool) -> None:
    """Axial head slice; `f` 0 = vertex, 1 = skull base."""
    size = _bump(f, -0.08, 1.25)
    c.rect(-130, 105, 130, 115, TABLE)
    c.ellipse(0, 0, 78 * size, 96 * size, SOFT)
    c.ellipse(0, 0, 74 * size, 92 * size, BONE)
    c.ellipse(0, 0, 68 * size, 86 * size, GREY)
    c.ellipse(0, 0, 56 * size, 74 * size, WHITE)
    vent = _bump(f, 0.3, 0.6)
    for side in (-1, 1):
        c.ellipse(side * 9, -8, 5 * vent, 26 * vent, CSF)
    if lesions:
        for x, y, start in ((28, -20, 0.32), (-40, 25, 0.4), (18, 40, 0.45)):
            r = 4 * _bump(f, start, start + 0.08)
            c.ellipse(x, y, r, r, LESION)


def heart_short_axis(c: Canvas, f: float) -> None:
    """Cardiac short-axis slice, base (f=0) to apex (f=1), bright blood as in SSFP."""
    c.ellipse(0, 0, 165, 120, FAT)
    c.ellipse(0, 0, 150, 108, SOFT)
    for side in (-1, 1):
        c.ellipse(side * 85, 5, 50, 70, LUNG)
    scale = 1.0 - 0.6 * f
    c.ellipse(-28, -10, 40 * scale, 30 * scale, BLOOD)  # right ventricle
    c.ellipse(10, 0, 38 * scale, 38 * scale, MUSCLE)  # left ventricular myocardium
    c.ellipse(10, 0, 26 * scale, 26 * scale, BLOOD)
    if f < 0.6:
        c.ellipse(12, -16, 8 * scale, 5 * scale, LESION)  # scar in the anterior wall
    c.ellipse(0, 80, 18, 16, BONE)


def knee_sagittal(c: Canvas, f: float) -> None:
    """Sagittal knee slice, lateral (f=0) to medial (f=1); here x is anterior-posterior
    and y is superior-inferior on the image."""
    width = _bump(f, -0.1, 1.1)
    c.ellipse(0, 0, 55 * width, 90, SOFT)
    c.rect(-22, -90, 22, -20, BONE)  # femoral shaft
    c.rect(-19, -90, 19, -20, MARROW)
    c.ellipse(4, -12, 34 * width, 26, CARTILAGE)
    c.ellipse(4, -12, 31 * width, 23, MARROW)  # condyle
    c.rect(-30 * width, 18, 30 * width, 90, BONE)  # tibia
    c.rect(-27 * width, 21, 27 * width, 90, MARROW)
    c.rect(-30 * width, 14, 30 * width, 18, CARTILAGE)
    c.ellipse(-46, -18, 7 * width, 18 * width, CARTILAGE)
    c.ellipse(-47, -18, 5 * width, 15 * width, MARROW)  # patella
    if 0.55 < f < 0.9:
        c.ellipse(-8, 12, 10, 3, FLUID)  # medial joint effusion / meniscal tear
    c.ellipse(20, 14, 10 * width, 4, LIGAMENT)  # posterior horn of the meniscus


def knee_radiograph(rows: int, cols: int, spacing: float) -> np.ndarray:
    """AP knee projection: path length through soft tissue and bone, in arbitrary units."""
    xs = (np.arange(cols, dtype=np.float32) - (cols - 1) / 2) * spacing
    ys = (np.arange(rows, dtype=np.float32) - (rows - 1) / 2) * spacing
    x = xs[None, :]
    y = ys[:, None]

    def chord(cx: np.ndarray | float, half: float) -> np.ndarray:
        # Length of a vertical ray through a cylinder of radius `half` centred at cx.
        return 2 * np.sqrt(np.clip(half**2 - (x - cx) ** 2, 0, None))

    soft = chord(0.0, 62.0) * np.ones_like(y)
    femur_w = np.where(y < -20, 24.0, 24.0 + 0.9 * (y + 20) * (y < 0)) * np.ones_like(x)
    femur = np.where(y < -2, 2 * np.sqrt(np.clip(femur_w**2 - x**2, 0, None)), 0)
    tibia_w = np.where(y > 25, 28.0, 40.0) * np.ones_like(x)
    tibia = np.where(y > 6, 2 * np.sqrt(np.clip(tibia_w**2 - (x + 3) ** 2, 0, None)), 0)
    fibula = np.where(y > 30, chord(38.0, 7.0), 0)
    patella = np.where(np.abs(y + 22) < 20, chord(0.0, 18.0) * 0.5, 0)
    return soft * 0.2 + (femur + tibia + fibula + patella) * 1.0
