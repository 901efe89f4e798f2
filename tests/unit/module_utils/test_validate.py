# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for parsing and field validation of phone entries (no database).

Every rule is checked the way it matters in a real run: one bad entry at
position 900 of a set of 1000 valid ones. The error must name that entry
(extension@server_ip) and the field, and the other 999 must pass. Limits and
character sets are written out by hand from vicidial-phones.md section 1.1
(column types) and 2.2 (admin.php input filters), never read from the model
under test; a column the tables below do not cover fails
test_every_column_has_a_hand_written_rule.
"""

import pytest
from entries import DROP, IPS, good_entry, with_overrides

from ansible_collections.telephony.vicidial.plugins.module_utils import _model as model
from ansible_collections.telephony.vicidial.plugins.module_utils import _validate as validate
from ansible_collections.telephony.vicidial.plugins.module_utils._phones import parse_all

N = 1000
BAD = 900


BASE = [good_entry(i) for i in range(N)]
LABEL = "70900@10.10.10.1"  # good_entry(BAD)


def entry_set(overrides):
    """The 1000 valid entries with {index: {option: value or DROP}} applied."""
    return with_overrides([dict(e) for e in BASE], overrides)


def parse(overrides, defaults=None):
    return parse_all(entry_set(overrides), defaults)


def values_of(parsed, label):
    found = [v for lbl, _state, v in parsed if lbl == label]
    assert len(found) == 1, label
    return found[0]


def assert_only(result, label, field, fragment=None, secret=None, count=1):
    """Exactly the bad entry fails, on that field; the 999 others parse."""
    parsed, errors = result
    assert errors, "expected an error for %s %s" % (label, field)
    assert [(e.entry, e.field) for e in errors] == [(label, field)] * count, [str(e) for e in errors]
    message = validate.format_errors(errors)
    if field:
        assert "  - %s: %s: " % (label, field) in message
    else:
        assert "  - %s: " % label in message
    if fragment is not None:
        assert all(fragment in e.message for e in errors), [str(e) for e in errors]
    if secret is not None:
        assert secret not in message
    assert len(parsed) == N - 1
    assert all(lbl != label for lbl, _s, _v in parsed)
    return errors


def assert_accepted(result, expected):
    """No error at all; expected is {label: {column: stored value}}."""
    parsed, errors = result
    assert errors == [], [str(e) for e in errors]
    assert len(parsed) == N
    for label, columns in expected.items():
        values = values_of(parsed, label)
        for column, value in columns.items():
            assert values.get(column) == value, (label, column, values.get(column))


def label_of(i):
    return "7%04d@%s" % (i, IPS[i % 2])


# --- hand-written rules (vicidial-phones.md 1.1 and 2.2) -----------------------

DIGIT_FIELDS = {  # admin.php: digits only
    "dialplan_number": 20, "outbound_cid": 20, "outbound_alt_cid": 20, "park_on_extension": 10,
    "conf_on_extension": 10, "VICIDIAL_park_on_extension": 10, "monitor_prefix": 10, "recording_exten": 10,
    "voicemail_exten": 10, "voicemail_dump_exten": 20, "voicemail_dump_exten_no_inst": 20,
    "nva_new_phone_code": 10,
}
WORD_FIELDS = {  # admin.php: - _ 0-9 a-z A-Z (the DBX_/DBY_ and nva_new_status fields the same by choice)
    "phone_login": 15, "phone_pass": 100, "registration_password": 100, "admin_user_group": 20,
    "template_id": 15, "phone_context": 20, "ext_context": 20, "voicemail_timezone": 30, "mohsuggest": 100,
    "webphone_settings": 40, "unavail_dialplan_fwd_exten": 40, "unavail_dialplan_fwd_context": 100,
    "nva_search_method": 40, "ASTmgrUSERNAME": 20, "ASTmgrSECRET": 20, "login_user": 20, "login_pass": 100,
    "login_campaign": 10, "VICIDIAL_park_on_filename": 10, "DBX_database": 15, "DBX_user": 15, "DBX_pass": 15,
    "DBY_database": 15, "DBY_user": 15, "DBY_pass": 15, "nva_new_status": 6,
}
ALNUM_FIELDS = {"voicemail_id": 10}  # latin-only even in VICIdial's non-latin mode
IPISH_FIELDS = {"computer_ip": 15}  # digits and dots
NAME_FIELDS = {"phone_full_name": 50, "phone_type": 50, "company": 10, "picture": 19}  # - space . , _ letters digits
PATH_FIELDS = {  # - . : / @ _ 0-9 a-z A-Z
    "email": 100, "dtmf_send_extension": 100, "call_out_number_group": 100, "client_browser": 100,
    "install_directory": 100, "DBX_server": 15, "DBY_server": 15,
}
VM_OPTION_FIELDS = {"voicemail_options": 255}  # - space = * # . , : / | @ _ 0-9 a-z A-Z
FILENAME_FIELDS = {"voicemail_greeting": 100, "nva_error_filename": 255}  # - / | . _ 0-9 a-z A-Z
URL_FIELDS = {  # not filtered by admin.php; single line here
    "local_web_callerID_URL": 255, "VICIDIAL_web_URL": 255, "webphone_layout": 255, "nva_call_url": 65535,
}
SECRETS = ("phone_pass", "registration_password", "ASTmgrSECRET", "login_pass", "DBX_pass", "DBY_pass")

# option: (a valid value using every allowed special character, [values admin.php would strip])
FAMILIES = (
    (DIGIT_FIELDS, "0123456789", ["12a", "+1800", "*8", "1 2", "\u0661\u0662"]),
    (WORD_FIELDS, "a-Z_9", ["a b", "a.b", "a@b", "a'b", "a;b", "z\u00e9"]),
    (ALNUM_FIELDS, "aZ09", ["a-b", "a_b", "a b", "\u00e90"]),
    (IPISH_FIELDS, "192.168.1.100", ["10.0.0.1/24", "::1", "a.b.c.d", "10,0,0,1"]),
    (NAME_FIELDS, "Zo\u00eb-A. B,_9", ['a"b', "a'b", "a;b", "a<b", "a(b", "a@b", "a/b", "a#b", "a&b", "a\\b"]),
    (PATH_FIELDS, "a-b.c:d/e@f_9", ["a b", "a'b", "a;b", "a=b", "a,b", "z\u00e9"]),
    (VM_OPTION_FIELDS, "a-b =c*d#e.f,g:h/i|j@k_9", ["a'b", "a;b", 'a"b', "a[b]", "z\u00e9"]),
    (FILENAME_FIELDS, "a-b/c|d.e_9", ["a b", "a:b", "a@b", "a'b", "z\u00e9"]),
)
PATTERN_FIELDS = {}
for _fields, _valid, _bad in FAMILIES:
    for _option, _maxlen in _fields.items():
        PATTERN_FIELDS[_option] = (_maxlen, _valid, _bad)

YN_FIELDS = (
    "active", "delete_vm_after_email", "use_external_server_ip", "on_hook_agent", "webphone_auto_answer",
    "voicemail_instructions", "on_login_report", "webphone_dialbox", "webphone_mute", "webphone_volume",
    "webphone_debug", "conf_qualify",
)
ONE_ZERO_FIELDS = (
    "AGI_call_logging_enabled", "user_switching_enabled", "conferencing_enabled", "admin_hangup_enabled",
    "admin_hijack_enabled", "admin_monitor_enabled", "call_parking_enabled", "updater_check_enabled",
    "AFLogging_enabled", "QUEUE_ACTION_enabled", "CallerID_popup_enabled", "voicemail_button_enabled",
    "enable_fast_refresh", "enable_persistant_mysql", "auto_dial_next_number", "VDstop_rec_after_each_call",
    "enable_sipsak_messages", "codecs_with_template",
)
INT_FIELDS = {  # INT(5), INT(6) port, SMALLINT(3) with the API's 2-180, BIGINT(14) UNSIGNED
    "fast_refresh_rate": (0, 99999), "DBX_port": (0, 65535), "DBY_port": (0, 65535),
    "phone_ring_timeout": (2, 180), "nva_new_list_id": (0, 99999999999999),
}
LOCAL_GMT = (
    "12.75", "12.00", "11.00", "10.00", "9.50", "9.00", "8.00", "7.00", "6.50", "6.00", "5.75", "5.50",
    "5.00", "4.50", "4.00", "3.50", "3.00", "2.00", "1.00", "0.00", "-1.00", "-2.00", "-3.00", "-3.50",
    "-4.00", "-5.00", "-6.00", "-7.00", "-8.00", "-9.00", "-10.00", "-11.00", "-12.00",
)
CHOICE_FIELDS = {
    "status": (("ACTIVE", "SUSPENDED", "CLOSED", "PENDING", "ADMIN"), ["active", "DELETED", ""]),
    "protocol": (("SIP", "PJSIP", "IAX2", "Zap", "EXTERNAL"), ["DAHDI", "pjsip", "SIP/"]),
    "is_webphone": (("Y", "N", "Y_API_LAUNCH"), ["yes", "Y_API"]),
    "webphone_dialpad": (("Y", "N", "TOGGLE", "TOGGLE_OFF"), ["toggle", "OFF"]),
    "local_gmt": (LOCAL_GMT, ["13.00", "-5.5", "GMT-5", "-05:00", "+5:30"]),
}
SPECIAL_FIELDS = ("extension", "server_ip", "codecs_list", "conf_override")


def test_every_column_has_a_hand_written_rule():
    covered = (set(PATTERN_FIELDS) | set(URL_FIELDS) | set(YN_FIELDS) | set(ONE_ZERO_FIELDS) | set(INT_FIELDS)
               | set(CHOICE_FIELDS) | set(SPECIAL_FIELDS))
    options = set(c.option for c in model.COLUMNS)
    assert options - covered == set(), "columns without a test rule"
    assert covered - options == set(), "rules for options the model does not have"
    assert set(SECRETS) == set(c.option for c in model.COLUMNS if c.secret)


def test_the_valid_set_is_valid():
    assert_accepted(parse({}), {LABEL: {"extension": "70900", "server_ip": "10.10.10.1", "login": "L70900",
                                        "pass": "LoginPw70900", "conf_secret": "RegSecret-70900-abcd",
                                        "fullname": "Agent 900", "protocol": "PJSIP"}})


# --- character sets and lengths -------------------------------------------------

def at_limit(maxlen, valid):
    return (valid * (maxlen // len(valid) + 1))[:maxlen]


@pytest.mark.parametrize("option", sorted(PATTERN_FIELDS))
def test_charset_field_accepts_its_characters_up_to_the_limit_and_rejects_the_first_bad_one(option):
    maxlen, valid, bad = PATTERN_FIELDS[option]
    column = model.BY_OPTION[option].name
    sample = valid[:maxlen]
    full = at_limit(maxlen, valid)
    result = parse({100: {option: sample}, 200: {option: full}, BAD: {option: bad[0]}})
    errors = assert_only(result, LABEL, option, "does not allow", secret=bad[0] if option in SECRETS else None)
    assert len(errors) == 1
    values = dict((lbl, v) for lbl, _s, v in result[0])
    assert values[label_of(100)][column] == sample
    assert values[label_of(200)][column] == full


@pytest.mark.parametrize("option", sorted(PATTERN_FIELDS) + sorted(URL_FIELDS))
def test_field_one_character_over_its_column_is_rejected(option):
    maxlen, valid, _bad = PATTERN_FIELDS.get(option) or (URL_FIELDS[option], "http://x.example/", None)
    over = at_limit(maxlen + 1, valid)
    errors = assert_only(parse({BAD: {option: over}}), LABEL, option, "at most %d" % maxlen)
    assert "is %d characters long" % (maxlen + 1) in errors[0].message


@pytest.mark.parametrize("option, bad", [(o, b) for o in ("dialplan_number", "phone_login", "voicemail_id",
                                                          "computer_ip", "phone_full_name", "email",
                                                          "voicemail_options", "voicemail_greeting",
                                                          "registration_password")
                                         for b in PATTERN_FIELDS[o][2]])
def test_each_character_admin_php_strips_is_an_error(option, bad):
    assert_only(parse({BAD: {option: bad}}), LABEL, option, secret=bad if option in SECRETS else None)


@pytest.mark.parametrize("option", sorted(URL_FIELDS))
def test_url_fields_are_not_filtered_and_store_quotes_and_non_ascii_literally(option):
    value = "http://x.example/p?a=1&b='2';--\"<>\u00e9${EXTEN}\\"
    full = at_limit(URL_FIELDS[option], "u")
    assert_accepted(parse({BAD: {option: value}, 100: {option: full}}),
                    {LABEL: {model.BY_OPTION[option].name: value}})


# --- control characters and newlines ----------------------------------------

CONTROL_CASES = [
    ("phone_full_name", "Front\ndesk"), ("phone_full_name", "Front\rdesk"), ("phone_login", "L1\n"),
    ("dialplan_number", "8001\n"), ("local_web_callerID_URL", "http://x/\r\nSet-Cookie: a=b"),
    ("email", "a@b\tc"), ("voicemail_options", "attach=yes\n"), ("codecs_list", "ulaw\nalaw"),
    ("nva_call_url", "http://x/\x00"), ("VICIDIAL_web_URL", "http://x/\x7f"), ("webphone_layout", "\x1b[31m"),
    ("registration_password", "Secret\nPassword1"), ("phone_pass", "Login\x00Pass1"),
    ("protocol", "PJSIP\n"), ("status", "ACTIVE\n"), ("mohsuggest", "default\n[evil]"),
]


@pytest.mark.parametrize("option, value", CONTROL_CASES)
def test_single_line_fields_reject_control_characters_and_newlines(option, value):
    errors = assert_only(parse({BAD: {option: value}}), LABEL, option, secret=value if option in SECRETS else None)
    assert "single line" in errors[0].message or "must be one of" in errors[0].message


@pytest.mark.parametrize("value", ["http://x.example/\x85next", "http://x.example/\x9b31m"])
def test_single_line_fields_reject_c1_control_characters(value):
    # U+0085 (NEL) and U+009B (CSI) are control characters (Unicode category
    # Cc) like \x00-\x1f, and NEL is a line break (str.splitlines splits on it).
    assert_only(parse({BAD: {"local_web_callerID_URL": value}}), LABEL, "local_web_callerID_URL", "single line")


def test_error_report_keeps_one_line_per_problem_for_a_hostile_identity():
    # An extension or server_ip with a newline must not forge extra report lines.
    parsed, errors = parse({BAD: {"extension": "70900\n  - 70901@10.10.10.2: phone_pass: fake"}})
    message = validate.format_errors(errors)
    assert len(message.splitlines()) == 1 + len(errors), message


# --- names: any script in free-text names, latin only elsewhere -----------------

@pytest.mark.parametrize("option, value", [
    ("phone_full_name", "Zo\u00eb M\u00fcller"),
    ("phone_full_name", "\u0418\u0432\u0430\u043d \u041f\u0435\u0442\u0440\u043e\u0432"),
    ("phone_full_name", "\u738b\u5c0f\u660e"), ("phone_full_name", "Jos\u00e9-Mar\u00eda O., Jr_2"),
    ("phone_full_name", "\u00e9" * 50), ("phone_type", "T\u00e9l\u00e9phone de bureau"),
    ("company", "M\u00fcller AG"), ("picture", "\u0141\u00f3d\u017a"),
])
def test_non_ascii_letters_are_accepted_and_stored_literally_in_free_text_names(option, value):
    assert_accepted(parse({BAD: {option: value}}), {LABEL: {model.BY_OPTION[option].name: value}})


def test_non_ascii_name_one_character_over_is_rejected():
    # VARCHAR(50) counts characters, not bytes.
    assert_only(parse({BAD: {"phone_full_name": "\u00e9" * 51}}), LABEL, "phone_full_name", "at most 50")


@pytest.mark.parametrize("value", ["Suite \u00b2", "Room \u0661", "Floor \u216b"])
def test_names_accept_letters_of_any_script_but_only_ascii_digits(value):
    # VICIdial's non-latin filter keeps \p{L} and 0-9: superscripts, other
    # scripts' digits and roman numerals are stripped, so they are errors here.
    assert_only(parse({BAD: {"phone_full_name": value}}), LABEL, "phone_full_name")


@pytest.mark.parametrize("option, value", [
    ("voicemail_id", "8001\u00e9"), ("phone_login", "zo\u00eb"), ("phone_pass", "p\u00e4sswort12"),
    ("registration_password", "R\u00e9gSecret12345"), ("dialplan_number", "\u0668\u0660\u0660\u0661"),
    ("email", "zo\u00eb@x.example"), ("template_id", "tmpl\u00e9"), ("phone_context", "d\u00e9faut"),
    ("codecs_list", "ulaw,\u00fclaw"), ("outbound_cid", "\uff13\uff11\uff12"),
])
def test_non_ascii_is_rejected_where_vicidial_allows_only_latin(option, value):
    assert_only(parse({BAD: {option: value}}), LABEL, option, secret=value if option in SECRETS else None)


@pytest.mark.parametrize("protocol", ["PJSIP", "Zap"])
def test_non_ascii_extension_is_rejected_for_every_protocol(protocol):
    ext = "zo\u00eb1"
    assert_only(parse({BAD: {"extension": ext, "protocol": protocol}}), ext + "@10.10.10.1", "extension")


# --- extension per protocol -------------------------------------------------------

@pytest.mark.parametrize("protocol, extension, ok", [
    ("PJSIP", "8001", True), ("PJSIP", "ab12CD", True), ("PJSIP", "x" * 100, True),
    ("PJSIP", "SIP/8001", False), ("PJSIP", "PJSIP/8001", False), ("PJSIP", "80-01", False),
    ("PJSIP", "8001*", False), ("PJSIP", "80 01", False), ("PJSIP", "80_01", False), ("PJSIP", "8001@ctx", False),
    ("SIP", "8001", True), ("SIP", "SIP/8001", False), ("SIP", "80-01", False), ("SIP", "80.01", False),
    ("IAX2", "8001", True), ("IAX2", "IAX2/8001", False), ("IAX2", "80-01", False),
    ("Zap", "25-1", True), ("Zap", "1-1*#.:/@_", True), ("Zap", "SIP/8001", True),
    ("Zap", "25 1", False), ("Zap", "25'1", False), ("Zap", "25;1", False), ("Zap", "25,1", False),
    ("EXTERNAL", "8001@ctx", True), ("EXTERNAL", "80-01", True), ("EXTERNAL", "8001]\n[evil", False),
])
def test_extension_rules_follow_the_protocol(protocol, extension, ok):
    result = parse({BAD: {"extension": extension, "protocol": protocol}})
    # A label stays one line: control characters in it are shown escaped.
    label = "%s@10.10.10.1" % (repr(extension) if "\n" in extension else extension)
    if ok:
        assert_accepted(result, {label: {"extension": extension, "protocol": protocol}})
    else:
        assert_only(result, label, "extension")


def test_extension_over_100_characters_is_rejected():
    ext = "x" * 101
    assert_only(parse({BAD: {"extension": ext}}), ext + "@10.10.10.1", "extension", "at most 100")


def test_extension_with_dashes_and_no_protocol_is_left_to_the_planner():
    # Without a protocol in the entry the rule depends on the row or the
    # system default, which only the planner knows (see test_plan).
    assert_accepted(parse({BAD: {"extension": "70-900", "protocol": DROP}}),
                    {"70-900@10.10.10.1": {"extension": "70-900"}})


# --- server_ip ------------------------------------------------------------------

@pytest.mark.parametrize("ip", ["10.10.10.1", "192.168.100.200", "0.0.0.0", "255.255.255.255"])
def test_server_ip_accepts_ipv4(ip):
    assert_accepted(parse({BAD: {"server_ip": ip}}), {"70900@" + ip: {"server_ip": ip}})


@pytest.mark.parametrize("ip, fragment", [
    ("10.10.10", "IPv4"), ("10.10.10.256", "IPv4"), ("10.10.10.1.1", "IPv4"), ("010.10.10.1", "IPv4"),
    ("10..10.1", "IPv4"), ("10.10.10.a", "does not allow"), ("::1", "does not allow"),
    (" 10.10.10.1", "does not allow"), ("10.10.10.1 ", "does not allow"), ("1234567890.1.1.1", "at most 15"),
])
def test_server_ip_rejects_anything_but_ipv4(ip, fragment):
    assert_only(parse({BAD: {"server_ip": ip}}), "70900@" + ip, "server_ip", fragment)


# --- local_gmt, choices -------------------------------------------------------------

def test_every_local_gmt_of_vicidials_list_is_accepted():
    overrides = dict((i * 10, {"local_gmt": gmt}) for i, gmt in enumerate(LOCAL_GMT))
    expected = dict((label_of(i * 10), {"local_gmt": gmt}) for i, gmt in enumerate(LOCAL_GMT))
    assert_accepted(parse(overrides), expected)


@pytest.mark.parametrize("value, stored", [
    (-5.0, "-5.00"), (-5, "-5.00"), ("-5", "-5.00"), ("-5.0", "-5.00"), (9.5, "9.50"), (5.75, "5.75"),
    (12.75, "12.75"), (0, "0.00"), (-3.5, "-3.50"), ("-10", "-10.00"),
])
def test_local_gmt_as_yaml_reads_it_is_normalised_to_vicidials_spelling(value, stored):
    # YAML reads local_gmt: -5.00 as the float -5.0.
    assert_accepted(parse({BAD: {"local_gmt": value}}), {LABEL: {"local_gmt": stored}})


@pytest.mark.parametrize("option", sorted(CHOICE_FIELDS))
def test_choice_fields_accept_their_choices_and_nothing_else(option):
    choices, bad = CHOICE_FIELDS[option]
    column = model.BY_OPTION[option].name
    overrides = dict((i * 10, {option: choice}) for i, choice in enumerate(choices))
    expected = dict((label_of(i * 10), {column: choice}) for i, choice in enumerate(choices))
    assert_accepted(parse(overrides), expected)
    for value in bad:
        assert_only(parse({BAD: {option: value}}), LABEL, option, "must be one of")


@pytest.mark.parametrize("option, value", [("local_gmt", True), ("protocol", ["PJSIP"]), ("status", {"a": 1}),
                                           ("phone_full_name", False), ("dialplan_number", ["8001"])])
def test_string_fields_reject_booleans_lists_and_dicts(option, value):
    assert_only(parse({BAD: {option: value}}), LABEL, option, "must be a string")


def test_numbers_given_for_other_string_fields_are_stored_as_text():
    assert_accepted(parse({BAD: {"outbound_cid": 3125550100, "park_on_extension": 8301, "phone_type": 7}}),
                    {LABEL: {"outbound_cid": "3125550100", "park_on_extension": "8301", "phone_type": "7"}})


# YAML reads an unquoted 0123 as 83 and 012345670 as 2739128: identity and
# secret fields refuse numbers instead of storing a different phone or password.
@pytest.mark.parametrize("option, value, label", [
    ("extension", 83, "83@10.10.10.1"),
    ("server_ip", 10.1, "70900@10.1"),
    ("dialplan_number", 83, LABEL),
    ("voicemail_id", 83, LABEL),
    ("phone_login", 83, LABEL),
    ("login", 83, LABEL),
    ("phone_pass", 2739128, LABEL),
    ("registration_password", 2739128, LABEL),
    ("conf_secret", 27391.28, LABEL),
])
def test_identity_and_secret_fields_refuse_numbers_with_a_hint_to_quote(option, value, label):
    field = model.OPTION_NAMES[option].option
    override = {option: value} if option == field else {option: value, field: DROP}  # an alias replaces it
    errors = assert_only(parse({BAD: override}), label, field, "quote it in YAML")
    message = validate.format_errors(errors)
    if model.OPTION_NAMES[option].secret:
        assert str(value) not in message and str(value)[:4] not in message
    else:
        assert repr(value) in message


def test_numbers_in_defaults_for_identity_fields_are_refused_per_entry():
    parsed, errors = parse({}, defaults={"dialplan_number": 8001})
    # Every entry sets its own dialplan_number, so the default is not used...
    assert errors == [] and len(parsed) == N
    parsed, errors = parse({BAD: {"dialplan_number": DROP}}, defaults={"dialplan_number": 8001})
    # ...except by the one entry that leaves it out.
    assert [(e.entry, e.field) for e in errors] == [(LABEL, "dialplan_number")]


# --- codecs -------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["ulaw", "ulaw,alaw", "ulaw alaw,g729", "ULAW,G722", "u-law a-law",
                                   "opus, ulaw", "", "gsm,ulaw,alaw,g719,g722,g723,g726,g729,g729a,ilbc,lpc10,"
                                   "speex,adpcm,opus,slin", ("ulaw," * 20)])
def test_known_codec_lists_are_accepted_literally(value):
    assert_accepted(parse({BAD: {"codecs_list": value}}), {LABEL: {"codecs_list": value}})


@pytest.mark.parametrize("value, fragment", [
    ("mp3", "mp3"), ("ulaw,mp3", "mp3"), ("ulaw;alaw", "ulaw;alaw"), ("garbage", "garbage"),
    ("ulaw|alaw", "ulaw|alaw"), ("ulaw," * 20 + "a", "at most 100"), ("'ulaw'", "'ulaw'"),
])
def test_garbage_codec_lists_are_rejected(value, fragment):
    # VICIdial writes no codec line for them: the phone registers but carries no call.
    assert_only(parse({BAD: {"codecs_list": value}}), LABEL, "codecs_list", fragment)


# --- conf_override --------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "type=friend\nhost=dynamic\ncontext=default\nsecret=abc",
    'callerid="Zo\u00eb" <8001>\nsetvar=A=\'b\'',
    "type=friend\n\tqualify=yes\n",
    "allow=ulaw # not a directive when not at the start of the line",
    "a" * 65535,
])
def test_conf_override_bodies_are_stored_literally(value):
    assert_accepted(parse({BAD: {"conf_override": value}}), {LABEL: {"conf_override": value}})


@pytest.mark.parametrize("value, fragment", [
    ("[evil]\ntype=friend", "line 1 starts with '['"),
    ("type=friend\n[evil]", "line 2 starts with '['"),
    ("type=friend\n  [evil](!)", "line 2 starts with '['"),
    ("#include /etc/asterisk/manager.conf", "line 1 starts with '#'"),
    ("type=friend\n#exec /bin/sh -c id", "line 2 starts with '#'"),
    ("type=friend\n\t#tryinclude x.conf", "line 2 starts with '#'"),
    ("allow=ulaw ; comment", "line 1 contains ';'"),
    ("type=friend\nsecret=a;b", "line 2 contains ';'"),
    ("type=friend\rhost=dynamic", "carriage return"),
    ("type=friend\r\n\r[evil]", "carriage return"),
    ("type=friend\x00", "NUL"),
    # Asterisk skips every byte below 33 before it looks for '[' or '#'.
    ("\x01[evil]\ntype=friend", "line 1 contains the control character '\\x01'"),
    ("type=friend\n\x1b#exec /bin/id", "line 2 contains the control character '\\x1b'"),
    ("type=friend\nhost=dynamic\n\x08#include /etc/shadow", "line 3 contains the control character '\\x08'"),
    ("type=friend\n\x0b[evil]", "control character"),
    ("type=friend\n\x7f[evil]", "control character"),
    ("allow=ulaw\x85[evil]", "control character"),
    ("a" * 65536, "at most 65535"),
])
def test_conf_override_lines_that_escape_the_stanza_are_rejected(value, fragment):
    assert_only(parse({BAD: {"conf_override": value}}), LABEL, "conf_override", fragment)


def test_conf_override_with_crlf_line_ends_as_the_web_screen_stores_it_is_accepted():
    parsed, errors = parse({BAD: {"conf_override": "type=wizard\r\nendpoint/context=default\r\n"}})
    assert not errors
    assert values_of(parsed, LABEL)["conf_override"] == "type=wizard\r\nendpoint/context=default\r\n"


def test_conf_override_is_limited_by_the_bytes_a_text_column_holds():
    # TEXT holds 65535 bytes; 65535 characters of U+00E9 are 131070 bytes in utf8mb4.
    assert_only(parse({BAD: {"conf_override": "\u00e9" * 65535}}), LABEL, "conf_override")


# --- booleans and integers ----------------------------------------------------------

@pytest.mark.parametrize("option", YN_FIELDS + ONE_ZERO_FIELDS)
def test_boolean_fields_coerce_yaml_and_vicidial_spellings_and_reject_the_rest(option):
    yes, no = ("Y", "N") if option in YN_FIELDS else ("1", "0")
    column = model.BY_OPTION[option].name
    trues = [True, "yes", "Y", "on", "1", 1, "true", "T"]
    falses = [False, "no", "N", "off", "0", 0, "false", "f"]
    overrides = dict((10 + i, {option: v}) for i, v in enumerate(trues))
    overrides.update((20 + i, {option: v}) for i, v in enumerate(falses))
    expected = dict((label_of(10 + i), {column: yes}) for i in range(len(trues)))
    expected.update((label_of(20 + i), {column: no}) for i in range(len(falses)))
    assert_accepted(parse(overrides), expected)
    assert_only(parse({BAD: {option: "maybe"}}), LABEL, option, "must be a boolean")


@pytest.mark.parametrize("value", ["maybe", 2, -1, "", "YES!", ["Y"], 1.5])
def test_boolean_coercion_errors(value):
    assert_only(parse({BAD: {"active": value}}), LABEL, "active", "must be a boolean")


@pytest.mark.parametrize("option", sorted(INT_FIELDS))
def test_integer_fields_accept_their_range_and_reject_the_rest(option):
    low, high = INT_FIELDS[option]
    assert_accepted(parse({10: {option: low}, 20: {option: high}, 30: {option: str(high)}, 40: {option: " %d " % low}}),
                    {label_of(10): {option: low}, label_of(20): {option: high}, label_of(30): {option: high},
                     label_of(40): {option: low}})
    assert_only(parse({BAD: {option: low - 1}}), LABEL, option, "at least %d" % low)
    assert_only(parse({BAD: {option: high + 1}}), LABEL, option, "at most %d" % high)


@pytest.mark.parametrize("value, fragment", [
    ("fast", "whole number"), ("1.5", "whole number"), (1.5, "whole number"), ("", "whole number"),
    (True, "boolean"), (False, "boolean"), ("60s", "whole number"), ("0x3c", "whole number"),
])
def test_integer_coercion_errors(value, fragment):
    assert_only(parse({BAD: {"phone_ring_timeout": value}}), LABEL, "phone_ring_timeout", fragment)


# --- options, aliases, identity, state -------------------------------------------------

@pytest.mark.parametrize("key", ["phone_colour", "registration_pasword", "pass", "secret", "phone_ip",
                                 "peer_status", "messages", "Extension", "purge"])
def test_unknown_options_are_errors(key):
    assert_only(parse({BAD: {key: "x"}}), LABEL, key, "is not a phone option")


@pytest.mark.parametrize("alias, option, column, value", [
    ("login", "phone_login", "login", "L1x"), ("fullname", "phone_full_name", "fullname", "Front desk"),
    ("conf_secret", "registration_password", "conf_secret", "AliasSecret-12345"),
    ("user_group", "admin_user_group", "user_group", "---ALL---"),
])
def test_aliases_set_the_column(alias, option, column, value):
    assert_accepted(parse({BAD: {option: DROP, alias: value}}), {LABEL: {column: value}})


@pytest.mark.parametrize("alias, option", [("login", "phone_login"), ("fullname", "phone_full_name"),
                                           ("conf_secret", "registration_password"),
                                           ("user_group", "admin_user_group")])
@pytest.mark.parametrize("same", [False, True])
def test_an_option_and_its_alias_in_one_entry_are_an_error(alias, option, same):
    value = "AliasV-1234" if same else "AliasV-4321"
    parsed, errors = parse({BAD: {option: "AliasV-1234", alias: value}})
    assert len(errors) == 1 and errors[0].entry == LABEL
    assert errors[0].field in (alias, option)
    other = option if errors[0].field == alias else alias
    assert "sets the same column as %s" % other in errors[0].message
    assert len(parsed) == N - 1


def test_entry_values_win_over_defaults_spelled_the_same():
    parsed, errors = parse({BAD: {"phone_full_name": "Front desk"}},
                           defaults={"phone_full_name": "Agent", "phone_context": "agents"})
    assert errors == []
    assert values_of(parsed, LABEL)["fullname"] == "Front desk"
    assert values_of(parsed, label_of(1))["fullname"] == "Agent 1"
    assert all(v["phone_context"] == "agents" for _l, _s, v in parsed)


def test_entry_values_win_over_defaults_spelled_with_the_alias():
    # vicidial_phones documents defaults as "an entry's own value wins",
    # whichever accepted spelling either of them uses.
    entries = [dict(e) for e in BASE]
    parsed, errors = parse_all(entries, {"fullname": "Agent"})
    assert [str(e) for e in errors] == []
    assert values_of(parsed, LABEL)["fullname"] == "Agent 900"


@pytest.mark.parametrize("missing, label, fields", [
    (("extension",), "phones[900]", ["extension"]),
    (("server_ip",), "70900@(no server_ip) (phones[900])", ["server_ip"]),
    (("extension", "server_ip"), "phones[900]", ["extension", "server_ip"]),
])
@pytest.mark.parametrize("how", ["absent", "empty", "none"])
def test_missing_identity_is_an_error_that_still_locates_the_entry(missing, label, fields, how):
    value = {"absent": DROP, "empty": "", "none": None}[how]
    parsed, errors = parse({BAD: dict((k, value) for k in missing)})
    assert [(e.entry, e.field) for e in errors] == [(label, f) for f in fields], [str(e) for e in errors]
    assert all(e.message == "is required" for e in errors)
    assert len(parsed) == N - 1


def test_an_entry_that_is_not_a_dictionary_is_an_error():
    assert_only(parse({BAD: "70900@10.10.10.1"}), "phones[900]", None, "must be a dictionary")


@pytest.mark.parametrize("state, expected", [("present", "present"), ("absent", "absent"), (None, "present")])
def test_state_values(state, expected):
    parsed, errors = parse({BAD: {"state": state}})
    assert errors == []
    assert [s for lbl, s, _v in parsed if lbl == LABEL] == [expected]
    assert "state" not in values_of(parsed, LABEL)


@pytest.mark.parametrize("state", ["gone", "Present", "deleted", True, ""])
def test_bad_state_values_are_errors(state):
    if state == "":  # empty means the default, like None
        parsed, errors = parse({BAD: {"state": state}})
        assert errors == [] and len(parsed) == N
        return
    assert_only(parse({BAD: {"state": state}}), LABEL, "state", "must be present or absent")


# --- many problems at once --------------------------------------------------------------

def test_all_bad_entries_are_listed_together():
    parsed, errors = parse({100: {"dialplan_number": "80a"}, 500: {"phone_colour": "red"}, BAD: {"state": "gone"}})
    assert [(e.entry, e.field) for e in errors] == [
        (label_of(100), "dialplan_number"), (label_of(500), "phone_colour"), (LABEL, "state")]
    message = validate.format_errors(errors)
    lines = message.splitlines()
    assert lines[0] == "3 problems in 3 entries; nothing was written:"
    assert lines[1].startswith("  - 70100@10.10.10.1: dialplan_number: ")
    assert lines[2] == "  - 70500@10.10.10.1: phone_colour: is not a phone option"
    assert lines[3].startswith("  - 70900@10.10.10.1: state: must be present or absent")
    assert len(parsed) == N - 3


def test_every_problem_of_one_entry_is_listed():
    parsed, errors = parse({BAD: {"dialplan_number": "80a", "phone_login": "a b", "protocol": "DAHDI",
                                  "active": "maybe", "phone_ring_timeout": 500}})
    assert sorted(e.field for e in errors) == ["active", "dialplan_number", "phone_login", "phone_ring_timeout",
                                               "protocol"]
    assert all(e.entry == LABEL for e in errors)
    assert validate.format_errors(errors).splitlines()[0] == "5 problems in 1 entry; nothing was written:"
    assert len(parsed) == N - 1


def test_a_long_error_list_is_capped():
    parsed, errors = parse(dict((i, {"dialplan_number": "x"}) for i in range(250)))
    lines = validate.format_errors(errors).splitlines()
    assert lines[0] == "250 problems in 250 entries; nothing was written:"
    assert len(lines) == 1 + 200 + 1 and lines[-1] == "  - ... and 50 more"
    assert len(parsed) == N - 250


# --- strings built to break SQL or Asterisk config ----------------------------------------

HOSTILE = [
    # (option, value, "rejected" or "literal")
    ("phone_full_name", "x'; DROP TABLE phones; --", "rejected"),
    ("phone_full_name", 'Robert"); DROP TABLE phones;--', "rejected"),
    ("phone_full_name", "Front desk\n[evil]\ntype=friend", "rejected"),
    ("phone_full_name", "#include /etc/passwd", "rejected"),
    ("dialplan_number", "8001; DROP TABLE phones", "rejected"),
    ("dialplan_number", "8001,1,Dial(SIP/x)", "rejected"),
    ("phone_login", "L1' OR '1'='1", "rejected"),
    ("phone_pass", "pw'; UPDATE phones SET pass='x", "rejected"),
    ("registration_password", "abc\n[evil]\ntype=friend", "rejected"),
    ("registration_password", "abc;def", "rejected"),
    ("mohsuggest", "default\n[evil]", "rejected"),
    ("phone_context", "default]\n[evil", "rejected"),
    ("email", "a@b.example\n#include /etc/passwd", "rejected"),
    ("email", "a@b.example,other@evil.example", "rejected"),
    ("voicemail_options", "attach=yes\n[other]", "rejected"),
    ("voicemail_options", "attach=yes;x", "rejected"),
    ("codecs_list", "ulaw\n[evil]", "rejected"),
    ("codecs_list", "ulaw,alaw\nallow=all", "rejected"),
    ("template_id", "x' OR 1=1 -- ", "rejected"),
    ("voicemail_greeting", "../../etc/passwd;", "rejected"),
    ("conf_override", "#include /etc/asterisk/manager.conf", "rejected"),
    ("conf_override", "type=friend\n[evil-peer]\ntype=friend", "rejected"),
    ("conf_override", "secret=x ;comment", "rejected"),
    ("conf_override", "type=friend\n#exec /bin/sh", "rejected"),
    ("local_web_callerID_URL", "http://x.example/?q=1'; DROP TABLE phones; --", "literal"),
    ("VICIDIAL_web_URL", 'http://x.example/"><script>alert(1)</script>', "literal"),
    ("nva_call_url", "http://x.example/?a=${EXTEN}&b=\\'", "literal"),
    ("webphone_layout", "layout_\u00fc.php", "literal"),
    ("phone_full_name", "Zo\u00eb M\u00fcller-\u0141ukasz", "literal"),
    ("conf_override", 'callerid="Zo\u00eb" <8001>\nsetvar=A=\'b\'', "literal"),
]


@pytest.mark.parametrize("option, value, outcome", HOSTILE)
def test_hostile_strings_are_rejected_or_stored_literally(option, value, outcome):
    result = parse({BAD: {option: value}})
    if outcome == "rejected":
        assert_only(result, LABEL, option, secret=value if option in SECRETS else None)
    else:
        assert_accepted(result, {LABEL: {model.BY_OPTION[option].name: value}})


@pytest.mark.parametrize("option", SECRETS)
def test_a_bad_secret_is_never_echoed(option):
    value = "Sup3r'Secret;Value"
    errors = assert_only(parse({BAD: {option: value}}), LABEL, option, secret=value)
    assert "Sup3r" not in validate.format_errors(errors)
