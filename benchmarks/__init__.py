"""Benchmarks of mintqo-lms against the sandbox Moodle (or a real site): numbers, never assertions.

Run ``python -m benchmarks.run`` from the repository root; see ``benchmarks/README.md``.
"""
