//! The partition (Owen) explainer against Python shap's PartitionExplainer, on a made-up model
//! both sides compute (tests/golden/make_partition_golden.py writes the golden values).

use skysift::partition::{explain_image, ImagePartition, Masking, DEFAULT_BATCH_SIZE};

/// The golden script's model: sigmoid(Σ aᵢvᵢ) + 0.3 tanh(Σ bᵢvᵢ)², aᵢ = sin 0.7i, bᵢ = cos 1.3i.
fn model(image: &[f32]) -> f64 {
    let (mut s, mut t) = (0.0, 0.0);
    for (i, &v) in image.iter().enumerate() {
        s += v as f64 * (0.7 * i as f64).sin();
        t += v as f64 * (1.3 * i as f64).cos();
    }
    1.0 / (1.0 + (-s).exp()) + 0.3 * t.tanh().powi(2)
}

#[test]
fn partition_values_match_shaps_partition_explainer() {
    let golden: serde_json::Value = serde_json::from_str(include_str!("golden/partition_toy.json")).unwrap();
    let cases = golden["cases"].as_array().unwrap();
    assert!(cases.len() >= 12);
    let mut worst = 0f64;
    for case in cases {
        let shape: Vec<usize> = case["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        let shape = [shape[0], shape[1], shape[2]];
        let image: Vec<f32> = case["image"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        // A constant, or shap's "blur(W,H)".
        let masked = match case["mask_value"].as_str() {
            Some(blur) => {
                let (w, h) = blur.trim_start_matches("blur(").trim_end_matches(')').split_once(',').unwrap();
                Masking::Blur { width: w.parse().unwrap(), height: h.parse().unwrap() }.masked(&image, shape)
            }
            None => vec![case["mask_value"].as_f64().unwrap() as f32; image.len()],
        };
        let max_evals = case["max_evals"].as_u64().unwrap() as usize;
        let tree = ImagePartition::new(shape).unwrap();
        let got = explain_image(&tree, &image, &masked, max_evals, DEFAULT_BATCH_SIZE, |batch| Ok(batch.iter().map(|i| model(i)).collect())).unwrap();
        let base = case["base_value"].as_f64().unwrap();
        assert!((got.base_value - base).abs() < 1e-9, "{shape:?} base value {} vs shap {base}", got.base_value);
        let want: Vec<f64> = case["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let diff = got.values.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        let scale = want.iter().map(|v| v.abs()).fold(0.0, f64::max);
        eprintln!("{shape:?} mask {} max_evals {max_evals}: {} evals, largest difference {diff:.2e} (largest value {scale:.2e})", case["mask_value"], got.evals);
        worst = worst.max(diff);
        // Constant masks: the same arithmetic as shap. Blurred ones: OpenCV sums the box in
        // another order, so masked pixels differ in their last bits (float32).
        let tolerance = if case["mask_value"].is_string() { 1e-6 } else { 1e-9 };
        assert!(diff < tolerance, "{shape:?} max_evals {max_evals}: differs from shap by {diff}");
    }
    eprintln!("largest difference from shap over {} cases: {worst:.2e}", cases.len());
}
