"""The role's other writer: VICIdial's own generator writes the config, the role waits for it.

With vicidial_phones_config_writer=vicidial the role writes no file: the database module flags the
server's rebuild (servers.rebuild_conf_files) and the role waits until Asterisk has every active
phone. Here no VICIdial generator runs, which is exactly the silent failure users meet: a new phone
never appears, and the play must fail after the timeout naming the phone and the likely causes.
Phones Asterisk already has pass at once.
"""

import e2e_lab as lab


def test_waits_then_names_the_missing_phone_and_the_likely_causes(known_state):
    lab.sql("UPDATE servers SET generate_vicidial_conf='Y', rebuild_conf_files='N' WHERE server_ip=%s",
            (lab.AST2_IP,))
    try:
        files_before = {c: lab.conf_state(c) for c in lab.AST.values()}
        entries = lab.lab_entries() + [lab.phone(8201, lab.AST2_IP)]
        run = lab.playbook(extra_vars=[lab.entries_vars(entries),
                                       {"vicidial_phones_config_writer": "vicidial",
                                        "vicidial_phones_wait_timeout": 10}])
        assert run.rc != 0, run.explain()
        # The phone's row is written and its server flagged for VICIdial's generator...
        assert lab.phones_rows("extension=%s", ("8201",))
        flags = lab.sql("SELECT rebuild_conf_files FROM servers WHERE server_ip=%s", (lab.AST2_IP,))
        assert flags == [{"rebuild_conf_files": "Y"}]
        # ...ast1 has all its phones already, ast2 lacks the new one: the failure says which and why.
        assert run.failures(host="ast1") == [], run.explain()
        text = run.failure_text(host="ast2")
        assert "still lacks these phones: 8201" in text, text
        assert "ADMIN_keepalive_ALL.pl" in text and "generate_vicidial_conf" in text, text
        # The role wrote nothing itself.
        assert {c: lab.conf_state(c) for c in lab.AST.values()} == files_before
    finally:
        lab.sql("UPDATE servers SET generate_vicidial_conf='N', rebuild_conf_files='N' WHERE server_ip=%s",
                (lab.AST2_IP,))
