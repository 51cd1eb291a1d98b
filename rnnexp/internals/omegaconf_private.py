"""What rnnexp uses of OmegaConf's private API: a config's sections as stored, unresolved; tested on omegaconf 2.3.0 to 2.3.1.

OmegaConf's public reads resolve: ``cfg.scheduler`` resolves each
interpolation beneath it when read, and a node holding ``???`` raises. The
key checks (rnnexp.config.key_checks) walk every key of a composed config
before anything may be resolved, so they take each child as stored
(``DictConfig._get_node``) and ask it whether it is null or missing
(``Node._is_none``, ``Node._is_missing``).

tests/test_config.py checks these on the installed OmegaConf.
"""

from __future__ import annotations

from typing import Optional

from omegaconf import DictConfig


def stored_section(node: DictConfig, key: str) -> Optional[DictConfig]:
    """``node``'s child ``key`` as stored if it is a section that holds keys; None for a value, null or ``???``."""
    child = node._get_node(key)
    if isinstance(child, DictConfig) and not child._is_none() and not child._is_missing():
        return child
    return None
