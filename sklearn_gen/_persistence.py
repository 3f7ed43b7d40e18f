"""Saving generators: library version records, and a format that runs no code at load.

Two ways to save a fitted generator:

* ``joblib.dump`` / ``pickle.dump``: everything, callbacks included, but loading a
  pickle runs whatever code the file names, so only load files you trust. The
  pickle records the versions of the libraries it was saved under
  (:func:`library_versions`); loading under other versions warns
  (:class:`~sklearn_gen.exceptions.InconsistentVersionWarning`).
* :func:`save_generator` / :func:`load_generator`: a zip archive of

  - ``config.json``: the format name and version, the generator's class name (one
    of sklearn_gen's own generators), the library versions, its parameters and
    its fitted state (the encoder's schema, layout and mixture / quantile
    parameters, the random streams, the target and identifier information, the
    skorch history, the net's learned attributes such as the EMA counter, the
    adaptive KL weight or the privacy accountant), in a typed JSON (see
    :class:`_Encoder`) whose decoder only builds types from a fixed list;
  - ``tensors.pt``: ``torch.save`` of plain dicts of tensors: the ``state_dict`` of
    every network, criterion and optimiser of the skorch net, and the numeric
    arrays of the fitted state. It is read with ``torch.load(weights_only=True)``
    and no extra allowed globals, so it can hold tensors and plain containers
    only: a file naming any other object (e.g. one whose unpickling would call a
    function) is refused before anything runs.

  Loading rebuilds the net with the generator's own ``_make_net`` and
  ``initialize`` (the same code path as ``fit``), then loads the state dicts into
  it, so it samples, transforms, scores and continues training (``partial_fit``,
  optimiser state included) exactly as the saved generator would. Callbacks are
  arbitrary code and are not saved.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import io
import json
import os
import pickle
import platform
import warnings
import zipfile

import numpy as np
import pandas as pd
import torch

from .exceptions import InconsistentVersionWarning

__all__ = ["library_versions", "load_generator", "save_generator"]

#: Name recorded in every file, checked at load.
FORMAT_NAME = "sklearn_gen.generator"
#: Version of the file layout this module writes (and the newest it reads).
FORMAT_VERSION = 1
#: Members of the archive.
CONFIG_MEMBER = "config.json"
TENSORS_MEMBER = "tensors.pt"
#: Key of the version record in a pickled generator's state.
VERSIONS_KEY = "_sklearn_gen_versions"

#: skorch's own bookkeeping attributes, rebuilt by ``initialize``, and transient
#: training state: not saved.
_NET_INTERNALS = frozenset(
    {
        "callbacks_",
        "cuda_dependent_attributes_",
        "history_",
        "init_context_",
        "initialized_",
        "prefixes_",
        "rng_",  # a training-time torch.Generator (not pickled either)
        "virtual_params_",
    }
)
#: Plain net settings restored after the rebuild (when they are simple values).
_PLAIN = (type(None), bool, int, float, str)


# ---------------------------------------------------------------------------
# Library versions
# ---------------------------------------------------------------------------


def library_versions():
    """Versions of the libraries a saved generator depends on.

    Returns
    -------
    versions : dict of str to str
        Keys ``sklearn_gen``, ``torch``, ``scikit-learn``, ``skorch``, ``numpy``,
        ``pandas`` and ``python``.

    Examples
    --------
    >>> from sklearn_gen._persistence import library_versions
    >>> sorted(library_versions())
    ['numpy', 'pandas', 'python', 'scikit-learn', 'sklearn_gen', 'skorch', 'torch']
    """
    import sklearn
    import skorch

    from . import __version__

    return {
        "sklearn_gen": str(__version__),
        "torch": str(torch.__version__),
        "scikit-learn": str(sklearn.__version__),
        "skorch": str(skorch.__version__),
        "numpy": str(np.__version__),
        "pandas": str(pd.__version__),
        "python": platform.python_version(),
    }


def _comparable(library, version):
    """A version without its local part (``+cu121``); Python as major.minor."""
    version = str(version).split("+", 1)[0]
    if library == "python":
        version = ".".join(version.split(".")[:2])
    return version


def check_versions(saved, estimator_name, *, stacklevel=3):
    """Warn once per library whose saved version differs from the current one.

    ``saved`` is a :func:`library_versions` record (anything else is ignored, e.g.
    a pickle written before versions were recorded).
    """
    if not isinstance(saved, dict):
        return
    current = library_versions()
    for library, original in saved.items():
        if library not in current or not isinstance(original, str):
            continue
        if _comparable(library, original) != _comparable(library, current[library]):
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=estimator_name,
                    library=library,
                    original_version=original,
                    current_version=current[library],
                    original_sklearn_version=saved.get("scikit-learn"),
                    current_sklearn_version=current["scikit-learn"],
                ),
                stacklevel=stacklevel,
            )


# ---------------------------------------------------------------------------
# Typed JSON
# ---------------------------------------------------------------------------


def _generator_classes():
    from .utils.discovery import all_generators

    return dict(all_generators())


def _dataclasses():
    """Dataclasses rebuilt from their fields (``cls(**fields)``)."""
    from ._privacy import DPConfig
    from .preprocessing import ColumnSchema, IdentifierColumn, Span

    return {
        "ColumnSchema": ColumnSchema,
        "DPConfig": DPConfig,
        "IdentifierColumn": IdentifierColumn,
        "Span": Span,
    }


def _state_objects():
    """Plain classes rebuilt from their attributes (``__new__`` + ``__dict__``)."""
    from .nn._latent import AdaptiveBeta
    from .preprocessing import TabularEncoder

    found = {"AdaptiveBeta": AdaptiveBeta, "TabularEncoder": TabularEncoder}
    try:
        from opacus.accountants import RDPAccountant
    except ImportError:  # only needed for models trained with privacy
        pass
    else:
        found["RDPAccountant"] = RDPAccountant
    return found


class _Encoder:
    """Values to JSON, numeric arrays to a list of tensors.

    JSON-native values (None, bool, int, float — NaN and infinities as JSON's
    ``NaN`` / ``Infinity`` extensions — str, list, and dicts with str keys) are
    written as they are. Everything else is an object ``{"$t": tag, ...}``:

    ``tuple``, ``dict`` (non-str keys), ``set``, ``frozenset``, ``bytes``,
    ``ndarray`` (numeric arrays as a reference into the tensor list, object and
    string arrays inline), ``tensor``, ``scalar`` (numpy scalars), ``np.dtype``,
    ``pd.dtype`` (pandas dtypes named by their string), ``CategoricalDtype``,
    ``StringDtype``, ``ArrowDtype``, ``NA``, ``NaT``, ``Timestamp``,
    ``Timedelta``, ``datetime``, ``date``, ``torch.device``, ``RandomState``,
    ``Layout``, ``History`` (skorch), the dataclasses ``ColumnSchema``,
    ``IdentifierColumn``, ``Span``, ``DPConfig`` and the attribute-only classes
    ``TabularEncoder``, ``AdaptiveBeta`` and Opacus' ``RDPAccountant``.

    Anything else raises a ``TypeError`` naming where it was found: a generator
    holding such a value cannot be saved in this format (joblib still works).
    """

    def __init__(self):
        self.tensors = []

    def _tensor_ref(self, tensor):
        self.tensors.append(tensor)
        return len(self.tensors) - 1

    def encode(self, value, where):
        kind = type(value)
        if value is None or kind in (bool, int, str, float):
            return value
        if kind is list:
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if kind is dict:
            if all(type(k) is str for k in value) and "$t" not in value:
                return {k: self.encode(v, f"{where}[{k!r}]") for k, v in value.items()}
            return {
                "$t": "dict",
                "items": [
                    [self.encode(k, f"{where} key"), self.encode(v, f"{where}[{k!r}]")]
                    for k, v in value.items()
                ],
            }
        if kind is tuple:
            return {"$t": "tuple", "v": self.encode(list(value), where)}
        if kind in (set, frozenset):
            items = sorted(value, key=repr)
            return {"$t": kind.__name__, "v": self.encode(items, where)}
        if kind is bytes:
            return {"$t": "bytes", "v": base64.b64encode(value).decode("ascii")}
        if kind is np.ndarray:
            return self._array(value, where)
        if isinstance(value, torch.Tensor) and kind in (
            torch.Tensor,
            torch.nn.Parameter,
        ):
            return {
                "$t": "tensor",
                "ref": self._tensor_ref(value.detach().cpu().clone()),
            }
        if isinstance(value, np.generic):
            return self._scalar(value, where)
        if isinstance(value, np.dtype):
            if value.fields is not None or value.subdtype is not None:
                raise TypeError(
                    f"{where}: structured numpy dtype {value} is not supported."
                )
            return {"$t": "np.dtype", "v": value.str}
        if isinstance(value, pd.api.extensions.ExtensionDtype):
            return self._pandas_dtype(value, where)
        if value is pd.NA:
            return {"$t": "NA"}
        if value is pd.NaT:
            return {"$t": "NaT"}
        if kind is pd.Timestamp:
            return self._checked(
                {
                    "$t": "Timestamp",
                    "ns": int(value.as_unit("ns").value),
                    "unit": value.unit,
                    "tz": None if value.tz is None else str(value.tz),
                },
                value,
                where,
            )
        if kind is pd.Timedelta:
            return {
                "$t": "Timedelta",
                "ns": int(value.as_unit("ns").value),
                "unit": value.unit,
            }
        if kind is datetime.datetime and value.tzinfo is None:
            return {"$t": "datetime", "v": value.isoformat()}
        if kind is datetime.date:
            return {"$t": "date", "v": value.isoformat()}
        if kind is torch.device:
            return {"$t": "torch.device", "v": str(value)}
        if kind is np.random.RandomState:
            name, keys, pos, has_gauss, cached = value.get_state(legacy=True)
            return {
                "$t": "RandomState",
                "state": [
                    name,
                    self._array(keys, where),
                    int(pos),
                    int(has_gauss),
                    float(cached),
                ],
            }
        from skorch.history import History

        from .preprocessing import Layout

        if kind is Layout:
            return {"$t": "Layout", "spans": self.encode(list(value.spans), where)}
        if kind is History:
            return {"$t": "History", "v": self.encode(list(value), where)}
        name = kind.__name__
        if _dataclasses().get(name) is kind:
            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            return {"$t": name, "fields": self.encode(fields, f"{where}.{name}")}
        if _state_objects().get(name) is kind:
            attributes = {
                k: v for k, v in vars(value).items() if k != "_sklearn_version"
            }
            return {"$t": name, "state": self.encode(attributes, where)}
        raise TypeError(
            f"{where} holds a {kind.__module__}.{kind.__qualname__}, which the safe "
            "format cannot store (it only stores data of known types, never code). "
            "Save this generator with joblib instead, and load it only if you trust "
            "the file."
        )

    def _checked(self, encoded, value, where):
        """``encoded`` if it decodes back to ``value``; a TypeError otherwise."""
        try:
            back = _Decoder(self.tensors).decode(encoded)
            same = back == value and type(back) is type(value)
        except (TypeError, ValueError):
            same = False
        if not same:
            raise TypeError(
                f"{where}: {value!r} cannot be stored in the safe format (it does not "
                "round-trip). Save this generator with joblib instead."
            )
        return encoded

    def _pandas_dtype(self, dtype, where):
        if isinstance(dtype, pd.CategoricalDtype):
            categories = dtype.categories
            return {
                "$t": "CategoricalDtype",
                "categories": self.encode(list(categories), where),
                "dtype": self.encode(categories.dtype, where),
                "ordered": bool(dtype.ordered),
            }
        if isinstance(dtype, pd.StringDtype):
            encoded = {
                "$t": "StringDtype",
                "storage": dtype.storage,
                "na_value": self.encode(getattr(dtype, "na_value", pd.NA), where),
            }
        elif isinstance(dtype, pd.ArrowDtype):
            encoded = {"$t": "ArrowDtype", "v": str(dtype.pyarrow_dtype)}
        else:
            encoded = {"$t": "pd.dtype", "v": str(dtype)}
        return self._checked(encoded, dtype, where)

    def _scalar(self, value, where):
        dtype = value.dtype
        if dtype.kind in "biuf":
            return {"$t": "scalar", "dtype": dtype.str, "v": value.item()}
        if dtype.kind in "Mm":
            return {"$t": "scalar", "dtype": dtype.str, "v": int(value.view(np.int64))}
        if dtype.kind == "U":
            return {"$t": "scalar", "dtype": dtype.str, "v": str(value)}
        raise TypeError(f"{where}: numpy scalar of dtype {dtype} is not supported.")

    def _array(self, array, where):
        dtype = array.dtype
        shape = list(array.shape)
        if dtype.fields is not None or dtype.subdtype is not None:
            raise TypeError(f"{where}: structured numpy arrays are not supported.")
        if dtype.kind in "biufcMm":
            # Native byte order, then a dtype torch stores as a plain tensor.
            native = array.astype(dtype.newbyteorder("="), copy=False)
            if dtype.kind in "Mm":
                native = native.view(np.int64)
            elif dtype.kind == "u" and dtype.itemsize == 2:
                native = native.astype(np.int32)
            elif dtype.kind == "u" and dtype.itemsize >= 4:
                if dtype.itemsize == 8 and native.size and native.max() >= 2**63:
                    raise TypeError(
                        f"{where}: uint64 values of 2**63 or more are not supported."
                    )
                native = native.astype(np.int64)
            tensor = torch.from_numpy(np.array(native, copy=True, order="C"))
            return {
                "$t": "ndarray",
                "dtype": dtype.str,
                "shape": shape,
                "ref": self._tensor_ref(tensor),
            }
        if dtype.kind in "OUS":
            flat = array.reshape(-1)
            items = list(flat) if dtype.kind == "O" else flat.tolist()
            return {
                "$t": "ndarray",
                "dtype": dtype.str,
                "shape": shape,
                "v": self.encode(items, where),
            }
        raise TypeError(f"{where}: numpy array of dtype {dtype} is not supported.")


class _Decoder:
    """Inverse of :class:`_Encoder`: builds only the types listed there."""

    def __init__(self, tensors):
        self.tensors = tensors

    def _tensor(self, ref):
        if type(ref) is not int or not 0 <= ref < len(self.tensors):
            raise ValueError(f"Invalid tensor reference {ref!r} in the saved state.")
        tensor = self.tensors[ref]
        if not isinstance(tensor, torch.Tensor):
            raise ValueError(f"Saved array {ref} is not a tensor.")
        return tensor

    def decode(self, value):
        kind = type(value)
        if value is None or kind in (bool, int, float, str):
            return value
        if kind is list:
            return [self.decode(v) for v in value]
        if kind is not dict:
            raise ValueError(f"Unexpected JSON value of type {kind.__name__}.")
        if "$t" not in value:
            return {k: self.decode(v) for k, v in value.items()}
        tag = value["$t"]
        if not isinstance(tag, str):
            raise ValueError(f"Invalid type tag {tag!r} in the saved state.")
        method = _TAGS.get(tag)
        if method is not None:
            return method(self, value)
        classes = {**_dataclasses()}
        if tag in classes:
            return classes[tag](**self.decode(value["fields"]))
        objects = _state_objects()
        if tag in objects:
            obj = objects[tag].__new__(objects[tag])
            obj.__dict__.update(self.decode(value["state"]))
            return obj
        if tag == "RDPAccountant":
            from ._privacy import require_opacus

            require_opacus()
        raise ValueError(
            f"Unknown type tag {tag!r} in the saved state: the file was written by "
            "another version of sklearn_gen, or altered."
        )

    # One method per tag.

    def _dict(self, value):
        return {self._key(self.decode(k)): self.decode(v) for k, v in value["items"]}

    @staticmethod
    def _key(key):
        return tuple(key) if type(key) is list else key

    def _ndarray(self, value):
        dtype = np.dtype(value["dtype"])
        shape = tuple(int(n) for n in value["shape"])
        if "ref" in value:
            data = self._tensor(value["ref"]).detach().cpu().numpy()
            if dtype.kind in "Mm":
                array = data.astype(np.int64).view(dtype)
            else:
                array = data.astype(dtype)
            return np.array(array.reshape(shape), copy=True)
        items = self.decode(value["v"])
        if dtype.kind == "O":
            array = np.empty(len(items), dtype=object)
            array[:] = items
            return array.reshape(shape)
        return np.array(items, dtype=dtype).reshape(shape)

    def _scalar(self, value):
        dtype = np.dtype(value["dtype"])
        if dtype.kind in "Mm":
            return np.int64(value["v"]).view(dtype)
        return np.array(value["v"], dtype=dtype)[()]

    def _pandas_dtype(self, value):
        from pandas.api.types import pandas_dtype

        return pandas_dtype(value["v"])

    def _categorical(self, value):
        categories = self.decode(value["categories"])
        dtype = self.decode(value["dtype"])
        index = pd.Index(categories, dtype=dtype, tupleize_cols=False)
        return pd.CategoricalDtype(index, ordered=bool(value["ordered"]))

    def _string_dtype(self, value):
        na_value = self.decode(value["na_value"])
        if na_value is pd.NA:
            return pd.StringDtype(value["storage"])
        return pd.StringDtype(value["storage"], na_value=na_value)

    def _arrow_dtype(self, value):
        import pyarrow as pa

        return pd.ArrowDtype(pa.type_for_alias(value["v"]))

    def _timestamp(self, value):
        stamp = pd.Timestamp(int(value["ns"]), unit="ns")
        if value["tz"] is not None:
            stamp = stamp.tz_localize("UTC").tz_convert(value["tz"])
        return stamp.as_unit(value["unit"])

    def _random_state(self, value):
        name, keys, pos, has_gauss, cached = value["state"]
        rng = np.random.RandomState()
        rng.set_state((name, self.decode(keys), pos, has_gauss, cached))
        return rng

    def _layout(self, value):
        from .preprocessing import Layout

        return Layout(self.decode(value["spans"]))

    def _history(self, value):
        from skorch.history import History

        return History(self.decode(value["v"]))


_TAGS = {
    "tuple": lambda self, v: tuple(self.decode(v["v"])),
    "dict": _Decoder._dict,
    "set": lambda self, v: set(self.decode(v["v"])),
    "frozenset": lambda self, v: frozenset(self.decode(v["v"])),
    "bytes": lambda self, v: base64.b64decode(v["v"].encode("ascii")),
    "ndarray": _Decoder._ndarray,
    "tensor": lambda self, v: self._tensor(v["ref"]).clone(),
    "scalar": _Decoder._scalar,
    "np.dtype": lambda self, v: np.dtype(v["v"]),
    "pd.dtype": _Decoder._pandas_dtype,
    "CategoricalDtype": _Decoder._categorical,
    "StringDtype": _Decoder._string_dtype,
    "ArrowDtype": _Decoder._arrow_dtype,
    "NA": lambda self, v: pd.NA,
    "NaT": lambda self, v: pd.NaT,
    "Timestamp": _Decoder._timestamp,
    "Timedelta": lambda self, v: pd.Timedelta(int(v["ns"]), unit="ns").as_unit(
        v["unit"]
    ),
    "datetime": lambda self, v: datetime.datetime.fromisoformat(v["v"]),
    "date": lambda self, v: datetime.date.fromisoformat(v["v"]),
    "torch.device": lambda self, v: torch.device(v["v"]),
    "RandomState": _Decoder._random_state,
    "Layout": _Decoder._layout,
    "History": _Decoder._history,
}


# ---------------------------------------------------------------------------
# The archive
# ---------------------------------------------------------------------------


def _cpu(obj):
    """A state dict (nested dicts / lists of tensors) with every tensor on the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu(v) for v in obj)
    return obj


def _net_components(net):
    return {
        "modules": list(net._modules),
        "criteria": list(net._criteria),
        "optimizers": list(net._optimizers),
    }


def _net_attributes(net):
    """The net's learned attributes (``*_``) and plain settings, by name."""
    components = {
        name + "_" for names in _net_components(net).values() for name in names
    }
    attributes = {}
    for name, value in vars(net).items():
        if name.startswith("__") or name in _NET_INTERNALS or name in components:
            continue
        if name.endswith("_"):
            attributes[name] = value
        elif not name.startswith("_") and name != "device" and type(value) in _PLAIN:
            attributes[name] = value
    return attributes


def save_generator(generator, path):
    """Save a generator in sklearn_gen's safe format (no code runs when it is loaded).

    The file is a zip archive holding ``config.json`` (the class name, the
    library versions, the parameters and the fitted state in JSON) and
    ``tensors.pt`` (the networks' and optimisers' state dicts and the numeric
    arrays, read back with ``torch.load(weights_only=True)``). Unlike a pickle,
    loading it cannot run code; :func:`load_generator` rebuilds the generator.

    Callbacks are not saved (they are code): the loaded generator has
    ``callbacks=None``, and a warning says so when the saved one had some.

    Parameters
    ----------
    generator : BaseGenerator
        A generator of one of sklearn_gen's own classes, fitted or not
        (subclasses defined elsewhere cannot be saved this way: use joblib).
    path : str, path-like or writable binary file object
        Where to write. The ``.sgen`` suffix is a convention, not required.

    Raises
    ------
    TypeError
        If ``generator`` is not an instance of one of sklearn_gen's generator
        classes, or holds a value the format cannot store (the message names it).

    See Also
    --------
    load_generator : Load a file written by this function.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_wine
    >>> from sklearn_gen import TVAEGenerator, load_generator, save_generator
    >>> X = load_wine(as_frame=True).frame
    >>> gen = TVAEGenerator(epochs=1, random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "wine.sgen")
    >>> save_generator(gen, path)
    >>> loaded = load_generator(path)
    >>> loaded.sample(3, random_state=0).equals(gen.sample(3, random_state=0))
    True
    """
    from .base import BaseGenerator

    cls = type(generator)
    if not isinstance(generator, BaseGenerator) or (
        _generator_classes().get(cls.__name__) is not cls
    ):
        raise TypeError(
            f"save_generator saves sklearn_gen's own generators; got "
            f"{cls.__module__}.{cls.__qualname__}. Use joblib.dump for other "
            "objects (and load such files only if you trust them)."
        )
    encoder = _Encoder()
    params = generator.get_params(deep=False)
    if params.get("callbacks"):
        warnings.warn(
            f"{cls.__name__}.callbacks are not saved (they are code, which this "
            "format never stores): the loaded generator has callbacks=None. Pass "
            "them again with set_params(callbacks=...) before partial_fit.",
            UserWarning,
            stacklevel=2,
        )
    if "callbacks" in params:
        params["callbacks"] = None
    config = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "class": cls.__name__,
        "versions": library_versions(),
        "params": encoder.encode(params, "params"),
        "fitted": False,
        "state": None,
        "net": None,
        "notes": (
            "callbacks are not saved; tensors.pt is read with "
            "torch.load(weights_only=True)."
        ),
    }
    tensors = {"arrays": encoder.tensors, "net": None}
    net = generator.__dict__.get("net_")
    if net is not None:
        state = {
            name: value
            for name, value in vars(generator).items()
            if name not in params and name != "net_"
        }
        shared_history = state.get("history_") is net.history_
        if shared_history:
            del state["history_"]
        config["fitted"] = True
        config["state"] = encoder.encode(state, type(generator).__name__)
        components = _net_components(net)
        config["net"] = {
            "class": type(net).__name__,
            **components,
            "attributes": encoder.encode(_net_attributes(net), "net_"),
            "history": encoder.encode(net.history_, "net_.history_"),
            "shared_history": shared_history,
        }
        tensors["net"] = {
            kind: {
                name: _cpu(getattr(net, name + "_").state_dict())
                for name in names
                if hasattr(getattr(net, name + "_", None), "state_dict")
            }
            for kind, names in components.items()
        }
    text = json.dumps(config, allow_nan=True)
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    target = path if hasattr(path, "write") else os.fspath(path)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(CONFIG_MEMBER, text)
        archive.writestr(TENSORS_MEMBER, buffer.getvalue())


def _read_archive(path, name):
    if not zipfile.is_zipfile(path if hasattr(path, "read") else os.fspath(path)):
        raise ValueError(
            f"{name} is not a sklearn_gen model file (not a zip archive). If it is a "
            "joblib or pickle file, load it with joblib.load — which runs code from "
            "the file, so only for files you trust."
        )
    if hasattr(path, "seek"):
        path.seek(0)
    with zipfile.ZipFile(path if hasattr(path, "read") else os.fspath(path)) as archive:
        members = set(archive.namelist())
        if CONFIG_MEMBER not in members or TENSORS_MEMBER not in members:
            raise ValueError(
                f"{name} is not a sklearn_gen model file: it lacks {CONFIG_MEMBER} or "
                f"{TENSORS_MEMBER} (save models with sklearn_gen.save_generator)."
            )
        config_bytes = archive.read(CONFIG_MEMBER)
        tensor_bytes = archive.read(TENSORS_MEMBER)
    try:
        config = json.loads(config_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{name}: {CONFIG_MEMBER} is not valid JSON ({exc})."
        ) from None
    return config, tensor_bytes


def _check_header(config, name):
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        raise ValueError(
            f"{name} is not a sklearn_gen model file ({CONFIG_MEMBER} does not name "
            f"the format {FORMAT_NAME!r})."
        )
    version = config.get("format_version")
    if type(version) is not int or version < 1:
        raise ValueError(f"{name}: invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        saved_with = (config.get("versions") or {}).get(
            "sklearn_gen", "a newer version"
        )
        raise ValueError(
            f"{name} uses format version {version} (written by sklearn_gen "
            f"{saved_with}); this sklearn_gen reads format versions up to "
            f"{FORMAT_VERSION}. Upgrade sklearn_gen to load it."
        )
    classes = _generator_classes()
    cls = classes.get(config.get("class"))
    if cls is None:
        raise ValueError(
            f"{name} names the class {config.get('class')!r}, which is not one of "
            f"sklearn_gen's generators ({', '.join(sorted(classes))}); refused."
        )
    return cls


def _load_tensors(data, name):
    """``torch.load`` that only accepts tensors and plain containers."""
    try:
        tensors = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ValueError(
            f"{name}: {TENSORS_MEMBER} holds objects other than tensors and plain "
            "containers, which could run code when loaded; refused (nothing in it "
            f"was executed). Details: {str(exc).splitlines()[0]}"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(
            f"{name}: {TENSORS_MEMBER} is not a valid tensor file ({exc})."
        ) from None
    if not isinstance(tensors, dict) or not isinstance(tensors.get("arrays"), list):
        raise ValueError(f"{name}: {TENSORS_MEMBER} does not have the expected layout.")
    return tensors


def _target_device(saved, map_location, name):
    if map_location is not None:
        if isinstance(map_location, (str, torch.device)):
            return str(torch.device(map_location))
        raise TypeError(
            f"map_location must be None, a str or a torch.device, got "
            f"{type(map_location).__name__}."
        )
    device = str(saved or "cpu")
    if torch.device(device).type == "cuda" and not torch.cuda.is_available():
        warnings.warn(
            f"{name} was saved on {device}, but CUDA is not available: loading it on "
            "the CPU (pass map_location='cpu' to silence this).",
            UserWarning,
            stacklevel=3,
        )
        return "cpu"
    return device


def load_generator(path, *, map_location=None):
    """Load a generator written by :func:`save_generator`, running no code from it.

    The class named in the file must be one of sklearn_gen's generators, its
    configuration is plain JSON decoded into a fixed list of types, and the
    tensors are read with ``torch.load(weights_only=True)``: a file that names any
    other object (a function, a class of another package) is refused before
    anything in it runs. The network is rebuilt by the generator's own code and
    its saved weights and optimiser state are loaded into it.

    Parameters
    ----------
    path : str, path-like or readable binary file object
        The file.
    map_location : str, torch.device or None, default=None
        Device to load the networks on (e.g. ``"cpu"``). None means the device
        the generator was saved from, or the CPU (with a warning) when that was a
        CUDA device and CUDA is not available now. ``device_`` is set to it; the
        ``device`` parameter is kept as saved.

    Returns
    -------
    generator : BaseGenerator
        The generator, fitted if it was saved fitted, with ``callbacks=None``.

    Raises
    ------
    ValueError
        If the file is not a sklearn_gen model file, was written by a newer
        format version, names a class that is not a sklearn_gen generator, or
        holds anything but data (e.g. a pickled callable).

    Warns
    -----
    InconsistentVersionWarning
        For each library (sklearn_gen, torch, scikit-learn, skorch, numpy, pandas,
        python) whose version differs from the one it was saved with.

    See Also
    --------
    save_generator : Write such a file.
    """
    if hasattr(path, "read"):
        name = str(getattr(path, "name", "The file"))
    else:
        name = os.fspath(path)
    config, tensor_bytes = _read_archive(path, name)
    cls = _check_header(config, name)
    check_versions(config.get("versions"), cls.__name__)
    tensors = _load_tensors(tensor_bytes, name)
    decoder = _Decoder(tensors["arrays"])
    params = _decode(decoder, config.get("params") or {}, name, "params")
    try:
        generator = cls(**params)
    except TypeError as exc:
        raise ValueError(
            f"{name}: the saved parameters do not match {cls.__name__} in this "
            f"version of sklearn_gen ({exc})."
        ) from None
    if not config.get("fitted"):
        return generator
    state = _decode(decoder, config.get("state"), name, "state")
    if not isinstance(state, dict) or not isinstance(config.get("net"), dict):
        raise ValueError(f"{name}: the saved state is not a mapping.")
    generator.__dict__.update(state)
    generator.device_ = _target_device(state.get("device_"), map_location, name)
    _rebuild_net(generator, config["net"], tensors.get("net") or {}, decoder, name)
    return generator


def _decode(decoder, value, name, what):
    """Decode one part of the configuration; malformed input is a ValueError."""
    try:
        return decoder.decode(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ValueError(
            f"{name}: the saved {what} are malformed or were altered ({exc!r})."
        ) from exc


def _rebuild_net(generator, saved, states, decoder, name):
    """The generator's own net, initialised, with the saved state loaded into it."""
    device = torch.device(generator.device_)
    devices = [device.index or 0] if device.type == "cuda" else []
    # Initialising draws random weights: keep the global RNG as it was.
    with torch.random.fork_rng(devices=devices):
        net = generator._make_net(
            generator.encoder_.layout_,
            generator._net_kwargs(int(generator.n_train_rows_)),
        )
        net.initialize()
    if type(net).__name__ != saved["class"]:
        raise ValueError(
            f"{name}: saved with a {saved['class']} net, but "
            f"{type(generator).__name__} builds a {type(net).__name__} from its "
            "parameters."
        )
    components = _net_components(net)
    for kind, names in components.items():
        for component in names:
            target = getattr(net, component + "_")
            state = states.get(kind, {}).get(component)
            if state is None:
                if hasattr(target, "state_dict") and target.state_dict():
                    raise ValueError(f"{name}: no saved state for net_.{component}_.")
                continue
            try:
                target.load_state_dict(state)
            except (RuntimeError, ValueError, KeyError) as exc:
                raise ValueError(
                    f"{name}: the saved state of net_.{component}_ does not fit the "
                    f"network built from the saved parameters ({exc})."
                ) from None
    net.__dict__.update(_decode(decoder, saved.get("attributes"), name, "net"))
    net.history_ = _decode(decoder, saved.get("history"), name, "history")
    generator.net_ = net
    if saved.get("shared_history"):
        generator.history_ = net.history_
