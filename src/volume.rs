//! Volume images of a 3-D sky map: the probability density integrated along the line of sight
//! through a cube aligned with the map's principal axes, as ligo.skymap 2.5's
//! `principal_axes_moc` and `volume_render` (C, src/bayestar_distance.c) compute them for
//! GWSkyNet's three 262 × 262 faces.
//!
//! The sums are the reference's own: the same samples along each ray (uniform in the elevation
//! angle θ with step π / (8 · NSIDE), or uniform in depth near the image centre), the same
//! integrand. What differs is that we skip samples that provably cannot matter: the sky is
//! cut into coarse cells, and a ray is sampled only where it passes through a cell holding
//! some pixel of non-negligible weight, at distances where that weight matters (told per
//! stretch of the ray's elevation angle, `Pruning::grid`); and within those, a run of samples in
//! one pixel is skipped where that pixel is negligible at the run's distances. What the skipped
//! samples could add is bounded for every image and kept under 10⁻⁶ of its peak (see
//! `Renderer::render_face`). And a sample's HEALPix pixel is found from its direction vector,
//! once for all the samples that provably stay in it (`steps_in_cell`): the same pixels, found
//! faster. The samples of a run are summed two at a time (`run_inside`, SIMD lanes), or, for a
//! long run over which the integrand is smooth, by quadrature rules exact for polynomials of
//! degree 7 in the sample index (`RunRule`: seven values for up to 511 samples, within ~1e-8 of
//! the run's sum).

use crate::eigh3;
use crate::error::{Error, Result};
use crate::skymap::{uniq_to_nested, SkyMap, MACHINE_ORDER};
use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// The faces GWSkyNet renders: (axis shown horizontally, axis shown vertically).
pub const FACES: [(usize, usize); 3] = [(1, 0), (0, 2), (1, 2)];

/// Bound on how fast HEALPix's edge coordinates at order o move, in units of 2^o per radian
/// turned, anywhere in the equatorial zone (|z| ≤ 2/3, so ρ = √(1 − z²) ≥ √5 / 3): a direction
/// turning at unit speed has ρ² φ'² + z'² / ρ² = 1, and A, B = 2^o (½ + 2φ/π ∓ ¾ z), so by
/// Cauchy–Schwarz |A'|, |B'| ≤ 2^o √((2 / (π ρ))² + (¾ ρ)²) ≤ 2^o · 1.021 (at ρ = √5 / 3).
/// (`steps_in_cell`; checked on every sample in the tests.)
const EDGE_SPEED: f64 = 1.05;
/// Bound on the edge coordinates' second derivative in the equatorial zone, in units of 2^o per
/// radian². On a unit-speed great circle, with ϑ the angle from the pole, α = ϑ' and
/// β = sin ϑ · φ' (α² + β² = 1): z'' = −z, and φ'' = −2 cot ϑ ϑ' φ' = −2 z αβ / (1 − z²). So
/// A'' = 2^o z (¾ − (4/π) αβ / (1 − z²)) (B'' alike), and |A''|, |B''| ≤ 2^o |z| (¾ + (2/π) / (1 − z²)),
/// largest at |z| = 2/3: 2^o · 1.264.
const EDGE_ACCEL: f64 = 1.3;

/// The same bound where |z| stays under `z_max` (≤ 2/3), 3% above the exact |z| (¾ + (2/π) /
/// (1 − z²)) like `EDGE_ACCEL`: near the equator it is several times smaller, and a run bounded
/// with the zone-wide figure ended a step or more early for a quarter of the runs at order ≥ 4
/// (S190425z), each costing one more pixel lookup.
fn edge_accel_below(z_max: f64) -> f64 {
    1.03 * z_max * (0.75 + std::f64::consts::FRAC_2_PI / (1.0 - z_max * z_max))
}

/// How far (radians) a run in the equatorial zone is bounded with `edge_accel_below(|z| +
/// LOCAL_REACH)` (|z| moves at most as fast as the direction); longer runs — in pixels of order
/// below `LOCAL_ORDER`, ~0.065 rad wide at order 4 — use `EDGE_ACCEL`.
const LOCAL_REACH: f64 = 0.1;
const LOCAL_ORDER: u8 = 4;

/// As `EDGE_SPEED`, in the polar caps (|z| > 2/3), for the cap's edge coordinates P = t T and
/// M = (1 − t) T (t ∈ [0, 1): φ within its quarter, in quarters; T = √(3 (1 − |z|)) =
/// √6 sin(ϑ/2), ϑ the angle from the pole). With α = ϑ', β = sin ϑ · φ' (α² + β² = 1 at unit
/// speed): P' = (2/π) · √6 / (2 cos(ϑ/2)) · β + t · (√6 / 2) cos(ϑ/2) · α, and cos²(ϑ/2) ≥ 5/6 in the
/// caps, so by Cauchy–Schwarz |P'|, |M'| ≤ 2^o √((2/π · √6 / (2 √(5/6)))² + (√6 / 2)²) ≤ 2^o · 1.494.
const CAP_SPEED: f64 = 1.55;

/// Bound on the polar caps' edge coordinates' second derivative, in units of 2^o per radian²
/// divided by T (`CAP_SPEED`). On a great circle ϑ'' = sin ϑ cos ϑ φ'² and φ'' = −2 cot ϑ ϑ' φ';
/// with T = √6 sin(ϑ/2) and P'' = (2/π) (φ'' T + 2 φ' T') + t T'' the terms in 1/T² cancel:
/// T P'' = (6/π) αβ tan²(ϑ/2) + (3/2) t (β² cos ϑ − α² sin²(ϑ/2)), and tan²(ϑ/2) ≤ 1/5 in the
/// caps, so |P''|, |M''| ≤ ((3/π) / 5 + 3/2) / T ≤ 1.691 / T.
const CAP_ACCEL: f64 = 1.75;
/// Bound on |T'| in the caps: T = √6 sin(ϑ/2), |T'| ≤ √6 / 2 ≤ 1.225.
const T_SPEED: f64 = 1.25;

/// Relative weight under which pixels are skipped in a first pass (see `render_face`).
const FIRST_PRUNE: f64 = 1e-6;
/// Largest allowed bound on what skipped samples could add to a pixel, relative to the image's
/// peak: 100 times below the agreement the reference comparison asks for.
const TOLERANCE: f64 = 1e-6;

/// Mean and standard deviation of distance of a pixel whose conditional distance distribution
/// has location `mu` and scale `sigma` (ligo.skymap's `parameters_to_moments`).
pub fn parameters_to_moments(mu: f64, sigma: f64) -> (f64, f64) {
    let z = mu / sigma;
    if !z.is_finite() {
        return (f64::INFINITY, 1.0);
    }
    let (x2, x3, x4) = integrals(z);
    let mean = sigma * x3 / x2;
    (mean, mean * (x4 * x2 / (x3 * x3) - 1.0).sqrt())
}

/// Moments of the r²-weighted normal distribution (bayestar_distance.c's `integrals`).
fn integrals(z: f64) -> (f64, f64, f64) {
    let h = hazard(-z);
    let z2 = z * z;
    (z2 + 1.0 + z * h, z * (z2 + 3.0) + (z2 + 2.0) * h, z2 * (z2 + 6.0) + 3.0 + z * (z2 + 5.0) * h)
}

/// Hazard function of the standard normal distribution, φ(x) / Q(x) (GSL's `gsl_sf_hazard`).
fn hazard(x: f64) -> f64 {
    if x < 25.0 {
        // ln sqrt(2/π) − x²/2 − ln erfc(x/√2), as GSL computes it below x = 25.
        const LN_SQRT_2_OVER_PI: f64 = -0.225_791_352_644_727_43;
        (LN_SQRT_2_OVER_PI - 0.5 * x * x - libm::erfc(x * FRAC_1_SQRT_2).ln()).exp()
    } else {
        // Mills' ratio continued fraction: Q(x)/φ(x) = 1/(x + 1/(x + 2/(x + 3/(x + …)))).
        let mut tail = x;
        for k in (1..=40).rev() {
            tail = x + k as f64 / tail;
        }
        tail
    }
}

/// The principal axes of the map's probability mass (weighted by ⟨r²⟩), as the columns of a
/// rotation matrix: ligo.skymap's `principal_axes_moc`, with numpy's `eigh` (see eigh3.rs).
pub fn principal_axes(map: &SkyMap) -> Result<[[f64; 3]; 3]> {
    let dist = map.distance.as_ref().ok_or_else(|| Error::Value("the sky map has no distance layers".into()))?;
    let mut cov = [[0.0f64; 3]; 3];
    for (i, &uniq) in map.uniq.iter().enumerate() {
        let (pd, mu, sigma, norm) = (map.prob_density[i], dist.mu[i], dist.sigma[i], dist.norm[i]);
        if !(pd.is_finite() && mu.is_finite() && norm.is_finite()) {
            continue;
        }
        let (order, ipix) = uniq_to_nested(uniq).expect("checked when read");
        let area = 4.0 * PI / (12u64 << (2 * order as u32)) as f64;
        let (mean, std) = parameters_to_moments(mu, sigma);
        let mass = pd * area * (std * std + mean * mean);
        let xyz = unit_vector(cdshealpix::nested::center(order, ipix));
        for r in 0..3 {
            for c in 0..=r {
                cov[r][c] += xyz[r] * mass * xyz[c];
            }
        }
    }
    let (_, mut v) = eigh3::eigh(&cov).ok_or_else(|| {
        Error::Value("the sky map's distance layers give no finite principal axes (DISTSIGMA zero or not finite where DISTMU is)".into())
    })?;
    if det(&v) < 0.0 {
        v.iter_mut().flatten().for_each(|x| *x = -*x);
    }
    Ok(v)
}

fn det(m: &[[f64; 3]; 3]) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

fn unit_vector((lon, lat): (f64, f64)) -> [f64; 3] {
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// A sky map prepared for rendering: pixels in nested order at the machine order, with the
/// per-pixel constants of the integrand.
pub struct Renderer<'a> {
    map: &'a SkyMap,
    starts: Vec<u64>,
    /// Weight of each pixel: PROBDENSITY · DISTNORM / DISTSIGMA (0 where DISTMU is not finite).
    weight: Vec<f64>,
    /// Finest order in the map: sets the sampling step.
    max_order: u8,
    /// Order of each pixel.
    orders: Vec<u8>,
    /// Per cell of order `INDEX_ORDER` (and one past the last), the pixel holding its first
    /// point: the pixel of any point lies between its cell's entry and the next one's.
    first_pixel: Vec<u32>,
}

/// The order of `Renderer::first_pixel`'s cells (49 152 of them, 196 kB).
const INDEX_ORDER: u8 = 6;
const INDEX_SHIFT: u32 = 2 * (MACHINE_ORDER - INDEX_ORDER) as u32;

#[derive(Clone, Copy)]
struct Cell {
    centre: [f64; 3],
    /// Angular radius bounding the cell (largest centre-to-vertex distance, plus a margin).
    radius: f64,
    /// Distances outside which no pixel of the cell contributes more than `prune` × the largest
    /// weight (per sample).
    r_min: f64,
    r_max: f64,
}

/// A stretch of a ray's elevation angle θ worth sampling, and the distances that matter there.
#[derive(Clone, Copy, Debug)]
struct Window {
    theta: (f64, f64),
    r: (f64, f64),
}

/// What rendering one face took (for benchmarks and the curious).
#[derive(Debug, Clone, Copy, Default)]
pub struct FaceStats {
    /// Integrand evaluations.
    pub samples: u64,
    /// Pixel lookups (one per run of samples in a pixel, skipped or not).
    pub lookups: u64,
    /// Of `samples`, those summed by a quadrature rule over their run (`RunRule`).
    pub by_rule: u64,
    /// Coarse cells sampled in, and the relative weight under which pixels were skipped
    /// (0: nothing skipped).
    pub cells: usize,
    pub prune: f64,
}

impl<'a> Renderer<'a> {
    pub fn new(map: &'a SkyMap) -> Result<Renderer<'a>> {
        let dist = map.distance.as_ref().ok_or_else(|| Error::Value("the sky map has no distance layers".into()))?;
        let weight: Vec<f64> = (0..map.len())
            .map(|i| if dist.mu[i].is_finite() { map.prob_density[i] * dist.norm[i] / dist.sigma[i] } else { 0.0 })
            .collect();
        let orders: Vec<u8> = map.uniq.iter().map(|&u| uniq_to_nested(u).expect("checked when read").0).collect();
        let max_order = orders.iter().copied().max().unwrap_or(0);
        let starts = map.machine_starts();
        // For each cell of order INDEX_ORDER, the pixel holding its first machine cell (the
        // pixels are sorted and tile the sky: a linear merge).
        let cells = 12usize << (2 * INDEX_ORDER);
        let mut first_pixel = Vec::with_capacity(cells + 1);
        let mut i = 0;
        for c in 0..cells as u64 {
            let h = c << INDEX_SHIFT;
            while i + 1 < starts.len() && starts[i + 1] <= h {
                i += 1;
            }
            first_pixel.push(i as u32);
        }
        first_pixel.push((starts.len() - 1) as u32);
        Ok(Renderer { map, starts, weight, max_order, orders, first_pixel })
    }

    /// What a face's rendering may skip: the samples at which a pixel's integrand is under
    /// `prune` × the largest (`Peaks`).
    fn pruning(&self, prune: f64, peaks: &Peaks, rot: &[[f64; 3]; 3], axes: (usize, usize)) -> Pruning {
        let dist = self.map.distance.as_ref().expect("checked in new");
        let threshold = prune * peaks.max;
        let reach: Vec<Option<(f64, f64)>> = self
            .weight
            .iter()
            .enumerate()
            .map(|(i, &w)| {
                // NaN or infinite weights: never skip such a pixel.
                if !w.is_finite() {
                    return Some((f64::NEG_INFINITY, f64::INFINITY));
                }
                if !(peaks.of_pixel[i] >= threshold) {
                    return None;
                }
                // Where w · exp(−t²/2) ≥ threshold: |r − μ| ≤ σ √(2 ln(w / threshold)).
                let half = dist.sigma[i].abs() * (2.0 * (w.abs() / threshold).ln()).sqrt();
                Some(if half.is_finite() { (dist.mu[i] - half, dist.mu[i] + half) } else { (f64::NEG_INFINITY, f64::INFINITY) })
            })
            .collect();
        // A sample at distance r = a / cos θ matters where a / r_max ≤ cos θ ≤ a / r_min: kept as
        // (1 / r_max, 1 / r_min), so that the test needs no division.
        let inverse_reach = reach.iter().map(|r| r.map_or((f64::INFINITY, f64::NEG_INFINITY), inverse_distances)).collect();
        let cells = self.cells(&reach);
        let (e0, e1, u) = face_axes(rot, axes);
        let (windows, grid) = self.theta_windows(&cells, &e0, &e1, &u);
        Pruning { cells, inverse_reach, windows, grid }
    }

    /// The coarse cells holding a pixel that matters somewhere (`reach`, per pixel), each with
    /// the distances where such pixels matter: fine enough to leave most of the sky out, few
    /// enough that finding the cells a ray crosses stays cheap.
    fn cells(&self, reach: &[Option<(f64, f64)>]) -> Vec<Cell> {
        let mut cell_order = self.max_order.min(6);
        let mut flagged: std::collections::BTreeMap<u64, (f64, f64)>;
        loop {
            flagged = std::collections::BTreeMap::new();
            for (i, r) in reach.iter().enumerate() {
                let Some(r_range) = *r else { continue };
                let (order, ipix) = uniq_to_nested(self.map.uniq[i]).expect("checked when read");
                let mut flag = |cell: u64| {
                    let e = flagged.entry(cell).or_insert(r_range);
                    *e = (e.0.min(r_range.0), e.1.max(r_range.1));
                };
                if order >= cell_order {
                    flag(ipix >> (2 * (order - cell_order) as u32));
                } else {
                    let shift = 2 * (cell_order - order) as u32;
                    ((ipix << shift)..((ipix + 1) << shift)).for_each(flag);
                }
            }
            if flagged.len() <= 3000 || cell_order == 0 {
                break;
            }
            cell_order -= 1;
        }
        flagged
            .into_iter()
            .map(|(h, (r_min, r_max))| {
                let (lon, lat) = cdshealpix::nested::center(cell_order, h);
                let radius = 1.1 * cdshealpix::largest_center_to_vertex_distance(cell_order, lon, lat);
                Cell { centre: unit_vector((lon, lat)), radius, r_min, r_max }
            })
            .collect()
    }

    /// One face: a `size` × `size` image, row-major, row j at y = s[j], column i at x = s[i],
    /// s = linspace(−max_distance, max_distance, size), axes as in ligo.skymap's
    /// `volume_render(x, y, max_distance, axis0, axis1, R, skymap)`.
    ///
    /// Skipping: every skipped sample adds less than `prune` · P · dz (P the largest value any
    /// pixel's integrand takes in the cube, see `peaks`), so a pixel misses less than
    /// `prune` · P · 2 max_distance / √(2π) in all. `plan_face` takes `FIRST_PRUNE` unless that
    /// bound is above `TOLERANCE` × a lower estimate of the image's peak (from a subset of its
    /// rays), and then a `prune` small enough.
    pub fn render_face(&self, rot: &[[f64; 3]; 3], max_distance: f64, axes: (usize, usize), size: usize) -> (Vec<f64>, FaceStats) {
        self.render_planned_rows(&self.plan_face(rot, max_distance, axes, size), 0..size)
    }

    /// What may be skipped in a face, decided once for the whole face (`FacePlan`): 6–17% of a
    /// face's rendering time (measured on S190425z and S190412m, natively and in wasm), which
    /// pieces of the face rendered apart (the page's bands of rows) need not each pay again.
    pub fn plan_face(&self, rot: &[[f64; 3]; 3], max_distance: f64, axes: (usize, usize), size: usize) -> FacePlan {
        let steps = Steps::new(self.dtheta(), true);
        let mut plan = FacePlan { rot: *rot, max_distance, axes, size, steps, pruning: None, prune: 0.0, pixels: self.map.len() };
        let peaks = self.peaks(max_distance);
        let bound_per_prune = peaks.max * 2.0 * max_distance / (2.0 * PI).sqrt();
        let first = self.pruning(FIRST_PRUNE, &peaks, rot, axes);
        // A lower bound of the image's peak from every PEAK_STRIDE-th ray each way: they are rays
        // of the image itself, and skipping cells only leaves out non-negative terms. (Rendering
        // the whole face for it, as before, doubled the time of wide maps, whose first prune is
        // not small enough.)
        let every = size.div_ceil(PEAK_STRIDE);
        let (subset, _) = self.render_face_with(&plan, Some(&first), PEAK_STRIDE, 0..every);
        let peak = subset.iter().fold(0f64, |m, v| m.max(v.abs()));
        let prune = if FIRST_PRUNE * bound_per_prune <= TOLERANCE * peak { FIRST_PRUNE } else { TOLERANCE * peak / bound_per_prune };
        if prune > 1e-300 {
            plan.pruning = Some(if prune == FIRST_PRUNE { first } else { self.pruning(prune, &peaks, rot, axes) });
            plan.prune = prune;
        }
        plan
    }

    /// Rows `rows` of the face `plan` is for (`plan_face` on this renderer's map): the same
    /// values as the whole face's, so pieces rendered apart, in other workers, put together give
    /// the whole face exactly.
    pub fn render_planned_rows(&self, plan: &FacePlan, rows: std::ops::Range<usize>) -> (Vec<f64>, FaceStats) {
        assert_eq!(plan.pixels, self.map.len(), "a face plan is used with the map it was made for");
        let rows = rows.start.min(plan.size)..rows.end.min(plan.size);
        let (image, counts) = self.render_face_with(plan, plan.pruning.as_ref(), 1, rows);
        (image, FaceStats { samples: counts.samples, lookups: counts.lookups, by_rule: counts.by_rule, cells: plan.pruning.as_ref().map_or(0, |p| p.cells.len()), prune: plan.prune })
    }

    /// The largest value each pixel's integrand takes anywhere in the rendered cube (distances
    /// 0 to √3 · max_distance), and the largest of all. This, not the weight, bounds what a skipped
    /// sample could add: simulated maps have pixels far from the source with DISTNORM ~1e61 and
    /// DISTMU ~ −3e4 Mpc, enormous weights whose Gaussian is ~1e-63 wherever a sample can be.
    fn peaks(&self, max_distance: f64) -> Peaks {
        let dist = self.map.distance.as_ref().expect("checked in new");
        let reach = 3f64.sqrt() * max_distance;
        let of_pixel: Vec<f64> = self
            .weight
            .iter()
            .enumerate()
            .map(|(i, &w)| {
                let nearest = dist.mu[i].clamp(0.0, reach);
                let t = (nearest - dist.mu[i]) / dist.sigma[i];
                let peak = w.abs() * (-0.5 * t * t).exp();
                if peak.is_nan() { w.abs() } else { peak }
            })
            .collect();
        let max = of_pixel.iter().copied().filter(|p| p.is_finite()).fold(0f64, f64::max);
        Peaks { of_pixel, max }
    }

    fn dtheta(&self) -> f64 {
        0.5 * PI / (1u64 << self.max_order) as f64 / 4.0
    }

    /// Rows `rows` of the face `plan` is for (skipping what `pruning` leaves out, or nothing)
    /// and the samples and lookups it took; with `stride` > 1 only every stride-th ray each way
    /// (the same rays as the whole face's; `rows` then counts the rays kept).
    fn render_face_with(&self, plan: &FacePlan, pruning: Option<&Pruning>, stride: usize, rows: std::ops::Range<usize>) -> (Vec<f64>, Counts) {
        let &FacePlan { rot, max_distance, axes, size, ref steps, .. } = plan;
        let (e0, e1, u) = face_axes(&rot, axes);
        let inverse_reach = pruning.map(|p| &p.inverse_reach[..]);
        let s: Vec<f64> = linspace(-max_distance, max_distance, size).into_iter().step_by(stride.max(1)).collect();
        // Rows are independent: natively they are shared among threads.
        let render_rows = |rows: std::ops::Range<usize>| -> (Vec<f64>, Counts) {
            let mut out = Vec::with_capacity(rows.len() * s.len());
            let mut counts = Counts::default();
            for &y in &s[rows] {
                for &x in &s {
                    let c = [x * e0[0] + y * e1[0], x * e0[1] + y * e1[1], x * e0[2] + y * e1[2]];
                    let a = (x * x + y * y).sqrt();
                    let (windows, grid): (&[Window], _) = match (pruning, a > 0.0) {
                        (Some(p), true) => {
                            let bin = bin_of(y.atan2(x));
                            (&p.windows[bin], Some(&p.grid[bin * THETA_GRID..(bin + 1) * THETA_GRID]))
                        }
                        _ => (&[WHOLE_RAY], None),
                    };
                    out.push(self.ray(&c, &u, a, max_distance, steps, windows, grid, inverse_reach, &mut counts));
                }
            }
            (out, counts)
        };
        let chunks = split_rows(rows);
        let parts: Vec<(Vec<f64>, Counts)> = parallel_map(chunks, render_rows);
        let counts = parts.iter().fold(Counts::default(), |all, part| all + part.1);
        (parts.into_iter().flat_map(|p| p.0).collect(), counts)
    }

    /// The integral along one ray, `bayestar_volume_render` for the screen point at transverse
    /// distance `a` whose sky positions are c + z u, sampled only inside the windows.
    ///
    /// Where `inverse_reach` is given (per pixel, `Pruning::inverse_reach`), samples at distances
    /// where their pixel is negligible are skipped too, a run of them at a time: the samples a
    /// ray takes in one pixel are found together (`steps_in_cell`). Where `grid` is given (the
    /// ray's direction's part of `Pruning::grid`), stretches of θ where nothing matters at the
    /// ray's distances are passed over without lookups.
    #[allow(clippy::too_many_arguments)]
    fn ray(&self, c: &[f64; 3], u: &[f64; 3], a: f64, max_distance: f64, steps: &Steps, windows: &[Window], grid: Option<&[(f64, f64)]>, inverse_reach: Option<&[(f64, f64)]>, counts: &mut Counts) -> f64 {
        let dtheta = steps.dtheta;
        let theta_max = max_distance.atan2(a);
        // Each window within ±θmax, and within it where the distance r = a / cos θ is in range:
        // |θ| between acos(a / r_min) and acos(a / r_max). Ascending, as the windows are.
        let windows = windows
            .iter()
            .flat_map(|w| {
                let t1 = if a < w.r.0 { (a / w.r.0).acos() } else { 0.0 };
                let t2 = if a < w.r.1 { (a / w.r.1).acos() } else { -1.0 };
                let (lo, hi) = (w.theta.0.max(-theta_max), w.theta.1.min(theta_max));
                [(lo.max(-t2), hi.min(-t1)), (lo.max(t1), hi.min(t2))]
            })
            .filter(|(lo, hi)| lo <= hi);
        let mut lookup = Lookup::default();
        let mut sum = 0.0;
        if a >= 5e-2 * max_distance {
            let c_unit = c.map(|x| x / a);
            // Samples θ_k = −θmax + k dθ. cos and sin are carried from sample to sample by
            // rotating through dθ (drift after 10⁴ steps ~1e-12, far below a pixel).
            let last = loop_count(-theta_max, theta_max, dtheta);
            let (sin_step, cos_step) = steps.turns[1];
            let mut done = 0;
            for (lo, hi) in windows {
                let (k0, k1) = sample_range(lo, hi, -theta_max, dtheta, last);
                let k0 = k0.max(done);
                done = done.max(k1);
                if k0 >= k1 {
                    continue;
                }
                let mut k = k0;
                let (mut sin, mut cos) = (-theta_max + k as f64 * dtheta).sin_cos();
                // Turned through n samples at once, to sample k (a sin and cos cost as much as a lookup).
                let turned = |(sin, cos): (f64, f64), n: usize, k: usize| match steps.turns.get(n) {
                    Some(&(s, c)) => (sin * c + cos * s, cos * c - sin * s),
                    None => (-theta_max + k as f64 * dtheta).sin_cos(),
                };
                // Samples before `matters_until` lie in stretches of `grid` that matter.
                let mut matters_until = 0;
                while k < k1 {
                    if let (Some(grid), true) = (grid, k >= matters_until) {
                        // A stretch of θ where nothing matters at the ray's distances is passed
                        // over without looking a pixel up (its pixels would all be skipped).
                        let negligible = |g: usize| {
                            let (inverse_far, inverse_near) = grid[g];
                            let (cos_low, cos_high) = steps.grid_cos[g];
                            cos_high < a * inverse_far || cos_low > a * inverse_near
                        };
                        // The first sample at or after stretch g's start, give or take one
                        // (early rather than late: a sample taken for a stretch that matters
                        // is only a lookup more).
                        let first_in = |g: usize| {
                            let start = -0.5 * PI + g as f64 * (PI / THETA_GRID as f64);
                            ((start + theta_max) / dtheta - 1e-6).ceil().max(0.0) as usize
                        };
                        let g = grid_cell(-theta_max + k as f64 * dtheta);
                        let mut end = g;
                        while end < THETA_GRID && negligible(end) {
                            end += 1;
                        }
                        if end > g {
                            let next = first_in(end).clamp(k + 1, k1);
                            let n = next - k;
                            k = next;
                            if k < k1 {
                                (sin, cos) = turned((sin, cos), n, k);
                            }
                            continue;
                        }
                        while end < THETA_GRID && !negligible(end) {
                            end += 1;
                        }
                        matters_until = if end < THETA_GRID { first_in(end).max(k + 1) } else { usize::MAX };
                    }
                    // Sky direction ∝ c + z u with z = a tan θ, i.e. cos θ ĉ + sin θ u (a unit
                    // vector: ĉ ⊥ u), and where it turns next (d/dθ of the direction).
                    let v = [cos * c_unit[0] + sin * u[0], cos * c_unit[1] + sin * u[1], cos * c_unit[2] + sin * u[2]];
                    let tangent = [cos * u[0] - sin * c_unit[0], cos * u[1] - sin * c_unit[1], cos * u[2] - sin * c_unit[2]];
                    let (h, edges) = machine_cell(&v);
                    self.find(h, &mut lookup);
                    counts.lookups += 1;
                    let i = lookup.index;
                    // Samples k .. k + run are all in pixel i.
                    let run = (1 + steps_in_cell(edges, self.orders[i], dtheta, &v, &tangent)).min((k1 - k) as u64) as usize;
                    // They matter where cos θ is in [cos_far, cos_near]; over the run cos θ moves
                    // by at most |sin θ| t + t² / 2 (t = run · dθ): a run wholly outside is skipped.
                    let (cos_far, cos_near) = inverse_reach.map_or((f64::NEG_INFINITY, f64::INFINITY), |r| (a * r[i].0, a * r[i].1));
                    let turn = run as f64 * dtheta;
                    let drift = turn * (sin.abs() + 0.5 * turn);
                    let w = self.weight[i];
                    k += run;
                    if w == 0.0 || cos + drift < cos_far || cos - drift > cos_near {
                        if k < k1 {
                            (sin, cos) = turned((sin, cos), run, k);
                        }
                        continue;
                    }
                    if cos - drift >= cos_far && cos + drift <= cos_near {
                        // The whole run matters: no sample to leave out.
                        let scale = self.gaussian_scale(i);
                        let by_rule = steps.rules.get(run).and_then(|rule| rule.as_ref()).and_then(|rule| rule.sum(scale, a, sin, cos));
                        let run_sum;
                        if let Some(by_rule) = by_rule {
                            run_sum = by_rule;
                            counts.by_rule += run as u64;
                            if k < k1 {
                                (sin, cos) = turned((sin, cos), run, k);
                            }
                        } else {
                            (run_sum, sin, cos) = run_inside(scale, a, sin, cos, run, steps);
                        }
                        sum += run_sum * w;
                        counts.samples += run as u64;
                        continue;
                    }
                    // The integrand at r = a / cos θ, times dz / dθ = a / cos² θ.
                    let mut gaussian = GaussianSteps::new(self.gaussian_scale(i));
                    let (mut run_sum, mut taken) = (0.0, 0);
                    for _ in 0..run {
                        if cos_far <= cos && cos <= cos_near {
                            let inverse_cos = 1.0 / cos;
                            let r = a * inverse_cos;
                            run_sum += gaussian.at(r) * (r * inverse_cos);
                            taken += 1;
                        }
                        (sin, cos) = (sin * cos_step + cos * sin_step, cos * cos_step - sin * sin_step);
                    }
                    sum += run_sum * w;
                    counts.samples += taken;
                }
            }
            sum *= dtheta;
        } else {
            let dz = max_distance * dtheta / theta_max;
            let last = loop_count(-max_distance, max_distance, dz);
            let mut done = 0;
            for (lo, hi) in windows {
                // θ windows as depth windows: z = a tan θ; at a = 0 the ray is the axis u itself.
                let (zlo, zhi) = if a > 0.0 { (a * lo.tan(), a * hi.tan()) } else { (-max_distance, max_distance) };
                let (k0, k1) = sample_range(zlo, zhi, -max_distance, dz, last);
                let k0 = k0.max(done);
                done = done.max(k1);
                for k in k0..k1 {
                    let z = -max_distance + k as f64 * dz;
                    let v = [c[0] + z * u[0], c[1] + z * u[1], c[2] + z * u[2]];
                    sum += self.density(&v, (a * a + z * z).sqrt(), &mut lookup);
                }
                counts.samples += k1.saturating_sub(k0) as u64;
                counts.lookups += k1.saturating_sub(k0) as u64;
            }
            sum *= dz;
        }
        sum / (2.0 * PI).sqrt()
    }

    /// Density weight in direction v (any length) at distance r (bayestar_volume_render_inner,
    /// without the 1/√(2π)).
    #[inline]
    fn density(&self, v: &[f64; 3], r: f64, lookup: &mut Lookup) -> f64 {
        let (h, _) = machine_cell(v);
        self.find(h, lookup);
        self.integrand(lookup.index, r)
    }

    /// The pixel holding machine-order cell `h`; successive samples mostly stay in one pixel, so
    /// the last one is tried before searching, and the search is only among the pixels of `h`'s
    /// cell of order `INDEX_ORDER` (mostly one or a few; galloping from the last pixel over the
    /// whole map instead made wide maps ~5% slower).
    #[inline]
    fn find(&self, h: u64, lookup: &mut Lookup) {
        if !(lookup.start <= h && h < lookup.end) {
            let c = (h >> INDEX_SHIFT) as usize;
            let (lo, hi) = (self.first_pixel[c] as usize, self.first_pixel[c + 1] as usize + 1);
            let i = lo + self.starts[lo..hi].partition_point(|&s| s <= h) - 1;
            *lookup = Lookup { start: self.starts[i], end: self.starts.get(i + 1).copied().unwrap_or(u64::MAX), index: i };
        }
    }

    #[inline]
    fn integrand(&self, i: usize, r: f64) -> f64 {
        let w = self.weight[i];
        if w == 0.0 {
            return 0.0;
        }
        let (mu, sigma) = self.gaussian_scale(i);
        let t = (r - mu) / sigma;
        (-0.5 * t * t).exp() * w
    }

    /// Pixel i's distance layers (μ, σ): the integrand is weight · exp(−((r − μ)/σ)² / 2).
    #[inline]
    fn gaussian_scale(&self, i: usize) -> (f64, f64) {
        let dist = self.map.distance.as_ref().expect("checked in new");
        (dist.mu[i], dist.sigma[i])
    }

    /// For each of `PHI_BINS` screen directions φ, the θ windows in which a ray of that direction
    /// can pass through one of `cells` (merged, ascending). A ray at angle φ' in the bin sweeps
    /// the great circle through e(φ') = cos φ' e0 + sin φ' e1 and u, which is the bin centre's
    /// circle turned about u by at most half the bin width, so widening every cell by that much
    /// makes the windows hold for the whole bin.
    ///
    /// And per direction, `Pruning::grid`: per stretch of θ of `THETA_GRID`'s, the distances
    /// where some cell whose window covers it matters — merged windows join the distances of
    /// all the cells they cover, which on wide maps is everything.
    fn theta_windows(&self, cells: &[Cell], e0: &[f64; 3], e1: &[f64; 3], u: &[f64; 3]) -> (Vec<Vec<Window>>, Vec<(f64, f64)>) {
        let half_bin = PI / PHI_BINS as f64;
        // Each cell's widened radius as (cos, sin): whether a cell is near the circle is told
        // from the sine of its angle to the circle's plane (n · centre), not the angle: an asin
        // per cell and bin was most of this function's time, and most cells are far.
        let widened: Vec<Option<(f64, f64)>> = cells
            .iter()
            .map(|cell| {
                let radius = cell.radius + half_bin;
                (radius < 0.5 * PI).then(|| (radius.cos(), radius.sin()))
            })
            .collect();
        let mut grid = vec![(f64::INFINITY, f64::NEG_INFINITY); PHI_BINS * THETA_GRID];
        let windows = (0..PHI_BINS)
            .map(|b| {
                let phi = -PI + (b as f64 + 0.5) * 2.0 * half_bin;
                let e = [phi.cos() * e0[0] + phi.sin() * e1[0], phi.cos() * e0[1] + phi.sin() * e1[1], phi.cos() * e0[2] + phi.sin() * e1[2]];
                let n = cross(&e, u);
                let mut windows: Vec<Window> = Vec::new();
                for (cell, widened) in cells.iter().zip(&widened) {
                    // The sine of the angle between the cell centre and the circle's plane.
                    let off_sin = dot(&n, &cell.centre).clamp(-1.0, 1.0);
                    if let Some((_, radius_sin)) = *widened {
                        if off_sin.abs() > radius_sin {
                            continue;
                        }
                    }
                    // Where the centre projects onto the circle, and the half-width of the arc
                    // within the radius of it (spherical Pythagoras: cos half = cos radius / cos off).
                    let theta = dot(u, &cell.centre).atan2(dot(&e, &cell.centre));
                    let half = match *widened {
                        None => PI,
                        Some((radius_cos, _)) => (radius_cos / (1.0 - off_sin * off_sin).sqrt()).clamp(-1.0, 1.0).acos(),
                    };
                    windows.push(Window { theta: (theta - half, theta + half), r: (cell.r_min, cell.r_max) });
                }
                let stretches = &mut grid[b * THETA_GRID..(b + 1) * THETA_GRID];
                for w in &windows {
                    let inverse = inverse_distances(w.r);
                    for shift in [-2.0 * PI, 0.0, 2.0 * PI] {
                        let (lo, hi) = (w.theta.0 + shift, w.theta.1 + shift);
                        if hi < -0.5 * PI || lo > 0.5 * PI {
                            continue;
                        }
                        for e in &mut stretches[grid_cell(lo)..=grid_cell(hi)] {
                            *e = (e.0.min(inverse.0), e.1.max(inverse.1));
                        }
                    }
                }
                merge(windows)
            })
            .collect();
        (windows, grid)
    }
}

/// The nested HEALPix index at `MACHINE_ORDER` of direction `v` (any length), straight from the
/// vector as HEALPix's own `vec2pix_nest` does it (Górski et al. 2005). cdshealpix takes
/// (lon, lat) only, and the volume images call this for every sample: going through angles cost
/// a second atan2, a sin and a cos per sample, two thirds of the rendering time. Checked
/// against cdshealpix in the tests.
///
/// It also gives the direction's `Edges`: the two coordinates along HEALPix's pixel edges at
/// `MACHINE_ORDER` whose integer parts pick the cell within its base pixel, whose rate of change
/// with the direction `steps_in_cell` bounds.
#[inline(always)]
fn machine_cell(v: &[f64; 3]) -> (u64, Edges) {
    const NSIDE: f64 = (1u64 << MACHINE_ORDER) as f64;
    const MAX: u64 = (1u64 << MACHINE_ORDER) - 1;
    let rho2 = v[0] * v[0] + v[1] * v[1];
    let norm = (rho2 + v[2] * v[2]).sqrt();
    let z = v[2] / norm;
    let za = z.abs();
    // φ in units of π/2, in [0, 4).
    let mut tt = quarter_turns(v[1], v[0]);
    if tt >= 4.0 {
        tt = 0.0;
    }
    let (face, ix, iy, edges) = if za <= 2.0 / 3.0 {
        let temp1 = NSIDE * (0.5 + tt);
        let temp2 = NSIDE * (z * 0.75);
        let (a, b) = (temp1 - temp2, temp1 + temp2);
        let jp = a as u64; // index of the ascending edge line
        let jm = b as u64; // index of the descending edge line
        let (ifp, ifm) = (jp >> MACHINE_ORDER, jm >> MACHINE_ORDER);
        // ifp | 4 is 4 for ifp = 4 too: φ just under 2π belongs to face 4.
        let face = if ifp == ifm { ifp | 4 } else if ifp < ifm { ifp } else { ifm + 8 };
        (face.min(11), jm & MAX, MAX - (jp & MAX), Edges { a, b, za, cap: false })
    } else {
        let ntt = (tt as u64).min(3);
        let tp = tt - ntt as f64;
        // NSIDE · √(3 (1 − |z|)), written with ρ = √(x² + y²) / |v| to stay exact near the poles.
        let tmp = NSIDE * (rho2.sqrt() / norm) * (3.0 / (1.0 + za)).sqrt();
        let (a, b) = (tp * tmp, (1.0 - tp) * tmp);
        let (jp, jm) = ((a as u64).min(MAX), (b as u64).min(MAX));
        let edges = Edges { a, b, za, cap: true };
        if z >= 0.0 {
            (ntt, MAX - jm, MAX - jp, edges)
        } else {
            (ntt + 8, jp, jm, edges)
        }
    };
    ((face << (2 * MACHINE_ORDER)) | interleave(ix) | (interleave(iy) << 1), edges)
}

/// atan2(y, x) in quarter turns, in [0, 4] (4 only by rounding, for y just under 0), within
/// ~9e-16 of `f64::atan2`'s (`quarter_turns_follow_atan2`); 0 for x = y = 0 (and NaN). Inlined, for
/// `machine_cell`: in wasm `f64::atan2` is a call into compiler-builtins' port of musl's atan2
/// and atan, which took 10% of the volume rendering's time there (node profile of S190718y).
/// The argument is brought to |u| ≤ tan(π/8) (octant symmetries, and atan x = π/4 +
/// atan((x − 1)/(x + 1)) above tan(π/8)); there atan u = u + u³ Q(u²), Q a polynomial of degree 9
/// fitted by `mpmath.chebyfit` to (atan √s / √s − 1) / s on [0, tan²(π/8)] (fit error 9e-16,
/// atan u within 2 ulp over the interval).
#[inline]
fn quarter_turns(y: f64, x: f64) -> f64 {
    use std::f64::consts::{FRAC_2_PI, FRAC_PI_2, FRAC_PI_4};
    const TAN_PI_8: f64 = 0.414_213_562_373_095_03;
    const Q: [f64; 10] = [
        -0.333_333_333_333_332_5,
        0.199_999_999_998_984_07,
        -0.142_857_142_660_966_2,
        0.111_111_096_365_343_61,
        -0.090_908_525_571_760_49,
        0.076_910_551_583_931_5,
        -0.066_496_136_952_916_69,
        0.057_363_321_659_076_43,
        -0.044_833_346_222_728_86,
        0.022_750_526_993_361_67,
    ];
    let (ax, ay) = (x.abs(), y.abs());
    let (small, large) = if ay <= ax { (ay, ax) } else { (ax, ay) };
    if !(large > 0.0) {
        return 0.0;
    }
    let beyond = small > TAN_PI_8 * large;
    let u = if beyond { (small - large) / (small + large) } else { small / large };
    let (s, s2) = (u * u, u * u * u * u);
    let s4 = s2 * s2;
    // Q(s) in Estrin's order.
    let low = (Q[0] + Q[1] * s) + s2 * (Q[2] + Q[3] * s);
    let high = (Q[4] + Q[5] * s) + s2 * (Q[6] + Q[7] * s);
    let q = low + s4 * (high + s4 * (Q[8] + Q[9] * s));
    let mut angle = u + u * s * q + if beyond { FRAC_PI_4 } else { 0.0 };
    if ay > ax {
        angle = FRAC_PI_2 - angle;
    }
    if x < 0.0 {
        angle = PI - angle;
    }
    if y < 0.0 {
        angle = 2.0 * PI - angle;
    }
    angle * FRAC_2_PI
}

/// Where a direction is among HEALPix's pixel edges, in cell widths at `MACHINE_ORDER`: in the
/// equatorial zone (|z| ≤ 2/3) A and B, the coordinates along the ascending and descending edges
/// (⌊A⌋, ⌊B⌋ pick the cell); in a polar cap P and M (`CAP_SPEED`), whose integer parts pick the
/// cell within the cap's quarter and which reach 0 where the quarter ends.
#[derive(Clone, Copy, Debug)]
struct Edges {
    a: f64,
    b: f64,
    /// |z| of the unit direction: how far the zone's boundary is.
    za: f64,
    cap: bool,
}

/// How many more steps of `dtheta` radians (along a great circle, at unit speed) certainly stay
/// in the cell of order `order` of a direction with `machine_cell` edges `edges`: as far as the
/// edge coordinates' distance to the cell's edges (and the zone's) allows at `EDGE_SPEED`, or
/// `CAP_SPEED` in the polar caps.
///
/// Knowing where the circle goes (`direction` and its `tangent`, unit vectors) it also uses the
/// edge coordinates' actual rate of change: over a turn t they move by their rate × t plus at
/// most ½ `EDGE_ACCEL` · 2^o · t² (`edge_accel_below` for turns under `LOCAL_REACH`; in the caps ½ `CAP_ACCEL` / (0.8 T) · 2^o · t², for turns
/// short enough that T stays above 0.8 T), which lets a sample heading across its cell vouch for
/// the samples up to the far edge, not only up to the nearest one. Either bound holds; the
/// larger is taken.
#[inline]
fn steps_in_cell(edges: Edges, order: u8, dtheta: f64, direction: &[f64; 3], tangent: &[f64; 3]) -> u64 {
    let Edges { a, b, za, cap } = edges;
    let nside = (1u64 << MACHINE_ORDER) as f64;
    let scale = f64::from_bits((1023 + order as u64 - MACHINE_ORDER as u64) << 52); // 2^(order − 29), exactly
    // Where the edge coordinates are within their cell, in cell widths.
    // (`fract` is a call to libm's trunc on x86-64 without SSE4.1; A and B are ≥ 0.)
    let fract = |x: f64| x - (x as u64) as f64;
    let (fa, fb) = (fract(a * scale), fract(b * scale));
    // A margin of 1e-9 cell for rounding in A and B (they are exact to ~1e-12 of a cell).
    let nearest_edge = smaller(smaller(fa, 1.0 - fa), smaller(fb, 1.0 - fb)) - 1e-9;
    let by_edges = nearest_edge / (if cap { CAP_SPEED } else { EDGE_SPEED } * dtheta * scale * nside);
    // The rates: φ' = (d × t)_z / ρ² and z' = t_z for the unit direction d and unit tangent t.
    let (d, t) = (direction, tangent);
    let rho2 = d[0] * d[0] + d[1] * d[1];
    // φ' in quarter turns.
    let phi_rate = (d[0] * t[1] - d[1] * t[0]) / rho2 * std::f64::consts::FRAC_2_PI;
    // The edge coordinates' rates in cells of order o per radian, the bound on their second
    // derivative, and how far (in radians) that bound holds.
    let (rate_a, rate_b, accel, valid_for) = if cap {
        // T = P + M, in units of the cap's edge; t = P / T; T' = −(3/2) |z|' / T.
        let big_t = (a + b) / nside;
        let part = a / (a + b);
        let t_rate = -1.5 * t[2] * d[2].signum() / big_t;
        let rate_a = phi_rate * big_t + part * t_rate;
        let rate_b = -phi_rate * big_t + (1.0 - part) * t_rate;
        // Over a turn of 0.2 T / T_SPEED, T stays above 0.8 T.
        (rate_a, rate_b, CAP_ACCEL / (0.8 * big_t), 0.2 * big_t / T_SPEED)
    } else {
        let z_max = d[2].abs() + LOCAL_REACH;
        let (accel, valid_for) = if order >= LOCAL_ORDER && z_max < 2.0 / 3.0 { (edge_accel_below(z_max), LOCAL_REACH) } else { (EDGE_ACCEL, f64::INFINITY) };
        (phi_rate - 0.75 * t[2], phi_rate + 0.75 * t[2], accel, valid_for)
    };
    let accel = accel * scale * nside;
    let reach = |f: f64, rate: f64| -> f64 {
        let (ahead, behind) = if rate >= 0.0 { (1.0 - f, f) } else { (f, 1.0 - f) };
        let (ahead, behind) = (ahead - 1e-9, behind - 1e-9);
        if !(ahead > 0.0 && behind > 0.0) {
            return 0.0;
        }
        let speed = rate.abs() * scale * nside;
        // Moving ahead at `speed`, the coordinate is within speed t ± ½ accel t² of where it
        // is: it reaches the edge ahead no sooner than the root of ½ accel t² + speed t = ahead
        // (written to stay exact for small accel), and turns back to the edge behind no sooner
        // than the root of ½ accel t² − speed t = behind.
        let t_ahead = 2.0 * ahead / (speed + (speed * speed + 2.0 * accel * ahead).sqrt());
        // t_behind ≥ 2 speed / accel: mostly it cannot be the smaller, and its root is skipped.
        if t_ahead * accel <= 2.0 * speed {
            return t_ahead;
        }
        let t_behind = (speed + (speed * speed + 2.0 * accel * behind).sqrt()) / accel;
        smaller(t_ahead, t_behind)
    };
    let by_motion = smaller(smaller(reach(fa, rate_a), reach(fb, rate_b)), valid_for) / dtheta;
    // The zone ends where |z| = 2/3. z moves at most as fast as the direction (|z'| ≤ 1), and
    // from its rate z' = t_z bends at most |z''| = |z| ≤ 1 (p'' = −p on a great circle): it gains
    // h no sooner than the root of ½ t² + z' t = h, and loses h no sooner than that of ½ t² − z' t = h.
    let root = |rate: f64, h: f64| -> f64 {
        let q = (rate * rate + 2.0 * h).sqrt();
        if rate >= 0.0 { 2.0 * h / (rate + q) } else { q - rate }
    };
    let by_coordinates = larger(by_edges, if by_motion.is_finite() { by_motion } else { 0.0 });
    let by_speed = (if cap { za - 2.0 / 3.0 } else { 2.0 / 3.0 - za } - 1e-12) / dtheta;
    if by_speed >= by_coordinates {
        // The zone's boundary is farther than the edges by the speed bound alone.
        return if by_coordinates >= 1.0 { by_coordinates as u64 } else { 0 };
    }
    let (z0, z_rate) = (d[2], t[2]);
    let by_curve = if !cap {
        smaller(root(z_rate, 2.0 / 3.0 - z0 - 1e-12), root(-z_rate, z0 + 2.0 / 3.0 - 1e-12))
    } else if z0 > 0.0 {
        root(-z_rate, z0 - 2.0 / 3.0 - 1e-12)
    } else {
        root(z_rate, -2.0 / 3.0 - z0 - 1e-12)
    };
    let by_zone = larger(by_speed, if by_curve.is_finite() { by_curve / dtheta } else { 0.0 });
    let steps = smaller(by_coordinates, by_zone);
    if steps >= 1.0 { steps as u64 } else { 0 }
}

/// e^q for the renderer: in wasm `exp_series`, natively `f64::exp` (glibc's is faster there).
/// In wasm `f64::exp` is compiler-builtins' port of musl's, which took 18% of the rendering time
/// of wide maps (an exp starts every run of samples); `exp_series` made S190425z's faces 8%
/// faster in wasm, and 4% slower natively.
#[inline]
fn exp(q: f64) -> f64 {
    if cfg!(target_arch = "wasm32") { exp_series(q) } else { q.exp() }
}

/// e^q to within ~1e-14 relative, inlined and without branches for −708 ≤ q ≤ 709 (others go to
/// `f64::exp`): q = k ln 2 + r with |r| ≤ ln 2 / 2 (Cody–Waite: ln 2 in two parts, the first
/// exact in k · ln 2), e^r from its Taylor series to r¹¹ (truncation under 7e-15) in Estrin's
/// order, times 2^k built from its bits. Checked against `f64::exp` in `exp_series_follows_std`
/// (the same IEEE operations give the same values natively and in wasm).
#[inline]
fn exp_series(q: f64) -> f64 {
    if !(-708.0..=709.0).contains(&q) {
        return q.exp();
    }
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    // Round to nearest by adding and taking away 1.5 · 2^52 (no call, in wasm or x86-64).
    const ROUND: f64 = 6_755_399_441_055_744.0;
    let k = (q * std::f64::consts::LOG2_E + ROUND) - ROUND;
    let r = (q - k * LN2_HI) - k * LN2_LO;
    let (r2, r4) = (r * r, r * r * r * r);
    let p = (1.0 + r)
        + r2 * (1.0 / 2.0 + r * (1.0 / 6.0))
        + r4 * ((1.0 / 24.0 + r * (1.0 / 120.0)) + r2 * (1.0 / 720.0 + r * (1.0 / 5040.0)))
        + r4 * r4 * ((1.0 / 40320.0 + r * (1.0 / 362_880.0)) + r2 * (1.0 / 3_628_800.0 + r * (1.0 / 39_916_800.0)));
    p * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// `a.min(b)`, inlined: in wasm `f64::min` is a call to libm's `fmin` (wasm's own `f64.min`
/// treats NaN otherwise), which took 8% of the rendering time there.
#[inline(always)]
fn smaller(a: f64, b: f64) -> f64 {
    if a < b || b.is_nan() { a } else { b }
}

/// `a.max(b)`, inlined (see `smaller`).
#[inline(always)]
fn larger(a: f64, b: f64) -> f64 {
    if a > b || b.is_nan() { a } else { b }
}

/// The bits of `x` (< 2³²) spread to the even bit positions.
#[inline]
fn interleave(x: u64) -> u64 {
    let mut x = x & 0xFFFF_FFFF;
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// The sampling step in θ, and (sin, cos) of its first multiples; and the range of cos θ over
/// each stretch of `Pruning::grid` (widened by 1e-12 for the carried cos's drift).
struct Steps {
    dtheta: f64,
    /// (sin, cos) of n dθ for n < `RunRule::LONGEST` + 1.
    turns: Vec<(f64, f64)>,
    grid_cos: Vec<(f64, f64)>,
    /// The rules for runs of n samples, n < `RunRule::LONGEST` + 1 (None below `RunRule::SHORTEST`,
    /// or all None: every run summed sample by sample).
    rules: Vec<Option<RunRule>>,
}

impl Steps {
    fn new(dtheta: f64, by_rules: bool) -> Steps {
        let grid_cos = (0..THETA_GRID)
            .map(|g| {
                let width = PI / THETA_GRID as f64;
                let (lo, hi) = (-0.5 * PI + g as f64 * width, -0.5 * PI + (g + 1) as f64 * width);
                let (c_lo, c_hi) = (lo.cos(), hi.cos());
                let high = if lo <= 0.0 && hi >= 0.0 { 1.0 } else { c_lo.max(c_hi) };
                (c_lo.min(c_hi) - 1e-12, high + 1e-12)
            })
            .collect();
        let turns = (0..=RunRule::LONGEST).map(|n| (n as f64 * dtheta).sin_cos()).collect();
        let rules = (0..=RunRule::LONGEST).map(|n| (by_rules && n >= RunRule::SHORTEST).then(|| RunRule::new(n, dtheta))).collect();
        Steps { dtheta, turns, grid_cos, rules }
    }
}

/// What a face's rendering skips (`Renderer::pruning`).
struct Pruning {
    /// The coarse cells a ray must cross to meet a pixel that matters.
    cells: Vec<Cell>,
    /// Per pixel, (1 / r_max, 1 / r_min): it matters at distances r_min ≤ r ≤ r_max only;
    /// (∞, −∞) for pixels that never matter.
    inverse_reach: Vec<(f64, f64)>,
    /// The face's θ windows per screen direction, from `cells` (`theta_windows`).
    windows: Vec<Vec<Window>>,
    /// Per screen direction (as `windows`) and stretch of θ (`grid_cell`), the union of the
    /// inverse distances (1 / r_max, 1 / r_min) where the cells whose windows cover it matter.
    grid: Vec<(f64, f64)>,
}

/// How one face is rendered: its geometry and what may be skipped (`Renderer::plan_face`).
pub struct FacePlan {
    rot: [[f64; 3]; 3],
    max_distance: f64,
    axes: (usize, usize),
    size: usize,
    /// The map's sampling step and what goes with it (made once: its run rules are ~4 000 sines
    /// and cosines, and the page renders a face in bands).
    steps: Steps,
    /// None: nothing is skipped.
    pruning: Option<Pruning>,
    prune: f64,
    /// The map's pixel count, to catch a plan used with another map.
    pixels: usize,
}

impl FacePlan {
    /// Whether this plan is for this face (rotation, extent, axes and size).
    pub fn is_for(&self, rot: &[[f64; 3]; 3], max_distance: f64, axes: (usize, usize), size: usize) -> bool {
        self.rot == *rot && self.max_distance == max_distance && self.axes == axes && self.size == size
    }
}

/// Per pixel, the largest value of its integrand in the rendered cube; and their maximum.
struct Peaks {
    of_pixel: Vec<f64>,
    max: f64,
}

/// What rendering took: integrand evaluations and pixel lookups.
#[derive(Default, Clone, Copy)]
struct Counts {
    samples: u64,
    lookups: u64,
    /// Samples summed by a `RunRule`.
    by_rule: u64,
}

impl std::ops::Add for Counts {
    type Output = Counts;
    fn add(self, other: Counts) -> Counts {
        Counts { samples: self.samples + other.samples, lookups: self.lookups + other.lookups, by_rule: self.by_rule + other.by_rule }
    }
}

/// The pixel found for the last sample: its range of machine-order indices.
#[derive(Default)]
struct Lookup {
    start: u64,
    end: u64,
    index: usize,
}

/// Screen axes e0, e1 and the line of sight u of a face: columns of the rotation.
fn face_axes(rot: &[[f64; 3]; 3], (axis0, axis1): (usize, usize)) -> ([f64; 3], [f64; 3], [f64; 3]) {
    let column = |k: usize| [rot[0][k], rot[1][k], rot[2][k]];
    (column(axis0), column(axis1), column(3 - axis0 - axis1))
}

/// Row ranges for parallel rendering: more chunks than threads, as rows differ in cost.
fn split_rows(rows: std::ops::Range<usize>) -> Vec<std::ops::Range<usize>> {
    let chunk = rows.len().div_ceil(32).max(1);
    let end = rows.end;
    rows.step_by(chunk).map(|r| r..(r + chunk).min(end)).collect()
}

/// `f` over the items, in order; natively on all cores, in wasm on the calling thread.
fn parallel_map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len());
        if threads > 1 {
            let queue = std::sync::Mutex::new(items.into_iter().enumerate().collect::<Vec<_>>());
            let results = std::sync::Mutex::new(Vec::new());
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(|| loop {
                        let Some((k, item)) = queue.lock().unwrap().pop() else { break };
                        let r = f(item);
                        results.lock().unwrap().push((k, r));
                    });
                }
            });
            let mut results = results.into_inner().unwrap();
            results.sort_by_key(|(k, _)| *k);
            return results.into_iter().map(|(_, r)| r).collect();
        }
    }
    items.into_iter().map(f).collect()
}

/// The window that samples a whole ray.
const WHOLE_RAY: Window = Window { theta: (-0.5 * PI, 0.5 * PI), r: (f64::NEG_INFINITY, f64::INFINITY) };

/// The first estimate of a face's peak reads every PEAK_STRIDE-th ray each way (1/64 of them).
const PEAK_STRIDE: usize = 8;

/// Stretches of θ in `Pruning::grid` (over −π/2 … π/2: 0.025 rad each, 32 samples at order 9;
/// 128 was 1–2% faster than 256 or 512 on wide maps, natively and in wasm, and as fast as 64).
const THETA_GRID: usize = 128;

/// The stretch of `Pruning::grid` holding θ (clamped to −π/2 … π/2).
fn grid_cell(theta: f64) -> usize {
    (((theta + 0.5 * PI) / PI * THETA_GRID as f64).max(0.0) as usize).min(THETA_GRID - 1)
}

/// Screen directions sharing a list of θ windows.
const PHI_BINS: usize = 720;

fn bin_of(phi: f64) -> usize {
    (((phi + PI) / (2.0 * PI) * PHI_BINS as f64) as usize).min(PHI_BINS - 1)
}

/// Distances r_min ≤ r ≤ r_max as (1 / r_max, 1 / r_min), a bound ≤ 0 as ∞: a sample at
/// r = a / cos θ lies within them where a · (1 / r_max) ≤ cos θ ≤ a · (1 / r_min), a test
/// without division (`Pruning::inverse_reach`, `Pruning::grid`).
fn inverse_distances((near, far): (f64, f64)) -> (f64, f64) {
    (if far > 0.0 { 1.0 / far } else { f64::INFINITY }, if near > 0.0 { 1.0 / near } else { f64::INFINITY })
}

fn cross(a: &[f64; 3], b: &[f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

/// Sorts and merges windows that overlap in θ (their distance ranges joined); the ray's θ
/// range is (−π/2, π/2), so windows are also taken modulo 2π into it.
fn merge(mut windows: Vec<Window>) -> Vec<Window> {
    let mut wrapped = Vec::new();
    for w in &windows {
        for shift in [-2.0 * PI, 2.0 * PI] {
            if w.theta.0 + shift < 0.5 * PI && w.theta.1 + shift > -0.5 * PI {
                wrapped.push(Window { theta: (w.theta.0 + shift, w.theta.1 + shift), r: w.r });
            }
        }
    }
    windows.extend(wrapped);
    windows.retain(|w| w.theta.0 < 0.5 * PI && w.theta.1 > -0.5 * PI);
    windows.sort_by(|a, b| a.theta.0.total_cmp(&b.theta.0));
    let mut out: Vec<Window> = Vec::new();
    for w in windows {
        match out.last_mut() {
            Some(last) if w.theta.0 <= last.theta.1 => {
                last.theta.1 = last.theta.1.max(w.theta.1);
                last.r = (last.r.0.min(w.r.0), last.r.1.max(w.r.1));
            }
            _ => out.push(w),
        }
    }
    out
}

/// How many times the reference's loop `for (t = start; t <= end; t += step)` runs. Counting
/// by division is exact unless the span is within rounding of a whole number of steps; then
/// the additions are replayed.
fn loop_count(start: f64, end: f64, step: f64) -> usize {
    let steps = (end - start) / step;
    let whole = steps.round();
    if (steps - whole).abs() > 1e-6 * steps.max(1.0) {
        return steps.floor() as usize + 1;
    }
    let (mut t, mut n) = (start, 0);
    while t <= end {
        t += step;
        n += 1;
    }
    n
}

/// Indices k in [0, last) of samples start + k·step lying in [lo, hi] (give or take rounding:
/// a window's edges are either conservative or the ends of the ray).
fn sample_range(lo: f64, hi: f64, start: f64, step: f64, last: usize) -> (usize, usize) {
    if !(hi >= lo) {
        return (0, 0);
    }
    let k0 = ((lo - start) / step - 1e-9).ceil().max(0.0) as usize;
    let k1 = (((hi - start) / step + 1e-9).floor() + 1.0).max(0.0) as usize;
    (k0.min(last), k1.min(last))
}

/// numpy's linspace: start + k·step, the last point exactly `end`.
fn linspace(start: f64, end: f64, n: usize) -> Vec<f64> {
    let step = (end - start) / (n - 1) as f64;
    (0..n).map(|k| if k == n - 1 { end } else { start + k as f64 * step }).collect()
}

/// Σ exp(−t²/2) · r / cos θ, t = (r − μ)/σ, r = a / cos θ, over `run` samples θ, θ + dθ, … of one
/// pixel (sin θ, cos θ given), and (sin, cos) of the sample after them. Two lanes (even and odd
/// samples) side by side, each exp(−t²/2) chained from its lane's last as in `GaussianSteps`.
#[inline]
fn run_inside((mu, sigma): (f64, f64), a: f64, sin: f64, cos: f64, run: usize, steps: &Steps) -> (f64, f64, f64) {
    use wide::f64x2;
    let (s1, c1) = steps.turns[1];
    let (s2, c2) = (f64x2::splat(steps.turns[2].0), f64x2::splat(steps.turns[2].1));
    let mut sn = f64x2::new([sin, sin * c1 + cos * s1]);
    let mut cs = f64x2::new([cos, cos * c1 - sin * s1]);
    let (a2, mu2, half_precision) = (f64x2::splat(a), f64x2::splat(mu), f64x2::splat(-0.5 / (sigma * sigma)));
    let limit = f64x2::splat(GaussianSteps::SERIES_LIMIT);
    let wide_limit = f64x2::splat(GaussianSteps::WIDE_SERIES_LIMIT);
    let one = f64x2::splat(1.0);
    let mut sums = f64x2::splat(0.0);
    let mut q_last = f64x2::splat(f64::NAN);
    let mut value = f64x2::splat(0.0);
    let mut since_exact = GaussianSteps::EXACT_EVERY;
    let gaussian = |cs: f64x2, q_last: &mut f64x2, value: &mut f64x2, since_exact: &mut u32| -> (f64x2, f64x2) {
        let inverse_cos = one / cs;
        let r = a2 * inverse_cos;
        let d = r - mu2;
        let q = d * d * half_precision;
        let x = q - *q_last;
        let fresh = *since_exact < GaussianSteps::EXACT_EVERY;
        if fresh && x.abs().simd_le(limit).all() {
            *value *= exp_step(x);
            *since_exact += 1;
        } else if fresh && x.abs().simd_le(wide_limit).all() {
            // Larger steps (maps narrow in distance, in the Gaussian's tails): the longer series.
            *value *= exp_step_wide(x);
            *since_exact += 1;
        } else {
            // One exp: the odd lane's value stepped from the even lane's (short runs, in wide
            // maps, are mostly this; two exps here cost them 10%).
            let [q0, q1] = q.to_array();
            let even = exp(q0);
            let step = q1 - q0;
            *value = f64x2::new([even, if step.abs() <= GaussianSteps::WIDE_SERIES_LIMIT { even * exp_step_wide(step) } else { exp(q1) }]);
            *since_exact = 0;
        }
        *q_last = q;
        (*value, r * inverse_cos)
    };
    for _ in 0..run / 2 {
        let (g, m) = gaussian(cs, &mut q_last, &mut value, &mut since_exact);
        sums += g * m;
        (sn, cs) = (sn * c2 + cs * s2, cs * c2 - sn * s2);
    }
    let [mut sin, mut cos] = [sn.to_array()[0], cs.to_array()[0]];
    let mut sum = sums.reduce_add();
    if run % 2 == 1 {
        let (g, m) = gaussian(cs, &mut q_last, &mut value, &mut since_exact);
        sum += (g * m).to_array()[0];
        (sin, cos) = (sn.to_array()[1], cs.to_array()[1]);
    }
    (sum, sin, cos)
}

/// The sum over a run of n samples k = 0 … n − 1 of one pixel, Σ g(θ₀ + k dθ), from seven values
/// of g instead of n: Gauss rules for the uniform measure on the sample indices (zeros of the
/// discrete Chebyshev, or Gram, polynomials), the 4-point one exact for polynomials in k of degree
/// ≤ 7 and the 3-point one of degree ≤ 5. Within a pixel the integrand is smooth (a Gaussian in
/// r = a / cos θ times a / cos² θ) and in wide maps it changes little over a run of ~100 samples,
/// which cost ~3 ns each in wasm: such runs were half of the rendering time of the slowest maps.
///
/// A run is summed so only where two checks pass, else sample by sample (`run_inside`): over the
/// run t = (r − μ)/σ moves by at most `SPREAD` / (1 + |t|) and the Jacobian's logarithm by at most
/// `SPREAD` (so the integrand cannot hide a bump between the nodes), and the two rules agree to
/// `AGREEMENT` relative. On every 50th such run of S190718y and S190425z, against sums of exact
/// samples, the rules' difference was the 3-point rule's error and the 4-point rule's was
/// under 1e-14 for most runs, at most 1e-8; random runs can have both rules off by ~1e-8 alike
/// (`run_rules_follow_their_samples`). Without the first check a narrow peak between the nodes
/// was summed as 0 (both rules agreeing). Faces of S190718y in wasm 4.4 → 3.0 s (one thread).
struct RunRule {
    /// (sin, cos) of x dθ at the 4-point rule's nodes x = c − l₂, c − l₁, c + l₁, c + l₂
    /// (c = (n − 1)/2), and its weights at c ± l₁ and c ± l₂.
    nodes4: [(f64, f64); 4],
    weights4: (f64, f64),
    /// The same for the 3-point rule: nodes c − s, c, c + s, weights at c ± s and at c.
    nodes3: [(f64, f64); 3],
    weights3: (f64, f64),
    /// c / l₂: from the outer nodes' spread to the whole run's.
    outer_to_run: f64,
}

impl RunRule {
    /// Shorter runs are summed sample by sample (seven values of g cost as much as ~30 samples).
    const SHORTEST: usize = 32;
    const LONGEST: usize = 511;
    const SPREAD: f64 = 1.0;
    const AGREEMENT: f64 = 1e-8;

    fn new(n: usize, dtheta: f64) -> RunRule {
        let GramRules { offsets4: (l1, l2), weights4, offset3: s, weights3 } = gram_rules(n);
        let c = 0.5 * (n as f64 - 1.0);
        let turn = |x: f64| (x * dtheta).sin_cos();
        RunRule {
            nodes4: [turn(c - l2), turn(c - l1), turn(c + l1), turn(c + l2)],
            weights4,
            nodes3: [turn(c - s), turn(c), turn(c + s)],
            weights3,
            outer_to_run: c / l2,
        }
    }

    /// The run's sum of exp(−t²/2) · r / cos θ from sample (sin θ₀, cos θ₀) on (as `run_inside`),
    /// or None where the rules may not be trusted.
    #[inline]
    fn sum(&self, (mu, sigma): (f64, f64), a: f64, sin: f64, cos: f64) -> Option<f64> {
        let inverse_sigma = 1.0 / sigma;
        // t and 1 / cos θ at a node.
        let at = |(s, c): (f64, f64)| {
            let inverse_cos = 1.0 / (cos * c - sin * s);
            ((a * inverse_cos - mu) * inverse_sigma, inverse_cos)
        };
        let [outer_low, low, high, outer_high] = self.nodes4.map(at);
        let mid = at(self.nodes3[1]);
        let ts = [outer_low.0, low.0, mid.0, high.0, outer_high.0];
        let (t_low, t_high) = ts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &t| (smaller(lo, t), larger(hi, t)));
        let t_spread = (t_high - t_low) * self.outer_to_run * (1.0 + larger(t_high.abs(), t_low.abs()));
        // |ln(x / y)| ≤ |x − y| / min(x, y), without a logarithm.
        let jacobian_spread = 2.0 * (outer_high.1 - outer_low.1).abs() / smaller(outer_high.1, outer_low.1) * self.outer_to_run;
        // (A NaN fails here or, through the values, the agreement below.)
        if !(t_spread <= Self::SPREAD && jacobian_spread <= Self::SPREAD) {
            return None;
        }
        let g = |(t, inverse_cos): (f64, f64)| exp(-0.5 * t * t) * (a * inverse_cos * inverse_cos);
        let by4 = self.weights4.0 * (g(low) + g(high)) + self.weights4.1 * (g(outer_low) + g(outer_high));
        let by3 = self.weights3.0 * (g(at(self.nodes3[0])) + g(at(self.nodes3[2]))) + self.weights3.1 * g(mid);
        ((by4 - by3).abs() <= Self::AGREEMENT * by4).then_some(by4)
    }
}

/// The 4- and 3-point Gauss rules for sums over k = 0 … n − 1, their nodes as offsets from the
/// centre c = (n − 1)/2.
struct GramRules {
    /// (l₁, l₂) and the weights at c ± l₁ and at c ± l₂.
    offsets4: (f64, f64),
    weights4: (f64, f64),
    /// s and the weights at c ± s and at c.
    offset3: f64,
    weights3: (f64, f64),
}

/// `GramRules` for n samples.
/// The monic discrete Chebyshev (Gram) polynomials on 0 … n − 1, centred at c, recur as
/// p_{k+1}(x) = x p_k(x) − β_k p_{k−1}(x) with β_k = k² (n² − k²) / (4 (4k² − 1)); an m-point
/// rule's nodes are the zeros of p_m, its weights n / Σ_{k<m} p_k(x)² / (β₁ ⋯ β_k) (the
/// Christoffel numbers, as Golub–Welsch gives them).
fn gram_rules(n: usize) -> GramRules {
    let nf = n as f64;
    let beta = |k: f64| k * k * (nf * nf - k * k) / (4.0 * (4.0 * k * k - 1.0));
    let (b1, b2, b3) = (beta(1.0), beta(2.0), beta(3.0));
    let weight = |x: f64, m: usize| {
        let (p1, p2) = (x, x * x - b1);
        let p3 = x * p2 - b2 * p1;
        let terms = [1.0, p1 * p1 / b1, p2 * p2 / (b1 * b2), p3 * p3 / (b1 * b2 * b3)];
        nf / terms[..m].iter().sum::<f64>()
    };
    // p₄'s zeros: x² = ((b1 + b2 + b3) ∓ √((b1 + b2 + b3)² − 4 b1 b3)) / 2; p₃'s: 0 and ±√(b1 + b2).
    let sum = b1 + b2 + b3;
    let root = (sum * sum - 4.0 * b1 * b3).sqrt();
    let (l1, l2) = ((0.5 * (sum - root)).sqrt(), (0.5 * (sum + root)).sqrt());
    let s = (b1 + b2).sqrt();
    GramRules { offsets4: (l1, l2), weights4: (weight(l1, 4), weight(l2, 4)), offset3: s, weights3: (weight(s, 3), weight(0.0, 3)) }
}

/// What `exp_step` and `exp_step_wide` work on: an f64, or two lanes of them (`wide::f64x2`).
trait Lanes: Copy + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self> + std::ops::Add<f64, Output = Self> + std::ops::Mul<f64, Output = Self> {}
impl Lanes for f64 {}
impl Lanes for wide::f64x2 {}

/// e^x for |x| ≤ `GaussianSteps::SERIES_LIMIT`, from its Taylor series to x⁴ (see `GaussianSteps`).
#[inline(always)]
fn exp_step<T: Lanes>(x: T) -> T {
    x * (x * (x * (x * (1.0 / 24.0) + 1.0 / 6.0) + 0.5) + 1.0) + 1.0
}

/// e^x for |x| ≤ `GaussianSteps::WIDE_SERIES_LIMIT`, from its Taylor series to x⁸ (Estrin's
/// order).
#[inline(always)]
fn exp_step_wide<T: Lanes>(x: T) -> T {
    let x2 = x * x;
    let low = (x + 1.0) + x2 * (x * (1.0 / 6.0) + 0.5);
    let high = (x * (1.0 / 120.0) + 1.0 / 24.0) + x2 * (x * (1.0 / 5040.0) + 1.0 / 720.0);
    low + x2 * x2 * (high + x2 * x2 * (1.0 / 40320.0))
}

/// exp(−t²/2) with t = (r − μ)/σ for the successive samples of a ray in one pixel, where t moves
/// little from one sample to the next: each value is the last times exp(x), x = q − q₀ the change
/// in q = −t²/2 (cheaper than −(t − t₀)(t + t₀)/2; the difference costs ~|q| · 1e-16 relative a
/// step), taken from its Taylor series to x⁴ when |x| ≤ 1/64 (truncation under |x|⁵/120 < 1e-11
/// relative) or to x⁸ when |x| ≤ 1/4 (under 1.4e-11), and from `exp` for a run's first sample,
/// when |x| is larger, and every `EXACT_EVERY` samples, so that errors cannot build up. Measured
/// on S190718y, 98% of the evaluated samples take the short series: an exp was 43% of the
/// rendering time there. The longer one is for maps narrow in distance, whose steps in the
/// Gaussian's tails are larger: on S190425z most evaluations were exact exps before it (its faces
/// 8% faster in wasm with it).
struct GaussianSteps {
    mu: f64,
    inverse_sigma: f64,
    /// −t²/2 at the last sample.
    q: f64,
    value: f64,
    since_exact: u32,
}

impl GaussianSteps {
    const EXACT_EVERY: u32 = 32;
    const SERIES_LIMIT: f64 = 1.0 / 64.0;
    /// Up to here steps take the series to x⁸ (`exp_step_wide`; truncation under e^¼ |x|⁹ / 9!
    /// < 1.4e-11 relative).
    const WIDE_SERIES_LIMIT: f64 = 1.0 / 4.0;

    fn new((mu, sigma): (f64, f64)) -> GaussianSteps {
        GaussianSteps { mu, inverse_sigma: 1.0 / sigma, q: f64::NAN, value: 0.0, since_exact: Self::EXACT_EVERY }
    }

    #[inline]
    fn at(&mut self, r: f64) -> f64 {
        let t = (r - self.mu) * self.inverse_sigma;
        let q = -0.5 * t * t;
        let x = q - self.q;
        // NaN (no previous sample) fails the comparison and takes exp.
        let fresh = self.since_exact < Self::EXACT_EVERY;
        if fresh && x.abs() <= Self::SERIES_LIMIT {
            self.value *= exp_step(x);
            self.since_exact += 1;
        } else if fresh && x.abs() <= Self::WIDE_SERIES_LIMIT {
            self.value *= exp_step_wide(x);
            self.since_exact += 1;
        } else {
            self.value = exp(q);
            self.since_exact = 0;
        }
        self.q = q;
        self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uniform numbers in [0, 1) from a xorshift generator seeded with `state`.
    fn uniform_from(mut state: u64) -> impl FnMut() -> f64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Directions everywhere, the poles, the polar-cap edges (|z| = 2/3) and φ = 0 included.
    fn directions() -> Vec<[f64; 3]> {
        let mut uniform = uniform_from(0x9E37_79B9_7F4A_7C15);
        let mut out = Vec::new();
        for k in 0..400_000 {
            let z = match k % 4 {
                0 | 1 => 2.0 * uniform() - 1.0,
                2 => (if uniform() < 0.5 { -1.0 } else { 1.0 }) * (2.0 / 3.0 + 1e-6 * (uniform() - 0.5)),
                _ => (if uniform() < 0.5 { -1.0 } else { 1.0 }) * (1.0 - 1e-9 * uniform()),
            };
            let phi = if k % 7 == 0 { 1e-12 * (uniform() - 0.5) } else { 2.0 * PI * uniform() };
            let rho = (1.0 - z * z).max(0.0).sqrt();
            let scale = 0.1 + 10.0 * uniform(); // any length
            out.push([scale * rho * phi.cos(), scale * rho * phi.sin(), scale * z]);
        }
        out
    }

    /// Along great circles stepped as the rays are, every sample `steps_in_cell` vouches for is
    /// in the cell it was vouched from, at every order a map may have: circles through random
    /// directions (caps' edges and poles included), and circles passing a pole closely, where the
    /// caps' edge coordinates bend most.
    /// Unit-speed great circles (p, q, first turn): cos t p + sin t q from t = first turn on.
    fn circles() -> Vec<([f64; 3], [f64; 3], f64)> {
        let dirs = directions();
        let mut circles = Vec::new();
        for pair in dirs.chunks(2).take(20_000) {
            // Through pair[0], turning towards pair[1].
            let n0 = dot(&pair[0], &pair[0]).sqrt();
            let p = pair[0].map(|x| x / n0);
            let along = dot(&pair[1], &p);
            let q = [pair[1][0] - along * p[0], pair[1][1] - along * p[1], pair[1][2] - along * p[2]];
            let nq = dot(&q, &q).sqrt();
            if nq >= 1e-6 {
                circles.push((p, q.map(|x| x / nq), 0.0));
            }
        }
        for (k, v) in dirs.iter().skip(40_000).take(10_000).enumerate() {
            // Nearest a pole at p, at an angle b from it (0 to 0.3 rad), heading east, from up to
            // 0.2 rad before.
            let (phi, u) = (v[1].atan2(v[0]), (v[2] / dot(v, v).sqrt() + 1.0) / 2.0);
            let b = 0.3 * u * u;
            let pole = if k % 2 == 0 { 1.0 } else { -1.0 };
            let p = [b.sin() * phi.cos(), b.sin() * phi.sin(), pole * b.cos()];
            circles.push((p, [-phi.sin(), phi.cos(), 0.0], -0.2 * ((k * 7919) % 1000) as f64 / 1000.0));
        }
        circles
    }

    /// The bounds `steps_in_cell` rests on, measured: the edge coordinates' first and second
    /// derivatives (central differences) along the test circles, in both zones.
    #[test]
    fn edge_coordinates_move_within_their_bounds() {
        let nside = (1u64 << MACHINE_ORDER) as f64;
        let (mut speed, mut accel, mut cap_speed, mut cap_accel, mut t_speed) = (0f64, 0f64, 0f64, 0f64, 0f64);
        // The largest second derivative over `edge_accel_below` at the point's own |z|.
        let mut local = 0f64;
        let h = 1e-3;
        for &(p, q, first) in &circles() {
            let at = |t: f64| [t.cos() * p[0] + t.sin() * q[0], t.cos() * p[1] + t.sin() * q[1], t.cos() * p[2] + t.sin() * q[2]];
            for k in 0..20 {
                let t = first + 0.02 * k as f64;
                let [(h0, e0), (h1, e1), (h2, e2)] = [t - h, t, t + h].map(|t| machine_cell(&at(t)));
                // The same base pixel and zone at all three points: the coordinates are smooth there.
                let face = |h: u64| h >> (2 * MACHINE_ORDER);
                if face(h0) != face(h1) || face(h2) != face(h1) || e0.cap != e1.cap || e2.cap != e1.cap {
                    continue;
                }
                let big_t = (e1.a + e1.b) / nside;
                if e1.cap && big_t < 0.02 {
                    continue; // too near the pole for differences this coarse
                }
                for (x0, x1, x2) in [(e0.a, e1.a, e2.a), (e0.b, e1.b, e2.b)] {
                    if (x2 - x0).abs() > nside {
                        continue; // φ passed 0 = 2π: A and B jump by 4 NSIDE
                    }
                    let rate = ((x2 - x0) / (2.0 * h) / nside).abs();
                    let second = ((x2 - 2.0 * x1 + x0) / (h * h) / nside).abs();
                    if e1.cap {
                        cap_speed = cap_speed.max(rate);
                        cap_accel = cap_accel.max(second * big_t);
                    } else {
                        speed = speed.max(rate);
                        accel = accel.max(second);
                        local = local.max(second / edge_accel_below(e1.za));
                    }
                }
                if e1.cap {
                    t_speed = t_speed.max(((e2.a + e2.b) - (e0.a + e0.b)).abs() / (2.0 * h) / nside);
                }
            }
        }
        eprintln!("largest seen: speed {speed:.3}, accel {accel:.3}; in the caps speed {cap_speed:.3}, accel × T {cap_accel:.3}, |T'| {t_speed:.3}");
        eprintln!("largest second derivative over the bound at its own |z|: {local:.3}");
        assert!(speed <= EDGE_SPEED && accel <= EDGE_ACCEL && local <= 1.0, "equatorial zone: {speed}, {accel}, {local}");
        assert!(local > 0.9, "the local bound is never approached ({local}): too loose to be tested");
        assert!(cap_speed <= CAP_SPEED && cap_accel <= CAP_ACCEL && t_speed <= T_SPEED, "caps: {cap_speed}, {cap_accel}, {t_speed}");
        // The circles reach the worst cases closely enough to catch a bound much too small.
        assert!(speed > 0.9 && cap_speed > 1.0 && cap_accel > 1.0 && t_speed > 1.0, "{speed} {cap_speed} {cap_accel} {t_speed}");
    }

    #[test]
    fn steps_in_cell_never_leave_the_cell() {
        let circles = circles();
        let mut vouched = 0u64;
        for (k, &(p, q, first)) in circles.iter().enumerate() {
            let order = (k % 12) as u8;
            let dtheta = 0.5 * PI / (1u64 << (order + (k % 3) as u8)) as f64 / 4.0;
            let shift = 2 * (MACHINE_ORDER - order) as u32;
            let angle = |step: u64| first + step as f64 * dtheta;
            let at = |t: f64| [t.cos() * p[0] + t.sin() * q[0], t.cos() * p[1] + t.sin() * q[1], t.cos() * p[2] + t.sin() * q[2]];
            let heading = |t: f64| [-t.sin() * p[0] + t.cos() * q[0], -t.sin() * p[1] + t.cos() * q[1], -t.sin() * p[2] + t.cos() * q[2]];
            for step in 0..400 {
                let (h, edges) = machine_cell(&at(angle(step)));
                let same = steps_in_cell(edges, order, dtheta, &at(angle(step)), &heading(angle(step)));
                for j in 1..=same {
                    let (h2, _) = machine_cell(&at(angle(step + j)));
                    assert_eq!(h2 >> shift, h >> shift, "order {order}: step {step} vouched for {same}, left at {j} ({edges:?})");
                }
                vouched += same;
            }
        }
        assert!(vouched > 100_000, "only {vouched} samples vouched for: the test tests nothing");
    }

    /// exp_series over its whole range (and beyond, where it hands over to `f64::exp`), near 0
    /// and across |r| ≤ ln 2 / 2: within 2e-14 relative of `f64::exp`.
    #[test]
    fn exp_series_follows_std() {
        let mut worst: f64 = 0.0;
        let mut check = |q: f64| {
            let (got, want) = (exp_series(q), q.exp());
            if want == 0.0 || want.is_infinite() || want.is_nan() {
                assert!(got == want || (got.is_nan() && want.is_nan()), "exp({q}) = {got}, not {want}");
            } else {
                worst = worst.max(((got - want) / want).abs());
            }
        };
        for k in 0..=200_000 {
            check(-800.0 + 1520.0 * k as f64 / 200_000.0);
        }
        for k in 0..=10_000 {
            check(-1e-3 + 2e-3 * k as f64 / 10_000.0);
            check(-0.35 * k as f64 / 10_000.0 * std::f64::consts::LN_2 / 0.35);
        }
        for q in [0.0, -0.0, -708.0, -708.5, 709.0, 709.5, -745.2, -746.0, f64::NEG_INFINITY, f64::INFINITY, f64::NAN] {
            check(q);
        }
        assert!(worst <= 2e-14, "relative error up to {worst:e}");
    }

    /// Runs of samples in one pixel, with the steps rays take (t moving by ~1e-4 to ~0.3 per
    /// sample, towards μ and away, through it, and long runs): every value within 1e-9 of exp.
    #[test]
    fn run_sums_follow_their_samples() {
        // Runs of every length parity, with steps of the orders maps use, near the axis (cos θ
        // ~ 1) and far from it (1 / cos θ steep), the Gaussian narrow and wide along them.
        for (order, theta0, a, mu, sigma) in [(9u8, -1.2f64, 40.0, 300.0, 80.0), (6, 0.3, 150.0, 160.0, 5.0), (11, 1.5, 2.0, 90.0, 60.0), (4, -0.01, 500.0, 520.0, 400.0), (9, 0.9, 100.0, 161.0, 2.0)] {
            let steps = Steps::new(0.5 * PI / (1u64 << order) as f64 / 4.0, false);
            for run in [1usize, 2, 3, 7, 64, 65, 333] {
                let (sum, sin, cos) = run_inside((mu, sigma), a, theta0.sin(), theta0.cos(), run, &steps);
                let exact: f64 = (0..run)
                    .map(|j| {
                        let theta = theta0 + j as f64 * steps.dtheta;
                        let r = a / theta.cos();
                        (-0.5 * ((r - mu) / sigma).powi(2)).exp() * r / theta.cos()
                    })
                    .sum();
                assert!((sum - exact).abs() <= 1e-10 * exact, "order {order}, θ {theta0}, run {run}: {sum} vs {exact}");
                let after = theta0 + run as f64 * steps.dtheta;
                assert!((sin - after.sin()).abs() < 1e-12 && (cos - after.cos()).abs() < 1e-12, "order {order}, run {run}: the next sample's angle");
            }
        }
    }

    #[test]
    fn gaussian_steps_follow_exp() {
        let (mu, sigma) = (400.0, 120.0);
        for (r0, dr, n) in [(10.0, 0.01, 5000), (900.0, -0.5, 1500), (380.0, 0.003, 20000), (0.0, 30.0, 60), (100.0, 3.0, 300), (700.0, -0.05, 9000)] {
            let mut steps = GaussianSteps::new((mu, sigma));
            let (mut series, mut wide) = (0, 0);
            for k in 0..n {
                // Unevenly spaced, as r = a / cos θ is.
                let r = r0 + dr * k as f64 * (1.0 + 1e-4 * k as f64);
                let exact = (-0.5 * ((r - mu) / sigma).powi(2)).exp();
                let got = steps.at(r);
                series += (steps.since_exact > 0) as usize;
                let step = -0.5 * ((r - mu) / sigma).powi(2) + 0.5 * ((r - dr * (1.0 + 2e-4 * k as f64) - mu) / sigma).powi(2);
                wide += (steps.since_exact > 0 && step.abs() > GaussianSteps::SERIES_LIMIT) as usize;
                assert!((got - exact).abs() <= 1e-9 * exact, "r0 {r0}, dr {dr}, sample {k}: {got} vs {exact}");
            }
            if dr.abs() < 4.0 {
                assert!(series * 2 > n, "r0 {r0}, dr {dr}: the series took {series} of {n} samples");
            }
            if dr == 3.0 {
                assert!(wide * 4 > n, "r0 {r0}, dr {dr}: the longer series took {wide} of {n} samples");
            }
        }
    }

    /// One of the page's example maps (www/examples), its cube's half-width and principal axes.
    fn example_map(name: &str) -> (SkyMap, f64, [[f64; 3]; 3]) {
        let path = format!("{}/www/examples/{name}", env!("CARGO_MANIFEST_DIR"));
        let map = crate::skymap::read(&std::fs::read(&path).expect("an example map")).expect("readable");
        let max_distance = crate::gwskynet::sky_inputs(&map).expect("sky inputs").max_distance;
        let rot = principal_axes(&map).expect("axes");
        (map, max_distance, rot)
    }

    /// The run rules' nodes and weights: the 4-point rule sums (k − c)^d over k = 0 … n − 1
    /// exactly for d ≤ 7, the 3-point one for d ≤ 5 (to rounding), and neither beyond.
    #[test]
    fn gram_rules_sum_polynomials_exactly() {
        for n in (RunRule::SHORTEST..=RunRule::LONGEST).step_by(7).chain([RunRule::LONGEST, 8, 9]) {
            let GramRules { offsets4: (l1, l2), weights4: (w1, w2), offset3: s, weights3: (ws, w0) } = gram_rules(n);
            let c = 0.5 * (n as f64 - 1.0);
            for d in 0..=9 {
                let power = |x: f64| x.powi(d);
                let exact: f64 = (0..n).map(|k| power(k as f64 - c)).sum();
                let scale: f64 = (0..n).map(|k| power(k as f64 - c).abs()).sum();
                let by4 = w1 * (power(-l1) + power(l1)) + w2 * (power(-l2) + power(l2));
                let by3 = ws * (power(-s) + power(s)) + w0 * power(0.0);
                let (error4, error3) = ((by4 - exact).abs() / scale, (by3 - exact).abs() / scale);
                if d <= 7 {
                    assert!(error4 <= 1e-12, "n {n}, degree {d}: 4-point rule off by {error4:e}");
                } else if d % 2 == 0 {
                    assert!(error4 > 1e-6, "n {n}, degree {d}: 4-point rule exact beyond degree 7?");
                }
                if d <= 5 {
                    assert!(error3 <= 1e-12, "n {n}, degree {d}: 3-point rule off by {error3:e}");
                } else if d % 2 == 0 {
                    assert!(error3 > 1e-6, "n {n}, degree {d}: 3-point rule exact beyond degree 5?");
                }
            }
        }
    }

    /// Where a run rule answers, it is within 1e-7 of the run's sum over its samples (seen: up to
    /// 1e-8, where the 3-point rule happened to be as close as the 4-point one); it answers for
    /// a good part of random runs; where a narrow Gaussian's peak lies between its nodes it does not.
    #[test]
    fn run_rules_follow_their_samples() {
        let mut uniform = uniform_from(0x2545_F491_4F6C_DD1D);
        let exact = |(mu, sigma): (f64, f64), a: f64, theta0: f64, dtheta: f64, n: usize| -> f64 {
            (0..n)
                .map(|k| {
                    let theta = theta0 + k as f64 * dtheta;
                    let r = a / theta.cos();
                    (-0.5 * ((r - mu) / sigma).powi(2)).exp() * r / theta.cos()
                })
                .sum()
        };
        let (mut tried, mut answered, mut worst) = (0, 0, 0f64);
        for order in [6u8, 9, 11] {
            let steps = Steps::new(0.5 * PI / (1u64 << order) as f64 / 4.0, true);
            for _ in 0..4000 {
                let n = RunRule::SHORTEST + (uniform() * (RunRule::LONGEST - RunRule::SHORTEST) as f64) as usize;
                let theta0 = (2.0 * uniform() - 1.0) * 1.4;
                let a = 10.0 + 500.0 * uniform();
                let r0 = a / theta0.cos();
                // μ near the run's distances, σ from narrow (a few per cent) to wide.
                let mu = r0 * (0.5 + uniform());
                let sigma = mu * (0.02 + 0.5 * uniform());
                let rule = steps.rules[n].as_ref().expect("a rule for every length in range");
                tried += 1;
                if let Some(sum) = rule.sum((mu, sigma), a, theta0.sin(), theta0.cos()) {
                    let want = exact((mu, sigma), a, theta0, steps.dtheta, n);
                    let error = (sum - want).abs() / want;
                    worst = worst.max(error);
                    assert!(error <= 1e-7, "order {order}, n {n}, θ0 {theta0}, a {a}, μ {mu}, σ {sigma}: {sum} vs {want}");
                    answered += 1;
                }
            }
        }
        // (Random runs are longer and narrower in distance than most of a wide map's.)
        assert!(answered * 5 > tried, "{answered} of {tried} runs summed by the rules");
        eprintln!("{answered} of {tried} runs by the rules, worst relative error {worst:e}");
        // A narrow Gaussian whose peak lies between the rule's nodes (on the run's 17th sample of
        // 64): its values at the nodes are far in its tails.
        let steps = Steps::new(0.5 * PI / (1u64 << 11) as f64 / 4.0, true);
        let (theta0, a, n) = (0.8f64, 100.0, 64);
        let peak_at = a / (theta0 + 17.0 * steps.dtheta).cos();
        let narrow = (peak_at, 1e-3 * peak_at);
        assert!(steps.rules[n].as_ref().unwrap().sum(narrow, a, theta0.sin(), theta0.cos()).is_none(), "a hidden peak summed by the rules");
        assert!(exact(narrow, a, theta0, steps.dtheta, n) > 0.5 * peak_at);
    }

    /// The largest difference between two renderings of a face, and the second one's peak.
    fn off_by(image: &[f64], reference: &[f64]) -> (f64, f64) {
        let peak = reference.iter().fold(0f64, |m, v| m.max(*v));
        (image.iter().zip(reference).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max), peak)
    }

    /// Summing long runs by their rules changes the example map's faces by under 1e-9 of their
    /// peaks, against sums over every sample.
    #[test]
    fn rules_change_faces_by_little() {
        let (map, max_distance, rot) = example_map("simulated-bbh.fits.gz");
        let renderer = Renderer::new(&map).expect("renderer");
        for axes in FACES {
            let size = 64;
            let mut plan = renderer.plan_face(&rot, max_distance, axes, size);
            let (by_rules, counts) = renderer.render_planned_rows(&plan, 0..size);
            plan.steps = Steps::new(plan.steps.dtheta, false);
            let (by_samples, sample_counts) = renderer.render_planned_rows(&plan, 0..size);
            let (worst, peak) = off_by(&by_rules, &by_samples);
            assert!(worst <= 1e-9 * peak, "{axes:?}: off by {worst:e} of a peak {peak:e}");
            assert_eq!(counts.samples, sample_counts.samples, "{axes:?}: the same samples");
            // This map is coarse (order 9 at most: runs are short); in real wide maps most samples are.
            assert!(counts.by_rule * 50 > counts.samples, "{axes:?}: {} of {} samples by the rules", counts.by_rule, counts.samples);
            assert_eq!(sample_counts.by_rule, 0);
        }
    }

    /// Passing over the stretches of θ where no cell matters at a ray's distances (`Pruning::grid`)
    /// leaves out only samples the pixels' own reach would leave out: the same image, with fewer
    /// lookups.
    #[test]
    fn grid_skips_only_what_pixels_skip() {
        let (map, max_distance, rot) = example_map("simulated-bbh.fits.gz");
        let renderer = Renderer::new(&map).expect("renderer");
        for axes in FACES {
            let size = 64;
            let plan = renderer.plan_face(&rot, max_distance, axes, size);
            let (with_grid, counts) = renderer.render_planned_rows(&plan, 0..size);
            let mut without = renderer.plan_face(&rot, max_distance, axes, size);
            without.pruning.as_mut().expect("a pruned face").grid.fill((0.0, f64::INFINITY));
            let (plain, plain_counts) = renderer.render_planned_rows(&without, 0..size);
            let (worst, peak) = off_by(&with_grid, &plain);
            assert!(worst <= 1e-12 * peak, "{axes:?}: off by {worst:e} of a peak {peak:e}");
            assert_eq!(counts.samples, plain_counts.samples, "{axes:?}: the same samples");
            assert!(counts.lookups < plain_counts.lookups, "{axes:?}: {} lookups with the grid, {} without: nothing passed over", counts.lookups, plain_counts.lookups);
        }
    }

    /// What is skipped (cells, and runs of samples in negligible pixels) changes no pixel of a
    /// face by more than `TOLERANCE` of its peak, on the project's example maps (so no shared
    /// data), against the sums over every sample.
    #[test]
    fn skipping_stays_within_tolerance() {
        for name in ["simulated-bbh.fits.gz"] {
            let (map, max_distance, rot) = example_map(name);
            let renderer = Renderer::new(&map).expect("renderer");
            for axes in FACES {
                // A coarser image than GWSkyNet's: every sample of every ray is costly.
                let size = 48;
                let (skipping, stats) = renderer.render_face(&rot, max_distance, axes, size);
                let plan = renderer.plan_face(&rot, max_distance, axes, size);
                let (every, all) = renderer.render_face_with(&plan, None, 1, 0..size);
                let all_samples = all.samples;
                let (worst, peak) = off_by(&skipping, &every);
                assert!(peak > 0.0);
                assert!(worst <= TOLERANCE * peak, "{name} {axes:?}: off by {worst:e} of a peak {peak:e}");
                assert!(stats.samples * 2 < all_samples, "{name} {axes:?}: {} of {all_samples} samples taken: nothing skipped", stats.samples);
            }
        }
    }

    /// `quarter_turns` against `f64::atan2` (as quarter turns in [0, 4)): on the test directions,
    /// near the axes and the octants' edges, and at the extremes of scale.
    #[test]
    fn quarter_turns_follow_atan2() {
        let want = |y: f64, x: f64| {
            let tt = y.atan2(x) * std::f64::consts::FRAC_2_PI;
            if tt < 0.0 { tt + 4.0 } else { tt }
        };
        let mut worst = 0f64;
        let mut check = |y: f64, x: f64| {
            let (got, want) = (quarter_turns(y, x), want(y, x));
            // 0 and 4 are one direction.
            let d = got - want;
            worst = worst.max(d.abs().min((d - 4.0).abs()).min((d + 4.0).abs()));
        };
        for v in directions() {
            check(v[1], v[0]);
        }
        let mut uniform = uniform_from(0x5DEE_CE66_D1CE_4E5B);
        for k in 0..200_000 {
            // Angles near the multiples of π/8, the reduction's seams.
            let phi = (k % 16) as f64 * PI / 8.0 + 1e-9 * (uniform() - 0.5) * (10f64).powi((k % 7) as i32);
            let r = (10f64).powi((k % 11) as i32 - 5);
            check(r * phi.sin(), r * phi.cos());
        }
        for (y, x) in [(0.0, 1.0), (1.0, 0.0), (0.0, -1.0), (-1.0, 0.0), (1e-300, -1.0), (-1e-300, 1.0), (-1e-300, -1.0), (1e300, 1e-300), (-0.0, 1.0), (-0.0, -1.0)] {
            check(y, x);
        }
        eprintln!("quarter_turns: off by up to {worst:e} quarter turns");
        assert!(worst <= 1e-15, "off by up to {worst:e} quarter turns");
        assert_eq!(quarter_turns(0.0, 0.0), 0.0);
    }

    #[test]
    fn machine_hash_is_cdshealpix_hash() {
        let mut differ = 0;
        let dirs = directions();
        for v in &dirs {
            let lon = v[1].atan2(v[0]);
            let lat = v[2].atan2((v[0] * v[0] + v[1] * v[1]).sqrt());
            let want = cdshealpix::nested::hash(MACHINE_ORDER, lon, lat);
            let got = machine_cell(v).0;
            if got != want {
                differ += 1;
                // Only rounding may differ: then `got` is cdshealpix's cell of a point within
                // 1e-12 rad (a map's finest pixels are 1e-4 rad wide).
                let nearby = [(1e-12, 0.0), (-1e-12, 0.0), (0.0, 1e-12), (0.0, -1e-12)]
                    .iter()
                    .any(|(dl, db)| cdshealpix::nested::hash(MACHINE_ORDER, (lon + dl).rem_euclid(2.0 * PI), (lat + db).clamp(-PI / 2.0, PI / 2.0)) == got);
                assert!(nearby, "{v:?}: {got} vs {want}");
            }
        }
        assert!(differ * 10_000 <= dirs.len(), "{differ} of {} differ at the finest order", dirs.len());
    }
}
