#!/bin/sh
# The scripted demo agent: it stands in for a coding agent in `afk demo` and in
# the tests. It reads its prompt on stdin, works on $AFK_BRANCH in a clone of
# the sandbox's git repository, pushes, opens a pull request through the API
# and reports progress as a real agent should (JSON lines appended to
# $AFK_PROGRESS_FILE). Every turn ends with the result record Claude Code
# prints with --output-format json, spend included (total_cost_usd), which
# afk reads from agent.log for [budget].
#
# With workspace = "afk" (afk's default) it starts in afk's checkout of the
# branch and only commits: afk pushes and opens the pull request, and the
# agent holds no credential. With workspace = "agent" it does its own git and
# brings its own credentials, like any agent (afk strips its own secrets):
#   AFK_DEMO_GIT    where the sandbox serves git: its URL (smart HTTP at
#                   <url>/<owner>/<repo>.git; pushing takes AFK_DEMO_TOKEN as
#                   the password, handed to git by a credential helper, never
#                   written) or its git directory (<dir>/<owner>/<repo>.git)
#   AFK_DEMO_API    the sandbox's API root (http://127.0.0.1:PORT/api/v1)
#   AFK_DEMO_FORGE  the forge kind the sandbox plays (gitea, the default | github | gitlab
#                   | azure-devops): how the pull request is opened (and, on Azure
#                   DevOps, where git lives: <url>/sandbox/<project>/_git/<repo>)
#   AFK_DEMO_TOKEN  a credential that may push there, from the environment (never a
#                   command line; the demo hands its upgrade fixer the sandbox's
#                   push-only one, never afk's forge token)
#   AFK_DEMO_MODE   pr (default) | nopr | late-pr (no PR on turn 1) | crash | blocked
#                   | spend (reports a growing spend in cost_usd lines and keeps working until stopped)
#   AFK_DEMO_COST   what a turn costs, in USD (default 0.35)
# A prompt containing AFK-DEMO-WORSE switches it to nopr for the whole run.
# Without AFK_DEMO_GIT it only reports progress (the poll-only demo).
set -eu
prompt=$(cat)
# its own notes across turns: the run folder when it may write there, else its
# home (in its box, afk's default, the run folder is read-only and $HOME is the
# run's own, kept across turns)
notes="$AFK_RUN_DIR"; [ -w "$notes" ] || notes="$HOME"
mode=${AFK_DEMO_MODE:-pr}
progress() { printf '%s\n' "$1" >> "$AFK_PROGRESS_FILE"; }
cost=${AFK_DEMO_COST:-0.35}
# what `claude -p --output-format json` prints last: one JSON object, with the turn's spend
result() { printf '{"type":"result","subtype":"success","is_error":false,"num_turns":1,"result":"%s","total_cost_usd":%s}\n' "$1" "$cost"; }
printf '%s\n' "demo agent: run $AFK_RUN_ID on $AFK_REPO#$AFK_ISSUE (turn $AFK_TURN, mode $mode), branch $AFK_BRANCH"
printf '%s\n' "demo agent: prompt has $(printf '%s' "$prompt" | wc -l) lines"
[ "$mode" = late-pr ] && { [ "$AFK_TURN" = 1 ] && mode=nopr || mode=pr; }
# The demo's canary template carries AFK-DEMO-WORSE: with it the agent does
# worse, stopping without a pull request on that turn and every later one.
case "$prompt" in *AFK-DEMO-WORSE*) : > "$notes/worse" ;; esac
# An issue whose text asks a question the agent cannot answer: it is blocked.
case "$prompt" in *AFK-DEMO-BLOCKED*) mode=blocked ;; esac
if [ -f "$notes/worse" ]; then echo "demo agent: the prompt's new instruction confuses me"; mode=nopr; fi
case "$mode" in
  crash) echo "demo agent: crashing on purpose"; exit 3 ;;
  blocked)
    progress '{"status":"blocked","reason":"the issue does not say which database to use","questions":["PostgreSQL or SQLite?"]}'
    result "blocked"; exit 0 ;;
  nopr) progress '{"phase":"tests-red"}'; result "no pull request"; exit 0 ;;
  spend)
    # an agent that goes round in circles: its spend grows and it never stops by itself
    progress '{"phase":"tests-red"}'
    progress '{"cost_usd": 0}'
    progress "{\"cost_usd\": $cost}"
    echo "demo agent: the tests are still red, trying again (and again) ..."
    : > "$notes/spent"
    exec sleep 300 ;;
esac
if [ -z "${AFK_DEMO_GIT:-}" ] && [ "$(git rev-parse --is-inside-work-tree 2>/dev/null)" = true ]; then
  # workspace = "afk": this folder is afk's checkout on $AFK_BRANCH; commit,
  # and afk pushes the branch and opens the pull request (no credential here)
  progress '{"phase":"tests-red"}'
  echo "turn $AFK_TURN" >> "afk-issue-$AFK_ISSUE.txt"
  git add -A
  git commit -q -m "Work on #$AFK_ISSUE (turn $AFK_TURN)"
  progress '{"phase":"green"}'
  echo "demo agent: committed $(git rev-parse HEAD) on $(git rev-parse --abbrev-ref HEAD); afk pushes it"
  result "committed on $AFK_BRANCH"; exit 0
fi
if [ -z "${AFK_DEMO_GIT:-}" ]; then
  progress '{"phase":"tests-red"}'; progress '{"phase":"green"}'; progress '{"phase":"pushed"}'
  result "done"; exit 0
fi
work="$notes/checkout"
rm -rf "$work"
case "$AFK_DEMO_GIT" in
  http://*|https://*)
    # git asks this helper for the push's password; the token stays in the environment
    export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=credential.helper
    export GIT_CONFIG_VALUE_0='!f() { echo username=afk-demo-agent; echo "password=$AFK_DEMO_TOKEN"; }; f' ;;
esac
# Azure DevOps: the organization's `<project>/_git/<repository>`, each name
# encoded as one segment (a space is %20)
enc() { printf '%s' "$1" | sed 's/%/%25/g; s/ /%20/g'; }
project=$(enc "${AFK_REPO%%/*}"); repo=$(enc "${AFK_REPO#*/}")
case "${AFK_DEMO_FORGE:-gitea}:$AFK_DEMO_GIT" in
  azure-devops:http://*|azure-devops:https://*) remote="$AFK_DEMO_GIT/sandbox/$project/_git/$repo" ;;
  *) remote="$AFK_DEMO_GIT/$AFK_REPO.git" ;;
esac
git clone -q "$remote" "$work"
cd "$work"
if git ls-remote --exit-code --heads origin "$AFK_BRANCH" >/dev/null 2>&1; then
  git checkout -q -B "$AFK_BRANCH" "origin/$AFK_BRANCH"
else
  git checkout -q -b "$AFK_BRANCH"
fi
progress '{"phase":"tests-red"}'
echo "turn $AFK_TURN" >> "afk-issue-$AFK_ISSUE.txt"
git add -A
git -c user.name="afk demo agent" -c user.email="agent@afk.invalid" commit -q -m "Work on #$AFK_ISSUE (turn $AFK_TURN)"
progress '{"phase":"green"}'
git push -q origin "$AFK_BRANCH"
progress '{"phase":"pushed"}'
# open the PR (a second attempt answers 409: it exists already). Gitea's and
# GitHub's APIs (and the sandbox's dialects of them) share this call; a forge
# kind whose call differs takes an arm of its own before `*)`: GitLab's merge
# request names the project by its full path encoded as one segment.
case "${AFK_DEMO_FORGE:-gitea}" in
  gitlab)
    project=$(printf '%s' "$AFK_REPO" | sed 's|/|%2F|g')
    curl -s -o /dev/null -X POST -H "PRIVATE-TOKEN: $AFK_DEMO_TOKEN" -H "Content-Type: application/json" \
      -d "{\"source_branch\":\"$AFK_BRANCH\",\"target_branch\":\"main\",\"title\":\"Fix #$AFK_ISSUE\",\"description\":\"Closes #$AFK_ISSUE\"}" \
      "$AFK_DEMO_API/projects/$project/merge_requests" || true ;;
  azure-devops)
    # a PAT as Basic with an empty user; the work item linked by workItemRefs
    basic=$(printf ':%s' "$AFK_DEMO_TOKEN" | base64 | tr -d '\n')
    curl -s -o /dev/null -X POST -H "Authorization: Basic $basic" -H "Content-Type: application/json" \
      -H "X-TFS-FedAuthRedirect: Suppress" \
      -d "{\"sourceRefName\":\"refs/heads/$AFK_BRANCH\",\"targetRefName\":\"refs/heads/main\",\"title\":\"Fix #$AFK_ISSUE\",\"description\":\"Closes #$AFK_ISSUE\",\"workItemRefs\":[{\"id\":\"$AFK_ISSUE\"}]}" \
      "$AFK_DEMO_API/$project/_apis/git/repositories/$repo/pullrequests?api-version=7.1" || true ;;
  *)
    curl -s -o /dev/null -X POST -H "Authorization: token $AFK_DEMO_TOKEN" -H "Content-Type: application/json" \
      -d "{\"head\":\"$AFK_BRANCH\",\"base\":\"main\",\"title\":\"Fix #$AFK_ISSUE\",\"body\":\"Closes #$AFK_ISSUE\"}" \
      "$AFK_DEMO_API/repos/$AFK_REPO/pulls" || true ;;
esac
echo "demo agent: pushed $(git rev-parse HEAD)"
result "pushed $AFK_BRANCH and opened a pull request"
