"""The summary of a multirun: read each job's ``metrics.json``, rank the jobs, write the tables.

Built from files only. Hydra's ``on_multirun_end`` receives no job results,
and with out-of-process launchers (joblib, submitit) the jobs ran in other
processes, so every job leaves a :class:`rnnexp.results.RunResult` in its
own directory and the summary reads what it finds there. The same sweep
gives the same table whichever launcher ran it, and ``python -m
rnnexp.summarize`` rebuilds it later, or while the sweep still runs. How
the jobs are ranked (by the search's objective, when a sweeper optimised
one) is recorded in ``ranking.yaml``, and the sweep's config (its
overrides, its sweeper) in ``multirun.yaml``, as the multirun starts, so a
rebuilt summary ranks the jobs the same way and lists those that never
started.

    jobs      a job as its directory records it; the jobs the sweep planned; the ranking; seed groups
    report    the tables (terminal, markdown, CSV) and summary.csv/summary.md
    ladder    ladder=KEY: per setting, the hardest value of KEY that every seed and any seed solved
    plot      the loss curves as a PNG (needs matplotlib)
    callback  the Hydra callback that records the sweep and writes the summary after every multirun
    continuation  continue=<sweep dir>: the sweep's own command line again, into its directory

An Optuna search (rnnexp.search) keeps a study beside the files, which its
jobs report to as they train; the summary names where it lives.
"""

from rnnexp.sweep.callback import SweepSummary
from rnnexp.sweep.report import SUMMARY_CSV, SUMMARY_MD, Summary

__all__ = ["SUMMARY_CSV", "SUMMARY_MD", "Summary", "SweepSummary"]
