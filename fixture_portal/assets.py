"""Static bytes the portal serves: one small JPEG for every image, a PDF, a stylesheet, a script."""

from __future__ import annotations

import struct


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", marker, len(payload) + 2) + payload


def _jpeg() -> bytes:
    """A valid baseline JPEG: one 8x8 grey block, Huffman tables with a single code each.

    The scan holds one DC difference of category 0 and an end-of-block, each coded as the
    one-bit code '0'; padded with 1-bits that is the byte 0x3F.
    """
    one_code = bytes([1] + [0] * 15) + b"\x00"  # one code of length 1, symbol 0x00
    return b"".join(
        (
            b"\xff\xd8",
            _segment(0xFFE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            _segment(0xFFDB, b"\x00" + bytes([1] * 64)),
            _segment(0xFFC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00"),
            _segment(0xFFC4, b"\x00" + one_code),
            _segment(0xFFC4, b"\x10" + one_code),
            _segment(0xFFDA, b"\x01\x01\x00\x00\x3f\x00"),
            b"\x3f",
            b"\xff\xd9",
        )
    )


def _pdf() -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


JPEG = _jpeg()
PDF = _pdf()
CSS = b"""body{font-family:Arial,Helvetica,sans-serif;color:#222;margin:0}
a{color:#0b5aa2;text-decoration:none}
.site-header,.header{background:#b71c1c;color:#fff}
.widget-area,.col-left{font-size:13px}
.wp-caption-text,.image-desc{font-style:italic;text-align:center}
"""
JS = b"""(function(){document.addEventListener('click',function(e){var t=e.target;
if(t&&t.getAttribute&&t.getAttribute('data-toggle')==='tab'){e.preventDefault();}});})();
"""
