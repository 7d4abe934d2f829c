"""The client side of the transport tests: Python's ssl module, a real TLS stack other than the
server's. Usage: tls_peer.py MODE PORT CAFILE. Prints "ok" and exits 0 when the server behaved.

echo     wait for b"g", send 1 MiB, wait for a line on stdin (the server has met WANT_WRITE by
         then, since nobody reads), expect the same 1 MiB back, then the server's close_notify
pending  send one 8000-byte record, expect b"k", then close with close_notify both ways
resume   connect, read b"x" (which brings TLS 1.3's ticket), connect again with the session:
         it must be reused. An optional 4th argument "1.2" caps the version at TLS 1.2.
"""
import socket
import ssl
import sys

mode, port, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
context = ssl.create_default_context(cafile=cafile)
context.set_alpn_protocols(["http/1.1"])
if len(sys.argv) > 4 and sys.argv[4] == "1.2":
    context.maximum_version = ssl.TLSVersion.TLSv1_2


def connect(session=None):
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # small, so the server's writes block
    raw.settimeout(30)
    raw.connect(("127.0.0.1", port))
    tls = context.wrap_socket(raw, server_hostname="a.test", suppress_ragged_eofs=False, session=session)
    assert tls.selected_alpn_protocol() == "http/1.1", tls.selected_alpn_protocol()
    return tls


tls = connect()

if mode == "echo":
    data = bytes(range(256)) * 4096
    if tls.recv(1) != b"g":
        sys.exit("no go")
    tls.sendall(data)
    sys.stdin.readline()
    got = bytearray()
    while len(got) < len(data):
        chunk = tls.recv(65536)
        if not chunk:
            sys.exit(f"the server closed after {len(got)} bytes")
        got += chunk
    if bytes(got) != data:
        sys.exit("the echo differs")
    try:
        tail = tls.recv(1)
    except ssl.SSLEOFError:
        sys.exit("EOF without close_notify")
    if tail != b"":
        sys.exit(f"more bytes than sent: {tail!r}")
elif mode == "pending":
    tls.sendall(b"p" * 8000)
    if tls.recv(1) != b"k":
        sys.exit("no answer")
    tls.unwrap()  # our close_notify, then wait for the server's
elif mode == "resume":
    if tls.recv(1) != b"x":
        sys.exit("no x")
    session = tls.session
    tls.close()
    again = connect(session)
    if not again.session_reused:
        sys.exit("the session was not reused")
    if again.recv(1) != b"x":
        sys.exit("no x on the second connection")
else:
    sys.exit(f"unknown mode {mode}")
print("ok")
