"""Self-analysis results: whose analysis it is, what sync stores, and the profile people read.

**One team, one analysis** (the rule of local_mintqo, ``moodle/local/mintqo/README.md``, mirrored by
``mintqo_lms/sandbox/team.py``): an initiative is a group of its regional course; its analysis in a quiz is the
latest finished attempt (latest ``timefinish``, then highest attempt id) by any member of its group (the
roster's members of the initiative, ``memberships`` role ``initiative``, not removed). The first analysis is the
one in the quiz ``selbstanalyse-1``, the follow-up the one in ``selbstanalyse-2``.

**Tables** (migration 8, written by ``sync`` in the transaction that stores the answers, never recomputed by a
report):

- ``analyses`` — primary key ``(cohort, network_slug, initiative_slug, quiz, attemptid)``, ``attemptid`` alone
  is unique too. ``quiz`` is the activity key (``selbstanalyse-1``), ``kind`` ``first`` or ``followup``,
  ``instrument`` the version (``v1``) the answers belong to, ``cmid``, ``userid`` / ``person_id`` (who
  submitted), ``timefinish``, ``offer`` (the initiative's offer when scored), ``answered`` / ``statements``,
  ``computed_at``, and ``current``: 1 for the initiative's analysis in that quiz now, 0 for one a later
  attempt of the team replaced (kept, never deleted).
- ``analysis_scores`` — ``(attemptid, level, key)`` with ``level`` ``dimension``, ``criterion`` or
  ``statement``; ``score`` 0–100 or NULL (not answered / not meaningful), ``answered``, ``total``,
  ``meaningful`` (0 for a dimension with fewer than half of its statements answered) and, for statements,
  ``potential_rank`` (1–5: the improvement potentials, NULL otherwise).
- ``analysis_changes`` — ``(cohort, network_slug, initiative_slug, level, key)``: ``change`` = latest minus
  first analysis (NULL when not comparable), ``first_attemptid``, ``latest_attemptid``, ``compared``
  (statements compared).

**For the feedback messages** (the other half of step 6): :func:`new_analyses` returns the cohort's current
analyses that have no row in a table ``feedback_messages`` with the same ``attemptid`` (all current analyses
when that table does not exist yet); an analysis is named by its ``attemptid``.
"""
