"""Neural networks: torch modules, the skorch classifier and video data feeding.

``FluxEmergenceClassifier`` wraps a video CNN (:class:`VideoVGG`, the
paper's reference, or :class:`VideoCNN3D`, a causal 3-D CNN) as a
scikit-learn classifier. To run fitted networks directly (e.g. many ensemble
members over one batch), read raw batches with :func:`iter_video_batches`,
scale them with ``scale_field(xb, clf.field_limit)`` and call
``clf.module_`` (in evaluation mode after fit). For crude labels that are often
wrong, :class:`GeneralizedCrossEntropyLoss` is a noise-robust ``criterion``.
"""

from ._classifier import FluxEmergenceClassifier, four_versions
from ._data import VideoDataset, iter_video_batches, scale_field
from .losses import GeneralizedCrossEntropyLoss
from .modules import VideoCNN3D, VideoVGG, count_flops, count_parameters, mask_after

__all__ = [
    "FluxEmergenceClassifier", "GeneralizedCrossEntropyLoss", "VideoCNN3D", "VideoDataset",
    "VideoVGG", "count_flops", "count_parameters", "four_versions", "iter_video_batches",
    "mask_after", "scale_field",
]
