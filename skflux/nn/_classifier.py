"""FluxEmergenceClassifier: the paper's video CNN as a scikit-learn classifier (skorch)."""

import inspect

import numpy as np
import scipy.sparse
import torch
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNetBinaryClassifier
from skorch.callbacks import EarlyStopping, ProgressBar
from skorch.utils import is_dataset, to_tensor

from .._schema import DIMS
from .._validation import _is_dataarray, _is_tensor, check_videos, months_of
from ._data import VideoDataset, batch_loader, scale_field
from .modules import VideoCNN3D, VideoVGG

MODULES = {"vgg": VideoVGG, "vgg3d": VideoCNN3D}


class _EarlyStopping(EarlyStopping):
    """EarlyStopping that stands aside when there is no validation set."""

    def on_epoch_end(self, net, **kwargs):
        if self.monitor not in net.history[-1]:
            return
        super().on_epoch_end(net, **kwargs)


def four_versions(xb):
    """The four versions of a batch of raw videos seen in training.

    The original, the polarity flip, the latitude flip and both (the order of
    the authors' data generator).

    Parameters
    ----------
    xb : torch.Tensor, shape (batch, frame, lat, lon)

    Returns
    -------
    versions : list of 4 torch.Tensor

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[[[1.0], [2.0]]]])  # one video, 1 frame, 2 lat, 1 lon
    >>> [v.flatten().tolist() for v in four_versions(x)]
    [[1.0, 2.0], [-1.0, -2.0], [2.0, 1.0], [-2.0, -1.0]]
    """
    flipped = xb.flip(-2)
    return [xb, -xb, flipped, -flipped]


class _Batches:
    """Re-iterable batches of ``(raw videos, labels)`` for one fit or prediction.

    One DataLoader (with persistent workers) serves every epoch and reads
    each batch in one go; with ``augment``, each batch read is moved to the
    device once and expanded there into its four versions, so every epoch
    sees every training video four times while reading it once.
    """

    def __init__(self, dataset, *, batch_size, shuffle, augment, num_workers, seed, device):
        generator = None
        if shuffle:
            generator = torch.Generator()
            generator.manual_seed(int(seed))
        self.augment = augment
        self.device = device
        self.loader = batch_loader(
            dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
            num_workers=num_workers,
            # pinning costs a copy: worth it only when workers pin while the GPU computes
            pin_memory=num_workers > 0 and str(device).startswith("cuda"),
        )

    def __len__(self):
        return len(self.loader) * (4 if self.augment else 1)

    def __iter__(self):
        for xb, yb in self.loader:
            if self.augment:
                xb = xb.to(self.device, non_blocking=True)
                for version in four_versions(xb):
                    yield version, yb
            else:
                yield xb, yb


def _logit_to_proba(logits):
    """Columns P(non-emergence), P(emergence) from logits of shape (batch,)."""
    p = torch.sigmoid(logits.reshape(-1))
    return torch.stack((1 - p, p), dim=1)


class FluxEmergenceClassifier(NeuralNetBinaryClassifier):
    """Video CNN classifying flux emergence (1) vs non-emergence (0).

    A :class:`skorch.NeuralNetBinaryClassifier` with the defaults of
    Chatterjee et al.: SGD (learning rate 1e-4, momentum 0.9, Nesterov),
    batches of 10 videos, binary cross-entropy on a logit, up to 20 epochs,
    early stopping on the validation accuracy (patience 5) with the best
    epoch's weights restored at the end (kept in memory: parallel fits never
    share a file), fields clipped at ±1000 G and scaled to [-1, 1], and
    training augmentation by latitude and polarity flips.

    Videos ``X`` have shape ``(video, frame, lat, lon)`` in Gauss: a numpy
    array, a torch tensor, or a (lazy) :class:`xarray.DataArray` with dims
    ``("video", "frame", "lat", "lon")``, e.g. from
    :func:`skflux.io.open_videos`. A DataArray is read one video at a time by
    a :class:`torch.utils.data.DataLoader` (``num_workers`` processes), so the
    whole set is never loaded.

    Parameters
    ----------
    module : {"vgg", "vgg3d"}, torch.nn.Module class or instance, default="vgg"
        The network: "vgg" is the reference :class:`~skflux.nn.VideoVGG`,
        "vgg3d" the causal 3-D CNN :class:`~skflux.nn.VideoCNN3D`. A class
        receives ``module__*`` parameters, plus ``n_frames`` and ``in_size``
        from the data when its signature has them and they are not given. An
        instance is used as is. The module takes scaled videos and returns
        logits of shape ``(batch,)``.
    criterion : torch loss class, default=torch.nn.BCEWithLogitsLoss
        Any loss of (logits, labels); probabilities are the sigmoid of the
        logit whatever the loss. For crude labels that are often wrong,
        :class:`skflux.nn.GeneralizedCrossEntropyLoss` (``criterion__q``) is
        robust to label noise.
    optimizer : torch optimizer class, default=torch.optim.SGD
        Momentum 0.9 and Nesterov are set through ``optimizer__momentum`` and
        ``optimizer__nesterov``.
    lr : float, default=1e-4
        Learning rate.
    max_epochs : int, default=20
    batch_size : int, default=10
        Videos per batch (with ``augment``, each read batch gives 4 steps).
    field_limit : float, default=1000.0
        Clip level in Gauss; the network sees ``clip(X, ±field_limit) /
        field_limit``.
    augment : bool, default=True
        Train on each video in four versions per epoch: original, latitude
        flip, polarity flip, both (consecutive batches, as the authors'
        generator). Never applied to validation or prediction.
    threshold : float, default=0.5
        Probability at or above which :meth:`predict` says emergence.
    valid_months : "auto", None or sequence of int, default="auto"
        Calendar months held out (whole) for the internal validation that
        drives early stopping; months come from ``groups`` or from X's
        ``month``/``time`` coordinates (never a random split). "auto" holds out
        the last fifth (at least one) of the distinct months present, or
        nothing when X carries no months; None disables validation (then all
        ``max_epochs`` are run).
    patience : int or None, default=5
        Epochs without a better validation accuracy before stopping; None
        disables early stopping.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, dropout and data order, so fits are
        reproducible and different seeds give different ensemble members.
    device : str, default="cpu"
        Torch device, e.g. "cuda".
    verbose : int, default=0
        1 prints a line per epoch, 2 adds a progress bar per epoch.
    num_workers : int, default=0
        DataLoader worker processes reading videos ahead.
    video_shape : tuple of int or None, default=None
        If given, 2-D input ``(video, values)`` is reshaped to
        ``(video, *video_shape)`` (one entry may be -1).
    train_split : callable or None, default=None
        Leave None to use the month-aware split of ``valid_months``; a skorch
        splitter replaces it.
    **kwargs
        Any other :class:`skorch.NeuralNet` parameter, e.g. ``module__dropout``,
        ``optimizer__momentum``, ``iterator_train__*`` or ``callbacks``.

    Attributes
    ----------
    module_ : torch.nn.Module
        The fitted network (in evaluation mode after fit).
    classes_ : ndarray of shape (2,)
        ``[0, 1]``.
    n_frames_in_ : int
        Frames per video seen in fit.
    video_shape_in_ : tuple of int
        ``(frame, lat, lon)`` seen in fit.
    n_features_in_ : int
        Values per video, ``frame * lat * lon``.
    valid_months_ : tuple of int
        Months held out for validation (empty if none).
    valid_index_ : ndarray of int
        Indices of the videos used for validation.
    train_index_ : ndarray of int
        Indices of the videos used for training.
    seed_ : int
        Seed drawn from ``random_state`` for weights, data order and dropout.
    optimizer_ : torch.optim.Optimizer
        The optimizer (SGD with Nesterov momentum by default).
    history_ : skorch.History
        Per-epoch losses and accuracies (``clf.history``).

    See Also
    --------
    skflux.nn.VideoVGG, skflux.nn.VideoCNN3D, skflux.nn.iter_video_batches

    Examples
    --------
    >>> import numpy as np
    >>> from skflux import FluxEmergenceClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(0, 300, size=(8, 16, 16, 16)).astype("float32")
    >>> y = np.array([0, 1] * 4)
    >>> clf = FluxEmergenceClassifier(max_epochs=1, valid_months=None, random_state=0,
    ...                               module__widths=(4, 4, 8, 8), module__top=8,
    ...                               module__dense=8)
    >>> clf.fit(X, y).predict_proba(X).shape
    (8, 2)
    """

    def __init__(self, module="vgg", *, criterion=torch.nn.BCEWithLogitsLoss,
                 optimizer=torch.optim.SGD, lr=1e-4, max_epochs=20, batch_size=10,
                 field_limit=1000.0, augment=True, threshold=0.5, valid_months="auto",
                 patience=5, random_state=None, device="cpu", verbose=0, num_workers=0,
                 video_shape=None, train_split=None, **kwargs):
        kwargs.setdefault("optimizer__momentum", 0.9)
        kwargs.setdefault("optimizer__nesterov", True)
        super().__init__(
            module, criterion=criterion, optimizer=optimizer, lr=lr, max_epochs=max_epochs,
            batch_size=batch_size, threshold=threshold, train_split=train_split,
            device=device, verbose=verbose, **kwargs,
        )
        self.field_limit = field_limit
        self.augment = augment
        self.valid_months = valid_months
        self.patience = patience
        self.random_state = random_state
        self.num_workers = num_workers
        self.video_shape = video_shape

    # ------------------------------------------------------------------ sklearn glue
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.non_deterministic = self.random_state is None
        return tags

    @property
    def _default_callbacks(self):
        callbacks = list(super()._default_callbacks)
        if isinstance(self.patience, (int, np.integer)) and not isinstance(self.patience, bool):
            callbacks.append(("early_stopping", _EarlyStopping(
                monitor="valid_acc", lower_is_better=False, patience=self.patience,
                load_best=True,
            )))
        if isinstance(self.verbose, (int, np.integer)) and self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar()))
        return callbacks

    # ------------------------------------------------------------------ input checks
    def _check_X(self, X, *, reset):
        if is_dataset(X):
            return X
        if scipy.sparse.issparse(X):
            raise TypeError("sparse input is not supported: videos must be dense arrays")
        if not (_is_dataarray(X) or _is_tensor(X)) and (
                hasattr(X, "__len__") or hasattr(X, "__array__")):
            X = np.asarray(X)
        if getattr(X, "ndim", None) == 1:
            raise ValueError(
                f"X must be 4-D {DIMS}; got a 1-D array of shape {tuple(X.shape)}. Reshape "
                "your data: a single video needs a leading axis, X[None]"
            )
        if np.iscomplexobj(X) if isinstance(X, np.ndarray) else (_is_tensor(X) and X.is_complex()):
            raise ValueError("Complex data not supported: videos are real fields in Gauss")
        if self.video_shape is not None and not _is_dataarray(X):
            if X.ndim == 2:
                if X.shape[1] == 0:
                    raise ValueError(
                        f"0 feature(s) (shape={tuple(X.shape)}) while a minimum of 1 is required."
                    )
                if not reset and X.shape[1] != self.n_features_in_:
                    raise ValueError(
                        f"X has {X.shape[1]} features, but {type(self).__name__} is "
                        f"expecting {self.n_features_in_} features as input"
                    )
                try:
                    X = X.reshape(X.shape[0], *self.video_shape)
                except (RuntimeError, ValueError) as exc:
                    raise ValueError(
                        f"cannot reshape X of shape {tuple(X.shape)} to videos of shape "
                        f"{tuple(self.video_shape)}: {exc}"
                    ) from exc
        X = check_videos(X, name="X")
        if not reset:
            if X.shape[1] != self.n_frames_in_:
                raise ValueError(
                    f"X has {X.shape[1]} frames per video, but {type(self).__name__} was "
                    f"fitted on videos of {self.n_frames_in_} frames"
                )
        return X

    @staticmethod
    def _check_y(y, n):
        if y is None:
            raise ValueError(
                "FluxEmergenceClassifier requires y to be passed, but the target y is None: "
                "give one label per video, 1 (emergence) or 0 (non-emergence); for a "
                "DataArray pass e.g. X['label']"
            )
        if _is_dataarray(y):
            y = y.values
        elif _is_tensor(y):
            y = y.detach().cpu().numpy()
        y = column_or_1d(np.asarray(y), warn=True)
        if y.shape[0] != n:
            raise ValueError(f"y has {y.shape[0]} labels for {n} videos")
        check_classification_targets(y)
        values = np.unique(y)
        if values.size > 2:
            raise ValueError(
                "Only binary classification is supported: y must hold 1 (emergence) and 0 "
                f"(non-emergence); got {values.size} classes {values[:10].tolist()}"
            )
        if not np.issubdtype(y.dtype, np.number) and y.dtype != bool or not np.isin(
                values.astype(object), [0, 1, True, False]).all():
            raise ValueError(
                "y must hold binary labels 0 (non-emergence) and 1 (emergence); "
                f"got values {values[:10].tolist()}"
            )
        if values.size < 2:
            raise ValueError(
                f"y holds only one class ({values.tolist()}); a classifier needs both "
                "emergence (1) and non-emergence (0) videos"
            )
        return y.astype(np.float32)

    def _split_index(self, X, groups):
        n = len(X)
        vm = self.valid_months
        if vm is None:
            return np.arange(n), np.array([], dtype=int), ()
        if isinstance(vm, str):
            if vm != "auto":
                raise ValueError(f"valid_months must be 'auto', None or months; got {vm!r}")
            try:
                months = months_of(X, groups, n=n)
            except ValueError:
                return np.arange(n), np.array([], dtype=int), ()
            distinct = np.unique(months)
            if distinct.size < 2:
                return np.arange(n), np.array([], dtype=int), ()
            held = distinct[-max(1, round(distinct.size / 5)):]
        else:
            held = np.unique(np.asarray(vm, dtype=int).ravel())
            bad = held[(held < 1) | (held > 12)]
            if bad.size:
                raise ValueError(f"valid_months must be calendar months 1-12; got {bad.tolist()}")
            months = months_of(X, groups, n=n)
        is_valid = np.isin(months, held)
        if not is_valid.any():
            raise ValueError(
                f"no video falls in the validation months {held.tolist()}; months present: "
                f"{np.unique(months).tolist()}"
            )
        if is_valid.all():
            raise ValueError(
                f"every video falls in the validation months {held.tolist()}: no training "
                "videos left; choose other valid_months or valid_months=None"
            )
        return np.flatnonzero(~is_valid), np.flatnonzero(is_valid), tuple(int(m) for m in held)

    # ------------------------------------------------------------------ skorch hooks
    def initialize_module(self):
        """Build ``module_`` from ``module`` and the video shape seen in fit."""
        kwargs = self.get_params_for("module")
        module = self.module
        if isinstance(module, str):
            if module not in MODULES:
                raise ValueError(
                    f"module must be one of {sorted(MODULES)}, a torch.nn.Module class or "
                    f"instance; got {module!r}"
                )
            module = MODULES[module]
        shape = getattr(self, "video_shape_in_", None)
        if isinstance(module, type) and shape is not None:
            params = inspect.signature(module).parameters
            if "n_frames" in params:
                kwargs.setdefault("n_frames", shape[0])
            if "in_size" in params:
                kwargs.setdefault("in_size", tuple(shape[1:]))
        elif not isinstance(module, (type, torch.nn.Module)):
            raise TypeError(
                f"module must be 'vgg', 'vgg3d', a torch.nn.Module class or instance; got "
                f"{type(module).__name__}"
            )
        self.module_ = self.initialized_instance(module, kwargs)
        if not hasattr(self, "n_frames_in_") and hasattr(self.module_, "n_frames"):
            self.n_frames_in_ = int(self.module_.n_frames)
        return self

    def _get_predict_nonlinearity(self):
        # every skflux module returns one logit per video, whatever the criterion
        # (skorch infers the sigmoid from BCEWithLogitsLoss only)
        if isinstance(self.predict_nonlinearity, str) and self.predict_nonlinearity == "auto":
            return _logit_to_proba
        return super()._get_predict_nonlinearity()

    def get_dataset(self, X, y=None):
        """A :class:`~skflux.nn.VideoDataset` over raw videos (and labels)."""
        if is_dataset(X):
            return X
        # in-memory input was checked for NaN/inf as a whole by _check_X
        return VideoDataset(X, y, check_finite=_is_dataarray(X))

    def get_split_datasets(self, X, y=None, **fit_params):
        """Training and validation datasets: whole months held out (see ``valid_months``)."""
        if self.train_split is not None:
            return super().get_split_datasets(X, y, **fit_params)
        dataset = self.get_dataset(X, y)
        train_idx = getattr(self, "train_index_", None)
        valid_idx = getattr(self, "valid_index_", None)
        if train_idx is None or len(train_idx) + len(valid_idx) != len(dataset):
            return dataset, None
        if len(valid_idx) == 0:
            return dataset, None
        return (torch.utils.data.Subset(dataset, train_idx.tolist()),
                torch.utils.data.Subset(dataset, valid_idx.tolist()))

    def get_iterator(self, dataset, training=False):
        """Batches of raw videos; training batches are shuffled and augmented."""
        seed = getattr(self, "seed_", None)
        if seed is None:
            seed = int(torch.randint(np.iinfo(np.int32).max, ()))
        return _Batches(
            dataset, batch_size=self.batch_size, shuffle=training,
            augment=bool(training and self.augment), num_workers=self.num_workers,
            seed=seed, device=self.device,
        )

    def infer(self, x, **fit_params):
        """Logits of a batch of raw videos: moved to the device, clipped, scaled."""
        x = to_tensor(x, device=self.device)
        x = scale_field(x.float(), self.field_limit)
        return super().infer(x, **fit_params)

    # ------------------------------------------------------------------ public API
    def fit(self, X, y, groups=None, **fit_params):
        """Train the network on videos ``X`` with labels ``y``.

        Parameters
        ----------
        X : ndarray, torch.Tensor or xarray.DataArray, shape (video, frame, lat, lon)
            Videos in Gauss (a DataArray is read lazily, batch by batch).
        y : array-like or xarray.DataArray of shape (video,)
            Labels, 1 (emergence) or 0 (non-emergence).
        groups : array-like of shape (video,), optional
            Month (1-12) or datetime of each video, for the validation split
            (default: X's ``month``/``time`` coordinates).
        **fit_params
            Passed to the module's forward.

        Returns
        -------
        self : FluxEmergenceClassifier

        Raises
        ------
        ValueError
            On videos of the wrong shape, NaN/inf (naming the video), labels
            that are not binary or of the wrong length, an empty dataset, or
            months missing for the requested validation split.
        TypeError
            On non-numeric input.
        """
        X = self._check_X(X, reset=True)
        y = self._check_y(y, len(X))
        if self.field_limit is None or not float(self.field_limit) > 0:
            raise ValueError(f"field_limit must be a positive number; got {self.field_limit!r}")
        self.video_shape_in_ = tuple(int(s) for s in X.shape[1:])
        self.n_frames_in_ = self.video_shape_in_[0]
        self.n_features_in_ = int(np.prod(self.video_shape_in_))
        train_idx, valid_idx, held = self._split_index(X, groups)
        self.train_index_, self.valid_index_, self.valid_months_ = train_idx, valid_idx, held
        rng = check_random_state(self.random_state)
        self.seed_ = int(rng.randint(np.iinfo(np.int32).max))
        devices = []
        if str(self.device).startswith("cuda") and torch.cuda.is_available():
            devices = [torch.device(self.device).index or 0]
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.seed_)
            super().fit(X, y, **fit_params)
        self.module_.eval()
        return self

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Continue training without re-initializing (see :meth:`fit`).

        Parameters
        ----------
        X, y : see :meth:`fit`
        classes : ignored
        **fit_params : passed to the module's forward

        Returns
        -------
        self : FluxEmergenceClassifier
        """
        if not getattr(self, "initialized_", False) or not hasattr(self, "video_shape_in_"):
            return self.fit(X, y, **fit_params)
        fit_params.pop("groups", None)
        if "_routing_method" not in fit_params:  # direct call: validate here
            X = self._check_X(X, reset=False)
            y = self._check_y(y, len(X))
        return super().partial_fit(X, y, classes=classes, **fit_params)

    def predict_proba(self, X):
        """Probabilities of non-emergence and emergence.

        Parameters
        ----------
        X : ndarray, torch.Tensor or xarray.DataArray, shape (video, frame, lat, lon)

        Returns
        -------
        proba : ndarray of shape (video, 2)
            Columns: P(non-emergence), P(emergence).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before fit.
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        return super().predict_proba(X)

    def predict(self, X):
        """Labels: 1 (emergence) where P(emergence) >= ``threshold``, else 0.

        The same rule as :class:`skflux.MonthBlockEnsemble` and
        :class:`skflux.IterativeRelabeler` use.

        Parameters
        ----------
        X : ndarray, torch.Tensor or xarray.DataArray, shape (video, frame, lat, lon)

        Returns
        -------
        labels : ndarray of int, shape (video,)
        """
        proba = self.predict_proba(X)
        return self.classes_[(proba[:, 1] >= self.threshold).astype(int)]

    def decision_function(self, X):
        """Logit of P(emergence) for each video.

        Parameters
        ----------
        X : ndarray, torch.Tensor or xarray.DataArray, shape (video, frame, lat, lon)

        Returns
        -------
        logits : ndarray of shape (video,)
        """
        p = np.clip(self.predict_proba(X)[:, 1].astype(np.float64), 1e-12, 1 - 1e-12)
        return np.log(p) - np.log1p(-p)


__all__ = ["FluxEmergenceClassifier", "MODULES", "four_versions"]
