"""``reviewer-app render-dicom``: write what the viewer shows for a DICOM file, as a PNG.

For support staff and tests: the PNG holds exactly :func:`render`'s pixels (8-bit grey
or RGB, the image's own size), so "the viewer shows it wrong" can be checked without
the app. A file it cannot render exits with code 2 and one line saying why.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

EXIT_ERROR = 2


def register(subparsers: Any) -> None:
    """Add the ``render-dicom`` command."""
    parser = subparsers.add_parser(
        "render-dicom",
        help="write a DICOM image as the viewer shows it, as a PNG file",
        description=(
            "Render one frame of a DICOM file with the viewer's default settings (the "
            "file's own window, else its full range) and write it as an 8-bit grey or RGB "
            "PNG of the image's size. Exits 2 with a one-line reason if the file cannot "
            "be rendered. A negative window centre needs '=': --window=-600,1500."
        ),
    )
    parser.add_argument("input", type=Path, metavar="IN.dcm", help="the DICOM file")
    parser.add_argument("output", type=Path, metavar="OUT.png", help="the PNG to write")
    parser.add_argument("--frame", type=int, default=0, help="frame to render, from 0 (default 0)")
    parser.add_argument(
        "--window",
        metavar="C,W",
        help="window centre and width in modality units (e.g. HU), instead of the default",
    )
    parser.set_defaults(run=run)


def parse_window(text: str) -> tuple[float, float]:
    """``"C,W"`` as numbers; ValueError with a short reason otherwise."""
    parts = text.split(",")
    if len(parts) != 2:
        raise ValueError("--window needs two numbers, centre and width: C,W")
    center, width = (float(p) for p in parts)
    if not width >= 1:
        raise ValueError("--window width must be at least 1")
    return center, width


def run(args: argparse.Namespace) -> int:
    """Render and write the PNG; returns the exit code."""
    from reviewer_app.imaging.pipeline import render
    from reviewer_app.imaging.png import encode_png
    from reviewer_app.imaging.source import number_of_frames, read_dataset
    from reviewer_app.imaging.voi import Window

    window = None
    if args.window is not None:
        try:
            center, width = parse_window(args.window)
        except ValueError as exc:
            reason = str(exc) if "--window" in str(exc) else "--window needs numbers: C,W"
            print(f"reviewer-app: {reason}", file=sys.stderr)
            return EXIT_ERROR
        window = Window(center, width, explanation="from the command line")
    ds = read_dataset(args.input)
    frames = number_of_frames(ds)
    if not 0 <= args.frame < frames:
        print(
            f"reviewer-app: --frame {args.frame} is outside the image (frames 0 to {frames - 1})",
            file=sys.stderr,
        )
        return EXIT_ERROR
    image = render(ds, frame=args.frame, window=window)
    try:
        _write(args.output, encode_png(image.pixels))
    except OSError as exc:
        print(f"reviewer-app: the PNG could not be written ({exc.strerror})", file=sys.stderr)
        return EXIT_ERROR
    rows, cols = image.pixels.shape[:2]
    kind = "RGB" if image.is_colour else "grey"
    used = f", {image.window.label}" if image.window is not None else ""
    lossy = ", lossy compressed" if image.lossy else ""
    print(f"{args.output}: {cols}×{rows} {kind}, frame {args.frame + 1}/{frames}{used}{lossy}")
    return 0


def _write(path: Path, data: bytes) -> None:
    """Write all or nothing: a temp file beside the target, then rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
