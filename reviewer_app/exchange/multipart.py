"""An incremental ``multipart/related`` parser (RFC 2046 §5.1, RFC 2387) for WADO-RS.

A series can be 500 instances and a gigabyte; the parser is fed the body chunk by chunk
as it arrives and hands back each part as soon as its closing delimiter is seen, so only
one instance is in memory at a time. The body must be well formed: a missing delimiter,
a broken header block, a part over the size limit or a truncated body each raise
:class:`MalformedMultipart` (or :class:`SizeLimitExceeded`) rather than yield a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from reviewer_app.errors import MalformedServerData, SizeLimitExceeded

_WHAT = "multipart response"
# RFC 2046 §5.1.1 bchars; a boundary is 1..70 of them and does not end in a space.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_MAX_HEADER_BLOCK = 16 * 1024
_MAX_PREAMBLE = 64 * 1024


class MalformedMultipart(MalformedServerData):
    """A multipart body that does not follow RFC 2046."""

    def __init__(self, reason: str) -> None:
        super().__init__(_WHAT, "body", reason)


@dataclass(frozen=True)
class Part:
    """One body part: its headers (names lower-cased) and its bytes."""

    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        """The part's media type without parameters, lower-cased ('' if absent)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """Split a Content-Type into its media type and parameters (quoted strings allowed).

    ``multipart/related; type="application/dicom"; boundary="a:b c"`` gives
    ``("multipart/related", {"type": "application/dicom", "boundary": "a:b c"})``.
    """
    media, _, rest = value.partition(";")
    params: dict[str, str] = {}
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " \t;":
            i += 1
        start = i
        while i < n and rest[i] not in "=;":
            i += 1
        name = rest[start:i].strip().lower()
        if i >= n or rest[i] != "=":
            if name:
                params[name] = ""
            continue
        i += 1
        while i < n and rest[i] in " \t":
            i += 1
        if i < n and rest[i] == '"':
            i += 1
            chars = []
            while i < n and rest[i] != '"':
                if rest[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(rest[i])
                i += 1
            if i >= n:
                raise MalformedMultipart("unterminated quoted parameter")
            i += 1
            val = "".join(chars)
        else:
            start = i
            while i < n and rest[i] != ";":
                i += 1
            val = rest[start:i].strip()
        if name:
            params[name] = val
    return media.strip().lower(), params


def boundary_of(content_type: str) -> str:
    """The boundary parameter of a multipart Content-Type, validated."""
    media, params = parse_content_type(content_type)
    if not media.startswith("multipart/"):
        raise MalformedMultipart("not a multipart content type")
    boundary = params.get("boundary")
    if not boundary or not _BOUNDARY.fullmatch(boundary):
        raise MalformedMultipart("missing or invalid boundary")
    return boundary


class MultipartParser:
    """Feed bytes with :meth:`feed`, collect finished parts; call :meth:`close` at the end."""

    _PREAMBLE, _AFTER_DELIMITER, _HEADERS, _BODY, _EPILOGUE = range(5)

    def __init__(self, boundary: str, *, max_part_size: int) -> None:
        if not _BOUNDARY.fullmatch(boundary):
            raise MalformedMultipart("missing or invalid boundary")
        self._dash_boundary = b"--" + boundary.encode("ascii")
        self._delimiter = b"\r\n" + self._dash_boundary
        self._max_part_size = max_part_size
        self._buffer = bytearray()
        self._state = self._PREAMBLE
        self._headers: dict[str, str] = {}
        # In the body state: buffer bytes already known not to start a delimiter.
        self._scanned = 0
        self._parts_seen = 0
        self._preamble_skipped = 0

    def feed(self, chunk: bytes) -> list[Part]:
        """Add bytes; return the parts completed by them (often none, maybe several)."""
        if self._state == self._EPILOGUE:
            return []  # Epilogue: ignored, as RFC 2046 says.
        self._buffer += chunk
        done: list[Part] = []
        while self._step(done):
            pass
        return done

    def close(self) -> None:
        """Declare the end of the body; raise if the closing delimiter never came."""
        if self._state != self._EPILOGUE:
            raise MalformedMultipart("body ended before the closing delimiter")

    def _step(self, done: list[Part]) -> bool:
        """Advance one state; False when more bytes are needed."""
        buf = self._buffer
        if self._state == self._PREAMBLE:
            # The first delimiter may open the body (no CRLF before it) or follow a preamble.
            if self._preamble_skipped == 0:
                if buf.startswith(self._dash_boundary):
                    del buf[: len(self._dash_boundary)]
                    self._state = self._AFTER_DELIMITER
                    return True
                if len(buf) < len(self._dash_boundary) and self._dash_boundary.startswith(buf):
                    return False
            at = buf.find(self._delimiter)
            if at < 0:
                # Keep only what could still be the start of the delimiter.
                drop = len(buf) - (len(self._delimiter) - 1)
                if drop > 0:
                    del buf[:drop]
                    self._preamble_skipped += drop
                if self._preamble_skipped > _MAX_PREAMBLE:
                    raise MalformedMultipart("no delimiter")
                return False
            del buf[: at + len(self._delimiter)]
            self._state = self._AFTER_DELIMITER
            return True

        if self._state == self._AFTER_DELIMITER:
            if len(buf) < 2:
                return False
            if buf[:2] == b"--":
                if self._parts_seen == 0:
                    raise MalformedMultipart("no parts")
                self._state = self._EPILOGUE
                buf.clear()
                return False
            # Transport padding (linear white space) may follow the boundary.
            i = 0
            while i < len(buf) and buf[i] in b" \t":
                i += 1
            if i + 2 > len(buf):
                if i > 998:
                    raise MalformedMultipart("boundary line too long")
                return False
            if buf[i : i + 2] != b"\r\n":
                raise MalformedMultipart("delimiter not followed by CRLF")
            del buf[: i + 2]
            self._state = self._HEADERS
            self._headers = {}
            return True

        if self._state == self._HEADERS:
            if buf.startswith(b"\r\n"):
                # No headers at all: the empty line comes at once.
                del buf[:2]
                self._state = self._BODY
                self._scanned = 0
                return True
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_HEADER_BLOCK:
                    raise MalformedMultipart("part headers too long")
                return False
            self._headers = _parse_headers(bytes(buf[:end]))
            del buf[: end + 4]
            self._state = self._BODY
            self._scanned = 0
            return True

        if self._state == self._BODY:
            # The body stays in the buffer until its delimiter is found, then leaves it in
            # one copy; each search starts where the last one could not have matched, so
            # every byte is scanned about once (a 500 KB instance arrives in ~8 reads).
            at = buf.find(self._delimiter, self._scanned)
            if at < 0:
                self._scanned = max(len(buf) - (len(self._delimiter) - 1), 0)
                if self._scanned > self._max_part_size:
                    raise SizeLimitExceeded("DICOM instance", self._scanned, self._max_part_size)
                return False
            if at > self._max_part_size:
                raise SizeLimitExceeded("DICOM instance", at, self._max_part_size)
            with memoryview(buf) as view:
                body = bytes(view[:at])
            del buf[: at + len(self._delimiter)]
            done.append(Part(self._headers, body))
            self._parts_seen += 1
            self._scanned = 0
            self._state = self._AFTER_DELIMITER
            return True

        return False


def _parse_headers(block: bytes) -> dict[str, str]:
    try:
        text = block.decode("ascii")
    except UnicodeDecodeError as exc:
        raise MalformedMultipart("part headers are not ASCII") from exc
    headers: dict[str, str] = {}
    name = None
    for line in text.split("\r\n"):
        if line[:1] in (" ", "\t") and name is not None:
            headers[name] += " " + line.strip()  # obsolete line folding
            continue
        name_part, sep, value = line.partition(":")
        if not sep or not name_part or name_part != name_part.strip():
            raise MalformedMultipart("malformed part header")
        name = name_part.lower()
        headers[name] = value.strip()
    return headers


def iter_parts(chunks: Iterable[bytes], content_type: str, *, max_part_size: int) -> Iterator[Part]:
    """Parse a streamed multipart body, yielding each part as soon as it is complete."""
    parser = MultipartParser(boundary_of(content_type), max_part_size=max_part_size)
    for chunk in chunks:
        yield from parser.feed(chunk)
    parser.close()
