//! Sky maps read by skysift against the published pipeline: for every real map in
//! ../shared/data/skymaps the reference (gwskynet 2.6.0 + ligo.skymap 2.5.4) could use, the
//! inputs that come from the header and the sky image must match its arrays (max abs
//! difference ≤ 1e-4 of the array's max); the map it refused must be refused with a message.

mod common;

use skysift::gwskynet;
use skysift::skymap;

fn reference_files(dir: &std::path::Path) -> Vec<(String, bool)> {
    std::fs::read_to_string(dir.join("scores.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), !f[1].is_empty())
        })
        .collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn sky_image_and_header_inputs_match_the_reference() {
    let Some(data) = common::data_dir() else { return };
    let maps = data.join("skymaps");
    let refs = maps.join("reference");
    let mut checked = 0;
    let mut worst_sky = 0f32;
    for (file, scored) in reference_files(&refs) {
        let bytes = std::fs::read(maps.join(&file)).unwrap();
        let map = skymap::read(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        if !scored {
            let err = gwskynet::sky_inputs(&map).unwrap_err().to_string();
            assert!(err.contains("BAYESTAR") || err.contains("distance"), "{file}: {err}");
            continue;
        }
        let want = common::read_npz(&refs.join(format!("{}.npz", file.replace('/', "__").replace(',', "_"))));
        let got = gwskynet::sky_inputs(&map).unwrap_or_else(|e| panic!("{file}: {e}"));
        let sky_diff = max_abs_diff(&got.sky, &want[0]);
        worst_sky = worst_sky.max(sky_diff);
        assert!(sky_diff <= 1e-4, "{file}: sky image differs by {sky_diff}");
        let close = |a: f32, b: f32, what: &str| assert!((a - b).abs() <= 1e-4 * b.abs().max(1e-30), "{file}: {what} {a} vs {b}");
        close(got.log_bsn, want[1][0], "log BSN");
        assert_eq!(got.detectors.to_vec(), want[3], "{file}: detectors");
        close(got.distance, want[4][0], "distance");
        close(got.sky_norm, want[5][0], "sky norm");
        close(got.log_bci, want[9][0], "log BCI");
        checked += 1;
    }
    eprintln!("sky inputs: {checked} maps match the reference; largest sky-image difference {worst_sky:e}");
    assert!(checked >= 50);
}

#[test]
fn the_o1_map_is_refused_with_a_reason() {
    let Some(data) = common::data_dir() else { return };
    let bytes = std::fs::read(data.join("skymaps/edge-cases/GW151226-bayestar.fits")).unwrap();
    match skymap::read(&bytes) {
        Ok(map) => {
            let err = gwskynet::sky_inputs(&map).unwrap_err().to_string();
            assert!(err.contains("BAYESTAR") || err.contains("distance layers"), "{err}");
        }
        Err(e) => panic!("the O1 map is a valid sky map and must be read: {e}"),
    }
}
