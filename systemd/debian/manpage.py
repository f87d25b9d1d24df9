#!/usr/bin/env python3
"""Writes hubagent(8) in roff from the binary's own help texts (`hubagent help`, `hubagent help
COMMAND`), so the manual never drifts from the command line:

    python3 systemd/debian/manpage.py --binary .build/release/hubagent > hubagent.8

Only FILES and SEE ALSO are written here: no help text lists them in one place."""

import argparse
import datetime
import os
import re
import subprocess
import sys

FILES = [
    ("/etc/hubagent/boarding.json", "The boarding file downloaded from Asset Manager. hubagent only reads it."),
    ("/etc/hubagent/hubagent.conf", "Optional settings, `key = value` lines, all listed in /usr/share/doc/hubagent/examples/hubagent.conf."),
    ("/etc/hubagent/datasources.yaml", "Optional data source configuration, uploaded whenever it changes."),
    ("/var/lib/hubagent/", "The identity (registration, client secret or RSA key), mode 0700, files 0600."),
    ("/run/hubagent/status.json", "The state, for `hubagent status` and scripts; never a secret."),
    ("/run/hubagent/token.sock", "Access tokens for local programs: `GET /token` over HTTP/1.1."),
    ("/lib/systemd/system/hubagent.service", "The systemd unit: a dynamic user, sandboxed, with a watchdog."),
]
SEE_ALSO = ["systemctl(1)", "journalctl(1)", "systemd.exec(5)"]

# "  --config-dir DIR    text": a term, two or more spaces, its description.
ITEM = re.compile(r"^  (\S.*?)\s{2,}(\S.*)$")


def help_text(binary, *topic):
    result = subprocess.run([binary, "help", *topic], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit("manpage.py: `%s help %s` failed (%d): %s" % (binary, " ".join(topic), result.returncode, result.stderr.strip()))
    return result.stdout.rstrip("\n")


def commands(overview):
    """[(name, synopsis, summary)] from the overview's "Commands:" list."""
    lines = overview.splitlines()
    start = lines.index("Commands:") + 1
    found = []
    for line in lines[start:]:
        match = ITEM.match(line)
        if not match:
            break
        found.append((match.group(1).split()[0], match.group(1), match.group(2)))
    if not found:
        sys.exit("manpage.py: no command list in `hubagent help`")
    return found


def escape(text):
    """Text for roff: backslashes, option dashes, `code` in bold, anything beyond ASCII named."""
    text = text.replace("\\", "\\e")
    text = re.sub(r"(?<![A-Za-z0-9])-", r"\\-", text)
    text = re.sub(r"`([^`]+)`", r"\\fB\1\\fR", text)
    text = "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in text)
    return text


def line(text):
    """A text line: a leading '.' or '\'' would be read as a request."""
    text = escape(text)
    return "\\&" + text if text[:1] in (".", "'") else text


def body(text):
    """roff for a help text without its Usage line: paragraphs, term lists, examples."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        rows = block.splitlines()
        out.append(".PP")
        index = 0
        # Plain lines until the first indented one; "Exit status:" starts a line of its own.
        while index < len(rows) and not rows[index].startswith(" "):
            if index > 0 and re.match(r"(Exit status|Signals):", rows[index]):
                out.append(".br")
            out.append(line(rows[index]))
            index += 1
        rest = rows[index:]
        if not rest:
            continue
        if all(r.startswith("    ") for r in rest):
            out += [".RS", ".nf"] + [line(r.strip()) for r in rest] + [".fi", ".RE"]
            continue
        for row in rest:
            match = ITEM.match(row)
            if match:
                term, description = match.groups()
                words = term.split(" ", 1)
                out += [".TP", "\\fB%s\\fR%s" % (escape(words[0]), " \\fI%s\\fR" % escape(words[1]) if len(words) > 1 else ""),
                        line(description)]
            elif row.startswith("  ") and row.strip():
                out.append(line(row.strip()))
            else:
                raise SystemExit("manpage.py: cannot place help line %r" % row)
    return out


def manpage(binary, version, date):
    overview = help_text(binary)
    summary = overview.splitlines()[0].split(": ", 1)[1].rstrip(".")
    out = ['.TH HUBAGENT 8 "%s" "hubagent %s" "System Administration"' % (date, version),
           ".SH NAME", "hubagent \\- %s" % escape(summary),
           ".SH SYNOPSIS", ".B hubagent", ".I command", "[\\fIoptions\\fR]",
           ".SH DESCRIPTION", ".PP",
           "hubagent onboards this gateway from the boarding file downloaded from Asset Manager, "
           "rotates its credentials before they expire, keeps a fresh access token for local programs "
           "and uploads the data source configuration. systemd runs it as \\fBhubagent.service\\fR.",
           ".SH COMMANDS"]
    for name, synopsis, short in commands(overview):
        text = help_text(binary, name)
        usage, _, rest = text.partition("\n")
        if not usage.startswith("Usage: "):
            sys.exit("manpage.py: `hubagent help %s` does not start with a Usage line" % name)
        out += [".SS %s" % escape(usage[len("Usage: "):])]
        out += body(rest) if rest.strip() else [".PP", line(short)]
    out += [".SH FILES"]
    for path, text in FILES:
        out += [".TP", ".I %s" % path, line(text)]
    out += [".SH SEE ALSO"]
    for index, page in enumerate(SEE_ALSO):
        name, section = page[:-1].split("(")
        out.append(".BR %s (%s)%s" % (name, section, "," if index < len(SEE_ALSO) - 1 else ""))
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True, help="the hubagent binary to ask")
    parser.add_argument("--version", help="version in the page footer (default: `hubagent version`)")
    parser.add_argument("--output", help="file to write (default: stdout)")
    args = parser.parse_args()
    version = args.version or subprocess.run([args.binary, "version"], stdout=subprocess.PIPE, text=True,
                                             check=True).stdout.split()[-1]
    # SOURCE_DATE_EPOCH keeps the page, and so the package, reproducible.
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0")) or None
    when = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc) if epoch else datetime.datetime.now(datetime.timezone.utc)
    text = manpage(os.path.abspath(args.binary), version, when.strftime("%Y-%m-%d"))
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
