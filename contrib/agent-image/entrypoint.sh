#!/bin/sh
# afk's reference agent entrypoint (contrib/agent-image, docs/kubernetes.md):
# the agent's wrapper, in one of two modes.
#
# With afk's workspace (runner.workspace = "afk", docs/how-it-works.md: afk sets
# AFK_WORKSPACE=afk) afk made the checkout, on $AFK_BRANCH, and pushes and
# opens the pull request itself: this script clones nothing, pushes nothing,
# reads no token (a GIT_TOKEN in the environment is not handed on) and writes
# no git configuration. It runs the agent command (its arguments) in the
# current directory, the prompt ($AFK_PROMPT_FILE) on its standard input,
# and exits with the agent's status. It may run anywhere (the command runner
# starts it on afk's host).
#
# Otherwise (runner.workspace = "agent": the agent brings its own git) it is
# the container command of an agent's Job, and it
#   1. configures git from GIT_TOKEN with a credential helper for the forge's
#      address only: the token stays in this process's environment, never on
#      a command line, in a URL, in .git/config or in any file. Azure DevOps
#      takes a PAT as Basic with an empty user name, which no helper can
#      give: there git (the agent's too) gets the whole Authorization header
#      as http.<repository's URL>.extraHeader through GIT_CONFIG_COUNT/_KEY_0/
#      _VALUE_0 in its environment, never in argv or a file;
#   2. clones $AFK_REPO from the forge and checks out $AFK_BRANCH (the remote
#      one when a turn before this one pushed it);
#   3. runs the agent command (this script's arguments) in the checkout, the
#      prompt ($AFK_PROMPT_FILE) on its standard input;
#   4. pushes $AFK_BRANCH when it holds commits the forge does not have, and
#      opens the pull request (GitLab: the merge request) through the forge's
#      API when the agent did not: "Closes #$AFK_ISSUE", so afk finds it (on
#      Azure DevOps the work item linked too, workItemRefs; an active pull
#      request from the branch that this account opened is the one);
#   5. exits with the agent's status.
# Steps 1 and 2 write git's global configuration in $HOME and a checkout in
# $AGENT_WORKDIR: harmless in a container made for it, harmful in a person's
# or afk's own home. So this mode runs only with AGENT_IN_CONTAINER=1, which
# contrib/agent-image/Containerfile sets (set it only in an image of your own
# made for this script), and it clones only into a folder that is missing or
# empty: it removes nothing, so it never removes what it did not create.
#
# Set by afk (docs/runners.md): AFK_REPO, AFK_BRANCH, AFK_ISSUE, AFK_PROMPT_FILE,
# AFK_PROGRESS_FILE, AFK_WORKSPACE. From the agents' Secret: GIT_TOKEN (and
# the model's key). Set in the image or the Job's env:
#   AGENT_IN_CONTAINER  1: this is a container made for this script (the Containerfile sets it)
#   AGENT_FORGE_URL   the forge's web root, e.g. https://git.example.org (clone: $AGENT_FORGE_URL/$AFK_REPO.git);
#                     Azure DevOps: the organization's, https://dev.azure.com/<org>
#                     (clone: $AGENT_FORGE_URL/<project>/_git/<repository>, AFK_REPO being project/repository)
#   AGENT_FORGE_API   its API root: https://git.example.org/api/v1 (Gitea), https://api.github.com (GitHub),
#                     https://gitlab.example.org/api/v4 (GitLab); Azure DevOps: the organization's URL
#                     (the default there)
#   AGENT_FORGE_KIND  gitea (default; forgejo too) | github | gitlab | azure-devops
#   GIT_USER          the user name git sends with the token (default x-access-token, GitLab's oauth2;
#                     Gitea: the agent's login)
#   AGENT_BASE        the pull request's base branch (default: the repository's default branch)
#   AGENT_WORKDIR     where the checkout goes, missing or empty (default $HOME/work)
#   AGENT_GIT_NAME, AGENT_GIT_EMAIL   the commits' author (default "afk agent", agent@afk.invalid)
set -eu

say() { printf 'agent-entrypoint: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }
progress() { if [ -n "${AFK_PROGRESS_FILE:-}" ]; then printf '%s\n' "$1" >> "$AFK_PROGRESS_FILE"; fi; }

[ "$#" -gt 0 ] || die "no agent command: give it as this script's arguments"

# afk's workspace: the checkout is afk's, and so are the push and the PR
if [ "${AFK_WORKSPACE:-}" = afk ]; then
  unset GIT_TOKEN
  say "afk's workspace: running the agent in $(pwd) (no clone, no push, no token)"
  if [ -n "${AFK_PROMPT_FILE:-}" ] && [ -r "$AFK_PROMPT_FILE" ]; then
    exec "$@" < "$AFK_PROMPT_FILE"
  fi
  exec "$@"
fi

[ "${AGENT_IN_CONTAINER:-}" = 1 ] || die "refusing to run outside its container: without AFK_WORKSPACE=afk it writes git's global config in \$HOME and clones into \$AGENT_WORKDIR; set AGENT_IN_CONTAINER=1 only in an image made for it (contrib/agent-image/Containerfile), or use runner.workspace = \"afk\""

case "${AGENT_FORGE_KIND:-gitea}" in
  gitea|forgejo) kind=gitea ;;
  github) kind=github ;;
  gitlab) kind=gitlab ;;
  azure-devops) kind=azure-devops ;;
  *) die "AGENT_FORGE_KIND must be gitea, forgejo, github, gitlab or azure-devops" ;;
esac
# Azure DevOps serves its API under the organization's URL
if [ "$kind" = azure-devops ] && [ -z "${AGENT_FORGE_API:-}" ]; then AGENT_FORGE_API=${AGENT_FORGE_URL:-}; fi
for v in GIT_TOKEN AFK_REPO AFK_BRANCH AFK_ISSUE AGENT_FORGE_URL AGENT_FORGE_API; do
  eval "val=\${$v:-}"
  [ -n "$val" ] || die "$v is not set: see contrib/agent-image/entrypoint.sh"
done
if [ "$kind" = azure-devops ]; then
  # project/repository as Azure DevOps names them (spaces too; neither starts
  # with . or _ nor ends with .): each is percent-encoded as one path segment
  case "$AFK_REPO" in
    */*/*|/*|*/|[._]*|*/[._]*|*.|*./*|*[[:cntrl:]]*) die "AFK_REPO is not project/repository" ;;
    */*) ;;
    *) die "AFK_REPO is not project/repository" ;;
  esac
else
  # owner/repo; on GitLab a project's full path, groups nested at any depth
  case "$AFK_REPO" in
    /*|*/|*//*|*..*|*[!A-Za-z0-9._/-]*) die "AFK_REPO is not owner/repo" ;;
    */*/*) [ "$kind" = gitlab ] || die "AFK_REPO is not owner/repo" ;;
    */*) ;;
    *) die "AFK_REPO is not owner/repo" ;;
  esac
fi
case "$AFK_ISSUE" in ''|*[!0-9]*) die "AFK_ISSUE is not a number" ;; esac
case "$AFK_BRANCH" in *[!A-Za-z0-9._/-]*|-*) die "AFK_BRANCH is not a plain branch name" ;; esac
forge=${AGENT_FORGE_URL%/}
api=${AGENT_FORGE_API%/}

# one URL path segment (or query value): every byte but A-Z a-z 0-9 - . _ ~
# as %XX, so a name with a space or a slash stays one segment
segment() {
  for h in $(printf '%s' "$1" | od -An -v -tx1 | tr a-f A-F); do
    case "$h" in
      2D|2E|3[0-9]|4[1-9A-F]|5[0-9A]|5F|6[1-9A-F]|7[0-9A]|7E) printf '%b' "\\0$(printf '%03o' "0x$h")" ;;
      *) printf '%%%s' "$h" ;;
    esac
  done
}
if [ "$kind" = azure-devops ]; then
  project=$(segment "${AFK_REPO%%/*}")
  repository=$(segment "${AFK_REPO#*/}")
  remote="$forge/$project/_git/$repository"
else
  remote="$forge/$AFK_REPO.git"
fi

export HOME="${HOME:-/home/agent}"
work=${AGENT_WORKDIR:-$HOME/work}
# a checkout goes only where nothing is: nothing is removed to make room
if [ -e "$work" ] || [ -L "$work" ]; then
  [ -d "$work" ] && [ ! -L "$work" ] && [ -z "$(ls -A "$work")" ] ||
    die "$work exists and is not an empty folder: the entrypoint removes nothing; give AGENT_WORKDIR a new path"
fi

# 1. git: the helper answers only for the forge's address, from the
# environment; `printf` is the shell's own, so the token is on no argv.
# GitLab takes a token as the password of user oauth2.
if [ "$kind" = gitlab ]; then export GIT_USER="${GIT_USER:-oauth2}"; fi
export GIT_TERMINAL_PROMPT=0
git config --global --unset-all credential.helper >/dev/null 2>&1 || true
if [ "$kind" = azure-devops ]; then
  # a PAT as Basic with an empty user name (git sends a helper's password
  # only with a user name): the header, base64 of ":" and the token, made
  # from the shell's own printf through base64's standard input; kept in
  # this shell's (unexported) variable and handed to git by with_git_auth
  basic=$(printf ':%s' "$GIT_TOKEN" | base64 | tr -d '\n')
else
  # shellcheck disable=SC2016 # expanded by the helper's shell, when git asks
  git config --global credential."$forge".helper \
    '!f() { [ "$1" = get ] || exit 0; printf "username=%s\npassword=%s\n" "${GIT_USER:-x-access-token}" "$GIT_TOKEN"; }; f'
fi
# a command with git's forge credential where it is a header (Azure DevOps):
# http.<repository's URL>.extraHeader in that command's environment alone,
# so only requests to the repository carry it; elsewhere the helper answers
with_git_auth() { # command [args]
  if [ "$kind" = azure-devops ]; then
    GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0="http.$remote.extraHeader" \
      GIT_CONFIG_VALUE_0="Authorization: Basic $basic" "$@"
  else
    "$@"
  fi
}
# an authenticated request is not sent on to another host
git config --global http.followRedirects false
git config --global user.name "${AGENT_GIT_NAME:-afk agent}"
git config --global user.email "${AGENT_GIT_EMAIL:-agent@afk.invalid}"

# 2. the checkout
with_git_auth git clone -q "$remote" "$work"
cd "$work"
base=${AGENT_BASE:-$(git symbolic-ref --short refs/remotes/origin/HEAD 2>/dev/null | sed 's|^origin/||')}
base=${base:-main}
if with_git_auth git ls-remote --exit-code --heads origin "$AFK_BRANCH" >/dev/null 2>&1; then
  git checkout -q -B "$AFK_BRANCH" "origin/$AFK_BRANCH"
else
  git checkout -q -b "$AFK_BRANCH"
fi

# 3. the agent (its own git reaches the forge as this script's does)
status=0
if [ -n "${AFK_PROMPT_FILE:-}" ] && [ -r "$AFK_PROMPT_FILE" ]; then
  with_git_auth "$@" < "$AFK_PROMPT_FILE" || status=$?
else
  with_git_auth "$@" < /dev/null || status=$?
fi
say "the agent exited $status"
cd "$work"

# 4. push what the forge does not have, then the pull request
git checkout -q "$AFK_BRANCH" 2>/dev/null || true
if git rev-parse -q --verify "refs/remotes/origin/$AFK_BRANCH" >/dev/null; then
  ahead=$(git rev-list --count "origin/$AFK_BRANCH..$AFK_BRANCH")
else
  ahead=$(git rev-list --count "origin/$base..$AFK_BRANCH")
fi
if [ "$ahead" -gt 0 ]; then
  with_git_auth git push -q origin "$AFK_BRANCH:refs/heads/$AFK_BRANCH" || { say "push failed"; exit "$([ "$status" -ne 0 ] && echo "$status" || echo 1)"; }
  if [ "$ahead" -eq 1 ]; then commits="1 commit"; else commits="$ahead commits"; fi
  say "pushed $AFK_BRANCH ($commits)"
  progress '{"phase":"pushed"}'
fi
if ! with_git_auth git ls-remote --exit-code --heads origin "$AFK_BRANCH" >/dev/null 2>&1; then
  say "nothing pushed to $AFK_BRANCH: no pull request"
  exit "$status"
fi

# the token reaches curl on its standard input (--config -), never its argv
api_headers() {
  case "$kind" in
    github) printf 'header = "Authorization: Bearer %s"\nheader = "Accept: application/vnd.github+json"\n' "$GIT_TOKEN" ;;
    gitlab) printf 'header = "PRIVATE-TOKEN: %s"\nheader = "Accept: application/json"\n' "$GIT_TOKEN" ;;
    # X-TFS-FedAuthRedirect: a refused credential is a 401, never a 203 sign-in page
    azure-devops) printf 'header = "Authorization: Basic %s"\nheader = "Accept: application/json"\nheader = "X-TFS-FedAuthRedirect: Suppress"\n' "$basic" ;;
    *) printf 'header = "Authorization: token %s"\nheader = "Accept: application/json"\n' "$GIT_TOKEN" ;;
  esac
}
api_call() { # method path [body]: the answer's status
  api_headers |
    curl -sS --proto '=http,https' --max-redirs 0 --config - -o /dev/null -w '%{http_code}' \
      -X "$1" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$api$2"
}
api_get() { # path: the answer's body; nothing unless it is a 2xx
  api_headers | curl -sSf --proto '=http,https' --max-redirs 0 --config - "$api$1"
}
# Azure DevOps: the active pull request from the branch that this account
# (connectionData's authenticatedUser) opened, its id; nothing without one
azure_mine() {
  me=$(api_get "/_apis/connectionData?api-version=7.1" | tr -d '\n' |
    sed -n 's/.*"authenticatedUser"[[:space:]]*:[[:space:]]*{[^{}]*"id"[[:space:]]*:[[:space:]]*"\([0-9A-Fa-f-]*\)".*/\1/p')
  [ -n "$me" ] || return 0
  api_get "/$project/_apis/git/repositories/$repository/pullrequests?searchCriteria.status=active&searchCriteria.sourceRefName=$(segment "refs/heads/$AFK_BRANCH")&searchCriteria.creatorId=$me&api-version=7.1" |
    grep -o '"pullRequestId"[[:space:]]*:[[:space:]]*[0-9]*' | head -n 1 | tr -cd '0-9'
}
if [ "$kind" = gitlab ]; then
  # the project's full path as one segment; a merge request of the same project
  body=$(printf '{"source_branch":"%s","target_branch":"%s","title":"Fix #%s","description":"Closes #%s"}' "$AFK_BRANCH" "$base" "$AFK_ISSUE" "$AFK_ISSUE")
  code=$(api_call POST "/projects/$(printf '%s' "$AFK_REPO" | sed 's|/|%2F|g')/merge_requests" "$body" || echo 000)
elif [ "$kind" = azure-devops ]; then
  # the five fields, the work item linked; never autoComplete nor completionOptions
  body=$(printf '{"sourceRefName":"refs/heads/%s","targetRefName":"refs/heads/%s","title":"Fix #%s","description":"Closes #%s","workItemRefs":[{"id":"%s"}]}' "$AFK_BRANCH" "$base" "$AFK_ISSUE" "$AFK_ISSUE" "$AFK_ISSUE")
  code=$(api_call POST "/$project/_apis/git/repositories/$repository/pullrequests?api-version=7.1" "$body" || echo 000)
else
  body=$(printf '{"head":"%s","base":"%s","title":"Fix #%s","body":"Closes #%s"}' "$AFK_BRANCH" "$base" "$AFK_ISSUE" "$AFK_ISSUE")
  code=$(api_call POST "/repos/$AFK_REPO/pulls" "$body" || echo 000)
fi
case "$kind:$code" in
  *:201) say "opened the pull request for $AFK_BRANCH" ;;
  # an active pull request from the branch to the base exists (TF401179)
  azure-devops:409)
    mine=$(azure_mine || true)
    if [ -n "$mine" ]; then
      say "a pull request for $AFK_BRANCH is open already (!$mine)"
    else
      say "an active pull request from $AFK_BRANCH exists that this account did not open (or it could not be read): none opened"
    fi ;;
  *:409|*:422) say "a pull request for $AFK_BRANCH is open already" ;;
  *) say "opening the pull request answered $code" ;;
esac
exit "$status"
