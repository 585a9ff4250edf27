"""Neural networks: torch modules, the skorch classifier and video data feeding.

``FluxEmergenceClassifier`` wraps a video CNN (:class:`VideoVGG`, the
paper's reference, or :class:`VideoCNN3D`, a causal 3-D CNN) as a
scikit-learn classifier. The modules take videos in Gauss: their first layer
(:class:`FieldScaling`) clips at ``±field_limit`` and scales. To run fitted
networks directly (e.g. many ensemble members over one batch), read raw
batches with :func:`iter_video_batches` and call ``clf.module_`` on them (in
evaluation mode after fit): it returns one logit per video. For crude labels
that are often wrong, :class:`GeneralizedCrossEntropyLoss` is a noise-robust
``criterion``.
"""

from ._classifier import FluxEmergenceClassifier, four_versions
from ._data import VideoDataset, iter_video_batches
from .losses import GeneralizedCrossEntropyLoss
from .modules import (
    FieldScaling,
    VideoCNN3D,
    VideoVGG,
    count_flops,
    count_parameters,
    scale_field,
)

__all__ = [
    "FieldScaling", "FluxEmergenceClassifier", "GeneralizedCrossEntropyLoss", "VideoCNN3D",
    "VideoDataset", "VideoVGG", "count_flops", "count_parameters", "four_versions",
    "iter_video_batches", "scale_field",
]
