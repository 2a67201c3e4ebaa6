"""mds: stream MDS datasets (the shard format of mosaicml-streaming) into PyTorch."""

from mds._native import __version__

__all__ = ["__version__"]
