"""Strict multipart parsing for the MindConnect exchange (docs/protocol.md §14).

Both framings seen in the field are accepted:
  MCL   CRLF line ends, random 20-character boundaries,
        `Content-Type: multipart/mixed;boundary=<b>;charset=utf-8`, closing `--<b>--` with no
        final line end;
  Node  LF-only lines, fixed boundaries `mindspheremessage` / `mindspherepart`, no space after
        `Content-Type:`, one CRLF before the closing inner boundary, a final LF.

The rule that covers both: the line end (CRLF or LF) in front of a delimiter belongs to the
delimiter (RFC 2046 §5.1.1), header lines end in CRLF or LF. What is not accepted: a preamble,
a missing closing delimiter, anything but line ends after it, a part without Content-Type, an
item that is not a multipart/related of exactly one meta part followed by one payload part.
"""

import re

META_TYPE = "application/vnd.siemens.mindsphere.meta+json"
# RFC 2046 bchars, 1..70 characters
_BOUNDARY = re.compile(r"^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class MultipartError(ValueError):
    """The body is not well formatted: the exchange answers 400."""


def parse_content_type(value):
    """(media type in lower case, {parameter name in lower case: value}). Parameters are
    separated by ';' with optional whitespace; values may be quoted."""
    if value is None:
        raise MultipartError("Content-Type is missing.")
    pieces = value.split(";")
    media = pieces[0].strip().lower()
    if "/" not in media or not all(_TOKEN.match(p) for p in media.split("/", 1)):
        raise MultipartError("Content-Type %r is not a media type." % value)
    params = {}
    for piece in pieces[1:]:
        piece = piece.strip()
        if not piece:
            continue
        name, sep, val = piece.partition("=")
        name = name.strip().lower()
        if not sep or not _TOKEN.match(name):
            raise MultipartError("Content-Type parameter %r is malformed." % piece)
        val = val.strip()
        if len(val) >= 2 and val[0] == val[-1] == '"':
            val = val[1:-1]
        params[name] = val
    return media, params


def boundary_of(content_type, expected_media):
    media, params = parse_content_type(content_type)
    if media != expected_media:
        raise MultipartError("Content-Type must be %s, not %s." % (expected_media, media))
    boundary = params.get("boundary")
    if not boundary:
        raise MultipartError("Content-Type %s has no boundary." % media)
    if not _BOUNDARY.match(boundary):
        raise MultipartError("boundary %r is not a valid multipart boundary." % boundary)
    return boundary


def _line_end(body, pos):
    """Length of the line end at pos (2 for CRLF, 1 for LF), or 0."""
    if body.startswith(b"\r\n", pos):
        return 2
    if body.startswith(b"\n", pos):
        return 1
    return 0


def _skip_padding(body, pos):
    while pos < len(body) and body[pos:pos + 1] in (b" ", b"\t"):
        pos += 1
    return pos


def split_parts(body, boundary, what):
    """The raw parts (headers + content) of a multipart body, and the line style seen
    ("crlf", "lf" or "mixed")."""
    dash = b"--" + boundary.encode("ascii")
    if not body.startswith(dash):
        raise MultipartError("%s does not start with its boundary delimiter." % what)
    parts, styles = [], set()
    pos = len(dash)
    while True:
        # after a delimiter: "--" closes; otherwise optional padding and a line end
        if body.startswith(b"--", pos):
            rest = body[pos + 2:]
            if rest.strip(b"\r\n"):
                raise MultipartError("%s has data after its closing delimiter." % what)
            if rest:
                styles.add("crlf" if rest.startswith(b"\r\n") else "lf")
            break
        pos = _skip_padding(body, pos)
        end = _line_end(body, pos)
        if not end:
            raise MultipartError("%s: a boundary delimiter is not followed by a line end." % what)
        styles.add("crlf" if end == 2 else "lf")
        start = pos + end
        # the next delimiter: a line end, then dash-boundary
        search = start
        while True:
            found = body.find(b"\n" + dash, search)
            if found < 0:
                raise MultipartError("%s has no closing boundary delimiter." % what)
            after = found + 1 + len(dash)
            tail = body[after:after + 2]
            # a delimiter is followed by "--", padding or a line end, never by more bchars
            if tail == b"--" or tail[:1] in (b"\r", b"\n", b" ", b"\t"):
                break
            search = found + 1
        content_end = found
        if content_end > start and body[content_end - 1:content_end] == b"\r":
            content_end -= 1
        styles.add("crlf" if content_end != found else "lf")
        parts.append(body[start:content_end])
        pos = after
    if not parts:
        raise MultipartError("%s has no parts." % what)
    return parts, _style(styles)


def _style(styles):
    if styles == {"crlf"}:
        return "crlf"
    if styles == {"lf"}:
        return "lf"
    return "mixed"


def parse_part(raw, what):
    """(headers {lower-case name: value}, content bytes, line style) of one part."""
    headers, styles, pos = {}, set(), 0
    while True:
        end = raw.find(b"\n", pos)
        if end < 0:
            raise MultipartError("%s: headers are not terminated by an empty line." % what)
        line = raw[pos:end]
        if line.endswith(b"\r"):
            line = line[:-1]
            styles.add("crlf")
        else:
            styles.add("lf")
        pos = end + 1
        if not line:
            break
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            raise MultipartError("%s: a header line is not ASCII." % what)
        name, sep, value = text.partition(":")
        if not sep or not _TOKEN.match(name):
            raise MultipartError("%s: header line %r is malformed." % (what, text))
        headers[name.lower()] = value.strip()
    if "content-type" not in headers:
        raise MultipartError("%s has no Content-Type." % what)
    return headers, raw[pos:], _style(styles)


def parse_exchange(content_type, body):
    """The items of an exchange body: a list of dicts {meta (bytes), payload_type (lower-case
    media type), payload (bytes)}, and the line style ("crlf", "lf" or "mixed")."""
    boundary = boundary_of(content_type, "multipart/mixed")
    raw_items, style = split_parts(body, boundary, "the multipart/mixed body")
    styles = {style}
    items = []
    for i, raw in enumerate(raw_items):
        what = "item %d" % i
        headers, content, hstyle = parse_part(raw, what)
        styles.add(hstyle)
        sub = boundary_of(headers["content-type"], "multipart/related")
        if sub == boundary:
            raise MultipartError("%s reuses the outer boundary." % what)
        raw_parts, pstyle = split_parts(content, sub, what + " (multipart/related)")
        styles.add(pstyle)
        if len(raw_parts) != 2:
            raise MultipartError("%s must hold a meta part and a payload part (got %d parts)."
                                 % (what, len(raw_parts)))
        meta_headers, meta, mstyle = parse_part(raw_parts[0], what + " meta part")
        payload_headers, payload, ystyle = parse_part(raw_parts[1], what + " payload part")
        styles.update((mstyle, ystyle))
        media, _ = parse_content_type(meta_headers["content-type"])
        if media != META_TYPE:
            raise MultipartError("%s: the first part must be %s, not %s."
                                 % (what, META_TYPE, media))
        payload_media, _ = parse_content_type(payload_headers["content-type"])
        items.append({"meta": meta, "payload_type": payload_media, "payload": payload})
    flat = set()
    for s in styles:
        flat.update(("crlf", "lf") if s == "mixed" else (s,))
    return items, _style(flat)
