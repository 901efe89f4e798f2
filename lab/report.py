"""Report, after the apply, whether every phone in the lab DB really works.

One row per row of ``phones``: extension, server, protocol, dialplan number
and "registered":
  * active PJSIP phones: the result of a real REGISTER (lab/sipreg.py) to the
    phone's server with the registration password from the lab vault (the
    binding is removed again afterwards);
  * IAX2 phones: ``n/a (IAX2 peer loaded: yes|no)`` from
    ``asterisk -rx 'iax2 show peer EXT'`` in that server's container;
  * inactive phones: ``inactive``.
Exit status 1 if an active PJSIP phone failed to register, 2 on set-up errors.
Run with the venv's python (needs PyMySQL and ansible); scripts/lab does.
"""

import argparse
import json
import os
import subprocess
import sys

import pymysql
import sipreg
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATE = os.path.join(ROOT, ".lab")


def env(name, default):
    return os.environ.get(name) or default


def read(path):
    with open(path, "rb") as f:
        return f.read()


def load_secrets(vault_file, pass_file):
    if not os.path.exists(vault_file):
        return {}
    vault = VaultLib([("default", VaultSecret(read(pass_file).strip()))])
    data = yaml.safe_load(vault.decrypt(read(vault_file))) or {}
    return {str(k): v for k, v in (data.get("vault_phone_secrets") or {}).items()}


def iax2_peer_loaded(container, extension):
    proc = subprocess.run(
        ["podman", "exec", container, "asterisk", "-rx", "iax2 show peer %s" % extension],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    out = proc.stdout
    return proc.returncode == 0 and "not found" not in out.lower() and extension in out


def main(argv=None):
    p = argparse.ArgumentParser(description="Register-check every phone of the lab DB.")
    p.add_argument("--json", action="store_true", help="print rows as JSON")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per SIP transaction")
    p.add_argument("--vault", default=os.path.join(ROOT, "inventory", "lab", "group_vars", "all", "vault.yml"))
    args = p.parse_args(argv)

    name = env("VICILAB_NAME", "vicilab")
    prefix = env("VICILAB_SUBNET_PREFIX", "10.89.20")
    db_ip = env("VICILAB_DB_IP", prefix + ".10")
    pw_file = env("VICILAB_DB_PASSWORD_FILE", os.path.join(STATE, "db-password"))
    vault_file = args.vault
    pass_file = env("VICILAB_VAULT_PASS_FILE", os.path.join(STATE, "vault-pass"))
    try:
        conn = pymysql.connect(
            host=db_ip, user="cron", password=read(pw_file).decode().strip(), database="asterisk", connect_timeout=10
        )
        with conn.cursor() as cur:
            cur.execute("SELECT server_ip, server_id FROM servers")
            containers = {ip: "%s-%s" % (name, sid) for ip, sid in cur.fetchall()}
            cur.execute(
                "SELECT extension, server_ip, protocol, dialplan_number, active "
                "FROM phones ORDER BY server_ip, extension"
            )
            phones = cur.fetchall()
        conn.close()
        secrets_map = load_secrets(vault_file, pass_file)
    except (OSError, pymysql.MySQLError, ValueError) as exc:
        print("report: cannot read the lab state: %s" % exc, file=sys.stderr)
        return 2

    rows, failed = [], 0
    for extension, server_ip, protocol, dialplan, active in phones:
        row = {"extension": extension, "server": server_ip, "protocol": protocol, "dialplan_number": dialplan}
        if active != "Y":
            row["registered"] = "inactive"
        elif protocol == "PJSIP":
            password = (secrets_map.get(str(extension)) or {}).get("registration_password")
            if not password:
                row["registered"] = "NO (no password in the vault)"
                failed += 1
            else:
                res = sipreg.register(server_ip, extension, password, expires=60, unregister=True, timeout=args.timeout)
                if res["exit_code"] == 0:
                    row["registered"] = "yes (%s %s)" % (res["status"], res["reason"])
                else:
                    row["registered"] = "NO (%s)" % (
                        "%s %s" % (res["status"], res["reason"]) if res["status"] else res["reason"]
                    )
                    failed += 1
        elif protocol == "IAX2":
            container = containers.get(server_ip)
            loaded = bool(container) and iax2_peer_loaded(container, extension)
            row["registered"] = "n/a (IAX2 peer loaded: %s)" % ("yes" if loaded else "no")
        else:
            row["registered"] = "n/a (%s)" % protocol
        rows.append(row)

    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        cols = [
            ("extension", "extension"),
            ("server", "server"),
            ("protocol", "protocol"),
            ("dialplan_number", "dialplan"),
            ("registered", "registered"),
        ]
        widths = [max([len(title)] + [len(str(r[key])) for r in rows]) for key, title in cols]
        print("  ".join(t.ljust(w) for (_key, t), w in zip(cols, widths)).rstrip())
        for r in rows:
            print("  ".join(str(r[k]).ljust(w) for (k, _title), w in zip(cols, widths)).rstrip())
        print("%d phones, %d active PJSIP phone(s) failed to register" % (len(rows), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
