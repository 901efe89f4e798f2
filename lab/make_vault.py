"""Create the lab's Ansible vault of phone secrets (run with the venv's python).

Reads the phone list from inventory/lab/group_vars/all/phones.yml (top-level
key ``vicidial_phones_entries``: a list of dicts, each with ``extension``) and,
when inventory/lab/group_vars/all/vault.yml does not exist, writes it
ansible-vault encrypted with:

    vault_phone_secrets:
      <extension>: {registration_password: <24 alnum>, phone_pass: <16 alnum>}

The vault password is generated once into .lab/vault-pass (mode 0600).
Existing secrets are never regenerated. If the vault exists but the phone list
has gained extensions, only the missing entries are added (re-encrypted with
the same password); existing values stay as they are. Keys keep the YAML type
that ``extension`` has in phones.yml.
"""

import argparse
import os
import secrets
import string
import sys

import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALNUM = string.ascii_letters + string.digits


def token(length):
    return "".join(secrets.choice(ALNUM) for _pos in range(length))


def write_private(path, data):
    """Write bytes with mode 0600 (atomic replace)."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def vault_password(path):
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        write_private(path, (token(32) + "\n").encode())
    os.chmod(path, 0o600)
    with open(path, "rb") as f:
        return f.read().strip()


def load_extensions(phones_file):
    with open(phones_file) as f:
        data = yaml.safe_load(f) or {}
    entries = data.get("vicidial_phones_entries")
    if not isinstance(entries, list):
        sys.exit("%s: no list under vicidial_phones_entries" % phones_file)
    extensions = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or entry.get("extension") in (None, ""):
            sys.exit("%s: entry %d has no extension" % (phones_file, i))
        if entry["extension"] not in extensions:
            extensions.append(entry["extension"])
    return extensions


def main(argv=None):
    inv = os.path.join(ROOT, "inventory", "lab", "group_vars", "all")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    p.add_argument("--phones", default=os.path.join(inv, "phones.yml"))
    p.add_argument("--vault", default=os.path.join(inv, "vault.yml"))
    p.add_argument(
        "--vault-pass-file", default=os.environ.get("VICILAB_VAULT_PASS_FILE", os.path.join(ROOT, ".lab", "vault-pass"))
    )
    args = p.parse_args(argv)

    if not os.path.exists(args.phones):
        sys.exit("make_vault: %s not found" % args.phones)
    extensions = load_extensions(args.phones)
    if os.path.exists(args.vault) and not os.path.exists(args.vault_pass_file):
        sys.exit(
            "make_vault: %s exists but %s is missing; restore it or delete the vault"
            % (args.vault, args.vault_pass_file)
        )
    vault = VaultLib([("default", VaultSecret(vault_password(args.vault_pass_file)))])

    secrets_map = {}
    if os.path.exists(args.vault):
        with open(args.vault, "rb") as f:
            current = yaml.safe_load(vault.decrypt(f.read())) or {}
        secrets_map = current.get("vault_phone_secrets") or {}
        known = {str(k) for k in secrets_map}
        missing = [e for e in extensions if str(e) not in known]
        if not missing:
            print("make_vault: %s up to date (%d phones)" % (os.path.relpath(args.vault, ROOT), len(secrets_map)))
            return 0
        print("make_vault: adding secrets for new extensions %s" % ", ".join(str(e) for e in missing))
    else:
        missing = extensions
    for ext in missing:
        secrets_map[ext] = {"registration_password": token(24), "phone_pass": token(16)}
    plain = yaml.safe_dump(
        {"vault_phone_secrets": secrets_map}, default_flow_style=False, sort_keys=False, explicit_start=True
    )
    write_private(args.vault, vault.encrypt(plain))
    print(
        "make_vault: wrote %s (%d phones, ansible-vault encrypted)"
        % (os.path.relpath(args.vault, ROOT), len(secrets_map))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
