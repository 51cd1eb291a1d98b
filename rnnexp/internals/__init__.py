"""What rnnexp uses of its libraries' private APIs (Hydra, OmegaConf, torch, submitit): one module each, all of it here.

Each module names the range of versions the suite checks it on: the oldest
and the newest libraries pyproject.toml accepts (scripts/version_matrix.py;
docs/development.md, "Supported versions").
"""
