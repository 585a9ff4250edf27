"""FluxEmergenceClassifier: the paper's video CNN as a scikit-learn classifier (skorch)."""

import inspect
from numbers import Integral, Real

import numpy as np
import scipy.sparse
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet, NeuralNetBinaryClassifier
from skorch.callbacks import EpochScoring, ProgressBar
from skorch.utils import is_dataset, to_tensor

from .._schema import DIMS
from .._targets import check_binary_target, decode
from .._validation import _is_dataarray, _is_tensor, check_videos
from ._data import VideoDataset, autocast_context, check_video_shape
from ._training import (
    Batches,
    OptionalEarlyStopping,
    four_versions,
    logit_to_proba,
    split_index,
    valid_accuracy,
)
from .modules import VideoCNN3D, VideoVGG

MODULES = {"vgg": VideoVGG, "vgg3d": VideoCNN3D}


class FluxEmergenceClassifier(NeuralNetBinaryClassifier):
    """Video CNN classifying flux emergence vs non-emergence.

    A :class:`skorch.NeuralNetBinaryClassifier` with the defaults of
    Chatterjee et al.: SGD (learning rate 1e-4, momentum 0.9, Nesterov),
    batches of 10 videos, binary cross-entropy on a logit, up to 20 epochs,
    early stopping on the validation accuracy (patience 5) with the best
    epoch's weights restored at the end (kept in memory: parallel fits never
    share a file), fields clipped at ±1000 G and scaled to [-1, 1] by the
    network's first layer, and training augmentation by latitude and polarity
    flips.

    Videos ``X`` have shape ``(video, frame, lat, lon)`` in Gauss: a numpy
    array, a torch tensor, or a (lazy) :class:`xarray.DataArray` with dims
    ``("video", "frame", "lat", "lon")``, e.g. from
    :func:`skflux.io.open_videos`. A DataArray is read one video at a time by
    a :class:`torch.utils.data.DataLoader` (``num_workers`` processes), so the
    whole set is never loaded.

    Labels may be any two classes, as for any scikit-learn classifier: ``0``/``1``,
    bools, ``-1``/``1`` or ``"non-emergence"``/``"emergence"``. The positive
    class (emergence) is ``pos_label``; :meth:`predict` returns the original
    labels and the columns of :meth:`predict_proba` follow ``classes_``.

    Parameters
    ----------
    module : {"vgg", "vgg3d"}, torch.nn.Module class or instance, default="vgg"
        The network: "vgg" is the reference :class:`~skflux.nn.VideoVGG`,
        "vgg3d" the causal 3-D CNN :class:`~skflux.nn.VideoCNN3D`. A class
        receives ``module__*`` parameters, plus ``n_frames`` and ``in_size``
        from the data when its signature has them and they are not given, and
        ``field_limit`` when its signature has it. An instance is used as is
        (its ``field_limit``, if any, must equal the classifier's). The module
        takes videos in Gauss and returns logits of shape ``(batch,)``: the
        skflux modules clip and scale in their first layer.
    criterion : torch loss class, default=torch.nn.BCEWithLogitsLoss
        Any loss of (logits, labels); probabilities are the sigmoid of the
        logit whatever the loss. For crude labels that are often wrong,
        :class:`skflux.nn.GeneralizedCrossEntropyLoss` (``criterion__q``) is
        robust to label noise.
    optimizer : torch optimizer class, default=torch.optim.SGD
        For SGD (and its subclasses), momentum 0.9 and Nesterov are set through
        ``optimizer__momentum`` and ``optimizer__nesterov`` unless given; any
        other optimizer (e.g. ``torch.optim.Adam``) gets only ``lr`` and the
        ``optimizer__*`` parameters passed.
    lr : float, default=1e-4
        Learning rate.
    max_epochs : int, default=20
    batch_size : int, default=10
        Videos per batch (with ``augment``, each read batch gives 4 steps).
    field_limit : float, default=1000.0
        Clip level in Gauss, passed to the module: its first layer gives the
        rest of the network ``clip(X, ±field_limit) / field_limit``.
    augment : bool, default=True
        Train on each video in four versions per epoch: original, latitude
        flip, polarity flip, both (consecutive batches, as the authors'
        generator). Never applied to validation or prediction.
    threshold : float, default=0.5
        Probability of ``pos_label`` at or above which :meth:`predict` says
        ``pos_label``.
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
        DataLoader worker processes reading videos ahead. With 0, videos read
        from disk (a lazy DataArray) are read and decoded by a background
        thread, two batches ahead of the network.
    precision : {"float32", "bf16"}, default="float32"
        Arithmetic of the network's forward pass in training and prediction.
        "bf16": automatic mixed precision (:func:`torch.autocast` with
        bfloat16; the weights, the loss and the returned probabilities stay
        float32), worth it on GPUs with bfloat16 tensor cores (A100, H100) and
        recent CPUs with AMX/AVX512-BF16; elsewhere it is slower. Off by
        default: probabilities then differ from float32 by ~1e-2.
    video_shape : tuple of int or None, default=None
        If given, 2-D input ``(video, values)`` (e.g. flattened videos from a
        table or a previous pipeline step) is reshaped to ``(video,
        *video_shape)`` (one entry may be -1).
    pos_label : str, int, bool or None, default=None
        The positive class (emergence), one of the labels. None: ``"emergence"``
        when the labels are strings holding it, else the larger label
        (``classes_[1]``: ``1``, ``True``).
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
        The two labels seen in fit, sorted.
    pos_label_ : object
        The positive class (``pos_label`` resolved).
    n_frames_in_ : int
        Frames per video seen in fit.
    video_shape_in_ : tuple of int
        ``(frame, lat, lon)`` seen in fit: prediction refuses videos of another
        shape.
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
    >>> y = np.array(["non-emergence", "emergence"] * 4)
    >>> clf = FluxEmergenceClassifier(max_epochs=1, valid_months=None, random_state=0,
    ...                               module__widths=(4, 4, 8, 8), module__top=8,
    ...                               module__dense=8)
    >>> clf.fit(X, y).predict_proba(X).shape
    (8, 2)
    >>> clf.classes_.tolist(), clf.pos_label_
    (['emergence', 'non-emergence'], 'emergence')
    >>> set(clf.predict(X)) <= {"emergence", "non-emergence"}
    True
    """

    _parameter_constraints = {
        "module": [StrOptions(set(MODULES)), type, torch.nn.Module],
        "criterion": [callable],
        "optimizer": [callable],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1})],
        "field_limit": [Interval(Real, 0, None, closed="neither")],
        "augment": ["boolean"],
        "threshold": [Interval(Real, 0, 1, closed="both")],
        "valid_months": [StrOptions({"auto"}), "array-like", None],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "device": [str, torch.device],
        "verbose": ["verbose"],
        "num_workers": [Interval(Integral, 0, None, closed="left")],
        "precision": [StrOptions({"float32", "bf16"})],
        "video_shape": ["array-like", None],
        "pos_label": [str, Real, np.bool_, None],
        "train_split": [callable, None],
    }

    def __init__(self, module="vgg", *, criterion=torch.nn.BCEWithLogitsLoss,
                 optimizer=torch.optim.SGD, lr=1e-4, max_epochs=20, batch_size=10,
                 field_limit=1000.0, augment=True, threshold=0.5, valid_months="auto",
                 patience=5, random_state=None, device="cpu", verbose=0, num_workers=0,
                 video_shape=None, pos_label=None, train_split=None, precision="float32",
                 **kwargs):
        if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.SGD):
            # the paper's SGD; another optimizer (e.g. Adam) takes no momentum/nesterov
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
        self.precision = precision
        self.video_shape = video_shape
        self.pos_label = pos_label

    # ------------------------------------------------------------------ sklearn glue
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.non_deterministic = self.random_state is None
        return tags

    def _get_param_names(self):
        # skorch lists every attribute not ending in "_" as a parameter, its private
        # bookkeeping (_params_to_validate) included: keep those out of get_params
        return [k for k in super()._get_param_names() if not k.startswith("_")]

    @property
    def classes_(self):
        """The two labels seen in fit, sorted (scikit-learn's convention)."""
        try:
            return self.__dict__["classes_"]
        except KeyError:
            raise AttributeError(
                f"This {type(self).__name__} instance is not fitted yet: no classes_"
            ) from None

    @classes_.setter
    def classes_(self, value):
        self.__dict__["classes_"] = value

    def _pos_column(self):
        """Column of ``pos_label_`` in ``classes_`` (and in :meth:`predict_proba`)."""
        return int(list(self.classes_).index(self.pos_label_))

    @property
    def _default_callbacks(self):
        callbacks = [(name, cb) for name, cb in super()._default_callbacks if name != "valid_acc"]
        callbacks.insert(3, ("valid_acc", EpochScoring(
            valid_accuracy, name="valid_acc", lower_is_better=False)))
        if isinstance(self.patience, Integral) and not isinstance(self.patience, bool):
            callbacks.append(("early_stopping", OptionalEarlyStopping(
                monitor="valid_acc", lower_is_better=False, patience=self.patience,
                load_best=True,
            )))
        if isinstance(self.verbose, Integral) and self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar()))
        return callbacks

    def _check_params(self):
        params = self.get_params(deep=False)
        validate_parameter_constraints(
            self._parameter_constraints,
            {k: v for k, v in params.items() if k in self._parameter_constraints},
            caller_name=type(self).__name__,
        )

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
        if self.video_shape is not None and not _is_dataarray(X) and X.ndim == 2:
            X = self._rows_to_videos(X, reset)
        X = check_videos(X, name="X")
        if not reset:
            check_video_shape(X, self.video_shape_in_, model=type(self).__name__)
        return X

    def _rows_to_videos(self, X, reset):
        """2-D ``(video, values)`` input reshaped to ``(video, *video_shape)``."""
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
            return X.reshape(X.shape[0], *self.video_shape)
        except (RuntimeError, ValueError) as exc:
            raise ValueError(
                f"cannot reshape X of shape {tuple(X.shape)} to videos of shape "
                f"{tuple(self.video_shape)}: {exc}"
            ) from exc

    # ------------------------------------------------------------------ skorch hooks
    def _module_class_or_instance(self):
        # "vgg"/"vgg3d", a class or an instance: checked by _parameter_constraints
        return MODULES[self.module] if isinstance(self.module, str) else self.module

    def _module_kwargs(self, module_class):
        """``module__*`` parameters plus field_limit and the video shape seen in fit."""
        kwargs = self.get_params_for("module")
        params = inspect.signature(module_class).parameters
        if "field_limit" in params:
            given = kwargs.get("field_limit", self.field_limit)
            if float(given) != float(self.field_limit):
                raise ValueError(
                    f"module__field_limit={given!r} disagrees with field_limit="
                    f"{self.field_limit!r}: set field_limit only"
                )
            kwargs["field_limit"] = self.field_limit
        shape = getattr(self, "video_shape_in_", None)
        if shape is not None:
            if "n_frames" in params:
                kwargs.setdefault("n_frames", shape[0])
            if "in_size" in params:
                kwargs.setdefault("in_size", tuple(shape[1:]))
        return kwargs

    def initialize(self):
        """Check the parameters (``_parameter_constraints``), then build the net.

        Building checks what only the network can (e.g. the patch size for
        its poolings) without training, so a command line can check every
        option before the first model trains.
        """
        self._check_params()
        return super().initialize()

    def initialize_module(self):
        """Build ``module_``: its first layer scales at ``field_limit``, its shape is X's."""
        module = self._module_class_or_instance()
        if isinstance(module, type):
            kwargs = self._module_kwargs(module)
        else:
            kwargs = self.get_params_for("module")
            limit = getattr(module, "field_limit", None)
            if not kwargs and limit is not None and float(limit) != float(self.field_limit):
                raise ValueError(
                    f"the module instance clips at field_limit={limit!r} G but the "
                    f"classifier has field_limit={self.field_limit!r}: build the module "
                    f"with field_limit={self.field_limit!r} or set field_limit={limit!r}"
                )
        self.module_ = self.initialized_instance(module, kwargs)
        if not hasattr(self, "n_frames_in_") and hasattr(self.module_, "n_frames"):
            self.n_frames_in_ = int(self.module_.n_frames)
        return self

    def _get_predict_nonlinearity(self):
        # every skflux module returns one logit per video, whatever the criterion
        # (skorch infers the sigmoid from BCEWithLogitsLoss only)
        if isinstance(self.predict_nonlinearity, str) and self.predict_nonlinearity == "auto":
            return logit_to_proba
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
        return Batches(
            dataset, batch_size=self.batch_size, shuffle=training,
            augment=bool(training and self.augment), num_workers=self.num_workers,
            seed=seed, device=self.device,
        )

    def infer(self, x, **fit_params):
        """Logits of a batch of videos in Gauss (the module's first layer scales them).

        Under :func:`torch.autocast` (bfloat16) when ``precision="bf16"``; the
        logits are returned in float32 either way.
        """
        x = to_tensor(x, device=self.device).float()
        with autocast_context(self.precision, self.device):
            out = super().infer(x, **fit_params)
        return out.float()

    # ------------------------------------------------------------------ public API
    def fit(self, X, y, groups=None, **fit_params):
        """Train the network on videos ``X`` with labels ``y``.

        Parameters
        ----------
        X : ndarray, torch.Tensor or xarray.DataArray, shape (video, frame, lat, lon)
            Videos in Gauss (a DataArray is read lazily, batch by batch).
        y : array-like or xarray.DataArray of shape (video,)
            Labels: any two classes (``0``/``1``, bools, ``-1``/``1``,
            ``"non-emergence"``/``"emergence"``...); see ``pos_label``.
        groups : array-like of shape (video,), optional
            Month (1-12) or datetime of each video, for the validation split
            (default: X's ``month``/``time`` coordinates).
        **fit_params
            Passed to the module's forward (``sample_weight`` is refused).

        Returns
        -------
        self : FluxEmergenceClassifier

        Raises
        ------
        ValueError
            On invalid parameters, videos of the wrong shape, NaN/inf (naming
            the video by position and ``bmr_id``), labels that are not two
            classes or of the wrong length, an empty dataset, or months missing
            for the requested validation split.
        TypeError
            On non-numeric input or a ``sample_weight``.
        """
        self._check_params()
        _refuse_sample_weight(fit_params)
        X = self._check_X(X, reset=True)
        target = check_binary_target(y, pos_label=self.pos_label, n_samples=len(X), X=X)
        self.classes_, self.pos_label_ = target.classes, target.pos_label
        self.video_shape_in_ = tuple(int(s) for s in X.shape[1:])
        self.n_frames_in_ = self.video_shape_in_[0]
        self.n_features_in_ = int(np.prod(self.video_shape_in_))
        train_idx, valid_idx, held = split_index(X, groups, self.valid_months)
        self.train_index_, self.valid_index_, self.valid_months_ = train_idx, valid_idx, held
        rng = check_random_state(self.random_state)
        self.seed_ = int(rng.randint(np.iinfo(np.int32).max))
        devices = []
        if str(self.device).startswith("cuda") and torch.cuda.is_available():
            devices = [torch.device(self.device).index or 0]
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.seed_)
            NeuralNet.fit(self, X, target.encoded.astype(np.float32), **fit_params)
        self.module_.eval()
        return self

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Continue training without re-initializing (see :meth:`fit`).

        Parameters
        ----------
        X, y : see :meth:`fit`
            After the first fit, ``y`` may hold one class only, among ``classes_``.
        classes : ignored
            The classes are those of the first fit.
        **fit_params : passed to the module's forward

        Returns
        -------
        self : FluxEmergenceClassifier
        """
        if not getattr(self, "initialized_", False) or not hasattr(self, "video_shape_in_"):
            return self.fit(X, y, **fit_params)
        fit_params.pop("groups", None)
        if "_routing_method" not in fit_params:  # a direct call (fit passes encoded labels)
            _refuse_sample_weight(fit_params)
            X = self._check_X(X, reset=False)
            y = check_binary_target(y, pos_label=self.pos_label_, n_samples=len(X), X=X,
                                    classes=self.classes_).encoded.astype(np.float32)
        return super().partial_fit(X, y, classes=classes, **fit_params)

    def predict_proba(self, X):
        """Probabilities of the two classes, columns in the order of ``classes_``.

        Parameters
        ----------
        X : ndarray, torch.Tensor or xarray.DataArray, shape (video, frame, lat, lon)
            Videos of the shape seen in fit (``video_shape_in_``).

        Returns
        -------
        proba : ndarray of shape (video, 2)
            ``proba[:, list(classes_).index(pos_label_)]`` is P(emergence).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before fit.
        ValueError
            On videos of another ``(frame, lat, lon)`` than in fit (naming both).
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        proba = super().predict_proba(X)  # columns: negative, positive class
        return proba if self._pos_column() == 1 else proba[:, ::-1].copy()

    def predict(self, X):
        """Labels: ``pos_label_`` where P(emergence) >= ``threshold``, else the other class.

        The same rule as :class:`skflux.MonthBlockEnsemble` and
        :class:`skflux.IterativeRelabeler` use.

        Parameters
        ----------
        X : ndarray, torch.Tensor or xarray.DataArray, shape (video, frame, lat, lon)

        Returns
        -------
        labels : ndarray of shape (video,)
            Values of ``classes_``.
        """
        p = self.predict_proba(X)[:, self._pos_column()]
        return decode((p >= self.threshold).astype(int), self.classes_, self.pos_label_)

    def decision_function(self, X):
        """Logit of P(``classes_[1]``) for each video (scikit-learn's binary convention).

        Parameters
        ----------
        X : ndarray, torch.Tensor or xarray.DataArray, shape (video, frame, lat, lon)

        Returns
        -------
        logits : ndarray of shape (video,)
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        logits = self.forward(X, training=False).reshape(-1).double().cpu().numpy()
        return logits if self._pos_column() == 1 else -logits

    # ------------------------------------------------------------------ persistence
    def save(self, path, *, overwrite=False):
        """Write the fitted classifier to a model directory (no pickle).

        The directory holds ``config.json`` (format ``"skflux-classifier"``,
        version 1: the constructor parameters, ``classes``, ``pos_label``,
        ``video_shape`` and the fit's split and seed) and ``weights.pt`` (the
        network's state dict, tensors only) plus ``history.json``.

        Parameters
        ----------
        path : str or Path
            The directory (created if missing).
        overwrite : bool, default=False
            Replace an existing model in ``path``; without it an existing
            ``config.json`` is refused.

        Returns
        -------
        path : Path

        Raises
        ------
        TypeError
            If a parameter cannot be stored as JSON (a custom module or loss
            class, callbacks, ...): the message names it.
        FileExistsError
            If ``path`` already holds a model and ``overwrite`` is False.
        """
        from ._persist import save_classifier

        return save_classifier(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path, *, device=None):
        """Rebuild a fitted classifier from a directory written by :meth:`save`.

        Weights are read with ``torch.load(..., weights_only=True)``: a file
        carrying a pickle payload is refused and the payload never runs; the
        config may hold only the parameters :meth:`save` writes.

        Parameters
        ----------
        path : str or Path
        device : str or torch.device, optional
            Where to put the network; default: the saved ``device`` when it
            is available here, else "cpu" (with a warning).

        Returns
        -------
        clf : FluxEmergenceClassifier
            Fitted, its network in evaluation mode.

        Raises
        ------
        skflux._model_dir.ModelDirectoryError
            (a ValueError) for a missing, foreign, corrupt or newer directory,
            a config with parameters outside the saved set, or weights that do
            not fit the network; the message names the file.
        """
        from ._persist import load_classifier

        return load_classifier(cls, path, device=device)


def _refuse_sample_weight(fit_params):
    if "sample_weight" in fit_params:
        raise TypeError(
            "FluxEmergenceClassifier.fit does not support sample_weight: every video weighs "
            "the same in the loss. To weigh the classes, pass criterion__pos_weight="
            "torch.tensor(w) (BCEWithLogitsLoss) or resample the videos"
        )


__all__ = ["FluxEmergenceClassifier", "MODULES", "four_versions"]
