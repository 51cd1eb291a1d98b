"""Training one run: the trainer, its optimizers, checkpoints, and where the run computes (device, threads)."""
