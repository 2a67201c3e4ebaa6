"""`Stream`: one MDS dataset (remote and/or local) to mix into a StreamingDataset."""

from __future__ import annotations

import os
from typing import Any


class Stream:
    """One source of samples, with its weight in the mix (reference spec §10.1).

    Args:
        remote: Remote dataset root (``s3://``, ``gs://``, ``azure://``, ``http(s)://``,
            ``file://`` or a plain path); ``None`` when the data is already local.
        local: Local cache root; ``None`` picks a directory under the system temp dir.
        split: Sub-directory used under both ``remote`` and ``local``.
        proportion: Relative weight (float >= 0) among streams.
        repeat: Multiplier on this stream's sample count per epoch (float >= 0).
        choose: Absolute number of samples per epoch (int >= 0).
        download_retry: Total download attempts per file (int >= 0; 0 behaves as 1).
        download_timeout: Seconds allowed per download (float > 0).
        validate_hash: Hash algorithm to check downloads with (``"sha1"``, ``"xxh64"``...).
        keep_zip: Keep compressed shard files after decompressing them.

    Raises:
        ValueError: more than one of proportion/repeat/choose, or a negative value.
    """

    def __init__(
        self,
        *,
        remote: str | None = None,
        local: str | None = None,
        split: str | None = None,
        proportion: float | None = None,
        repeat: float | None = None,
        choose: int | None = None,
        download_retry: int | None = None,
        download_timeout: float | None = None,
        validate_hash: str | None = None,
        keep_zip: bool | None = None,
    ) -> None:
        given = [x is not None for x in (proportion, repeat, choose)]
        if sum(given) > 1:
            raise ValueError(
                "At most one of `proportion`, `repeat`, and `choose` may be specified; "
                "the others are derived"
            )
        for name, value in (("proportion", proportion), ("repeat", repeat), ("choose", choose)):
            if value is not None and value < 0:
                raise ValueError(f"`{name}` must be non-negative")
        if download_retry is not None and download_retry < 0:
            raise ValueError("`download_retry` must be non-negative")
        if download_timeout is not None and download_timeout <= 0:
            raise ValueError("`download_timeout` must be positive")
        self.remote = remote
        self.local = os.path.expanduser(local) if local else local
        self.split = split or None
        # As in the reference: the given weight in `_proportion`/`_repeat`/`_choose`, and the
        # public attribute only when given, until StreamingDataset writes back all three.
        self._proportion = proportion
        self._repeat = repeat
        self._choose = choose
        if proportion is not None:
            self.proportion = proportion
        if repeat is not None:
            self.repeat = repeat
        if choose is not None:
            self.choose = choose
        self.download_retry = download_retry
        self.download_timeout = download_timeout
        self.validate_hash = validate_hash
        self.keep_zip = keep_zip

    def _apply_weights(self, proportion: float, repeat: float, choose: int) -> None:
        """Record the weights the dataset derived (the reference's ``apply_weights``)."""
        self.proportion = proportion
        self.repeat = repeat
        self.choose = choose

    def _config(self) -> dict[str, Any]:
        return {
            "remote": self.remote,
            "local": self.local,
            "split": self.split,
            "proportion": self._proportion,
            "repeat": self._repeat,
            "choose": self._choose,
            "download_retry": self.download_retry,
            "download_timeout": self.download_timeout,
            "validate_hash": self.validate_hash,
            "keep_zip": self.keep_zip,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._config().items() if v is not None)
        return f"Stream({args})"


class StreamsRegistry:
    """Named ``Stream`` classes, for ``StreamingDataset(stream_name=...)``; the reference's
    ``streams_registry`` (``register``, ``get``, ``get_all``, and use as a decorator)."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Stream]] = {}

    def register(self, name: str, *, func: type[Stream] | None = None) -> Any:
        """Register ``func`` as ``name``; without ``func``, a decorator that does."""
        if func is None:
            return lambda cls: self.register(name, func=cls)
        if not (isinstance(func, type) and issubclass(func, Stream)):
            raise TypeError(f"streams_registry holds Stream classes, got {func!r}")
        self._classes[name] = func
        return func

    def __call__(self, name: str, func: type[Stream] | None = None) -> Any:
        return self.register(name, func=func)

    def get(self, name: str) -> type[Stream]:
        """The class registered as ``name``; ``KeyError`` if none."""
        try:
            return self._classes[name]
        except KeyError:
            raise KeyError(f"no Stream class registered as {name!r}") from None

    def get_all(self) -> dict[str, type[Stream]]:
        """Every registered name and class."""
        return dict(self._classes)

    def __contains__(self, name: object) -> bool:
        return name in self._classes


streams_registry = StreamsRegistry()
streams_registry.register("stream", func=Stream)
