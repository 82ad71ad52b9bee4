//! dm–dt images (Mahabal et al. 2017): every pair of epochs i < j of a time-sorted light curve
//! gives Δt = t_j − t_i and Δm = m_j − m_i; the pairs are counted on a grid.
//!
//! Counting is done by the `light-curve-dmdt` crate (the library behind PyPI `light-curve`'s
//! `DmDt`). Its convention, ours too: a bin is closed on the left and open on the right,
//! `[e_k, e_{k+1})`, on both axes; a pair with Δt or Δm below the first edge or at/above the
//! last edge is outside the grid and is not counted. (numpy's `histogram2d` differs only in
//! closing its last bin on the right.)
//!
//! Images are stored row-major as `[dt][dm]`: `values[i_dt * n_dm + i_dm]`.

use crate::error::{Error, Result};
use crate::lightcurve::LightCurve;
use light_curve_dmdt::ndarray::Array1;
use light_curve_dmdt::{ArrayGrid, CellIndex, DmDt, ExactErf, GridTrait};

/// Most points one dm–dt image is made from: pairs grow as n²/2 (1.25·10⁹ pairs here).
pub const MAX_POINTS: usize = 50_000;
/// Most bins along one axis of a grid.
pub const MAX_BINS: usize = 1024;

/// Δt edges of Mahabal et al. 2017, §3, in days (24 edges, 23 bins).
const MAHABAL_DT: [f64; 24] = [
    1.0 / 145.0, 2.0 / 145.0, 3.0 / 145.0, 4.0 / 145.0, 1.0 / 25.0, 2.0 / 25.0, 3.0 / 25.0,
    1.5, 2.5, 3.5, 4.5, 5.5, 7.0, 10.0, 20.0, 30.0, 60.0, 90.0, 120.0, 240.0, 600.0, 960.0, 2000.0, 4000.0,
];
/// Δm edges of Mahabal et al. 2017, §3: ±[0, 0.1, 0.2, 0.3, 0.5, 1, 1.5, 2, 2.5, 3, 5, 8] mag.
/// That printed list gives 23 edges (22 bins), not the 25 edges a "23 × 24" image would need;
/// the ZTF group's own copy of this grid (`crts` in Kowalski's `DMDT_INTERVALS`) has the same
/// 23 Δm edges. We keep the published edges rather than invent two.
const MAHABAL_DM: [f64; 23] = [
    -8.0, -5.0, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, -0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.5, 1.0, 1.5,
    2.0, 2.5, 3.0, 5.0, 8.0,
];
/// ZTF SCoPe's grid (`dmdt_ints` v20200318 in scope-ml's configuration): 26 × 26.
const SCOPE_DT: [f64; 27] = [
    0.0, 4.0 / 145.0, 1.0 / 25.0, 2.0 / 25.0, 3.0 / 25.0, 0.3, 0.75, 1.0, 1.5, 2.5, 3.5, 4.5, 5.5, 7.0,
    10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 240.0, 360.0, 500.0, 650.0, 2000.0,
];
const SCOPE_DM: [f64; 27] = [
    -8.0, -4.5, -3.0, -2.5, -2.0, -1.5, -1.25, -0.75, -0.5, -0.3, -0.2, -0.1, -0.05, 0.0, 0.05, 0.1, 0.2,
    0.3, 0.5, 0.75, 1.25, 1.5, 2.0, 2.5, 3.0, 4.5, 8.0,
];

/// Bin edges of a dm–dt image.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Grid {
    pub name: String,
    pub dt_edges: Vec<f64>,
    pub dm_edges: Vec<f64>,
}

/// How an axis of a custom grid is built.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum AxisSpec {
    /// Explicit, strictly increasing edges.
    Edges { edges: Vec<f64> },
    /// `bins` equal bins from `start` to `end`.
    Linear { start: f64, end: f64, bins: usize },
    /// `bins` bins equal in log10 from `start` to `end` (both > 0).
    Log { start: f64, end: f64, bins: usize },
}

impl AxisSpec {
    pub fn edges(&self, axis: &str) -> Result<Vec<f64>> {
        let edges = match *self {
            AxisSpec::Edges { ref edges } => edges.clone(),
            AxisSpec::Linear { start, end, bins } => {
                check_bins(bins, axis)?;
                (0..=bins).map(|k| start + (end - start) * k as f64 / bins as f64).collect()
            }
            AxisSpec::Log { start, end, bins } => {
                check_bins(bins, axis)?;
                if !(start > 0.0 && end > 0.0) {
                    return Err(Error::Option(format!("a log {axis} axis needs start and end above 0")));
                }
                let (a, b) = (start.log10(), end.log10());
                (0..=bins).map(|k| 10f64.powf(a + (b - a) * k as f64 / bins as f64)).collect()
            }
        };
        check_edges(&edges, axis)?;
        Ok(edges)
    }
}

fn check_bins(bins: usize, axis: &str) -> Result<()> {
    if bins == 0 || bins > MAX_BINS {
        return Err(Error::Option(format!("the {axis} axis needs between 1 and {MAX_BINS} bins, not {bins}")));
    }
    Ok(())
}

fn check_edges(edges: &[f64], axis: &str) -> Result<()> {
    if edges.len() < 2 || edges.len() > MAX_BINS + 1 {
        return Err(Error::Option(format!("the {axis} axis needs between 2 and {} edges, not {}", MAX_BINS + 1, edges.len())));
    }
    if let Some(bad) = edges.iter().find(|e| !e.is_finite()) {
        return Err(Error::Option(format!("{axis} edge {bad} is not a finite number")));
    }
    if let Some(w) = edges.windows(2).find(|w| w[0] >= w[1]) {
        return Err(Error::Option(format!("{axis} edges must increase strictly, but {} is followed by {}", w[0], w[1])));
    }
    Ok(())
}

impl Grid {
    pub const NAMES: [&'static str; 2] = ["mahabal2017", "scope"];

    pub fn mahabal2017() -> Grid {
        Grid { name: "mahabal2017".into(), dt_edges: MAHABAL_DT.to_vec(), dm_edges: MAHABAL_DM.to_vec() }
    }

    pub fn scope() -> Grid {
        Grid { name: "scope".into(), dt_edges: SCOPE_DT.to_vec(), dm_edges: SCOPE_DM.to_vec() }
    }

    pub fn named(name: &str) -> Result<Grid> {
        match name.to_ascii_lowercase().as_str() {
            "mahabal2017" | "mahabal" => Ok(Grid::mahabal2017()),
            "scope" | "ztf-scope" => Ok(Grid::scope()),
            other => Err(Error::Option(format!("unknown grid '{other}': use {} or custom edges", Grid::NAMES.join(", ")))),
        }
    }

    pub fn custom(dt: &AxisSpec, dm: &AxisSpec) -> Result<Grid> {
        Ok(Grid { name: "custom".into(), dt_edges: dt.edges("dt")?, dm_edges: dm.edges("dm")? })
    }

    /// (number of Δt bins, number of Δm bins).
    pub fn shape(&self) -> (usize, usize) {
        (self.dt_edges.len() - 1, self.dm_edges.len() - 1)
    }

    /// The Δt and Δm axes as light-curve-dmdt grids, their edges checked.
    fn axes(&self) -> Result<(ArrayGrid<f64>, ArrayGrid<f64>)> {
        check_edges(&self.dt_edges, "dt")?;
        check_edges(&self.dm_edges, "dm")?;
        let dt = ArrayGrid::new(Array1::from(self.dt_edges.clone())).map_err(|e| Error::Option(format!("dt edges: {e}")))?;
        let dm = ArrayGrid::new(Array1::from(self.dm_edges.clone())).map_err(|e| Error::Option(format!("dm edges: {e}")))?;
        Ok((dt, dm))
    }
}

/// What the image's pixel values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Normalisation {
    /// Pair counts (or, when smeared, expected counts).
    #[default]
    Counts,
    /// Mahabal et al. 2017: 255 × value / (number of pairs n(n−1)/2), so an image sums to ≤ 255.
    Pairs255,
    /// Each Δt column divided by its own sum (light-curve's `norm=["dt"]`).
    Dt,
    /// Divided by the largest pixel.
    Max,
    /// Divided by the image's L2 norm (ZTF SCoPe).
    L2,
}

impl Normalisation {
    pub const NAMES: [&'static str; 5] = ["counts", "pairs255", "dt", "max", "l2"];

    pub fn named(name: &str) -> Result<Normalisation> {
        match name.to_ascii_lowercase().as_str() {
            "counts" | "none" => Ok(Normalisation::Counts),
            "pairs255" | "mahabal" => Ok(Normalisation::Pairs255),
            "dt" => Ok(Normalisation::Dt),
            "max" => Ok(Normalisation::Max),
            "l2" => Ok(Normalisation::L2),
            other => Err(Error::Option(format!("unknown normalisation '{other}': use {}", Normalisation::NAMES.join(", ")))),
        }
    }
}

/// A dm–dt image of one light curve.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Image {
    pub n_dt: usize,
    pub n_dm: usize,
    /// Pixel values, row-major `[dt][dm]`, after normalisation.
    pub values: Vec<f64>,
    /// Pair counts per pixel before normalisation (expected counts when smeared).
    pub counts: Vec<f64>,
    pub n_points: usize,
    /// All pairs, n(n−1)/2.
    pub n_pairs: u64,
    /// Pairs that fell inside the grid (sum of `counts` when not smeared).
    pub n_in_grid: u64,
    pub normalisation: Normalisation,
    pub smeared: bool,
}

impl Image {
    pub fn at(&self, i_dt: usize, i_dm: usize) -> f64 {
        self.values[i_dt * self.n_dm + i_dm]
    }
}

/// Options of [`image`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageOptions {
    pub normalisation: Normalisation,
    /// Spread each pair over Δm as a Gaussian of variance err_i² + err_j² (needs errors).
    pub smear: bool,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions { normalisation: Normalisation::Counts, smear: false }
    }
}

fn check_curve(curve: &LightCurve) -> Result<()> {
    if curve.len() > MAX_POINTS {
        return Err(Error::Limit(format!(
            "{} has {} points; a dm–dt image is made from at most {MAX_POINTS} (pairs grow as n²/2): choose a band or a time range",
            curve.label(),
            curve.len()
        )));
    }
    if curve.time.windows(2).any(|w| !(w[0] <= w[1])) {
        return Err(Error::Value(format!("{}: times must be sorted and finite", curve.label())));
    }
    Ok(())
}

/// Every pair i < j of a time-sorted light curve that falls in the grid, as (i, j, Δt pixel,
/// Δm pixel), given to `visit` until it returns false. `DmDt::points`' loop, with the
/// `ArrayGrid` lookups called directly rather than through the library's `Grid` dispatch over grid
/// kinds: when unrelated code elsewhere in the crate changed, the optimiser left that dispatching
/// lookup a call per pair, and counting took 1.7 times as long in wasm.
fn visit_pairs(dt: &ArrayGrid<f64>, dm: &ArrayGrid<f64>, time: &[f64], mag: &[f64], mut visit: impl FnMut(usize, usize, usize, usize) -> bool) {
    for (i, (&t1, &m1)) in time.iter().zip(mag).enumerate() {
        for (j, (&t2, &m2)) in (i + 1..).zip(time[i + 1..].iter().zip(&mag[i + 1..])) {
            let i_dt = match dt.idx(t2 - t1) {
                CellIndex::LowerMin => continue,
                // Times are sorted: every later pair is past the grid too.
                CellIndex::GreaterMax => break,
                CellIndex::Value(i_dt) => i_dt,
            };
            if let CellIndex::Value(i_dm) = dm.idx(m2 - m1) {
                if !visit(i, j, i_dt, i_dm) {
                    return;
                }
            }
        }
    }
}

/// The dm–dt image of a cleaned, time-sorted light curve.
pub fn image(curve: &LightCurve, grid: &Grid, options: ImageOptions) -> Result<Image> {
    check_curve(curve)?;
    let (dt, dm) = grid.axes()?;
    let (n_dt, n_dm) = grid.shape();
    let mut points = vec![0u64; n_dt * n_dm];
    visit_pairs(&dt, &dm, &curve.time, &curve.mag, |_, _, i_dt, i_dm| {
        points[i_dt * n_dm + i_dm] += 1;
        true
    });
    let n_in_grid: u64 = points.iter().sum();
    let counts: Vec<f64> = if options.smear {
        let err = curve.err.as_ref().ok_or_else(|| {
            Error::Option(format!("smearing by errors needs magnitude errors, and {} has none", curve.label()))
        })?;
        let err2: Vec<f64> = err.iter().map(|e| e * e).collect();
        if err2.contains(&0.0) {
            return Err(Error::Value(format!("smearing needs errors above zero; {} has a zero error", curve.label())));
        }
        DmDt::from_grids(dt, dm).gausses::<ExactErf>(&curve.time, &curve.mag, &err2).iter().copied().collect()
    } else {
        points.iter().map(|&c| c as f64).collect()
    };
    let n = curve.len() as u64;
    let n_pairs = n * n.saturating_sub(1) / 2;
    let values = normalise(&counts, n_dt, n_dm, n_pairs, options.normalisation);
    Ok(Image { n_dt, n_dm, values, counts, n_points: curve.len(), n_pairs, n_in_grid, normalisation: options.normalisation, smeared: options.smear })
}

/// Applies a normalisation to an image's counts; an all-zero image stays all zero.
pub fn normalise(counts: &[f64], n_dt: usize, n_dm: usize, n_pairs: u64, norm: Normalisation) -> Vec<f64> {
    let scaled = |s: f64| -> Vec<f64> { if s > 0.0 { counts.iter().map(|c| c / s).collect() } else { vec![0.0; counts.len()] } };
    match norm {
        Normalisation::Counts => counts.to_vec(),
        Normalisation::Pairs255 => scaled(n_pairs as f64 / 255.0),
        Normalisation::Max => scaled(counts.iter().copied().fold(0.0, f64::max)),
        Normalisation::L2 => scaled(counts.iter().map(|c| c * c).sum::<f64>().sqrt()),
        Normalisation::Dt => {
            let mut out = counts.to_vec();
            for i in 0..n_dt {
                let row = &mut out[i * n_dm..(i + 1) * n_dm];
                let s: f64 = row.iter().sum();
                if s > 0.0 {
                    row.iter_mut().for_each(|v| *v /= s);
                }
            }
            out
        }
    }
}

/// The pairs (i, j), i < j, indices into the sorted light curve, that fell in pixel
/// (`i_dt`, `i_dm`): what a teacher points at to explain the image. At most `limit` are
/// returned, in order of i then j.
pub fn pairs_in_pixel(curve: &LightCurve, grid: &Grid, i_dt: usize, i_dm: usize, limit: usize) -> Result<Vec<(usize, usize)>> {
    check_curve(curve)?;
    let (n_dt, n_dm) = grid.shape();
    if i_dt >= n_dt || i_dm >= n_dm {
        return Err(Error::Option(format!("pixel ({i_dt}, {i_dm}) is outside the {n_dt} × {n_dm} grid")));
    }
    let (dt, dm) = grid.axes()?;
    let mut out = Vec::new();
    visit_pairs(&dt, &dm, &curve.time, &curve.mag, |i, j, in_dt, in_dm| {
        if (in_dt, in_dm) != (i_dt, i_dm) {
            return true;
        }
        out.push((i, j));
        out.len() < limit
    });
    Ok(out)
}

/// A grid as callers name it: `"scope"`, or `{"dt": {...}, "dm": {...}}` axis specs.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(untagged)]
pub enum GridChoice {
    Named(String),
    Custom { dt: AxisSpec, dm: AxisSpec },
}

impl Default for GridChoice {
    fn default() -> Self {
        GridChoice::Named("mahabal2017".into())
    }
}

impl GridChoice {
    pub fn grid(&self) -> Result<Grid> {
        match self {
            GridChoice::Named(name) => Grid::named(name),
            GridChoice::Custom { dt, dm } => Grid::custom(dt, dm),
        }
    }
}

/// Everything a dm–dt request says, shared by the CLI and the wasm facade.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Request {
    pub grid: GridChoice,
    pub normalisation: Normalisation,
    pub smear: bool,
}

impl Default for Request {
    fn default() -> Self {
        Request { grid: GridChoice::default(), normalisation: Normalisation::Counts, smear: false }
    }
}

/// Counts are whole numbers unless smeared.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Counts {
    Whole(Vec<Vec<u64>>),
    Expected(Vec<Vec<f64>>),
}

/// One dm–dt image with what it was made from: the JSON the CLI prints and the page gets.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Record {
    pub object: Option<String>,
    pub band: Option<String>,
    pub grid: String,
    pub dt_edges: Vec<f64>,
    pub dm_edges: Vec<f64>,
    /// Counts per pixel, an array over Δt bins of arrays over Δm bins.
    pub counts: Counts,
    pub normalisation: Normalisation,
    /// Normalised pixel values, same layout as `counts`.
    pub image: Vec<Vec<f64>>,
    pub smeared: bool,
    pub n_points: usize,
    pub n_pairs: u64,
    pub n_in_grid: u64,
    pub dropped: usize,
}

/// Makes the image of `curve` as `request` says and wraps it in a [`Record`].
pub fn record(curve: &LightCurve, request: &Request) -> Result<Record> {
    let grid = request.grid.grid()?;
    let img = image(curve, &grid, ImageOptions { normalisation: request.normalisation, smear: request.smear })?;
    let rows = |v: &[f64]| v.chunks(img.n_dm).map(<[f64]>::to_vec).collect::<Vec<_>>();
    let counts = if img.smeared {
        Counts::Expected(rows(&img.counts))
    } else {
        Counts::Whole(img.counts.chunks(img.n_dm).map(|r| r.iter().map(|&c| c as u64).collect()).collect())
    };
    Ok(Record {
        object: curve.object.clone(),
        band: curve.band.clone(),
        grid: grid.name.clone(),
        dt_edges: grid.dt_edges.clone(),
        dm_edges: grid.dm_edges.clone(),
        counts,
        normalisation: img.normalisation,
        image: rows(&img.values),
        smeared: img.smeared,
        n_points: img.n_points,
        n_pairs: img.n_pairs,
        n_in_grid: img.n_in_grid,
        dropped: curve.dropped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(t: &[f64], m: &[f64]) -> LightCurve {
        LightCurve { object: None, band: None, time: t.to_vec(), mag: m.to_vec(), err: None, dropped: 0 }
    }

    #[test]
    fn grid_shapes() {
        assert_eq!(Grid::mahabal2017().shape(), (23, 22));
        assert_eq!(Grid::scope().shape(), (26, 26));
        assert!(Grid::named("nope").is_err());
    }

    #[test]
    fn edge_convention_left_closed() {
        let grid = Grid { name: "t".into(), dt_edges: vec![0.0, 1.0, 2.0], dm_edges: vec![-1.0, 0.0, 1.0] };
        // Pairs: (0,1): dt 1, dm 0 -> bin (1,1); (0,2): dt 2 -> outside (last edge open);
        // (1,2): dt 1, dm -1 -> bin (1,0).
        let img = image(&curve(&[0.0, 1.0, 2.0], &[0.0, 0.0, -1.0]), &grid, ImageOptions::default()).unwrap();
        assert_eq!(img.counts, vec![0.0, 0.0, 1.0, 1.0]);
        assert_eq!(img.n_pairs, 3);
        assert_eq!(img.n_in_grid, 2);
    }

    #[test]
    fn equal_times_count_when_grid_starts_at_zero() {
        let c = curve(&[5.0, 5.0], &[10.0, 10.04]);
        let scope = image(&c, &Grid::scope(), ImageOptions::default()).unwrap();
        assert_eq!(scope.n_in_grid, 1);
        assert_eq!(scope.counts[13], 1.0, "dt bin 0, dm bin [0, 0.05)");
        let mahabal = image(&c, &Grid::mahabal2017(), ImageOptions::default()).unwrap();
        assert_eq!(mahabal.n_in_grid, 0, "Δt = 0 is below the first Mahabal edge");
    }

    #[test]
    fn normalisations() {
        let counts = vec![1.0, 3.0, 0.0, 0.0];
        assert_eq!(normalise(&counts, 2, 2, 6, Normalisation::Max), vec![1.0 / 3.0, 1.0, 0.0, 0.0]);
        assert_eq!(normalise(&counts, 2, 2, 6, Normalisation::Dt), vec![0.25, 0.75, 0.0, 0.0]);
        assert_eq!(normalise(&counts, 2, 2, 6, Normalisation::Pairs255), vec![42.5, 127.5, 0.0, 0.0]);
        let l2 = normalise(&counts, 2, 2, 6, Normalisation::L2);
        assert!((l2.iter().map(|v| v * v).sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(normalise(&[0.0; 4], 2, 2, 6, Normalisation::Max), vec![0.0; 4]);
    }

    #[test]
    fn smearing_conserves_pairs_inside_dm_range() {
        let mut c = curve(&[0.0, 1.0, 3.0, 7.0], &[10.0, 10.2, 9.9, 10.1]);
        c.err = Some(vec![0.05; 4]);
        let grid = Grid::custom(&AxisSpec::Log { start: 0.5, end: 10.0, bins: 4 }, &AxisSpec::Linear { start: -3.0, end: 3.0, bins: 30 }).unwrap();
        let img = image(&c, &grid, ImageOptions { normalisation: Normalisation::Counts, smear: true }).unwrap();
        let total: f64 = img.counts.iter().sum();
        assert!((total - 6.0).abs() < 1e-6, "{total}");
        assert!(image(&curve(&[0.0, 1.0], &[1.0, 2.0]), &grid, ImageOptions { smear: true, ..Default::default() }).is_err());
    }

    #[test]
    fn pixel_pairs_match_counts() {
        let t: Vec<f64> = (0..60).map(|k| (k as f64 * 1.7).powf(1.3)).collect();
        let m: Vec<f64> = t.iter().map(|x| (x * 0.3).sin()).collect();
        let c = curve(&t, &m);
        let grid = Grid::scope();
        let img = image(&c, &grid, ImageOptions::default()).unwrap();
        for i_dt in 0..img.n_dt {
            for i_dm in 0..img.n_dm {
                let pairs = pairs_in_pixel(&c, &grid, i_dt, i_dm, usize::MAX).unwrap();
                assert_eq!(pairs.len() as f64, img.counts[i_dt * img.n_dm + i_dm]);
            }
        }
    }

    #[test]
    fn bad_grids_are_refused() {
        assert!(AxisSpec::Edges { edges: vec![0.0, 0.0] }.edges("dt").unwrap_err().to_string().contains("increase strictly"));
        assert!(AxisSpec::Log { start: 0.0, end: 1.0, bins: 3 }.edges("dt").is_err());
        assert!(AxisSpec::Linear { start: 0.0, end: 1.0, bins: 0 }.edges("dm").is_err());
        assert!(AxisSpec::Edges { edges: vec![0.0, f64::NAN] }.edges("dm").is_err());
    }
}
