r"""Probability curves under frame masking: the exact, fast engine behind the locator (private).

Masking convention
------------------
For a video ``x`` of ``T`` frames, a lower bound ``L`` (``0 <= L < T``) and a
cut-off frame ``t`` (``0 <= t < T``), the masked video is

.. math:: v_t[f] = x[\\mathrm{clip}(f, L, \\max(t, L))], \\qquad f = 0 \\dots T-1,

i.e. every frame after ``t`` is replaced by frame ``t`` and every frame before
``L`` by frame ``L``. Consequences used by the fast path, all exact:

* every cut-off ``t <= L`` gives the same video (frame ``L`` repeated);
* ``t = T - 1`` gives the video itself, except that frames before ``L`` are
  frame ``L`` (the classifier's decision on the full video ignores them too);
* if frame ``t`` equals frame ``t - 1`` (``t > L``) then ``v_t == v_{t-1}``: runs
  of identical frames (edge padding after the last observation, zero padding,
  repeated frames) give one distinct masked video per run.

The networks take the field in Gauss and scale it in their first layer, a
frame-by-frame operation that commutes with masking; this module never scales.

First-convolution prefix sums
-----------------------------
A network whose first convolution has the frames as input channels
(:class:`skflux.nn.VideoVGG`: ``forward(x) ==
forward_after_conv1(conv1(scale(x)))``, weights ``W_f`` for input frame ``f``)
is linear in the scaled frames ``x``, and consecutive cut-offs differ only after ``t``:

.. math:: \mathrm{conv1}(v_t) = b + \sum_{f=L}^{t} G_f * u_f, \qquad
          G_L = \sum_{g} W_g,\; G_f = \sum_{g \ge f} W_g,\;
          u_L = x_L,\; u_f = x_f - x_{f-1}\ (f > L),

with ``*`` a single-channel convolution. So the first layer for *every*
cut-off costs one single-channel convolution per frame (an ``unfold`` and a
batched matrix product) and a cumulative sum over frames, instead of one full
``T``-channel convolution per cut-off. The rest of the network then runs on the
batch of cut-offs (in channels-last memory layout, which the CPU convolutions
run faster).

Causal 3-D networks
-------------------
For :class:`skflux.nn.VideoCNN3D`, whose activations at time step ``j``
depend only on frames up to a known bound, the video cut at ``t`` shares every
activation depending only on frames ``<= t`` with the (lower-bounded) full
video: the network runs once on it (``activations``) and each cut-off
recomputes only the later time steps (``forward_from_cache``).
"""

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..nn.modules import VideoVGG

METHODS = ("fast", "naive", "authors")


def masked_frame_index(n_frames, lower_bound, cutoffs=None):
    """Source frame of every frame of every masked video.

    Parameters
    ----------
    n_frames : int
        Frames per video ``T``.
    lower_bound : int
        Frames before it are replaced by it.
    cutoffs : array-like of int, optional
        Cut-off frames (default: all ``0 … T-1``).

    Returns
    -------
    index : ndarray of int, shape (n_cutoffs, n_frames)
        ``index[i, f]`` is the frame of the original video shown as frame ``f``
        of the video cut at ``cutoffs[i]``.
    """
    t = np.arange(n_frames) if cutoffs is None else np.asarray(cutoffs, dtype=int)
    upper = np.maximum(t, lower_bound)[:, None]
    return np.clip(np.arange(n_frames)[None, :], lower_bound, upper)


def unique_cutoffs(video, lower_bound):
    """Distinct masked videos of one video and the cut-offs they stand for.

    Parameters
    ----------
    video : torch.Tensor, shape (frame, lat, lon)
        One video (any scaling; identical frames are detected exactly).
    lower_bound : int

    Returns
    -------
    cutoffs : ndarray of int
        Sorted representative cut-offs (the first of each run), ``cutoffs[0] == lower_bound``.
    inverse : ndarray of int, shape (frame,)
        ``inverse[t]`` is the position in ``cutoffs`` of the cut-off giving the same
        masked video as ``t``.
    """
    n_frames = video.shape[0]
    tail = video[lower_bound:]
    same = (tail[1:] == tail[:-1]).flatten(1).all(1).cpu().numpy()
    start = np.concatenate([[True], ~same])
    inverse = np.zeros(n_frames, dtype=int)
    inverse[lower_bound:] = np.cumsum(start) - 1
    return lower_bound + np.flatnonzero(start), inverse


def _module_device_dtype(module):
    p = next(iter(module.parameters()), None)
    if p is None:  # pragma: no cover - a parameter-free module
        return torch.device("cpu"), torch.float32
    return p.device, p.dtype


def _as_logits(out):
    out = out.reshape(out.shape[0], -1)
    if out.shape[1] != 1:
        raise ValueError(
            f"the ensemble's network returns {out.shape[1]} outputs per video; "
            "expected one logit (binary classifier)"
        )
    return out[:, 0]


class _Member:
    """One network prepared for curve computation (evaluation mode, on its device)."""

    def __init__(self, module, device=None):
        own_device, self.dtype = _module_device_dtype(module)
        self.device = torch.device(device) if device is not None else own_device
        if self.device != own_device:  # leave the user's module where it is
            module = copy.deepcopy(module).to(self.device)
        self.module = module
        self.fast = None  # filled lazily by _CurveEngine for method="fast"

    def prepare(self, video):
        """The raw video (Gauss) on the member's device and dtype."""
        return video.to(device=self.device, dtype=self.dtype)


class _FastConv1:
    """Evaluation of a frames-as-channels first convolution for all cut-offs at once.

    With ``G_L = sum_g W_g``, ``G_f = sum_{g >= f} W_g`` (``f > L``) and
    ``u_L = x_L``, ``u_f = x_f - x_{f-1}``, the first convolution of the video
    cut at ``t >= L`` is ``b + sum_{f=L}^{t} G_f * u_f``: one single-channel
    convolution per frame (an ``unfold`` and a batched matrix product), then a
    cumulative sum over frames.
    """

    def __init__(self, module, lower_bound, device):
        conv1 = module.conv1
        self.scale = module.scale
        self.rest = module.forward_after_conv1
        dtype = conv1.weight.dtype
        w = conv1.weight.detach().to(device=device, dtype=torch.float64)  # (C, T, kh, kw)
        n_out, n_frames, kh, kw = w.shape
        per_frame = w.transpose(0, 1).reshape(n_frames, n_out, kh * kw)
        from_end = per_frame.flip(0).cumsum(0).flip(0)  # sum over g >= f
        kernels = from_end[lower_bound:].clone()
        kernels[0] = from_end[0]
        # (T - L, kh*kw, C): right operand of patches (n, pixels, kh*kw) @ kernels
        self.kernels = kernels.transpose(1, 2).to(dtype).contiguous()
        bias = conv1.bias if conv1.bias is not None else torch.zeros(n_out)
        self.bias = bias.detach().to(device=device, dtype=dtype)
        self.n_out = n_out
        self.lower_bound = lower_bound
        self.unfold = dict(kernel_size=(kh, kw), dilation=conv1.dilation,
                           padding=conv1.padding, stride=conv1.stride)

    def _out_size(self, size):
        u = self.unfold
        return tuple(
            (n + 2 * p - d * (k - 1) - 1) // s + 1
            for n, p, d, k, s in zip(size, u["padding"], u["dilation"], u["kernel_size"],
                                     u["stride"])
        )

    def logits(self, x, cutoffs, batch_size):
        """Logits for the sorted cut-offs ``cutoffs`` (all ``>= lower_bound``) of raw ``x``."""
        x = self.scale(x)
        lb = self.lower_bound
        n_frames = x.shape[0]
        ho, wo = self._out_size(x.shape[1:])
        wanted = np.zeros(n_frames, dtype=bool)
        wanted[cutoffs] = True
        out, carry = [], self.bias
        for f0 in range(lb, n_frames, batch_size):
            f1 = min(f0 + batch_size, n_frames)
            u = x[f0:f1] - x[f0 - 1:f1 - 1] if f0 > lb else torch.cat(
                [x[lb:lb + 1], x[lb + 1:f1] - x[lb:f1 - 1]])
            patches = F.unfold(u[:, None], **self.unfold).transpose(1, 2)  # (n, pixels, k)
            z = torch.matmul(patches, self.kernels[f0 - lb:f1 - lb])  # (n, pixels, C)
            z = torch.cumsum(z, 0).add_(carry)
            carry = z[-1]
            sel = np.flatnonzero(wanted[f0:f1])
            if sel.size:
                z = z[torch.from_numpy(sel).to(x.device)]
                # (n, C, ho, wo) in channels-last memory layout
                z = z.reshape(len(sel), ho, wo, self.n_out).permute(0, 3, 1, 2)
                out.append(_as_logits(self.rest(z)))
        return torch.cat(out)


class _FastCache:
    """Activation reuse for causal networks with ``activations``/``forward_from_cache``."""

    def __init__(self, module, lower_bound):
        self.module = module
        self.lower_bound = lower_bound

    def logits(self, x, cutoffs, batch_size):
        """Logits for the cut-offs ``cutoffs`` (all ``>= lower_bound``) of raw ``x``."""
        n_frames = x.shape[0]
        index = torch.from_numpy(masked_frame_index(n_frames, self.lower_bound)[-1])
        base = x[index.to(x.device)]
        cache = self.module.activations(base[None])
        out = []
        for t in cutoffs:
            xt = base.clone()
            xt[t + 1:] = base[t]
            out.append(_as_logits(self.module.forward_from_cache(xt[None], cache, int(t))))
        return torch.cat(out)


def _has_linear_conv1(module):
    """Whether ``module(x) == module.forward_after_conv1(module.conv1(module.scale(x)))``.

    True for :class:`skflux.nn.VideoVGG` and subclasses that keep its
    ``forward``; another module may declare the same split by the same methods.
    """
    conv1 = getattr(module, "conv1", None)
    if not (isinstance(conv1, nn.Conv2d) and conv1.groups == 1
            and conv1.padding_mode == "zeros" and not isinstance(conv1.padding, str)):
        return False
    if isinstance(module, VideoVGG):
        return type(module).forward is VideoVGG.forward
    return all(callable(getattr(module, name, None)) for name in ("scale", "forward_after_conv1"))


def _has_cache(module):
    return (callable(getattr(module, "activations", None))
            and callable(getattr(module, "forward_from_cache", None)))


class _CurveEngine:
    """Probability curves ``(members, frames)`` of one video under masking.

    Parameters
    ----------
    members : list of _Member
    lower_bound : int
    method : {"fast", "naive", "authors"}
        ``"naive"`` forwards every masked video, ``batch_size`` cut-offs at a
        time; ``"authors"`` does the same one video at a time, one member after
        the other; ``"fast"`` computes each distinct masked video once, with
        prefix sums for a frames-as-channels first convolution.
    batch_size : int
        Cut-offs per forward pass.
    """

    def __init__(self, members, lower_bound, method="fast", batch_size=32):
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}; got {method!r}")
        self.members = members
        self.lower_bound = int(lower_bound)
        self.method = method
        self.batch_size = 1 if method == "authors" else int(batch_size)
        if method == "fast":
            for m in members:
                if m.fast is None and _has_linear_conv1(m.module):
                    m.fast = _FastConv1(m.module, self.lower_bound, m.device)
                elif m.fast is None and _has_cache(m.module):
                    m.fast = _FastCache(m.module, self.lower_bound)

    @torch.inference_mode()
    def curves(self, video):
        """Probabilities, float64 array (members, frames), for one raw video (frame, lat, lon)."""
        n_frames = video.shape[0]
        result = np.empty((len(self.members), n_frames))
        if self.method == "fast":
            cutoffs, inverse = unique_cutoffs(video, self.lower_bound)
        for j, m in enumerate(self.members):
            x = m.prepare(video)
            if self.method != "fast":
                logits = self._masked_forward(m, x, np.arange(n_frames))
                result[j] = torch.sigmoid(logits.double()).cpu().numpy()
                continue
            if m.fast is not None:
                logits = m.fast.logits(x, cutoffs, self.batch_size)
            else:
                logits = self._masked_forward(m, x, cutoffs)
            result[j] = torch.sigmoid(logits.double()).cpu().numpy()[inverse]
        return result

    def _masked_forward(self, m, x, cutoffs):
        out = []
        n_frames = x.shape[0]
        for b0 in range(0, len(cutoffs), self.batch_size):
            idx = masked_frame_index(n_frames, self.lower_bound, cutoffs[b0:b0 + self.batch_size])
            out.append(_as_logits(m.module(x[torch.from_numpy(idx).to(x.device)])))
        return torch.cat(out)


def _curves_block(modules, X, lower_bound, method, batch_size, device, verbose=0):
    """Curves ``(members, videos, frames)`` of the videos ``X``, in this process.

    Each video is read once (lazy DataArrays by a background thread, one
    video ahead) and given to every member.
    """
    from tqdm.auto import tqdm

    from ..nn._data import iter_video_batches

    for module in modules:
        module.eval()
    prepared = [_Member(module, device) for module in modules]
    engine = _CurveEngine(prepared, lower_bound, method, batch_size)
    n_videos, n_frames = X.shape[0], X.shape[1]
    curves = np.empty((len(modules), n_videos, n_frames))
    batches = iter_video_batches(X, batch_size=1)
    for i, xb in enumerate(tqdm(batches, total=n_videos, desc="emergence time",
                                disable=not verbose)):
        curves[:, i] = engine.curves(xb[0])
    return curves


def masked_curves(modules, X, *, lower_bound, method="fast", batch_size=32, device=None,
                  verbose=0):
    """Probability curves under masking of every member for every video.

    Runs in this process, or, inside :func:`joblib.parallel_config` with more
    than one job (``backend="loky"``, or ``backend="dask"`` on a
    :class:`dask.distributed.Client`'s workers), on blocks of videos in
    parallel: each task receives the networks and its block of ``X``; a lazy
    DataArray from :func:`skflux.io.open_videos` travels as the file's path
    and each worker reads its own videos from the file.

    Parameters
    ----------
    modules : list of torch.nn.Module
        Networks mapping Gauss videos to logits (put in evaluation mode).
    X : ndarray, torch.Tensor (on the CPU) or xarray.DataArray
        Videos ``(video, frame, lat, lon)``.
    lower_bound, method, batch_size, device
        See :class:`skflux.EmergenceTimeLocator`.
    verbose : int, default=0
        Progress bar (in-process runs only).

    Returns
    -------
    curves : ndarray of shape (n_members, n_videos, n_frames)
    """
    from joblib import Parallel, delayed, effective_n_jobs

    from .._ensemble_members import take

    n_videos = X.shape[0]
    n_jobs = effective_n_jobs(None)  # 1 unless a joblib.parallel_config says otherwise
    if n_jobs <= 1 or n_videos < 2:
        return _curves_block(modules, X, lower_bound, method, batch_size, device, verbose)
    blocks = np.array_split(np.arange(n_videos), min(n_videos, n_jobs))
    parts = Parallel()(
        delayed(_curves_block)(modules, take(X, block), lower_bound, method, batch_size,
                               device)
        for block in blocks
    )
    return np.concatenate(parts, axis=1)
