#!/usr/bin/python3
"""The default site (www/) in a real browser: headless Chromium, driven through the DevTools
protocol, loads it through portico. Asserted:
  - no request failed, every response is 200, 206 or 304, and the page logged no console error
    and threw no exception;
  - the page completed: its web font loaded and its video became playable (window.siteReady);
  - the video came in byte ranges: every response for it is a 206 to a Range request;
  - a reload revalidates: the document (at least) is asked for again with If-None-Match and
    answered 304, and nothing is fetched whole again;
  - a screenshot that is not blank, kept as a test artifact.

usage: browser_test.py PORTICO_BINARY SOURCE_DIR ARTIFACT_DIR
"""
import asyncio
import base64
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import urllib.request
import json
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import Portico, check, finish, read, require, wait_until  # noqa: E402
from cdp import DevTools  # noqa: E402

CONFIG = """
master_process = true;
worker_processes = 2;
error_log = "@DIR@/error.log";
http = { access_log = "@DIR@/access.log"; };
servers = ({ listen = ["127.0.0.1:@PORT@"]; root = "@WWW@"; index = ["index.html"]; });
"""

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--mute-audio", "--window-size=1024,900",
                  "--remote-debugging-port=0", "--remote-allow-origins=*"]


def png_pixels(data):
    """Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes) into rows of bytes."""
    require(data[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            require(depth == 8 and colour in (2, 6) and interlace == 0, "an 8-bit RGB(A) PNG")
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def colours(png):
    width, height, bpp, rows = png_pixels(png)
    seen = set()
    for row in rows[::4]:
        for x in range(0, width * bpp, bpp * 4):
            seen.add(row[x:x + 3])
    return width, height, seen


class Browser:
    def __init__(self, tmp):
        self.profile = os.path.join(tmp, "profile")
        self.log = open(os.path.join(tmp, "chromium.log"), "w")
        self.proc = subprocess.Popen([shutil.which("chromium"), *CHROMIUM_FLAGS,
                                      "--user-data-dir=" + self.profile, "about:blank"],
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        active = os.path.join(self.profile, "DevToolsActivePort")
        wait_until(lambda: len(read(active).splitlines()) >= 2 or self.proc.poll() is not None,
                   "Chromium's DevTools port", limit=60)
        require(self.proc.poll() is None, "Chromium started:\n" + read(self.log.name)[-3000:])
        self.port = int(read(active).splitlines()[0])

    def page_url(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=10) as r:
            pages = [t for t in json.load(r) if t["type"] == "page"]
        require(pages, "Chromium has a page")
        return pages[0]["webSocketDebuggerUrl"]

    def stop(self):
        # Chromium's helpers (zygote, renderer, GPU) may outlive the browser process for a moment
        # and keep writing into the profile: end the whole session we started, then wait until none
        # of its processes is left, so removing the profile cannot race them.
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        wait_until(lambda: not session_alive(self.proc.pid), "Chromium's helpers exited", limit=20)
        self.log.close()


def session_alive(sid):
    """Whether any process of session `sid` (one we started with start_new_session) still runs."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = read(f"/proc/{entry}/stat").rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 4 and int(fields[4]) == sid and fields[0] != "Z":
            return True
    return False


def requests_since(dt, start):
    """The page's requests from event `start` on, each a dict: url; headers (as sent on the wire
    where it went there); wire, the statuses portico answered (the ...ExtraInfo events, which
    fire only for what crossed the network: Network.responseReceived reports a revalidated
    response's cached 200, not the 304); cached, if the browser's cache answered; failed."""
    by_id = {}
    for p in dt.named("Network.requestWillBeSent", start):
        by_id.setdefault(p["requestId"], {"url": p["request"]["url"], "headers": p["request"]["headers"],
                                          "wire": [], "wire_headers": [], "cached": False, "failed": None,
                                          "responded": False})
    for p in dt.named("Network.requestWillBeSentExtraInfo", start):
        if p["requestId"] in by_id:
            by_id[p["requestId"]]["headers"] = {**by_id[p["requestId"]]["headers"], **p["headers"]}
    for p in dt.named("Network.responseReceivedExtraInfo", start):
        if p["requestId"] in by_id:
            by_id[p["requestId"]]["wire"].append(p["statusCode"])
            by_id[p["requestId"]]["wire_headers"].append(p["headers"])
    for p in dt.named("Network.requestServedFromCache", start):
        if p["requestId"] in by_id:
            by_id[p["requestId"]]["cached"] = True
    for p in dt.named("Network.responseReceived", start):
        if p["requestId"] in by_id:
            r = by_id[p["requestId"]]
            r["responded"] = True
            r["cached"] |= bool(p["response"].get("fromDiskCache") or p["response"].get("fromMemoryCache"))
    for p in dt.named("Network.loadingFailed", start):
        if p["requestId"] in by_id:
            by_id[p["requestId"]]["failed"] = p.get("errorText", "?")
    return list(by_id.values())


def summary(reqs):
    return {r["url"]: r["wire"] or ("cache" if r["cached"] else "?") for r in reqs}


def header(headers, name):
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v
    return None


def check_console(dt):
    errors = [p for p in dt.named("Runtime.consoleAPICalled") if p["type"] in ("error", "assert")]
    errors += [p["entry"] for p in dt.named("Log.entryAdded") if p["entry"]["level"] == "error"]
    exceptions = dt.named("Runtime.exceptionThrown")
    check(not errors, f"no console error: {errors[:3]}")
    check(not exceptions, f"no exception: {exceptions[:3]}")


async def load(dt, url, reload=False):
    start = len(dt.events)
    if reload:
        await dt.send("Page.reload", ignoreCache=False)
    else:
        await dt.send("Page.navigate", url=url)
    await dt.wait_event("Page.loadEventFired", start, timeout=60)
    r = await dt.send("Runtime.evaluate", expression="window.siteReady", awaitPromise=True,
                      returnByValue=True, timeout=60)
    check("exceptionDetails" not in r, f"the page completed: {r.get('exceptionDetails')}")
    # Let the network settle: the video may still be fetching its remaining ranges.
    await dt.send("Runtime.evaluate", expression="new Promise(r => setTimeout(r, 500))",
                  awaitPromise=True)
    return start


async def scenario(server, artifacts):
    url = f"http://127.0.0.1:{server.port}/"
    with tempfile.TemporaryDirectory(prefix="portico-chromium-") as tmp:
        browser = Browser(tmp)
        try:
            dt = await DevTools.connect(browser.page_url())
            for domain in ("Network", "Page", "Runtime", "Log"):
                await dt.send(domain + ".enable")
            first = await load(dt, url)
            reqs = requests_since(dt, first)
            statuses = summary(reqs)
            print("first load:", json.dumps(statuses))
            for r in reqs:
                check(r["failed"] is None, f"{r['url']} did not fail ({r['failed']})")
                check(r["wire"] and all(s in (200, 206) for s in r["wire"]), f"{r['url']}: {r['wire']}")
            for path in ("", "style.css", "js/site.js", "fonts/portico-sans.woff", "img/portico.svg",
                         "img/poster.jpg", "media/portico.mp4"):
                check(url + path in statuses, f"the page loaded /{path}")
            video = [r for r in reqs if r["url"].endswith("/media/portico.mp4")]
            check(video and all(r["wire"] for r in video), "the video was fetched")
            for r in video:
                check(header(r["headers"], "Range") is not None,
                      f"the video was asked for with Range: {r['headers']}")
                check(r["wire"] and all(s == 206 for s in r["wire"]), f"the video is answered 206: {r['wire']}")
                for h in r["wire_headers"]:
                    check((header(h, "Content-Range") or "").startswith("bytes "), "with Content-Range")
            shot = await dt.send("Page.captureScreenshot", format="png")
            png = base64.b64decode(shot["data"])
            os.makedirs(artifacts, exist_ok=True)
            path = os.path.join(artifacts, "browser-screenshot.png")
            with open(path, "wb") as f:
                f.write(png)
            width, height, seen = colours(png)
            print(f"screenshot {path}: {width}x{height}, {len(seen)} colours (sampled)")
            check(width >= 800 and height >= 600, "the screenshot has the window's size")
            check(len(seen) >= 50, f"the screenshot is not blank: {len(seen)} colours")

            again = await load(dt, url, reload=True)
            reqs = requests_since(dt, again)
            revalidated = summary(reqs)
            print("reload:", json.dumps(revalidated))
            for r in reqs:
                check(r["failed"] is None, f"reload: {r['url']} did not fail ({r['failed']})")
            doc = [r for r in reqs if r["url"] == url]
            check(len(doc) == 1 and doc[0]["wire"] == [304],
                  f"the reload revalidates the document with a 304: {revalidated.get(url)}")
            check(doc and header(doc[0]["headers"], "If-None-Match") is not None,
                  f"with If-None-Match: {doc[0]['headers'] if doc else None}")
            # A normal reload revalidates the document; the subresources, fresh by heuristic
            # (Last-Modified, no Cache-Control), may come from the cache or be revalidated too.
            for r in reqs:
                check(r["cached"] or (r["wire"] and all(s in (304, 206) for s in r["wire"])),
                      f"reload: {r['url']} is not fetched whole again ({r['wire']})")
            check_console(dt)
            await dt.close()
        finally:
            browser.stop()


def main():
    binary, source, artifacts = (os.path.abspath(a) for a in sys.argv[1:4])
    require(shutil.which("chromium"), "chromium is installed (make -f Makefile.wrapper test installs it)")
    with tempfile.TemporaryDirectory(prefix="portico-browser-") as tmp:
        server = Portico(binary, tmp, CONFIG.replace("@WWW@", os.path.join(source, "www")), workers=2)
        try:
            asyncio.run(scenario(server, artifacts))
        finally:
            check(server.stop() == 0, "portico stopped cleanly")
        server.check_clean_logs()
        codes = [line.split('"')[2].split()[0] for line in read(os.path.join(tmp, "access.log")).splitlines()]
        print("access log statuses:", {c: codes.count(c) for c in sorted(set(codes))})
        check("304" in codes and "206" in codes, "the access log has the 206s and the 304s")
    finish()


if __name__ == "__main__":
    main()
