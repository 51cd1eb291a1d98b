"""TensorBoard records of a run: curves, texts, the graph and the hparams session, inside the run's directory."""
