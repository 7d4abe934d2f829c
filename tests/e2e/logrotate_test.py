#!/usr/bin/env python3
"""Log rotation with the shipped snippet and the real `logrotate -f`, against a running portico
under load: no access-log line may be lost or doubled across the rotation, and after it the
server writes to the new file.

The snippet (conf/portico.logrotate) is used as shipped, with only its paths rewritten into a
temporary directory: the log glob, the config named by `-s reopen`, and the portico binary.

usage: logrotate_test.py PORTICO_BINARY SOURCE_DIR
"""
import glob
import gzip
import http.client
import os
import pwd
import grp
import re
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import Portico, check, finish, read, require, run, wait_until  # noqa: E402

CONFIG = """
master_process = true;
worker_processes = 2;
pid_file = "@DIR@/portico.pid";
error_log = "@DIR@/logs/error.log";
http = { access_log = "@DIR@/logs/access.log"; keepalive_timeout = 30; };
servers = ({ listen = ["127.0.0.1:@PORT@"]; root = "@DIR@/www"; });
"""

CLIENTS = 4
ROTATIONS = 3


class Load:
    """CLIENTS keep-alive clients, each asking for /index.html?c=<client>&n=<count> until told to
    stop; every request answered with 200 is counted, so its log line must exist."""

    def __init__(self, port):
        self.port, self.stop = port, threading.Event()
        self.sent = [0] * CLIENTS
        self.errors = []
        self.threads = [threading.Thread(target=self.client, args=(c,)) for c in range(CLIENTS)]
        for t in self.threads:
            t.start()

    def client(self, c):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        n = 0
        while not self.stop.is_set() or n < 50:
            try:
                conn.request("GET", f"/index.html?c={c}&n={n}")
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    self.errors.append(f"client {c} request {n}: {r.status}")
                    return
            except Exception as e:  # noqa: BLE001 - any failure is a test failure, say which
                self.errors.append(f"client {c} request {n}: {e!r}")
                return
            n += 1
            self.sent[c] = n

    def total(self):
        return sum(self.sent)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)


def snippet_for(source, tmp, binary, config):
    text = read(os.path.join(source, "conf/portico.logrotate"))
    require("/var/log/portico/*.log" in text and "kill -USR1" in text and "/run/portico/portico.pid" in text,
            "the snippet rotates and signals the master by its pid file")
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    text = text.replace("/var/log/portico/", tmp + "/logs/")
    text = text.replace("/run/portico/portico.pid", os.path.join(os.path.dirname(config), "portico.pid"))
    # The shipped owner is www-data:adm; here the test's own user, so the test runs anywhere.
    text = re.sub(r"create 0640 \S+ \S+", f"create 0640 {user} {group}", text)
    path = os.path.join(tmp, "portico.logrotate")
    with open(path, "w") as f:
        f.write(text)
    return path


def error_logs(tmp):
    text = ""
    for path in glob.glob(os.path.join(tmp, "logs/error.log*")):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt") as f:
            text += f.read()
    return text


def logged_requests(logs_dir):
    """Every access-log line of every generation of the log, rotated (.1, .2.gz...) or not."""
    lines = []
    for path in glob.glob(os.path.join(logs_dir, "access.log*")):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt") as f:
            lines += f.read().splitlines()
    return lines


def main():
    binary, source = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    with tempfile.TemporaryDirectory(prefix="portico-logrotate-") as tmp:
        os.makedirs(os.path.join(tmp, "logs"))
        os.makedirs(os.path.join(tmp, "www"))
        with open(os.path.join(tmp, "www/index.html"), "w") as f:
            f.write("<!doctype html><p>rotate me</p>\n")
        server = Portico(binary, tmp, CONFIG, workers=2, error_log="logs/error.log")
        snippet = snippet_for(source, tmp, binary, server.config_path)
        state = os.path.join(tmp, "logrotate.state")
        access = os.path.join(tmp, "logs/access.log")
        load = Load(server.port)
        for i in range(ROTATIONS):
            # Rotate only once there is something new to rotate (notifempty), while the load runs.
            seen = load.total()
            wait_until(lambda: load.total() > seen + 200 and os.path.getsize(access) > 0,
                       "requests logged before a rotation")
            r = run(["logrotate", "-f", "-v", "-s", state, snippet], may_fail=True)
            check(r.returncode == 0, f"logrotate -f exits 0: {r.stderr[-2000:]}")
            # The error log is rotated too: its "reopening" lines may be in any generation of it.
            wait_until(lambda: error_logs(tmp).count("received SIGUSR1, reopening logs") >= i + 1,
                       f"rotation {i + 1}: the master to reopen the logs")
        # After the last rotation, the new access.log fills again (the workers reopened it).
        wait_until(lambda: os.path.exists(access) and os.path.getsize(access) > 0,
                   "the new access.log to be written to")
        load.finish()
        check(not load.errors, f"every request answered: {load.errors[:5]}")
        check(server.stop() == 0, "portico stopped cleanly")
        bad = [l for l in error_logs(tmp).splitlines() if "[error]" in l or "[critical]" in l]
        check(not bad, f"no error in any error log: {bad[:5]}")

        lines = logged_requests(os.path.join(tmp, "logs"))
        found = {}
        for line in lines:
            m = re.search(r'"GET /index.html\?c=(\d+)&n=(\d+) HTTP/1.1" 200 ', line)
            check(m is not None, f"a well-formed line: {line}")
            if m:
                key = (int(m.group(1)), int(m.group(2)))
                found[key] = found.get(key, 0) + 1
        expected = {(c, n) for c in range(CLIENTS) for n in range(load.sent[c])}
        missing = sorted(expected - set(found))
        doubled = sorted(k for k, v in found.items() if v > 1)
        files = sorted(os.path.basename(p) for p in glob.glob(os.path.join(tmp, "logs/access.log*")))
        print(f"{load.total()} requests, {len(lines)} log lines in {files}")
        check(len(files) == ROTATIONS + 1, f"{ROTATIONS} rotations kept beside the live log: {files}")
        check(any(f.endswith(".gz") for f in files), "older generations are compressed")
        check(not missing, f"no line lost: {len(missing)} missing, e.g. {missing[:5]}")
        check(not doubled, f"no line doubled: {doubled[:5]}")
        check(len(lines) == load.total(), "one line per request")
    finish()


if __name__ == "__main__":
    main()
