#!/usr/bin/env python3
"""A minimal agent-thread service for afk's http runner (docs/runners.md).

Each thread runs one shell command per turn, the way afk's command runner
would, on this machine:

    THREAD_SERVICE_TOKEN=secret python3 examples/thread_service.py \
        --listen 127.0.0.1:8765 --dir /var/lib/threads -- \
        sh -c 'claude -p --output-format json < "$AFK_PROMPT_FILE"'

and afk.toml says:

    [runner]
    kind = "http"
    url = "http://127.0.0.1:8765"
    token_env = "AFK_AGENT_TOKEN"     # holding the same secret

The protocol (all JSON, all under --listen):

    POST   /threads               {repo, issue, title, prompt, idempotency_key?} -> 201 {id}
                                  (a key seen before: 200 with that key's thread, never a second)
    POST   /threads/{id}/messages {text}  -> 201 {}   (a corrective turn; 409 while a turn runs)
    GET    /threads/{id}          -> 200 {status, phase?, updated_at, cost_usd?, blocked?}
    DELETE /threads/{id}          -> 200 {} (the turn is stopped, the thread forgotten); 404 unknown

Every request needs `Authorization: Bearer $THREAD_SERVICE_TOKEN` when that
variable is set (401 otherwise). The command of a turn gets the prompt on
stdin and in $AFK_PROMPT_FILE, runs in the thread's `work` folder in its own
process group with output to `agent.log`, and reports progress the way the
command runner's agents do, as JSON lines appended to $AFK_PROGRESS_FILE:
{"phase": "..."}, {"cost_usd": 1.25} (this turn's spend so far; the
thread's cost_usd is the sum over its turns),
{"status": "blocked", "reason": "...", "questions": ["..."]}. Its environment:
AFK_THREAD_ID, AFK_REPO, AFK_ISSUE, AFK_TURN, AFK_PROMPT_FILE,
AFK_PROGRESS_FILE, and this service's environment without
THREAD_SERVICE_TOKEN. Status: running while the command runs, idle after it
exited 0, error after anything else.

It keeps its threads in memory: a restart forgets them (GET answers 404, and
afk treats the thread as gone). Python 3 standard library only.
"""

import argparse
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1 << 20          # a prompt larger than 1 MiB is refused (413)
STOP_GRACE = 10.0           # SIGTERM, then SIGKILL after this many seconds
ID = re.compile(r"^t[0-9]{1,12}$")

LOCK = threading.Lock()
THREADS = {}                # id -> Thread
# idempotency key -> thread id, for starts sent again
KEYS = {}
COUNTER = [0]


def rfc3339(t):
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class Thread:
    def __init__(self, tid, folder, repo, issue, title):
        self.id, self.folder = tid, folder
        self.repo, self.issue, self.title = repo, issue, title
        self.turn = 0
        self.proc = None
        self.started = time.time()
        self.progress = os.path.join(folder, "progress.jsonl")
        self.turn_starts = []   # where each turn's lines begin in the progress file
        os.makedirs(os.path.join(folder, "work"), exist_ok=True)
        open(self.progress, "a").close()

    def run_turn(self, command, prompt):
        """Start the next turn: `command` with the prompt on stdin."""
        self.turn += 1
        self.turn_starts.append(os.path.getsize(self.progress))
        prompt_file = os.path.join(self.folder, "prompt-%d.md" % self.turn)
        with open(prompt_file, "w") as f:
            f.write(prompt)
        env = {k: v for k, v in os.environ.items() if k != "THREAD_SERVICE_TOKEN"}
        env.update({
            "AFK_THREAD_ID": self.id, "AFK_REPO": self.repo, "AFK_ISSUE": str(self.issue),
            "AFK_TURN": str(self.turn), "AFK_PROMPT_FILE": prompt_file,
            "AFK_PROGRESS_FILE": self.progress,
        })
        with open(prompt_file) as stdin, open(os.path.join(self.folder, "agent.log"), "ab") as log:
            self.proc = subprocess.Popen(command, stdin=stdin, stdout=log, stderr=log,
                                         cwd=os.path.join(self.folder, "work"), env=env,
                                         start_new_session=True)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def state(self):
        """GET /threads/{id}: what the turn and its progress lines say."""
        if self.running():
            status = "running"
        else:
            status = "idle" if self.proc is not None and self.proc.returncode == 0 else "error"
        doc = {"status": status}
        blocked = None
        try:
            with open(self.progress, "rb") as f:
                data = f.read()
        except OSError:
            data = b""
        # a turn's cost_usd lines are its spend so far (the last one counts);
        # the thread's spend is the sum over its turns
        ends = self.turn_starts[1:] + [len(data)]
        spent = [None] * len(self.turn_starts)
        lines = []
        for turn, (a, b) in enumerate(zip(self.turn_starts, ends)):
            lines += [(turn, raw) for raw in data[a:b].split(b"\n")]
        for turn, raw in lines:
            try:
                v = json.loads(raw.decode("utf-8", "replace"))
            except ValueError:
                continue            # a torn or foreign line: skipped
            if not isinstance(v, dict):
                continue
            if v.get("status") == "blocked":
                blocked = {"reason": str(v.get("reason", "")),
                           "questions": [q for q in v.get("questions", []) if isinstance(q, str)]}
            elif isinstance(v.get("phase"), str):
                doc["phase"], blocked = v["phase"], None
            cost = v.get("cost_usd")
            if isinstance(cost, (int, float)) and not isinstance(cost, bool) and cost >= 0:
                spent[turn] = cost
        if any(c is not None for c in spent):
            doc["cost_usd"] = round(sum(c or 0 for c in spent), 6)
        if blocked is not None:
            doc["blocked"] = blocked
        changed = [self.started]
        for name in ("progress.jsonl", "agent.log"):
            try:
                changed.append(os.path.getmtime(os.path.join(self.folder, name)))
            except OSError:
                pass
        doc["updated_at"] = rfc3339(max(changed))
        return doc

    def stop(self):
        """SIGTERM to the turn's process group, SIGKILL after STOP_GRACE."""
        if not self.running():
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass


class Handler(BaseHTTPRequestHandler):
    server_version = "afk-thread-service/1"

    def log_message(self, fmt, *args):      # one line per request on stderr, no bodies
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def reply(self, code, doc):
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def fail(self, code, message):
        self.reply(code, {"message": message})

    def authorized(self):
        token = os.environ.get("THREAD_SERVICE_TOKEN", "")
        if not token:
            return True
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), ("Bearer " + token).encode())

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            return None, (413, "body too large")
        try:
            v = json.loads(self.rfile.read(n) or b"null")
        except ValueError:
            return None, (400, "not JSON")
        if not isinstance(v, dict):
            return None, (400, "a JSON object, please")
        return v, None

    def route(self):
        if not self.authorized():
            return self.fail(401, "bearer token required")
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts[0] != "threads" or len(parts) > 3:
            return self.fail(404, "not found")
        tid = parts[1] if len(parts) > 1 else None
        if tid is not None and not ID.match(tid):
            return self.fail(404, "no such thread")
        m = self.command
        if m == "POST" and tid is None:
            return self.create()
        if m == "POST" and len(parts) == 3 and parts[2] == "messages":
            return self.message(tid)
        if len(parts) == 2 and m in ("GET", "DELETE"):
            with LOCK:
                t = THREADS.get(tid)
                if t is None:
                    return self.fail(404, "no such thread")
                if m == "GET":
                    return self.reply(200, t.state())
                del THREADS[tid]
            t.stop()
            return self.reply(200, {})
        return self.fail(405 if tid else 404, "not here")

    def create(self):
        b, err = self.body()
        if err:
            return self.fail(*err)
        repo, issue, prompt = b.get("repo"), b.get("issue"), b.get("prompt")
        if (not isinstance(repo, str) or not isinstance(prompt, str)
                or not isinstance(issue, int) or isinstance(issue, bool)):
            return self.fail(422, "repo (string), issue (number) and prompt (string) are required")
        key = b.get("idempotency_key")
        with LOCK:
            # afk sends a start again, with the same key, when its answer was lost
            if isinstance(key, str) and key in KEYS:
                return self.reply(200, {"id": KEYS[key]})
            COUNTER[0] += 1
            tid = "t%d" % COUNTER[0]
            if isinstance(key, str) and key:
                KEYS[key] = tid
            t = Thread(tid, os.path.join(self.server.folder, tid), repo, issue, str(b.get("title", "")))
            t.run_turn(self.server.agent_command, prompt)
            THREADS[tid] = t
        return self.reply(201, {"id": tid})

    def message(self, tid):
        b, err = self.body()
        if err:
            return self.fail(*err)
        if not isinstance(b.get("text"), str):
            return self.fail(422, "text (string) is required")
        with LOCK:
            t = THREADS.get(tid)
            if t is None:
                return self.fail(404, "no such thread")
            if t.running():
                return self.fail(409, "a turn is still running")
            t.run_turn(self.server.agent_command, b["text"])
        return self.reply(201, {})

    do_GET = do_POST = do_DELETE = route


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:8765", help="HOST:PORT (port 0: any free port)")
    p.add_argument("--dir", default="threads", help="where each thread's folder goes")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- the agent command of every turn")
    a = p.parse_args()
    command = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not command:
        p.error("give the agent command after --")
    host, _, port = a.listen.rpartition(":")
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), Handler)
    server.daemon_threads = True
    server.folder = os.path.abspath(a.dir)
    server.agent_command = command
    os.umask(0o077)         # prompts carry private issue text: 0700 folders, 0600 files
    os.makedirs(server.folder, mode=0o700, exist_ok=True)
    print("listening on http://%s:%d" % server.server_address[:2], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
