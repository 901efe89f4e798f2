# Interpreter shim for the benchmark (not run on the controller).
#
# bench/run installs this file, with the shebang "#!/usr/bin/python3 -S",
# into each telephony container as /usr/local/libexec/vicibench-python and the
# benchmark inventory sets ansible_python_interpreter to it. For every module
# Ansible runs, it forks the real /usr/bin/python3 with the same arguments
# (stdin/stdout/stderr are inherited, so Ansible sees no difference), waits
# for it with wait4() and appends one line to LOG:
#
#     <AnsiballZ file name> <peak RSS in KiB of that module process> <seconds> <exit code>
#
# ru_maxrss from wait4() is the peak resident set size of that one process
# (the largest of it and the children it waited for), so it is exactly "the
# module process", whatever runs before or after it.
import os
import sys
import time

REAL = "/usr/bin/python3"
LOG = "/var/tmp/vicibench-modrss.log"


def main():
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(REAL, [REAL] + sys.argv[1:])
        finally:
            os._exit(127)
    _pid, status, usage = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    name = os.path.basename(sys.argv[1]) if len(sys.argv) > 1 else "-"
    try:
        with open(LOG, "a") as handle:
            handle.write("%s %d %.3f %d\n" % (name, usage.ru_maxrss, time.monotonic() - started, code))
    except OSError:
        pass
    sys.exit(code if code >= 0 else 128 - code)


main()
