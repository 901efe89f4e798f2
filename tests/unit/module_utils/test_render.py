# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the VICIdial phone config renderer.

Expected texts are written out by hand from vicidial-phones.md (3.3-3.6, 9)
and ADMIN_keepalive_ALL.pl, never computed with the code under test.
"""

from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.telephony.vicidial.plugins.module_utils._render import (
    expected_objects,
    mask_secrets,
    render_server_config,
    unsafe_rows,
)

__metaclass__ = type

HEADER = "; Managed by Ansible (telephony.vicidial): do not edit, changes are overwritten\n"
IP = "10.10.10.15"
SERVER = {"server_ip": IP, "server_id": "ast1", "asterisk_version": "22.10.1"}
SETTINGS = {"default_codecs": "", "generate_cross_server_exten": "0"}
H_MODERN = (
    "exten => h,1,AGI(agi://127.0.0.1:4577/call_log--HVcauses--PRI-----NODEBUG-----"
    "${HANGUPCAUSE}-----${DIALSTATUS}-----${DIALEDTIME}-----${ANSWEREDTIME}"
    "-----${HANGUPCAUSE(${HANGUPCAUSE_KEYS()},tech)}))"
)
H_16 = (
    "exten => h,1,AGI(agi://127.0.0.1:4577/call_log--HVcauses--PRI-----NODEBUG-----"
    "${HANGUPCAUSE}-----${DIALSTATUS}-----${DIALEDTIME}-----${ANSWEREDTIME})"
)
H_PRE16 = (
    "exten => h,1,DeadAGI(agi://127.0.0.1:4577/call_log--HVcauses--PRI-----NODEBUG-----"
    "${HANGUPCAUSE}-----${DIALSTATUS}-----${DIALEDTIME}-----${ANSWEREDTIME})"
)
SIP_GENERIC = "type=friend\nhost=dynamic\ncanreinvite=no\ncontext=default"
IAX_GENERIC = "type=friend\nhost=dynamic\nmaxauthreq=10\nauth=md5,plaintext,rsa\ncontext=default"

PJSIP_TAIL = (
    "endpoint/dtmf_mode = rfc4733\n"
    "endpoint/trust_id_inbound = no\n"
    "endpoint/send_rpid = yes\n"
    "endpoint/inband_progress = no\n"
    "endpoint/tos_audio = ef\n"
    "endpoint/language = en\n"
    "endpoint/rtp_symmetric = yes\n"
    "endpoint/rewrite_contact = yes\n"
    "endpoint/rtp_timeout = 60\n"
    "endpoint/use_ptime = yes\n"
    "endpoint/moh_suggest = default\n"
    "endpoint/direct_media = no\n"
)
AOR_LINES = (
    "aor/max_contacts = 1\n"
    "aor/maximum_expiration = 3600\n"
    "aor/minimum_expiration = 60\n"
    "aor/default_expiration = 120\n"
    "aor/qualify_frequency = 15\n"
)


def phone(extension, protocol="PJSIP", **cols):
    """A phones row the way PyMySQL returns it (ints for numeric columns)."""
    row = {
        "extension": extension,
        "dialplan_number": extension,
        "voicemail_id": extension,
        "server_ip": IP,
        "login": "l" + extension,
        "pass": "vmpin",
        "status": "ACTIVE",
        "active": "Y",
        "protocol": protocol,
        "fullname": "",
        "outbound_cid": "",
        "conf_secret": "pw" + extension,
        "phone_context": "default",
        "phone_ring_timeout": 60,
        "conf_qualify": "N",
        "mohsuggest": "",
        "codecs_list": "",
        "codecs_with_template": "0",
        "template_id": "",
        "conf_override": None,
        "voicemail_instructions": "Y",
        "unavail_dialplan_fwd_exten": "",
        "unavail_dialplan_fwd_context": "",
        "is_webphone": "N",
    }
    row.update(cols)
    return row


def render(phones, templates=None, settings=None, server=None, **kwargs):
    return render_server_config(
        phones,
        templates or {},
        dict(SETTINGS, **(settings or {})),
        dict(SERVER, **(server or {})),
        **kwargs
    )


def body(text):
    """File text without our header line (asserting that it is there)."""
    assert text.startswith(HEADER)
    return text[len(HEADER):]


def dialplan(text):
    """The phone entries of [vicidial-auto-phones], header lines checked."""
    start = HEADER + "\n[vicidial-auto-phones]\n"
    assert text.startswith(start)
    rest = text[len(start):]
    hangup, rest = rest.split("\n", 1)
    assert rest.startswith("\n; Phones direct dial extensions:\n")
    assert rest.endswith("\n")
    return rest[len("\n; Phones direct dial extensions:\n"):-1]


# --------------------------------------------------------------------------
# IAX2


def test_iax2_default_stanza_full_file():
    row = phone(
        "1001", "IAX2", fullname="Jane Doe", outbound_cid="3125551001",
        conf_qualify="Y", codecs_list="ulaw,gsm", mohsuggest="jazz",
    )
    out = render([row])
    assert out["iax"] == (
        HEADER
        + "\n"
        "[1001]\n"
        "username=1001\n"
        "secret=pw1001\n"
        "accountcode=1001\n"
        'callerid="Jane Doe" <3125551001>\n'
        "mailbox=1001\n"
        "requirecalltoken=no\n"
        "context=default\n"
        "disallow=all\n"
        "allow=gsm\n"
        "allow=ulaw\n"
        "type=friend\n"
        "auth=md5\n"
        "host=dynamic\n"
        "qualify=yes\n"
        "mohsuggest=jazz\n"
        "\n"
    )
    assert "sip" not in out
    assert out["pjsip_wizard"] == HEADER + "\n"


def test_iax2_qualify_n_no_callerid_no_moh_no_codecs():
    out = render([phone("1002", "IAX2", conf_qualify="N", phone_context="agents")])
    assert body(out["iax"]) == (
        "\n[1002]\nusername=1002\nsecret=pw1002\naccountcode=1002\nmailbox=1002\n"
        "requirecalltoken=no\ncontext=agents\ntype=friend\nauth=md5\nhost=dynamic\n\n"
    )


def test_callerid_when_only_one_part_set_and_none_is_empty():
    rows = [
        phone("1003", "IAX2", fullname=None, outbound_cid="777"),
        phone("1004", "IAX2", fullname="Only Name", outbound_cid=None),
        phone("1005", "IAX2", fullname=None, outbound_cid=None),
    ]
    text = body(render(rows)["iax"])
    assert 'callerid="" <777>\n' in text
    assert 'callerid="Only Name" <>\n' in text
    assert text.count("callerid=") == 2


def test_iax2_template_mode_qualify_before_codecs():
    row = phone(
        "1010", "IAX2", template_id="IAX_generic", conf_qualify="Y",
        codecs_with_template="1", codecs_list="alaw", mohsuggest="rock",
        fullname="T", outbound_cid="1",
    )
    out = render([row], {"IAX_generic": IAX_GENERIC})
    assert body(out["iax"]) == (
        "\n[1010]\n"
        "username=1010\n"
        "secret=pw1010\n"
        "accountcode=1010\n"
        'callerid="T" <1>\n'
        "mailbox=1010\n"
        "qualify=yes\n"
        "disallow=all\n"
        "allow=alaw\n"
        "mohsuggest=rock\n"
        "type=friend\nhost=dynamic\nmaxauthreq=10\nauth=md5,plaintext,rsa\ncontext=default\n"
        "\n"
    )


# --------------------------------------------------------------------------
# SIP


def test_sip_default_stanza_has_no_qualify_and_needs_chan_sip():
    row = phone(
        "2001", "SIP", conf_qualify="Y", mohsuggest="default", fullname="Bob",
        outbound_cid="42", codecs_list="g729, ulaw",
    )
    out = render([row], chan_sip=True)
    assert out["sip"] == (
        HEADER
        + "\n"
        "[2001]\n"
        "username=2001\n"
        "secret=pw2001\n"
        "accountcode=2001\n"
        'callerid="Bob" <42>\n'
        "mailbox=2001\n"
        "context=default\n"
        "disallow=all\n"
        "allow=ulaw\n"
        "allow=g729\n"
        "type=friend\n"
        "host=dynamic\n"
        "mohsuggest=default\n"
        "\n"
    )
    no_sip = render([row])
    assert "sip" not in no_sip
    # VICIdial keeps SIP dial plan entries even where chan_sip is gone.
    assert "exten => 2001,1,Dial(SIP/2001,60,)\n" in no_sip["extensions"]


def test_sip_template_mode_codecs_only_with_codecs_with_template():
    templates = {"SIP_generic": SIP_GENERIC}
    without = render([phone("2002", "SIP", template_id="SIP_generic", codecs_list="gsm")],
                     templates, chan_sip=True)
    assert body(without["sip"]) == (
        "\n[2002]\nusername=2002\nsecret=pw2002\naccountcode=2002\nmailbox=2002\n"
        "type=friend\nhost=dynamic\ncanreinvite=no\ncontext=default\n\n"
    )
    with_codecs = render(
        [phone("2002", "SIP", template_id="SIP_generic", codecs_list="gsm",
               codecs_with_template="1", mohsuggest="m1", conf_qualify="Y")],
        templates, chan_sip=True,
    )
    assert body(with_codecs["sip"]) == (
        "\n[2002]\nusername=2002\nsecret=pw2002\naccountcode=2002\nmailbox=2002\n"
        "disallow=all\nallow=gsm\nmohsuggest=m1\n"
        "type=friend\nhost=dynamic\ncanreinvite=no\ncontext=default\n\n"
    )


# --------------------------------------------------------------------------
# PJSIP


def test_pjsip_default_stanza_full_file():
    row = phone(
        "3001", fullname="Agent One", outbound_cid="3125550001",
        codecs_list="alaw, G722", mohsuggest="ignored", conf_qualify="Y",
        phone_context="vicidial-phones",
    )
    out = render([row])
    assert out["pjsip_wizard"] == (
        HEADER
        + "\n"
        "[3001]\n"
        "type=wizard\n"
        "accepts_auth=yes\n"
        "accepts_registrations=yes\n"
        "inbound_auth/username=3001\n"
        "inbound_auth/password=pw3001\n"
        "aor/max_contacts = 1\n"
        "aor/maximum_expiration = 3600\n"
        "aor/minimum_expiration = 60\n"
        "aor/default_expiration = 120\n"
        "aor/qualify_frequency = 15\n"
        "endpoint/context=vicidial-phones\n"
        'endpoint/callerid="Agent One" <3125550001>\n'
        "endpoint/mailboxes=3001\n"
        "endpoint/disallow=all\n"
        "endpoint/allow=alaw\n"
        "endpoint/allow=g722\n"
        "endpoint/dtmf_mode = rfc4733\n"
        "endpoint/trust_id_inbound = no\n"
        "endpoint/send_rpid = yes\n"
        "endpoint/inband_progress = no\n"
        "endpoint/tos_audio = ef\n"
        "endpoint/language = en\n"
        "endpoint/rtp_symmetric = yes\n"
        "endpoint/rewrite_contact = yes\n"
        "endpoint/rtp_timeout = 60\n"
        "endpoint/use_ptime = yes\n"
        "endpoint/moh_suggest = default\n"
        "endpoint/direct_media = no\n"
        "\n"
        "\n"
    )
    assert "mohsuggest" not in out["pjsip_wizard"]
    assert "qualify=yes" not in out["pjsip_wizard"]
    assert out["iax"] == HEADER + "\n"


def pjsip_default(ext, codec_lines, extra=""):
    return (
        "\n[%s]\ntype=wizard\naccepts_auth=yes\naccepts_registrations=yes\n"
        "inbound_auth/username=%s\ninbound_auth/password=pw%s\n" % (ext, ext, ext)
        + AOR_LINES
        + "endpoint/context=default\nendpoint/mailboxes=%s\n" % ext
        + codec_lines
        + PJSIP_TAIL
        + extra
        + "\n"
    )


GSM_ULAW = "endpoint/disallow=all\nendpoint/allow=gsm\nendpoint/allow=ulaw\n"


@pytest.mark.parametrize("codecs_list", ["", None, "ul"])
def test_pjsip_fallback_gsm_ulaw_for_short_list(codecs_list):
    out = render([phone("3002", codecs_list=codecs_list)], settings={"default_codecs": "ul"})
    assert body(out["pjsip_wizard"]) == pjsip_default("3002", GSM_ULAW) + "\n"


def test_short_list_takes_default_codecs_for_every_protocol():
    rows = [
        phone("4001", "IAX2", codecs_list="u"),
        phone("4002", "SIP", codecs_list=""),
        phone("4003", "PJSIP", codecs_list=None),
    ]
    out = render(rows, settings={"default_codecs": "ALAW,ulaw"}, chan_sip=True)
    assert "context=default\ndisallow=all\nallow=ulaw\nallow=alaw\ntype=friend\n" in out["iax"]
    assert "context=default\ndisallow=all\nallow=ulaw\nallow=alaw\ntype=friend\n" in out["sip"]
    assert body(out["pjsip_wizard"]) == pjsip_default(
        "4003", "endpoint/disallow=all\nendpoint/allow=ulaw\nendpoint/allow=alaw\n"
    ) + "\n"


def test_phone_codecs_list_wins_over_default_codecs():
    out = render([phone("4004", "IAX2", codecs_list="gsm")], settings={"default_codecs": "ulaw"})
    assert "disallow=all\nallow=gsm\ntype=friend\n" in out["iax"]
    assert "allow=ulaw" not in out["iax"]


def test_garbage_codec_list_gives_no_codec_lines_even_for_pjsip():
    rows = [
        phone("4101", "IAX2", codecs_list="xyz, foo"),
        phone("4102", "SIP", codecs_list="xyz, foo"),
        phone("4103", "PJSIP", codecs_list="xyz, foo"),
    ]
    out = render(rows, settings={"default_codecs": "ulaw"}, chan_sip=True)
    assert "context=default\ntype=friend\nauth=md5\n" in out["iax"]
    assert "context=default\ntype=friend\nhost=dynamic\n" in out["sip"]
    assert body(out["pjsip_wizard"]) == pjsip_default("4103", "") + "\n"
    for text in out.values():
        assert "allow" not in text


def test_codecs_in_vicidial_fixed_order_with_aliases():
    listed = "slin16, OPUS, g729a, u-law, A-LAW, G.723, gsm, speex adpcm lpc10 iLBC g.726 g719 G722"
    out = render([phone("4201", "IAX2", codecs_list=listed)])
    assert (
        "context=default\ndisallow=all\nallow=gsm\nallow=ulaw\nallow=alaw\nallow=g719\n"
        "allow=g722\nallow=g723\nallow=g726\nallow=g729\nallow=ilbc\nallow=lpc10\n"
        "allow=speex\nallow=adpcm\nallow=opus\nallow=slin\ntype=friend\n"
    ) in out["iax"]


def test_pjsip_template_without_allow_gets_codec_lines_and_cr_removed():
    templates = {"PJ_WEB": "aor/max_contacts=1\r\nendpoint/context=web\r\nendpoint/transport=wss"}
    row = phone("3010", template_id="PJ_WEB", fullname="W", outbound_cid="9", conf_override="")
    out = render([row], templates)
    assert body(out["pjsip_wizard"]) == (
        "\n[3010]\n"
        "type=wizard\n"
        "accepts_auth=yes\n"
        "accepts_registrations=yes\n"
        "inbound_auth/username=3010\n"
        "inbound_auth/password=pw3010\n"
        'endpoint/callerid="W" <9>\n'
        "endpoint/mailboxes=3010\n"
        "endpoint/disallow=all\n"
        "endpoint/allow=gsm\n"
        "endpoint/allow=ulaw\n"
        "aor/max_contacts=1\n"
        "endpoint/context=web\n"
        "endpoint/transport=wss\n"
        "\n"
    )
    assert "\r" not in out["pjsip_wizard"]


def test_pjsip_template_with_allow():
    templates = {"PJ_A": "endpoint/ALLOW=ulaw\naor/max_contacts=2"}
    plain = render([phone("3011", template_id="PJ_A", codecs_list="opus")], templates)
    assert body(plain["pjsip_wizard"]) == (
        "\n[3011]\ntype=wizard\naccepts_auth=yes\naccepts_registrations=yes\n"
        "inbound_auth/username=3011\ninbound_auth/password=pw3011\n"
        "endpoint/mailboxes=3011\n"
        "endpoint/ALLOW=ulaw\naor/max_contacts=2\n\n"
    )
    # codecs_with_template=1 on top of the template's allow=: two blocks.
    both = render([phone("3011", template_id="PJ_A", codecs_list="opus", codecs_with_template="1")],
                  templates)
    assert body(both["pjsip_wizard"]) == (
        "\n[3011]\ntype=wizard\naccepts_auth=yes\naccepts_registrations=yes\n"
        "inbound_auth/username=3011\ninbound_auth/password=pw3011\n"
        "endpoint/mailboxes=3011\n"
        "endpoint/disallow=all\nendpoint/allow=opus\n"
        "endpoint/ALLOW=ulaw\naor/max_contacts=2\n\n"
    )


def test_pjsip_template_disallow_counts_as_allow_like_vicidial():
    templates = {"PJ_D": "endpoint/disallow=all\naor/max_contacts=1"}
    out = render([phone("3012", template_id="PJ_D")], templates)
    assert "endpoint/mailboxes=3012\nendpoint/disallow=all\naor/max_contacts=1\n\n" in out["pjsip_wizard"]
    assert "allow=gsm" not in out["pjsip_wizard"]


# --------------------------------------------------------------------------
# template / override selection


@pytest.mark.parametrize("template_id", ["", None, "--NONE--", "S", "MISSING"])
def test_no_template_mode_falls_back_to_default(template_id):
    # "S" exists but is only one character long; MISSING is not in templates.
    templates = {"S": "type=peer", "--NONE--": "type=peer", "SIP_generic": SIP_GENERIC}
    out = render([phone("5001", "SIP", template_id=template_id)], templates, chan_sip=True)
    assert body(out["sip"]) == (
        "\n[5001]\nusername=5001\nsecret=pw5001\naccountcode=5001\nmailbox=5001\n"
        "context=default\ntype=friend\nhost=dynamic\n\n"
    )


def test_override_of_exactly_10_chars_is_ignored():
    out = render([phone("5002", "IAX2", conf_override="host=abcde")])
    assert "requirecalltoken=no" in out["iax"]
    assert "host=abcde" not in out["iax"]


def test_override_of_11_chars_replaces_stanza_and_keeps_cr():
    override = "type=friend\r\nsecret=zz"
    out = render([phone("5003", "IAX2", conf_override=override, fullname="X")])
    assert body(out["iax"]) == "\n[5003]\ntype=friend\r\nsecret=zz\n\n"
    # the dial plan still comes from the row
    assert "exten => 5003,1,Dial(IAX2/5003,60,)\n" in out["extensions"]


def test_pjsip_override_written_verbatim():
    override = "type=wizard\naccepts_auth=yes\ninbound_auth/password=ov"
    out = render([phone("5004", conf_override=override, is_webphone="Y")])
    assert body(out["pjsip_wizard"]) == "\n[5004]\n" + override + "\n\n"


def test_template_plus_override_appends_override():
    out = render(
        [phone("5005", "SIP", template_id="SIP_generic", conf_override="nat=force_rport")],
        {"SIP_generic": SIP_GENERIC}, chan_sip=True,
    )
    assert body(out["sip"]) == (
        "\n[5005]\nusername=5005\nsecret=pw5005\naccountcode=5005\nmailbox=5005\n"
        "type=friend\nhost=dynamic\ncanreinvite=no\ncontext=default\n"
        "nat=force_rport\n\n"
    )


def test_missing_template_with_override_gives_override_alone():
    out = render([phone("5006", "SIP", template_id="GONE", conf_override="type=friend\nhost=1.2.3.4")],
                 {"SIP_generic": SIP_GENERIC}, chan_sip=True)
    assert body(out["sip"]) == "\n[5006]\ntype=friend\nhost=1.2.3.4\n\n"


def test_template_lookup_is_case_insensitive_like_mysql():
    out = render([phone("5007", "SIP", template_id="sip_GENERIC")], {"SIP_generic": SIP_GENERIC},
                 chan_sip=True)
    assert "mailbox=5007\ntype=friend\nhost=dynamic\ncanreinvite=no\ncontext=default\n" in out["sip"]


# --------------------------------------------------------------------------
# selection and ordering


def test_selection_active_and_protocols_only():
    rows = [
        phone("6001", "PJSIP", active="N"),
        phone("6002", "PJSIP", active=None),
        phone("6003", "Zap"),
        phone("6004", "EXTERNAL"),
        phone("6005", "PJSIP", status="SUSPENDED"),
        phone("6006", "IAX2", status="CLOSED"),
    ]
    out = render(rows, chan_sip=True)
    assert dialplan(out["extensions"]) == (
        "exten => 6006,1,Dial(IAX2/6006,60,)\n"
        "exten => 6006,2,Goto(default,850266666666666006,1)\n"
        "exten => 6006,3,Hangup()\n"
        "exten => 6005,1,Dial(PJSIP/6005,60,)\n"
        "exten => 6005,2,Goto(default,850266666666666005,1)\n"
        "exten => 6005,3,Hangup()\n"
    )
    everything = "".join(out.values())
    for ext in ("6001", "6002", "6003", "6004"):
        assert ext not in everything
    assert body(out["sip"]) == "\n"


def test_order_iax2_sip_pjsip_each_sorted_by_extension_as_text():
    rows = [
        phone("3", "PJSIP"),
        phone("20", "SIP"),
        phone("100", "PJSIP"),
        phone("b", "IAX2"),
        phone("A", "IAX2"),
        phone("C", "IAX2"),
        phone("100", "SIP", server_ip=IP, dialplan_number="9100"),
    ]
    out = render(rows, chan_sip=True)
    lines = [line for line in dialplan(out["extensions"]).splitlines() if ",1,Dial(" in line]
    assert lines == [
        "exten => A,1,Dial(IAX2/A,60,)",
        "exten => b,1,Dial(IAX2/b,60,)",
        "exten => C,1,Dial(IAX2/C,60,)",
        "exten => 9100,1,Dial(SIP/100,60,)",
        "exten => 20,1,Dial(SIP/20,60,)",
        "exten => 100,1,Dial(PJSIP/100,60,)",
        "exten => 3,1,Dial(PJSIP/3,60,)",
    ]
    assert out["pjsip_wizard"].index("[100]") < out["pjsip_wizard"].index("[3]")
    assert out["iax"].index("[A]") < out["iax"].index("[b]") < out["iax"].index("[C]")


def test_deterministic_and_independent_of_row_order():
    rows = [
        phone("7001", "IAX2", codecs_list="ulaw"),
        phone("7002", "SIP", template_id="SIP_generic"),
        phone("7003", "PJSIP", is_webphone="Y"),
        phone("7004", "PJSIP", fullname="Z"),
    ]
    templates = {"SIP_generic": SIP_GENERIC}
    first = render(rows, templates, chan_sip=True)
    again = render([dict(r) for r in rows], dict(templates), chan_sip=True)
    reverse = render(list(reversed(rows)), templates, chan_sip=True)
    assert first == again == reverse
    for text in first.values():
        assert text.startswith(HEADER)
        assert "END OF FILE" not in text
        assert "WARNING- THIS FILE IS AUTO-GENERATED BY VICIDIAL" not in text


# --------------------------------------------------------------------------
# dial plan


def test_extensions_file_full_text():
    rows = [
        phone("8001", "IAX2", dialplan_number="18001", voicemail_id="vm1", phone_ring_timeout=25),
        phone("8002", "SIP", voicemail_instructions="N", voicemail_id="vm2"),
        phone("8003", "PJSIP", unavail_dialplan_fwd_exten="8300", unavail_dialplan_fwd_context="agents"),
        phone("8004", "PJSIP", unavail_dialplan_fwd_exten="5551234", unavail_dialplan_fwd_context=None),
    ]
    assert render(rows)["extensions"] == (
        HEADER
        + "\n"
        "[vicidial-auto-phones]\n"
        + H_MODERN
        + "\n"
        "\n"
        "; Phones direct dial extensions:\n"
        "exten => 18001,1,Dial(IAX2/8001,25,)\n"
        "exten => 18001,2,Goto(default,85026666666666vm1,1)\n"
        "exten => 18001,3,Hangup()\n"
        "exten => 8002,1,Dial(SIP/8002,60,)\n"
        "exten => 8002,2,Goto(default,85026666666667vm2,1)\n"
        "exten => 8002,3,Hangup()\n"
        "exten => 8003,1,Dial(PJSIP/8003,60,)\n"
        "exten => 8003,2,Goto(agents,8300,1)\n"
        "exten => 8003,3,Hangup()\n"
        "exten => 8004,1,Dial(PJSIP/8004,60,)\n"
        "exten => 8004,2,Goto(default,5551234,1)\n"
        "exten => 8004,3,Hangup()\n"
        "\n"
    )


def test_empty_server_still_has_phones_context():
    assert render([])["extensions"] == (
        HEADER + "\n[vicidial-auto-phones]\n" + H_MODERN + "\n\n; Phones direct dial extensions:\n\n"
    )


def test_pre_1_6_asterisk_uses_pipes_and_no_hangup_priority():
    rows = [phone("8101", "IAX2"), phone("8102", "PJSIP", voicemail_instructions="N")]
    out = render(rows, server={"asterisk_version": "1.4.21.2"})
    assert out["extensions"] == (
        HEADER
        + "\n[vicidial-auto-phones]\n"
        + H_PRE16
        + "\n\n; Phones direct dial extensions:\n"
        "exten => 8101,1,Dial(IAX2/8101|60|)\n"
        "exten => 8101,2,Goto(default,850266666666668101,1)\n"
        "exten => 8102,1,Dial(PJSIP/8102|60|)\n"
        "exten => 8102,2,Goto(default,850266666666678102,1)\n"
        "\n"
    )


@pytest.mark.parametrize(
    "version, dial, hangup",
    [
        ("1.2.40", "exten => 9,1,Dial(IAX2/9|60|)\n", H_PRE16),
        ("", "exten => 9,1,Dial(IAX2/9|60|)\n", H_PRE16),  # VICIdial reads '' as pre-1.6
        (None, "exten => 9,1,Dial(IAX2/9|60|)\n", H_PRE16),
        ("1.6.2.24", "exten => 9,1,Dial(IAX2/9,60,)\n", H_16),
        ("1.8.32.3-vici", "exten => 9,1,Dial(IAX2/9,60,)\n", H_16),
        ("11.25.3", "exten => 9,1,Dial(IAX2/9,60,)\n", H_16),
        ("13.38.3-vici", "exten => 9,1,Dial(IAX2/9,60,)\n", H_MODERN),
        ("16.x", "exten => 9,1,Dial(IAX2/9,60,)\n", H_MODERN),
        ("22.10.1", "exten => 9,1,Dial(IAX2/9,60,)\n", H_MODERN),
    ],
)
def test_asterisk_version_decides_syntax(version, dial, hangup):
    text = render([phone("9", "IAX2")], server={"asterisk_version": version})["extensions"]
    assert text.splitlines()[3] == hangup
    assert dial in text
    assert ("exten => 9,3,Hangup()\n" in text) == (dial.endswith(",60,)\n"))


# --------------------------------------------------------------------------
# cross-server entries


REMOTE_SERVERS = [
    {"server_ip": "10.10.10.16", "server_id": "ast2", "active_asterisk_server": "Y"},
    {"server_ip": "192.168.1.7", "server_id": "ast3", "active_asterisk_server": "Y"},
    {"server_ip": "10.10.10.17", "server_id": "old", "active_asterisk_server": "N"},
]


def remote(ext, ip, protocol="SIP", **cols):
    return phone(ext, protocol, server_ip=ip, **cols)


def test_cross_server_entries():
    local = [phone("1001", "IAX2"), phone("1002", "PJSIP")]
    remotes = [
        remote("2002", "10.10.10.16", fullname="Zed"),
        remote("2001", "192.168.1.7", "IAX2", fullname="Amy Lee"),
        remote("1001", "10.10.10.16"),  # dial plan number used locally (IAX2)
        remote("x1002", "10.10.10.16", dialplan_number="1002"),  # used locally (PJSIP)
        remote("2003", "10.10.10.16", "PJSIP"),  # PJSIP never
        remote("2004", "10.10.10.16", "Zap"),
        remote("2005", "10.10.10.16", active="N"),
        remote("2006", "10.10.10.17"),  # server not an active Asterisk server
        remote("2007", "10.10.10.99"),  # unknown server
        remote("2008", "10.10.10.16", "IAX2", dialplan_number="1500"),
    ]
    out = render(local, settings={"generate_cross_server_exten": "1"},
                 remote_phones=remotes, remote_servers=REMOTE_SERVERS)
    assert dialplan(out["extensions"]) == (
        "exten => 1001,1,Dial(IAX2/1001,60,)\n"
        "exten => 1001,2,Goto(default,850266666666661001,1)\n"
        "exten => 1001,3,Hangup()\n"
        "exten => 1002,1,Dial(PJSIP/1002,60,)\n"
        "exten => 1002,2,Goto(default,850266666666661002,1)\n"
        "exten => 1002,3,Hangup()\n"
        "; Remote Phone Entry 0: 2008 10.10.10.16 \n"
        "exten => 1500,1,Goto(default,010*010*010*016*1500,1)\n"
        "; Remote Phone Entry 1: 2001 192.168.1.7 Amy Lee\n"
        "exten => 2001,1,Goto(default,192*168*001*007*2001,1)\n"
        "; Remote Phone Entry 2: 2002 10.10.10.16 Zed\n"
        "exten => 2002,1,Goto(default,010*010*010*016*2002,1)\n"
    )
    # remote phones never produce peers or endpoints here
    assert "2001" not in out["iax"] and "2002" not in out["pjsip_wizard"]


def test_cross_server_off_or_without_other_servers():
    remotes = [remote("2002", "10.10.10.16")]
    off = render([], settings={"generate_cross_server_exten": "0"},
                 remote_phones=remotes, remote_servers=REMOTE_SERVERS)
    no_servers = render([], settings={"generate_cross_server_exten": "1"},
                        remote_phones=remotes, remote_servers=[])
    only_self = render([], settings={"generate_cross_server_exten": "1"}, remote_phones=remotes,
                       remote_servers=[{"server_ip": IP, "active_asterisk_server": "Y"}])
    for out in (off, no_servers, only_self):
        assert dialplan(out["extensions"]) == ""


# --------------------------------------------------------------------------
# webphones (deliberate difference 2)

WEBRTC = "endpoint/webrtc = yes\nendpoint/dtls_auto_generate_cert = yes\naor/remove_existing = yes\n"
OPUS_ULAW = "endpoint/disallow=all\nendpoint/allow=opus\nendpoint/allow=ulaw\n"


@pytest.mark.parametrize("flag", ["Y", "Y_API_LAUNCH"])
def test_webphone_default_mode_gets_webrtc_lines(flag):
    out = render([phone("3100", is_webphone=flag)], settings={"default_codecs": "gsm"})
    assert out["pjsip_wizard"] == (
        HEADER
        + "\n"
        "[3100]\n"
        "type=wizard\n"
        "accepts_auth=yes\n"
        "accepts_registrations=yes\n"
        "inbound_auth/username=3100\n"
        "inbound_auth/password=pw3100\n"
        "aor/max_contacts = 1\n"
        "aor/maximum_expiration = 3600\n"
        "aor/minimum_expiration = 60\n"
        "aor/default_expiration = 120\n"
        "aor/qualify_frequency = 15\n"
        "endpoint/context=default\n"
        "endpoint/mailboxes=3100\n"
        "endpoint/disallow=all\n"
        "endpoint/allow=opus\n"
        "endpoint/allow=ulaw\n"
        "endpoint/dtmf_mode = rfc4733\n"
        "endpoint/trust_id_inbound = no\n"
        "endpoint/send_rpid = yes\n"
        "endpoint/inband_progress = no\n"
        "endpoint/tos_audio = ef\n"
        "endpoint/language = en\n"
        "endpoint/rtp_symmetric = yes\n"
        "endpoint/rewrite_contact = yes\n"
        "endpoint/rtp_timeout = 60\n"
        "endpoint/use_ptime = yes\n"
        "endpoint/moh_suggest = default\n"
        "endpoint/direct_media = no\n"
        "endpoint/webrtc = yes\n"
        "endpoint/dtls_auto_generate_cert = yes\n"
        "aor/remove_existing = yes\n"
        "\n"
        "\n"
    )


def test_webphone_own_codecs_list_is_kept():
    out = render([phone("3101", is_webphone="Y", codecs_list="ulaw,alaw")])
    codecs = "endpoint/disallow=all\nendpoint/allow=ulaw\nendpoint/allow=alaw\n"
    assert body(out["pjsip_wizard"]) == pjsip_default("3101", codecs, WEBRTC) + "\n"


def test_webphone_only_changes_pjsip_default_mode():
    templates = {"PJ_T": "endpoint/allow=ulaw", "SIP_generic": SIP_GENERIC}
    rows = [
        phone("3102", is_webphone="N"),
        phone("3103", is_webphone="Y", template_id="PJ_T"),
        phone("3104", "SIP", is_webphone="Y"),
        phone("3105", "IAX2", is_webphone="Y"),
    ]
    out = render(rows, templates, chan_sip=True)
    assert body(out["pjsip_wizard"]).startswith(pjsip_default("3102", GSM_ULAW))
    assert "webrtc" not in "".join(out.values())
    assert "remove_existing" not in "".join(out.values())
    assert "opus" not in "".join(out.values())


# --------------------------------------------------------------------------
# mask_secrets


def test_mask_secrets_every_secret_form():
    text = (
        "[1001]\n"
        "username=1001\n"
        "secret=s3cr3t\n"
        "Secret = spaced\n"
        "  secret=indented\n"
        "inbound_auth/username=1001\n"
        "inbound_auth/password=pjpw\n"
        "outbound_auth/password = outpw\n"
        "password=rawpw\r\n"
        "md5_cred = 0123abcd\n"
        ";secret=commented\n"
        "accountcode=secret=1001\n"
        "endpoint/callerid=\"password=x\" <1>\n"
        "secret=\n"
    )
    assert mask_secrets(text) == (
        "[1001]\n"
        "username=1001\n"
        "secret=********\n"
        "Secret = ********\n"
        "  secret=********\n"
        "inbound_auth/username=1001\n"
        "inbound_auth/password=********\n"
        "outbound_auth/password = ********\n"
        "password=********\r\n"
        "md5_cred = ********\n"
        ";secret=********\n"
        "accountcode=secret=1001\n"
        "endpoint/callerid=\"password=x\" <1>\n"
        "secret=********\n"
    )


def test_mask_secrets_on_rendered_default_template_and_override_text():
    rows = [
        phone("1", "IAX2", conf_secret="iaxpw"),
        phone("2", "SIP", template_id="T1", conf_secret="sippw"),
        phone("3", "PJSIP", conf_secret="pjpw"),
        phone("4", "PJSIP", conf_override="type=wizard\ninbound_auth/password = ovpw"),
        phone("5", "PJSIP", template_id="T2", conf_secret="tplpw"),
    ]
    templates = {"T1": "type=friend\nremotesecret=tpl1", "T2": "outbound_auth/password=tpl2"}
    out = render(rows, templates, chan_sip=True)
    masked = "".join(mask_secrets(text) for text in out.values())
    for secret in ("iaxpw", "sippw", "pjpw", "ovpw", "tplpw", "tpl1", "tpl2"):
        assert secret not in masked
    assert masked.count("********") == 7
    assert "inbound_auth/username=3\n" in masked
    assert mask_secrets(None) == ""


# --------------------------------------------------------------------------
# defence in depth


@pytest.mark.parametrize(
    "column, value",
    [
        ("fullname", "Evil\n[other]"),
        ("conf_secret", "pw\rtype=peer"),
        ("mohsuggest", "moh\0"),
        ("dialplan_number", "9\n"),
        ("phone_context", "default\nsecret=x"),
        ("outbound_cid", "1\n"),
        ("voicemail_id", "1\n"),
        ("unavail_dialplan_fwd_exten", "8\n"),
        ("extension", "10\n01"),
    ],
)
def test_line_breaks_in_rendered_values_leave_the_row_out(column, value):
    row = phone("1001", "IAX2", mohsuggest="x", unavail_dialplan_fwd_exten="8300", fullname="F")
    row[column] = value
    out = render([row, phone("1002", "IAX2")])
    assert "[1001]" not in out["iax"] and "exten => 1001," not in out["extensions"]
    assert "[1002]" in out["iax"]
    (label, reason), = unsafe_rows([row, phone("1002", "IAX2")], IP)
    assert column in reason and label.endswith("@10.10.10.15")
    assert "type=peer" not in reason  # a secret's value is never shown


def test_remote_phone_line_break_leaves_it_out():
    remotes = [remote("2001", "10.10.10.16", fullname="bad\nname"), remote("2002", "10.10.10.16")]
    out = render([], settings={"generate_cross_server_exten": "1"}, remote_phones=remotes,
                 remote_servers=REMOTE_SERVERS)
    assert "2001" not in out["extensions"] and "Remote Phone Entry 0: 2002" in out["extensions"]


def test_multiline_override_and_template_are_allowed_but_not_nul():
    ok = render(
        [phone("1", "SIP", conf_override="type=friend\r\nhost=dynamic"),
         phone("2", "SIP", template_id="TT")],
        {"TT": "type=friend\nhost=dynamic"}, chan_sip=True,
    )
    assert "[1]\ntype=friend\r\nhost=dynamic\n" in ok["sip"]
    assert "[2]\nusername=2\nsecret=pw2\naccountcode=2\nmailbox=2\ntype=friend\nhost=dynamic\n" in ok["sip"]
    left_out = render([phone("1", "SIP", conf_override="type=friend\0host=dynamic")], chan_sip=True)
    assert "[1]" not in left_out["sip"]
    assert unsafe_rows([phone("1", "SIP", conf_override="type=friend\0host=dynamic")], IP) == [
        ("1@10.10.10.15", "conf_override contains a NUL character")]


def test_values_not_rendered_are_not_checked():
    rows = [
        phone("1", "IAX2", active="N", fullname="a\nb"),
        phone("2", "Zap", fullname="a\nb"),
        # template mode writes no codec line without codecs_with_template
        phone("3", "SIP", template_id="TT", codecs_list="ulaw\ngsm"),
    ]
    out = render(rows, {"TT": "type=friend"}, chan_sip=True)
    assert body(out["sip"]) == "\n[3]\nusername=3\nsecret=pw3\naccountcode=3\nmailbox=3\ntype=friend\n\n"


def test_row_of_another_server_raises():
    with pytest.raises(ValueError, match="1@10.10.10.99"):
        render([phone("1", "IAX2", server_ip="10.10.10.99")])


# --------------------------------------------------------------------------
# expected_objects


def test_expected_objects():
    rows = [
        phone("300", "PJSIP"),
        phone("30", "PJSIP", dialplan_number="1030"),
        phone("200", "SIP"),
        phone("100", "IAX2"),
        phone("101", "IAX2", active="N"),
        phone("102", "Zap"),
        phone("103", "EXTERNAL"),
        phone("104", "IAX2", dialplan_number="300"),
    ]
    assert expected_objects(rows) == {
        "pjsip": ["30", "300"],
        "iax2": ["100", "104"],
        "sip": [],
        "dialplan": ["100", "300", "200", "1030"],
    }
    assert expected_objects(rows, chan_sip=True)["sip"] == ["200"]
    assert expected_objects([]) == {"pjsip": [], "iax2": [], "sip": [], "dialplan": []}


# ---------------------------------------------------------------------------
# rows that break VICIdial's own input rules (only direct SQL writes them)


@pytest.mark.parametrize("column, value", [
    ("extension", "9999@carrier"), ("extension", "80-01"), ("dialplan_number", "8001,1,System(id)"),
    ("dialplan_number", "80;01"), ("dialplan_number", "8001(x"), ("voicemail_id", "8001,x"),
    ("phone_context", "default,s,1"), ("phone_ring_timeout", "30s"),
])
def test_rows_breaking_vicidials_input_rules_render_nothing(column, value):
    bad = dict(active="Y", extension="8001", dialplan_number="8001", voicemail_id="8001", protocol="PJSIP",
               conf_secret="s3cret-long-enough", phone_context="default", phone_ring_timeout="60")
    bad[column] = value
    good = dict(bad, extension="8002", dialplan_number="8002", voicemail_id="8002", phone_context="default",
                phone_ring_timeout="60")
    out = render_server_config([bad, good], {}, SETTINGS, dict(SERVER, server_ip="10.0.0.1"))
    assert value not in out["pjsip_wizard"] and value not in out["extensions"]
    assert "[8002]" in out["pjsip_wizard"] and "exten => 8002,1,Dial(PJSIP/8002,60,)" in out["extensions"]
    label, reason = unsafe_rows([bad, good], "10.0.0.1")[0]
    assert column in reason and len(unsafe_rows([bad, good], "10.0.0.1")) == 1
