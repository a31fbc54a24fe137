"""The streaming multipart/related parser (RFC 2046), fed in every possible split."""

from __future__ import annotations

import random

import pytest

from reviewer_app.errors import SizeLimitExceeded
from reviewer_app.exchange.multipart import (
    MalformedMultipart,
    MultipartParser,
    Part,
    boundary_of,
    iter_parts,
    parse_content_type,
)

BOUNDARY = "b0und:ary=x"
PARTS = [b"first \r\n-- not a boundary", b"", b"\r\n--b0und:ary=", b"last\r\n"]


def _body(preamble: bytes = b"", epilogue: bytes = b"", padding: bytes = b"") -> bytes:
    out = preamble + (b"\r\n" if preamble else b"")
    for i, data in enumerate(PARTS):
        out += b"--" + BOUNDARY.encode() + padding + b"\r\n"
        out += f"Content-Type: application/dicom\r\nX-Index: {i}\r\n\r\n".encode()
        out += data + b"\r\n"
    return out + b"--" + BOUNDARY.encode() + b"--" + epilogue


def _parse(chunks: list[bytes], limit: int = 1000) -> list[Part]:
    parser = MultipartParser(BOUNDARY, max_part_size=limit)
    got: list[Part] = []
    for chunk in chunks:
        got += parser.feed(chunk)
    parser.close()
    return got


def _check(parts: list[Part]) -> None:
    assert [p.body for p in parts] == PARTS
    assert [p.headers["x-index"] for p in parts] == ["0", "1", "2", "3"]
    assert all(p.content_type == "application/dicom" for p in parts)


@pytest.mark.parametrize(
    ("preamble", "epilogue", "padding"),
    [(b"", b"", b""), (b"This is a preamble --b0und", b"\r\nepilogue --b0und:ary=x\r\n", b" \t")],
)
def test_every_split_position_gives_the_same_parts(
    preamble: bytes, epilogue: bytes, padding: bytes
) -> None:
    body = _body(preamble, epilogue, padding)
    _check(_parse([body]))
    for cut in range(len(body) + 1):
        _check(_parse([body[:cut], body[cut:]]))
    for cut in range(1, len(body) - 1, 7):
        _check(_parse([body[:cut], body[cut : cut + 5], body[cut + 5 :]]))


def test_byte_by_byte_yields_each_part_as_soon_as_its_delimiter_arrives() -> None:
    body = _body()
    parser = MultipartParser(BOUNDARY, max_part_size=1000)
    first_part_end = body.index(b"\r\n--" + BOUNDARY.encode(), body.index(PARTS[0]))
    seen_at = None
    for i in range(len(body)):
        if parser.feed(body[i : i + 1]) and seen_at is None:
            seen_at = i
    parser.close()
    # The first part is complete once its delimiter and the following CRLF are in.
    assert seen_at is not None
    assert seen_at < first_part_end + len(BOUNDARY) + 6 + 2


def test_part_without_headers() -> None:
    body = b"--" + BOUNDARY.encode() + b"\r\n\r\nDATA\r\n--" + BOUNDARY.encode() + b"--"
    (part,) = _parse([body])
    assert part.headers == {}
    assert part.body == b"DATA"
    assert part.content_type == ""


def test_folded_header() -> None:
    body = (
        b"--x\r\nContent-Type: application/dicom;\r\n transfer-syntax=1.2.840.10008.1.2.1\r\n"
        b"\r\nDATA\r\n--x--"
    )
    parser = MultipartParser("x", max_part_size=100)
    (part,) = parser.feed(body)
    _, params = parse_content_type(part.headers["content-type"])
    assert params == {"transfer-syntax": "1.2.840.10008.1.2.1"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"--x\r\nContent-Type: a\r\n\r\nDATA", "closing delimiter"),
        (b"--x\r\nContent-Type: a\r\n\r\nDATA\r\n--x", "closing delimiter"),
        (b"--xjunk\r\n\r\nDATA\r\n--x--", "CRLF"),
        (b"--x\r\nno colon here\r\n\r\nDATA\r\n--x--", "malformed part header"),
        (b"--x\r\nBad\xff: h\r\n\r\nDATA\r\n--x--", "ASCII"),
        (b"--x--", "no parts"),
        (b"no boundary anywhere", "closing delimiter"),
        (b"", "closing delimiter"),
    ],
)
def test_malformed_bodies_raise(body: bytes, reason: str) -> None:
    parser = MultipartParser("x", max_part_size=100)
    with pytest.raises(MalformedMultipart, match=reason) as caught:
        parser.feed(body)
        parser.close()
    assert caught.value.resource == "multipart response"


def test_endless_preamble_and_headers_are_refused() -> None:
    parser = MultipartParser("x", max_part_size=100)
    with pytest.raises(MalformedMultipart, match="no delimiter"):
        for _ in range(100):
            parser.feed(b"y" * 1024)
    parser = MultipartParser("x", max_part_size=100)
    parser.feed(b"--x\r\n")
    with pytest.raises(MalformedMultipart, match="headers too long"):
        for _ in range(20):
            parser.feed(b"H: " + b"v" * 1024)


def test_part_over_the_limit_is_refused_while_streaming() -> None:
    parser = MultipartParser("x", max_part_size=10)
    parser.feed(b"--x\r\n\r\n")
    with pytest.raises(SizeLimitExceeded):
        parser.feed(b"0123456789ABCDEF" * 4)


@pytest.mark.parametrize(
    ("header", "boundary"),
    [
        ('multipart/related; type="application/dicom"; boundary="a:b c"', "a:b c"),
        ("Multipart/Related; boundary=plain-token; type=application/dicom", "plain-token"),
        ('multipart/related;boundary="q\\"uo"', None),  # '"' is not a boundary char
        ("multipart/related; type=application/dicom", None),
        ("application/dicom; boundary=x", None),
        ('multipart/related; boundary="' + "x" * 71 + '"', None),
        ('multipart/related; boundary="ends with space "', None),
        ('multipart/related; boundary="unterminated', None),
    ],
)
def test_boundary_parameter(header: str, boundary: str | None) -> None:
    if boundary is None:
        with pytest.raises(MalformedMultipart):
            boundary_of(header)
    else:
        assert boundary_of(header) == boundary


def test_iter_parts_is_lazy() -> None:
    body = _body()
    fed: list[int] = []

    def chunks():  # type: ignore[no-untyped-def]
        for i in range(0, len(body), 16):
            fed.append(i)
            yield body[i : i + 16]

    parts = iter_parts(chunks(), f'multipart/related; boundary="{BOUNDARY}"', max_part_size=99)
    next(parts)
    assert len(fed) < len(body) // 16  # the first part came before the whole body was read
    assert [p.body for p in parts] == PARTS[1:]


def test_large_parts_in_chunks_of_every_size_come_out_whole() -> None:
    # Bodies full of near-delimiters ("\r\n--b0und:ary" without the last character, and
    # its prefixes) cut into random chunks: the ones that straddle a chunk boundary and
    # the real delimiter at every offset within a chunk.
    rng = random.Random(7)
    near = [b"\r\n--b0und:ary"[:n] for n in range(1, 14)]
    bodies = [
        b"".join(rng.choice([*near, rng.randbytes(rng.randrange(1, 300))]) for _ in range(400))
        for _ in range(6)
    ]
    stream = b"".join(
        b"--" + BOUNDARY.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + b + b"\r\n"
        for b in bodies
    )
    stream += b"--" + BOUNDARY.encode() + b"--\r\n"
    for _ in range(40):
        parser = MultipartParser(BOUNDARY, max_part_size=1 << 20)
        got: list[Part] = []
        at = 0
        while at < len(stream):
            size = rng.choice([1, 2, 14, 15, 16, rng.randrange(1, 70_000)])
            got += parser.feed(stream[at : at + size])
            at += size
        parser.close()
        assert [p.body for p in got] == bodies
