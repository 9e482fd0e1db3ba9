"""Where evaluations run: in-process, local worker processes, or a Dask cluster (one code path).

Every executor has the same three methods, so a sweep or a search loop is written once::

    futures = [ex.submit(fn, *args) for args in work]   # fn: a top-level (picklable) function
    for fut in ex.as_completed(futures):                # in completion order
        row = fut.result()                              # re-raises the task's exception
    ex.shutdown()                                       # cancels what has not started

``make_executor(spec)`` picks the implementation: ``None``/``"local"`` (a
``concurrent.futures.ProcessPoolExecutor`` with ``spawn`` workers, ``max_workers`` of them,
default ``os.cpu_count()``), ``"serial"`` (runs each task in the calling process when
``as_completed`` reaches it; for debugging and tests), a ``dask.distributed.Client`` (used as
given, never closed here), or a scheduler address ``"tcp://host:port"`` (connects a client and
closes it on shutdown). Dask futures are iterated with ``distributed.as_completed``.

Workers only compute; results come back to the caller, which alone writes the results store.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, runtime_checkable

from crossbar.errors import ConfigError

__all__ = ["DaskExecutor", "Executor", "LocalExecutor", "SerialExecutor", "make_executor"]


@runtime_checkable
class Executor(Protocol):
    """What a sweep or search needs from an executor."""

    @property
    def n_workers(self) -> int:
        """Tasks that can run at once [1]."""
        ...

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Schedule ``fn(*args)``; returns a future (``result()``, ``exception()``, ``done()``)."""
        ...

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        """Yield ``futures`` as they finish (each exactly once)."""
        ...

    def shutdown(self) -> None:
        """Cancel unfinished tasks and release owned resources (idempotent)."""
        ...


class _DeferredFuture(cf.Future):
    """A future that runs its task in the calling thread the first time its result is needed."""

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        super().__init__()
        self._task: tuple[Callable[..., Any], tuple[Any, ...]] | None = (fn, args)

    def run(self) -> None:
        """Run the task (once) and store its result or exception."""
        if self._task is None:
            return
        fn, args = self._task
        self._task = None
        if not self.set_running_or_notify_cancel():
            return
        try:
            result = fn(*args)
        except Exception as err:  # noqa: BLE001 - stored, re-raised by result(), like a process pool
            self.set_exception(err)
        else:
            self.set_result(result)

    def result(self, timeout: float | None = None) -> Any:
        self.run()
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self.run()
        return super().exception(timeout)


class SerialExecutor:
    """Runs every task in the calling process, lazily, in submission order.

    A task runs when :meth:`as_completed` reaches it (or its ``result()`` is asked for), so a
    caller that stores each result as it is yielded stores it before the next task starts, as
    with the parallel executors.

    Example:
        >>> ex = SerialExecutor()
        >>> futs = [ex.submit(pow, 2, k) for k in range(4)]
        >>> [f.result() for f in ex.as_completed(futs)]
        [1, 2, 4, 8]
    """

    n_workers = 1

    def __init__(self) -> None:
        self._pending: list[_DeferredFuture] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> cf.Future:
        self._pending = [f for f in self._pending if not f.done()]  # keep only what may still run
        fut = _DeferredFuture(fn, args)
        self._pending.append(fut)
        return fut

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        for fut in list(futures):
            if isinstance(fut, _DeferredFuture):
                fut.run()
            yield fut

    def shutdown(self) -> None:
        for fut in self._pending:
            fut.cancel()
        self._pending.clear()

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


def _limit_threads(n_threads: int) -> None:
    """Worker initializer: at most ``n_threads`` compute threads per worker (unless the user's
    environment already sets a limit), so that ``n`` workers do not oversubscribe the cores
    (torch's OpenMP threads spin-wait against each other). Libraries imported later read the
    variables; an already imported torch is told directly."""
    for name in _THREAD_VARIABLES:
        os.environ.setdefault(name, str(n_threads))
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


class LocalExecutor:
    """A pool of local worker processes (``spawn`` start method: safe with torch and threads).

    Each worker limits its compute threads (OpenMP, MKL, OpenBLAS, Numba) to
    ``os.cpu_count() // max_workers`` (at least 1) unless the environment already sets them.

    Example:
        >>> with LocalExecutor(max_workers=1) as ex:
        ...     [f.result() for f in ex.as_completed([ex.submit(pow, 3, 2)])]
        [9]
    """

    def __init__(self, max_workers: int | None = None) -> None:
        n = (os.cpu_count() or 1) if max_workers is None else max_workers
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"LocalExecutor.max_workers must be an integer >= 1 or None (all cores); got "
                              f"{max_workers!r}.")
        self._n = n
        self._pool = cf.ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_limit_threads,
                                            initargs=(max(1, (os.cpu_count() or 1) // n),))

    @property
    def n_workers(self) -> int:
        return self._n

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> cf.Future:
        return self._pool.submit(fn, *args)

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        return cf.as_completed(list(futures))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


class DaskExecutor:
    """Tasks on a Dask cluster through a ``distributed.Client``.

    Args:
        client: A connected client; it is closed by :meth:`shutdown` only when ``owned``.
        owned: Close the client on shutdown (set when :func:`make_executor` connected it).
    """

    def __init__(self, client: Any, *, owned: bool = False) -> None:
        self._client = client
        self._owned = owned
        self._submitted: list[Any] = []

    @property
    def client(self) -> Any:
        """The ``distributed.Client``."""
        return self._client

    @property
    def n_workers(self) -> int:
        threads = self._client.nthreads()
        return max(1, sum(threads.values()))

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        # hold only unfinished futures: a held future keeps its result in the cluster's memory
        self._submitted = [f for f in self._submitted if not f.done()]
        fut = self._client.submit(fn, *args, pure=False)
        self._submitted.append(fut)
        return fut

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        from distributed import as_completed

        futures = list(futures)
        return iter(as_completed(futures)) if futures else iter(())

    def shutdown(self) -> None:
        pending = [f for f in self._submitted if not f.done()]
        if pending and self._client.status == "running":
            self._client.cancel(pending)
        self._submitted.clear()
        if self._owned:
            self._client.close()
            self._owned = False

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def make_executor(spec: Any = None, *, max_workers: int | None = None) -> Executor:
    """The executor named by ``spec``.

    Args:
        spec: ``None`` or ``"local"`` (local processes), ``"serial"`` (in-process), a
            ``dask.distributed.Client``, a scheduler address ``"tcp://host:port"``, or an object
            that already satisfies :class:`Executor` (returned as is).
        max_workers: Worker processes of ``"local"`` (default ``os.cpu_count()``); not allowed
            with the other kinds, whose size is set elsewhere.

    Returns:
        The executor; call ``shutdown()`` (or use it as a context manager) when done.

    Raises:
        ConfigError: An unknown spec, or ``max_workers`` with a spec other than ``"local"``.

    Example:
        >>> ex = make_executor("serial")
        >>> [f.result() for f in ex.as_completed([ex.submit(divmod, 7, 2)])]
        [(3, 1)]
    """
    if spec is None or spec == "local":
        return LocalExecutor(max_workers)
    if max_workers is not None:
        raise ConfigError(f"make_executor: max_workers applies to 'local' only; got "
                          f"max_workers={max_workers!r} with spec {spec!r}.")
    if isinstance(spec, str):
        if spec == "serial":
            return SerialExecutor()
        if spec.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            from distributed import Client

            return DaskExecutor(Client(spec), owned=True)
        raise ConfigError(f"make_executor: unknown executor {spec!r}; use 'local', 'serial', a Dask "
                          "scheduler address such as 'tcp://127.0.0.1:8786', or a dask.distributed.Client.")
    distributed = sys.modules.get("distributed")
    if distributed is not None and isinstance(spec, distributed.Client):
        return DaskExecutor(spec)
    if isinstance(spec, Executor):
        return spec
    raise ConfigError(f"make_executor: spec must be None, 'local', 'serial', a scheduler address or a "
                      f"dask.distributed.Client; got {spec!r:.80}.")
