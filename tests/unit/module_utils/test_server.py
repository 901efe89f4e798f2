"""_server: the pure decisions of a server run (what changed, what Asterisk could never load)."""

from __future__ import absolute_import, division, print_function

from ansible_collections.telephony.vicidial.plugins.module_utils import _render, _server

SERVER = {"server_ip": "10.0.0.11", "server_id": "ast1", "asterisk_version": "22.10.1"}


def row(ext, **values):
    base = dict(extension=ext, dialplan_number=ext, voicemail_id=ext, server_ip="10.0.0.11", active="Y",
                protocol="PJSIP", conf_secret="s3cret-%s-abcdef" % ext, phone_context="default",
                phone_ring_timeout="60", template_id="--NONE--", conf_override="", fullname="", outbound_cid="")
    base.update(values)
    return base


def render(phones, templates=None):
    return _render.render_server_config(phones, templates or {}, {}, SERVER)


def test_changed_phones_are_the_stanzas_and_numbers_that_differ():
    old = [row("8001"), row("8002"), row("8003", protocol="IAX2")]
    new = [row("8001"), row("8002", conf_secret="another-secret-123"), row("8003", protocol="IAX2",
                                                                           phone_ring_timeout="30"),
           row("8004")]
    assert _server.changed_phones(new, render(old), render(new)) == {"8002", "8003", "8004"}
    assert _server.changed_phones(new, render(new), render(new)) == set()
    # A phone that left: its stanza differs too (gone), which is what the reload must show.
    assert _server.changed_phones(old[:2], render(old), render(old[:2])) == {"8003"}


def test_sip_leftovers_in_a_pjsip_override_or_template_are_named_without_values():
    templates = {"OLD_SIP": "type=friend\r\nhost=dynamic\r\ndtmfmode=rfc2833\r\n",
                 "WIZ": "endpoint/context=agents\naor/max_contacts=1\n"}
    assert _server.pjsip_row_problems(row("8001", template_id="OLD_SIP"), templates) == [
        ("template OLD_SIP", ["type=friend", "host", "dtmfmode"])]
    assert _server.pjsip_row_problems(row("8002", template_id="WIZ"), templates) == []
    override = "type=friend\r\nsecret=hunter2hunter2\r\nhost=dynamic\r\n"
    found = _server.pjsip_row_problems(row("8003", conf_override=override), templates)
    assert found == [("conf_override", ["type=friend", "secret", "host"])]
    assert "hunter2" not in str(found)
    # An override used alone must itself be a wizard object.
    assert _server.pjsip_row_problems(row("8004", conf_override="endpoint/context=default"), templates) == [
        ("conf_override", ["no type=wizard"])]
    # An override of 10 characters or fewer is ignored by VICIdial, so it is not judged.
    assert _server.pjsip_row_problems(row("8005", conf_override="host=x"), templates) == []


def test_secret_is_checkable_where_the_stanza_carries_conf_secret():
    assert _server.secret_in_config(row("8001"), {})
    assert _server.secret_in_config(row("8001", template_id="WIZ"), {"WIZ": "endpoint/context=x"})
    assert not _server.secret_in_config(row("8001", conf_override="type=wizard\ninbound_auth/password=x"), {})


def test_phones_changed_in_vicidials_files():
    before = (b"[vicidial-auto-phones]\nexten => 8001,1,Dial(SIP/8001,60,)\n"
              b"exten => 8002,1,Dial(PJSIP/8002,60,)\n[vicidial-auto]\n")
    after = (b"[vicidial-auto-phones]\nexten => 8001,1,Dial(PJSIP/8001,60,)\n"
             b"exten => 8002,1,Dial(PJSIP/8002,60,)\n[vicidial-auto]\n")
    assert _server.changed_in_vicidial_file("/etc/asterisk/extensions-vicidial.conf", before, after) == {"8001"}
    wiz_before = b"; PJSIP_WIZ Phone Settings: \n\n[8002]\ntype=wizard\ninbound_auth/password=a\n"
    wiz_after = wiz_before + b"\n[8001]\ntype=wizard\n"
    assert _server.changed_in_vicidial_file("/etc/asterisk/pjsip_wizard-vicidial.conf", wiz_before,
                                            wiz_after) == {"8001"}
