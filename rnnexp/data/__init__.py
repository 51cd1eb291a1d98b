"""The data: each task's sequences, vocabularies, sequence sets and streams.

    task.py           what a task is: a class that returns (source, target) pairs or one text
    builtin_tasks.py  rnnexp's own tasks, named by _target_ in conf/task/
    custom.py         task=custom: the user's callable, and the sequences a run keeps for resume=
    task_registry.py  which classes a config may name, and which kind of task it trains (torch-free)
    pair_files.py     reading a text, and pairs from .tsv, .csv and .jsonl files
    loading.py        sequences to a vocabulary, a validation split and batches
    vocab.py, sequences.py

Below the models: nothing here imports a model.
"""
