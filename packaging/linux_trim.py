"""Make the Linux bundle smaller: used by reviewer.spec between Analysis and COLLECT.

Each step works on PyInstaller's table of binaries, ``[(dest, src, kind), ...]``, and
returns a new one, so the one-folder and the one-file builds both get it; the files it
changes are copies under the build's work folder (the venv is never touched).

* :func:`without_orphans` drops shared libraries that no kept binary links to: the
  dependencies of the Qt plugins the spec filtered out (the GTK theme's GLib/GIO stack,
  the TLS plugin's Kerberos, EGLFS), which PyInstaller collected before the filter.
* :func:`stripped` removes symbol tables (``strip --strip-unneeded``) from every shared
  library except the ones auditwheel vendored into ``<package>.libs/``: patchelf rewrote
  their headers, and binutils' strip corrupts such files (``import numpy`` then fails).
* :func:`with_small_icu_data` swaps Qt's 32 MB ICU data library for one with only the
  parts Qt Core calls (see ``_icu_item_wanted``).

They need binutils (``readelf``, ``strip``, ``as``, ``ld``), which PyInstaller needs on
Linux anyway; when one is missing the step says so and changes nothing. Measured sizes
and the reasons: docs/packaging.md.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

Entry = tuple[str, str, str]

#: Shared objects PyInstaller's table calls binaries (and Python extension modules).
_LIBRARY_KINDS = ("BINARY", "EXTENSION")


def _tool(name: str) -> str | None:
    path = shutil.which(name)
    if path is None:
        print(f"linux_trim: {name} (binutils) not found; bundle left untrimmed by this step")
    return path


def _is_shared_object(dest: str) -> bool:
    name = Path(dest).name
    return name.endswith(".so") or ".so." in name


def _needed(files: list[str], readelf: str) -> dict[str, list[str]]:
    """The DT_NEEDED names of each file (one readelf run per 200 files)."""
    needed: dict[str, list[str]] = {path: [] for path in files}
    for start in range(0, len(files), 200):
        batch = files[start : start + 200]
        out = subprocess.run(
            [readelf, "--dynamic", "--wide", *batch], capture_output=True, text=True, check=False
        ).stdout
        current = batch[0] if len(batch) == 1 else None
        for line in out.splitlines():
            if line.startswith("File: "):
                current = line[len("File: ") :].strip()
            elif current is not None and "(NEEDED)" in line:
                match = re.search(r"\[(.+)\]", line)
                if match:
                    needed[current].append(match.group(1))
    return needed


def without_orphans(
    binaries: list[Entry], datas: list[Entry]
) -> tuple[list[Entry], list[Entry], list[str]]:
    """``binaries`` without the plain libraries nothing kept links to, ``datas`` without
    PyInstaller's top-level symlinks to them; and their names.

    Roots are the Python extension modules, the Qt plugins, the libraries under a
    package folder and the Python library (the bootloader loads it); a top-level or Qt
    library stays if a root needs it, directly or through another kept library.
    """
    readelf = _tool("readelf")
    if readelf is None:
        return binaries, datas, []
    libraries = {
        dest: src
        for dest, src, kind in binaries
        if kind in _LIBRARY_KINDS and _is_shared_object(dest)
    }

    def candidate(dest: str) -> bool:
        plain = "/" not in dest or dest.startswith("PySide6/Qt/lib/")
        return plain and not Path(dest).name.startswith("libpython")

    kinds = {dest: kind for dest, _, kind in binaries}
    by_name: dict[str, list[str]] = {}
    for dest in libraries:
        by_name.setdefault(Path(dest).name, []).append(dest)
    needed = _needed(list(libraries.values()), readelf)
    roots = [d for d in libraries if kinds[d] == "EXTENSION" or not candidate(d)]
    kept: set[str] = set()
    stack = list(roots)
    while stack:
        dest = stack.pop()
        if dest in kept:
            continue
        kept.add(dest)
        for name in needed.get(libraries[dest], []):
            stack.extend(by_name.get(name, []))
    dropped = sorted(d for d in libraries if d not in kept)
    gone = set(dropped)
    kept_binaries = [entry for entry in binaries if entry[0] not in gone]
    kept_datas = [entry for entry in datas if not (entry[2] == "SYMLINK" and entry[1] in gone)]
    return kept_binaries, kept_datas, dropped


def _auditwheel_vendored(dest: str) -> bool:
    return any(part.endswith(".libs") for part in Path(dest).parts[:-1])


def stripped(binaries: list[Entry], workdir: Path) -> tuple[list[Entry], int]:
    """``binaries`` with stripped copies (made in ``workdir``); and the bytes saved."""
    strip = _tool("strip")
    if strip is None:
        return binaries, 0
    result: list[Entry] = []
    copies: list[Path] = []
    before = 0
    for dest, src, kind in binaries:
        if kind in _LIBRARY_KINDS and _is_shared_object(dest) and not _auditwheel_vendored(dest):
            copy = workdir / "stripped" / dest
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, copy)
            shutil.copymode(src, copy)
            before += copy.stat().st_size
            copies.append(copy)
            result.append((dest, str(copy), kind))
        else:
            result.append((dest, src, kind))
    for start in range(0, len(copies), 100):
        batch = [str(path) for path in copies[start : start + 100]]
        subprocess.run([strip, "--strip-unneeded", *batch], check=True)
    return result, before - sum(path.stat().st_size for path in copies)


# --- ICU data -----------------------------------------------------------------------------

#: Per-locale resource bundles ("de.res", "en_GB.res", "sr_Latn_BA.res").
_LOCALE_BUNDLE = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9]+)*\.res$")
#: Every resource tree keeps these: its root, its index and its shared key pool.
_TREE_CORE = ("root.res", "res_index.res", "pool.res")
#: The code-page tables kept: those of the WHATWG Encoding Standard (what browsers,
#: hence other desktop apps, still produce), plus the base tables three of them extend.
#: The UTF and ISO-2022 converters and Latin-1 are code, not data. Left out: the IBM
#: EBCDIC and other host code pages (half of the 5 MB of tables).
_CONVERTERS = {
    "ibm-866_P100-1995",  # IBM866
    "ibm-912_P100-1995",  # ISO-8859-2
    "ibm-913_P100-2000",
    "ibm-914_P100-1995",
    "ibm-915_P100-1995",
    "ibm-1089_P100-1995",
    "ibm-9005_X110-2007",
    "ibm-5012_P100-1999",
    "ibm-920_P100-1995",
    "iso-8859_10-1998",
    "iso-8859_11-2001",
    "ibm-921_P100-1995",
    "iso-8859_14-1998",
    "ibm-923_P100-1998",
    "iso-8859_16-2001",  # ISO-8859-16
    "ibm-878_P100-1996",  # KOI8-R
    "ibm-1168_P100-2002",  # KOI8-U
    "macos-0_2-10.2",  # macintosh
    "macos-7_3-10.2",  # x-mac-cyrillic
    "windows-874-2000",
    "ibm-5346_P100-1998",  # windows-1250
    "ibm-5347_P100-1998",
    "ibm-5348_P100-1997",
    "ibm-5349_P100-1998",
    "ibm-5350_P100-1998",
    "ibm-9447_P100-2002",
    "ibm-9448_X100-2005",
    "ibm-9449_P100-2002",
    "ibm-5354_P100-1998",  # windows-1258
    "windows-936-2000",  # GBK, on ibm-1386
    "ibm-1386_P100-2001",
    "gb18030",
    "windows-950-2000",  # Big5, on ibm-1373
    "ibm-1373_P100-2002",
    "euc-jp-2007",
    "ibm-943_P15A-2003",  # Shift_JIS
    "jisx-212",  # ISO-2022-JP
    "ibm-5478_P100-1995",
    "ibm-970_P110_P110-2006_U2",  # EUC-KR
    "windows-949-2000",  # on ibm-1363
    "ibm-1363_P11B-1998",
}


def _icu_item_wanted(name: str) -> bool:
    """Whether an item of ICU's data package stays (``name``: "coll/root.res", ...).

    Qt Core calls ICU for code-page converters (QStringConverter: the WHATWG set, see
    ``_CONVERTERS``, and the alias table), collation (QCollator: the root order and its
    tables; per-language tailorings go, Qt falls back to the root order), time-zone
    names and IDs (QTimeZone: the zone data and English names) and locale case mapping
    (no data files). Kept too: the supplemental and normalisation data ICU loads for itself.
    Dropped: everything for formatting and display that Qt takes from its own CLDR
    tables (locales, units, currencies, languages, regions, number spell-out,
    transliteration) and the break-iterator rules and dictionaries (Qt breaks text
    itself).
    """
    if "/" in name:
        tree, leaf = name.split("/", 1)
        if tree == "coll":
            return leaf in _TREE_CORE or leaf == "ucadata.icu" or leaf.startswith("en")
        if tree == "zone":
            english = leaf.startswith("en") and bool(_LOCALE_BUNDLE.match(leaf))
            return leaf in _TREE_CORE or english
        return False
    if name.endswith(".cnv"):
        return name[: -len(".cnv")] in _CONVERTERS
    return name in _TREE_CORE or not _LOCALE_BUNDLE.match(name)


def trim_icu_package(data: bytes) -> tuple[bytes, list[str]]:
    """A copy of an ICU common data package (``icudtNNl.dat``) with only the wanted
    items; and the names of the items kept.

    The format (ICU's ``udata`` "CmnD"): a header of ``headerSize`` bytes, then a count,
    a table of (name offset, data offset) pairs sorted by name (ICU binary-searches
    it), the names, and the items, each 16-byte aligned; offsets count from the end of
    the header.
    """
    header_size, magic1, magic2 = struct.unpack_from("<HBB", data, 0)
    if (magic1, magic2) != (0xDA, 0x27) or data[12:16] != b"CmnD" or data[8] != 0:
        raise ValueError("not a little-endian ICU common data package")
    count = struct.unpack_from("<I", data, header_size)[0]
    table = [struct.unpack_from("<II", data, header_size + 4 + 8 * i) for i in range(count)]
    items = []
    for index, (name_at, data_at) in enumerate(table):
        end = table[index + 1][1] if index + 1 < count else len(data) - header_size
        start = header_size + name_at
        full_name = data[start : data.index(b"\0", start)].decode("ascii")
        items.append((full_name, data[header_size + data_at : header_size + end]))
    # Names are "icudt73l/coll/root.res": the package's own name, then the item's.
    kept = [(n, body) for n, body in items if _icu_item_wanted(n.split("/", 1)[1])]
    names = bytearray()
    name_offsets = []
    table_end = 4 + 8 * len(kept)
    for full_name, _ in kept:
        name_offsets.append(table_end + len(names))
        names += full_name.encode("ascii") + b"\0"
    padding = -(header_size + table_end + len(names)) % 16
    bodies = bytearray()
    data_offsets = []
    first = table_end + len(names) + padding
    for _, body in kept:
        data_offsets.append(first + len(bodies))
        bodies += body + b"\0" * (-len(body) % 16)
    out = bytearray(data[:header_size])
    out += struct.pack("<I", len(kept))
    for name_at, data_at in zip(name_offsets, data_offsets, strict=True):
        out += struct.pack("<II", name_at, data_at)
    out += names + b"\0" * padding + bodies
    return bytes(out), [n for n, _ in kept]


def _icu_package_in(library: Path) -> tuple[str, bytes]:
    """The exported symbol (``icudt73_dat``) and ICU data package of ``libicudata``."""
    version = library.name.split(".so.")[1].split(".")[0]
    symbol = f"icudt{version}_dat"
    readelf = shutil.which("readelf") or "readelf"
    out = subprocess.run(
        [readelf, "--dyn-syms", "--section-headers", "--wide", str(library)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    address = size = None
    sections = []
    for line in out.splitlines():
        fields = line.replace("[ ", "[").split()
        if fields and fields[-1] == symbol and len(fields) >= 8:
            address, size = int(fields[1], 16), int(fields[2], 0)
        elif len(fields) > 6 and fields[0].startswith("[") and fields[2] == "PROGBITS":
            sections.append((int(fields[3], 16), int(fields[4], 16), int(fields[5], 16)))
    if address is None or size is None:
        raise ValueError(f"{library.name} does not export {symbol}")
    for section_address, offset, section_size in sections:
        if section_address <= address < section_address + section_size:
            start = offset + address - section_address
            return symbol, library.read_bytes()[start : start + size]
    raise ValueError(f"{symbol} is in no data section of {library.name}")


def _assemble_library(symbol: str, package: Path, soname: str, out: Path) -> None:
    """A shared library whose only content is ``package``, exported as ``symbol``."""
    source = out.with_suffix(".S")
    source.write_text(
        "\t.section .rodata\n"
        f"\t.globl {symbol}\n"
        f"\t.type {symbol}, @object\n"
        "\t.balign 16\n"
        f"{symbol}:\n"
        f'\t.incbin "{package}"\n'
        f"\t.size {symbol}, . - {symbol}\n"
        '\t.section .note.GNU-stack,"",@progbits\n'
    )
    obj = out.with_suffix(".o")
    subprocess.run(["as", "-o", str(obj), str(source)], check=True)
    subprocess.run(["ld", "-shared", "-soname", soname, "-o", str(out), str(obj)], check=True)


def with_small_icu_data(binaries: list[Entry], workdir: Path) -> tuple[list[Entry], int]:
    """``binaries`` with a trimmed ``libicudata``; and the bytes saved (0: none found)."""
    if _tool("as") is None or _tool("ld") is None:
        return binaries, 0
    result: list[Entry] = []
    saved = 0
    for dest, src, kind in binaries:
        name = Path(dest).name
        if kind == "BINARY" and name.startswith("libicudata.so."):
            try:
                symbol, package = _icu_package_in(Path(src))
                small, _ = trim_icu_package(package)
            except ValueError as error:  # an ICU build laid out otherwise: keep it whole
                print(f"linux_trim: {error}; ICU data left whole")
                result.append((dest, src, kind))
                continue
            folder = workdir / "icu"
            folder.mkdir(parents=True, exist_ok=True)
            data_file = folder / f"{symbol}.dat"
            data_file.write_bytes(small)
            library = folder / name
            _assemble_library(symbol, data_file, name, library)
            saved += Path(src).stat().st_size - library.stat().st_size
            result.append((dest, str(library), kind))
        else:
            result.append((dest, src, kind))
    return result, saved
