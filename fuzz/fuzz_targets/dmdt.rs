//! Any points (including NaN, infinities, duplicates, unsorted times) on any custom grid: the
//! dm–dt image is an error or counts no more pairs than there are.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use skysift::{dmdt, lightcurve::LightCurve};

#[derive(Arbitrary, Debug)]
struct Input {
    points: Vec<(f64, f64, f64)>,
    dt_edges: Vec<f64>,
    dm_edges: Vec<f64>,
    named_grid: bool,
}

fuzz_target!(|input: Input| {
    if input.points.len() > 2000 {
        return;
    }
    let curve = LightCurve {
        time: input.points.iter().map(|p| p.0).collect(),
        mag: input.points.iter().map(|p| p.1).collect(),
        err: Some(input.points.iter().map(|p| p.2).collect()),
        object: None,
        band: None,
        dropped: 0,
    };
    let grid = if input.named_grid {
        skysift::classifier::grid()
    } else {
        let axis = |edges: Vec<f64>| dmdt::AxisSpec::Edges { edges };
        match dmdt::Grid::custom(&axis(input.dt_edges), &axis(input.dm_edges)) {
            Ok(g) => g,
            Err(_) => return,
        }
    };
    if let Ok(image) = dmdt::image(&curve, &grid, dmdt::ImageOptions::default()) {
        let n = curve.time.len() as f64;
        let total: f64 = image.counts.iter().sum();
        assert!(total <= n * (n - 1.0) / 2.0, "more pairs counted than there are");
    }
});
