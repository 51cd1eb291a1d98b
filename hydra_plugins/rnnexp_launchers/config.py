"""rnnexp's launchers' keys (``hydra/launcher=gpus``, ``hydra/launcher=slurm``), registered in Hydra's ConfigStore as Hydra's own launchers register theirs.

Hydra imports this module whenever it looks for plugins; rnnexp's command
line imports it by name too, since an editable install hides it from that
walk. It imports neither torch, joblib nor submitit: composing a config must stay cheap.
"""

# No "from __future__ import annotations": Hydra's plugin scan runs this module before it is in
# sys.modules, where a dataclass cannot resolve string annotations.
import importlib.util
from dataclasses import dataclass
from typing import List, Optional

from hydra.core.config_store import ConfigStore

LAUNCHER_TARGET = "hydra_plugins.rnnexp_launchers.gpus_launcher.GpusLauncher"


@dataclass
class GpusLauncherConf:
    _target_: str = LAUNCHER_TARGET
    # The GPUs the jobs run on, as nvidia-smi numbers them: each job sees one of them as cuda:0
    # (CUDA_VISIBLE_DEVICES). null: every GPU of this machine (nvidia-smi's list, else torch's count).
    gpus: Optional[List[int]] = None
    # Jobs that share one GPU at a time: small jobs leave most of a GPU idle. N = len(gpus) * jobs_per_gpu run at once.
    jobs_per_gpu: int = 1


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package that is absent
        return False


# Its workers are joblib's (loky): without the sweep extra the option is absent, and
# hydra/launcher=gpus is answered as the other plugins' options are, with the extra to install.
if _installed("joblib"):
    ConfigStore.instance().store(group="hydra/launcher", name="gpus", node=GpusLauncherConf, provider="rnnexp")

# hydra/launcher=slurm extends the submitit plugin's keys: without the plugin the option is absent
# (rnnexp.errors names the extra that brings it).
if _installed("hydra_plugins.hydra_submitit_launcher") and _installed("submitit"):
    from ._slurm_config import SlurmLauncherConf

    ConfigStore.instance().store(group="hydra/launcher", name="slurm", node=SlurmLauncherConf, provider="rnnexp")
