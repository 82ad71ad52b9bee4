//! dm–dt counts against numpy's histogram2d (tests/golden/dmdt_cases.json, made by
//! tests/golden/make_dmdt_golden.py): identical integer counts on generated edge cases.

use skysift::dmdt::{self, Grid, ImageOptions};
use skysift::lightcurve::{self, ReadOptions};

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    grid: String,
    t: Vec<Option<f64>>,
    m: Vec<Option<f64>>,
    counts: Vec<Vec<u64>>,
}

fn csv_of(t: &[Option<f64>], m: &[Option<f64>]) -> String {
    // `{:?}` prints the shortest text that reads back as the same f64.
    let cell = |v: &Option<f64>| v.map_or("nan".to_string(), |x| format!("{x:?}"));
    let mut s = String::from("time,mag\n");
    for (a, b) in t.iter().zip(m) {
        s.push_str(&format!("{},{}\n", cell(a), cell(b)));
    }
    s
}

#[test]
fn counts_match_numpy_histogram2d() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/dmdt_cases.json")).unwrap();
    let cases: Vec<Case> = serde_json::from_str(&text).unwrap();
    assert!(cases.len() >= 20);
    for case in &cases {
        let curves = lightcurve::read(csv_of(&case.t, &case.m).as_bytes(), &ReadOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let grid = Grid::named(&case.grid).unwrap();
        let img = dmdt::image(&curves[0], &grid, ImageOptions::default()).unwrap();
        let got: Vec<Vec<u64>> = img.counts.chunks(img.n_dm).map(|r| r.iter().map(|&c| c as u64).collect()).collect();
        assert_eq!(got, case.counts, "case '{}' on grid {}", case.name, case.grid);
        assert_eq!(img.n_in_grid, case.counts.iter().flatten().sum::<u64>());
    }
}
