//! GWSkyNet in burn against the published pipeline: given the reference's own ten inputs for
//! every real sky map in ../shared/data/skymaps/reference, the score must match the Python
//! gwskynet + onnxruntime score in scores.tsv (printed to 6 decimals) to 1e-5, and FAR/FNR
//! (printed to 4 decimals) to 1e-4.

mod common;

use skysift::compute;
use skysift::gwskynet::{rates, GwSkyNet, Inputs};

struct Row {
    file: String,
    score: f64,
    far: f64,
    fnr: f64,
}

fn reference_rows(dir: &std::path::Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("scores.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let score = f.get(1)?.parse().ok()?;
            Some(Row { file: f[0].to_string(), score, far: f[2].parse().unwrap(), fnr: f[3].parse().unwrap() })
        })
        .collect()
}

#[test]
fn scores_match_the_reference_on_its_inputs() {
    let Some(data) = common::data_dir() else { return };
    let dir = data.join("skymaps/reference");
    let rows = reference_rows(&dir);
    assert!(rows.len() >= 50, "expected the reference table, found {} rows", rows.len());
    let inputs: Vec<Inputs> = rows
        .iter()
        .map(|r| {
            let name = format!("{}.npz", r.file.replace('/', "__").replace(',', "_"));
            Inputs::from_arrays(&common::read_npz(&dir.join(name))).unwrap()
        })
        .collect();
    let model = GwSkyNet::new(&compute::cpu_device());
    let mut worst = 0f64;
    for (chunk_rows, chunk) in rows.chunks(16).zip(inputs.chunks(16)) {
        let batch: Vec<&Inputs> = chunk.iter().collect();
        let scores = model.scores_blocking(&batch).unwrap();
        for (row, &score) in chunk_rows.iter().zip(&scores) {
            let diff = (score as f64 - row.score).abs();
            worst = worst.max(diff);
            assert!(diff <= 1e-5, "{}: score {score} vs reference {}", row.file, row.score);
            let r = rates(row.score);
            assert!((r.far - row.far).abs() <= 1e-4 && (r.fnr - row.fnr).abs() <= 1e-4, "{}: rates {r:?}", row.file);
        }
    }
    eprintln!("GWSkyNet: {} maps, largest |score - reference| = {worst:e}", rows.len());
}

#[test]
fn one_map_alone_scores_as_in_a_batch() {
    let Some(data) = common::data_dir() else { return };
    let dir = data.join("skymaps/reference");
    let row = &reference_rows(&dir)[0];
    let name = format!("{}.npz", row.file.replace('/', "__").replace(',', "_"));
    let inputs = Inputs::from_arrays(&common::read_npz(&dir.join(name))).unwrap();
    let model = GwSkyNet::new(&compute::cpu_device());
    let alone = model.scores_blocking(&[&inputs]).unwrap();
    let twice = model.scores_blocking(&[&inputs, &inputs]).unwrap();
    assert_eq!(alone.len(), 1);
    assert!((alone[0] - twice[1]).abs() < 1e-6);
}
