//! Periods and light-curve shape: the generalised Lomb–Scargle periodogram (Zechmeister &
//! Kürster 2009, "floating mean", weighted by the errors) over one or more bands, and a
//! three-harmonic Fourier fit at the best period. The classifier reads these beside the dm–dt
//! image: a dm–dt image keeps time scales and amplitudes but not the period or the shape of the
//! folded light curve, which is what tells an RR Lyrae star from a Cepheid or a binary.
//!
//! Written here rather than taken from a crate: the field's Rust library, `light-curve-feature`,
//! is GPL-3.0 (this crate is MIT/Apache-2.0), and no permissively licensed crate does the
//! weighted floating-mean periodogram. The power equals astropy's
//! `LombScargle(t, y, dy).power(f)` ("standard" normalisation, `fit_mean=True`); a golden test
//! checks it (`tests/golden/make_period_golden.py`).

use crate::lightcurve::LightCurve;

/// Highest frequency searched, per day: periods down to 0.25 d (the shortest RR Lyrae stars).
pub const MAX_FREQUENCY: f64 = 4.0;
/// Frequency step as a fraction of 1 / (time span): five samples per periodogram peak.
pub const OVERSAMPLING: f64 = 5.0;
/// At most this many trial frequencies (a very long span gets a coarser step): bounds the work.
pub const MAX_FREQUENCIES: usize = 100_000;
/// The periodogram of a band with more points reads every k-th point, at most this many: the
/// work grows as points × frequencies, and the classifier was trained on ~120 points per band.
pub const MAX_PERIODOGRAM_POINTS: usize = 2_000;
/// A band needs this many points to enter the periodogram and the Fourier fit.
pub const MIN_POINTS: usize = 8;
/// Harmonics of the Fourier fit.
const HARMONICS: usize = 3;

/// The trial frequencies for curves spanning `span` days: from 1/span to `MAX_FREQUENCY`.
pub fn frequency_grid(span: f64) -> Vec<f64> {
    if !(span > 2.0 / MAX_FREQUENCY) {
        return Vec::new();
    }
    let f_min = 1.0 / span;
    let step = (f_min / OVERSAMPLING).max((MAX_FREQUENCY - f_min) / (MAX_FREQUENCIES - 1) as f64);
    let n = (((MAX_FREQUENCY - f_min) / step).floor() as usize + 1).min(MAX_FREQUENCIES);
    (0..n).map(|k| f_min + k as f64 * step).collect()
}

/// The generalised Lomb–Scargle power of one band at `frequencies` (evenly spaced, as from
/// `frequency_grid`), in [0, 1]. Points are weighted by 1/err² (equally without errors).
pub fn power(curve: &LightCurve, frequencies: &[f64]) -> Vec<f64> {
    let n = curve.len();
    let mut out = vec![0.0; frequencies.len()];
    if n < 3 || frequencies.is_empty() {
        return out;
    }
    let w = weights(curve);
    let t0 = curve.time[0];
    let t: Vec<f64> = curve.time.iter().map(|t| t - t0).collect();
    let y_mean: f64 = w.iter().zip(&curve.mag).map(|(w, y)| w * y).sum();
    let y: Vec<f64> = curve.mag.iter().map(|m| m - y_mean).collect();
    let yy: f64 = w.iter().zip(&y).map(|(w, y)| w * y * y).sum();
    if !(yy > 0.0) {
        return out;
    }
    let step = if frequencies.len() > 1 { frequencies[1] - frequencies[0] } else { 0.0 };
    let tau = std::f64::consts::TAU;
    // cos and sin of 2π f t for each point, advanced from one frequency to the next by a
    // rotation (two multiplications instead of a sin and a cos), recomputed exactly every
    // RESYNC frequencies so that rounding cannot drift.
    const RESYNC: usize = 512;
    let (step_cos, step_sin): (Vec<f64>, Vec<f64>) = t.iter().map(|&t| ((tau * step * t).cos(), (tau * step * t).sin())).unzip();
    let mut c = vec![0.0; n];
    let mut s = vec![0.0; n];
    for (k, &f) in frequencies.iter().enumerate() {
        if k % RESYNC == 0 {
            for i in 0..n {
                (s[i], c[i]) = (tau * f * t[i]).sin_cos();
            }
        } else {
            for i in 0..n {
                let (ci, si) = (c[i], s[i]);
                c[i] = ci * step_cos[i] - si * step_sin[i];
                s[i] = si * step_cos[i] + ci * step_sin[i];
            }
        }
        let (mut sc, mut ss, mut syc, mut sys, mut scc, mut scs) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for i in 0..n {
            let (wc, ws) = (w[i] * c[i], w[i] * s[i]);
            sc += wc;
            ss += ws;
            syc += wc * y[i];
            sys += ws * y[i];
            scc += wc * c[i];
            scs += wc * s[i];
        }
        // y is centred, so Σw·y = 0 and YC, YS need no mean term.
        let cc = scc - sc * sc;
        let sss = (1.0 - scc) - ss * ss;
        let cs = scs - sc * ss;
        let d = cc * sss - cs * cs;
        if d > 0.0 {
            out[k] = ((sss * syc * syc + cc * sys * sys - 2.0 * cs * syc * sys) / (yy * d)).clamp(0.0, 1.0);
        }
    }
    out
}

/// Normalised weights 1/err² (equal when errors are missing or not all positive and finite).
fn weights(curve: &LightCurve) -> Vec<f64> {
    let n = curve.len();
    let raw: Vec<f64> = match &curve.err {
        Some(err) if err.iter().all(|e| *e > 0.0 && e.is_finite()) => err.iter().map(|e| 1.0 / (e * e)).collect(),
        _ => vec![1.0; n],
    };
    let total: f64 = raw.iter().sum();
    raw.iter().map(|w| w / total).collect()
}

/// The best period of one or more bands of the same star.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Period {
    /// Days.
    pub days: f64,
    /// The periodogram's peak power (0..1; the bands' powers averaged, weighted by their points).
    pub power: f64,
}

/// The period of highest power over the bands with at least `MIN_POINTS` points; None when no
/// band has them or the span is too short to search.
pub fn best_period(curves: &[&LightCurve]) -> Option<Period> {
    best_periods(curves, 1).into_iter().next()
}

/// The time spanned by the bands with at least `MIN_POINTS` points (days; −∞ when none has
/// them): the periodogram's frequency grid is `frequency_grid(search_span(curves))`.
pub fn search_span(curves: &[&LightCurve]) -> f64 {
    let used = curves.iter().filter(|c| c.len() >= MIN_POINTS);
    let first = used.clone().map(|c| c.time[0]).fold(f64::INFINITY, f64::min);
    let last = used.map(|c| c.time[c.len() - 1]).fold(f64::NEG_INFINITY, f64::max);
    last - first
}

/// The `count` highest peaks of the periodogram (local maxima at least 2/span apart in
/// frequency), highest first: with a survey's daily gaps the true period is often the second
/// (an alias 1/day away wins), so the classifier is shown more than one.
pub fn best_periods(curves: &[&LightCurve], count: usize) -> Vec<Period> {
    let used: Vec<&&LightCurve> = curves.iter().filter(|c| c.len() >= MIN_POINTS).collect();
    let span = search_span(curves);
    let frequencies = frequency_grid(span);
    if frequencies.is_empty() {
        return Vec::new();
    }
    let mut total = vec![0.0; frequencies.len()];
    let thinned: Vec<LightCurve> = used.iter().map(|c| thin(c, MAX_PERIODOGRAM_POINTS)).collect();
    let points: usize = thinned.iter().map(|c| c.len()).sum();
    for c in &thinned {
        for (t, p) in total.iter_mut().zip(power(c, &frequencies)) {
            *t += p * c.len() as f64 / points as f64;
        }
    }
    let mut peaks: Vec<usize> = (0..total.len())
        .filter(|&k| total[k] > 0.0 && (k == 0 || total[k] >= total[k - 1]) && (k + 1 == total.len() || total[k] > total[k + 1]))
        .collect();
    peaks.sort_by(|&a, &b| total[b].total_cmp(&total[a]).then(a.cmp(&b)));
    let apart = 2.0 / span;
    let mut out: Vec<usize> = Vec::new();
    for k in peaks {
        if out.len() == count {
            break;
        }
        if out.iter().all(|&j| (frequencies[j] - frequencies[k]).abs() > apart) {
            out.push(k);
        }
    }
    out.iter().map(|&k| Period { days: 1.0 / frequencies[k], power: total[k] }).collect()
}

/// Every k-th point of a curve, at most `most` of them (the curve itself when it has fewer).
fn thin(curve: &LightCurve, most: usize) -> LightCurve {
    let stride = curve.len().div_ceil(most.max(1)).max(1);
    let pick = |v: &[f64]| -> Vec<f64> { v.iter().step_by(stride).copied().collect() };
    LightCurve {
        object: curve.object.clone(),
        band: curve.band.clone(),
        time: pick(&curve.time),
        mag: pick(&curve.mag),
        err: curve.err.as_deref().map(pick),
        dropped: curve.dropped,
    }
}

/// A weighted least-squares fit of mean + `HARMONICS` harmonics of `period`.
#[derive(Debug, Clone, PartialEq)]
pub struct FourierFit {
    /// The fitted mean magnitude.
    pub mean: f64,
    /// Amplitude of each harmonic (magnitudes).
    pub amplitudes: [f64; HARMONICS],
    /// Phase of each harmonic (radians), as in m(t) = Σ A_k cos(2πk t/P + φ_k).
    pub phases: [f64; HARMONICS],
    /// Weighted RMS of the residuals (magnitudes).
    pub residual: f64,
}

/// The Fourier fit of one band, or None with fewer than `MIN_POINTS` points or a singular fit.
pub fn fourier_fit(curve: &LightCurve, period: f64) -> Option<FourierFit> {
    const M: usize = 1 + 2 * HARMONICS;
    if curve.len() < MIN_POINTS || !(period > 0.0) {
        return None;
    }
    let w = weights(curve);
    let t0 = curve.time[0];
    let basis = |t: f64| -> [f64; M] {
        let x = std::f64::consts::TAU * (t - t0) / period;
        let mut b = [1.0; M];
        for k in 0..HARMONICS {
            let (s, c) = ((k + 1) as f64 * x).sin_cos();
            b[1 + 2 * k] = c;
            b[2 + 2 * k] = s;
        }
        b
    };
    // Normal equations, solved by Gaussian elimination with partial pivoting (7 unknowns).
    let mut a = [[0.0; M + 1]; M];
    for ((&t, &y), &wi) in curve.time.iter().zip(&curve.mag).zip(&w) {
        let b = basis(t);
        for r in 0..M {
            for c in 0..M {
                a[r][c] += wi * b[r] * b[c];
            }
            a[r][M] += wi * b[r] * y;
        }
    }
    for col in 0..M {
        let pivot = (col..M).max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 * a[0][0].abs().max(1e-300) {
            return None;
        }
        a.swap(col, pivot);
        for r in 0..M {
            if r != col {
                let f = a[r][col] / a[col][col];
                for c in col..=M {
                    a[r][c] -= f * a[col][c];
                }
            }
        }
    }
    let coef: Vec<f64> = (0..M).map(|r| a[r][M] / a[r][r]).collect();
    let residual = curve
        .time
        .iter()
        .zip(&curve.mag)
        .zip(&w)
        .map(|((&t, &y), &wi)| {
            let model: f64 = basis(t).iter().zip(&coef).map(|(b, c)| b * c).sum();
            wi * (y - model).powi(2)
        })
        .sum::<f64>()
        .sqrt();
    let mut amplitudes = [0.0; HARMONICS];
    let mut phases = [0.0; HARMONICS];
    for k in 0..HARMONICS {
        let (ca, sa) = (coef[1 + 2 * k], coef[2 + 2 * k]);
        amplitudes[k] = ca.hypot(sa);
        // A cos x + B sin x = R cos(x + φ) with φ = atan2(−B, A).
        phases[k] = (-sa).atan2(ca);
    }
    Some(FourierFit { mean: coef[0], amplitudes, phases, residual })
}

impl FourierFit {
    /// The fitted magnitude at `phase` (cycles from the fit's origin, the curve's first time).
    pub fn at(&self, phase: f64) -> f64 {
        let x = std::f64::consts::TAU * phase;
        self.mean + (0..HARMONICS).map(|k| self.amplitudes[k] * ((k + 1) as f64 * x + self.phases[k]).cos()).sum::<f64>()
    }
}

/// The light curve folded at `period` and averaged in `BINS` phase bins, phase 0 where the
/// first harmonic is brightest (so that shapes line up whatever the origin of time); bins
/// without points take the Fourier fit's value. Magnitudes minus the fitted mean, over `scale`.
pub fn folded_shape<const BINS: usize>(curve: &LightCurve, period: f64, fit: &FourierFit, scale: f64) -> [f64; BINS] {
    let w = weights(curve);
    let t0 = curve.time[0];
    // Brightest (smallest magnitude) where 2π·phase + φ1 = π.
    let origin = (std::f64::consts::PI - fit.phases[0]) / std::f64::consts::TAU;
    let mut sum = [0.0; BINS];
    let mut weight = [0.0; BINS];
    for ((&t, &m), &wi) in curve.time.iter().zip(&curve.mag).zip(&w) {
        let phase = ((t - t0) / period - origin).rem_euclid(1.0);
        let bin = ((phase * BINS as f64) as usize).min(BINS - 1);
        sum[bin] += wi * m;
        weight[bin] += wi;
    }
    std::array::from_fn(|b| {
        let m = if weight[b] > 0.0 { sum[b] / weight[b] } else { fit.at(origin + (b as f64 + 0.5) / BINS as f64) };
        (m - fit.mean) / scale
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(period: f64, n: usize) -> LightCurve {
        // Irregular times over ~1 300 days, like EROS-1 (a nightly offset drawn by an LCG).
        let mut state = 12345u64;
        let time: Vec<f64> = (0..n)
            .map(|k| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                k as f64 * 10.9 + 9.0 * (state >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect();
        let mag = time.iter().map(|t| 17.0 + 0.4 * (std::f64::consts::TAU * t / period).cos() + 0.1 * (2.0 * std::f64::consts::TAU * t / period + 0.5).cos()).collect();
        LightCurve { object: None, band: None, time, mag, err: Some(vec![0.02; n]), dropped: 0 }
    }

    #[test]
    fn finds_the_period_and_the_harmonics_of_a_clean_signal() {
        let curve = sine(0.5673, 120);
        let p = best_period(&[&curve]).unwrap();
        assert!((p.days - 0.5673).abs() < 1e-3, "{p:?}");
        assert!(p.power > 0.8, "{p:?}");
        let fit = fourier_fit(&curve, 0.5673).unwrap();
        assert!((fit.amplitudes[0] - 0.4).abs() < 1e-6 && (fit.amplitudes[1] - 0.1).abs() < 1e-6, "{fit:?}");
        assert!(fit.residual < 1e-9, "{fit:?}");
    }

    #[test]
    fn peaks_are_distinct_and_the_fold_lines_up_at_the_brightest_phase() {
        let curve = sine(0.5673, 120);
        let peaks = best_periods(&[&curve], 3);
        assert_eq!(peaks.len(), 3);
        assert!((peaks[0].days - 0.5673).abs() < 1e-3 && peaks[0].power >= peaks[1].power && peaks[1].power >= peaks[2].power, "{peaks:?}");
        let fit = fourier_fit(&curve, peaks[0].days).unwrap();
        let shape: [f64; 16] = folded_shape(&curve, peaks[0].days, &fit, 1.0);
        // Brightest (most negative) in the first bins or the last, faintest half a cycle later.
        let brightest = (0..16).min_by(|&a, &b| shape[a].total_cmp(&shape[b])).unwrap();
        let faintest = (0..16).max_by(|&a, &b| shape[a].total_cmp(&shape[b])).unwrap();
        assert!(brightest <= 1 || brightest >= 15, "{shape:?}");
        assert!((6..=9).contains(&faintest), "{shape:?}");
        // At the true period the fit is exact: its value at phase 0 is the first point.
        let exact = fourier_fit(&curve, 0.5673).unwrap();
        assert!((exact.at(0.0) - curve.mag[0]).abs() < 1e-6);
    }

    #[test]
    fn the_rotation_matches_direct_evaluation() {
        let curve = sine(3.7, 60);
        let f = frequency_grid(curve.time[59] - curve.time[0]);
        let fast = power(&curve, &f);
        for k in [0, 1, 511, 512, 513, 1700, f.len() - 1] {
            let direct = power(&curve, &[f[k]])[0];
            assert!((fast[k] - direct).abs() < 1e-10, "k {k}: {} vs {direct}", fast[k]);
        }
    }

    /// astropy's LombScargle ("slow", exact) on made-up curves: tests/golden/make_period_golden.py.
    #[test]
    fn power_and_fourier_fit_match_astropy() {
        let golden: serde_json::Value = serde_json::from_str(include_str!("../tests/golden/period_cases.json")).unwrap();
        for case in golden["cases"].as_array().unwrap() {
            let floats = |key: &str| -> Vec<f64> { case[key].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect() };
            let shape = case["shape"].as_str().unwrap();
            let curve = LightCurve { object: None, band: None, time: floats("time"), mag: floats("mag"), err: Some(floats("err")), dropped: 0 };
            let grid = frequency_grid(curve.time[curve.len() - 1] - curve.time[0]);
            assert_eq!(grid.len() as u64, case["grid_len"].as_u64().unwrap(), "{shape}");
            let power = power(&curve, &grid);
            for (k, expected) in case["indices"].as_array().unwrap().iter().zip(floats("power")) {
                let k = k.as_u64().unwrap() as usize;
                assert!((power[k] - expected).abs() < 1e-9, "{shape}, frequency {}: {} vs astropy {expected}", grid[k], power[k]);
            }
            let best = best_period(&[&curve]).unwrap();
            let f = case["best_frequency"].as_f64().unwrap();
            assert!((1.0 / best.days - f).abs() < 1e-12, "{shape}: best frequency {} vs astropy {f}", 1.0 / best.days);
            // astropy's terms: offset, then sin and cos of each harmonic. Amplitudes and
            // φ21 = φ2 − 2φ1 do not depend on the origin of time.
            let terms = floats("fourier_offset_and_terms");
            let fit = fourier_fit(&curve, best.days).unwrap();
            for k in 0..HARMONICS {
                let amplitude = terms[1 + 2 * k].hypot(terms[2 + 2 * k]);
                assert!((fit.amplitudes[k] - amplitude).abs() < 1e-9, "{shape}, harmonic {}: {} vs {amplitude}", k + 1, fit.amplitudes[k]);
            }
            let phase = |k: usize| (-terms[1 + 2 * k]).atan2(terms[2 + 2 * k]);
            let wrap = |x: f64| (x + std::f64::consts::PI).rem_euclid(std::f64::consts::TAU) - std::f64::consts::PI;
            let phi21 = wrap(phase(1) - 2.0 * phase(0));
            assert!(wrap(fit.phases[1] - 2.0 * fit.phases[0] - phi21).abs() < 1e-7, "{shape}: φ21 {} vs {phi21}", fit.phases[1] - 2.0 * fit.phases[0]);
        }
    }

    #[test]
    fn degenerate_curves_give_no_period() {
        let mut flat = sine(1.0, 30);
        flat.mag.iter_mut().for_each(|m| *m = 15.0);
        assert_eq!(best_period(&[&flat]), None);
        let short = LightCurve { object: None, band: None, time: vec![0.0, 0.1, 0.2], mag: vec![1.0, 2.0, 3.0], err: None, dropped: 0 };
        assert_eq!(best_period(&[&short]), None);
        assert_eq!(fourier_fit(&short, 1.0), None);
    }
}
