"""The independent dm-dt oracle: numpy's histogram2d over all pairs i < j.

skysift's convention is bins closed on the left, open on the right, on both axes, pairs
outside the grid dropped. numpy's histogram2d is the same except that its last bin is also
closed on the right, so pairs exactly on the last edge are removed before counting.
"""
import numpy as np


def clean(t, m, e=None):
    """Drop rows with non-finite time/magnitude (or a non-finite or negative error); stable sort by time."""
    t = np.asarray(t, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    keep = np.isfinite(t) & np.isfinite(m)
    if e is not None:
        e = np.asarray(e, dtype=np.float64)
        keep &= np.isfinite(e) & (e >= 0)
    t, m = t[keep], m[keep]
    order = np.argsort(t, kind='stable')
    return t[order], m[order]


def dmdt_counts(t, m, dt_edges, dm_edges):
    """Integer counts, shape (n_dt, n_dm), for a cleaned, time-sorted light curve."""
    i, j = np.triu_indices(len(t), k=1)
    dt = t[j] - t[i]
    dm = m[j] - m[i]
    inside = (dt < dt_edges[-1]) & (dm < dm_edges[-1])
    counts, _, _ = np.histogram2d(dt[inside], dm[inside], bins=[np.asarray(dt_edges), np.asarray(dm_edges)])
    return counts.astype(np.int64)
