//! Explanations: exact Shapley values of GWSkyNet's ten inputs, and partition (Owen) attributions
//! over the pixels of its images and of the dm–dt images the classifier reads
//! (`crate::partition`).
//!
//! GWSkyNet's graph is additive in its logit: each input goes through a branch of its own (the
//! two convolution stacks, one dense layer per scalar, the detector flags as they are) and the
//! branches meet only in the last dense layer, before the sigmoid. So logit(x) = b + Σᵢ cᵢ(xᵢ):
//! - on the logit, input i's Shapley value is exactly cᵢ(xᵢ) − cᵢ(baselineᵢ), which is
//!   logit(baseline with input i taken from x) − logit(baseline): eleven evaluations, one batch;
//! - on the probability, every coalition S is worth σ(logit(baseline) + Σ_{i∈S} Δᵢ), so the exact
//!   sum over all 2¹⁰ coalitions needs no further model evaluation.
//!
//! The additivity is checked on every explanation: x itself is evaluated too, and the gap between
//! its logit and the sum is reported (`additivity_error`).

use crate::classifier::{self, Classifier};
use crate::error::{Error, Result};
use crate::gwskynet::{GwSkyNet, Image, Inputs};
use crate::partition::{self, Attribution, ImagePartition};

/// The ten inputs in the model's order, in plain words.
pub const INPUT_NAMES: [&str; 10] = [
    "sky image",
    "log Bayes factor, signal vs noise",
    "volume images",
    "detectors",
    "distance",
    "sky image peak",
    "volume image 1 peak",
    "volume image 2 peak",
    "volume image 3 peak",
    "log Bayes factor, coherent vs incoherent",
];

/// The default baseline: every input zero, i.e. absent — no sky image, no volume images, no
/// detector, zero distance and zero Bayes factors. GWSkyNet's inputs are normalised so that zero
/// is their natural "nothing" (images divided by their peaks, scalars by training maxima).
pub fn zero_baseline() -> Inputs {
    let arrays: Vec<Vec<f32>> = Inputs::shape_template().into_iter().map(|n| vec![0.0; n]).collect();
    Inputs::from_arrays(&arrays).expect("the template has the model's sizes")
}

/// Shapley values of the ten inputs for one sky map against a baseline.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Shapley {
    pub names: Vec<String>,
    /// The model's score for the map, and its logit.
    pub value: f64,
    pub logit: f64,
    /// The score and logit at the baseline.
    pub base_value: f64,
    pub base_logit: f64,
    /// φ on the probability: Σφ = value − base_value.
    pub phi: Vec<f64>,
    /// φ on the logit: Σφ = logit − base_logit.
    pub phi_logit: Vec<f64>,
    /// |logit(x) − (logit(baseline) + Σ φ_logit)|: zero for an additive model, up to rounding.
    pub additivity_error: f64,
}

/// The batch to evaluate: the baseline, then the baseline with each input taken from `x`, then
/// `x` itself.
pub fn coalition_batch(x: &Inputs, baseline: &Inputs) -> Vec<Inputs> {
    let xs: Vec<Vec<f32>> = x.named_arrays().into_iter().map(|(_, _, v)| v).collect();
    let bs: Vec<Vec<f32>> = baseline.named_arrays().into_iter().map(|(_, _, v)| v).collect();
    let mut batch = vec![baseline.clone()];
    for i in 0..10 {
        let mixed: Vec<Vec<f32>> = (0..10).map(|k| if k == i { xs[k].clone() } else { bs[k].clone() }).collect();
        batch.push(Inputs::from_arrays(&mixed).expect("same sizes"));
    }
    batch.push(x.clone());
    batch
}

/// Shapley values from the logits of `coalition_batch` (12 values).
pub fn shapley_from_logits(logits: &[f32]) -> Result<Shapley> {
    if logits.len() != 12 || logits.iter().any(|l| !l.is_finite()) {
        return Err(Error::Value("the model gave no finite logits for the explanation".into()));
    }
    let base = logits[0] as f64;
    let delta: Vec<f64> = (1..=10).map(|i| logits[i] as f64 - base).collect();
    let logit = logits[11] as f64;
    let sigmoid = |t: f64| 1.0 / (1.0 + (-t).exp());
    // Exact Shapley over all coalitions: φᵢ = Σ_{S∌i} |S|!(n−|S|−1)!/n! (v(S∪{i}) − v(S)).
    let n = 10usize;
    let factorial = |k: usize| (1..=k).map(|v| v as f64).product::<f64>();
    let weight: Vec<f64> = (0..n).map(|s| factorial(s) * factorial(n - s - 1) / factorial(n)).collect();
    let value_of = |mask: usize| sigmoid(base + (0..n).filter(|i| mask >> i & 1 == 1).map(|i| delta[i]).sum::<f64>());
    let values: Vec<f64> = (0..1usize << n).map(value_of).collect();
    let mut phi = vec![0.0; n];
    for (i, p) in phi.iter_mut().enumerate() {
        for mask in 0..1usize << n {
            if mask >> i & 1 == 0 {
                *p += weight[mask.count_ones() as usize] * (values[mask | 1 << i] - values[mask]);
            }
        }
    }
    Ok(Shapley {
        names: INPUT_NAMES.iter().map(|s| s.to_string()).collect(),
        value: sigmoid(logit),
        logit,
        base_value: sigmoid(base),
        base_logit: base,
        phi,
        additivity_error: (logit - (base + delta.iter().sum::<f64>())).abs(),
        phi_logit: delta,
    })
}

/// The coalitions `coalition_batch` evaluates, as masks of the inputs taken from x.
pub const COALITION_MASKS: [u16; 12] = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1023];

/// Exact Shapley values of the ten inputs of `x` against `baseline`. The branches of x and of the
/// baseline are computed once each and mixed before the last layer
/// (`GwSkyNet::mixed_logits`), which gives the same logits as running `coalition_batch`.
pub async fn gwskynet_shapley(model: &GwSkyNet, x: &Inputs, baseline: &Inputs) -> Result<Shapley> {
    shapley_from_logits(&model.mixed_logits(x, baseline, &COALITION_MASKS).await?)
}

/// Interventional Shapley values against a background set: absent inputs take each background
/// map's values in turn and the game is their mean, v(S) = mean_b f(x_S, b_rest). By linearity
/// its Shapley values are the mean of those against each background map, so Σφ = f(x) − mean_b
/// f(b) (and likewise on the logit).
pub async fn gwskynet_shapley_background(model: &GwSkyNet, x: &Inputs, background: &[Inputs]) -> Result<Shapley> {
    if background.is_empty() {
        return Err(Error::Option("the background set is empty".into()));
    }
    let mut each = Vec::with_capacity(background.len());
    for b in background {
        each.push(gwskynet_shapley(model, x, b).await?);
    }
    let n = each.len() as f64;
    let mean = |f: &dyn Fn(&Shapley) -> f64| each.iter().map(f).sum::<f64>() / n;
    let mean_vec = |f: &dyn Fn(&Shapley) -> &Vec<f64>| (0..10).map(|i| each.iter().map(|s| f(s)[i]).sum::<f64>() / n).collect();
    Ok(Shapley {
        names: each[0].names.clone(),
        value: each[0].value,
        logit: each[0].logit,
        base_value: mean(&|s| s.base_value),
        base_logit: mean(&|s| s.base_logit),
        phi: mean_vec(&|s| &s.phi),
        phi_logit: mean_vec(&|s| &s.phi_logit),
        additivity_error: each.iter().map(|s| s.additivity_error).fold(0.0, f64::max),
    })
}

#[cfg(not(target_family = "wasm"))]
pub fn gwskynet_shapley_background_blocking(model: &GwSkyNet, x: &Inputs, background: &[Inputs]) -> Result<Shapley> {
    pollster::block_on(gwskynet_shapley_background(model, x, background))
}

#[cfg(not(target_family = "wasm"))]
pub fn gwskynet_shapley_blocking(model: &GwSkyNet, x: &Inputs, baseline: &Inputs) -> Result<Shapley> {
    pollster::block_on(gwskynet_shapley(model, x, baseline))
}

/// Pixel attributions of GWSkyNet's score to one of its images: the image's pixels are the
/// players, absent pixels are masked as `options` says (zero by default: nothing there), the
/// other nine inputs stay the map's. So Σ values = score − score with the image masked.
pub async fn gwskynet_image_attribution(model: &GwSkyNet, x: &Inputs, image: Image, options: &partition::Options, progress: impl FnMut(usize, usize)) -> Result<Attribution> {
    let tree = ImagePartition::new(image.shape())?;
    let game = model.image_game(x, image);
    let masked = options.masking.masked(image.of(x), image.shape());
    partition::explain_image_async(&tree, image.of(x), &masked, options.max_evals, options.batch_size, async |images| model.image_scores(&game, &images).await, progress).await
}

#[cfg(not(target_family = "wasm"))]
pub fn gwskynet_image_attribution_blocking(model: &GwSkyNet, x: &Inputs, image: Image, options: &partition::Options) -> Result<Attribution> {
    pollster::block_on(gwskynet_image_attribution(model, x, image, options, |_, _| {}))
}

/// The classifier's input (channels first: band, Δt, Δm) as an image for the partition
/// (channels last), and back.
fn channels_last(chw: &[f32], [channels, rows, columns]: [usize; 3]) -> Vec<f32> {
    let mut out = vec![0f32; chw.len()];
    for c in 0..channels {
        for p in 0..rows * columns {
            out[p * channels + c] = chw[c * rows * columns + p];
        }
    }
    out
}

fn channels_first(hwc: &[f32], [channels, rows, columns]: [usize; 3]) -> Vec<f32> {
    let mut out = vec![0f32; hwc.len()];
    for c in 0..channels {
        for p in 0..rows * columns {
            out[c * rows * columns + p] = hwc[p * channels + c];
        }
    }
    out
}

/// A classifier input checked and split: its image, its features and the image's shape
/// (channels first), for a class that exists.
fn split_classifier_input(input: &[f32], class: usize) -> Result<(&[f32], &[f32], [usize; 3])> {
    if class >= classifier::CLASSES.len() {
        return Err(Error::Option(format!("there are {} classes, numbered from 0", classifier::CLASSES.len())));
    }
    if input.len() != classifier::input_len() {
        return Err(Error::Value(format!("the classifier takes inputs of {} values", classifier::input_len())));
    }
    let (n_dt, n_dm) = classifier::grid().shape();
    let (image, features) = input.split_at(input.len() - classifier::N_FEATURES);
    Ok((image, features, [classifier::CHANNELS, n_dt, n_dm]))
}

/// Attributions of the probability of class `class` to the pixels of a dm–dt input (as
/// `classifier::input_image` makes it; its features are held fixed). Absent pixels are masked
/// as `options` says (zero by default: no pair of points in that bin). The values come back
/// channels last: `[Δt bin, Δm bin, band]`.
pub async fn dmdt_attribution(model: &Classifier, input: &[f32], class: usize, options: &partition::Options, progress: impl FnMut(usize, usize)) -> Result<Attribution> {
    // Only the image's pixels are players; the period features stay as they are.
    let (image, features, chw) = split_classifier_input(input, class)?;
    let [channels, n_dt, n_dm] = chw;
    let shape = [n_dt, n_dm, channels];
    let tree = ImagePartition::new(shape)?;
    let x = channels_last(image, chw);
    let masked = options.masking.masked(&x, shape);
    let probability = async |images: Vec<Vec<f32>>| -> Result<Vec<f64>> {
        let inputs: Vec<Vec<f32>> = images
            .iter()
            .map(|i| {
                let mut v = channels_first(i, chw);
                v.extend_from_slice(features);
                v
            })
            .collect();
        let refs: Vec<&[f32]> = inputs.iter().map(|v| v.as_slice()).collect();
        Ok(model.probabilities(&refs).await?.iter().map(|p| p[class] as f64).collect())
    };
    partition::explain_image_async(&tree, &x, &masked, options.max_evals, options.batch_size, probability, progress).await
}

/// How much the two parts of the classifier's input moved P(class): `image + features = value −
/// base_value` (see `dmdt_parts`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct InputParts {
    /// P(class) with both parts at their reference, and on the input itself.
    pub base_value: f64,
    pub value: f64,
    pub image: f64,
    pub features: f64,
}

/// How much the two parts of the classifier's input moved P(`class`): the dm–dt image and the
/// period features, each against a reference (the image masked as `masking` says; the features
/// of an average training star). Exact Shapley values of the two-player game (4 model runs).
pub async fn dmdt_parts(model: &Classifier, input: &[f32], class: usize, masking: &partition::Masking) -> Result<InputParts> {
    let (image, features, chw) = split_classifier_input(input, class)?;
    let [channels, n_dt, n_dm] = chw;
    let masked_image = channels_first(&masking.masked(&channels_last(image, chw), [n_dt, n_dm, channels]), chw);
    let join = |i: &[f32], f: &[f32]| [i, f].concat();
    let runs = [
        join(&masked_image, model.average_features()),
        join(image, model.average_features()),
        join(&masked_image, features),
        input.to_vec(),
    ];
    let p: Vec<f64> = model.probabilities(&runs.iter().map(|v| v.as_slice()).collect::<Vec<_>>()).await?.iter().map(|p| p[class] as f64).collect();
    Ok(InputParts {
        base_value: p[0],
        value: p[3],
        image: 0.5 * ((p[1] - p[0]) + (p[3] - p[2])),
        features: 0.5 * ((p[2] - p[0]) + (p[3] - p[1])),
    })
}

#[cfg(not(target_family = "wasm"))]
pub fn dmdt_parts_blocking(model: &Classifier, input: &[f32], class: usize, masking: &partition::Masking) -> Result<InputParts> {
    pollster::block_on(dmdt_parts(model, input, class, masking))
}

#[cfg(not(target_family = "wasm"))]
pub fn dmdt_attribution_blocking(model: &Classifier, input: &[f32], class: usize, options: &partition::Options) -> Result<Attribution> {
    pollster::block_on(dmdt_attribution(model, input, class, options, |_, _| {}))
}

/// Coarse groups that teach: the attributions summed per row and per column of the image
/// (for dm–dt images, per Δt band — a time scale — and per Δm band), over all channels. Each
/// adds up to the same total as the pixels.
pub fn row_and_column_sums(a: &Attribution) -> (Vec<f64>, Vec<f64>) {
    let [rows, columns, channels] = a.shape;
    let mut by_column = vec![0.0; columns];
    let by_row = a
        .values
        .chunks(columns * channels)
        .take(rows)
        .map(|row| {
            row.chunks(channels).zip(by_column.iter_mut()).map(|(pixel, column)| {
                let v: f64 = pixel.iter().sum();
                *column += v;
                v
            }).sum()
        })
        .collect();
    (by_row, by_column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapley_of_an_additive_logit_sums_to_the_difference() {
        // A made-up additive game: base logit −1 and these deltas.
        let deltas = [-0.3f32, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
        let mut logits = vec![-1.0f32];
        logits.extend(deltas.iter().map(|d| -1.0 + d));
        logits.push(-1.0 + deltas.iter().sum::<f32>());
        let s = shapley_from_logits(&logits).unwrap();
        assert!((s.phi.iter().sum::<f64>() - (s.value - s.base_value)).abs() < 1e-12);
        assert!((s.phi_logit.iter().sum::<f64>() - (s.logit - s.base_logit)).abs() < 1e-6);
        assert!(s.additivity_error < 1e-5);
        // Symmetry: equal deltas get equal φ; a zero delta gets φ = 0 (dummy player).
        assert!(s.phi[3].abs() < 1e-12, "input 3 has delta 0: {}", s.phi[3]);
        assert!(s.phi[9] > s.phi[8] && s.phi[8] > 0.0);
    }

    #[test]
    fn channel_order_round_trips() {
        let chw: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let hwc = channels_last(&chw, [2, 3, 4]);
        assert_eq!(hwc[0..4], [0.0, 12.0, 1.0, 13.0]);
        assert_eq!(channels_first(&hwc, [2, 3, 4]), chw);
    }

    #[test]
    fn rows_and_columns_sum_over_channels() {
        let a = Attribution { shape: [2, 3, 2], values: (0..12).map(f64::from).collect(), base_value: 0.0, value: 66.0, evals: 2, max_evals: 2 };
        assert_eq!(row_and_column_sums(&a), (vec![15.0, 51.0], vec![14.0, 22.0, 30.0]));
    }
}
