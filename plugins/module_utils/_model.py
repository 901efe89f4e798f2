# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The phone entry model: every managed column of VICIdial's ``phones`` table.

Private to the collection. One table below drives the modules' argument specs,
parsing, validation, defaults on create, comparison and masking, so that a
column is described exactly once. Facts (types, lengths, defaults, allowed
characters) come from VICIdial's schema at db_schema_version 1728 and the
filters of admin.php.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Character classes, named after the admin.php input filters they mirror.
# VICIdial silently strips other characters; we reject them instead.
WORD = re.compile(r"^[-_0-9A-Za-z]*$")
DIGITS = re.compile(r"^[0-9]*$")
ALNUM = re.compile(r"^[0-9A-Za-z]*$")
IPV4ISH = re.compile(r"^[0-9.]*$")
PATHISH = re.compile(r"^[-.:/@_0-9A-Za-z]*$")
VM_OPTIONS = re.compile(r"^[- =*#.,:/|@_0-9A-Za-z]*$")
FILENAME = re.compile(r"^[-/|._0-9A-Za-z]*$")
SIP_EXTENSION = re.compile(r"^[0-9A-Za-z]+$")
OTHER_EXTENSION = re.compile(r"^[-*#.:/@_0-9A-Za-z]+$")
# C0 and C1 control characters (U+0085 is a line break to some readers).
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

PROTOCOLS = ("SIP", "PJSIP", "IAX2", "Zap", "EXTERNAL")
# Protocols whose extension is an Asterisk peer/endpoint name.
REGISTERING_PROTOCOLS = ("SIP", "PJSIP", "IAX2")
STATUSES = ("ACTIVE", "SUSPENDED", "CLOSED", "PENDING", "ADMIN")
LOCAL_GMT = (
    "12.75", "12.00", "11.00", "10.00", "9.50", "9.00", "8.00", "7.00", "6.50",
    "6.00", "5.75", "5.50", "5.00", "4.50", "4.00", "3.50", "3.00", "2.00",
    "1.00", "0.00", "-1.00", "-2.00", "-3.00", "-3.50", "-4.00", "-5.00",
    "-6.00", "-7.00", "-8.00", "-9.00", "-10.00", "-11.00", "-12.00",
)
# Codec names VICIdial's generator recognises (case-insensitive).
CODECS = (
    "gsm", "ulaw", "u-law", "alaw", "a-law", "g719", "g722", "g723", "g726",
    "g729", "g729a", "ilbc", "lpc10", "speex", "adpcm", "opus", "slin",
)
NO_TEMPLATE = ("", "--NONE--")


class Column:
    """One managed column.

    kind is one of: str, text (multi-line), int, yn (bool stored 'Y'/'N'),
    01 (bool stored '1'/'0'), choice.
    """

    __slots__ = ("name", "option", "kind", "maxlen", "pattern", "choices",
                 "secret", "aliases", "minimum", "maximum", "description")

    def __init__(self, name, option=None, kind="str", maxlen=None, pattern=None,
                 choices=None, secret=False, aliases=(), minimum=None,
                 maximum=None, description=""):
        self.name = name
        self.option = option or name
        self.kind = kind
        self.maxlen = maxlen
        self.pattern = pattern
        self.choices = choices
        self.secret = secret
        self.aliases = tuple(aliases)
        self.minimum = minimum
        self.maximum = maximum
        self.description = description


def _yn(name, description="", option=None):
    return Column(name, option=option, kind="yn", description=description)


def _01(name, description=""):
    return Column(name, kind="01", description=description)


# Order follows the phones table. phone_ip, messages, old_messages,
# peer_status and ping_time are written by VICIdial's background jobs and are
# deliberately absent: managing them could never be idempotent.
COLUMNS = (
    Column("extension", kind="str", maxlen=100,
           description="Asterisk peer/endpoint name. Letters and digits only for SIP, PJSIP and IAX2."),
    Column("dialplan_number", maxlen=20, pattern=DIGITS,
           description="Number dialled to ring the phone (digits)."),
    Column("voicemail_id", maxlen=10, pattern=ALNUM,
           description="Voicemail box; must not be a box of vicidial_voicemail."),
    Column("computer_ip", maxlen=15, pattern=IPV4ISH, description="Informational."),
    Column("server_ip", maxlen=15, pattern=IPV4ISH,
           description="VICIdial server the phone lives on; must exist in servers."),
    Column("login", option="phone_login", maxlen=15, pattern=WORD, aliases=("login",),
           description="Agent-screen phone login, unique across phones and phone aliases."),
    Column("pass", option="phone_pass", maxlen=100, pattern=WORD, secret=True,
           description="Agent-screen phone login password, also the voicemail PIN. Not the SIP secret."),
    Column("status", kind="choice", choices=STATUSES, description="Admin status; VICIdial's generator ignores it."),
    _yn("active", "Only active phones reach Asterisk config and can log in to the agent screen."),
    Column("phone_type", kind="name", maxlen=50, description="Free text."),
    Column("fullname", option="phone_full_name", kind="name", maxlen=50, aliases=("fullname",),
           description="Caller ID name and voicemail box name."),
    Column("company", kind="name", maxlen=10, description="Free text."),
    Column("picture", kind="name", maxlen=19, description="Unused by VICIdial."),
    Column("protocol", kind="choice", choices=PROTOCOLS, description="Channel technology."),
    Column("local_gmt", kind="choice", choices=LOCAL_GMT, description="GMT offset, not adjusted for DST."),
    Column("ASTmgrUSERNAME", maxlen=20, pattern=WORD, description="Legacy client AMI user."),
    Column("ASTmgrSECRET", maxlen=20, pattern=WORD, secret=True, description="Legacy client AMI secret."),
    Column("login_user", maxlen=20, pattern=WORD, description="Agent user prefilled at login."),
    Column("login_pass", maxlen=100, pattern=WORD, secret=True, description="Agent password prefilled at login."),
    Column("login_campaign", maxlen=10, pattern=WORD, description="Campaign prefilled at login."),
    Column("park_on_extension", maxlen=10, pattern=DIGITS),
    Column("conf_on_extension", maxlen=10, pattern=DIGITS),
    Column("VICIDIAL_park_on_extension", maxlen=10, pattern=DIGITS),
    Column("VICIDIAL_park_on_filename", maxlen=10, pattern=WORD),
    Column("monitor_prefix", maxlen=10, pattern=DIGITS),
    Column("recording_exten", maxlen=10, pattern=DIGITS),
    Column("voicemail_exten", maxlen=10, pattern=DIGITS),
    Column("voicemail_dump_exten", maxlen=20, pattern=DIGITS),
    Column("ext_context", maxlen=20, pattern=WORD, description="Context the agent screen originates in."),
    Column("dtmf_send_extension", maxlen=100, pattern=PATHISH),
    Column("call_out_number_group", maxlen=100, pattern=PATHISH),
    Column("client_browser", maxlen=100, pattern=PATHISH),
    Column("install_directory", maxlen=100, pattern=PATHISH),
    Column("local_web_callerID_URL", kind="url", maxlen=255),
    Column("VICIDIAL_web_URL", kind="url", maxlen=255),
    _01("AGI_call_logging_enabled"),
    _01("user_switching_enabled"),
    _01("conferencing_enabled"),
    _01("admin_hangup_enabled"),
    _01("admin_hijack_enabled"),
    _01("admin_monitor_enabled"),
    _01("call_parking_enabled"),
    _01("updater_check_enabled"),
    _01("AFLogging_enabled"),
    _01("QUEUE_ACTION_enabled"),
    _01("CallerID_popup_enabled"),
    _01("voicemail_button_enabled"),
    _01("enable_fast_refresh"),
    Column("fast_refresh_rate", kind="int", minimum=0, maximum=99999),
    _01("enable_persistant_mysql"),
    _01("auto_dial_next_number"),
    _01("VDstop_rec_after_each_call"),
    Column("DBX_server", maxlen=15, pattern=PATHISH),
    Column("DBX_database", maxlen=15, pattern=WORD),
    Column("DBX_user", maxlen=15, pattern=WORD),
    Column("DBX_pass", maxlen=15, pattern=WORD, secret=True),
    Column("DBX_port", kind="int", minimum=0, maximum=65535),
    Column("DBY_server", maxlen=15, pattern=PATHISH),
    Column("DBY_database", maxlen=15, pattern=WORD),
    Column("DBY_user", maxlen=15, pattern=WORD),
    Column("DBY_pass", maxlen=15, pattern=WORD, secret=True),
    Column("DBY_port", kind="int", minimum=0, maximum=65535),
    Column("outbound_cid", maxlen=20, pattern=DIGITS, description="Caller ID number (digits)."),
    _01("enable_sipsak_messages"),
    Column("email", maxlen=100, pattern=PATHISH, description="Voicemail-to-email address."),
    Column("template_id", maxlen=15, pattern=re.compile(r"^[-_0-9A-Za-z]*$"),
           description="Conf template from vicidial_conf_templates; empty or --NONE-- for none."),
    Column("conf_override", kind="text", maxlen=65535,
           description="Full account body replacing the generated stanza (used when longer than 10 characters)."),
    Column("phone_context", maxlen=20, pattern=WORD, description="Dialplan context of the default stanza."),
    Column("phone_ring_timeout", kind="int", minimum=2, maximum=180, description="Seconds to ring before voicemail."),
    Column("conf_secret", option="registration_password", maxlen=100, pattern=WORD, secret=True,
           aliases=("conf_secret",),
           description="Secret the device registers with (SIP/IAX secret, PJSIP inbound_auth/password)."),
    _yn("delete_vm_after_email"),
    Column("is_webphone", kind="choice", choices=("Y", "N", "Y_API_LAUNCH"),
           description="Webphone (Y, Y_API_LAUNCH) or not (N)."),
    _yn("use_external_server_ip"),
    Column("codecs_list", kind="codecs", maxlen=100,
           description="Comma or space separated codecs; empty uses system_settings.default_codecs."),
    _01("codecs_with_template"),
    Column("webphone_dialpad", kind="choice", choices=("Y", "N", "TOGGLE", "TOGGLE_OFF")),
    _yn("on_hook_agent"),
    _yn("webphone_auto_answer"),
    Column("voicemail_timezone", maxlen=30, pattern=WORD),
    Column("voicemail_options", maxlen=255, pattern=VM_OPTIONS),
    Column("user_group", option="admin_user_group", maxlen=20, pattern=WORD, aliases=("user_group",),
           description="Admin user group that may see the phone (---ALL--- for all)."),
    Column("voicemail_greeting", maxlen=100, pattern=FILENAME),
    Column("voicemail_dump_exten_no_inst", maxlen=20, pattern=DIGITS),
    _yn("voicemail_instructions"),
    _yn("on_login_report"),
    Column("unavail_dialplan_fwd_exten", maxlen=40, pattern=WORD),
    Column("unavail_dialplan_fwd_context", maxlen=100, pattern=WORD),
    Column("nva_call_url", kind="url", maxlen=65535),
    Column("nva_search_method", maxlen=40, pattern=WORD),
    Column("nva_error_filename", maxlen=255, pattern=FILENAME),
    Column("nva_new_list_id", kind="int", minimum=0, maximum=99999999999999),
    Column("nva_new_phone_code", maxlen=10, pattern=DIGITS),
    Column("nva_new_status", maxlen=6, pattern=WORD),
    _yn("webphone_dialbox"),
    _yn("webphone_mute"),
    _yn("webphone_volume"),
    _yn("webphone_debug"),
    Column("outbound_alt_cid", maxlen=20, pattern=DIGITS),
    _yn("conf_qualify", "qualify=yes on IAX2 phones."),
    Column("webphone_layout", kind="url", maxlen=255),
    Column("mohsuggest", maxlen=100, pattern=WORD),
    Column("webphone_settings", maxlen=40, pattern=WORD),
)

BY_OPTION = dict((c.option, c) for c in COLUMNS)
BY_COLUMN = dict((c.name, c) for c in COLUMNS)
# Accepted spellings of each option (the option name, its aliases).
OPTION_NAMES = {}
for _c in COLUMNS:
    OPTION_NAMES[_c.option] = _c
    for _a in _c.aliases:
        OPTION_NAMES[_a] = _c
SECRET_COLUMNS = tuple(c.name for c in COLUMNS if c.secret)
# Columns VICIdial's background jobs write: never compared, never written.
RUNTIME_COLUMNS = ("phone_ip", "messages", "old_messages", "peer_status", "ping_time")
# Passwords governed by update_password.
PASSWORD_COLUMNS = ("pass", "conf_secret")
IDENTITY = ("extension", "server_ip")
# Columns whose value must arrive as a string: YAML reads an unquoted 0123 as
# the number 83 (and 012345670 as 2739128), which would silently change which
# phone, box or login is meant, or what the password is.
STRING_ONLY = ("extension", "server_ip", "dialplan_number", "voicemail_id", "login", "pass", "conf_secret")
# Free text that may carry secrets inside it (secret=, inbound_auth/password=,
# ...): shown only through _render.mask_secrets.
SECRET_BEARING_COLUMNS = ("conf_override",)
# What admin.php's ADD requires, plus the registration password, which we will
# not leave at VICIdial's shipped default 'test'.
REQUIRED_ON_CREATE = ("dialplan_number", "voicemail_id", "login", "pass")
MASK = "********"


def ansible_type(column):
    """The AnsibleModule argument type for a column."""
    if column.kind in ("yn", "01"):
        return "bool"
    if column.kind == "int":
        return "int"
    return "str"


def phone_id(extension, server_ip):
    return "%s@%s" % (extension, server_ip)


def to_db(column, value):
    """Turn a parsed option value into what VICIdial stores."""
    if value is None:
        return None
    if column.kind == "yn":
        return "Y" if value else "N"
    if column.kind == "01":
        return "1" if value else "0"
    if column.kind == "int":
        return int(value)
    return value


def comparable(value):
    """Normalise a stored or desired value for comparison.

    Rows saved through VICIdial's admin screen hold '' where fresh rows hold
    NULL, and PyMySQL returns ints for numeric columns: both compare equal.
    """
    if value is None:
        return ""
    return str(value)


def create_defaults(settings):
    """Values an ADD writes explicitly when the entry does not say otherwise.

    Mirrors admin.php's ADD: template_id '' (NOT NULL, no default), active 'Y',
    status 'ACTIVE', '' for the four columns not on its form, local_gmt and
    protocol preselected from system_settings. Everything else takes the
    column's own default.
    """
    stacks = (settings or {}).get("allowed_sip_stacks") or "SIP"
    return {
        "template_id": "",
        "active": "Y",
        "status": "ACTIVE",
        "phone_ip": "",
        "computer_ip": "",
        "company": "",
        "picture": "",
        "phone_type": "",
        "fullname": "",
        "outbound_cid": "",
        "user_group": "---ALL---",
        "local_gmt": (settings or {}).get("default_local_gmt") or "-5.00",
        "protocol": "PJSIP" if stacks == "PJSIP" else "SIP",
    }


# VICIdial's PHONE_DEFAULTS settings container (vicidial-phones.md 1.6).
PHONE_DEFAULTS_TYPE = "PHONE_DEFAULTS"
PHONE_DEFAULTS_DISABLED = ("", "---DISABLED---")
# Keys admin.php's ADD form carries itself (pre-filled from the container,
# then submitted): the ADD handler does not append them to its INSERT.
PHONE_DEFAULTS_FORM_KEYS = ("active", "local_gmt", "conf_secret", "outbound_cid", "pass", "phone_type",
                            "protocol", "server_ip", "status", "voicemail_id", "user_group")
# The other columns the ADD INSERT names itself: a container key naming one
# would be a second value for the same column, so it is not applied either.
ADD_INSERT_COLUMNS = ("extension", "dialplan_number", "voicemail_id", "phone_ip", "computer_ip", "server_ip",
                      "login", "pass", "status", "active", "phone_type", "fullname", "company", "picture",
                      "protocol", "local_gmt", "outbound_cid", "conf_secret", "user_group", "template_id")
_CONTAINER_LINE = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=>\s?(.*)$")


def parse_phone_defaults(text):
    """A PHONE_DEFAULTS container's entry -> [(key, value)] in order, as admin.php's ADD reads it.

    Lines are ``key => value``; a line starting with ``#`` is a comment, and
    so is a blank one. conf_override may span lines: the lines after its own
    (up to the next ``key => value`` line) that are neither comments nor
    blank are its further lines. CR characters (the seeded container has
    CRLF line ends) are dropped; values are stripped of surrounding blanks.
    """
    pairs = []
    override = None
    for line in (text or "").replace("\r", "").split("\n"):
        if line.lstrip().startswith("#") or not line.strip():
            continue
        match = _CONTAINER_LINE.match(line)
        if match:
            key, value = match.group(1), match.group(2).strip()
            override = None
            if key == "conf_override":
                override = [value] if value else []
                pairs.append([key, override])
            else:
                pairs.append([key, value])
        elif override is not None:
            override.append(line.rstrip())
    return [(key, "\n".join(value) if isinstance(value, list) else value) for key, value in pairs]
