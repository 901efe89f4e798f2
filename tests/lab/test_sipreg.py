"""Tests of lab/sipreg.py: digest maths, message parsing, and a full REGISTER
exchange against an in-process fake registrar on 127.0.0.1 (no lab needed)."""

import json
import os
import socket
import subprocess
import sys
import threading

import pytest

LAB_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "lab")
SIPREG = os.path.join(LAB_DIR, "sipreg.py")
sys.path.insert(0, LAB_DIR)
import sipreg  # noqa: E402

# RFC 2617 section 3.5 worked example (qop=auth) ...
RFC2617 = dict(
    username="Mufasa",
    realm="testrealm@host.com",
    password="Circle Of Life",
    method="GET",
    uri="/dir/index.html",
    nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
    qop="auth",
    nc="00000001",
    cnonce="0a4f113b",
)
RFC2617_RESPONSE = "6629fae49393a05397450978507c4ef1"
# ... and RFC 2069 section 2.4 (no qop; that RFC spells the password without spaces).
RFC2069 = dict(
    username="Mufasa",
    realm="testrealm@host.com",
    password="CircleOfLife",
    method="GET",
    uri="/dir/index.html",
    nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
)
RFC2069_RESPONSE = "1949323746fe6a43ef61f9606e7febea"


def test_digest_rfc2617_qop_auth():
    assert sipreg.digest_response(**RFC2617) == RFC2617_RESPONSE


def test_digest_rfc2069_no_qop():
    assert sipreg.digest_response(**RFC2069) == RFC2069_RESPONSE


def test_authorization_header_rfc2617():
    challenge = sipreg.parse_challenge(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    header = sipreg.authorization_header(
        challenge, "Mufasa", "Circle Of Life", "GET", "/dir/index.html", nc=1, cnonce="0a4f113b"
    )
    params = sipreg.parse_challenge(header)
    assert params["response"] == RFC2617_RESPONSE
    assert params["qop"] == "auth" and params["nc"] == "00000001"
    assert params["opaque"] == "5ccc069c403ebaf9f0171e9517f40e41"
    assert "Circle" not in header


def test_authorization_header_without_qop():
    challenge = sipreg.parse_challenge('Digest realm="testrealm@host.com",nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093"')
    header = sipreg.authorization_header(challenge, "Mufasa", "CircleOfLife", "GET", "/dir/index.html")
    params = sipreg.parse_challenge(header)
    assert params["response"] == RFC2069_RESPONSE
    assert "qop" not in params and "cnonce" not in params


def test_parse_challenge_asterisk_style_and_errors():
    c = sipreg.parse_challenge('Digest  realm="asterisk",nonce="1732-abc/def",opaque="0f1e",algorithm=MD5,qop="auth"')
    assert c == {"realm": "asterisk", "nonce": "1732-abc/def", "opaque": "0f1e", "algorithm": "MD5", "qop": "auth"}
    with pytest.raises(ValueError):
        sipreg.parse_challenge('Basic realm="x"')
    with pytest.raises(ValueError):
        sipreg.authorization_header({"realm": "r", "nonce": "n", "qop": "auth-int"}, "u", "p", "REGISTER", "sip:x")


def test_parse_response_with_compact_and_folded_headers():
    raw = (
        b"SIP/2.0 401 Unauthorized\r\n"
        b"v: SIP/2.0/UDP 10.0.0.1:5070;rport=5070;branch=z9hG4bKabc\r\n"
        b"Via: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKdef\r\n"
        b"f: <sip:8001@10.0.0.9>;tag=aa\r\n"
        b"t: <sip:8001@10.0.0.9>;tag=bb\r\n"
        b"i: call-1@10.0.0.1\r\n"
        b"CSeq: 7 REGISTER\r\n"
        b'WWW-Authenticate: Digest realm="asterisk",\r\n'
        b'  nonce="n1"\r\n'
        b"l: 0\r\n\r\n"
    )
    msg = sipreg.parse_message(raw)
    assert not msg.is_request
    assert (msg.status, msg.reason) == (401, "Unauthorized")
    assert msg.get("call-id") == "call-1@10.0.0.1"
    assert len(msg.get_all("via")) == 2
    assert msg.cseq() == (7, "REGISTER")
    assert sipreg.header_param(msg.get("to"), "tag") == "bb"
    assert sipreg.parse_challenge(msg.get("www-authenticate"))["nonce"] == "n1"


def test_parse_request_and_options_answer():
    raw = (
        "OPTIONS sip:8001@10.0.0.1:5070 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 10.0.0.9:5060;rport;branch=z9hG4bKq1\r\n"
        "From: <sip:8001@10.0.0.9>;tag=srv\r\nTo: <sip:8001@10.0.0.1>\r\n"
        "Call-ID: q1\r\nCSeq: 100 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    msg = sipreg.parse_message(raw)
    assert msg.is_request and msg.method == "OPTIONS" and msg.uri == "sip:8001@10.0.0.1:5070"
    answer = sipreg.parse_message(sipreg.response_to(msg, 200, "OK"))
    assert answer.status == 200
    assert answer.get("via") == msg.get("via")
    assert answer.cseq() == (100, "OPTIONS")
    assert sipreg.header_param(answer.get("to"), "tag")


@pytest.mark.parametrize(
    "raw",
    [b"", b"\r\n\r\n", b"HELLO\r\n\r\n", b"SIP/2.0 abc X\r\n\r\n", b"REGISTER sip:x SIP/2.0\r\nno colon here\r\n\r\n"],
)
def test_parse_rejects_garbage(raw):
    with pytest.raises(ValueError):
        sipreg.parse_message(raw)


def test_split_hostport():
    assert sipreg.split_hostport("10.1.2.3") == ("10.1.2.3", 5060)
    assert sipreg.split_hostport("10.1.2.3:5070") == ("10.1.2.3", 5070)


# ------------------------------------------------------ fake registrar ----
class FakeRegistrar(threading.Thread):
    """UDP registrar on 127.0.0.1: 401 challenge, 200 for the right digest,
    then one OPTIONS ping to the registered contact."""

    def __init__(self, user="8001", password="s3cret8001", qop=True, silent=False):
        super().__init__(daemon=True)
        self.user, self.password, self.qop, self.silent = user, password, qop, silent
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.nonce = "n0nce-%d" % self.port
        self.stop = threading.Event()
        self.options_ok = 0
        self.registers = []

    def reply(self, req, addr, status, reason, extra=()):
        self.sock.sendto(sipreg.response_to(req, status, reason, extra), addr)

    def run(self):
        while not self.stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            msg = sipreg.parse_message(data)
            if not msg.is_request:
                if msg.status == 200 and msg.cseq()[1] == "OPTIONS":
                    self.options_ok += 1
                continue
            self.registers.append(msg)
            if self.silent:
                continue
            auth = msg.get("authorization")
            if not auth:
                qop = ',qop="auth"' if self.qop else ""
                self.reply(
                    msg,
                    addr,
                    401,
                    "Unauthorized",
                    ['WWW-Authenticate: Digest realm="lab",nonce="%s",algorithm=MD5%s' % (self.nonce, qop)],
                )
                continue
            p = sipreg.parse_challenge(auth)
            expected = sipreg.digest_response(
                self.user,
                "lab",
                self.password,
                msg.method,
                p["uri"],
                self.nonce,
                p.get("qop"),
                p.get("nc"),
                p.get("cnonce"),
            )
            if p["username"] != self.user or p["response"] != expected:
                self.reply(
                    msg, addr, 401, "Unauthorized", ['WWW-Authenticate: Digest realm="lab",nonce="%s"' % self.nonce]
                )
                continue
            contact = msg.get("contact")
            self.reply(msg, addr, 200, "OK", ["Contact: %s" % contact])
            if sipreg.header_param(contact, "expires") != "0":
                ping = (
                    "OPTIONS %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKping\r\n"
                    "From: <sip:lab@127.0.0.1>;tag=p\r\nTo: <%s>\r\nCall-ID: ping\r\n"
                    "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
                    % (contact.split(">")[0].lstrip("<"), self.port, contact.split(">")[0].lstrip("<"))
                )
                self.sock.sendto(ping.encode(), addr)


@pytest.fixture
def registrar(request):
    kwargs = getattr(request, "param", {})
    reg = FakeRegistrar(**kwargs)
    reg.start()
    yield reg
    reg.stop.set()
    reg.join(2)
    reg.sock.close()


@pytest.mark.parametrize("registrar", [{"qop": True}, {"qop": False}], indirect=True)
def test_register_200_and_answers_options(registrar):
    result = sipreg.register(
        "127.0.0.1:%d" % registrar.port, "8001", "s3cret8001", stay=0.5, unregister=True, timeout=3
    )
    assert result["status"] == 200 and result["exit_code"] == 0
    assert result["auth"] == ("qop=auth" if registrar.qop else "no-qop")
    assert result["expires"] == 60
    assert result["options_answered"] >= 1 and registrar.options_ok >= 1
    assert result["unregister_status"] == 200
    assert "s3cret8001" not in json.dumps(result)


def test_cli_wrong_password_exit_3(registrar):
    proc = subprocess.run(
        [
            sys.executable,
            SIPREG,
            "--server",
            "127.0.0.1:%d" % registrar.port,
            "--user",
            "8001",
            "--password",
            "WRONG-pw",
            "--json",
            "--timeout",
            "3",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=20,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == 401 and out["reason"] == "Unauthorized"
    assert "WRONG-pw" not in proc.stdout + proc.stderr


def test_cli_right_password_exit_0(registrar):
    proc = subprocess.run(
        [
            sys.executable,
            SIPREG,
            "--server",
            "127.0.0.1:%d" % registrar.port,
            "--user",
            "8001",
            "--password",
            "s3cret8001",
            "--timeout",
            "3",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=20,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "200 OK" in proc.stdout and "s3cret8001" not in proc.stdout


@pytest.mark.parametrize("registrar", [{"silent": True}], indirect=True)
def test_timeout_exit_4_with_bounded_retransmissions(registrar):
    result = sipreg.register("127.0.0.1:%d" % registrar.port, "8001", "x", timeout=1.6)
    assert result["exit_code"] == 4 and result["status"] is None
    assert 2 <= result["requests_sent"] <= 4  # 0.5 s, 1 s, ... within 1.6 s
    # It waited out its timeout and then gave up (the upper bound only catches a client that never stops,
    # so that a busy machine cannot fail the test).
    assert 1.6 <= result["elapsed"] < 60
