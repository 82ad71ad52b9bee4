//! Any bytes as a light-curve file: read, then every curve to a dm–dt image and the
//! classifier's input. Errors are fine; panics, hangs and huge allocations are findings.
#![no_main]
use libfuzzer_sys::fuzz_target;
use skysift::{classifier, dmdt, lightcurve};

fuzz_target!(|data: &[u8]| {
    let Ok(curves) = lightcurve::read(data, &lightcurve::ReadOptions::default()) else { return };
    let grid = classifier::grid();
    for curve in &curves {
        let _ = dmdt::image(curve, &grid, dmdt::ImageOptions::default());
    }
    for group in classifier::group_by_object(&curves) {
        let _ = classifier::input_image(&group);
    }
});
