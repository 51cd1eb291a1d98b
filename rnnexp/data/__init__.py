"""The data: vocabularies, sequence sets and streams, and each task's sequences.

Below the models: nothing here imports a model.
"""
