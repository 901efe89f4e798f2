"""A real browser webphone for the e2e tests: headless Chromium running tests/webphone/webphone.html (JsSIP).

The test talks to the page through a small HTTP server of its own on 127.0.0.1 (a secure context, so
the page has getUserMedia and WebRTC): the page fetches its orders with a long poll (GET /command)
and posts every SIP event it sees (POST /event) and JsSIP's debug lines (POST /log). Nothing waits
a fixed time: ``wait_event`` waits on the events the page posts, with a deadline.

JsSIP comes from npm (tests/webphone/package.json + package-lock.json, ``npm ci`` by scripts/bootstrap)
and is bundled for the browser with esbuild when a Browser starts (JsSIP's npm package is CommonJS).

Chromium trusts the lab's wss:// certificate through ``--ignore-certificate-errors-spki-list`` with
the SPKI hash of the lab's server certificate (made by scripts/lab, see ``spki_hash``): certificate
errors are ignored for that key only, not for every certificate.
"""

import base64
import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WEBPHONE_DIR = os.path.join(REPO_ROOT, "tests", "webphone")
NODE_MODULES = os.path.join(WEBPHONE_DIR, "node_modules")
CHROMIUM = os.environ.get("WEBPHONE_CHROMIUM", "/usr/bin/chromium")
POLL = 15  # seconds a GET /command is held open when there is nothing to do


def missing_tools():
    """What the browser test needs and this machine lacks (scripts/bootstrap installs all of it)."""
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append("%s (apt package chromium)" % CHROMIUM)
    if not shutil.which("node"):
        missing.append("node (apt packages nodejs, npm)")
    for module in ("jssip", "esbuild"):
        if not os.path.isdir(os.path.join(NODE_MODULES, module)):
            missing.append("%s (npm ci in tests/webphone)" % os.path.join(NODE_MODULES, module))
    return missing


def bundle_jssip():
    """JsSIP from node_modules as one browser script defining the global JsSIP."""
    proc = subprocess.run(
        [os.path.join(NODE_MODULES, ".bin", "esbuild"), os.path.join(NODE_MODULES, "jssip", "lib", "JsSIP.js"),
         "--bundle", "--format=iife", "--global-name=JsSIP", "--platform=browser", "--log-level=warning"],
        capture_output=True, check=False, timeout=120, cwd=WEBPHONE_DIR)
    if proc.returncode != 0 or not proc.stdout:
        raise AssertionError("esbuild could not bundle JsSIP (rc %s): %s" % (proc.returncode, proc.stderr.decode()))
    return proc.stdout


def spki_hash(cert_pem_path):
    """base64(sha256(SubjectPublicKeyInfo)) of a PEM certificate: what Chromium's SPKI list takes."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    with open(cert_pem_path, "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    der = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


class _Handler(BaseHTTPRequestHandler):
    server_version = "vicidial-webphone-test"

    def log_message(self, fmt, *args):  # noqa: A002 - the base class's signature
        pass

    def _send(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server's naming
        browser = self.server.browser
        if self.path == "/":
            self._send(200, browser.page, "text/html; charset=utf-8")
        elif self.path == "/jssip.js":
            self._send(200, browser.bundle, "text/javascript; charset=utf-8")
        elif self.path == "/command":
            try:
                cmd = browser.commands.get(timeout=POLL)
            except queue.Empty:
                cmd = {"op": "none"}
            self._send(200, json.dumps(cmd).encode(), "application/json")
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self):  # noqa: N802 - http.server's naming
        data = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        browser = self.server.browser
        if self.path == "/event":
            browser.add_event(data)
        elif self.path == "/log":
            browser.add_log(data.get("line", ""))
        self._send(204, b"", "text/plain")


class Browser(object):
    """Headless Chromium with the webphone page loaded; ``command`` it, ``wait_event`` for what it saw."""

    def __init__(self, spki_hashes=(), log_dir=None):
        with open(os.path.join(WEBPHONE_DIR, "webphone.html"), "rb") as handle:
            self.page = handle.read()
        self.bundle = bundle_jssip()
        self.commands = queue.Queue()
        self.events = []
        self.log = []
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.browser = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = "http://127.0.0.1:%d/" % self._server.server_address[1]
        self.profile = tempfile.mkdtemp(prefix="vicie2e-chromium-")
        self.log_dir = log_dir or self.profile
        self.stderr_path = os.path.join(self.log_dir, "chromium.log")
        argv = [
            CHROMIUM, "--headless=new",
            "--no-sandbox",  # the tests run as root
            "--user-data-dir=%s" % self.profile,  # also needed for the SPKI list to be honoured
            "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-extensions", "--mute-audio",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            # ICE with host candidates of real addresses (not mDNS names Asterisk cannot resolve).
            "--disable-features=WebRtcHideLocalIpsWithMdns",
        ]
        if spki_hashes:
            argv.append("--ignore-certificate-errors-spki-list=%s" % ",".join(spki_hashes))
        self.argv = argv + [self.url]
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr,
                                     start_new_session=True)
        try:
            self.ready = self.wait_event("the page to load JsSIP", lambda e: e.get("event") == "ready", 60)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ page --
    def add_event(self, event):
        with self._cond:
            event["t"] = time.monotonic()
            self.events.append(event)
            self._cond.notify_all()

    def add_log(self, line):
        with self._cond:
            self.log.append(line)

    def command(self, **cmd):
        self.commands.put(cmd)

    def wait_event(self, what, predicate, seconds=30, since=0):
        """The first event (from index since on) that predicate accepts; AssertionError at the deadline."""
        deadline = time.monotonic() + seconds
        with self._cond:
            while True:
                for event in self.events[since:]:
                    if predicate(event):
                        return event
                    if event.get("event") in ("page-error", "command-error"):
                        raise AssertionError("the page failed while waiting for %s: %s\n%s" % (
                            what, event, self.explain()))
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError("waited %ss for %s (chromium %s)\n%s" % (
                        seconds, what, "exited %s" % self.proc.returncode if self.proc.poll() is not None
                        else "running", self.explain()))
                self._cond.wait(min(left, 0.5))

    def sip_event(self, name, kinds, seconds=30, since=0):
        """The first of the events kinds (e.g. registered, registrationFailed) of UA name."""
        return self.wait_event("%s of %s" % ("/".join(kinds), name),
                               lambda e: e.get("name") == name and e.get("event") in kinds, seconds, since)

    def explain(self):
        with self._cond:
            events = [dict((k, v) for k, v in e.items() if k != "body") for e in self.events]
            log = self.log[-80:]
        try:
            with open(self.stderr_path, errors="replace") as handle:
                stderr = handle.read()[-3000:]
        except OSError:
            stderr = ""
        return "--- page events ---\n%s\n--- JsSIP log (tail) ---\n%s\n--- chromium stderr (tail) ---\n%s" % (
            "\n".join(json.dumps(e) for e in events), "\n".join(log), stderr)

    # --------------------------------------------------------------- cleanup --
    def close(self):
        if self.proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(10)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._stderr.close()
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
