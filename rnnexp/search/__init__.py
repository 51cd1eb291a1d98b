"""rnnexp's Optuna search: a Hydra sweeper on Optuna's ask-and-tell interface, and its jobs' reports to their trials.

Hydra instantiates the sweeper from the plugin class in
hydra_plugins/rnnexp_sweepers (Hydra finds sweepers only under that
namespace); everything the search does is here. It sits below rnnexp.sweep,
whose summary names the search's study, and above the trainer, which hears
of a search only through its per-epoch hook.

    config          the search's keys and the options Hydra composes them from (no optuna)
    checks          its settings refused in one line before any job runs
    space           Hydra's sweep syntax read into Optuna's distributions
    loop            ask a batch of trials, launch their jobs, tell the study how each ended
    outcomes        what a trial is told, from its job's metrics.json
    earlier_trials  continue=: what a cut search left to finish
    results_file    optimization_results.yaml, as Hydra's Optuna sweeper wrote it
    study_storage   where the study lives: a journal file in the sweep directory by default
    pruners         the pruners a search may use, built and checked from their settings
    trial_report    inside a job: its trial found, each epoch's loss reported, the pruner asked

Only space, loop, outcomes, earlier_trials and results_file import optuna at
their top; the others load it when a search runs.
"""
