"""Parameter-injection attempts: every place a ``<v>`` can stand × every hostile value.

A break is a value that makes the step do something other than pass it on:
the file ``C`` (in the step's working folder) coming to exist, or a fake
``curl``/``sort`` seeing an option the runbook did not write. A refusal with
a clear error is not a break; it is the fix for values that cannot be passed
safely (arithmetic, code run later, a leading ``-``).
"""

from __future__ import annotations

CONTEXTS = [
    "echo <v>",
    'echo "<v>"',
    "echo '<v>'",
    "echo pre<v>post",
    'echo "$(echo <v>)"',
    'x=<v>; echo "$x"',
    "cat <<EOF\n<v>\nEOF",
    'printf "%s\\n" <v>',
    "grep -c <v> /dev/null",
    "ls -d <v>",
    "sort <v>",
    "curl -s <v>",
    'trap "echo <v>" EXIT',
    'eval "echo <v>"',
    'bash -c "echo <v>"',
    "echo $(( <v> + 1 ))",
    'a=(x y); echo "${a[<v>]}"',
    's=abc; echo "${s:<v>}"',
    "declare -i n=<v>; echo $n",
    "let n=<v>",
    "[[ 1 -eq <v> ]] && echo y",
    "echo ${x:-<v>}",
    'for i in <v>; do echo "$i"; done',
    "case <v> in *) echo x;; esac",
    "test -n <v> && echo y",
    "echo <v> | tr a b",
    "echo <v> > /dev/null",
    'export V=<v>; echo "$V"',
]

VALUES = [
    "$(touch C)",
    "`touch C`",
    ";touch C",
    "|touch C",
    "&& touch C",
    "\ntouch C",
    "-oC",
    "-K C",
    "$((1))$(touch C)",
    "a[$(touch C)]",
    "*",
    "x y",
    "'; touch C; '",
    '"; touch C; "',
    "${IFS}touch${IFS}C",
    "$(<C)",
    "> C",
    "-- -oC",
]

# Stand-ins for real tools: each creates C when it is handed an option the runbook did not write.
FAKES = {
    "curl": '#!/bin/sh\nfor a in "$@"; do case "$a" in -K*|--config*|-X*|-o*) : > C;; esac; done\n',
    "sort": '#!/bin/sh\nfor a in "$@"; do case "$a" in -o*) : > C;; esac; done\ncat >/dev/null\n',
}

CASES = [(context, value) for context in CONTEXTS for value in VALUES]
