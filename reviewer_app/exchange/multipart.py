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
        # In the body state, the part's bytes so far, but for the last few, which stay in
        # the buffer as they may begin a delimiter. Pieces are views of the chunks fed
        # (bytes are immutable), so a part is copied once, when it is complete.
        self._pieces: list[bytes | memoryview] = []
        self._held = 0
        self._parts_seen = 0
        self._preamble_skipped = 0

    def feed(self, chunk: bytes) -> list[Part]:
        """Add bytes; return the parts completed by them (often none, maybe several)."""
        if self._state == self._EPILOGUE:
            return []  # Epilogue: ignored, as RFC 2046 says.
        done: list[Part] = []
        if self._state == self._BODY and len(chunk) >= len(self._delimiter):
            rest = self._feed_body(bytes(chunk), done)
            if rest is None:
                return done
            chunk = rest
        self._buffer += chunk
        while self._step(done):
            pass
        return done

    def _feed_body(self, chunk: bytes, done: list[Part]) -> bytes | None:
        """A chunk arriving in a part's body, without copying it into the buffer. Returns
        what follows the part's delimiter, or None if the part goes on."""
        delimiter = self._delimiter
        size = len(delimiter)
        tail = self._buffer  # fewer bytes than a delimiter, left by the last step
        if tail:
            # A delimiter that begins in the tail ends in the chunk's first bytes.
            joint = bytes(tail) + chunk[: size - 1]
            at = joint.find(delimiter)
            if 0 <= at < len(tail):
                self._end_part(joint[:at], done)
                rest = chunk[at + size - len(tail) :]
                tail.clear()
                return rest
        at = chunk.find(delimiter)
        if tail:
            self._keep(bytes(tail))
            tail.clear()
        if at >= 0:
            self._end_part(memoryview(chunk)[:at], done)
            return chunk[at + size :]
        keep = len(chunk) - (size - 1)
        self._keep(memoryview(chunk)[:keep])
        tail += chunk[keep:]
        return None

    def _keep(self, piece: bytes | memoryview) -> None:
        self._held += len(piece)
        if self._held > self._max_part_size:
            raise SizeLimitExceeded("DICOM instance", self._held, self._max_part_size)
        self._pieces.append(piece)

    def _end_part(self, last: bytes | memoryview, done: list[Part]) -> None:
        if self._held + len(last) > self._max_part_size:
            raise SizeLimitExceeded("DICOM instance", self._held + len(last), self._max_part_size)
        self._pieces.append(last)
        done.append(Part(self._headers, b"".join(self._pieces)))
        self._pieces = []
        self._held = 0
        self._parts_seen += 1
        self._state = self._AFTER_DELIMITER

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
                return True
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_HEADER_BLOCK:
                    raise MalformedMultipart("part headers too long")
                return False
            self._headers = _parse_headers(bytes(buf[:end]))
            del buf[: end + 4]
            self._state = self._BODY
            return True

        if self._state == self._BODY:
            at = buf.find(self._delimiter)
            if at < 0:
                # Keep only what could still begin a delimiter in the buffer.
                movable = len(buf) - (len(self._delimiter) - 1)
                if movable > 0:
                    self._keep(bytes(buf[:movable]))
                    del buf[:movable]
                return False
            self._end_part(bytes(buf[:at]), done)
            del buf[: at + len(self._delimiter)]
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
