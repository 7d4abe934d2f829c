#!/usr/bin/env python3
"""The Debian package: build it with CPack from the build directory, check its contents, its
Depends: (every shared library the binary needs must come from a package it depends on) and its
conffiles, install it into a temporary root with `dpkg --root`, then check what got installed:
the binary runs, the default config is valid, the unit passes `systemd-analyze verify`, the man
page renders without warnings. lintian, where installed, must report no error.

usage: deb_test.py BUILD_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import check, run, finish  # noqa: E402

EXPECTED = {
    "./usr/sbin/portico": "-rwxr-xr-x",
    "./etc/portico/server.conf": "-rw-r--r--",
    "./etc/logrotate.d/portico": "-rw-r--r--",
    "./lib/systemd/system/portico.service": "-rw-r--r--",
    "./usr/share/man/man8/portico.8.gz": "-rw-r--r--",
    "./usr/share/doc/portico/copyright": "-rw-r--r--",
    "./usr/share/doc/portico/changelog.gz": "-rw-r--r--",
    "./usr/share/portico/html/index.portico-debian.html": "-rw-r--r--",
}


def build_package(build, out):
    run(["cpack", "--config", os.path.join(build, "CPackConfig.cmake"), "-G", "DEB", "-B", out])
    debs = [f for f in os.listdir(out) if f.endswith(".deb")]
    check(len(debs) == 1, f"one .deb built, got {debs}")
    return os.path.join(out, debs[0])


def check_contents(deb):
    listing = run(["dpkg-deb", "-c", deb]).stdout
    files = {}
    for line in listing.splitlines():
        fields = line.split()
        files[fields[5]] = (fields[0], fields[1])
    for path, mode in EXPECTED.items():
        check(path in files, f"{path} is in the package")
        if path in files:
            check(files[path] == (mode, "root/root"), f"{path} is {mode} root/root, not {files[path]}")
    check(not any(p.startswith("./var/www") for p in files), "nothing under /var/www (Debian policy)")
    check(not any(p.startswith("./usr/local") for p in files), "nothing under /usr/local")


def package_of(library_path):
    out = run(["dpkg", "-S", os.path.realpath(library_path)], may_fail=True)
    if out.returncode != 0:  # usrmerge: dpkg knows /lib/x86_64-linux-gnu/..., ldd says /usr/lib/...
        out = run(["dpkg", "-S", os.path.realpath(library_path).replace("/usr/lib/", "/lib/", 1)])
    return out.stdout.split(":")[0]


def check_depends(deb, build):
    depends = run(["dpkg-deb", "-f", deb, "Depends"]).stdout.strip()
    names = {re.split(r"[ (]", d.strip())[0] for d in depends.split(",")}
    print("Depends:", depends)
    check("media-types" in names, "media-types (for /etc/mime.types) is a dependency")
    # Every library the binary is linked against (DT_NEEDED; ldd says where it is) is depended on,
    # by its package's name or by a name that package provides.
    binary = os.path.join(build, "portico")
    needed = re.findall(r"NEEDED\s+(\S+)", run(["objdump", "-p", binary]).stdout)
    where = dict(re.findall(r"^\s*(\S+) => (\S+)", run(["ldd", binary]).stdout, re.M))
    check(len(needed) >= 5, f"the binary's libraries are found: {needed}")
    for lib in needed:
        if lib.startswith(("libasan", "libubsan")):
            continue
        pkg = package_of(where[lib]).split(":")[0]
        provides = run(["dpkg-query", "-W", "-f=${Provides}", pkg]).stdout
        aliases = {pkg} | {re.split(r"[ (]", p.strip())[0] for p in provides.split(",") if p.strip()}
        check(aliases & names, f"{lib} comes from {pkg}, which Depends: names ({sorted(aliases)})")
    conffiles = run(["dpkg-deb", "-I", deb, "conffiles"]).stdout.split()
    check(sorted(conffiles) == ["/etc/logrotate.d/portico", "/etc/portico/server.conf"],
          f"the files under /etc are conffiles: {conffiles}")


def install_into(deb, root):
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates"):
        os.makedirs(os.path.join(root, d))
    open(os.path.join(root, "var/lib/dpkg/status"), "w").close()
    # The empty root has none of the dependencies, and no shell to chroot into for postinst.
    run(["dpkg", "--root=" + root, "--force-depends", "--force-script-chrootless", "--log=/dev/null",
         "-i", deb])
    status = run(["dpkg", "--root=" + root, "-s", "portico"]).stdout
    check("Status: install ok installed" in status, "dpkg reports the package installed")
    check(os.path.isfile(os.path.join(root, "var/www/html/index.portico-debian.html")),
          "postinst created the default document root with its page")
    check(os.path.isdir(os.path.join(root, "var/log/portico")), "postinst created /var/log/portico")


def check_installed(root):
    binary = os.path.join(root, "usr/sbin/portico")
    check(run([binary, "-v"]).stdout.startswith("portico/"), "the installed binary runs")
    # The shipped config, with its absolute paths moved into the temporary root, is valid.
    conf = open(os.path.join(root, "etc/portico/server.conf")).read()
    for must in ('user = "www-data"', 'root = "/var/www/html"', '"/var/log/portico/error.log"',
                 '"/var/log/portico/access.log"', 'pid_file = "/run/portico/portico.pid"'):
        check(must in conf, f"the default config has {must}")
    moved = os.path.join(root, "server.conf")
    with open(moved, "w") as f:
        f.write(conf.replace('"/var/', '"' + root + "/var/"))
    r = run([binary, "-t", "-c", moved], may_fail=True)
    check(r.returncode == 0, f"the default config passes -t: {r.stdout}{r.stderr}")
    # systemd-analyze verify, on the installed unit with its commands pointing into the root.
    unit = open(os.path.join(root, "lib/systemd/system/portico.service")).read()
    for must in ("Type=notify", "ExecReload=/usr/sbin/portico -c /etc/portico/server.conf -s reload",
                 "PIDFile=/run/portico/portico.pid", "ProtectSystem=strict", "NoNewPrivileges=yes"):
        check(must in unit, f"the unit has {must}")
    verify_dir = os.path.join(root, "verify")
    os.makedirs(verify_dir)
    with open(os.path.join(verify_dir, "portico.service"), "w") as f:
        f.write(unit.replace("/usr/sbin/portico", binary))
    r = run(["systemd-analyze", "verify", "--man=no", "portico.service"], cwd=verify_dir, may_fail=True)
    check(r.returncode == 0 and r.stderr.strip() == "", f"systemd-analyze verify is silent: {r.stderr}")
    r = run(["man", "--warnings", "-l", os.path.join(root, "usr/share/man/man8/portico.8.gz")],
            env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0"), may_fail=True)
    text = re.sub(r".\x08", "", r.stdout)  # man's overstrike bold and underline
    check(r.returncode == 0 and "SYNOPSIS" in text and "SIGQUIT" in text,
          f"the man page renders: {r.stderr[:400]}")
    check(r.stderr.strip() == "", f"the man page renders without warnings: {r.stderr[:400]}")


def check_lintian(deb):
    if shutil.which("lintian") is None:
        print("lintian is not installed: skipped")
        return
    r = run(["lintian", deb], may_fail=True)
    errors = [l for l in r.stdout.splitlines() if l.startswith("E:")]
    print(r.stdout)
    check(not errors, f"lintian reports no error: {errors}")


def main():
    build = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="portico-deb-") as tmp:
        deb = build_package(build, os.path.join(tmp, "out"))
        check_contents(deb)
        check_depends(deb, build)
        root = os.path.join(tmp, "root")
        install_into(deb, root)
        check_installed(root)
        check_lintian(deb)
    finish()


if __name__ == "__main__":
    main()
