"""The sandbox site plus what participants and cron would do on a real site (for demo and tests)."""

from __future__ import annotations

from typing import Any

from . import completion, quiz
from .protocol import missing_record
from .state import Site


class SandboxSite(Site):
    """``Site`` with simulation helpers; each helper is atomic and thread-safe like a web request."""

    current_token_functions: Any = None

    def complete_activity(self, userid: int, cmid: int, state: int = 1) -> None:
        """As if the user completed (viewed/marked) the activity now; course criteria wait for cron."""
        with self.lock, self.transaction():
            cm = self.get("course_modules", cmid)
            if cm is None:
                raise missing_record("course_modules")
            if self.get("user", userid) is None:
                raise missing_record("user")
            completion.set_activity_state(self, cm, userid, state, viewed=True)

    def submit_quiz_attempt(self, userid: int, quizid: int, answers: dict[str, int]) -> int:
        """Finished, graded attempt with the given answer positions; marks quiz completion. Returns attempt id."""
        with self.lock, self.transaction():
            return quiz.submit_attempt(self, userid, quizid, answers)["id"]

    def start_quiz_attempt(self, userid: int, quizid: int, answers: dict[str, int] | None = None) -> int:
        """An attempt left in progress (not reported by get_quiz_responses)."""
        with self.lock, self.transaction():
            return quiz.submit_attempt(self, userid, quizid, answers or {}, finish=False)["id"]

    def run_cron(self) -> None:
        """Moodle's completion cron: reviews course criteria and aggregates course completion."""
        with self.lock, self.transaction():
            completion.run_cron(self)
