#!/usr/bin/env python3
"""Builds hubagent_<version>_<arch>.deb from a release binary, without a debian/ source tree
and without the network:

    python3 systemd/debian/build-deb.py [--binary B] [--version V] [--out DIR]

The version defaults to HubAgentVersion.string in Sources/Agent/Status/Version.swift, the one place it
is written down; --version overrides it (a test builds an "upgrade" from the same binary).
Depends: comes from the binary's shared libraries (dpkg-shlibdeps, else ldd + dpkg -S)."""

import argparse
import gzip
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VERSION_SWIFT = os.path.join(ROOT, "Sources", "Agent", "Status", "Version.swift")
DEFAULT_MAINTAINER = "hubagent maintainers <maintainers@users.noreply.r-seed-fe9c3b4b.example>"
# The service, the socket it serves tokens on, and the watch that hands it a new boarding file.
UNITS = [
    "hubagent.service", "hubagent.socket", "hubagent-data.socket", "hubagent-boarding.path", "hubagent-boarding.service"]
EXAMPLES = ["etc/hubagent.conf", "etc/datasources.yaml", "etc/boarding.json.example"]
# ELF e_machine -> Debian architecture, for a binary built for another machine than this one.
ARCHITECTURES = {62: "amd64", 183: "arm64", 40: "armhf", 243: "riscv64", 3: "i386"}


def fail(message):
    sys.exit("build-deb.py: " + message)


def run(*command, **kwargs):
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    if result.returncode != 0:
        fail("%s failed (%d): %s" % (" ".join(command), result.returncode, result.stderr.strip()))
    return result.stdout


def source_version():
    match = re.search(r'static let string = "([^"]+)"', open(VERSION_SWIFT).read())
    if not match:
        fail("no `static let string = \"…\"` in " + VERSION_SWIFT)
    return match.group(1)


def elf_machine(path):
    with open(path, "rb") as f:
        header = f.read(20)
    if header[:4] != b"\x7fELF":
        fail(path + " is not an ELF binary")
    return struct.unpack("<H" if header[5] == 1 else ">H", header[18:20])[0]


def drop_runpath(path):
    """Removes DT_RUNPATH/DT_RPATH from the dynamic section, as `chrpath -d` does: SwiftPM links
    executables with RUNPATH $ORIGIN, which makes the loader search /usr/bin for libraries and
    which Debian forbids (lintian custom-library-search-path)."""
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        is64, endian = data[4] == 2, "<" if data[5] == 1 else ">"
        if is64:
            phoff, phentsize, phnum = (struct.unpack_from(endian + "Q", data, 32)[0],
                                       *struct.unpack_from(endian + "HH", data, 54))
        else:
            phoff, phentsize, phnum = (struct.unpack_from(endian + "I", data, 28)[0],
                                       *struct.unpack_from(endian + "HH", data, 42))
        entry = struct.Struct(endian + ("qQ" if is64 else "iI"))
        for index in range(phnum):
            base = phoff + index * phentsize
            p_type = struct.unpack_from(endian + "I", data, base)[0]
            if p_type != 2:  # PT_DYNAMIC
                continue
            offset, size = (struct.unpack_from(endian + "QQQQ", data, base + 8)[0::3] if is64
                            else struct.unpack_from(endian + "IIII", data, base + 4)[0::3])
            entries = [entry.unpack_from(data, offset + i) for i in range(0, size, entry.size)]
            kept = [e for e in entries if e[0] not in (15, 29)]  # DT_RPATH, DT_RUNPATH
            kept += [(0, 0)] * (len(entries) - len(kept))
            for i, e in enumerate(kept):
                entry.pack_into(data, offset + i * entry.size, *e)
        f.seek(0)
        f.write(data)


def shlib_depends(binary):
    """The Depends: of a binary, from the symbols/shlibs files of the libraries it links."""
    if shutil.which("dpkg-shlibdeps"):
        with tempfile.TemporaryDirectory() as tree:
            # dpkg-shlibdeps insists on a source package's debian/control; a stub serves.
            os.mkdir(os.path.join(tree, "debian"))
            with open(os.path.join(tree, "debian", "control"), "w") as f:
                f.write("Source: hubagent\n\nPackage: hubagent\nArchitecture: any\n")
            result = subprocess.run(["dpkg-shlibdeps", "-O", os.path.abspath(binary)], cwd=tree,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            match = re.search(r"^shlibs:Depends=(.*)$", result.stdout, re.M)
            if result.returncode == 0 and match:
                return match.group(1)
            print("build-deb.py: dpkg-shlibdeps failed, using ldd and dpkg -S:\n" + result.stderr, file=sys.stderr)
    # The libraries the binary names itself (NEEDED), not ldd's transitive closure; ldd only
    # says where each one is.
    needed = re.findall(r"^\s*NEEDED\s+(\S+)", run("objdump", "-p", binary), re.M)
    paths = {}
    for line in run("ldd", binary).splitlines():
        match = re.match(r"\s*(\S+) => (/\S+)", line) or re.match(r"\s*((/\S+)) \(", line)
        if match:
            paths[os.path.basename(match.group(1))] = match.group(2)
    packages = {}
    for soname in needed:
        if soname not in paths:
            fail("ldd does not find %s (pass --depends)" % soname)
        real = os.path.realpath(paths[soname])
        owner = None
        # usrmerge: dpkg may know the file as /lib/… or /usr/lib/….
        for candidate in (paths[soname], real, real[4:] if real.startswith("/usr/") else "/usr" + real):
            result = subprocess.run(["dpkg", "-S", candidate], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            if result.returncode == 0:
                owner = result.stdout.split(":")[0]
                break
        if owner is None:
            fail("no Debian package owns %s (pass --depends)" % paths[soname])
        version = run("dpkg-query", "-W", "-f=${Version}", owner)
        # The upstream part: a later Debian revision of the same release is as good.
        packages[owner] = re.sub(r"^\d+:", "", version).rsplit("-", 1)[0]
    return ", ".join("%s (>= %s)" % (name, packages[name]) for name in sorted(packages))


def build(args):
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        fail("%s is not an executable; build it first (make release)" % binary)
    shipped = run(binary, "version").split()[-1]
    version = args.version or source_version()
    if args.version is None and shipped != version:
        fail("%s says it is %s but Version.swift says %s; rebuild it (make release)" % (binary, shipped, version))
    if not re.fullmatch(r"[0-9][A-Za-z0-9.+~]*", version):
        fail("%r is not a version for a native Debian package" % version)
    arch = args.arch or ARCHITECTURES.get(elf_machine(binary)) or run("dpkg", "--print-architecture").strip()
    maintainer = args.maintainer or DEFAULT_MAINTAINER
    # Reproducible: one timestamp for the changelog, the man page, every file and the archive.
    epoch = os.environ.get("SOURCE_DATE_EPOCH") or subprocess.run(
        ["git", "-C", ROOT, "log", "-1", "--format=%ct"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True).stdout.strip() or str(int(os.stat(VERSION_SWIFT).st_mtime))
    env = dict(os.environ, SOURCE_DATE_EPOCH=epoch)

    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hubagent-deb.") as work:
        root = os.path.join(work, "root")

        def install(source, target, mode):
            path = os.path.join(root, target.lstrip("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            shutil.copyfile(source, path)
            os.chmod(path, mode)
            return path

        def write(target, data, mode=0o644):
            path = os.path.join(root, target.lstrip("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            os.chmod(path, mode)

        doc = "/usr/share/doc/hubagent"
        program = install(binary, "/usr/bin/hubagent", 0o755)
        run(os.environ.get("STRIP", "strip"), "--remove-section=.comment", "--remove-section=.note",
            "--strip-unneeded", program)
        drop_runpath(program)
        for unit in UNITS:
            install(os.path.join(ROOT, "systemd", unit), "/lib/systemd/system/" + unit, 0o644)
        for example in EXAMPLES:
            install(os.path.join(ROOT, example), "%s/examples/%s" % (doc, os.path.basename(example)), 0o644)
        install(os.path.join(HERE, "copyright"), doc + "/copyright", 0o644)
        if os.path.exists(os.path.join(HERE, "lintian-overrides")):
            install(os.path.join(HERE, "lintian-overrides"), "/usr/share/lintian/overrides/hubagent", 0o644)
        date = run("date", "-u", "-R", "-d", "@" + epoch).strip()
        changelog = ("hubagent (%s) stable; urgency=medium\n\n  * Release %s.\n\n -- %s  %s\n"
                     % (version, version, maintainer, date))
        write(doc + "/changelog.gz", gzip.compress(changelog.encode(), 9, mtime=0))
        page = run(sys.executable, os.path.join(HERE, "manpage.py"), "--binary", program, "--version", version, env=env)
        write("/usr/share/man/man8/hubagent.8.gz", gzip.compress(page.encode(), 9, mtime=0))
        # An empty /etc/hubagent for the operator's files. No conffile: every setting has a
        # default and the daemon runs without hubagent.conf (Settings.swift), so the package
        # leaves /etc/hubagent to the operator instead of owning a file of comments there that
        # dpkg would ask about on every upgrade. The example is in the doc directory.
        os.makedirs(os.path.join(root, "etc", "hubagent"))

        control_dir = os.path.join(root, "DEBIAN")
        os.makedirs(control_dir)
        for script in ("postinst", "prerm", "postrm"):
            install(os.path.join(HERE, script), "/DEBIAN/" + script, 0o755)
        sums, size = [], 0
        for directory, dirs, files in os.walk(root):
            dirs.sort()
            if os.path.relpath(directory, root).startswith("DEBIAN"):
                continue
            size += 1
            for name in sorted(files):
                path = os.path.join(directory, name)
                size += (os.path.getsize(path) + 1023) // 1024
                with open(path, "rb") as f:
                    sums.append("%s  %s\n" % (hashlib.md5(f.read()).hexdigest(), os.path.relpath(path, root)))
        write("/DEBIAN/md5sums", "".join(sums).encode())
        depends = args.depends or shlib_depends(program)
        control = open(os.path.join(HERE, "control.in")).read()
        for key, value in (("VERSION", version), ("ARCH", arch), ("MAINTAINER", maintainer),
                           ("INSTALLED_SIZE", str(size)), ("DEPENDS", depends)):
            control = control.replace("@%s@" % key, value)
        write("/DEBIAN/control", control.encode())
        for directory, dirs, files in os.walk(root):
            os.chmod(directory, 0o755)
            for name in dirs + files:
                os.utime(os.path.join(directory, name), (int(epoch), int(epoch)), follow_symlinks=False)
        os.utime(root, (int(epoch), int(epoch)))

        deb = os.path.join(os.path.abspath(args.out), "hubagent_%s_%s.deb" % (version, arch))
        run("dpkg-deb", "--root-owner-group", "-Zxz", "--build", root, deb, env=env)
    print(deb)
    return deb


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "hubagent"),
                        help="the release binary (default: .build/release/hubagent)")
    parser.add_argument("--version", help="package version (default: HubAgentVersion.string)")
    parser.add_argument("--out", default=os.path.join(ROOT, ".build", "deb"), help="output directory (default: .build/deb)")
    parser.add_argument("--arch", help="Debian architecture (default: the binary's)")
    parser.add_argument("--depends", help="Depends: field (default: from the binary's shared libraries)")
    parser.add_argument("--maintainer", default=os.environ.get("DEB_MAINTAINER"),
                        help="Maintainer: field (default: $DEB_MAINTAINER, else the project's)")
    build(parser.parse_args())


if __name__ == "__main__":
    main()
