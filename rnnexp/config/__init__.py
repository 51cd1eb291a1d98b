"""The config: each group's schema with its keys' defaults, the checks of their values, and the words of an override.

Imports Hydra and OmegaConf, never torch: a bad value is answered before
torch loads.
"""
