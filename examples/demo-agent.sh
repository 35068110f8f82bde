#!/bin/sh
# The scripted demo agent: it stands in for a coding agent in `afk demo` and in
# the tests. It reads its prompt on stdin, reports progress the way a real
# agent should (JSON lines appended to $AFK_PROGRESS_FILE), and exits 0.
set -eu
prompt=$(cat)
printf '%s\n' "demo agent: run $AFK_RUN_ID on $AFK_REPO#$AFK_ISSUE (turn $AFK_TURN), branch $AFK_BRANCH"
printf '%s\n' "demo agent: prompt has $(printf '%s' "$prompt" | wc -l) lines"
printf '{"phase":"tests-red"}\n' >> "$AFK_PROGRESS_FILE"
printf '{"phase":"green"}\n' >> "$AFK_PROGRESS_FILE"
printf '{"phase":"pushed"}\n' >> "$AFK_PROGRESS_FILE"
