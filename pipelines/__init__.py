"""Runnable pipelines: `python -m pipelines.<name> --help`. Each is a thin command line over kerascnn."""
