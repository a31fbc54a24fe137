"""The editor's HTML, reduced to what the opinion PDF may show.

The draft sections come from a QTextEdit (Qt rich-text HTML). Only structure and the
three text styles the editor offers survive: paragraphs, line breaks, bold, italic,
underline, lists, headings and tables. Everything else (styles, fonts, colours, images,
links other than citations, scripts) is dropped, so the PDF shows exactly the text that
was typed and nothing a pasted document smuggled in. Text is escaped again on output.

Scripts: runs of Arabic (right to left) and of Chinese characters are wrapped in spans
that select the matching bundled font, because MuPDF's own fallback fonts lose
characters in text extraction (ligature glyphs without a Unicode mapping); a block whose
first strong character is right-to-left gets ``dir="rtl"``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser

_ARABIC = "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff"
_HEBREW = "\u0590-\u05ff"
_CJK = "\u2e80-\u2fff\u3000-\u30ff\u3100-\u9fff\uf900-\ufaff\uff00-\uffef"
# An Arabic run keeps the spaces, digits and punctuation between its words, so a whole
# phrase is one right-to-left span.
_SCRIPT_RUN = re.compile(
    rf"(?P<ar>[{_ARABIC}]+(?:[\s0-9\u0660-\u0669.,:;!?()\-]+[{_ARABIC}]+)*)|(?P<cjk>[{_CJK}]+)"
)
_STRONG_RTL = re.compile(rf"[{_ARABIC}{_HEBREW}]")
_STRONG_LTR = re.compile(r"[A-Za-z\u00c0-\u024f\u0370-\u052f]")

_BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "td", "th"}
_CONTAINERS = {"ul", "ol"}
# The draft's headings sit below the section titles (h2) of the document.
_HEADINGS = {"h1": "h3", "h2": "h3", "h3": "h4", "h4": "h4"}
_INLINE = {"b": "b", "strong": "b", "i": "i", "em": "i", "u": "u"}
# Content that is never text of the opinion.
_SKIP = {"head", "style", "script", "title", "object", "svg", "math", "template", "iframe"}
_BOLD_STYLE = re.compile(r"font-weight\s*:\s*(bold|[6-9]00)", re.IGNORECASE)
_ITALIC_STYLE = re.compile(r"font-style\s*:\s*italic", re.IGNORECASE)
_UNDERLINE_STYLE = re.compile(r"text-decoration\s*:[^;]*underline", re.IGNORECASE)


def script_spans(text: str) -> str:
    """``text`` escaped, with Arabic and Chinese runs in their font's span."""

    def wrap(match: re.Match[str]) -> str:
        kind = "ar" if match.group("ar") else "cjk"
        return f'<span class="{kind}">{html.escape(match.group(0), quote=False)}</span>'

    out = []
    last = 0
    for match in _SCRIPT_RUN.finditer(text):
        out.append(html.escape(text[last : match.start()], quote=False))
        out.append(wrap(match))
        last = match.end()
    out.append(html.escape(text[last:], quote=False))
    return "".join(out)


def is_rtl(text: str) -> bool:
    """True when the first strong (directional) character is right to left."""
    rtl = _STRONG_RTL.search(text)
    if rtl is None:
        return False
    ltr = _STRONG_LTR.search(text)
    return ltr is None or rtl.start() < ltr.start()


def inline(text: str) -> str:
    """Plain untrusted text as an HTML fragment (escaped, script spans)."""
    return script_spans(text)


def block(tag: str, text: str, css_class: str = "") -> str:
    """Plain untrusted text as one block element, right to left when it reads so."""
    attrs = f' class="{css_class}"' if css_class else ""
    if is_rtl(text):
        attrs += ' dir="rtl"'
    return f"<{tag}{attrs}>{script_spans(text)}</{tag}>"


@dataclass
class Table:
    """A top-level table, kept apart so that the renderer can repeat its header rows on
    every page the table runs over."""

    header: list[str] = field(default_factory=list)  # <tr>…</tr> each
    rows: list[str] = field(default_factory=list)

    def html(self, table_id: int, start: int = 0, stop: int | None = None) -> str:
        """Body rows ``start`` to ``stop``, header first; rows carry ids
        ``t<table_id>r<n>`` (the header ``t<table_id>h``) so the renderer can see on
        which page each one lands."""
        parts = ["<table>"]
        if self.header:
            first = self.header[0].replace("<tr>", f'<tr id="t{table_id}h">', 1)
            parts.append("<thead>" + first + "".join(self.header[1:]) + "</thead>")
        parts.append("<tbody>")
        for index in range(start, len(self.rows) if stop is None else stop):
            parts.append(self.rows[index].replace("<tr>", f'<tr id="t{table_id}r{index}">', 1))
        parts.append("</tbody></table>")
        return "".join(parts)


Block = str | Table


class _Cleaner(HTMLParser):
    """Whitelist walk over the editor's HTML (see module docstring)."""

    def __init__(self, cite: Callable[[str, str], str]) -> None:
        super().__init__(convert_charrefs=True)
        self._cite = cite
        self.blocks: list[Block] = []
        self._out: list[str] = []  # the current top-level block, being built
        self._stack: list[tuple[str, list[str], int]] = []  # (tag, closers, text start)
        self._text: list[str] = []  # plain text of the current block, for direction
        self._skip = 0
        self._table: Table | None = None
        self._in_thead = False
        self._row: list[str] | None = None
        self._row_cells: list[bool] = []  # per cell: is a <th>
        self._anchor: str | None = None  # citation id of the open cite: link

    # -- output helpers --------------------------------------------------------------

    def _sink(self) -> list[str]:
        return self._row if self._row is not None else self._out

    def _emit(self, fragment: str) -> None:
        self._sink().append(fragment)

    def _flush(self) -> None:
        """Close the current top-level block (a paragraph, list, heading)."""
        while self._stack:
            self._close_top()
        text = "".join(self._out).strip()
        if text:
            self.blocks.append(text)
        self._out = []

    def _open(self, tag: str, out_tag: str, closers: list[str]) -> None:
        sink = self._sink()
        sink.append(f"<{out_tag}>")
        # Remember where the start tag is, to add dir="rtl" once the text is known.
        self._stack.append((tag, [*closers, f"@{len(sink) - 1}"], len(self._text)))

    def _close_top(self) -> None:
        tag, closers, text_start = self._stack.pop()
        sink = self._sink()
        position = None
        for closer in closers:
            if closer.startswith("@"):
                position = int(closer[1:])
            else:
                sink.append(closer)
        rtl = tag in _BLOCKS and is_rtl("".join(self._text[text_start:]))
        if rtl and position is not None and position < len(sink):
            sink[position] = sink[position][:-1] + ' dir="rtl">'

    def _close(self, tag: str) -> None:
        if not any(entry[0] == tag for entry in self._stack):
            return
        while self._stack:
            top = self._stack[-1][0]
            self._close_top()
            if top == tag:
                break

    # -- parser callbacks ------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
            return
        if self._skip:
            return
        values = {k: v or "" for k, v in attrs}
        if tag == "br":
            self._emit("<br>")
        elif tag == "table":
            self._start_table()
        elif tag == "thead":
            self._in_thead = True
        elif tag == "tr" and self._table is not None:
            self._end_row()
            self._row = []
            self._row_cells = []
        elif tag in ("td", "th") and self._row is not None:
            self._close_cells()
            self._row_cells.append(tag == "th")
            self._open(tag, tag, [f"</{tag}>"])
        elif tag in _BLOCKS or tag in _CONTAINERS:
            self._start_block(tag)
        elif tag in _INLINE:
            self._open(tag, _INLINE[tag], [f"</{_INLINE[tag]}>"])
        elif tag == "span":
            self._start_span(values.get("style", ""))
        elif tag == "a":
            href = values.get("href", "")
            self._anchor = href[5:] if href.startswith("cite:") else None

    def _start_block(self, tag: str) -> None:
        in_table = self._row is not None
        if tag in _CONTAINERS:
            if not in_table and not any(e[0] in _CONTAINERS for e in self._stack):
                self._flush()
            self._open(tag, tag, [f"</{tag}>"])
            return
        if tag == "li":
            self._close("li")
            self._open(tag, tag, ["</li>"])
            return
        if in_table:
            # A paragraph inside a cell: a line break keeps the cell simple.
            if tag in _HEADINGS:
                self._open(tag, "b", ["</b>"])
            elif any(e[0] in ("p",) for e in self._stack):
                self._close("p")
            return
        if any(e[0] == "li" for e in self._stack):
            # Qt writes list items' text as plain text; a nested paragraph is a break.
            return
        self._flush()
        out = _HEADINGS.get(tag, tag)
        self._open(tag, out, [f"</{out}>"])

    def _start_span(self, style: str) -> None:
        closers: list[str] = []
        opening = ""
        for pattern, name in ((_BOLD_STYLE, "b"), (_ITALIC_STYLE, "i"), (_UNDERLINE_STYLE, "u")):
            if pattern.search(style):
                opening += f"<{name}>"
                closers.insert(0, f"</{name}>")
        sink = self._sink()
        self._stack.append(("span", closers, len(self._text)))
        if opening:
            sink.append(opening)

    def _start_table(self) -> None:
        if self._table is not None:
            return  # nested tables: their cells' text joins the outer cell
        self._flush()
        self._table = Table()

    def _close_cells(self) -> None:
        while any(e[0] in ("td", "th") for e in self._stack):
            self._close_top()

    def _end_row(self) -> None:
        if self._row is None or self._table is None:
            return
        self._close_cells()
        cells = "".join(self._row)
        self._row = None
        if not cells.strip():
            return
        row = f"<tr>{cells}</tr>"
        header = self._in_thead or (
            not self._table.rows and self._row_cells and all(self._row_cells)
        )
        if header and not self._table.rows:
            self._table.header.append(row)
        else:
            self._table.rows.append(row)

    def _end_table(self) -> None:
        self._end_row()
        table = self._table
        self._table = None
        self._in_thead = False
        if table is not None and (table.rows or table.header):
            self.blocks.append(table)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
            return
        if self._skip:
            return
        if tag == "table":
            self._end_table()
        elif tag == "thead":
            self._end_row()
            self._in_thead = False
        elif tag == "tr":
            self._end_row()
        elif tag in ("td", "th"):
            self._close(tag)
        elif tag in _CONTAINERS or tag == "li":
            self._close(tag)
            outermost = not any(e[0] in _CONTAINERS for e in self._stack)
            if tag in _CONTAINERS and outermost and self._row is None:
                self._flush()
        elif tag in _BLOCKS:
            if self._row is not None or any(e[0] == "li" for e in self._stack):
                if tag in _HEADINGS and self._row is not None:
                    self._close(tag)
                elif self._row is not None:
                    self._emit("<br>")
                return
            self._close(tag)
            self._flush()
        elif tag in _INLINE or tag == "span":
            self._close(tag)
        elif tag == "a" and self._anchor is not None:
            if self._anchor:  # a link without text still counts as the citation
                self._emit(self._cite(self._anchor, ""))
            self._anchor = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._anchor is not None:
            # The anchor's own text ("[3]") is the editor's number; the PDF numbers
            # citations in its own reading order.
            self._emit(self._cite(self._anchor, data))
            self._anchor = ""
            return
        if self._anchor == "":
            return
        if self._table is not None and self._row is None:
            return  # whitespace between rows
        if not self._stack and self._table is None and not data.strip():
            return
        self._text.append(data)
        self._emit(script_spans(data))

    def close(self) -> None:
        super().close()
        if self._table is not None:
            self._end_table()
        self._flush()


def clean(body: str, cite: Callable[[str, str], str]) -> list[Block]:
    """The blocks of a section's HTML after the whitelist (see module docstring).

    ``cite(citation_id, anchor_text)`` gives the HTML that replaces a ``cite:`` link.
    """
    cleaner = _Cleaner(cite)
    cleaner.feed(body)
    cleaner.close()
    return cleaner.blocks
