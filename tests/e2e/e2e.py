"""What the end-to-end tests share: checks that count failures, commands with their output, and a
real portico started from its own config on a free port (waiting on its log, never sleeping)."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

_failures = []


def check(ok, what):
    """Records a failed expectation (the test goes on, to report every one) and prints it."""
    if not ok:
        _failures.append(what)
        print("FAILED:", what, file=sys.stderr, flush=True)
    return ok


def require(ok, what):
    """A failed expectation after which nothing else can be checked."""
    if not ok:
        print("FAILED:", what, file=sys.stderr, flush=True)
        sys.exit(1)


def finish():
    """Exits 1 if any check failed, 0 otherwise."""
    if _failures:
        print(f"{len(_failures)} checks failed", file=sys.stderr)
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


def run(argv, may_fail=False, **kw):
    """Runs a command to completion, capturing its output; fails the test if it fails, unless
    may_fail."""
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300, **kw)
    if r.returncode != 0 and not may_fail:
        require(False, f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_head(sock):
    """Reads from `sock` until a blank line ends an HTTP head; returns (head, bytes after it), or
    what came before the peer closed and b""."""
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = sock.recv(4096)
        if not chunk:
            return got, b""
        got += chunk
    head, _, rest = got.partition(b"\r\n\r\n")
    return head, rest


def read_to_close(sock):
    """Reads from `sock` until the peer closes; an error (a timeout, a reset) ends the bytes with
    "<the error>", for the message of a check that then fails."""
    got = b""
    try:
        while True:
            part = sock.recv(65536)
            if not part:
                return got
            got += part
    except OSError as e:
        return got + f"<{e}>".encode()


class RawServer:
    """A TCP server on a free loopback port for tests that need the bytes themselves: each
    accepted connection is served by self.serve(sock) in a thread of its own."""

    def __init__(self, backlog=64):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, sock):
        raise NotImplementedError


def wait_until(predicate, what, limit=30.0, pace=0.02, show=None):
    """Polls a condition no event announces (a log line, a file) until it holds, or fails (with
    show(), if given, in the message)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(pace)
    require(False, f"timed out waiting for {what}" + (f":\n{show()}" if show else ""))


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


class Portico:
    """The real binary under a master, from `config` (with @PORT@ and @DIR@ filled in), in `dir`.
    Construction returns once `workers` workers of generation 1 logged that they are ready in
    `error_log` (relative to `dir`). `prefix` goes before the binary on the command line (setpriv...)."""

    def __init__(self, binary, dir, config, workers=1, error_log="error.log", prefix=(), port=None):
        self.binary, self.dir = binary, dir
        self.port = port or free_port()
        self.config_path = os.path.join(dir, "server.conf")
        self.error_log = os.path.join(dir, error_log)
        with open(self.config_path, "w") as f:
            f.write(config.replace("@PORT@", str(self.port)).replace("@DIR@", dir))
        self.log_start = len(read(self.error_log))  # a restart appends to the previous run's log
        self.out = open(os.path.join(dir, "portico.out"), "w")
        self.proc = subprocess.Popen([*prefix, binary, "-c", self.config_path], stdout=self.out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_until(lambda: self.log().count("generation 1) is ready") >= workers or
                   self.proc.poll() is not None, "the workers to be ready")
        require(self.proc.poll() is None, f"portico exited at start:\n{self.logs()}")

    def log(self):
        """What this run wrote to the error log."""
        return read(self.error_log)[self.log_start:]

    def logs(self):
        return self.log() + read(os.path.join(self.dir, "portico.out"))

    def ctl(self, argv_signal):
        """portico -s NAME against this server's pid file."""
        return run([self.binary, "-c", self.config_path, "-s", argv_signal], may_fail=True)

    def stop(self, sig=signal.SIGQUIT):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.out.close()
        return rc

    def check_clean_logs(self, allowed=()):
        bad = [l for l in self.logs().splitlines()
               if ("[error]" in l or "[critical]" in l or "Sanitizer" in l or "runtime error" in l)
               and not any(a in l for a in allowed)]
        check(not bad, f"no error in the logs: {bad}")
