"""mintqo-lms: provisions Moodle for the MINT-Qualitätsoffensive and syncs it into the programme store."""

__version__ = "0.1.0"
