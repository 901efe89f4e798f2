"""Helpers for the Molecule verifiers (pytest-testinfra) of the lab scenarios.

Everything is looked at from outside, the way an operator would: the
database through `mariadb` in the lab's DB container, files and Asterisk
through `podman exec` (testinfra's podman backend), and SIP REGISTERs sent
from this host with lab/sipreg.py. The expected state is read from the
inventory files themselves (phones.yml or a scenario's overlay) and from the
lab vault, decrypted with `ansible-vault view`; nothing is taken from the
collection's own code.

The lab is selected by VICILAB_NAME and VICILAB_SUBNET_PREFIX, which
molecule.yml sets (ansible.env); container names and IPs are derived here
from those two only, as scripts/env.sh does.
"""

import os
import re
import subprocess
import sys
import threading
import time

import jinja2
import testinfra
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "lab"))
import sipreg  # noqa: E402  (lab/sipreg.py, stdlib SIP client)

LAB_INVENTORY = os.path.join(ROOT, "inventory", "lab")
PHONES_FILE = os.path.join(LAB_INVENTORY, "group_vars", "all", "phones.yml")
VAULT_FILE = os.path.join(LAB_INVENTORY, "group_vars", "all", "vault.yml")
VAULT_PASS_FILE = os.path.join(ROOT, ".lab", "vault-pass")

NAME = os.environ.get("VICILAB_NAME", "")
PREFIX = os.environ.get("VICILAB_SUBNET_PREFIX", "")
if NAME in ("", "vicilab") or not PREFIX:
    raise RuntimeError(
        "VICILAB_NAME/VICILAB_SUBNET_PREFIX must name the scenario's own lab "
        "(run these tests through molecule, which sets them)"
    )

SERVERS = {"ast1": PREFIX + ".11", "ast2": PREFIX + ".12"}
SERVER_BY_IP = {ip: name for name, ip in SERVERS.items()}
FILE_SUFFIX = "ansible-phones"
PHONE_FILES = {
    # file kind -> main config that must include it
    "pjsip_wizard": "pjsip_wizard.conf",
    "iax": "iax.conf",
    "extensions": "extensions.conf",
}
DIALPLAN_CONTEXT = "vicidial-auto-phones"
WRONG_PASSWORD = "Wr0ngPassw0rdForTests"

# Inventory option -> phones column, for the options the lab inventory uses.
OPTION_COLUMNS = {
    "extension": "extension",
    "server_ip": "server_ip",
    "protocol": "protocol",
    "dialplan_number": "dialplan_number",
    "voicemail_id": "voicemail_id",
    "phone_login": "login",
    "phone_pass": "pass",
    "registration_password": "conf_secret",
    "phone_full_name": "fullname",
    "is_webphone": "is_webphone",
    "active": "active",
    "local_gmt": "local_gmt",
    "phone_context": "phone_context",
}


# ------------------------------------------------------------ expected state --
def vault_secrets(vault_file=VAULT_FILE):
    """The lab vault (or a scenario's), decrypted with ansible-vault: {extension: {...}}."""
    out = subprocess.run(
        ["ansible-vault", "view", "--vault-password-file", VAULT_PASS_FILE, vault_file],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    data = yaml.safe_load(out) or {}
    return {str(k): v for k, v in (data.get("vault_phone_secrets") or {}).items()}


def _render(value, context):
    if isinstance(value, str) and "{{" in value:
        env = jinja2.Environment(undefined=jinja2.StrictUndefined)
        return env.from_string(value).render(**context)
    return value


def declared_phones(vars_file=PHONES_FILE, extra_context=None):
    """The declared entries of a vars file, templated like Ansible would.

    Returns {extension: {option: value}} with vicidial_phones_defaults merged
    in (an entry's own value wins) and the vault secrets filled in.
    """
    with open(vars_file) as handle:
        data = yaml.safe_load(handle)
    context = {"vicilab_subnet_prefix": PREFIX, "vault_phone_secrets": vault_secrets()}
    context.update(extra_context or {})
    defaults = data.get("vicidial_phones_defaults")
    if defaults is None:  # an overlay may keep the inventory's defaults
        with open(PHONES_FILE) as handle:
            defaults = yaml.safe_load(handle).get("vicidial_phones_defaults") or {}
    phones = {}
    for entry in data["vicidial_phones_entries"]:
        merged = dict(defaults)
        merged.update(entry)
        phones[str(merged["extension"])] = {k: _render(v, context) for k, v in merged.items()}
    return phones


def expected_row(phone):
    """The phones row (column -> text) a declared entry must produce."""
    row = {}
    for option, column in OPTION_COLUMNS.items():
        if option in phone:
            value = phone[option]
            if isinstance(value, bool):
                value = "Y" if value else "N"
            row[column] = str(value)
    row.setdefault("active", "Y")
    row.setdefault("is_webphone", "N")
    return row


def is_active(phone):
    return expected_row(phone)["active"] == "Y"


def server_name(phone):
    return SERVER_BY_IP[phone["server_ip"]]


def other_server(name):
    return "ast2" if name == "ast1" else "ast1"


def active_on(declared, server, protocol=None):
    """Extensions of the active declared phones of SERVER (ast1/ast2), optionally of one protocol."""
    return {
        ext
        for ext, p in declared.items()
        if server_name(p) == server and is_active(p) and (protocol is None or p["protocol"] == protocol)
    }


def phone_file(server, kind):
    """testinfra File of one of the role's config files on ast1/ast2."""
    return host(server).file("/etc/asterisk/%s-%s.conf" % (kind, FILE_SUFFIX))


def stanzas(text):
    return set(re.findall(r"(?m)^\[([^\]]+)\]", text))


def endpoint_settings(server, extension):
    """`pjsip show endpoint EXT` as {setting: value}; {} when there is no such endpoint."""
    text = asterisk(server, "pjsip show endpoint %s" % extension)
    if "Unable to find object" in text:
        return {}
    return dict(re.findall(r"(?m)^[ \t]*(\w+)[ \t]+:[ \t]*(\S*)", text))


# ------------------------------------------------------------------- access --
_HOSTS = {}


def host(name):
    """testinfra host for a lab container: db, ast1 or ast2."""
    if name not in _HOSTS:
        _HOSTS[name] = testinfra.get_host("podman://%s-%s" % (NAME, name))
    return _HOSTS[name]


def sql(query):
    """Rows of a query in the lab database, as dicts of text (NULL -> None)."""
    cmd = host("db").run("mariadb --batch asterisk -e %s", query)
    assert cmd.rc == 0, "mariadb failed: %s" % cmd.stderr
    lines = cmd.stdout.splitlines()
    if not lines:
        return []
    names = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        values = [_unescape(v) for v in line.split("\t")]
        rows.append(dict(zip(names, values)))
    return rows


def _unescape(value):
    if value == "NULL":
        return None
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "0": "\0"}.get(m.group(1), m.group(1)), value)


def asterisk(server, command):
    """Output of `asterisk -rx COMMAND` on ast1/ast2 (fails the test if it cannot run)."""
    cmd = host(server).run("asterisk -rx %s", command)
    assert cmd.rc == 0 and "Unable to connect" not in cmd.stdout, "asterisk -rx %r on %s failed: %s %s" % (
        command,
        server,
        cmd.stdout,
        cmd.stderr,
    )
    return cmd.stdout


def pjsip_endpoints(server):
    text = asterisk(server, "pjsip show endpoints")
    return set(re.findall(r"(?m)^\s*Endpoint:\s+([^\s<][^\s/]*)", text))


def iax2_peers(server):
    text = asterisk(server, "iax2 show peers")
    peers = set()
    for line in text.splitlines()[1:]:
        match = re.match(r"^([^\s/]+)(?:/\S*)?\s", line)
        if match and not re.match(r"^\d+ iax2 peers", line):
            peers.add(match.group(1))
    return peers


def dialplan_numbers(server):
    text = asterisk(server, "dialplan show %s" % DIALPLAN_CONTEXT)
    return set(re.findall(r"(?m)^\s*'([^']+)' =>", text)) - {"h"}


def contacts(server):
    """{contact 'aor/uri': status} from `pjsip show contacts`."""
    text = asterisk(server, "pjsip show contacts")
    return dict(re.findall(r"(?m)^\s*Contact:\s+(\S+/sip:\S+)\s+\S+\s+(\S+)", text))


# ---------------------------------------------------------------------- SIP --
def register(extension, server, password, **kwargs):
    """One REGISTER of EXTENSION at SERVER (ast1/ast2) from this host; binding removed after."""
    kwargs.setdefault("timeout", 30.0)  # a deadline for the answer, not an expected time
    kwargs.setdefault("unregister", True)
    return sipreg.register(SERVERS[server], extension, password, **kwargs)


def register_reachable(extension, server, password, stay=60.0):
    """REGISTER, then answer qualify OPTIONS while watching `pjsip show contacts`.

    Waits for the event, not for a time: returns as soon as Asterisk shows our
    contact Avail, or after ``stay`` seconds (the deadline) if it never does.
    The binding is removed after.

    Returns (sipreg result, status of our contact in Asterisk or None).
    """
    result = {"server": SERVERS[server], "user": extension}
    reg = sipreg.Registrar(SERVERS[server], extension, password, timeout=30.0)
    stop = threading.Event()
    try:
        result["contact"] = reg.contact_uri
        resp, auth = reg.register(60)
        sipreg._status_result(result, resp, auth is not None)  # pylint: disable=protected-access
        if result["status"] != 200:
            return result, None

        def serve():  # answers Asterisk's OPTIONS until told to stop
            while not stop.is_set():
                reg.serve(0.1)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        seen = None
        deadline = time.monotonic() + max(stay, 1.0)
        while time.monotonic() < deadline:
            current = [st for uri, st in contacts(server).items() if uri.endswith("/" + reg.contact_uri)]
            if current:
                seen = current[-1]
            if seen == "Avail":
                break
            time.sleep(0.2)
        stop.set()
        thread.join(30)
        resp, _auth = reg.register(0)
        result["unregister_status"] = resp.status if resp is not None else None
        return result, seen
    finally:
        stop.set()
        result["options_answered"] = reg.options_answered
        reg.close()
