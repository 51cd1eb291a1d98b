"""Commands that use a config or a finished run without training: predict and shapes."""
