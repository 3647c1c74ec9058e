"""The sandbox Moodle in a process of its own, driven through a pipe.

Why a separate process: the client's wall time, its overhead (wall minus waiting for Moodle) and its peak
memory must be the client's alone. An in-process sandbox would share the interpreter (and its lock) with the
code being measured and add the site's memory to the client's. The simulated participants work inside this
process (the sandbox's simulation helpers need the site object).
"""

from __future__ import annotations

import multiprocessing
import random
from typing import Any

_CTX = multiprocessing.get_context("spawn")


def _serve(conn: Any, latency: float) -> None:
    from mintqo_lms.sandbox import Sandbox
    from mintqo_lms.sandbox.common import enrolled_userids, user_roles

    sandbox = Sandbox(latency=latency).start()
    site = sandbox.site
    try:
        while True:
            command, args = conn.recv()
            try:
                if command == "connect":
                    answer: Any = {"url": sandbox.url, "token": sandbox.token, "admin_token": sandbox.admin_token}
                elif command == "calls":
                    answer = len(sandbox.calls)
                elif command == "simulate":
                    from mintqo_lms.demo import simulate_participants  # imported when needed: it imports much
                    from mintqo_lms.store import Store

                    store_path, cohort, seed = args
                    with Store(store_path) as store:
                        answer = simulate_participants(sandbox, store, cohort, random.Random(seed))
                elif command == "snapshot":
                    answer = _snapshot(site, enrolled_userids, user_roles)
                elif command == "stop":
                    conn.send(("ok", None))
                    return
                else:
                    raise ValueError(f"unknown command {command!r}")
                conn.send(("ok", answer))
            except Exception as exc:  # report to the parent, keep serving
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        sandbox.stop()


def _snapshot(site: Any, enrolled_userids: Any, user_roles: Any) -> dict[str, Any]:
    """Who is enrolled where with which roles, and who is in which group, by course idnumber and e-mail:
    what two sites must agree on when two ways of provisioning did the same."""
    with site.lock:
        users = {u["id"]: u for u in site.tables["user"].values()}
        enrolments, groups = [], []
        for course in site.tables["course"].values():
            if not course.get("idnumber"):
                continue
            for userid in enrolled_userids(site, course["id"]):
                roles = sorted(r.get("shortname", str(r.get("roleid"))) for r in user_roles(site, course["id"], userid))
                enrolments.append([course["idnumber"], users[userid]["email"], ",".join(roles)])
            for group in site.find("groups", courseid=course["id"]):
                for member in site.find("groups_members", groupid=group["id"]):
                    groups.append([course["idnumber"], group["name"], users[member["userid"]]["email"]])
        accounts = sorted(u["email"] for u in users.values() if u["id"] > 2 and not u.get("deleted"))
    return {"accounts": accounts, "enrolments": sorted(enrolments), "group_members": sorted(groups)}


class SandboxProcess:
    """``with SandboxProcess(latency=0.03) as site: site.url, site.token, site.simulate(...)``."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self._conn, child = _CTX.Pipe()
        self._process = _CTX.Process(target=_serve, args=(child, latency), name="mintqo-bench-sandbox", daemon=True)
        self._process.start()
        child.close()
        info = self._ask("connect")
        self.url: str = info["url"]
        self.token: str = info["token"]
        self.admin_token: str = info["admin_token"]

    def __repr__(self) -> str:
        return f"SandboxProcess(url={self.url!r})"  # never the tokens

    def _ask(self, command: str, *args: Any) -> Any:
        self._conn.send((command, args))
        status, answer = self._conn.recv()
        if status != "ok":
            raise RuntimeError(f"sandbox process: {answer}")
        return answer

    def calls(self) -> int:
        """Web-service calls the site has answered so far (its own count, a check on the client's)."""
        return self._ask("calls")

    def simulate(self, store_path: str, cohort: str, seed: int = 1) -> dict[str, int]:
        return self._ask("simulate", store_path, cohort, seed)

    def snapshot(self) -> dict[str, Any]:
        return self._ask("snapshot")

    def stop(self) -> None:
        if self._process.is_alive():
            try:
                self._ask("stop")
            except (EOFError, OSError, RuntimeError):
                pass
            self._process.join(10)
            if self._process.is_alive():
                self._process.terminate()

    def __enter__(self) -> "SandboxProcess":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
