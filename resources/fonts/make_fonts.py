"""Rebuild the bundled fonts from the Noto release files (Debian packages fonts-noto-core
and fonts-noto-cjk, 2020-12 / 2022-01). Not used at run time; kept so that anyone can
reproduce (or update) exactly what ships. Usage:

    python resources/fonts/make_fonts.py NOTO_TTF_DIR NOTO_CJK_TTC OUT_DIR

* Noto Sans Arabic (2 styles): copied unchanged.
* Noto Serif (4 styles): all characters, Latin ligatures removed (see LIGATURES).
* Noto Sans Regular/Bold: subset to Latin, Greek, Cyrillic and punctuation, then turned
  from TrueType outlines into CFF (``.otf``): pyHanko writes the signature block's glyph
  widths correctly only for CFF-flavoured OpenType fonts. NotoSans-Signature.otf is the
  Regular without layout tables, for the signature block.
* Noto Sans CJK SC: subset to the Chinese characters of GB 2312 and Big5 (level 1) plus
  kana and CJK punctuation, then given TrueType outlines (see ``_to_truetype``).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from fontTools import subset
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.t2CharStringPen import T2CharStringPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

COPIED = ("NotoSansArabic-Regular.ttf", "NotoSansArabic-Bold.ttf")
SERIF = ("Regular", "Bold", "Italic", "BoldItalic")
# Latin ligatures ("fi", "fl") would come back from text extraction as one code point
# (U+FB01) or, for the converted CFF fonts, not at all: the opinion's text must
# extract exactly as typed. Arabic keeps its ligatures (lam-alef is required).
LIGATURES = {"liga", "clig", "dlig", "hlig", "rlig"}
SANS_RANGES = [
    (0x20, 0x24F),
    (0x2B0, 0x36F),
    (0x370, 0x3FF),
    (0x400, 0x52F),
    (0x1E00, 0x1EFF),
    (0x2000, 0x20CF),
    (0x2100, 0x215F),
    (0x2190, 0x21FF),
    (0x2212, 0x2212),
]


def _cjk_characters() -> set[int]:
    chars = set(range(0x20, 0x7F)) | set(range(0x3000, 0x3100)) | set(range(0xFF00, 0xFFF0))
    chars |= set(range(0x2010, 0x2027))
    for cp in range(0x4E00, 0xA000):
        for codec in ("gb2312", "big5"):
            try:
                encoded = chr(cp).encode(codec)
            except UnicodeEncodeError:
                continue
            # Big5 level 1 (frequent characters) ends at C67E; level 2 is rare ones.
            if codec == "gb2312" or encoded <= b"\xc6\x7e":
                chars.add(cp)
                break
    return chars


def _features(font: TTFont) -> list[str]:
    """The font's layout features other than Latin ligatures."""
    tags = set()
    for table in ("GSUB", "GPOS"):
        if table in font:
            tags |= {r.FeatureTag for r in font[table].table.FeatureList.FeatureRecord}
    return sorted(tags - LIGATURES)


def _subset(
    font: TTFont, unicodes: set[int], *, keep_layout: bool = True, ligatures: bool = True
) -> None:
    options = subset.Options()
    options.layout_features = ["*"] if keep_layout else []
    if not ligatures:
        options.layout_features = _features(font)
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)


def _to_cff(font: TTFont) -> None:
    """Replace TrueType outlines by CFF ones (same glyph order, metrics and layout)."""
    glyphs = font.getGlyphSet()
    order = font.getGlyphOrder()
    char_strings = {}
    for name in order:
        pen = T2CharStringPen(font["hmtx"][name][0], glyphs)
        glyphs[name].draw(pen)
        char_strings[name] = pen.getCharString()
    ps_name = font["name"].getDebugName(6)
    builder = FontBuilder(font=font)
    builder.isTTF = False
    builder.setupCFF(ps_name, {"FullName": font["name"].getDebugName(4)}, char_strings, {})
    for tag in ("glyf", "loca", "fpgm", "prep", "cvt ", "gasp", "hdmx", "LTSH", "VDMX"):
        if tag in font:
            del font[tag]
    font["maxp"].tableVersion = 0x00005000
    font.sfntVersion = "OTTO"


def _to_truetype(font: TTFont) -> None:
    """Replace CFF outlines by TrueType ones: MuPDF's font subsetting (run on every
    opinion PDF) breaks CID-keyed CFF fonts, and the CJK font is one."""
    glyphs = font.getGlyphSet()
    order = font.getGlyphOrder()
    outlines = {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        outlines[name] = pen.glyph()
    builder = FontBuilder(font=font)
    builder.isTTF = True
    for tag in ("CFF ", "VORG"):
        if tag in font:
            del font[tag]
    builder.setupGlyf(outlines)
    font["maxp"] = newTable("maxp")
    font["maxp"].tableVersion = 0x00010000
    for attr in (
        "maxZones",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
        "maxPoints",
        "maxContours",
        "maxCompositePoints",
        "maxCompositeContours",
        "maxComponentDepth",
    ):
        setattr(font["maxp"], attr, 0)
    font["maxp"].maxZones = 1
    font["maxp"].numGlyphs = len(order)
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font.sfntVersion = "\x00\x01\x00\x00"


def main(ttf_dir: Path, cjk_ttc: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.copyfile(ttf_dir / name, out / name)
    for style in SERIF:
        font = TTFont(ttf_dir / f"NotoSerif-{style}.ttf")
        _subset(font, set(font.getBestCmap()), ligatures=False)
        font.save(out / f"NotoSerif-{style}.ttf")
    sans = {cp for lo, hi in SANS_RANGES for cp in range(lo, hi + 1)}
    for style in ("Regular", "Bold"):
        font = TTFont(ttf_dir / f"NotoSans-{style}.ttf")
        _subset(font, sans, ligatures=False)
        _to_cff(font)
        font.save(out / f"NotoSans-{style}.otf")
        if style == "Regular":
            # The signature block's font (pyHanko): without layout tables, pyHanko's
            # subsetting at each signature takes a sixth of the time.
            _subset(font, set(font.getBestCmap()), keep_layout=False)
            font.save(out / "NotoSans-Signature.otf")
    if not cjk_ttc.exists():
        return
    collection = TTCollection(cjk_ttc)
    sc = next(f for f in collection.fonts if f["name"].getDebugName(4) == "Noto Sans CJK SC")
    # Horizontal Chinese text needs no OpenType layout (vertical forms, locl variants).
    _subset(sc, _cjk_characters(), keep_layout=False)
    _to_truetype(sc)
    sc.save(out / "NotoSansCJKsc-Regular.ttf")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
