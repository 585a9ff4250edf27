"""
Patches from real HMI full-disk magnetograms
============================================

The other examples run on simulated videos. This one cuts patch videos from
**real SDO/HMI data**: small cut-outs of the HMI line-of-sight magnetogram of
2011 December 17 06:00 TAI (and an MDI one of 2009 January 31), committed to
the repository under ``tests/data/observations/`` (their provenance is in
``PROVENANCE.md`` there; this example needs a source checkout).

:func:`skflux.io.patch_video` reprojects a full-disk map onto a
15° × 15° Carrington patch of 1/6° pixels with sunpy and ``reproject``, the
grid the paper's videos use (see :ref:`observations`).
"""

# %%
# The full disk and two active regions
# ------------------------------------
# Two active regions are on the disk: one east of the central meridian in the
# north (Carrington longitude 296°, latitude +23°), one in the south-west
# (352°, −19°; Carrington longitudes grow westward, and HMI images are stored
# upside down, which sunpy's WCS takes care of). The boxes are the 15° × 15°
# patches cut below, drawn in Carrington coordinates by sunpy.
from pathlib import Path

import astropy.units as u
import matplotlib.pyplot as plt
import numpy as np
import sunpy.map
from astropy.coordinates import SkyCoord
from matplotlib.colors import Normalize
from sunpy.coordinates import frames

import skflux
from skflux.io import patch_video
from skflux.plotting import plot_video_frames
from skflux.preprocessing import Resample

DATA = Path(skflux.__file__).resolve().parents[1] / "tests" / "data" / "observations"
disk_file = DATA / "hmi_m_720s_20111217_0600_fd_bin16.fits"
ar_file = DATA / "hmi_m_720s_20111217_0600_ar_bin4.fits"
regions = {"north-east, 296° +23°": (296.0, 23.0), "south-west, 352° −19°": (352.0, -19.0)}

disk = sunpy.map.Map(disk_file)
fig = plt.figure(figsize=(6, 6))
ax = fig.add_subplot(projection=disk)
disk.plot(axes=ax, cmap="gray", norm=Normalize(vmin=-500, vmax=500))
carrington = frames.HeliographicCarrington(observer=disk.observer_coordinate,
                                           obstime=disk.reference_date)
for lon0, lat0 in regions.values():
    edge = np.linspace(-7.5, 7.5, 31)
    lon = lon0 + np.concatenate([edge, np.full(31, 7.5), edge[::-1], np.full(31, -7.5)])
    lat = lat0 + np.concatenate([np.full(31, -7.5), edge, np.full(31, 7.5), edge[::-1]])
    ax.plot_coord(SkyCoord(lon * u.deg, lat * u.deg, frame=carrington), color="tab:red")
ax.set_title("real HMI data: 2011-12-17 06:00 TAI (binned 16 x 16)")
plt.show()

# %%
# Cut the patches
# ---------------
# The north-eastern region is cut from the 2″ cut-out (HMI binned 4 × 4), the
# south-western one from the 8″ full-disk fixture; an MDI patch at disk centre
# of 2009-01-31 (the 128 × 128 MDI test map that ships with sunpy 2.1.5) is
# added for comparison. Each result is a one-frame video in the skflux data
# model, with the centre's ``mu`` per frame and provenance attributes.
north = patch_video([ar_file], *regions["north-east, 296° +23°"], n_frames=1, label=1)
south = patch_video([disk_file], *regions["south-west, 352° −19°"], n_frames=1, label=1)
mdi_file = DATA / "mdi_fd_m_96m_20090131_0803_128px.fits"
mdi_map = sunpy.map.Map(mdi_file)
mdi = patch_video([mdi_file], mdi_map.carrington_longitude.to_value(u.deg), 0.0, n_frames=1,
                  label=0)
for name, video in [("north-east", north), ("south-west", south), ("MDI centre", mdi)]:
    print(f"{name:>10}: mu = {video.mu.item():.2f}, |B| max = "
          f"{float(np.nanmax(np.abs(video))):.0f} G, from {video.attrs['source']} "
          f"({video.attrs['instrument']})")

# %%
# Shown like the paper's Figure 1
# -------------------------------
# The three patches side by side on the grey scale of the paper's Figure 1
# (±500 G). The north-eastern region is sharp at 2″; the south-western one, from
# 8″ pixels seen at μ ≈ 0.7, is blurred (each of its patch pixels averages
# fewer than one input pixel); MDI at 16″ is blurrier still.
patches = np.stack([v.values[0, 0] for v in (north, south, mdi)])
plot_video_frames(patches, every=1, ncols=3,
                  title="real HMI data (2 regions) + MDI")
plt.show()

# %%
# At a model's input size
# -----------------------
# A model trained small (the demo trains on 32 × 32 pixels) is applied after
# :class:`~skflux.preprocessing.Resample`, which averages areas and so keeps the
# mean field (the flux) of the patch.
small = Resample(size=30).fit_transform(north)
print(f"mean field: {float(north.mean()):.2f} G at 90 x 90, {float(small.mean()):.2f} G at "
      "30 x 30")
fig, axes = plt.subplots(1, 2, figsize=(8, 4))
for ax, video, title in zip(axes, (north, small), ("90 x 90 (1/6°)", "30 x 30 (1/2°)")):
    ax.imshow(video.values[0, 0], origin="lower", cmap="gray", vmin=-500, vmax=500,
              extent=[-7.5, 7.5, -7.5, 7.5])
    ax.set_title(f"real HMI data, {title}")
    ax.set_xlabel("longitude offset (°)")
axes[0].set_ylabel("latitude offset (°)")
plt.show()
