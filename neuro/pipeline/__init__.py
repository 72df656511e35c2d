"""``neuro run``: the whole pipeline (data, train, evaluate, export, report) from one config."""

from neuro.pipeline.config import ConfigError, RunConfig, dump_config, load_config
from neuro.pipeline.run import run_pipeline

__all__ = ["ConfigError", "RunConfig", "dump_config", "load_config", "run_pipeline"]
