"""The video data model: one place that names every dimension, coordinate and attribute.

skflux stores magnetogram patch videos as one :class:`xarray.DataArray` of the
line-of-sight magnetic field in Gauss. The names below are a contract shared by
the readers, writers, the simulator, the estimators and the command line; change
them here and nowhere else.

Dimensions
----------
``("video", "frame", "lat", "lon")``
    ``frame`` runs 0 … ``N_FRAMES - 1`` on the 96-minute grid; ``lat``/``lon``
    are offsets in degrees inside the patch (the patch centre is per video).

Per-video coordinates (dim ``video``)
-------------------------------------
``time``            datetime64 of frame 0
``month``, ``year`` calendar month (1–12) and year of ``time``
``label``           current (possibly crude) label: 1 emergence, 0 non-emergence
``bmr_id``          identifier of the bipolar magnetic region
``lat0``, ``lon0``  Carrington latitude/longitude of the patch centre (degrees)
``true_label``      ground truth where known (simulated data), optional
``emergence_frame`` ground-truth frame of emergence, -1 when none, optional
``mislabel_reason`` why the crude label is wrong ("" when right), optional

Per-video × frame coordinates
-----------------------------
``observed``        bool: a real observation, not interpolated or padded
``mu``              optional, float: cosine of the heliocentric angle of the patch
                    centre in the map used for that frame (1 at disk centre, 0 at
                    the limb; NaN for frames without a map), written by
                    :func:`skflux.io.patch_video` and :func:`skflux.io.read_sharp`.
                    :class:`skflux.preprocessing.Resample` averages it like the
                    field; :class:`skflux.preprocessing.PadFrames` pads it with NaN

Attributes
----------
``cadence_minutes`` (96), ``units`` ("G"), ``instrument``, free-form provenance
(patches cut from observations add ``source``, ``calibration``,
``reprojection``, ``projection``, ``limb_cut_mu`` and ``skflux_version``).
"""

DIMS = ("video", "frame", "lat", "lon")
VIDEO_DIM, FRAME_DIM, LAT_DIM, LON_DIM = DIMS

CADENCE_MINUTES = 96
CADENCE_SECONDS = CADENCE_MINUTES * 60  # 5760 s: frame = floor(seconds / 5760)
N_FRAMES = 225  # ~14.9 days at 96-minute cadence
PATCH_SIZE = 90  # pixels per side
PIXEL_DEG = 1.0 / 6.0  # degrees per pixel: 90 px = 15 degrees
MU = "mu"  # optional per-frame coordinate, dims (video, frame): mu of the patch centre
MU_MIN = 0.1  # default limb cut of patches cut from observations: pixels with mu < 0.1 NaN
UNITS = "G"

REQUIRED_VIDEO_COORDS = ("time", "month", "year", "label", "bmr_id", "lat0", "lon0")
OPTIONAL_VIDEO_COORDS = ("true_label", "emergence_frame", "mislabel_reason")
OBSERVED = "observed"  # dims (video, frame)
REQUIRED_ATTRS = ("cadence_minutes", "units", "instrument")
