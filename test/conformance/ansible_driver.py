"""Runs the installed ansible-inventory on many cases, fast, for the lanes conformance suite.

Python and ansible import once in this process; each case then runs in a forked child that
calls the real CLI entry (ansible.cli.inventory.main, as /usr/bin/ansible-inventory does) in the
case's directory with the case's environment, its stdout and stderr going to files of its own.
A case marked "exec" (it has an ansible.cfg or sets ANSIBLE_* variables, which Ansible reads when
it is imported) runs the ansible-inventory program as a process instead, so its settings count.

Requests on stdin, one JSON object a line:
    {"id": str, "cwd": str, "args": [str], "env": {str: str}, "exec": bool}
Results on stdout, one JSON object a line, in completion order:
    {"id": str, "stdout": str, "stderr": str, "code": int}
Arguments: --program PATH (the ansible-inventory to exec), --jobs N (cases at once), --exec (every
case as a process). This process itself must be started in an empty directory with a clean
environment: the configuration Ansible reads when imported is the one forked children inherit.
"""
import argparse
import json
import os
import signal
import sys
import tempfile

TIMEOUT = 60


def read_text(path):
    with open(path, 'rb') as f:
        return f.read().decode('utf-8', errors='replace')


def run_forked(req, out_path, err_path, entry, program):
    """Starts one case in a child; returns its pid. The child never returns: it runs the CLI entry
    (or, with program, execs ansible-inventory) and exits with its status."""
    pid = os.fork()
    if pid != 0:
        return pid
    code = 250
    try:
        signal.alarm(TIMEOUT)  # also bounds an exec'd program: alarms survive exec
        os.chdir(req['cwd'])
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.dup2(err, 2)
        if program:
            os.execve(program, [program] + req['args'], req['env'])
        os.environ.clear()
        os.environ.update(req['env'])
        sys.argv = ['ansible-inventory'] + req['args']
        try:
            entry(sys.argv)
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


# What ansible-inventory imports while it runs (its inventory, vars and cache plugins): imported once
# here rather than in every child. Importing a module changes nothing it does.
WARM = [
    'ansible.plugins.inventory.auto', 'ansible.plugins.inventory.host_list', 'ansible.plugins.inventory.ini',
    'ansible.plugins.inventory.script', 'ansible.plugins.inventory.toml', 'ansible.plugins.inventory.yaml',
    'ansible.plugins.inventory.constructed', 'ansible.plugins.inventory.advanced_host_list',
    'ansible.plugins.vars.host_group_vars', 'ansible.plugins.cache.memory', 'ansible.plugins.connection',
    'ansible.plugins.doc_fragments.vars_plugin_staging', 'ansible.utils.shlex', 'decimal',
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--program', default='/usr/bin/ansible-inventory')
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--exec', action='store_true')
    opts = ap.parse_args()
    reqs = [json.loads(line) for line in sys.stdin if line.strip()]
    # Display writes to sys.stdout; this process's own results go to a duplicate of it that the
    # children do not use.
    results = os.fdopen(os.dup(1), 'w', encoding='utf-8')

    entry = None
    if not opts.exec and any(not r.get('exec') for r in reqs):
        from ansible.cli.inventory import main as entry  # noqa: the real CLI entry, imported once
        import importlib
        for name in WARM:
            try:
                importlib.import_module(name)
            except ImportError:
                pass  # e.g. the toml plugin's library missing: the child finds out as the CLI would

    tmp = tempfile.mkdtemp(prefix='lanes-conformance-')
    running = {}
    pending = list(reqs)

    def emit(obj):
        results.write(json.dumps(obj) + '\n')
        results.flush()

    while pending or running:
        while pending and len(running) < max(1, opts.jobs):
            req = pending.pop(0)
            out_path = os.path.join(tmp, 'case-%d.out' % id(req))
            err_path = os.path.join(tmp, 'case-%d.err' % id(req))
            pid = run_forked(req, out_path, err_path, entry, opts.program if opts.exec or req.get('exec') else None)
            running[pid] = (req, out_path, err_path)
        pid, status = os.waitpid(-1, 0)
        if pid not in running:
            continue
        req, out_path, err_path = running.pop(pid)
        if os.WIFEXITED(status):
            code = os.WEXITSTATUS(status)
        else:
            code = 128 + os.WTERMSIG(status)
        emit({'id': req['id'], 'stdout': read_text(out_path), 'stderr': read_text(err_path), 'code': code})
        os.unlink(out_path)
        os.unlink(err_path)
    os.rmdir(tmp)


if __name__ == '__main__':
    main()
