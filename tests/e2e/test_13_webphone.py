"""Issue 13: a real browser registers to a webphone entry and receives its call.

VICIdial's webphone is WebRTC: SIP over WebSocket from a browser, DTLS-SRTP media. The test declares,
through playbooks/phones.yml, a webphone entry 8401 (``is_webphone: Y``, PJSIP) and a desk phone 8402
on ast1, both in the role's dial plan context (vicidial-auto-phones; see test_11 for why). A headless
Chromium (Debian's chromium) loads tests/webphone/webphone.html, a page that uses JsSIP from npm
(tests/e2e/webphone_browser.py drives it). What the lab gives Asterisk for it comes from the
project's own files: lab/containers/asterisk (http.conf: ws on 8088, wss on 8089; pjsip.conf:
transport-ws, transport-wss) and scripts/lab (a lab CA and a server certificate for the lab's IPs).

Checked, in one browser:

* the lab's wss:// certificate is valid for ast1's IP and chains to the lab CA (Python's ssl, full
  verification); Chromium trusts it through --ignore-certificate-errors-spki-list with the SPKI
  hash of that certificate (that key only, not any certificate); a Chromium without it does not
  connect to wss:// (the check has teeth);
* a wrong registration password over wss is refused: the page's JsSIP UA gets registrationFailed
  with a 401/403 response, and Asterisk has no contact for 8401;
* the right password over ws://ast1:8088/ws: the page's ``registered`` event carries the 200 OK, and
  Asterisk shows the contact; then un-REGISTER (200);
* the right password over wss://ast1:8089/ws: 200 OK again, the contact is in Asterisk;
* 8402 (tests/e2e/sip_call.py, UDP) calls 8401's dial plan number: the page receives the INVITE
  (JsSIP newRTCSession, originator remote, from 8402) with a WebRTC offer (DTLS fingerprint, ICE,
  SAVPF), answers it with Chromium's fake microphone: ICE and DTLS connect, the caller gets its
  200 OK, Asterisk bridges the two channels and the browser's audio reaches the caller as RTP; the
  caller's BYE ends the call in the page.
"""

import re
import socket
import ssl
import threading
import time

import e2e_lab as lab
import pytest
import sip_call
import webphone_browser

WEBPHONE, CALLER = "8401", "8402"
CONTEXT = "vicidial-auto-phones"
CERTS = lab.LAB_STATE + "/certs"
WAIT = 30  # deadline (s) of each awaited event


def _contacts(extension):
    out = lab.asterisk(lab.AST1, "pjsip show aor %s" % extension, check=False)
    return re.findall(r"(?m)^\s*Contact:\s+%s/(\S+)" % extension, out)


def _wait(what, predicate, seconds=WAIT):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "waited %ss for %s" % (seconds, what)
        time.sleep(0.1)


def _channels():
    """{channel name: state} of ast1's PJSIP channels."""
    out = lab.asterisk(lab.AST1, "core show channels concise")
    return dict((f[0], f[4]) for f in (line.split("!") for line in out.splitlines() if line.startswith("PJSIP/")))


def _up_channels(before):
    """The endpoints of the channels that are Up and were not there before."""
    return sorted(name.rsplit("-", 1)[0] for name, state in _channels().items() if state == "Up" and name not in before)


def _registration(browser, name):
    """(event, status, reason, transport) of the first registration answer UA name got: the 200 OK, or not."""
    event = browser.sip_event(name, ("registered", "registrationFailed"))
    return event["event"], event["status"], event["reason"], event["via_transport"]


def _lab_certificate():
    """The wss listener's certificate, fully verified against the lab CA for ast1's IP."""
    ctx = ssl.create_default_context(cafile=CERTS + "/ca.crt")
    with socket.create_connection((lab.AST1_IP, 8089), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=lab.AST1_IP) as tls:
            return tls.getpeercert(binary_form=True)


@pytest.fixture(scope="module")
def tools():
    missing = webphone_browser.missing_tools()
    assert not missing, "the webphone test needs %s: run scripts/bootstrap" % ", ".join(missing)


def test_a_browser_registers_to_a_webphone_entry_and_receives_its_call(known_state, tools):
    web = lab.phone(WEBPHONE, lab.AST1_IP, is_webphone="Y", phone_context=CONTEXT, phone_full_name="e2e webphone")
    desk = lab.phone(CALLER, lab.AST1_IP, phone_context=CONTEXT)
    run = lab.playbook([lab.entries_vars(lab.lab_entries() + [web, desk])])
    assert run.rc == 0, "declaring the webphone failed:\n" + run.explain()

    # What the role rendered and Asterisk loaded for the webphone, and the lab's WebRTC transports.
    endpoint = lab.asterisk(lab.AST1, "pjsip show endpoint %s" % WEBPHONE)
    names = "webrtc|media_encryption|ice_support|use_avpf|rtcp_mux|dtls_verify"
    options = dict(re.findall(r"(?m)^\s*(%s)\s*:\s*(\S+)" % names, endpoint))
    assert options == dict(webrtc="yes", media_encryption="dtls", ice_support="true", use_avpf="true",
                           rtcp_mux="true", dtls_verify="Fingerprint"), endpoint
    transports = lab.asterisk(lab.AST1, "pjsip show transports")
    assert re.search(r"transport-ws\s+ws\s", transports) and re.search(r"transport-wss\s+wss\s", transports), (
        "the lab image has no ws/wss transport (an old image? scripts/lab down, then up):\n" + transports)

    der = _lab_certificate()
    spki = webphone_browser.spki_hash(CERTS + "/%s.crt" % lab.NAME)
    with open(CERTS + "/%s.crt" % lab.NAME) as handle:
        assert ssl.PEM_cert_to_DER_cert(handle.read()) == der, "ast1 serves another certificate than the lab's"

    uri = "sip:%s@%s" % (WEBPHONE, lab.AST1_IP)
    ws_url, wss_url = "ws://%s:8088/ws" % lab.AST1_IP, "wss://%s:8089/ws" % lab.AST1_IP

    # Chromium does check the certificate: without the lab key in its SPKI list, wss does not connect.
    with webphone_browser.Browser() as untrusting:
        untrusting.command(op="register", name="untrusted", ws_url=wss_url, uri=uri,
                           password=web["registration_password"])
        socket_event = untrusting.sip_event("untrusted", ("connected", "disconnected"))
        assert socket_event["event"] == "disconnected", untrusting.explain()

    caller = None
    with webphone_browser.Browser([spki]) as browser:
        try:
            # A wrong password is refused.
            browser.command(op="register", name="wrong", ws_url=wss_url, uri=uri, password=lab.token(24))
            failed = browser.sip_event("wrong", ("registered", "registrationFailed"))
            assert failed["event"] == "registrationFailed" and failed["status"] in (401, 403), failed
            assert _contacts(WEBPHONE) == []
            browser.command(op="stop", name="wrong")

            # ws: 200 OK, the contact in Asterisk, then un-REGISTER.
            browser.command(op="register", name="ws", ws_url=ws_url, uri=uri, password=web["registration_password"])
            ok = _registration(browser, "ws")
            assert ok == ("registered", 200, "OK", "WS"), ok
            assert len(_contacts(WEBPHONE)) == 1, lab.asterisk(lab.AST1, "pjsip show aor %s" % WEBPHONE)
            browser.command(op="stop", name="ws")
            gone = browser.sip_event("ws", ("unregistered",))
            assert gone["status"] == 200, gone
            _wait("the ws contact to be removed", lambda: _contacts(WEBPHONE) == [])

            # wss with the lab certificate: 200 OK.
            browser.command(op="register", name="wss", ws_url=wss_url, uri=uri, password=web["registration_password"])
            ok = _registration(browser, "wss")
            assert ok == ("registered", 200, "OK", "WSS"), ok
            contact_user = browser.sip_event("wss", ("registered",))["contact_user"]
            assert len(_contacts(WEBPHONE)) == 1, lab.asterisk(lab.AST1, "pjsip show aor %s" % WEBPHONE)

            # 8402 calls the webphone's dial plan number: the page gets the INVITE and answers.
            caller = sip_call.Phone(CALLER, desk["registration_password"], lab.AST1_IP)
            caller.register()
            before = _channels()
            answer = {}

            def place_call():
                try:
                    answer["response"] = caller.call(web["dialplan_number"], timeout=WAIT)
                except AssertionError as exc:
                    answer["error"] = exc

            dialing = threading.Thread(target=place_call, daemon=True)
            dialing.start()
            invite = browser.sip_event("wss", ("newRTCSession",))
            # From 8402, to the contact the page registered over wss.
            assert (invite["originator"], invite["method"], invite["from_user"], invite["ruri_user"]) == (
                "remote", "INVITE", CALLER, contact_user), invite
            offer = invite["body"]
            assert (re.search(r"(?mi)^a=fingerprint:sha-256 ", offer) and re.search(r"(?m)^a=ice-ufrag:", offer)
                    and re.search(r"(?m)^m=audio \d+ UDP/TLS/RTP/SAVPF ", offer)), offer
            browser.command(op="answer", name="wss")
            confirmed = browser.sip_event("wss", ("confirmed", "failed", "ended"))
            assert confirmed["event"] == "confirmed", confirmed
            dialing.join(WAIT)
            assert "response" in answer and answer["response"].status == 200, answer
            browser.wait_event("ICE and DTLS to connect", lambda e: e.get("name") == "wss"
                               and e.get("event") == "connection" and e.get("state") in ("connected", "failed"))
            states = [e["state"] for e in browser.events if e.get("event") == "connection"]
            assert states[-1] == "connected", states
            bridge = ["PJSIP/" + WEBPHONE, "PJSIP/" + CALLER]
            _wait("Asterisk to bridge the call", lambda: _up_channels(before) == bridge)
            # The browser's (fake) microphone reaches the caller: DTLS-SRTP from the page, RTP to 8402.
            bridged = time.monotonic()
            _wait("audio from the browser at the caller", lambda: caller.rtp_between(bridged, float("inf")) >= 25)

            # The caller hangs up: the call ends in the page.
            assert caller.hang_up().status == 200
            ended = browser.sip_event("wss", ("ended", "failed"))
            assert (ended["event"], ended["originator"]) == ("ended", "remote"), ended
            browser.command(op="stop", name="wss")
            assert browser.sip_event("wss", ("unregistered",))["status"] == 200
        except AssertionError as exc:
            transcript = caller.transcript() if caller else ""
            raise AssertionError("%s\n%s\n--- 8402 (sip_call) ---\n%s" % (exc, browser.explain(), transcript)) from None
        finally:
            if caller:
                if caller.dialog and caller.ended_by is None:
                    try:
                        caller.hang_up()
                    except AssertionError:
                        pass
                caller.unregister()
                caller.close()
