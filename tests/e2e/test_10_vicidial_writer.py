"""The role's other writer: VICIdial's own generator writes the config, the role runs it right away.

With vicidial_phones_config_writer=auto (the default) a server whose generate_vicidial_conf is Y is
left to VICIdial's generator: the database module flags the server's rebuild and the config module
runs the generator once instead of waiting for cron. This lab has no VICIdial generator, which is the
mistake a user meets first: the play must fail on that server at once, naming the generator's path
and the setting that chose it, and write nothing (the brownfield Molecule scenario runs the real
generator).
"""

import e2e_lab as lab


def test_missing_generator_fails_at_once_naming_it_and_writes_nothing(known_state):
    lab.sql("UPDATE servers SET generate_vicidial_conf='Y', rebuild_conf_files='N' WHERE server_ip=%s",
            (lab.AST2_IP,))
    try:
        files_before = {c: lab.conf_state(c) for c in lab.AST.values()}
        entries = lab.lab_entries() + [lab.phone(8201, lab.AST2_IP)]
        run = lab.playbook(extra_vars=[lab.entries_vars(entries)])
        assert run.rc != 0, run.explain()
        # The phone's row is written and its server flagged for VICIdial's generator...
        assert lab.phones_rows("extension=%s", ("8201",))
        flags = lab.sql("SELECT rebuild_conf_files FROM servers WHERE server_ip=%s", (lab.AST2_IP,))
        assert flags == [{"rebuild_conf_files": "Y"}]
        # ...ast1 (generate_vicidial_conf N) converged; ast2 says what is missing and what chose it.
        assert run.failures(host="ast1") == [], run.explain()
        text = run.failure_text(host="ast2")
        assert "ADMIN_keepalive_ALL.pl" in text and "generate_vicidial_conf is Y" in text, text
        # Nothing was written on either server by this run's failing side.
        assert lab.conf_state(lab.AST2) == files_before[lab.AST2]
    finally:
        lab.sql("UPDATE servers SET generate_vicidial_conf='N', rebuild_conf_files='N' WHERE server_ip=%s",
                (lab.AST2_IP,))
