"""The command line: ``python -m rnnexp`` and what runs before and around a job.

The top layer. :mod:`rnnexp.cli.main` is the Hydra entry point; the checks
Hydra's composition lets through (start_checks), the terminal's lines
(console) and the quick end of the process (quick_exit) sit beside it.
"""
