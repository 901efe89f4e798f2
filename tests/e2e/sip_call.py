"""A SIP phone for the end-to-end call tests: REGISTER, place or answer one call, send/echo RTP.

Standard library plus lab/sipreg.py (message parser, digest). One UDP socket for SIP and one for
RTP per phone, each read by a thread, so that the phone answers whatever Asterisk sends while the
test does other things (runs a playbook): qualify OPTIONS, the INVITE of a call to it, re-INVITEs,
UPDATE/INFO/NOTIFY, and BYE. Every SIP message in both directions is recorded with its time
(``log``), so that a test can say exactly what Asterisk did to the call.

Media is G.711 u-law (payload 0), 20 ms packets. The calling phone sends a stream for as long as
the call is up; the called phone echoes what it receives back to where it came from. Both count the
packets they receive (``rtp_times``: monotonic arrival times), which is what "RTP flows" means here.
"""

import queue
import secrets
import socket
import struct
import threading
import time

import sipreg

T1 = 0.5
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, NOTIFY"
USER_AGENT = "vicie2e-phone/1.0"
PTIME = 0.02
PAYLOAD = bytes([0xFF]) * 160  # 20 ms of u-law silence


class SipError(AssertionError):
    pass


def _sdp_media(body):
    """(ip, port) of the audio stream of an SDP body, or None."""
    ip = port = None
    for line in body.decode("utf-8", "replace").splitlines():
        if line.startswith("c=IN IP4 "):
            ip = line.split()[2]
        elif line.startswith("m=audio "):
            port = int(line.split()[1])
    return (ip, port) if ip and port else None


class Phone(object):
    """One registered PJSIP phone on this host, talking to one Asterisk server."""

    def __init__(self, extension, password, server_ip, echo=False):
        self.extension = str(extension)
        self._password = password
        self.server = (server_ip, 5060)
        self.local_ip = sipreg.route_local_ip(server_ip, 5060)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.local_ip, 0))
        self.port = self.sock.getsockname()[1]
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind((self.local_ip, 0))
        self.rtp_port = self.rtp.getsockname()[1]
        self.echo = echo
        self.log = []  # (monotonic, "in"/"out", first line, Call-ID)
        self.rtp_times = []  # arrival times of RTP packets
        self.invites_from = []  # From header of each INVITE Asterisk sent to this phone
        self.rtp_sent = 0
        self.dialog = None
        self.remote_media = None
        self.ended_by = None  # "remote" when Asterisk sent BYE, "local" after our BYE got its answer
        self._responses = queue.Queue()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._streaming = threading.Event()
        self._sdp_version = 1
        self._ssrc = secrets.randbits(32)
        self._threads = [threading.Thread(target=self._sip_loop, daemon=True),
                         threading.Thread(target=self._rtp_loop, daemon=True),
                         threading.Thread(target=self._send_loop, daemon=True)]
        for thread in self._threads:
            thread.start()

    # ------------------------------------------------------------------ plumbing --
    @property
    def contact(self):
        return "<sip:%s@%s:%d>" % (self.extension, self.local_ip, self.port)

    @property
    def domain(self):
        return self.server[0]

    def _send(self, data, addr):
        msg = sipreg.parse_message(data)
        self.log.append((time.monotonic(), "out", msg.first_line, msg.get("call-id")))
        self.sock.sendto(data, addr)

    def close(self):
        self._stop.set()
        self._streaming.clear()
        for sock in (self.sock, self.rtp):
            try:
                sock.close()
            except OSError:
                pass

    def received(self, method):
        """Times of the requests of METHOD Asterisk sent to this phone."""
        return [t for t, way, line, _cid in self.log if way == "in" and line.split(" ", 1)[0] == method]

    def rtp_between(self, start, end):
        return sum(1 for t in list(self.rtp_times) if start <= t < end)

    def transcript(self):
        t0 = self.log[0][0] if self.log else 0
        return "\n".join("%7.2fs %s %s  [%s]" % (t - t0, "<-" if way == "in" else "->", line, cid)
                         for t, way, line, cid in list(self.log))

    def _sdp(self):
        self._sdp_version += 1
        return ("v=0\r\no=- %d %d IN IP4 %s\r\ns=vicie2e\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                "m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
                "a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
                % (self._ssrc, self._sdp_version, self.local_ip, self.local_ip, self.rtp_port))

    def _request(self, method, uri, to, call_id, from_tag, cseq, branch=None, extra=(), body=""):
        branch = branch or "z9hG4bK" + secrets.token_hex(8)
        lines = ["%s %s SIP/2.0" % (method, uri),
                 "Via: SIP/2.0/UDP %s:%d;rport;branch=%s" % (self.local_ip, self.port, branch),
                 "Max-Forwards: 70",
                 'From: "%s" <sip:%s@%s>;tag=%s' % (self.extension, self.extension, self.domain, from_tag),
                 "To: %s" % to,
                 "Call-ID: %s" % call_id,
                 "CSeq: %d %s" % (cseq, method),
                 "Contact: %s" % self.contact,
                 "Allow: %s" % ALLOW,
                 "User-Agent: %s" % USER_AGENT]
        lines += list(extra)
        if body:
            lines.append("Content-Type: application/sdp")
        lines += ["Content-Length: %d" % len(body.encode()), "", body]
        return "\r\n".join(lines).encode(), branch

    def _transaction(self, data, call_id, cseq, method, timeout=32.0):
        """Send a request with retransmissions; the final response (provisionals are skipped)."""
        deadline = time.monotonic() + timeout
        interval, resend_at, provisional = T1, 0, False
        while time.monotonic() < deadline:
            if not provisional and time.monotonic() >= resend_at:
                self._send(data, self.server)
                resend_at = time.monotonic() + interval
                interval = min(interval * 2, 4.0)
            try:
                msg = self._responses.get(timeout=0.05)
            except queue.Empty:
                continue
            if msg.get("call-id") != call_id or msg.cseq() != (cseq, method):
                continue
            if msg.status < 200:
                provisional = True
                continue
            return msg
        raise SipError("no final answer to %s %s within %.0fs" % (method, call_id, timeout))

    def _authorize(self, resp, method, uri):
        name = "www-authenticate" if resp.status == 401 else "proxy-authenticate"
        header = sipreg.authorization_header(sipreg.parse_challenge(resp.get(name) or ""), self.extension,
                                             self._password, method, uri)
        return "%s: %s" % ("Authorization" if resp.status == 401 else "Proxy-Authorization", header)

    # ------------------------------------------------------------------ register --
    def register(self, expires=600):
        uri = "sip:%s" % self.domain
        call_id = "%s@%s" % (secrets.token_hex(10), self.local_ip)
        tag = secrets.token_hex(6)
        to = "<sip:%s@%s>" % (self.extension, self.domain)
        extra = ["Expires: %d" % expires]
        data, _b = self._request("REGISTER", uri, to, call_id, tag, 1, extra=extra)
        resp = self._transaction(data, call_id, 1, "REGISTER")
        if resp.status in (401, 407):
            data, _b = self._request("REGISTER", uri, to, call_id, tag, 2,
                                     extra=extra + [self._authorize(resp, "REGISTER", uri)])
            resp = self._transaction(data, call_id, 2, "REGISTER")
        if resp.status != 200:
            raise SipError("REGISTER %s: %s %s" % (self.extension, resp.status, resp.reason))
        return resp

    # ---------------------------------------------------------------- the call ---
    def call(self, number, timeout=60.0):
        """INVITE NUMBER through the server (digest auth), ACK the 200, start sending RTP."""
        uri = "sip:%s@%s" % (number, self.domain)
        call_id = "%s@%s" % (secrets.token_hex(10), self.local_ip)
        tag = secrets.token_hex(6)
        to = "<%s>" % uri
        cseq = 1
        data, branch = self._request("INVITE", uri, to, call_id, tag, cseq, body=self._sdp())
        resp = self._transaction(data, call_id, cseq, "INVITE", timeout)
        if resp.status in (401, 407):
            ack, _b = self._request("ACK", uri, resp.get("to"), call_id, tag, cseq, branch=branch)
            self._send(ack, self.server)
            cseq += 1
            data, branch = self._request("INVITE", uri, to, call_id, tag, cseq,
                                         extra=[self._authorize(resp, "INVITE", uri)], body=self._sdp())
            resp = self._transaction(data, call_id, cseq, "INVITE", timeout)
        if resp.status != 200:
            if resp.status >= 300:
                ack, _b = self._request("ACK", uri, resp.get("to"), call_id, tag, cseq, branch=branch)
                self._send(ack, self.server)
            raise SipError("INVITE %s from %s: %s %s" % (number, self.extension, resp.status, resp.reason))
        target = (resp.get("contact") or uri).strip().strip("<>").split(">")[0]
        with self._lock:
            self.dialog = dict(call_id=call_id, local_tag=tag, remote_to=resp.get("to"), target=target,
                               cseq=cseq, invite_cseq=cseq, uac=True, confirmed=True)
            self.remote_media = _sdp_media(resp.body)
        self._ack()
        self._streaming.set()
        return resp

    def _ack(self):
        d = self.dialog
        ack, _b = self._request("ACK", d["target"], d["remote_to"], d["call_id"], d["local_tag"], d["invite_cseq"])
        self._send(ack, self.server)

    def hang_up(self):
        """BYE from this phone (the caller). Returns the final response (200 when the call was still up)."""
        self._streaming.clear()
        d = self.dialog
        with self._lock:
            d["cseq"] += 1
            cseq = d["cseq"]
        data, _b = self._request("BYE", d["target"], d["remote_to"], d["call_id"], d["local_tag"], cseq)
        resp = self._transaction(data, d["call_id"], cseq, "BYE")
        if resp.status == 200 and self.ended_by is None:
            self.ended_by = "local"
        return resp

    def unregister(self):
        try:
            self.register(expires=0)
        except SipError:
            pass

    # -------------------------------------------------------------- the threads --
    def _sip_loop(self):
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except OSError:
                return
            try:
                msg = sipreg.parse_message(data)
            except ValueError:
                continue
            self.log.append((time.monotonic(), "in", msg.first_line, msg.get("call-id")))
            if not msg.is_request:
                if msg.cseq()[1] == "INVITE" and 200 <= msg.status < 300 and self.dialog \
                        and self.dialog.get("uac") and msg.get("call-id") == self.dialog["call_id"] \
                        and self.dialog.get("confirmed"):
                    self._ack()  # a retransmitted 200: our ACK was lost
                self._responses.put(msg)
                continue
            try:
                self._answer(msg, addr)
            except OSError:
                return

    def _reply(self, msg, addr, status, reason, sdp=None, tag=None):
        to = msg.get("to") or ""
        if status >= 200 and not sipreg.header_param(to, "tag"):
            to += ";tag=%s" % (tag or secrets.token_hex(4))
        body = (sdp or "").encode()
        lines = ["SIP/2.0 %d %s" % (status, reason)]
        lines += ["Via: %s" % v for v in msg.get_all("via")]
        lines += ["From: %s" % msg.get("from", ""), "To: %s" % to, "Call-ID: %s" % msg.get("call-id", ""),
                  "CSeq: %s" % msg.get("cseq", ""), "Contact: %s" % self.contact, "Allow: %s" % ALLOW,
                  "User-Agent: %s" % USER_AGENT]
        if body:
            lines.append("Content-Type: application/sdp")
        lines += ["Content-Length: %d" % len(body), "", ""]
        self._send("\r\n".join(lines).encode() + body, addr)

    def _answer(self, msg, addr):
        method = msg.method
        if method == "ACK":
            return
        if method == "INVITE":
            self.invites_from.append(msg.get("from"))
            media = _sdp_media(msg.body)
            with self._lock:
                if self.dialog is None:  # a new call to this phone
                    self.dialog = dict(call_id=msg.get("call-id"), local_tag=secrets.token_hex(6), uac=False,
                                       remote_from=msg.get("from"), target=(msg.get("contact") or "").strip("<>"),
                                       cseq=0)
                ours = self.dialog["call_id"] == msg.get("call-id")
                if ours and media:
                    self.remote_media = media
            if not ours:
                self._reply(msg, addr, 486, "Busy Here")
                return
            self._reply(msg, addr, 100, "Trying")
            self._reply(msg, addr, 200, "OK", sdp=self._sdp(), tag=self.dialog["local_tag"])
            return
        if method == "BYE":
            if self.dialog and msg.get("call-id") == self.dialog["call_id"]:
                self._streaming.clear()
                if self.ended_by is None:
                    self.ended_by = "remote"
                self._reply(msg, addr, 200, "OK", tag=self.dialog["local_tag"])
            else:
                self._reply(msg, addr, 481, "Call/Transaction Does Not Exist")
            return
        if method in ("OPTIONS", "NOTIFY", "INFO", "UPDATE"):
            tag = self.dialog["local_tag"] if self.dialog and msg.get("call-id") == self.dialog["call_id"] else None
            sdp = self._sdp() if method == "UPDATE" and msg.body else None
            self._reply(msg, addr, 200, "OK", sdp=sdp, tag=tag)
            return
        self._reply(msg, addr, 501, "Not Implemented")

    def _rtp_loop(self):
        while not self._stop.is_set():
            try:
                data, addr = self.rtp.recvfrom(2048)
            except OSError:
                return
            if len(data) < 12 or data[0] >> 6 != 2:
                continue
            self.rtp_times.append(time.monotonic())
            if self.echo:
                try:
                    self.rtp.sendto(data, addr)
                except OSError:
                    return

    def _send_loop(self):
        seq = secrets.randbits(16)
        stamp = secrets.randbits(32)
        while not self._stop.is_set():
            if not self._streaming.wait(0.2) or self.echo or not self.remote_media:
                continue
            next_at = time.monotonic()
            while self._streaming.is_set() and not self._stop.is_set():
                header = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, stamp & 0xFFFFFFFF, self._ssrc)
                try:
                    self.rtp.sendto(header + PAYLOAD, self.remote_media)
                except OSError:
                    return
                self.rtp_sent += 1
                seq += 1
                stamp += 160
                next_at += PTIME
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    next_at = time.monotonic()  # late (busy machine): carry on from now
