"""_asterisk: every parser on answers captured from Asterisk 22.10.1 (asterisk22/), and the CLI client.

The captured files come from the lab (`asterisk -rx` in a vicilab container); the auth object's
password was replaced by a made-up one before it was saved.
"""

from __future__ import absolute_import, division, print_function

import os
import socket
import threading

import pytest

from ansible_collections.telephony.vicidial.plugins.module_utils import _asterisk

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "asterisk22")


def captured(name):
    with open(os.path.join(HERE, name)) as handle:
        return handle.read()


def test_endpoints_with_auth_aor_and_a_registered_contact():
    endpoints = _asterisk.parse_endpoints(captured("pjsip_show_endpoints.txt"))
    assert sorted(endpoints) == ["8001", "8005"]
    assert endpoints["8001"]["state"] == "Not in use"
    assert endpoints["8001"]["auths"] == ["8001-iauth"] and endpoints["8001"]["aors"] == ["8001"]
    assert endpoints["8001"]["contacts"] == [
        {"uri": "sip:8001@10.89.20.1:46336", "status": "Avail", "rtt": "1.414"}]
    assert endpoints["8005"]["state"] == "Unavailable" and endpoints["8005"]["contacts"] == []


def test_no_endpoints_at_all():
    assert _asterisk.parse_endpoints(captured("pjsip_show_endpoints_empty.txt")) == {}
    assert _asterisk.parse_endpoints("") == {}


def test_contacts():
    assert _asterisk.parse_contacts(captured("pjsip_show_contacts.txt")) == [
        {"aor": "8001", "uri": "sip:8001@10.89.20.1:46336", "status": "Avail", "rtt": "1.414"}]
    assert _asterisk.parse_contacts(captured("pjsip_show_contacts_empty.txt")) == []


def test_auth_object_and_a_missing_one():
    auth = _asterisk.parse_auth(captured("pjsip_show_auth.txt"))
    assert auth["password"] == "Secret8005xyzQ" and auth["username"] == "8005"
    assert auth["md5_cred"] == "" and auth["auth_type"] == "userpass"
    assert _asterisk.parse_auth(captured("pjsip_show_auth_missing.txt")) is None
    assert _asterisk.parse_auth("") is None


def test_iax2_peers():
    assert _asterisk.parse_iax2_peers(captured("iax2_show_peers.txt")) == ["8003"]
    assert _asterisk.parse_iax2_peers(captured("iax2_show_peers_empty.txt")) == []


def test_dialplan_context_and_dialled_channels():
    dialplan = _asterisk.parse_dialplan(captured("dialplan_show_context.txt"))
    assert sorted(dialplan) == ["8001", "8003", "8005", "h"]
    assert dialplan["8001"][1] == ("Dial(PJSIP/8001,60,)", "extensions-ansible-phones.conf:10")
    assert dialplan["8001"][2][0] == "Goto(default,850266666666668001,1)"
    assert dialplan["8003"][3] == ("Hangup()", "extensions-ansible-phones.conf:9")
    assert _asterisk.dialled_channel(dialplan["8003"][1][0]) == ("IAX2", "8003")
    assert _asterisk.dialled_channel(dialplan["h"][1][0]) is None
    assert _asterisk.dialled_channel("Dial(SIP/8001|60|)") == ("SIP", "8001")
    assert _asterisk.parse_dialplan(captured("dialplan_show_missing.txt")) is None


def test_modules():
    assert _asterisk.parse_modules(captured("module_show_chan_sip.txt")) == set()
    assert _asterisk.parse_modules(captured("module_show_res_pjsip.txt")) == {"res_pjsip.so"}


@pytest.mark.parametrize("name", ["pjsip_reload.txt", "dialplan_reload.txt", "iax2_reload.txt", "moh_reload.txt",
                                  "module_reload_voicemail.txt"])
def test_successful_reloads_are_not_failures(name):
    assert _asterisk.reload_problem(captured(name)) is None


@pytest.mark.parametrize("name, said", [
    ("sip_reload_no_chan_sip.txt", "No such command 'sip reload'"),
    ("not_running.txt", "Unable to connect to remote asterisk"),
    ("dialplan_show_missing.txt", "Command 'dialplan show nosuchcontext' failed."),
])
def test_failed_commands_say_why(name, said):
    assert said in _asterisk.reload_problem(captured(name))


def test_banner_of_the_control_socket_is_dropped():
    assert _asterisk.strip_banner("ast1/7/22.10.1+dfsg\nDialplan reloaded.\n") == "Dialplan reloaded.\n"
    assert _asterisk.strip_banner("Dialplan reloaded.\n") == "Dialplan reloaded.\n"


class FakeControlSocket(object):
    """Speaks the control socket's protocol: banner, 'cli quit after <cmd>\\0', answer, close."""

    def __init__(self, path, answers):
        self.path = path
        self.answers = answers
        self.asked = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(5)
        self.thread = threading.Thread(target=self.serve)
        self.thread.daemon = True
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _addr = self.server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"fake/1/22.10.1\n")
                data = b""
                while not data.endswith(b"\0"):
                    data += conn.recv(4096)
                command = data[len(b"cli quit after "):-1].decode()
                self.asked.append(command)
                conn.sendall(self.answers.get(command, "No such command '%s'\n" % command).encode())

    def close(self):
        self.server.close()


def test_cli_asks_over_the_control_socket_and_never_starts_a_process(tmp_path):
    path = str(tmp_path / "asterisk.ctl")
    fake = FakeControlSocket(path, {"dialplan reload": "Dialplan reloaded.\n",
                                    "iax2 show peers": captured("iax2_show_peers.txt")})
    started = []
    cli = _asterisk.Cli(lambda argv: started.append(argv) or (1, "", ""), "asterisk", path)
    try:
        assert _asterisk.parse_iax2_peers(cli.ask("iax2 show peers")) == ["8003"]
        cli.reload("dialplan reload")
        with pytest.raises(_asterisk.AsteriskError, match="No such command 'sip reload'"):
            cli.reload("sip reload")
    finally:
        fake.close()
    assert cli.via == "socket" and started == []
    assert fake.asked == ["iax2 show peers", "dialplan reload", "sip reload"]


def test_cli_falls_back_to_asterisk_rx_and_says_when_asterisk_is_down(tmp_path):
    calls = []

    def run_command(argv):
        calls.append(argv)
        if argv[2] == "core show version":
            return 0, "Asterisk 22.10.1\n", ""
        return 1, "", "Unable to connect to remote asterisk (does /var/run/asterisk/asterisk.ctl exist?)"

    cli = _asterisk.Cli(run_command, "/usr/sbin/asterisk", str(tmp_path / "absent.ctl"))
    assert cli.ask("core show version") == "Asterisk 22.10.1\n"
    with pytest.raises(_asterisk.AsteriskError, match="Unable to connect to remote asterisk"):
        cli.ask("pjsip show endpoints")
    assert calls[0] == ["/usr/sbin/asterisk", "-rx", "core show version"] and cli.via == "asterisk -rx"


def test_endpoint_object_reads_back_as_written_or_shows_a_stale_one():
    loaded = _asterisk.parse_object(captured("pjsip_show_endpoint.txt"))
    assert loaded["context"] == "default" and loaded["dtmf_mode"] == "rfc4733" and loaded["direct_media"] == "false"
    assert _asterisk.parse_object(captured("pjsip_show_endpoint_missing.txt")) is None
    stanza = ("[8005]\ntype=wizard\nendpoint/context=default\nendpoint/mailboxes=8005\n"
              "endpoint/dtmf_mode = rfc4733\nendpoint/direct_media = no\nendpoint/use_ptime = yes\n"
              "endpoint/callerid=\"Lab webphone\" <>\naor/max_contacts = 1\n")
    written = _asterisk.wizard_endpoint_options(stanza)
    assert written["dtmf_mode"] == "rfc4733" and "max_contacts" not in written
    assert _asterisk.endpoint_mismatches(written, loaded) == []
    # A template Asterisk refused: the object it kept does not read back as written.
    stale = _asterisk.wizard_endpoint_options(stanza + "endpoint/dtmf_mode=bogus\nendpoint/context=agents\n")
    assert _asterisk.endpoint_mismatches(stale, loaded) == [("context", "agents"), ("dtmf_mode", "bogus")]


def test_a_connection_closed_without_a_word_is_asterisk_going_away(tmp_path):
    path = str(tmp_path / "asterisk.ctl")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def drop():
        conn, _addr = server.accept()
        conn.recv(4096)
        conn.close()  # no banner, no answer

    thread = threading.Thread(target=drop)
    thread.start()
    cli = _asterisk.Cli(lambda argv: (1, "", ""), "asterisk", path)
    try:
        with pytest.raises(_asterisk.AsteriskError, match="without answering 'pjsip reload'"):
            cli.reload("pjsip reload")
    finally:
        thread.join()
        server.close()


def test_registrar_contacts_carry_the_user_agent_and_nothing_secret():
    contacts = _asterisk.parse_registrar_contacts(captured("database_show_registrar_contact.txt"))
    assert [(c["aor"], c["endpoint"], c["uri"], c["user_agent"], c["via_addr"]) for c in contacts] == [
        ("8001", "8001", "sip:8001@10.89.20.1:54081", "vicilab-sipreg/1.0", "10.89.20.1"),
        ("8005", "8005", "sip:8005@10.89.20.1:53090", "vicilab-sipreg/1.0", "10.89.20.1")]
    assert set(contacts[0]) == {"aor", "endpoint", "uri", "user_agent", "via_addr", "via_port", "expiration_time"}
    assert _asterisk.parse_registrar_contacts(captured("database_show_registrar_contact_empty.txt")) == []
    assert _asterisk.parse_registrar_contacts("/registrar/contact/8001;@abc: {not json}") == []


def test_versions_from_asterisk_and_from_vicidials_servers_table():
    assert _asterisk.parse_version(captured("core_show_version.txt")) == (22, 10, 1)
    assert _asterisk.parse_version(captured("not_running.txt")) is None
    assert _asterisk.version_tuple("13.29.2-vici") == (13, 29, 2)
    assert _asterisk.version_tuple("1.4.21.2") == (1, 4, 21, 2)
    assert _asterisk.version_tuple("") is None and _asterisk.version_tuple(None) is None


def test_live_answers_ask_every_question_and_sip_only_where_chan_sip_is_loaded():
    asked = []

    class FakeCli(object):
        def __init__(self, sip):
            self.sip = sip

        def ask(self, command):
            asked.append(command)
            return "answer to " + command

        def has_module(self, name):
            return self.sip and name == "chan_sip.so"

    answers = _asterisk.live_answers(FakeCli(sip=False))
    assert sorted(answers) == ["core show version", "database show registrar/contact", "iax2 show peers",
                               "pjsip show endpoints"]
    assert not any("auth" in command for command in asked)
    assert "sip show peers" in _asterisk.live_answers(FakeCli(sip=True))
