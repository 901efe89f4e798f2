"""Minimal SIP REGISTER client over UDP with MD5 digest authentication.

Standard library only. Sends one REGISTER (RFC 3261), answers a 401/407
challenge with an RFC 2617 digest (qop=auth, or the RFC 2069 form when the
server offers no qop), and while ``--stay N`` keeps running it answers the
server's OPTIONS qualify pings with 200 OK so the contact shows as reachable.

    sipreg.py --server IP[:port] --user EXT --password PW [--local-ip IP]
              [--expires S] [--stay N] [--unregister] [--json]

Exit status: 0 registered (200), 3 rejected after authentication (401/403/
407), 4 no answer (timeout), 2 anything else. The password is never printed.

Importable: ``register(server, user, password, ...) -> dict``.
"""

import argparse
import hashlib
import json
import os
import re
import secrets
import socket
import sys
import time

EXIT_OK = 0
EXIT_ERROR = 2
EXIT_AUTH = 3
EXIT_TIMEOUT = 4

T1 = 0.5  # RFC 3261 retransmission timer base (seconds)
T2 = 4.0  # retransmission interval cap
MAX_AUTH_ATTEMPTS = 2  # a second challenge is only answered when stale=true
USER_AGENT = "vicilab-sipreg/1.0"

COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "k": "supported",
    "e": "content-encoding",
}


# --------------------------------------------------------------- digest ----
def md5_hex(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def digest_response(
    username, realm, password, method, uri, nonce, qop=None, nc="00000001", cnonce=None, algorithm="MD5"
):
    """RFC 2617 section 3.2.2 request-digest (RFC 2069 form when qop is None)."""
    ha1 = md5_hex("%s:%s:%s" % (username, realm, password))
    if (algorithm or "MD5").upper() == "MD5-SESS":
        ha1 = md5_hex("%s:%s:%s" % (ha1, nonce, cnonce))
    ha2 = md5_hex("%s:%s" % (method, uri))
    if qop:
        return md5_hex("%s:%s:%s:%s:%s:%s" % (ha1, nonce, nc, cnonce, qop, ha2))
    return md5_hex("%s:%s:%s" % (ha1, nonce, ha2))


_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*(?:,|$)')


def parse_challenge(value):
    """Parse 'Digest realm="x", nonce="y", qop="auth"' into a dict (lower-case keys)."""
    scheme, _sep, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise ValueError("unsupported authentication scheme %r" % scheme)
    params = {}
    pos = 0
    rest = rest.strip()
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if not m:
            raise ValueError("cannot parse challenge near %r" % rest[pos : pos + 20])
        quoted = m.group(2)
        params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else m.group(3)
        pos = m.end()
    if "nonce" not in params:
        raise ValueError("challenge without nonce")
    params.setdefault("realm", "")
    return params


def authorization_header(challenge, username, password, method, uri, nc=1, cnonce=None):
    """Build the Authorization header value answering ``challenge`` (a dict)."""
    algorithm = challenge.get("algorithm", "MD5")
    if algorithm.upper() not in ("MD5", "MD5-SESS"):
        raise ValueError("unsupported digest algorithm %r" % algorithm)
    offered = [q.strip().lower() for q in challenge.get("qop", "").split(",") if q.strip()]
    if offered and "auth" not in offered:
        raise ValueError("server offers only qop=%s" % ",".join(offered))
    qop = "auth" if offered else None
    nc_text = "%08x" % nc
    if qop or algorithm.upper() == "MD5-SESS":
        cnonce = cnonce or secrets.token_hex(8)
    response = digest_response(
        username, challenge["realm"], password, method, uri, challenge["nonce"], qop, nc_text, cnonce, algorithm
    )
    parts = [
        'username="%s"' % username,
        'realm="%s"' % challenge["realm"],
        'nonce="%s"' % challenge["nonce"],
        'uri="%s"' % uri,
        'response="%s"' % response,
        "algorithm=%s" % algorithm,
    ]
    if "opaque" in challenge:
        parts.append('opaque="%s"' % challenge["opaque"])
    if qop:
        parts += ["qop=%s" % qop, "nc=%s" % nc_text, 'cnonce="%s"' % cnonce]
    return "Digest " + ", ".join(parts)


# ------------------------------------------------------------- messages ----
class SipMessage:
    """A parsed SIP request or response."""

    def __init__(self, first_line, headers, body=b""):
        self.first_line = first_line
        self.headers = headers  # list of (canonical lower-case name, value)
        self.body = body
        self.method = self.uri = self.reason = None
        self.status = None
        parts = first_line.split(" ", 2)
        if parts[0].upper().startswith("SIP/"):
            if len(parts) < 2 or not parts[1].isdigit():
                raise ValueError("bad status line %r" % first_line)
            self.status = int(parts[1])
            self.reason = parts[2] if len(parts) > 2 else ""
        elif len(parts) == 3 and parts[2].upper().startswith("SIP/"):
            self.method, self.uri = parts[0].upper(), parts[1]
        else:
            raise ValueError("bad start line %r" % first_line)

    @property
    def is_request(self):
        return self.method is not None

    def get(self, name, default=None):
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return default

    def get_all(self, name):
        name = name.lower()
        out = []
        for key, value in self.headers:
            if key == name:
                out.append(value)
        return out

    def cseq(self):
        num, _sep, method = (self.get("cseq") or "").partition(" ")
        return (int(num) if num.strip().isdigit() else None), method.strip().upper()


def parse_message(data):
    """Parse bytes (or str) into a SipMessage. Raises ValueError if malformed."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    lines = head.decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)  # keep-alive CRLFs
    if not lines:
        raise ValueError("empty message")
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # folded continuation
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip())
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise ValueError("bad header line %r" % line)
        name = name.strip().lower()
        headers.append((COMPACT.get(name, name), value.strip()))
    msg = SipMessage(lines[0].strip(), headers)
    length = msg.get("content-length")
    msg.body = body[: int(length)] if length and length.isdigit() else body
    return msg


def header_param(value, name):
    """Value of ``;name=...`` in a header like a Contact or Via (None if absent)."""
    m = re.search(r";\s*%s\s*=\s*\"?([^;,\"\s>]+)" % re.escape(name), value or "", re.I)
    return m.group(1) if m else None


def response_to(request, status, reason, extra=()):
    """Build a response (bytes) to a received request."""
    to = request.get("to") or ""
    if status >= 200 and not header_param(to, "tag"):
        to += ";tag=" + secrets.token_hex(4)
    lines = ["SIP/2.0 %d %s" % (status, reason)]
    lines += ["Via: %s" % v for v in request.get_all("via")]
    lines += [
        "From: %s" % request.get("from", ""),
        "To: %s" % to,
        "Call-ID: %s" % request.get("call-id", ""),
        "CSeq: %s" % request.get("cseq", ""),
    ]
    lines += list(extra)
    lines += ["User-Agent: %s" % USER_AGENT, "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode("utf-8")


# --------------------------------------------------------------- client ----
def split_hostport(value, default_port=5060):
    host, _sep, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    if not host:
        host, port = value, ""
    return host, int(port) if port else default_port


def route_local_ip(host, port):
    """Local address the kernel would use towards host (no packet is sent)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect((host, port))
        return s.getsockname()[0]
    finally:
        s.close()


class Registrar:
    """One UDP socket and dialog state towards one registrar."""

    def __init__(self, server, user, password, local_ip=None, local_port=0, timeout=8.0, verbose=False):
        self.host, self.port = split_hostport(server)
        self.host = socket.gethostbyname(self.host)
        self.user = user
        self._password = password
        self.timeout = timeout
        self.verbose = verbose
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.local_ip = local_ip or route_local_ip(self.host, self.port)
        self.sock.bind((self.local_ip, local_port))
        self.local_port = self.sock.getsockname()[1]
        self.domain = self.host if self.port == 5060 else "%s:%d" % (self.host, self.port)
        self.request_uri = "sip:%s" % self.domain
        self.call_id = "%s@%s" % (secrets.token_hex(12), self.local_ip)
        self.from_tag = secrets.token_hex(6)
        self.cseq = 0
        self.sent = 0
        self.options_answered = 0
        self.nc = 0

    def close(self):
        self.sock.close()

    @property
    def contact_uri(self):
        return "sip:%s@%s:%d" % (self.user, self.local_ip, self.local_port)

    def _log(self, prefix, data):
        if self.verbose:
            sys.stderr.write("%s\n%s\n" % (prefix, data.decode("utf-8", "replace").rstrip()))

    def _build(self, expires, auth_header=None):
        self.cseq += 1
        branch = "z9hG4bK" + secrets.token_hex(8)
        lines = [
            "REGISTER %s SIP/2.0" % self.request_uri,
            "Via: SIP/2.0/UDP %s:%d;rport;branch=%s" % (self.local_ip, self.local_port, branch),
            "Max-Forwards: 70",
            "From: <sip:%s@%s>;tag=%s" % (self.user, self.domain, self.from_tag),
            "To: <sip:%s@%s>" % (self.user, self.domain),
            "Call-ID: %s" % self.call_id,
            "CSeq: %d REGISTER" % self.cseq,
            "Contact: <%s>;expires=%d" % (self.contact_uri, expires),
            "Expires: %d" % expires,
            "Allow: OPTIONS, NOTIFY",
            "User-Agent: %s" % USER_AGENT,
        ]
        if auth_header:
            lines.append(auth_header)
        lines += ["Content-Length: 0", "", ""]
        return "\r\n".join(lines).encode("utf-8"), self.cseq

    def answer_request(self, msg, addr):
        """Answer an out-of-dialog request from the server (OPTIONS qualify etc.)."""
        if msg.method == "ACK":
            return
        if msg.method == "OPTIONS":
            data = response_to(msg, 200, "OK", ["Allow: OPTIONS, NOTIFY", "Accept: application/sdp"])
            self.options_answered += 1
        elif msg.method == "NOTIFY":
            data = response_to(msg, 200, "OK")
        else:
            data = response_to(msg, 501, "Not Implemented")
        self._log(">>> to %s:%d" % addr, data)
        self.sock.sendto(data, addr)

    def _recv(self, until):
        """Next message before ``until`` (monotonic time) or None. Answers requests."""
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                return None
            self._log("<<< from %s:%d" % addr, data)
            try:
                msg = parse_message(data)
            except ValueError:
                continue
            if msg.is_request:
                self.answer_request(msg, addr)
                continue
            return msg

    def transaction(self, expires, auth_header=None):
        """Send one REGISTER with retransmissions; return the final response or None."""
        data, cseq = self._build(expires, auth_header)
        deadline = time.monotonic() + self.timeout
        interval = T1
        while time.monotonic() < deadline:
            self._log(">>> to %s:%d" % (self.host, self.port), data)
            self.sock.sendto(data, (self.host, self.port))
            self.sent += 1
            resend_at = min(deadline, time.monotonic() + interval)
            interval = min(interval * 2, T2)
            while True:
                msg = self._recv(resend_at)
                if msg is None:
                    break
                if msg.get("call-id") != self.call_id or msg.cseq() != (cseq, "REGISTER"):
                    continue  # stray or retransmitted older response
                if msg.status >= 200:
                    return msg
                resend_at = deadline  # provisional: just wait for the final answer
        return None

    def register(self, expires):
        """REGISTER with digest auth. Returns (response or None, auth_used)."""
        resp = self.transaction(expires)
        auth_used = None
        attempts = 0
        while resp is not None and resp.status in (401, 407) and attempts < MAX_AUTH_ATTEMPTS:
            name = "www-authenticate" if resp.status == 401 else "proxy-authenticate"
            value = resp.get(name) or ""
            if attempts and "stale=true" not in value.lower().replace(" ", "").replace('"', ""):
                break  # our digest was rejected: wrong user or password
            challenge = parse_challenge(value)
            self.nc = 1
            header = authorization_header(
                challenge, self.user, self._password, "REGISTER", self.request_uri, nc=self.nc
            )
            auth_used = "qop=auth" if "qop=" in header else "no-qop"
            hname = "Authorization" if resp.status == 401 else "Proxy-Authorization"
            resp = self.transaction(expires, "%s: %s" % (hname, header))
            attempts += 1
        return resp, auth_used

    def serve(self, seconds):
        """Answer requests (qualify OPTIONS) for ``seconds``."""
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            self._recv(until)  # responses arriving now are stray; requests get answered


def granted_expires(resp, contact_uri, asked):
    for contact in resp.get_all("contact"):
        for one in re.split(r",(?=\s*<)", contact):
            if contact_uri in one:
                value = header_param(one, "expires")
                if value and value.isdigit():
                    return int(value)
    value = resp.get("expires")
    return int(value) if value and value.isdigit() else asked


def _status_result(result, resp, asked_auth):
    if resp is None:
        result.update(status=None, reason="timeout", exit_code=EXIT_TIMEOUT)
    else:
        result.update(status=resp.status, reason=resp.reason)
        if resp.status == 200:
            result["exit_code"] = EXIT_OK
        elif resp.status == 403 or (resp.status in (401, 407) and asked_auth):
            result["exit_code"] = EXIT_AUTH
        else:
            result["exit_code"] = EXIT_ERROR
    return result


def register(
    server,
    user,
    password,
    local_ip=None,
    expires=60,
    stay=0,
    unregister=False,
    timeout=8.0,
    local_port=0,
    verbose=False,
):
    """REGISTER ``user`` at ``server`` ("IP[:port]"). Returns a dict:

    status (int or None on timeout), reason, exit_code (0/2/3/4), server,
    user, contact, expires (granted), auth ("qop=auth"/"no-qop"/None),
    requests_sent, options_answered, elapsed; with ``unregister`` also
    unregister_status. Never contains the password.
    """
    started = time.monotonic()
    result = {"server": server, "user": user}
    try:
        reg = Registrar(
            server, user, password, local_ip=local_ip, local_port=local_port, timeout=timeout, verbose=verbose
        )
    except (OSError, ValueError) as exc:
        result.update(status=None, reason="error: %s" % exc, exit_code=EXIT_ERROR)
        return result
    try:
        result["contact"] = reg.contact_uri
        resp, auth = reg.register(expires)
        _status_result(result, resp, auth is not None)
        result["auth"] = auth
        if result["status"] == 200:
            granted = granted_expires(resp, reg.contact_uri, expires)
            result["expires"] = granted
            end = time.monotonic() + stay
            while time.monotonic() < end:
                # refresh the binding before it runs out while staying
                chunk = min(end - time.monotonic(), max(granted * 0.8, 1))
                reg.serve(chunk)
                if time.monotonic() < end:
                    resp, _refresh_auth = reg.register(expires)
                    if resp is None or resp.status != 200:
                        _status_result(result, resp, True)
                        break
            if unregister:
                resp, _unregister_auth = reg.register(0)
                result["unregister_status"] = resp.status if resp is not None else None
    except (OSError, ValueError) as exc:
        result.update(status=None, reason="error: %s" % exc, exit_code=EXIT_ERROR)
    finally:
        result["requests_sent"] = reg.sent
        result["options_answered"] = reg.options_answered
        result["elapsed"] = round(time.monotonic() - started, 3)
        reg.close()
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description="SIP REGISTER over UDP with MD5 digest auth.")
    p.add_argument("--server", required=True, help="registrar IP[:port] (port 5060)")
    p.add_argument("--user", required=True, help="extension / auth user name")
    p.add_argument(
        "--password", default=os.environ.get("SIPREG_PASSWORD"), help="digest password (default: $SIPREG_PASSWORD)"
    )
    p.add_argument("--local-ip", help="local address to bind (default: routed source address)")
    p.add_argument("--local-port", type=int, default=0)
    p.add_argument("--expires", type=int, default=60, help="requested expiry (0 = remove bindings)")
    p.add_argument("--stay", type=float, default=0, help="seconds to stay and answer OPTIONS")
    p.add_argument("--unregister", action="store_true", help="remove the binding at the end")
    p.add_argument("--timeout", type=float, default=8.0, help="seconds per transaction")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--verbose", action="store_true", help="trace SIP messages on stderr")
    args = p.parse_args(argv)
    if args.password is None:
        p.error("--password (or SIPREG_PASSWORD) is required")
    result = register(
        args.server,
        args.user,
        args.password,
        local_ip=args.local_ip,
        expires=args.expires,
        stay=args.stay,
        unregister=args.unregister,
        timeout=args.timeout,
        local_port=args.local_port,
        verbose=args.verbose,
    )
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        what = "%s %s" % (result["status"], result["reason"]) if result["status"] else result["reason"]
        extra = ""
        if result["status"] == 200:
            extra = " (expires %ss, auth %s, contact %s, OPTIONS answered %d)" % (
                result.get("expires"),
                result.get("auth") or "none",
                result.get("contact"),
                result["options_answered"],
            )
        print("REGISTER %s@%s: %s%s" % (args.user, args.server, what, extra))
    return result["exit_code"]


if __name__ == "__main__":
    sys.exit(main())
