#!/usr/bin/env python3
"""Runs a Python program so that every arm64 program it starts runs under qemu-user, for the
packaging scripts that ask the binary itself (its version, its help texts for the man page):

    python3 packaging/arm64/emulated.py SCRIPT [ARG...]

A started program whose file is an ELF binary for another machine is run as `$QEMU -L $QEMU_ROOT
program ...` (default qemu-aarch64-static and /); a Python program started by SCRIPT runs under
this wrapper too."""

import os
import runpy
import shutil
import struct
import subprocess
import sys

QEMU = os.environ.get("QEMU", "qemu-aarch64-static")
QEMU_ROOT = os.environ.get("QEMU_ROOT", "/")
AARCH64 = 183  # ELF e_machine


def is_arm64(program):
    path = program if os.sep in program else shutil.which(program)
    try:
        with open(path, "rb") as f:
            header = f.read(20)
    except (OSError, TypeError):
        return False
    return header[:4] == b"\x7fELF" and struct.unpack("<H" if header[5] == 1 else ">H", header[18:20])[0] == AARCH64


def rewritten(args):
    if isinstance(args, (str, bytes)) or not args:
        return args
    args = list(args)
    if is_arm64(str(args[0])):
        return [QEMU, "-L", QEMU_ROOT] + args
    if args[0] == sys.executable and len(args) > 1 and str(args[1]).endswith(".py"):
        return [sys.executable, os.path.abspath(__file__)] + args[1:]
    return args


class Popen(subprocess.Popen):
    def __init__(self, args, *rest, **options):
        super().__init__(rewritten(args), *rest, **options)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    subprocess.Popen = Popen
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
