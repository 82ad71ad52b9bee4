//! Property tests (proptest): invariants that must hold for any input, not only the golden ones.
//! - dm–dt: every pixel counts exactly the pairs whose (Δt, Δm) fall in it (brute force), so the
//!   total is the number of pairs inside the grid;
//! - sky image: a uniform map reprojects to a uniform image, and any multi-order map gives each
//!   grid point the value of the pixel that contains it;
//! - classifier inputs: for any light curve (equal times, constant magnitudes, a few points),
//!   the periodogram's powers lie in [0, 1] and every feature is a finite number;
//! - attributions add up to f(x) − f(baseline): partition SHAP for any model, budget and batch
//!   size, and the exact ten-input Shapley values for any additive logits.

use proptest::prelude::*;
use skysift::dmdt::{self, AxisSpec, Grid, ImageOptions};
use skysift::explain::shapley_from_logits;
use skysift::gwskynet::{sky_image, SKY_SHAPE};
use skysift::lightcurve::LightCurve;
use skysift::partition::{explain_image, ImagePartition};
use skysift::skymap::{Meta, SkyMap};

fn curve(steps: &[f64], mags: &[f64]) -> LightCurve {
    let mut t = 50_000.0;
    let time: Vec<f64> = steps.iter().map(|s| { t += s; t }).collect();
    LightCurve { object: None, band: None, time, mag: mags[..steps.len()].to_vec(), err: None, dropped: 0 }
}

/// The bin of v among increasing edges, half-open [e_k, e_{k+1}), or None outside.
fn bin(edges: &[f64], v: f64) -> Option<usize> {
    if v < edges[0] || v >= edges[edges.len() - 1] {
        return None;
    }
    Some(edges.partition_point(|&e| e <= v) - 1)
}

fn increasing(start: f64, steps: Vec<f64>) -> Vec<f64> {
    let mut e = start;
    std::iter::once(start).chain(steps.into_iter().map(|s| { e += s; e })).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn classifier_inputs_are_finite_for_any_curve(
        steps in prop::collection::vec(prop_oneof![Just(0.0), 0.001f64..5.0, 10.0f64..800.0], 1..80),
        mags in prop::collection::vec(prop_oneof![Just(15.0), 12.0f64..20.0], 80),
        two_bands in any::<bool>(),
    ) {
        let blue = LightCurve { band: Some("b".into()), ..curve(&steps, &mags) };
        let red = LightCurve { band: Some("r".into()), mag: blue.mag.iter().map(|m| m + 0.3).collect(), ..blue.clone() };
        let curves: Vec<&LightCurve> = if two_bands { vec![&blue, &red] } else { vec![&blue] };
        match skysift::classifier::input_image(&curves) {
            Ok((input, _)) => {
                prop_assert_eq!(input.len(), skysift::classifier::input_len());
                prop_assert!(input.iter().all(|v| v.is_finite()), "{:?}", &input[input.len() - skysift::classifier::N_FEATURES..]);
            }
            Err(e) => prop_assert!(blue.len() < 2, "{}", e),
        }
        let span = blue.time[blue.len() - 1] - blue.time[0];
        let grid = skysift::period::frequency_grid(span);
        prop_assert!(grid.len() <= skysift::period::MAX_FREQUENCIES);
        prop_assert!(skysift::period::power(&blue, &grid).iter().all(|p| (0.0..=1.0).contains(p)));
    }

    #[test]
    fn dmdt_pixels_count_exactly_their_pairs(
        steps in prop::collection::vec(prop_oneof![Just(0.0), 0.001f64..5.0, 10.0f64..800.0], 2..60),
        mags in prop::collection::vec(12.0f64..20.0, 60),
        custom in prop::option::of((0.0f64..0.5, prop::collection::vec(0.01f64..300.0, 1..12), -3.0f64..0.0, prop::collection::vec(0.05f64..2.0, 1..12))),
    ) {
        let c = curve(&steps, &mags);
        let grid = match custom {
            None => Grid::mahabal2017(),
            Some((dt0, dts, dm0, dms)) => Grid::custom(&AxisSpec::Edges { edges: increasing(dt0, dts) }, &AxisSpec::Edges { edges: increasing(dm0, dms) }).unwrap(),
        };
        let img = dmdt::image(&c, &grid, ImageOptions::default()).unwrap();
        let (n_dt, n_dm) = grid.shape();
        let mut want = vec![0f64; n_dt * n_dm];
        let n = c.time.len();
        for i in 0..n {
            for j in i + 1..n {
                if let (Some(a), Some(b)) = (bin(&grid.dt_edges, c.time[j] - c.time[i]), bin(&grid.dm_edges, c.mag[j] - c.mag[i])) {
                    want[a * n_dm + b] += 1.0;
                }
            }
        }
        prop_assert_eq!(&img.counts, &want);
        prop_assert_eq!(img.n_in_grid as f64, want.iter().sum::<f64>());
        prop_assert_eq!(img.n_pairs as usize, n * (n - 1) / 2);
    }
}

/// A multi-order tiling of the sky from a seed: base pixels split at random down to `depth`,
/// in nested order (as `SkyMap` keeps its pixels).
fn tiling(seed: u64, depth: u8) -> Vec<(u8, u64)> {
    let mut state = seed | 1;
    let mut next = move || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
    let mut out = Vec::new();
    let mut stack: Vec<(u8, u64)> = (0..12).rev().map(|p| (0u8, p)).collect();
    while let Some((order, p)) = stack.pop() {
        if order < depth && next() % 3 == 0 {
            stack.extend((0..4).rev().map(|c| (order + 1, 4 * p + c)));
        } else {
            out.push((order, p));
        }
    }
    out
}

fn map_of(tiles: &[(u8, u64)], density: impl Fn(usize) -> f64) -> SkyMap {
    SkyMap {
        meta: Meta::default(),
        uniq: tiles.iter().map(|&(o, p)| (4u64 << (2 * o as u32)) + p).collect(),
        prob_density: (0..tiles.len()).map(density).collect(),
        distance: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn a_uniform_map_reprojects_to_a_uniform_image(seed in any::<u64>(), depth in 0u8..7) {
        let map = map_of(&tiling(seed, depth), |_| 1.0 / (4.0 * std::f64::consts::PI));
        let image = sky_image(&map);
        prop_assert_eq!(image.len(), SKY_SHAPE[0] * SKY_SHAPE[1]);
        prop_assert!(image.iter().all(|&v| v == map.prob_density[0]));
    }

    #[test]
    fn each_grid_point_takes_the_pixel_that_contains_it(seed in any::<u64>(), depth in 1u8..5) {
        let tiles = tiling(seed, depth);
        let map = map_of(&tiles, |k| k as f64);
        let image = sky_image(&map);
        // Every 13th grid point, against a search of all pixels by cdshealpix at each one's order.
        for k in (0..image.len()).step_by(13) {
            let (y, x) = (k / SKY_SHAPE[1], k % SKY_SHAPE[1]);
            let (ra, dec) = ((359.5 - x as f64).to_radians(), (y as f64 - 89.5).to_radians());
            let holder = tiles.iter().position(|&(o, p)| cdshealpix::nested::hash(o, ra, dec) == p).unwrap();
            prop_assert_eq!(image[k], holder as f64, "grid point {} {}", y, x);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn partition_values_add_up(
        shape in (1usize..7, 1usize..9, 1usize..3),
        weights in prop::collection::vec(-2.0f64..2.0, 126),
        max_evals in 2usize..400,
        batch in 2usize..40,
        masked_value in -1.0f32..1.0,
    ) {
        let (r, c, ch) = shape;
        let n = r * c * ch;
        let x: Vec<f32> = (0..n).map(|i| (3.0 * weights[(7 * i) % 126] as f32).sin()).collect();
        let masked = vec![masked_value; n];
        // A model with interactions: a squashed weighted sum times a product of two pixels.
        let model = |img: &[f32]| -> f64 {
            let s: f64 = img.iter().zip(&weights).map(|(&v, w)| v as f64 * w).sum();
            s.tanh() + img[0] as f64 * img[n - 1] as f64
        };
        let tree = ImagePartition::new([r, c, ch]).unwrap();
        let a = explain_image(&tree, &x, &masked, max_evals, batch, |b| Ok(b.iter().map(|i| model(i)).collect())).unwrap();
        prop_assert!(a.evals <= max_evals.max(2) + 1);
        let sum: f64 = a.values.iter().sum();
        prop_assert!((sum - (a.value - a.base_value)).abs() < 1e-9, "Σ {} vs {}", sum, a.value - a.base_value);
        prop_assert!((a.value - model(&x)).abs() < 1e-12 && (a.base_value - model(&masked)).abs() < 1e-12);
    }

    #[test]
    fn exact_shapley_values_add_up(base in -6.0f32..6.0, deltas in prop::collection::vec(-4.0f32..4.0, 10)) {
        let mut logits = vec![base];
        logits.extend(deltas.iter().map(|d| base + d));
        logits.push(base + deltas.iter().sum::<f32>());
        let s = shapley_from_logits(&logits).unwrap();
        // Exact up to the float32 rounding of the logits given (as the model gives them).
        prop_assert!((s.phi.iter().sum::<f64>() - (s.value - s.base_value)).abs() < 1e-5);
        prop_assert!((s.phi_logit.iter().sum::<f64>() - (s.logit - s.base_logit)).abs() < 1e-4);
        // Each φ on the probability has the sign of its input's effect on the logit.
        for (p, d) in s.phi.iter().zip(&deltas) {
            prop_assert!(*d == 0.0 || p.signum() == (*d as f64).signum() || p.abs() < 1e-12);
        }
    }
}
