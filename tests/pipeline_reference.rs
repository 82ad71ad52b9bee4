//! The whole GWSkyNet pipeline against the published one: for every real sky map in
//! ../shared/data/skymaps that the reference (gwskynet 2.6.0 + ligo.skymap 2.5.4) scored, each
//! of the ten inputs skysift prepares from the FITS file must match the reference's array (max
//! abs difference ≤ 1e-4 of the array's max) and the score from them must match scores.tsv
//! (printed to 6 decimals) to 1e-5.
//!
//! By default a fixed sample of nine maps runs (flat and multi-order, gzipped or not, extra
//! HDUs, scores from 0.3 to 0.998): about 30 s. SKYSIFT_MAPS=all runs every map (61; about
//! eight minutes on two cores), SKYSIFT_MAPS=<substring> the maps whose path contains it.

mod common;

use skysift::{compute, gwskynet, skymap};

/// The default sample.
const QUICK: [&str; 9] = [
    "o3b-gracedb/S200129m.multiorder.fits",
    "o3a-gracedb/S190412m/bayestar.fits",
    "o3a-gracedb/S190814bv/bayestar.multiorder.fits,1",
    "o3a-gracedb/S190421ar/bayestar.fits",
    "mdc-mock/bayestar.multiorder.fits",
    "o3a-gracedb/S190707q/bayestar.fits.gz",
    "o3a-gracedb/S190503bf/bayestar.fits",
    "o3a-gracedb/S190521r/bayestar.fits.gz",
    "o3a-gracedb/S190425z/bayestar.fits",
];

#[test]
fn sky_maps_give_the_reference_inputs_and_score() {
    let Some(data) = common::data_dir() else { return };
    let maps = data.join("skymaps");
    let refs = maps.join("reference");
    let only = std::env::var("SKYSIFT_MAPS").ok();
    let wanted = |file: &str| match only.as_deref() {
        Some("all") => true,
        Some(part) => file.contains(part),
        None => QUICK.contains(&file),
    };
    let table = std::fs::read_to_string(refs.join("scores.tsv")).unwrap();
    let model = gwskynet::GwSkyNet::new(&compute::cpu_device());
    let (mut checked, mut worst_input, mut worst_score, mut seconds) = (0, [0f32; 10], 0f64, Vec::new());
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let (file, want_score) = (f[0], f[1]);
        if want_score.is_empty() || !wanted(file) {
            continue;
        }
        let want_score: f64 = want_score.parse().unwrap();
        let want = common::read_npz(&refs.join(format!("{}.npz", file.replace('/', "__").replace(',', "_"))));
        let start = std::time::Instant::now();
        let map = skymap::read(&std::fs::read(maps.join(file)).unwrap()).unwrap_or_else(|e| panic!("{file}: {e}"));
        let inputs = gwskynet::prepare(&map).unwrap_or_else(|e| panic!("{file}: {e}"));
        let score = model.scores_blocking(&[&inputs]).unwrap()[0] as f64;
        seconds.push(start.elapsed().as_secs_f64());
        let mut diffs = [0f32; 10];
        for (k, ((name, _, got), want)) in inputs.named_arrays().iter().zip(&want).enumerate() {
            let peak = want.iter().fold(0f32, |m, v| m.max(v.abs()));
            let diff = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max) / if peak > 0.0 { peak } else { 1.0 };
            assert!(diff <= 1e-4, "{file}: {name} differs by {diff:e} of its max");
            diffs[k] = diff;
            worst_input[k] = worst_input[k].max(diff);
        }
        let score_diff = (score - want_score).abs();
        worst_score = worst_score.max(score_diff);
        eprintln!("{file}: score {score:.6} (reference {want_score:.6}); inputs differ by at most {:.1e}; {:.2} s", diffs.iter().fold(0f32, |m, &d| m.max(d)), seconds.last().unwrap());
        assert!(score_diff <= 1e-5, "{file}: score {score} vs reference {want_score}");
        checked += 1;
    }
    seconds.sort_by(f64::total_cmp);
    eprintln!(
        "pipeline: {checked} maps; largest input differences (of each array's max, in the model's input order) {worst_input:?}; largest score difference {worst_score:.1e}; seconds per map median {:.2}, max {:.2}",
        seconds.get(seconds.len() / 2).copied().unwrap_or(0.0),
        seconds.last().copied().unwrap_or(0.0)
    );
    match only.as_deref() {
        Some("all") => assert!(checked >= 50, "only {checked} maps checked"),
        None => assert_eq!(checked, QUICK.len(), "maps of the default sample are missing"),
        Some(_) => {}
    }
}
