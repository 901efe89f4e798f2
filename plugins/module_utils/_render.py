# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render the Asterisk config VICIdial's keepalive generator writes for phones.

Internal to the telephony.vicidial collection (leading underscore): the API
may change without notice.  Pure functions, no I/O; Python 3.8+ because it
also runs on the Asterisk hosts.

The lines reproduce ADMIN_keepalive_ALL.pl (build 250103-0932), see
vicidial-phones.md sections 3.3-3.6 and 9.  Deliberate differences, and
nothing else:

1. Each file starts with HEADER instead of VICIdial's "; WARNING- ..." line
   and has no "; END OF FILE    Last Forced System Reload: ..." footer: the
   timestamp would make every render differ, and same input must give
   byte-identical output so that an unchanged run changes nothing.
2. An active PJSIP webphone (is_webphone Y or Y_API_LAUNCH) rendered in
   default mode gets WEBRTC_LINES and, unless its own codecs_list names
   codecs, opus+ulaw instead of the gsm+ulaw fallback.  VICIdial leaves
   WebRTC to a hand-written template; a browser cannot register without it.

Each output holds only the phone part of VICIdial's file (no carriers,
loop/server peers or other contexts): the collection owns phones only.
"""

from __future__ import absolute_import, division, print_function

import re

__metaclass__ = type

HEADER = "; Managed by Ansible (telephony.vicidial): do not edit, changes are overwritten"

# VICIdial runs one query per protocol, in this order (3.3).
PROTOCOLS = ("IAX2", "SIP", "PJSIP")
WEBPHONE_VALUES = ("Y", "Y_API_LAUNCH")

# Extra wizard lines for a webphone (difference 2).  Option names checked
# against Asterisk 22.9.0 res/res_pjsip/pjsip_config.xml and
# docs.asterisk.org "Configuring Asterisk for WebRTC Clients":
# webrtc=yes turns on rtcp_mux, use_avpf, ice_support,
# media_use_received_transport and defaults media_encryption=dtls,
# dtls_verify=fingerprint, dtls_setup=actpass; dtls_auto_generate_cert makes
# DTLS work without a certificate file; remove_existing lets a reloaded
# browser tab replace its stale registration (max_contacts is 1).
WEBRTC_LINES = (
    "endpoint/webrtc = yes",
    "endpoint/dtls_auto_generate_cert = yes",
    "aor/remove_existing = yes",
)
WEBRTC_CODECS = ("opus", "ulaw")

# (name written, Perl pattern matched case-insensitively), VICIdial's order.
_CODECS = (
    ("gsm", r"gsm"),
    ("ulaw", r"ulaw|u-law"),
    ("alaw", r"alaw|a-law"),
    ("g719", r"g719|g\.719"),
    ("g722", r"g722|g\.722"),
    ("g723", r"g723|g\.723|g723\.1"),
    ("g726", r"g726|g\.726"),
    ("g729", r"g729|g\.729|g729a"),
    ("ilbc", r"ilbc"),
    ("lpc10", r"lpc10"),
    ("speex", r"speex"),
    ("adpcm", r"adpcm"),
    ("opus", r"opus"),
    ("slin", r"slin"),
)
_CODEC_RES = tuple((name, re.compile(pat, re.IGNORECASE)) for name, pat in _CODECS)

_HANGUP_PRE16 = (
    "exten => h,1,DeadAGI(agi://127.0.0.1:4577/call_log--HVcauses--PRI-----NODEBUG-----"
    "${HANGUPCAUSE}-----${DIALSTATUS}-----${DIALEDTIME}-----${ANSWEREDTIME})"
)
_HANGUP_16 = (
    "exten => h,1,AGI(agi://127.0.0.1:4577/call_log--HVcauses--PRI-----NODEBUG-----"
    "${HANGUPCAUSE}-----${DIALSTATUS}-----${DIALEDTIME}-----${ANSWEREDTIME})"
)
_HANGUP_112 = (
    "exten => h,1,AGI(agi://127.0.0.1:4577/call_log--HVcauses--PRI-----NODEBUG-----"
    "${HANGUPCAUSE}-----${DIALSTATUS}-----${DIALEDTIME}-----${ANSWEREDTIME}"
    "-----${HANGUPCAUSE(${HANGUPCAUSE_KEYS()},tech)}))"
)

_BAD_CHARS = ("\n", "\r", "\0")

_SECRET_KEYS = (
    r"(?:inbound_auth/|outbound_auth/)?(?:password|md5_cred)"
    r"|secret|md5secret|remotesecret|oauth_secret|refresh_token"
)
# A commented-out secret is still a secret, hence the optional ';'.
_SECRET_LINE = re.compile(
    r"^(?P<key>[ \t]*;?[ \t]*(?:" + _SECRET_KEYS + r")[ \t]*=>?[ \t]*)(?P<value>[^\r\n]*)",
    re.IGNORECASE | re.MULTILINE,
)
MASK = "********"


def _text(value):
    """Column value as Perl interpolates it: NULL becomes ''."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def _perl_num(value):
    """Perl's numeric reading of a string ('13abc' -> 13, 'x' -> 0)."""
    match = re.match(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)", _text(value))
    return float(match.group(1)) if match else 0.0


def _order_key(value):
    # MySQL's ORDER BY uses the table's case-insensitive collation
    # (latin1_swedish_ci / utf8mb4_general_ci fold ASCII to upper case);
    # the raw value only breaks ties so the order never depends on input.
    return (value.upper(), value)


def _label(row, server_ip):
    ip = _text(row.get("server_ip")) or server_ip
    label = "%s@%s" % (_text(row.get("extension")), ip)
    return label.replace("\n", "\\n").replace("\r", "\\r").replace("\0", "\\0")


def _field(row, column, label):
    """A value that lands on one config line: refuse line breaks and NUL."""
    value = _text(row.get(column))
    for char in _BAD_CHARS:
        if char in value:
            raise ValueError(
                "phone %s: column %s contains %r, which would break the generated config"
                % (label, column, char)
            )
    return value


def _block(text, label, what):
    # Overrides and templates are multi-line by design; a NUL is never valid.
    if "\0" in text:
        raise ValueError("phone %s: %s contains a NUL character" % (label, what))
    return text


def _dial_style(asterisk_version):
    """(pre_1_6, minor) from servers.asterisk_version, as VICIdial parses it.

    VICIdial maps '13.x' to major 1 minor 13 and only tests the minor (its
    "major = 1" test is an assignment), so an empty or unparsable version
    counts as pre-1.6, exactly as in the Perl.
    """
    head = _text(asterisk_version).split("-")[0]
    parts = head.split(".") if head else []
    first = _perl_num(parts[0]) if parts else 0.0
    if first <= 1:
        minor = _perl_num(parts[1]) if len(parts) > 1 else 0.0
    else:
        minor = first
    return minor < 6, minor


def _hangup_line(minor):
    if minor < 6:
        return _HANGUP_PRE16
    if minor >= 12:
        return _HANGUP_112
    return _HANGUP_16


def _resolve_codecs(codecs_list, default_codecs):
    # VICIdial: a list under 3 characters is replaced by default_codecs when
    # that is longer than 2.
    if len(default_codecs) > 2 and len(codecs_list) < 3:
        return default_codecs
    return codecs_list


def _codec_block(codecs_list, prefix):
    """disallow/allow lines for a list of 3+ characters, '' if none match."""
    allowed = "".join(
        "%sallow=%s\n" % (prefix, name) for name, regex in _CODEC_RES if regex.search(codecs_list)
    )
    if allowed:
        return "%sdisallow=all\n%s" % (prefix, allowed)
    return ""


def _find_template(templates, template_id):
    """Template text, or None when VICIdial would not use template mode."""
    if len(template_id) <= 1 or "--NONE--" in template_id:
        return None
    if template_id in templates:
        return _text(templates[template_id])
    # WHERE template_id='x' compares case- and trailing-space-insensitively.
    wanted = template_id.rstrip(" ").upper()
    for key in sorted(templates, key=_text):
        if _text(key).rstrip(" ").upper() == wanted:
            return _text(templates[key])
    return None


# VICIdial's own input rules for the values that become config names and
# dial plan (admin.php filters, the API's dialplan_number, the extension's
# help text: no prefix, no dash for SIP, PJSIP and IAX2).
_SAFE_VALUES = (
    ("extension", re.compile(r"^[A-Za-z0-9]+\Z"),
     "letters and digits only (it names the Asterisk object: '9999@carrier' would dial a carrier)"),
    ("dialplan_number", re.compile(r"^[*#A-Za-z0-9]+\Z"),
     "digits, letters, * and # only (it is a dial plan pattern: ',', ';' or '(' change what it runs)"),
    ("voicemail_id", re.compile(r"^[A-Za-z0-9]*\Z"), "letters and digits only"),
    ("phone_context", re.compile(r"^[-_A-Za-z0-9]*\Z"), "letters, digits, '-' and '_' only"),
    ("phone_ring_timeout", re.compile(r"^[0-9]*\Z"), "digits only"),
)


# Columns that land on one config line: a line break or NUL would start another.
_ONE_LINE = ("conf_secret", "fullname", "outbound_cid", "mohsuggest", "unavail_dialplan_fwd_exten",
             "unavail_dialplan_fwd_context")


def unsafe_reason(row):
    """Why an active SIP/PJSIP/IAX2 row breaks VICIdial's own input rules, or None.

    Such a row can only come from direct SQL or another tool.  It is not
    rendered at all (VICIdial's generator would write it raw), and the caller
    says which row and why: one foreign row must not block every phone of a
    server.  The reason never holds a secret's value.
    """
    if _text(row.get("active")) != "Y" or _text(row.get("protocol")) not in PROTOCOLS:
        return None
    for column, pattern, rule in _SAFE_VALUES:
        if not pattern.match(_text(row.get(column))):
            return "%s %r breaks VICIdial's input rules: %s" % (column, _text(row.get(column)), rule)
    for column in _ONE_LINE:
        value = _text(row.get(column))
        for char in _BAD_CHARS:
            if char in value:
                return "%s contains %r, which would break the generated config" % (column, char)
    if "\0" in _text(row.get("conf_override")):
        return "conf_override contains a NUL character"
    return None


def unsafe_rows(phones, server_ip=""):
    """[(extension@server_ip, reason)] of the rows render_server_config leaves out."""
    found = []
    for row in phones:
        reason = unsafe_reason(row)
        if reason:
            found.append((_label(row, server_ip), reason))
    return found


def _select(phones):
    """Rows VICIdial's three queries return, per protocol, in their order (unsafe rows left out)."""
    selected = dict((proto, []) for proto in PROTOCOLS)
    for row in phones:
        if _text(row.get("active")) != "Y":
            continue
        proto = _text(row.get("protocol"))
        if proto in selected and unsafe_reason(row) is None:
            selected[proto].append(row)
    for proto in PROTOCOLS:
        selected[proto].sort(key=lambda r: _order_key(_text(r.get("extension"))))
    return selected


def _is_webphone(row):
    return _text(row.get("is_webphone")) in WEBPHONE_VALUES


def _callerid(row, label, prefix):
    fullname = _field(row, "fullname", label)
    cid = _field(row, "outbound_cid", label)
    if fullname or cid:
        return '%scallerid="%s" <%s>\n' % (prefix, fullname, cid)
    return ""


def _chan_stanza(proto, row, label, template, codecs):
    """IAX2 or SIP peer (3.4); None template means not template mode."""
    ext = _field(row, "extension", label)
    override = _block(_text(row.get("conf_override")), label, "conf_override")
    qualify = "Y" in _text(row.get("conf_qualify"))
    moh = _field(row, "mohsuggest", label)
    head = "\n[%s]\n" % ext
    common = (
        "username=%s\n" % ext
        + "secret=%s\n" % _field(row, "conf_secret", label)
        + "accountcode=%s\n" % ext
        + _callerid(row, label, "")
        + "mailbox=%s\n" % _field(row, "voicemail_id", label)
    )
    out = ""
    written = False
    if template is not None:
        out += head + common
        if proto == "IAX2" and qualify:
            out += "qualify=yes\n"
        if _perl_num(row.get("codecs_with_template")) > 0:
            out += codecs
        if moh:
            out += "mohsuggest=%s\n" % moh
        out += template + "\n"
        written = True
    if len(override) > 10:
        if not written:
            out += head
        out += override + "\n"
        written = True
    if not written:
        out += head + common
        if proto == "IAX2":
            out += "requirecalltoken=no\n"
        out += "context=%s\n" % _field(row, "phone_context", label)
        out += codecs
        out += "type=friend\n"
        if proto == "IAX2":
            out += "auth=md5\n"
        out += "host=dynamic\n"
        if proto == "IAX2" and qualify:
            out += "qualify=yes\n"
        if moh:
            out += "mohsuggest=%s\n" % moh
    return out


def _pjsip_stanza(row, label, template, codecs_list, default_codecs):
    """PJSIP wizard object (3.4) plus the webphone lines (difference 2)."""
    ext = _field(row, "extension", label)
    override = _block(_text(row.get("conf_override")), label, "conf_override")
    default_mode = template is None and len(override) <= 10
    webrtc = default_mode and _is_webphone(row)
    resolved = _resolve_codecs(codecs_list, default_codecs)
    if webrtc and len(codecs_list) < 3:
        # A browser speaks opus and G.711, not whatever default_codecs holds.
        codecs = "endpoint/disallow=all\n" + "".join(
            "endpoint/allow=%s\n" % name for name in WEBRTC_CODECS
        )
    elif len(resolved) > 2:
        codecs = _codec_block(resolved, "endpoint/")
    else:
        codecs = "endpoint/disallow=all\nendpoint/allow=gsm\nendpoint/allow=ulaw\n"
    head = (
        "\n[%s]\n" % ext
        + "type=wizard\n"
        + "accepts_auth=yes\n"
        + "accepts_registrations=yes\n"
        + "inbound_auth/username=%s\n" % ext
        + "inbound_auth/password=%s\n" % _field(row, "conf_secret", label)
    )
    out = ""
    written = False
    if template is not None:
        template = template.replace("\r", "")
        out += head + _callerid(row, label, "endpoint/")
        out += "endpoint/mailboxes=%s\n" % _field(row, "voicemail_id", label)
        # Perl tests /allow=/i, which "disallow=" also satisfies.
        if _perl_num(row.get("codecs_with_template")) > 0 or "allow=" not in template.lower():
            out += codecs
        out += template + "\n"
        written = True
    if len(override) > 10:
        if not written:
            out += "\n[%s]\n" % ext
        out += override + "\n"
        written = True
    if not written:
        out += head
        out += (
            "aor/max_contacts = 1\n"
            "aor/maximum_expiration = 3600\n"
            "aor/minimum_expiration = 60\n"
            "aor/default_expiration = 120\n"
            "aor/qualify_frequency = 15\n"
        )
        out += "endpoint/context=%s\n" % _field(row, "phone_context", label)
        out += _callerid(row, label, "endpoint/")
        out += "endpoint/mailboxes=%s\n" % _field(row, "voicemail_id", label)
        out += codecs
        out += (
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
        if webrtc:
            out += "".join(line + "\n" for line in WEBRTC_LINES)
        # VICIdial ends the default PJSIP stanza with an empty line.
        out += "\n"
    return out


def _dialplan(proto, row, label, pre16):
    """Priorities 1-3 of a phone in [vicidial-auto-phones] (3.5)."""
    number = _field(row, "dialplan_number", label)
    ext = _field(row, "extension", label)
    timeout = _field(row, "phone_ring_timeout", label)
    if pre16:
        out = "exten => %s,1,Dial(%s/%s|%s|)\n" % (number, proto, ext, timeout)
    else:
        out = "exten => %s,1,Dial(%s/%s,%s,)\n" % (number, proto, ext, timeout)
    fwd_exten = _field(row, "unavail_dialplan_fwd_exten", label)
    if fwd_exten:
        fwd_context = _field(row, "unavail_dialplan_fwd_context", label) or "default"
        out += "exten => %s,2,Goto(%s,%s,1)\n" % (number, fwd_context, fwd_exten)
    else:
        voicemail = _field(row, "voicemail_id", label)
        if "Y" in _text(row.get("voicemail_instructions")):
            prefix = "85026666666666"
        else:
            prefix = "85026666666667"
        out += "exten => %s,2,Goto(default,%s%s,1)\n" % (number, prefix, voicemail)
    if not pre16:
        out += "exten => %s,3,Hangup()\n" % number
    return out


def _leading_zero(part):
    # Perl leading_zero(): only pure 1- or 2-digit strings are padded.
    if re.match(r"\d{1,2}\Z", part):
        return part.zfill(3)
    return part


def _remote_prefix(server_ip):
    match = re.search(r"(\S+)\.(\S+)\.(\S+)\.(\S+)", server_ip)
    if not match:
        return ""
    return "".join(_leading_zero(part) + "*" for part in match.groups())


def _cross_server(settings, server_ip, local_numbers, remote_phones, remote_servers):
    """Remote phone entries (3.6); local_numbers are upper-cased (ci compare)."""
    if _perl_num(settings.get("generate_cross_server_exten")) <= 0:
        return ""
    active_ips = []
    for srv in remote_servers:
        ip = _text(srv.get("server_ip"))
        # The caller may pre-filter; when the column is there it must be Y.
        if _text(srv.get("active_asterisk_server", "Y")) != "Y" or ip == server_ip:
            continue
        if ip not in active_ips:
            active_ips.append(ip)
    # VICIdial skips the section unless the quoted IP list is over 7 chars.
    if len(",".join("'%s'" % ip for ip in active_ips)) <= 7:
        return ""
    rows = []
    for row in remote_phones:
        number = row.get("dialplan_number")
        ip = _text(row.get("server_ip"))
        if (
            number is None
            or ip == server_ip
            or ip not in active_ips
            or _text(row.get("active")) != "Y"
            or _text(row.get("protocol")) not in ("SIP", "IAX2")
            or unsafe_reason(row) is not None
            # NOT IN (... ,'') : ci/pad-space compare, '' is always excluded.
            or _text(number).rstrip(" ").upper() in local_numbers
            or _text(number).rstrip(" ") == ""
        ):
            continue
        rows.append(row)
    rows.sort(
        key=lambda r: (
            _order_key(_text(r.get("dialplan_number"))),
            _order_key(_text(r.get("server_ip"))),
            _order_key(_text(r.get("extension"))),
        )
    )
    out = ""
    for i, row in enumerate(rows):
        label = _label(row, "")
        ext = _field(row, "extension", label)
        number = _field(row, "dialplan_number", label)
        fullname = _field(row, "fullname", label)
        ip = _field(row, "server_ip", label)
        out += "; Remote Phone Entry %d: %s %s %s\n" % (i, ext, ip, fullname)
        out += "exten => %s,1,Goto(default,%s%s,1)\n" % (number, _remote_prefix(ip), number)
    return out


def render_server_config(
    phones,
    templates,
    settings,
    server,
    chan_sip=False,
    remote_phones=(),
    remote_servers=(),
):
    """Render one server's phone config.

    phones: phones rows (dicts, VICIdial column names) of this server.
    templates: {template_id: template_contents}.
    settings: system_settings subset (default_codecs, generate_cross_server_exten).
    server: servers subset (server_ip, server_id, asterisk_version).
    remote_phones / remote_servers: rows of the other servers, used only for
    cross-server entries (remote_servers rows may carry active_asterisk_server).

    Returns {"pjsip_wizard", "iax", "extensions"} texts, plus "sip" when
    chan_sip is true.  SIP phones keep their dial plan entries either way,
    as in VICIdial.  Raises ValueError when a single-line value holds a line
    break or NUL, or a row belongs to another server.
    """
    templates = templates or {}
    settings = settings or {}
    server_ip = _text(server.get("server_ip"))
    pre16, minor = _dial_style(server.get("asterisk_version"))
    default_codecs = _text(settings.get("default_codecs"))

    # Lists joined once: += on long strings is quadratic at thousands of phones.
    bodies = dict((proto, []) for proto in PROTOCOLS)
    dial = []
    local_numbers = set([""])
    selected = _select(phones)
    for proto in PROTOCOLS:
        for row in selected[proto]:
            label = _label(row, server_ip)
            row_ip = _text(row.get("server_ip"))
            if row_ip and row_ip != server_ip:
                raise ValueError("phone %s does not belong to server %s" % (label, server_ip))
            template = _find_template(templates, _text(row.get("template_id")))
            if template is not None:
                template = _block(template, label, "template %s" % _text(row.get("template_id")))
            codecs_list = _text(row.get("codecs_list"))
            if proto == "PJSIP":
                bodies[proto].append(_pjsip_stanza(row, label, template, codecs_list, default_codecs))
            else:
                codecs = ""
                resolved = _resolve_codecs(codecs_list, default_codecs)
                if len(resolved) > 2:
                    codecs = _codec_block(resolved, "")
                bodies[proto].append(_chan_stanza(proto, row, label, template, codecs))
            dial.append(_dialplan(proto, row, label, pre16))
            local_numbers.add(_text(row.get("dialplan_number")).rstrip(" ").upper())

    dial.append(_cross_server(settings, server_ip, local_numbers, remote_phones, remote_servers))

    result = {
        "iax": "%s\n%s\n" % (HEADER, "".join(bodies["IAX2"])),
        "pjsip_wizard": "%s\n%s\n" % (HEADER, "".join(bodies["PJSIP"])),
        "extensions": "%s\n\n[vicidial-auto-phones]\n%s\n\n; Phones direct dial extensions:\n%s\n"
        % (HEADER, _hangup_line(minor), "".join(dial)),
    }
    if chan_sip:
        result["sip"] = "%s\n%s\n" % (HEADER, "".join(bodies["SIP"]))
    return result


def expected_objects(phones, chan_sip=False):
    """What a server should show after a reload of the rendered config.

    Lists extensions per channel driver and the local dial plan numbers, in
    rendering order (dial plan numbers de-duplicated).  SIP peers only count
    with chan_sip; their dial plan entries are written regardless.
    """
    selected = _select(phones)
    dialplan = []
    for proto in PROTOCOLS:
        for row in selected[proto]:
            number = _text(row.get("dialplan_number"))
            if number not in dialplan:
                dialplan.append(number)
    return {
        "pjsip": [_text(r.get("extension")) for r in selected["PJSIP"]],
        "iax2": [_text(r.get("extension")) for r in selected["IAX2"]],
        "sip": [_text(r.get("extension")) for r in selected["SIP"]] if chan_sip else [],
        "dialplan": dialplan,
    }


def mask_secrets(text):
    """Replace every secret value (secret, passwords, md5_cred) by MASK."""
    return _SECRET_LINE.sub(lambda m: m.group("key") + MASK, _text(text))


# What Asterisk's PJSIP config wizard accepts in a [section] of type=wizard
# (res_pjsip_config_wizard, Asterisk 16-22): its own keys, and object keys
# behind one of its prefixes.
WIZARD_KEYS = frozenset((
    "type", "transport", "remote_hosts", "outbound_proxy", "sends_auth", "sends_registrations",
    "accepts_auth", "accepts_registrations", "sends_line_with_registrations", "server_uri_pattern",
    "client_uri_pattern", "contact_pattern", "has_phoneprov", "has_hint", "hint_context", "hint_exten",
    "hint_application",
))
WIZARD_PREFIXES = ("endpoint/", "aor/", "inbound_auth/", "outbound_auth/", "registration/", "identify/",
                   "phoneprov/")
_CONFIG_LINE = re.compile(r"^[ \t]*([^;=\s][^=]*?)[ \t]*[+]?=>?[ \t]*([^;\r\n]*)", re.MULTILINE)


def pjsip_config_problems(text, own_stanza=False):
    """Keys of a PJSIP phone's override or template that the wizard cannot load.

    A phone moved from SIP or IAX2 to PJSIP often keeps chan_sip settings
    (host=dynamic, secret=..., type=friend) in its conf_override or template;
    Asterisk would refuse the whole object.  Returns the offending keys (as
    written, values left out: they may be secrets), in order, without
    duplicates.  own_stanza: the text is the whole stanza (override mode), so
    it must itself say type=wizard.
    """
    problems = []
    has_type = False
    for match in _CONFIG_LINE.finditer(_text(text)):
        key, value = match.group(1).strip(), match.group(2).strip()
        if key.startswith("[") or key.startswith("#"):
            continue
        lower = key.lower()
        if lower == "type":
            has_type = True
            if value.lower() != "wizard":
                label = "type=%s" % value
                if label not in problems:
                    problems.append(label)
            continue
        if lower in WIZARD_KEYS or lower.startswith(WIZARD_PREFIXES):
            continue
        if key not in problems:
            problems.append(key)
    if own_stanza and not has_type:
        problems.append("no type=wizard")
    return problems
