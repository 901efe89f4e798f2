# -*- coding: utf-8 -*-
# Copyright: contributors to telephony.vicidial
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The attributes of the modules that only read (phone info, Asterisk info, the drift report).
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
  idempotent:
    support: full
    description: Never changes anything.
"""

    # Asking the Asterisk of the host the module runs on.
    ASTERISK = r"""
options:
  asterisk_command:
    description: The C(asterisk) binary, used for C(asterisk -rx) when the control socket cannot be.
    type: str
    default: asterisk
  asterisk_socket:
    description: Asterisk's control socket.
    type: path
    default: /var/run/asterisk/asterisk.ctl
"""
