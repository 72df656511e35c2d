"""Training: losses, metrics, checkpoints, the deterministic resumable trainer, data parallelism.

``neuro.train`` sits above ``neuro.core``, ``neuro.ir``, ``neuro.torch`` and ``neuro.datasets``.
Checkpoints are safetensors plus JSON behind a SHA-256 manifest, never pickles.
"""

from neuro.train.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from neuro.train.config import EarlyStopping, TrainConfig, build_optimizer, build_scheduler
from neuro.train.data import DistInfo, epoch_order, global_batches, init_distributed, shard
from neuro.train.losses import LOSSES, count_mse, get_loss, membrane_ce, rate_ce
from neuro.train.metrics import DECODINGS, LayerActivity, accuracy, decode, firing_rates, spikes_per_sample
from neuro.train.rng import RngState, capture_rng_state, restore_rng_state, seed_everything
from neuro.train.trainer import FitResult, Trainer, fit

__all__ = [
    "DECODINGS",
    "LOSSES",
    "Checkpoint",
    "CheckpointError",
    "DistInfo",
    "EarlyStopping",
    "FitResult",
    "LayerActivity",
    "RngState",
    "TrainConfig",
    "Trainer",
    "accuracy",
    "build_optimizer",
    "build_scheduler",
    "capture_rng_state",
    "count_mse",
    "decode",
    "epoch_order",
    "firing_rates",
    "fit",
    "get_loss",
    "global_batches",
    "init_distributed",
    "load_checkpoint",
    "membrane_ce",
    "rate_ce",
    "restore_rng_state",
    "save_checkpoint",
    "seed_everything",
    "shard",
    "spikes_per_sample",
]
