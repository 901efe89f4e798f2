"""Run a collection module through real ansible-playbook, for integration tests.

The module goes through everything a user's task goes through: argument
parsing, AnsiballZ, no_log scrubbing, check and diff mode. Its registered
result is written to a file by a second task; stdout is what a user sees.
"""

import json
import os
import subprocess
import sys
import tempfile

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TESTS_DIR)
from collection_path import COLLECTIONS_ROOT  # noqa: E402


class AnsibleRun(object):
    def __init__(self, proc, result):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.result = result

    @property
    def failed(self):
        return bool(self.result.get("failed"))

    def __repr__(self):
        return "AnsibleRun(rc=%s, result=%r, stderr=%r)" % (self.rc, self.result, self.stderr[-2000:])


SECRET_A = "RegSecretAlpha1234"
SECRET_B = "RegSecretBravo5678"
LOGIN_PW_A = "LoginPwAlpha99"
LOGIN_PW_B = "LoginPwBravo77"


def phone_entry(ext, ip, **extra):
    """A valid PJSIP entry; extra options override."""
    entry = dict(extension=ext, server_ip=ip, dialplan_number=ext, voicemail_id=ext, phone_login="L" + ext,
                 phone_pass=LOGIN_PW_A, registration_password=SECRET_A, protocol="PJSIP")
    entry.update(extra)
    return entry


def db_args(db):
    """Connection options for a vicidial_db fixture (unix socket)."""
    return dict(db_unix_socket=db.unix_socket, db_user=db.user, db_password=db.password, db_name=db.database,
                astguiclient_conf="/nonexistent")


def run_module(module, args, check=False, diff=False, verbosity=0, env=None, timeout=300):
    """Run telephony.vicidial.<module> once on localhost; return an AnsibleRun."""
    workdir = tempfile.mkdtemp(prefix="vicidial-play-")
    result_file = os.path.join(workdir, "result.json")
    play = [{
        "hosts": "localhost",
        "gather_facts": False,
        "vars": {"ansible_python_interpreter": sys.executable},
        "tasks": [
            {"name": "under test", "telephony.vicidial." + module: args, "register": "under_test",
             "ignore_errors": True},
            {"name": "keep the result", "ansible.builtin.copy": {"content": "{{ under_test | to_json }}",
                                                                 "dest": result_file},
             "check_mode": False, "diff": False},
        ],
    }]
    playbook = os.path.join(workdir, "play.yml")
    with open(playbook, "w") as handle:
        json.dump(play, handle)
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
           playbook]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    environ = dict(os.environ)
    environ.update({
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_ROOT,
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": os.path.join(workdir, "tmp"),
        "ANSIBLE_LOG_PATH": os.path.join(workdir, "ansible.log"),
    })
    environ.update(env or {})
    proc = subprocess.run(cmd, capture_output=True, text=True, env=environ, timeout=timeout, check=False)
    try:
        with open(result_file) as handle:
            result = json.load(handle)
    except (OSError, ValueError):
        result = {"failed": True, "msg": "no result", "stdout": proc.stdout, "stderr": proc.stderr}
    run = AnsibleRun(proc, result)
    run.log = ""
    log_path = environ["ANSIBLE_LOG_PATH"]
    if os.path.exists(log_path):
        with open(log_path) as handle:
            run.log = handle.read()
    return run


def apply_phones(db, phones, **kw):
    """vicidial_phones with the test database's connection; check, diff and verbosity as keywords."""
    check = kw.pop("check", False)
    diff = kw.pop("diff", False)
    verbosity = kw.pop("verbosity", 0)
    args = db_args(db)
    args.update(phones=phones)
    args.update(kw)
    return run_module("vicidial_phones", args, check=check, diff=diff, verbosity=verbosity)
