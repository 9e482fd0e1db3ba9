"""Append-only HDF5 results store shared by sweeps and the design search (DESIGN §6).

One file holds one table: a fixed schema of named columns, one row per evaluation, appended the
moment the evaluation finishes. The file is always either the state before an append or the
state after it, so a process killed at any time (SIGKILL included) loses no finished row; a re-run
reads what is there and continues (resume). Single writer: the main process appends, workers only
compute. Readers may open the file while a writer runs (each append holds the file for
milliseconds; both sides retry while the other holds HDF5's file lock).

Layout (format ``"xbarsim-results-store"``, version :data:`STORE_VERSION`)::

    /                       attributes (all strings):
        format              "xbarsim-results-store"
        version             "1"
        columns             JSON [[name, dtype], ...], dtype in "float64", "int64", "str"
        fingerprint         what the rows mean (e.g. a hash of network + technology + data);
                            reopening with another fingerprint is an error
        meta                JSON object of run metadata (e.g. the sweep's full config); written
                            when the store is created and never changed afterwards
        created             ISO 8601 UTC time of creation
        n_rows              committed rows, as a decimal string (the commit marker)
    /rows                   1-D resizable, chunked dataset of a compound type with one field per
                            column, in schema order: float64, int64 or variable-length UTF-8
                            strings (JSON blobs such as a config)

The first three columns are always ``key`` (str: what the row is about, e.g. the hash of a design),
``status`` (``"ok"`` or ``"failed"``) and ``error`` (the failure message, ``""`` when ok). An append
resizes ``/rows`` to ``n + 1``, writes record ``n``, then sets ``n_rows`` and closes the file
(HDF5 flushes everything on close; about 2 ms). Readers use only the first ``n_rows`` entries, so a row whose
append was interrupted is invisible and is overwritten by the next append. A missing file is
created atomically (written to ``<path>.tmp``, then renamed). An existing file is never truncated
or overwritten: a file that is not a store, a truncated or corrupt file, a different schema or a
different fingerprint raises :class:`StoreError` naming the file. HDF5 writes its metadata only
inside an append; a kill during those few milliseconds can, in principle, leave a file that HDF5
refuses to open, which is reported, not repaired.

Values: ``float64`` columns take real numbers (``None`` stores NaN); ``int64`` columns take
integers; ``str`` columns take strings, and dicts/lists/tuples are stored as canonical JSON
(``sort_keys``). An ``"ok"`` row must give every column; a ``"failed"`` row gives a non-empty
``error`` and any subset of columns (missing floats are NaN, ints 0, strings ``""``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import numbers
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from crossbar.errors import XbarError

__all__ = ["DTYPES", "RESERVED_COLUMNS", "STORE_FORMAT", "STORE_VERSION", "ResultStore", "StoreError",
           "fingerprint"]

STORE_FORMAT = "xbarsim-results-store"
"""Value of the root ``format`` attribute."""
STORE_VERSION = 1
"""Layout version written into new stores; newer files are refused."""
DTYPES: tuple[str, ...] = ("float64", "int64", "str")
"""Column types."""
RESERVED_COLUMNS: tuple[tuple[str, str], ...] = (("key", "str"), ("status", "str"), ("error", "str"))
"""Columns every store has, first, in this order."""
STATUSES: tuple[str, ...] = ("ok", "failed")
"""Values of the ``status`` column."""

_LOCK_TIMEOUT_S = 60.0
_STR = h5py.string_dtype("utf-8")


class StoreError(XbarError, ValueError):
    """A results store is missing, corrupt, locked, or does not match what the caller expects."""


def fingerprint(*parts: Any) -> str:
    """A stable SHA-256 hex digest of ``parts`` (strings, bytes, or JSON-serializable data).

    Args:
        *parts: What the rows of a store mean, e.g. a network description and a technology.

    Returns:
        64 hex characters.

    Example:
        >>> fingerprint("resnet20", {"tech": "isaac"}) == fingerprint("resnet20", {"tech": "isaac"})
        True
        >>> len(fingerprint(b"raw bytes"))
        64
    """
    h = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else json.dumps(part, sort_keys=True, default=repr).encode()
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def _check_columns(columns: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(columns, Mapping):
        raise StoreError(f"ResultStore: columns must be a mapping name -> dtype; got {columns!r:.80}.")
    reserved = dict(RESERVED_COLUMNS)
    out = dict(RESERVED_COLUMNS)
    for name, dtype in columns.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise StoreError(f"ResultStore: column names must be Python identifiers; got {name!r}.")
        if name in reserved:
            raise StoreError(f"ResultStore: column {name!r} is reserved (every store has "
                             f"{list(reserved)}); do not declare it.")
        if dtype not in DTYPES:
            raise StoreError(f"ResultStore: column {name!r} has dtype {dtype!r}; allowed: {list(DTYPES)}.")
        out[name] = dtype
    return out


def _is_lock_error(err: OSError) -> bool:
    return isinstance(err, BlockingIOError) or "unable to lock file" in str(err)


def _open_h5(path: Path, mode: str) -> h5py.File:
    """Open an existing store file, retrying while another process holds its lock."""
    deadline = time.monotonic() + _LOCK_TIMEOUT_S
    while True:
        try:
            return h5py.File(path, mode)
        except FileNotFoundError as err:
            raise StoreError(f"Results store {str(path)!r} does not exist.") from err
        except OSError as err:
            if not _is_lock_error(err):
                raise StoreError(f"Results store {str(path)!r} is not a readable HDF5 file ({err}); it may "
                                 "be truncated or corrupt, or not a results store. Nothing was changed: "
                                 "move it away or choose another path.") from err
            if time.monotonic() > deadline:
                raise StoreError(f"Results store {str(path)!r} stayed locked by another process for "
                                 f"{_LOCK_TIMEOUT_S:.0f} s; is a second writer running?") from err
            time.sleep(0.005)


def _attr(f: h5py.File, name: str, path: Path) -> str:
    if name not in f.attrs:
        raise StoreError(f"Results store {str(path)!r} lacks the root attribute {name!r}; it is not an "
                         f"xbarsim results store (or it is damaged).")
    value = f.attrs[name]
    return value.decode() if isinstance(value, bytes) else str(value)


class ResultStore:
    """Handle of one results store file (see the module docstring for the layout and guarantees).

    Build it with :meth:`open` (create or resume, for appending) or :meth:`read` (read-only). The
    handle keeps no file open between calls; every read goes to the file, so it sees rows that
    another process appended.

    Example:
        >>> import tempfile, pathlib
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = pathlib.Path(tmp.name) / "demo.h5"
        >>> store = ResultStore.open(path, columns={"energy": "float64", "config": "str"},
        ...                          fingerprint="demo", meta={"note": "doctest"})
        >>> store.append({"key": "a", "status": "ok", "energy": 1.5, "config": {"rows": 128}})
        >>> store.append({"key": "b", "status": "failed", "error": "ValueError: boom"})
        >>> len(store), store.keys()
        (2, ['a', 'b'])
        >>> cols = ResultStore.read(path).to_dict_of_arrays()
        >>> cols["energy"].tolist(), cols["config"].tolist()[0], cols["status"].tolist()
        ([1.5, nan], '{"rows": 128}', ['ok', 'failed'])
        >>> tmp.cleanup()
    """

    def __init__(self, path: Path, columns: dict[str, str], fingerprint: str, meta: dict[str, Any],
                 created: str, *, writable: bool) -> None:
        self._path = path
        self._columns = columns
        self._fingerprint = fingerprint
        self._meta = meta
        self._created = created
        self._writable = writable

    # ---- construction ---------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str], *, columns: Mapping[str, str], fingerprint: str,
             meta: Mapping[str, Any] | None = None) -> ResultStore:
        """Create a store, or reopen an existing one for appending after checking that it matches.

        Args:
            path: File path (``.h5``); its folder is created if needed.
            columns: ``{name: dtype}`` of the columns besides :data:`RESERVED_COLUMNS`, in order;
                dtype one of :data:`DTYPES`.
            fingerprint: What the rows mean (see :func:`fingerprint`); must equal the stored one.
            meta: JSON-serializable run metadata, stored at creation (ignored on reopen: the
                stored metadata stays).

        Returns:
            A writable handle.

        Raises:
            StoreError: Invalid columns; an existing file that is not a readable store, or whose
                version, columns or fingerprint differ (the message lists what differs).
        """
        path = Path(path)
        cols = _check_columns(columns)
        if not isinstance(fingerprint, str) or not fingerprint:
            raise StoreError(f"ResultStore.open: fingerprint must be a non-empty string; got "
                             f"{fingerprint!r}.")
        if path.exists():
            store = cls._load(path, writable=True)
            if store._columns != cols:
                raise StoreError(_schema_diff(path, store._columns, cols))
            if store._fingerprint != fingerprint:
                raise StoreError(
                    f"Results store {str(path)!r} was written for different inputs (fingerprint "
                    f"{store._fingerprint[:16]}... != {fingerprint[:16]}...): another network, technology, "
                    "data set or model, or for a search another problem, algorithm, setting or seed. Its rows "
                    "would not mean the same thing; nothing was changed. Use "
                    "another output path, or delete the file to start over.")
            return store
        try:
            meta_json = json.dumps(dict(meta or {}), sort_keys=True)
        except TypeError as err:
            raise StoreError(f"ResultStore.open: meta must be JSON-serializable ({err}).") from err
        created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with h5py.File(tmp, "w") as f:
            f.attrs.update({"format": STORE_FORMAT, "version": str(STORE_VERSION),
                            "columns": json.dumps([[k, v] for k, v in cols.items()]),
                            "fingerprint": fingerprint, "meta": meta_json, "created": created, "n_rows": "0"})
            f.create_dataset("rows", shape=(0,), maxshape=(None,), chunks=(128,), dtype=_record_dtype(cols))
        os.replace(tmp, path)
        return cls(path, cols, fingerprint, json.loads(meta_json), created, writable=True)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> ResultStore:
        """Open an existing store read-only (any schema).

        Raises:
            StoreError: A missing file, or one that is not a readable store.
        """
        return cls._load(Path(path), writable=False)

    @classmethod
    def _load(cls, path: Path, *, writable: bool) -> ResultStore:
        with _open_h5(path, "r") as f:
            if _attr(f, "format", path) != STORE_FORMAT:
                raise StoreError(f"{str(path)!r} is an HDF5 file but not an xbarsim results store (format "
                                 f"{_attr(f, 'format', path)!r}).")
            version = _attr(f, "version", path)
            if not version.isdigit() or int(version) > STORE_VERSION:
                raise StoreError(f"Results store {str(path)!r} has layout version {version!r}; this code "
                                 f"reads versions <= {STORE_VERSION}. Upgrade xbarsim.")
            try:
                columns = {str(k): str(v) for k, v in json.loads(_attr(f, "columns", path))}
                meta = json.loads(_attr(f, "meta", path))
            except (ValueError, TypeError) as err:
                raise StoreError(f"Results store {str(path)!r} has an unreadable schema ({err}).") from err
            store = cls(path, columns, _attr(f, "fingerprint", path), meta, _attr(f, "created", path),
                        writable=writable)
            store._check_layout(f)
        return store

    # ---- properties -----------------------------------------------------------------------
    @property
    def path(self) -> Path:
        """The file."""
        return self._path

    @property
    def columns(self) -> dict[str, str]:
        """``{name: dtype}`` of every column, reserved ones first."""
        return dict(self._columns)

    @property
    def fingerprint(self) -> str:
        """What the rows mean (as given at creation)."""
        return self._fingerprint

    @property
    def meta(self) -> dict[str, Any]:
        """Run metadata stored at creation."""
        return json.loads(json.dumps(self._meta))

    @property
    def created(self) -> str:
        """Creation time, ISO 8601 UTC."""
        return self._created

    def __len__(self) -> int:
        with _open_h5(self._path, "r") as f:
            return self._n_rows(f)

    def __repr__(self) -> str:
        return f"ResultStore({str(self._path)!r}, columns={len(self._columns)}, writable={self._writable})"

    # ---- writing --------------------------------------------------------------------------
    def append(self, row: Mapping[str, Any]) -> None:
        """Append one row and commit it to disk before returning.

        Args:
            row: ``{column: value}``; must hold ``key`` and ``status`` (see the module docstring
                for the value rules of ok and failed rows).

        Raises:
            StoreError: A read-only handle, an unknown or missing column, a value of the wrong
                type, or a file that no longer matches the store.
        """
        if not self._writable:
            raise StoreError(f"Results store {str(self._path)!r} was opened read-only (ResultStore.read); "
                             "use ResultStore.open to append.")
        record = np.empty(1, dtype=_record_dtype(self._columns))
        for name, value in self._encode(row).items():
            record[name] = value
        with _open_h5(self._path, "r+") as f:
            n = self._n_rows(f)
            ds = self._check_layout(f, n)
            ds.resize((n + 1,))
            ds[n] = record[0]
            f.attrs["n_rows"] = str(n + 1)

    def _encode(self, row: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(row, Mapping):
            raise StoreError(f"ResultStore.append: row must be a mapping; got {type(row).__name__}.")
        unknown = sorted(set(row) - set(self._columns))
        if unknown:
            raise StoreError(f"ResultStore.append: unknown columns {unknown} for store {str(self._path)!r}; "
                             f"columns: {list(self._columns)}.")
        status = row.get("status")
        if status not in STATUSES:
            raise StoreError(f"ResultStore.append: status must be one of {list(STATUSES)}; got {status!r}.")
        key = row.get("key")
        if not isinstance(key, str) or not key:
            raise StoreError(f"ResultStore.append: key must be a non-empty string; got {key!r}.")
        error = row.get("error", "")
        if status == "failed" and (not isinstance(error, str) or not error):
            raise StoreError("ResultStore.append: a failed row needs a non-empty error message.")
        if status == "ok":
            missing = [c for c in self._columns if c not in row and c != "error"]
            if missing:
                raise StoreError(f"ResultStore.append: an ok row must give every column; missing {missing}.")
        out: dict[str, Any] = {}
        for name, dtype in self._columns.items():
            out[name] = _encode_value(name, dtype, row.get(name))
        return out

    # ---- reading --------------------------------------------------------------------------
    def keys(self) -> list[str]:
        """The ``key`` of every committed row, in append order."""
        return self.to_dict_of_arrays(columns=("key",))["key"].tolist()

    def rows(self) -> list[dict[str, Any]]:
        """Every committed row as ``{column: value}`` (Python scalars), in append order."""
        cols = self.to_dict_of_arrays()
        return [{name: values[i].item() for name, values in cols.items()} for i in range(len(cols["key"]))]

    def to_dict_of_arrays(self, columns: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Committed rows as ``{column: (n_rows,) array}``: float64, int64 or unicode strings.

        Args:
            columns: Names to read (default: all).

        Raises:
            StoreError: An unknown column or an unreadable file.
        """
        names = list(self._columns) if columns is None else list(columns)
        unknown = [c for c in names if c not in self._columns]
        if unknown:
            raise StoreError(f"Results store {str(self._path)!r} has no columns {unknown}; columns: "
                             f"{list(self._columns)}.")
        with _open_h5(self._path, "r") as f:
            n = self._n_rows(f)
            ds = self._check_layout(f, n)
            try:
                data = ds.fields(names)[:n] if n else np.empty(0, dtype=_record_dtype(self._columns))
            except (OSError, KeyError, ValueError) as err:
                raise StoreError(f"Results store {str(self._path)!r}: rows are unreadable ({err}); the file "
                                 "may be truncated or corrupt.") from err
        if len(names) == 1 and data.dtype.names is None:
            data = {names[0]: data}
        out = {}
        for name in names:
            if self._columns[name] == "str":
                out[name] = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in data[name]],
                                     dtype=np.str_)
            else:
                out[name] = np.asarray(data[name], dtype=self._columns[name])
        return out

    # ---- checks ---------------------------------------------------------------------------
    def _n_rows(self, f: h5py.File) -> int:
        text = _attr(f, "n_rows", self._path)
        if not text.isdigit():
            raise StoreError(f"Results store {str(self._path)!r} has a damaged row count {text!r}.")
        return int(text)

    def _check_layout(self, f: h5py.File, n: int | None = None) -> h5py.Dataset:
        n = self._n_rows(f) if n is None else n
        ds = f.get("rows")
        if not isinstance(ds, h5py.Dataset) or ds.ndim != 1 or ds.dtype.names != tuple(self._columns):
            raise StoreError(f"Results store {str(self._path)!r}: the 'rows' dataset is missing or does not "
                             "match the stored column list; the file is damaged.")
        if ds.shape[0] < n:
            raise StoreError(f"Results store {str(self._path)!r} holds {ds.shape[0]} rows but claims {n} "
                             "committed rows; the file is damaged (truncated?).")
        return ds


def _record_dtype(columns: Mapping[str, str]) -> np.dtype:
    return np.dtype([(name, _STR if dtype == "str" else dtype) for name, dtype in columns.items()])


def _encode_value(name: str, dtype: str, value: Any) -> Any:
    if dtype == "float64":
        if value is None:
            return math.nan
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise StoreError(f"ResultStore.append: column {name!r} (float64) needs a real number; got "
                             f"{value!r:.80}.")
        return float(value)
    if dtype == "int64":
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise StoreError(f"ResultStore.append: column {name!r} (int64) needs an integer; got "
                             f"{value!r:.80}.")
        return int(value)
    if value is None:
        return ""
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(value, sort_keys=True)
    if not isinstance(value, str):
        raise StoreError(f"ResultStore.append: column {name!r} (str) needs a string or JSON data; got "
                         f"{value!r:.80}.")
    return value


def _schema_diff(path: Path, stored: dict[str, str], wanted: dict[str, str]) -> str:
    parts = []
    missing = [c for c in wanted if c not in stored]
    extra = [c for c in stored if c not in wanted]
    changed = [f"{c}: {stored[c]} -> {wanted[c]}" for c in wanted if c in stored and stored[c] != wanted[c]]
    if missing:
        parts.append(f"columns missing from the file: {missing}")
    if extra:
        parts.append(f"columns only in the file: {extra}")
    if changed:
        parts.append(f"dtypes differ: {changed}")
    if not parts:
        parts.append("column order differs")
    return (f"Results store {str(path)!r} has a different schema ({'; '.join(parts)}); it was written by "
            "another kind of run or version. Nothing was changed: use another output path.")
