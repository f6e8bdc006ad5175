"""A small streaming writer of Excel workbooks (Office Open XML, ECMA-376): what
soart's workbook needs and no more, made for speed and exactness.

Why not a library: openpyxl and XlsxWriter both write a number as '%.16g' (one
significant digit short of a double's 17: 1.2999999999152578e-05 becomes another
number), and both spend some microseconds per cell in Python, minutes for the
30 million cells of a 20,000-item run. Here a number is written as the text it has in
soart's CSV (shortest round-trip form, the exact double) and a whole row of numbers
is one `str.format` call. Text is written inline (`inlineStr`: no shared-string table
to hold in memory), each sheet streamed straight into the zip archive, whose members
carry a fixed time: the same tables make the same bytes. The archive is deflated with
ISA-L (the `isal` package: 3x zlib's speed at its smallest level, for a file as
small) where it is installed, else with zlib.
"""

import re
import struct
import zlib

try:
    from isal import isal_zlib as _deflate
except ImportError:  # a platform without its wheel: zlib, slower, the same format
    _deflate = zlib

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
MAX_ROWS, MAX_COLUMNS = 1_048_576, 16_384
# characters XML 1.0 cannot hold (control characters other than tab, LF, CR)
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
DOS_TIME, DOS_DATE = 0, (1 << 5) | 1  # 1980-01-01 00:00, the zip format's first day
ZIP64_LIMIT = (1 << 32) - 1  # from here on a size or offset goes in a zip64 field
MARK = 0xFFFFFFFF  # in a 32-bit field: "see the zip64 field"


def column_letter(k):
    """1 -> A, 27 -> AA."""
    letters = ""
    while k:
        k, rest = divmod(k - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def escape(text):
    """Text for an XML element or a double-quoted attribute."""
    text = _ILLEGAL.sub("\ufffd", text)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def quoted_sheet(title):
    """A sheet name as a formula or defined name refers to it: 'it''s'."""
    return "'" + title.replace("'", "''") + "'"


class Style:
    """A cell format: font (None, "bold", "italic"), fill colour (RRGGBB or None),
    medium borders (left, top), number format code (None: General), text rotation."""

    __slots__ = ("font", "fill", "left", "top", "number", "rotated")

    def __init__(self, font=None, fill=None, left=False, top=False, number=None,
                 rotated=False):
        self.font, self.fill, self.left, self.top = font, fill, left, top
        self.number, self.rotated = number, rotated

    def key(self):
        return (self.font, self.fill, self.left, self.top, self.number, self.rotated)


class Styles:
    """The workbook's cell formats (each made once, by its key), conditional formats'
    formats (dxf) and number formats; written as xl/styles.xml at the end."""

    FONTS = (None, "bold", "italic")

    def __init__(self):
        self.xfs = {Style().key(): 0}
        self.fills = [None]  # fill 0: none (fill 1, gray125, is Excel's reserved second)
        self.numbers = {}  # format code -> id (from 164, the first custom id)
        self.dxfs = []

    def id(self, style):
        """The index of `style` among the cell formats (None: the default, 0)."""
        if style is None:
            return 0
        key = style.key()
        if key not in self.xfs:
            if style.fill is not None and style.fill not in self.fills:
                self.fills.append(style.fill)
            if style.number is not None:
                self.number_id(style.number)
            self.xfs[key] = len(self.xfs)
        return self.xfs[key]

    def number_id(self, code):
        return self.numbers.setdefault(code, 164 + len(self.numbers))

    def dxf(self, fill=None, number=None):
        """A conditional format's format: a fill colour and/or a number format."""
        parts = ""
        if number is not None:
            parts += (f'<numFmt numFmtId="{self.number_id(number)}" '
                      f'formatCode="{escape(number)}"/>')
        if fill is not None:
            parts += (f'<fill><patternFill><bgColor rgb="FF{fill}"/></patternFill>'
                      f'</fill>')
        self.dxfs.append(f"<dxf>{parts}</dxf>")
        return len(self.dxfs) - 1

    def xml(self):
        numbers = "".join(f'<numFmt numFmtId="{i}" formatCode="{escape(code)}"/>'
                          for code, i in self.numbers.items())
        fonts = "".join(
            f'<font>{"<b/>" if f == "bold" else "<i/>" if f == "italic" else ""}'
            f'<sz val="11"/><name val="Calibri"/><family val="2"/></font>'
            for f in self.FONTS)
        fills = ['<fill><patternFill patternType="none"/></fill>',
                 '<fill><patternFill patternType="gray125"/></fill>']
        fills += [f'<fill><patternFill patternType="solid"><fgColor rgb="FF{c}"/>'
                  f'<bgColor rgb="FF{c}"/></patternFill></fill>' for c in self.fills[1:]]
        medium = '<{0} style="medium"><color rgb="FF000000"/></{0}>'
        borders = [f'<border>{medium.format("left") if left else "<left/>"}<right/>'
                   f'{medium.format("top") if top else "<top/>"}<bottom/><diagonal/>'
                   f'</border>' for left, top in ((False, False), (True, False),
                                                  (False, True), (True, True))]
        xfs = []
        for font, fill, left, top, number, rotated in self.xfs:
            fill_id = 0 if fill is None else self.fills.index(fill) + 1
            number_id = 0 if number is None else self.numbers[number]
            attrs = (f'numFmtId="{number_id}" fontId="{self.FONTS.index(font)}" '
                     f'fillId="{fill_id}" borderId="{2 * top + left}" xfId="0"')
            attrs += "".join(f' {a}="1"' for a, on in (
                ("applyNumberFormat", number), ("applyFont", font),
                ("applyFill", fill), ("applyBorder", left or top),
                ("applyAlignment", rotated)) if on)
            xfs.append(f"<xf {attrs}>" + (
                '<alignment horizontal="center" vertical="bottom" textRotation="90"/>'
                if rotated else "") + "</xf>")
        return (HEAD + f'<styleSheet xmlns="{MAIN}">'
                + (f'<numFmts count="{len(self.numbers)}">{numbers}</numFmts>'
                   if self.numbers else "")
                + f'<fonts count="{len(self.FONTS)}">{fonts}</fonts>'
                + f'<fills count="{len(fills)}">{"".join(fills)}</fills>'
                + f'<borders count="4">{"".join(borders)}</borders>'
                + '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
                  'borderId="0"/></cellStyleXfs>'
                + f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
                + '<cellStyles count="1"><cellStyle name="Normal" xfId="0" '
                  'builtinId="0"/></cellStyles>'
                + f'<dxfs count="{len(self.dxfs)}">{"".join(self.dxfs)}</dxfs>'
                + "</styleSheet>")


class Link(tuple):
    """A cell that opens `target` (a path relative to the workbook, or a URL), showing
    `text`: Excel's HYPERLINK formula, its text cached as the value."""

    def __new__(cls, target, text):
        return super().__new__(cls, (target, text))


def cell(ref, value, style_id=0):
    """One cell's XML: a number (int or float, written exactly: repr), text (inline),
    a Link, or '' for None (an empty cell that keeps its style, else nothing)."""
    s = f' s="{style_id}"' if style_id else ""
    if value is None or value == "":
        return f'<c r="{ref}"{s}/>' if style_id else ""
    if isinstance(value, Link):
        target, text = (v.replace('"', '""') for v in value)
        formula = escape('HYPERLINK("' + target + '","' + text + '")')
        return f'<c r="{ref}"{s} t="str"><f>{formula}</f><v>{escape(value[1])}</v></c>'
    if isinstance(value, str):
        return (f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">'
                f'{escape(value)}</t></is></c>')
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int):
        return f'<c r="{ref}"{s}><v>{value}</v></c>'
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        return f'<c r="{ref}"{s}/>' if style_id else ""  # no number: an empty cell
    return f'<c r="{ref}"{s}><v>{float.__repr__(value)}</v></c>'


class Sheet:
    """One worksheet being written: its head (views, columns) when made, rows as they
    come, conditional formats and page setup at `close`."""

    def __init__(self, book, title, *, widths=(), freeze=None, landscape=True,
                 fit_width=False, print_rows=None, print_columns=None, heights=None):
        self.book, self.title = book, title
        self.index = len(book.sheets)
        self.row_number = 0
        self.rules = []  # (sqref, rule XML without priority)
        self.autofilter = None
        self.landscape, self.fit_width = landscape, fit_width
        self.heights = heights or {}
        self.letters = []
        book.sheets.append(self)
        if print_rows or print_columns:
            refs = []
            if print_columns:
                first, last = print_columns
                refs.append(f"{quoted_sheet(title)}!${first}:${last}")
            if print_rows:
                first, last = print_rows
                refs.append(f"{quoted_sheet(title)}!${first}:${last}")
            book.names.append(("_xlnm.Print_Titles", self.index, ",".join(refs), False))
        self.stream = book.zip.open(f"xl/worksheets/sheet{self.index + 1}.xml")
        head = HEAD + f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
        if fit_width:
            head += '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        view = '<sheetView workbookViewId="0"' + (' tabSelected="1"' if self.index == 0
                                                   else "") + ">"
        if freeze:
            rows, columns = freeze  # rows and columns kept in view
            top_left = f"{column_letter(columns + 1)}{rows + 1}"
            pane = ("bottomRight" if rows and columns else
                    "bottomLeft" if rows else "topRight")
            split = (f' xSplit="{columns}"' if columns else "") + (
                f' ySplit="{rows}"' if rows else "")
            view += (f'<pane{split} topLeftCell="{top_left}" '
                     f'activePane="{pane}" state="frozen"/>'
                     f'<selection pane="{pane}" activeCell="{top_left}" '
                     f'sqref="{top_left}"/>')
        head += f"<sheetViews>{view}</sheetView></sheetViews>"
        head += '<sheetFormatPr defaultRowHeight="15"/>'
        if widths:
            head += "<cols>" + "".join(
                f'<col min="{k}" max="{k}" width="{w:g}" customWidth="1"/>'
                for k, w in enumerate(widths, 1)) + "</cols>"
        self.stream.write((head + "<sheetData>").encode("utf-8"))

    def letter(self, k):
        """The letter of column k (0-based)."""
        while k >= len(self.letters):
            self.letters.append(column_letter(len(self.letters) + 1))
        return self.letters[k]

    def append(self, values, styles=None):
        """A row of values (None: empty), each with its cell format (a Style or None)."""
        self.row_number += 1
        r = self.row_number
        ids = [self.book.styles.id(s) for s in styles] if styles else [0] * len(values)
        cells = "".join(cell(f"{self.letter(k)}{r}", v, i)
                        for k, (v, i) in enumerate(zip(values, ids)))
        height = self.heights.get(r)
        attrs = f' ht="{height:g}" customHeight="1"' if height else ""
        self.write(f'<row r="{r}"{attrs}>{cells}</row>' if cells or attrs else "")

    def skip(self):
        """An empty row."""
        self.row_number += 1

    def write(self, xml):
        if xml:
            self.stream.write(xml.encode("utf-8"))

    def number_row_template(self, first_column, style_ids):
        """A `str.format` template of a row's number cells from column `first_column`
        (0-based), each with its format: format(row number, *number texts)."""
        parts = []
        for j, style_id in enumerate(style_ids):
            s = f' s="{style_id}"' if style_id else ""
            parts.append(f'<c r="{self.letter(first_column + j)}{{0}}"{s}><v>{{{j + 1}}}'
                         f'</v></c>')
        return "".join(parts)

    def conditional(self, sqref, rule):
        """A conditional format over `sqref` ('C3:I12'): `rule` the cfRule's XML with
        {priority} where its priority goes."""
        self.rules.append((sqref, rule))

    def close(self):
        tail = "</sheetData>"
        if self.autofilter:
            tail += f'<autoFilter ref="{self.autofilter}"/>'
            first, last = self.autofilter.split(":")
            ref = (f"{quoted_sheet(self.title)}!${_split(first)[0]}${_split(first)[1]}:"
                   f"${_split(last)[0]}${_split(last)[1]}")
            self.book.names.append(("_xlnm._FilterDatabase", self.index, ref, True))
        for sqref, rule in self.rules:
            self.book.priority += 1
            tail += (f'<conditionalFormatting sqref="{sqref}">'
                     f'{rule.format(priority=self.book.priority)}</conditionalFormatting>')
        tail += ('<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" '
                 'header="0.3" footer="0.3"/>')
        setup = ' orientation="landscape"' if self.landscape else ""
        if self.fit_width:
            setup += ' fitToWidth="1" fitToHeight="0"'
        tail += f"<pageSetup{setup}/></worksheet>"
        self.write(tail)
        self.stream.close()


def _split(ref):
    letters = ref.rstrip("0123456789")
    return letters, ref[len(letters):]


class Book:
    """A workbook written to a binary `stream`: make sheets (written one after another,
    each closed before the next), then close(). `compresslevel` 1: the deflate level
    that costs least."""

    def __init__(self, stream, title="", creator="", compresslevel=1):
        self.zip = Archive(stream, compresslevel)
        self.sheets, self.names, self.styles = [], [], Styles()
        self.priority = 0
        self.title, self.creator = title, creator

    def sheet(self, title, **options):
        if self.sheets and not self.sheets[-1].stream.closed:
            self.sheets[-1].close()
        return Sheet(self, title, **options)

    def _put(self, name, text):
        self.zip.writestr(name, text.encode("utf-8"))

    def close(self):
        if self.sheets and not self.sheets[-1].stream.closed:
            self.sheets[-1].close()
        n = len(self.sheets)
        self._put("[Content_Types].xml", HEAD + (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{k}.xml" '
                      f'ContentType="application/vnd.openxmlformats-officedocument.'
                      f'spreadsheetml.worksheet+xml"/>' for k in range(1, n + 1))
            + '<Override PartName="/xl/styles.xml" ContentType="application/'
              'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
              '<Override PartName="/docProps/core.xml" ContentType="application/'
              'vnd.openxmlformats-package.core-properties+xml"/>'
              '<Override PartName="/docProps/app.xml" ContentType="application/'
              'vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>'))
        self._put("_rels/.rels", HEAD + (
            f'<Relationships xmlns="{PKG_REL}">'
            f'<Relationship Id="rId1" Type="{REL}/officeDocument" '
            f'Target="xl/workbook.xml"/>'
            f'<Relationship Id="rId2" Type="{PKG_REL}/metadata/core-properties" '
            f'Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{REL}/extended-properties" '
            f'Target="docProps/app.xml"/></Relationships>'))
        # no creation or change time: the same tables make the same bytes
        self._put("docProps/core.xml", HEAD + (
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
            'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f'<dc:title>{escape(self.title)}</dc:title>'
            f'<dc:creator>{escape(self.creator)}</dc:creator></cp:coreProperties>'))
        self._put("docProps/app.xml", HEAD + (
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
            'extended-properties"><Application>Microsoft Excel</Application>'
            '</Properties>'))
        hide = ' hidden="1"'
        names = "".join(
            f'<definedName name="{name}" localSheetId="{index}"'
            f'{hide if hidden else ""}>{escape(ref)}</definedName>'
            for name, index, ref, hidden in sorted(self.names, key=lambda n: (n[1], n[0])))
        self._put("xl/workbook.xml", HEAD + (
            f'<workbook xmlns="{MAIN}" xmlns:r="{REL}">'
            '<bookViews><workbookView activeTab="0"/></bookViews><sheets>'
            + "".join(f'<sheet name="{escape(s.title)}" sheetId="{k}" r:id="rId{k}"/>'
                      for k, s in enumerate(self.sheets, 1))
            + "</sheets>" + (f"<definedNames>{names}</definedNames>" if names else "")
            + "</workbook>"))
        self._put("xl/_rels/workbook.xml.rels", HEAD + (
            f'<Relationships xmlns="{PKG_REL}">'
            + "".join(f'<Relationship Id="rId{k}" Type="{REL}/worksheet" '
                      f'Target="worksheets/sheet{k}.xml"/>' for k in range(1, n + 1))
            + f'<Relationship Id="rId{n + 1}" Type="{REL}/styles" Target="styles.xml"/>'
            + "</Relationships>"))
        self._put("xl/styles.xml", self.styles.xml())
        self.zip.close()


# ---- the zip archive -----------------------------------------------------------------
class Archive:
    """A zip archive written forward only (APPNOTE 6.3): members deflated as they are
    written, each with a fixed time; large members in the zip64 form, as Python's
    zipfile writes them."""

    def __init__(self, stream, level=1):
        self.stream, self.level = stream, level
        self.offset = 0
        self.entries = []  # (name, crc, compressed size, size, offset, zip64)

    def _write(self, data):
        self.stream.write(data)
        self.offset += len(data)

    def open(self, name):
        return Member(self, name)

    def writestr(self, name, data):
        member = Member(self, name, zip64=False)
        member.write(data)
        member.close()

    def close(self):
        start = self.offset
        for name, crc, compressed, size, offset, zip64 in self.entries:
            big = [v for v in (size, compressed, offset) if v >= ZIP64_LIMIT]
            extra = b""
            if big:  # the zip64 extra field holds the values that do not fit 32 bits
                fields = [v for v in (size, compressed, offset) if v >= ZIP64_LIMIT]
                extra = struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields)
            raw = name.encode("utf-8")
            version = 45 if big or zip64 else 20
            self._write(struct.pack(
                "<4s6H3L5H2L", b"PK\x01\x02", (3 << 8) | version, version, 0x0808, 8,
                DOS_TIME, DOS_DATE, crc,
                _fit(compressed), _fit(size), len(raw), len(extra), 0, 0, 0, 0o644 << 16,
                _fit(offset)) + raw + extra)
        size, count = self.offset - start, len(self.entries)
        if start >= ZIP64_LIMIT or size >= ZIP64_LIMIT or count >= 0xFFFF:
            end64 = self.offset
            self._write(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count,
                                    count, size, start))
            self._write(struct.pack("<4sLQL", b"PK\x06\x07", 0, end64, 1))
        self._write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, min(count, 0xFFFF),
                                min(count, 0xFFFF), _fit(size), _fit(start), 0))


def _fit(value):
    return MARK if value >= ZIP64_LIMIT else value


class Member:
    """One member being written: its data deflated and checksummed as it comes, its
    sizes in a data descriptor after it (zip64: 8-byte sizes, for any size)."""

    def __init__(self, archive, name, zip64=True):
        self.archive, self.name, self.zip64 = archive, name, zip64
        self.header_offset = archive.offset
        self.crc, self.size, self.compressed = 0, 0, 0
        self.closed = False
        self.engine = _deflate.compressobj(archive.level, _deflate.DEFLATED, -15)
        raw = name.encode("utf-8")
        extra = struct.pack("<HH2Q", 1, 16, 0, 0) if zip64 else b""
        unknown = MARK if zip64 else 0
        archive._write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 45 if zip64 else 20,
                                   0x0808, 8, DOS_TIME, DOS_DATE, 0, unknown, unknown,
                                   len(raw), len(extra)) + raw + extra)

    def write(self, data):
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        out = self.engine.compress(data)
        self.compressed += len(out)
        if out:
            self.archive._write(out)

    def close(self):
        out = self.engine.flush()
        self.compressed += len(out)
        self.archive._write(out)
        self.archive._write(struct.pack("<4sL2Q" if self.zip64 else "<4s3L", b"PK\x07\x08",
                                        self.crc, self.compressed, self.size))
        self.archive.entries.append((self.name, self.crc, self.compressed, self.size,
                                     self.header_offset, self.zip64))
        self.closed = True
