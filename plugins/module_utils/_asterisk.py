# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Asking a running Asterisk questions, reloading it, and reading its answers.

Private to the collection.  Every CLI answer the collection relies on is
parsed here, once, by a function unit-tested on output captured from
Asterisk 22 (tests/unit/module_utils/asterisk22/).

Questions go over Asterisk's control socket (what ``asterisk -rx`` itself
uses) when it can be reached: one connection per command costs well under a
millisecond, against a process start for each ``asterisk -rx``, which matters
when a thousand auth objects are checked.  Where the socket is not there (a
different astrundir, an unprivileged user), ``asterisk -rx`` is used.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import socket
import stat

DEFAULT_SOCKET = "/var/run/asterisk/asterisk.ctl"

# The control socket reads one command batch of at most 511 bytes.
_MAX_COMMAND = 480

# What Asterisk says when a reload or a question went wrong.
_FAILURES = (
    re.compile(r"^No such command '[^']*'", re.M),
    re.compile(r"^Command '[^']*' failed\.", re.M),
    re.compile(r"^Unable to (?:connect|load|reload|find)[^\n]*", re.M),
    re.compile(r"^Module '[^']*' (?:could not be reloaded|is not loaded|does not support reloading|not found)[^\n]*",
               re.M),
    re.compile(r"^The module '[^']*' (?:was not properly initialized|could not be reloaded)[^\n]*", re.M),
)


def argument_spec():
    """The options of a module that asks the Asterisk of its host (doc fragment read_only.asterisk)."""
    return dict(asterisk_command=dict(type="str", default="asterisk"),
                asterisk_socket=dict(type="path", default=DEFAULT_SOCKET))


def cli_for(module):
    """A Cli for a module whose argument spec includes argument_spec()."""
    return Cli(module.run_command, module.params["asterisk_command"], module.params["asterisk_socket"])


class AsteriskError(Exception):
    """Asterisk could not be asked, or refused what it was asked."""


class Cli(object):
    """Runs Asterisk CLI commands on this host.

    run_command: AnsibleModule.run_command (argv -> rc, stdout, stderr), used
    for ``asterisk -rx`` when the control socket cannot be used.
    """

    def __init__(self, run_command, asterisk_command="asterisk", socket_path=DEFAULT_SOCKET):
        self._run_command = run_command
        self.asterisk_command = asterisk_command
        self.socket_path = socket_path
        self.via = None  # "socket" or "asterisk -rx", once known

    def _socket_usable(self):
        if not self.socket_path or self.via == "asterisk -rx":
            return False
        try:
            return stat.S_ISSOCK(os.stat(self.socket_path).st_mode)
        except OSError:
            return False

    def _over_socket(self, command):
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.settimeout(60)
            conn.connect(self.socket_path)
            # "cli quit after": Asterisk runs the command, then closes the connection.
            conn.sendall(b"cli quit after " + command.encode("utf-8") + b"\0")
            chunks = []
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                chunks.append(data)
        finally:
            conn.close()
        if not chunks:
            # Asterisk sends its banner to every connection: nothing at all means it went away.
            raise AsteriskError("Asterisk closed its control socket %s without answering '%s' (is it running?)"
                                % (self.socket_path, command))
        return strip_banner(b"".join(chunks).decode("utf-8", "replace"))

    def ask(self, command):
        """The text Asterisk answers to one CLI command.

        Raises AsteriskError when Asterisk cannot be reached.
        """
        if len(command.encode("utf-8")) > _MAX_COMMAND:
            raise AsteriskError("CLI command too long for Asterisk: %s..." % command[:40])
        if self._socket_usable():
            try:
                text = self._over_socket(command)
                self.via = "socket"
                return text
            except (OSError, socket.error):
                if self.via == "socket":
                    raise AsteriskError("Asterisk closed its control socket %s while asked '%s' (is it running?)"
                                        % (self.socket_path, command)) from None
                self.via = "asterisk -rx"
        argv = [self.asterisk_command, "-rx", command]
        rc, out, err = self._run_command(argv)
        self.via = "asterisk -rx"
        if rc != 0 or "Unable to connect to remote asterisk" in out + err:
            last = ((err or out).strip().splitlines() or ["no output"])[-1]
            raise AsteriskError("cannot ask Asterisk '%s' (%s): %s" % (command, " ".join(argv[:2]), last))
        return out

    def reload(self, command):
        """Run a reload command; raises AsteriskError saying why when Asterisk refused it."""
        text = self.ask(command)
        problem = reload_problem(text)
        if problem:
            raise AsteriskError("'%s' failed: %s" % (command, problem))
        return text

    def has_module(self, name):
        return name in parse_modules(self.ask("module show like %s" % name))


def strip_banner(text):
    """Drop the 'host/pid/version' line the control socket sends first."""
    first, sep, rest = text.partition("\n")
    if sep and re.match(r"^[^\s/]*/\d+/\S+$", first):
        return rest
    return text


def reload_problem(text):
    """The first line of a CLI answer that says the command failed, or None."""
    for pattern in _FAILURES:
        match = pattern.search(text or "")
        if match:
            return match.group(0).strip()
    return None


# ---------------------------------------------------------------- parsers ----

_ENDPOINT = re.compile(r"^ Endpoint:\s+(\S+?)(?:/\S*)?\s{2,}(\S.*?)\s{2,}\S+ of \S+\s*$")
_ENDPOINT_LOOSE = re.compile(r"^ Endpoint:\s+([^\s/<]+)")
_INAUTH = re.compile(r"^\s+InAuth:\s+([^\s/]+)")
_AOR = re.compile(r"^\s+Aor:\s+(\S+)")
_CONTACT = re.compile(r"^\s+Contact:\s+([^\s/]+)/(\S+)\s+\S+\s+(\S+)\s+(\S+)?")


def parse_endpoints(text):
    """'pjsip show endpoints' -> {endpoint: {"state", "auths", "aors", "contacts"}}.

    Contacts are {"uri", "status", "rtt"}; an empty answer ('No objects found.') is {}.
    """
    endpoints = {}
    current = None
    for line in (text or "").splitlines():
        if "<Endpoint/CID" in line or "<AuthId" in line or "<Aor" in line:
            continue
        match = _ENDPOINT.match(line) or _ENDPOINT_LOOSE.match(line)
        if match:
            current = dict(state=match.group(2).strip() if match.lastindex >= 2 else "",
                           auths=[], aors=[], contacts=[])
            endpoints[match.group(1)] = current
            continue
        if current is None:
            continue
        match = _INAUTH.match(line)
        if match:
            current["auths"].append(match.group(1))
            continue
        match = _CONTACT.match(line)
        if match:
            current["contacts"].append(dict(uri=match.group(2), status=match.group(3), rtt=match.group(4) or ""))
            continue
        match = _AOR.match(line)
        if match:
            current["aors"].append(match.group(1))
    return endpoints


def parse_contacts(text):
    """'pjsip show contacts' -> [{"aor", "uri", "status", "rtt"}]."""
    contacts = []
    for line in (text or "").splitlines():
        if "<Aor/ContactUri" in line:
            continue
        match = _CONTACT.match(line)
        if match:
            contacts.append(dict(aor=match.group(1), uri=match.group(2), status=match.group(3),
                                 rtt=match.group(4) or ""))
    return contacts


def parse_object(text):
    """'pjsip show auth|endpoint|aor NAME' -> {parameter: value}, or None when there is no such object.

    An auth object's answer holds the password in clear: callers compare it
    and drop it, never return it.
    """
    if not text or "Unable to find object" in text:
        return None
    params = {}
    in_params = False
    for line in text.splitlines():
        if line.strip().startswith("ParameterName"):
            in_params = True
            continue
        if not in_params or line.strip().startswith("==="):
            continue
        key, sep, value = line.partition(":")
        if sep and key.strip():
            params[key.strip()] = value[1:] if value.startswith(" ") else value
    return params or None


parse_auth = parse_object

_TRUE = ("yes", "true", "on", "1", "y")
_FALSE = ("no", "false", "off", "0", "n")
# Endpoint options whose loaded value reads back the way it is written
# (booleans aside): enough to tell a stale object from the one just written.
COMPARABLE_ENDPOINT_OPTIONS = (
    "context", "mailboxes", "dtmf_mode", "language", "moh_suggest", "rtp_timeout", "direct_media",
    "rtp_symmetric", "rewrite_contact", "send_rpid", "trust_id_inbound", "inband_progress", "use_ptime",
)


def _normal(value):
    value = (value or "").strip().lower()
    if value in _TRUE:
        return "true"
    if value in _FALSE:
        return "false"
    return value


def endpoint_mismatches(written, loaded):
    """[(option, written value)] where the loaded endpoint differs from the wizard lines written.

    written: {option: value} of a stanza's endpoint/ lines (the last one of
    each wins, as in Asterisk); loaded: parse_object() of 'pjsip show
    endpoint'.  A wizard object Asterisk rejects on reload keeps its previous
    version loaded: this is how that shows.
    """
    found = []
    for option in COMPARABLE_ENDPOINT_OPTIONS:
        if option in written and _normal(written[option]) != _normal(loaded.get(option)):
            found.append((option, written[option]))
    return found


def wizard_endpoint_options(stanza):
    """{option: value} of the endpoint/ lines of one wizard stanza."""
    options = {}
    for line in (stanza or "").splitlines():
        key, sep, value = line.partition("=")
        key = key.strip()
        if sep and key.lower().startswith("endpoint/"):
            options[key[len("endpoint/"):].strip().lower()] = value.split(";", 1)[0].strip()
    return options


_PEER_ROW = re.compile(r"^(\S+?)(?:/\S*)?\s+(\S+)(?:\s|$)")
_PEER_STATUS = re.compile(r"\s((?:OK|LAGGED) \((\d+) ms\)|UNREACHABLE|UNKNOWN|Unmonitored)\s*")


def parse_peer_table(text):
    """'iax2 show peers' (or 'sip show peers') -> {name: {"host", "status", "rtt"}}, in the order shown.

    host is '' when the peer is not registered.
    """
    peers = {}
    for line in (text or "").splitlines():
        if not line.strip() or line.startswith("Name/Username") or re.match(r"^\d+ (?:iax2|sip) peers", line):
            continue
        match = _PEER_ROW.match(line)
        if not match:
            continue
        host = match.group(2)
        status = _PEER_STATUS.search(line)
        peers[match.group(1)] = dict(
            host="" if host in ("(null)", "(Unspecified)", "0.0.0.0") else host,
            status=status.group(1) if status else "",
            rtt=(status.group(2) or "") if status else "")
    return peers


def parse_iax2_peers(text):
    """'iax2 show peers' (or 'sip show peers') -> peer names, in the order shown."""
    return list(parse_peer_table(text))


parse_sip_peers = parse_iax2_peers

_DIAL_EXTEN = re.compile(r"^\s+'([^']+)' =>\s+(\d+)\.\s+(.*?)\s+\[([^\]]*)\]\s*$")
_DIAL_PRIO = re.compile(r"^\s+(\d+)\.\s+(.*?)\s+\[([^\]]*)\]\s*$")


def parse_dialplan(text):
    """'dialplan show CONTEXT' -> {extension: {priority: (application, source)}}.

    None when the context does not exist.  Includes and switches are left
    out: only the context's own extensions are read.
    """
    if not text or "There is no existence of" in text:
        return None
    extens = {}
    current = None
    for line in text.splitlines():
        match = _DIAL_EXTEN.match(line)
        if match:
            current = extens.setdefault(match.group(1), {})
            current[int(match.group(2))] = (match.group(3), match.group(4))
            continue
        match = _DIAL_PRIO.match(line)
        if match and current is not None:
            current[int(match.group(1))] = (match.group(2), match.group(3))
            continue
        if not line.startswith(" "):
            current = None
    return extens


_DIAL_APP = re.compile(r"^Dial\(([A-Za-z0-9]+)/([^,|)]+)")


def dialled_channel(application):
    """'Dial(PJSIP/8001,60,)' -> ('PJSIP', '8001'); None for anything else."""
    match = _DIAL_APP.match(application or "")
    return (match.group(1), match.group(2)) if match else None


def parse_modules(text):
    """'module show like X' -> set of loaded module file names."""
    names = set()
    for line in (text or "").splitlines():
        match = re.match(r"^(\S+\.so)\s", line)
        if match:
            names.add(match.group(1))
    return names


# A registration's contact, as res_pjsip keeps it in AstDB (its sorcery store
# for dynamic contacts): the one place that says, for every contact at once,
# which user agent registered it.  'pjsip show contacts' does not.
_REGISTRAR_CONTACT = re.compile(r"^/registrar/contact/([^;\s]+);@\S+?\s*:\s*(\{.*\})\s*$")
# Fields of a contact that say who and where; nothing of a secret is among them.
_CONTACT_FIELDS = ("endpoint", "uri", "user_agent", "via_addr", "via_port", "expiration_time")


def parse_registrar_contacts(text):
    """'database show registrar/contact' -> [{"aor", "endpoint", "uri", "user_agent", "via_addr", ...}]."""
    contacts = []
    for line in (text or "").splitlines():
        match = _REGISTRAR_CONTACT.match(line)
        if not match:
            continue
        try:
            fields = json.loads(match.group(2))
        except ValueError:
            continue
        contact = dict((name, fields.get(name) or "") for name in _CONTACT_FIELDS)
        contact["aor"] = match.group(1)
        contacts.append(contact)
    return contacts


def parse_version(text):
    """'core show version' -> (major, minor, patch) as ints, or None."""
    match = re.search(r"^Asterisk (\d+)\.(\d+)(?:\.(\d+))?", text or "", re.M)
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def version_tuple(text):
    """A version string as VICIdial's servers.asterisk_version holds it ('13.29.2-vici', '1.4.21.2') -> ints."""
    parts = re.findall(r"\d+", (text or "").split("-", 1)[0])
    return tuple(int(p) for p in parts[:4]) or None


def live_answers(cli):
    """Everything the readiness and drift reports read from one Asterisk, as {command: answer}.

    Never asks for an auth object: no secret is read.
    """
    answers = {}
    for command in ("core show version", "pjsip show endpoints", "iax2 show peers",
                    "database show registrar/contact"):
        answers[command] = cli.ask(command)
    if cli.has_module("chan_sip.so"):
        answers["sip show peers"] = cli.ask("sip show peers")
    return answers
