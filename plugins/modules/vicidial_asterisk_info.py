#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vicidial_asterisk_info
short_description: Read which phones this host's Asterisk has loaded and which have registered
version_added: 0.1.0
description:
  - Asks the Asterisk of the host it runs on, over its control socket (or C(asterisk -rx)), for its
    version, its PJSIP endpoints with their contacts (status, round-trip time, and the user agent that registered
    each, read from the registrar's store in AstDB), its IAX2 peers (address and status) and, where chan_sip is
    loaded, its SIP peers.
  - Its result is what M(telephony.vicidial.vicidial_phones_drift) compares with the database.
  - Never asks for an auth object, so no secret is read.
extends_documentation_fragment:
  - telephony.vicidial.read_only
  - telephony.vicidial.read_only.asterisk
seealso:
  - module: telephony.vicidial.vicidial_phones_drift
author:
  - telephony.vicidial contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: What this Asterisk has loaded
  telephony.vicidial.vicidial_asterisk_info:
  register: loaded
"""

RETURN = r"""
pjsip:
  description:
    - PJSIP endpoints by name, each with C(state), C(auths), C(aors) and C(contacts) (C(uri), C(status),
      C(rtt), C(user_agent), C(via_addr)).
  returned: always
  type: dict
iax2:
  description: IAX2 peers by name, each with C(host) (empty when not registered), C(status) and C(rtt).
  returned: always
  type: dict
sip:
  description: SIP peers, like RV(iax2); only where chan_sip is loaded.
  returned: when chan_sip is loaded
  type: dict
version:
  description: Asterisk's version (C(22.10.1)), from C(core show version).
  returned: always
  type: str
via:
  description: How Asterisk was asked (C(socket) or C(asterisk -rx)).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.telephony.vicidial.plugins.module_utils import _asterisk, _readiness


def main():
    module = AnsibleModule(argument_spec=_asterisk.argument_spec(), supports_check_mode=True)
    cli = _asterisk.cli_for(module)
    try:
        answers = _asterisk.live_answers(cli)
    except _asterisk.AsteriskError as exc:
        module.fail_json(msg=str(exc))
    state = _readiness.state(answers)
    module.exit_json(changed=False, via=cli.via, **state)


if __name__ == "__main__":
    main()
