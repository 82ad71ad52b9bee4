//! Exact Shapley values of GWSkyNet's ten inputs (src/explain.rs):
//! - against Python shap's ExactExplainer on the ONNX model, same game and baseline
//!   (tests/golden/gwskynet_shap.json, made by tests/golden/make_gwskynet_shap_golden.py): 1e-4;
//! - partition (Owen) attributions of the score to the sky image's and the volume images'
//!   pixels against shap's PartitionExplainer on the ONNX model
//!   (tests/golden/gwskynet_partition.json, from tests/golden/make_gwskynet_partition_golden.py);
//! - efficiency on every real map of ../shared/data/skymaps/reference: Σφ equals the model's own
//!   score minus its score at the baseline to 1e-5, and the logit is additive to 1e-4.

mod common;

use skysift::compute;
use skysift::explain::{coalition_batch, gwskynet_image_attribution_blocking, gwskynet_shapley_background_blocking, gwskynet_shapley_blocking, zero_baseline, COALITION_MASKS};
use skysift::gwskynet::{synthetic_inputs, GwSkyNet, Image, Inputs};
use skysift::partition::{Masking, Options};

#[derive(serde::Deserialize)]
struct Case {
    seed: usize,
    value: f64,
    base_value: f64,
    phi: Vec<f64>,
    phi_logit: Vec<f64>,
}

#[derive(serde::Deserialize)]
struct Golden {
    cases: Vec<Case>,
}

#[test]
fn exact_shapley_matches_python_shap() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/gwskynet_shap.json")).unwrap();
    let golden: Golden = serde_json::from_str(&text).unwrap();
    let model = GwSkyNet::new(&compute::cpu_device());
    let mut worst = 0f64;
    for case in &golden.cases {
        let s = gwskynet_shapley_blocking(&model, &synthetic_inputs(case.seed), &zero_baseline()).unwrap();
        assert!((s.value - case.value).abs() <= 1e-5, "seed {}: value {} vs {}", case.seed, s.value, case.value);
        assert!((s.base_value - case.base_value).abs() <= 1e-5, "seed {}: base {} vs {}", case.seed, s.base_value, case.base_value);
        for i in 0..10 {
            let d = (s.phi[i] - case.phi[i]).abs().max((s.phi_logit[i] - case.phi_logit[i]).abs());
            worst = worst.max(d);
            assert!(d <= 1e-4, "seed {}, input {i} ({}): φ {} / {} vs shap {} / {}", case.seed, s.names[i], s.phi[i], s.phi_logit[i], case.phi[i], case.phi_logit[i]);
        }
    }
    eprintln!("Shapley vs shap: {} maps, largest difference {worst:e}", golden.cases.len());
}

#[derive(serde::Deserialize)]
struct PartitionCase {
    seed: usize,
    image: String,
    max_evals: usize,
    value: f64,
    base_value: f64,
    /// "zeros" (when absent) or "blur:WxH".
    mask: Option<String>,
    /// Run-length encoded: (value, count).
    values: Vec<(f64, usize)>,
}

#[test]
fn partition_attributions_match_python_shap() {
    #[derive(serde::Deserialize)]
    struct Golden {
        cases: Vec<PartitionCase>,
    }
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/gwskynet_partition.json")).unwrap();
    let golden: Golden = serde_json::from_str(&text).unwrap();
    let model = GwSkyNet::new(&compute::cpu_device());
    for case in &golden.cases {
        let x = synthetic_inputs(case.seed);
        let image = Image::named(&case.image).unwrap();
        let masking = Masking::named(case.mask.as_deref().unwrap_or("zeros")).unwrap();
        let a = gwskynet_image_attribution_blocking(&model, &x, image, &Options { masking, max_evals: case.max_evals, batch_size: 10 }).unwrap();
        let want: Vec<f64> = case.values.iter().flat_map(|&(v, n)| std::iter::repeat_n(v, n)).collect();
        assert_eq!(want.len(), a.values.len());
        assert!((a.value - case.value).abs() <= 1e-5 && (a.base_value - case.base_value).abs() <= 1e-5, "seed {}: {} / {} vs {} / {}", case.seed, a.value, a.base_value, case.value, case.base_value);
        let diff = a.values.iter().zip(&want).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        let total: f64 = a.values.iter().sum();
        eprintln!(
            "seed {} {} image, {} evaluations: largest difference from shap {diff:.1e}; Σ = {total:.6} = {:.6} − {:.6}",
            case.seed, case.image, a.evals, a.value, a.base_value
        );
        assert!(diff <= 1e-5, "seed {} {}: differs from shap by {diff}", case.seed, case.image);
        assert!((total - (a.value - a.base_value)).abs() <= 1e-9);
        // The image's branch alone gives the whole model's score.
        assert!((a.value - model.scores_blocking(&[&x]).unwrap()[0] as f64).abs() <= 1e-6);
    }
}

#[test]
fn shapley_values_add_up_on_every_real_map() {
    let Some(data) = common::data_dir() else { return };
    let dir = data.join("skymaps/reference");
    let table = std::fs::read_to_string(dir.join("scores.tsv")).unwrap();
    let model = GwSkyNet::new(&compute::cpu_device());
    let baseline = zero_baseline();
    let base_score = model.scores_blocking(&[&baseline]).unwrap()[0] as f64;
    let (mut n, mut worst_sum, mut worst_additive) = (0, 0f64, 0f64);
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if f[1].is_empty() {
            continue;
        }
        let x = Inputs::from_arrays(&common::read_npz(&dir.join(format!("{}.npz", f[0].replace('/', "__").replace(',', "_"))))).unwrap();
        let score = model.scores_blocking(&[&x]).unwrap()[0] as f64;
        let s = gwskynet_shapley_blocking(&model, &x, &baseline).unwrap();
        let sum_gap = (s.phi.iter().sum::<f64>() - (score - base_score)).abs();
        worst_sum = worst_sum.max(sum_gap);
        worst_additive = worst_additive.max(s.additivity_error);
        assert!(sum_gap <= 1e-5, "{}: Σφ = {} but f(x) − f(baseline) = {}", f[0], s.phi.iter().sum::<f64>(), score - base_score);
        assert!(s.additivity_error <= 1e-4, "{}: the logit is not additive ({:e})", f[0], s.additivity_error);
        n += 1;
    }
    eprintln!("Shapley efficiency on {n} real maps: largest |Σφ − (f(x) − f(baseline))| {worst_sum:e}, largest logit additivity gap {worst_additive:e}");
    assert!(n >= 50);
}

/// Mixing the two maps' branches before the last layer gives the logits of running every
/// coalition through the whole model (this also checks which branch belongs to which input).
#[test]
fn mixed_branches_give_the_whole_models_logits() {
    let model = GwSkyNet::new(&compute::cpu_device());
    for seed in 0..2 {
        let (x, b) = (synthetic_inputs(seed), synthetic_inputs(seed + 10));
        let batch = coalition_batch(&x, &b);
        let whole = model.logits_blocking(&batch.iter().collect::<Vec<_>>()).unwrap();
        let mixed = model.mixed_logits_blocking(&x, &b, &COALITION_MASKS).unwrap();
        for (k, (w, m)) in whole.iter().zip(&mixed).enumerate() {
            assert!((w - m).abs() <= 1e-4, "seed {seed}, coalition {k}: {w} vs {m}");
        }
    }
}

/// Against a background set, Σφ is the score minus the background's mean score.
#[test]
fn background_shapley_values_add_up_to_the_mean_gap() {
    let model = GwSkyNet::new(&compute::cpu_device());
    let x = synthetic_inputs(0);
    let background: Vec<Inputs> = (20..23).map(synthetic_inputs).collect();
    let s = gwskynet_shapley_background_blocking(&model, &x, &background).unwrap();
    let f = |m: &Inputs| model.scores_blocking(&[m]).unwrap()[0] as f64;
    let mean_b = background.iter().map(f).sum::<f64>() / 3.0;
    assert!((s.phi.iter().sum::<f64>() - (f(&x) - mean_b)).abs() <= 1e-5, "Σφ {} vs {}", s.phi.iter().sum::<f64>(), f(&x) - mean_b);
    assert!((s.base_value - mean_b).abs() <= 1e-5);
}
