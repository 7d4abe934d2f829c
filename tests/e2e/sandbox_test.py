#!/usr/bin/env python3
"""portico under the sandbox of conf/portico.service, without systemd as PID 1.

The unit's settings are read from the unit file and reproduced by hand, in a new network and
mount namespace (unshare) with setpriv:
  CapabilityBoundingSet=   setpriv --bounding-set (the master stays root with only these)
  NoNewPrivileges=yes      setpriv --no-new-privs
  ProtectSystem=strict     / remounted read-only; ReadWritePaths= (logs, pid) bind-mounted writable
  ProtectHome=yes          empty read-only tmpfs over /home and /root
  PrivateTmp=yes           fresh tmpfs over /tmp and /var/tmp
The shipped config (conf/portico.conf) is used with its paths moved into a scratch directory, so
it listens on *:80 (free in the new network namespace) and drops the workers to www-data.
Checked: port 80 is bound and served; the master holds exactly the bounding set and
NoNewPrivs; every worker runs as www-data with no capability at all; -s reload, a log rotation
with -s reopen, and a restart over log files that now belong to www-data all work.
What this cannot exercise: SystemCallFilter=, the Protect{Kernel*,Clock,Hostname,Proc}= and
Restrict*= settings, MemoryDenyWriteExecute= and RuntimeDirectory=/LogsDirectory= (systemd
itself creates those directories); `systemd-analyze verify` checks their syntax (deb_test.py).

usage: sandbox_test.py PORTICO_BINARY SOURCE_DIR
"""
import fcntl
import os
import pwd
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import Portico, check, finish, read, require, run, wait_until  # noqa: E402

CAP_BITS = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7,
            "CAP_NET_BIND_SERVICE": 10}


def unit_settings(source):
    settings = {}
    for line in read(os.path.join(source, "conf/portico.service")).splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings[key] = value
    return settings


def loopback_up():
    """`ip link set lo up` without needing iproute2: SIOCGIFFLAGS, then SIOCSIFFLAGS with IFF_UP."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH", b"lo", 0)))[1]
        fcntl.ioctl(s, 0x8914, struct.pack("16sH", b"lo", flags | 1))


def mount(*args):
    run(["mount", *args])


def status_of(pid):
    fields = {}
    for line in read(f"/proc/{pid}/status").splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def children_of(pid):
    return [int(p) for p in read(f"/proc/{pid}/task/{pid}/children").split()]


def get(path="/"):
    with urllib.request.urlopen(f"http://127.0.0.1:80{path}", timeout=10) as r:
        return r.status, r.read()


def sandbox(top, scratch, settings):
    """The mounts of ProtectSystem=strict, ProtectHome and PrivateTmp, with `scratch` (in /tmp,
    which PrivateTmp hides) bind-mounted writable at `top` (created outside /tmp beforehand)."""
    mount("--make-rprivate", "/")
    mount("--bind", scratch, top)
    for d in ("/tmp", "/var/tmp"):
        mount("-t", "tmpfs", "-o", "mode=1777", "tmpfs", d)
    for d in ("/home", "/root"):
        if os.path.isdir(d):
            mount("-t", "tmpfs", "-o", "ro,mode=000", "tmpfs", d)
    mount("-o", "remount,bind,ro", "/")
    require(settings.get("ProtectSystem") == "strict", "the unit has ProtectSystem=strict")
    try:
        open("/etc/portico-sandbox-probe", "w")
        require(False, "/ is read-only in the sandbox")
    except OSError:
        pass


def inside(binary, source, top, scratch):
    settings = unit_settings(source)
    loopback_up()
    os.chmod(scratch, 0o755)  # as /var/log and /run are: the workers (www-data) must reach the logs
    for d in ("log", "run", "www"):
        os.makedirs(os.path.join(scratch, d))
    with open(os.path.join(scratch, "www/index.html"), "w") as f:
        f.write("<!doctype html><p>sandboxed</p>\n")
    config = read(os.path.join(source, "conf/portico.conf"))
    for old, new in (("/var/log/portico", "@DIR@/log"), ("/run/portico", "@DIR@/run"),
                     ("/var/www/html", "@DIR@/www")):
        require(old in config, f"the shipped config names {old}")
        config = config.replace(old, new)
    config = re.sub(r'worker_processes = "auto";', "worker_processes = 2;", config)
    rw = settings["ReadWritePaths"].split()
    require(rw == ["/var/log/portico", "/run/portico"], f"ReadWritePaths are the logs and the pid: {rw}")
    # A checkout under /tmp (a fresh clone there) vanishes behind PrivateTmp: run a copy of the
    # binary from the scratch directory, which stays reachable at `top`.
    shutil.copy2(binary, os.path.join(scratch, "portico"))
    binary = os.path.join(top, "portico")
    sandbox(top, scratch, settings)

    caps = settings["CapabilityBoundingSet"].split()
    require(all(c in CAP_BITS for c in caps), f"known capabilities: {caps}")
    bounding = ",".join(["-all"] + ["+" + c[4:].lower() for c in caps])
    prefix = ["setpriv", "--bounding-set", bounding, "--inh-caps=-all", "--no-new-privs"]
    require(settings.get("NoNewPrivileges") == "yes", "the unit has NoNewPrivileges=yes")
    www = pwd.getpwnam("www-data")

    server = Portico(binary, top, config, workers=2, error_log="log/error.log", prefix=prefix, port=80)
    check(get()[0] == 200, "port 80 is served")
    master = server.proc.pid
    st = status_of(master)
    mask = sum(1 << CAP_BITS[c] for c in caps)
    check(int(st["CapBnd"], 16) == mask, f"the master's bounding set is {caps}: {st['CapBnd']}")
    check(int(st["CapEff"], 16) == mask, f"the master holds only those: {st['CapEff']}")
    check(st["NoNewPrivs"] == "1", "NoNewPrivs is set")
    workers = children_of(master)
    check(len(workers) == 2, f"two workers: {workers}")
    for w in workers:
        ws = status_of(w)
        check(ws["Uid"].split() == [str(www.pw_uid)] * 4, f"worker {w} runs as www-data: {ws['Uid']}")
        check(int(ws["CapEff"], 16) == 0 and int(ws["CapPrm"], 16) == 0, f"worker {w} holds no capability")

    r = server.ctl("reload")
    check(r.returncode == 0, f"-s reload works in the sandbox: {r.stderr}")
    wait_until(lambda: "reload complete: generation 2" in server.log(), "the reload to complete")
    # Retiring the old generation means signalling processes of another user (CAP_KILL).
    wait_until(lambda: server.log().count("generation 1) exited with code 0") == 2,
               "the old generation to drain and exit", show=server.logs)
    check(get()[0] == 200, "served after the reload")

    # A rotation: rename, reopen; the workers (www-data) must be able to write the new file.
    access = os.path.join(top, "log/access.log")
    os.rename(access, access + ".1")
    check(server.ctl("reopen").returncode == 0, "-s reopen works in the sandbox")
    wait_until(lambda: server.log().count("reopening logs") >= 3, "the master and workers to reopen",
               show=server.logs)
    check(get("/?after-reopen")[0] == 200, "served after the reopen")
    wait_until(lambda: "after-reopen" in read(access), "the request to be logged in the new access.log",
               show=lambda: server.logs() + run(["ls", "-la", os.path.dirname(access)]).stdout + read(access + ".1")[-300:])
    check(os.stat(access).st_uid == www.pw_uid, "the new access.log belongs to www-data")
    check(server.stop() == 0, "a graceful stop exits 0")

    # A restart over logs that belong to www-data now: the master, root without most of root's
    # capabilities, must still open them.
    again = Portico(binary, top, config, workers=2, error_log="log/error.log", prefix=prefix, port=80)
    check(get()[0] == 200, "a restart over the existing logs serves")
    check(again.stop() == 0, "and stops cleanly")
    again.check_clean_logs()
    finish()


def main():
    binary, source = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if len(sys.argv) > 3:  # in the namespaces
        inside(binary, source, sys.argv[3], sys.argv[4])
        return
    if os.geteuid() != 0:
        print("needs root (to bind port 80 and to build the sandbox); skipped")
        sys.exit(77)  # ctest's SKIP_RETURN_CODE: reported as not run, never as passed
    # The writable directory must live outside /tmp (PrivateTmp hides it): an empty mount point
    # under /run, created here and removed at the end; the files stay in /tmp.
    with tempfile.TemporaryDirectory(prefix="portico-sandbox-") as scratch:
        top = tempfile.mkdtemp(prefix="portico-sandbox-", dir="/run")
        try:
            r = subprocess.run(["unshare", "--net", "--mount", "--fork", sys.executable,
                                os.path.abspath(__file__), binary, source, top, scratch], timeout=240)
        finally:
            os.rmdir(top)
        sys.exit(r.returncode)


if __name__ == "__main__":
    main()
