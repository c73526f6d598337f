#!/usr/bin/env python3
"""The FIELDS section of deploy/portwatch.8, made from docs/output.md's tables.

  tests/man-fields.py            print it
  tests/man-fields.py --write    replace it in deploy/portwatch.8
  tests/man-fields.py --check    exit 1 (and say so) if the man page's differs

docs/output.md is where columns and fields are documented; after editing it,
run --write. tests/docs.sh runs --check.
"""
import re
import sys

DOC = 'docs/output.md'
MAN = 'deploy/portwatch.8'


def roff(t):
    t = re.sub(r'\[([^\]]+)\]\([^)]+\)', r'\1', t)
    t = t.replace('\\|', '|').replace('\\', '\\e').replace('-', '\\-')
    t = re.sub(r'`([^`]+)`', r'\\fB\1\\fR', t)
    return re.sub(r'\*([^*]+)\*', r'\\fI\1\\fR', t)


def tables(doc):
    out, cur, rows, fence = {}, None, [], False
    for line in doc.split('\n'):
        if line.startswith('```'):
            fence = not fence
        m = None if fence else re.match(r'^#+ (.*)', line)
        if m:
            if cur and rows:
                out[cur] = rows
            cur, rows = m.group(1), []
        elif line.startswith('| `'):
            rows.append([c.strip() for c in re.split(r'(?<!\\)\|', line)[1:-1]])
    if cur and rows:
        out[cur] = rows
    return out


def entries(rows):
    return '\n'.join('.TP\n.B %s\n%s' % (r[0].strip('`').replace('-', '\\-'), roff(r[-1]))
                     for r in rows)


def fields():
    t = tables(open(DOC).read())
    upper = lambda rows: [r for r in rows if re.match(r'^`[A-Z_]+`$', r[0])]
    lower = lambda rows: [r for r in rows if not re.match(r'^`[A-Z_]+`$', r[0])]
    out = [r'''.SH FIELDS
Every column of the text output and every field of the NDJSON objects, as in
.IR /usr/share/doc/portwatch/docs/output.md .
.SS "Event line"
One line per failing connect() (every outcome with
.BR \-\-all ):''', entries(t['Text columns']), r'''.PP
A line
.B "  \-> DEST (netns N): H/R ports held, ..."
right after a failure is its diagnosis;
.B WARNING port pressure
is an early warning;
.B "REMEDIES for DEST (netns N): ...:"
opens live remedies (a line naming the process, client and workload, then
one line per remedy), when a (workload, HTTP client, destination) first
fails, then at most once a minute.
In text mode, when one (pid, destination, errno, cause) fails more than 3
times within a second, its further lines are folded into one
.B "  ... N more  COMM[PID] \-> DEST CAUSE (1.0 s)"
line per second
.RB ( \-\-no\-fold
prints every line).
.SS "Summary table"
At stop and every
.BR \-\-interval ,
one row per process that connected:''', entries(t['Summary table']), r'''.PP
It ends with
.BR "events: N received = P lines printed + F folded into \(dq... more\(dq lines; L lost" ,
then, after a run that saw failures, one remedies block per distinct top
failer (workload, HTTP client, destination; at most 8).
.SS "Census table"
With
.BR \-\-census ,
one line per network namespace, then per destination:''', entries(upper(t['`census`'])), r'''.SS NDJSON
With
.B \-j
every line is one JSON object with a
.BR type .
A field the attach mode cannot know is
.BR null ,
never a made\-up 0; new fields may be added (see the changelog).
The causes are
.BR port_range_exhausted ,
.BR bound_port_conflict ,
.BR no_source_address ,
.BR after_port_selection ,
.B other
and, for a refused fixed\-port bind (op
.BR bind_port ),
.B port_in_use
(see
.BR DESCRIPTION ).''']
    for h in ['connect', 'pressure', 'port_holder', 'bind_ports', 'advice', 'warning', 'remedies', 'summary` and `interval', 'census', 'census_udp']:
        out.append('.SS "%s objects"' % h.replace('` and `', ' and '))
        out.append(entries(lower(t['`%s`' % h])))
    return '\n'.join(out) + '\n'


def main():
    man = open(MAN).read()
    i, j = man.index('.SH FIELDS\n'), man.index('.SH METRICS\n')
    new = fields()
    if '--write' in sys.argv:
        open(MAN, 'w').write(man[:i] + new + man[j:])
    elif '--check' in sys.argv:
        if man[i:j] != new:
            print('%s FIELDS is not what %s makes of %s: run tests/man-fields.py --write'
                  % (MAN, sys.argv[0], DOC))
            return 1
    else:
        sys.stdout.write(new)
    return 0


sys.exit(main())
