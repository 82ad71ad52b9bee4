//! The light-curve classifier: a small CNN on dm–dt images, trained by this project on EROS-1
//! (models/dmdt_cnn.md says on what, how and how well). Input: two channels, the blue band
//! (EROS b, ZTF g) and the red band (EROS r, ZTF r), each the dm–dt image on Mahabal et al.
//! 2017's grid as √(fraction of pairs in each pixel × number of pixels); a missing band is
//! filled with the other one (training dropped bands at random, so one band is a case the model
//! has seen). Beside
//! the image, `N_FEATURES` numbers from the periodogram and a Fourier fit (`features`): the
//! period and the shape of the folded light curve, which a dm–dt image does not keep.

use crate::compute::read_f32;
use crate::dmdt::{self, Grid, ImageOptions};
use crate::error::{Error, Result};
use crate::lightcurve::LightCurve;
use crate::period;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::{relu, softmax};
use burn::tensor::TensorData;

/// The classes, in the model's output order (EROS-1 `type` 1..4).
pub const CLASSES: [&str; 4] = ["eclipsing binary", "Cepheid", "RR Lyrae", "Mira/LPV"];
/// Input channels: blue, red.
pub const CHANNELS: usize = 2;
/// The dm–dt grid the model reads: Mahabal et al. 2017's 23 Δt × 22 Δm. (SCoPe's 26 × 26,
/// finer at short Δt, gave no better validation accuracy: 0.785 vs 0.790 balanced, 30 epochs.)
pub const GRID: &str = "mahabal2017";

/// The dm–dt grid of the model's input.
pub fn grid() -> Grid {
    Grid::named(GRID).expect("a named grid")
}

/// Values in the model's input: the image (`CHANNELS` × Δt × Δm) then the features.
pub fn input_len() -> usize {
    let (n_dt, n_dm) = grid().shape();
    CHANNELS * n_dt * n_dm + N_FEATURES
}

/// The network: three 3×3 convolutions on the image (the second and third after 2×2 max
/// pooling) and two dense layers on the standardised features, joined by a dense layer with dropout.
#[derive(Module, Debug)]
pub struct DmdtCnn {
    conv1: Conv2d,
    conv2: Conv2d,
    conv3: Conv2d,
    pool: MaxPool2d,
    dropout: Dropout,
    fc1: Linear,
    features1: Linear,
    features2: Linear,
    fc2: Linear,
}

impl DmdtCnn {
    /// Freshly initialised (for training); `Classifier::new` loads the trained weights.
    pub fn new(device: &Device) -> DmdtCnn {
        let conv = |i: usize, o: usize| Conv2dConfig::new([i, o], [3, 3]).with_padding(PaddingConfig2d::Same).init(device);
        let (n_dt, n_dm) = grid().shape();
        let flat = 32 * (n_dt / 4) * (n_dm / 4);
        DmdtCnn {
            conv1: conv(CHANNELS, 16),
            conv2: conv(16, 32),
            conv3: conv(32, 32),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            dropout: DropoutConfig::new(0.3).init(),
            fc1: LinearConfig::new(flat, 64).init(device),
            features1: LinearConfig::new(N_FEATURES, 64).init(device),
            features2: LinearConfig::new(64, 32).init(device),
            fc2: LinearConfig::new(64 + 32, CLASSES.len()).init(device),
        }
    }

    /// Logits `[batch, 4]` for images `[batch, 2, 23, 22]` and standardised features
    /// `[batch, N_FEATURES]`.
    pub fn forward(&self, image: Tensor<4>, features: Tensor<2>) -> Tensor<2> {
        let x = relu(self.conv1.forward(image));
        let x = self.pool.forward(relu(self.conv2.forward(x)));
        let x = self.pool.forward(relu(self.conv3.forward(x)));
        let x = relu(self.fc1.forward(x.flatten::<2>(1, 3)));
        let f = relu(self.features2.forward(relu(self.features1.forward(features))));
        self.fc2.forward(self.dropout.forward(Tensor::cat(vec![x, f], 1)))
    }
}

/// Several networks trained alike from different seeds; their logits are averaged (steadier
/// than any one of them).
#[derive(Module, Debug)]
pub struct DmdtEnsemble {
    pub members: Vec<DmdtCnn>,
}

impl DmdtEnsemble {
    pub fn new(device: &Device, members: usize) -> DmdtEnsemble {
        DmdtEnsemble { members: (0..members).map(|_| DmdtCnn::new(device)).collect() }
    }

    /// The members' mean logits.
    pub fn forward(&self, image: Tensor<4>, features: Tensor<2>) -> Tensor<2> {
        let n = self.members.len() as f64;
        let logits: Vec<Tensor<2>> = self.members.iter().map(|m| m.forward(image.clone(), features.clone())).collect();
        Tensor::stack::<3>(logits, 0).sum_dim(0).squeeze_dim::<2>(0).div_scalar(n)
    }
}

/// Numbers that describe the period and the folded shape, read beside the image.
pub const N_FEATURES: usize = PERIOD_FEATURES + CHANNELS * BAND_FEATURES + 1;
/// The three highest periodogram peaks (log10 days, power) and whether any was found. With
/// EROS-1's sampling the true period (or half of it, for binaries) is the highest peak for
/// ~75% of the RR Lyrae stars and Cepheids but among the three highest for ~95%. (Folding at
/// all three, not only the highest, gave no better validation accuracy: 0.859 vs 0.864.)
const PEAKS: usize = 3;
const PERIOD_FEATURES: usize = 1 + 2 * PEAKS;
/// Per band, at the highest peak: ten numbers from the Fourier fit, then the folded light
/// curve in `FOLD_BINS` phase bins.
const FOLD_BINS: usize = 16;
const BAND_FEATURES: usize = 10 + FOLD_BINS;

/// The features' names, in input order (for people: the page and the model card show them).
pub fn feature_names() -> Vec<String> {
    let mut names = vec!["period found".to_string()];
    for k in 1..=PEAKS {
        names.push(format!("peak {k}: log10 period (days)"));
        names.push(format!("peak {k}: power"));
    }
    for band in ["blue", "red"] {
        for f in ["fitted", "log10 amplitude (1st harmonic)", "R21", "R31", "sin φ21", "cos φ21", "fit residual / amplitude", "residual ratio at 2×period", "log10 5–95% range", "(mean − median) / std"] {
            names.push(format!("{band}: {f}"));
        }
        for b in 0..FOLD_BINS {
            names.push(format!("{band}: folded, phase {:.3}–{:.3}", b as f64 / FOLD_BINS as f64, (b + 1) as f64 / FOLD_BINS as f64));
        }
    }
    names.push("median blue − red".into());
    names
}

/// The features of one object, its curves given by input channel (`None`: no such band). Raw
/// values (the classifier standardises them); zeros where a band, a peak or the period is missing.
pub fn features(by_channel: [Option<&LightCurve>; CHANNELS]) -> [f32; N_FEATURES] {
    let mut out = [0f32; N_FEATURES];
    let present: Vec<&LightCurve> = by_channel.iter().flatten().copied().collect();
    let peaks = period::best_periods(&present, PEAKS);
    if peaks.is_empty() {
        return out;
    }
    out[0] = 1.0;
    for (k, p) in peaks.iter().enumerate() {
        out[1 + 2 * k] = p.days.log10() as f32;
        out[2 + 2 * k] = p.power as f32;
    }
    for (channel, curve) in by_channel.iter().enumerate() {
        if let Some(band) = curve.and_then(|c| band_features(c, peaks[0].days)) {
            let at = PERIOD_FEATURES + channel * BAND_FEATURES;
            out[at..at + BAND_FEATURES].copy_from_slice(&band);
        }
    }
    if let [Some(blue), Some(red)] = by_channel {
        let median = |c: &LightCurve| {
            let mut m = c.mag.clone();
            m.sort_by(f64::total_cmp);
            m[m.len() / 2]
        };
        out[N_FEATURES - 1] = (median(blue) - median(red)).clamp(-5.0, 5.0) as f32;
    }
    out
}

/// One band's numbers at one trial period (see `feature_names`); None when it cannot be fitted.
fn band_features(curve: &LightCurve, days: f64) -> Option<[f32; BAND_FEATURES]> {
    let (fit, fit2) = (period::fourier_fit(curve, days)?, period::fourier_fit(curve, 2.0 * days)?);
    let a1 = fit.amplitudes[0] + 1e-3;
    let phi21 = fit.phases[1] - 2.0 * fit.phases[0];
    let mut sorted = curve.mag.clone();
    sorted.sort_by(f64::total_cmp);
    let quantile = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
    let std = (sorted.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / sorted.len() as f64).sqrt();
    let range = quantile(0.95) - quantile(0.05) + 1e-3;
    let numbers = [
        1.0,
        a1.log10(),
        (fit.amplitudes[1] / a1).min(3.0),
        (fit.amplitudes[2] / a1).min(3.0),
        phi21.sin(),
        phi21.cos(),
        (fit.residual / a1).min(10.0),
        (fit2.residual / (fit.residual + 1e-6)).min(3.0),
        range.log10(),
        ((mean - quantile(0.5)) / (std + 1e-6)).clamp(-5.0, 5.0),
    ];
    let folded = period::folded_shape::<FOLD_BINS>(curve, days, &fit, range).map(|v| v.clamp(-3.0, 3.0));
    let mut out = [0f32; BAND_FEATURES];
    for (o, v) in out.iter_mut().zip(numbers.iter().chain(&folded)) {
        *o = *v as f32;
    }
    Some(out)
}

/// The period (days) an input found, read back from its features; None when none was found.
pub fn period_of(input: &[f32]) -> Option<f64> {
    let f = &input[input.len().checked_sub(N_FEATURES)?..];
    (f[0] == 1.0).then(|| 10f64.powf(f[1] as f64))
}

/// Which input channel a band name goes to: 0 blue, 1 red, None when the name says neither.
pub fn band_channel(band: Option<&str>) -> Option<usize> {
    let b = band?.trim().to_ascii_lowercase();
    match b.as_str() {
        "b" | "blue" | "g" | "zg" | "1" | "v" | "bmag" => Some(0),
        "r" | "red" | "zr" | "2" | "rmag" => Some(1),
        _ => None,
    }
}

/// The model's input for one object (its curves, one per band): the dm–dt image then the
/// features (`input_len` values), and warnings about how far the data are from what the model
/// was trained on.
pub fn input_image(curves: &[&LightCurve]) -> Result<(Vec<f32>, Vec<String>)> {
    let grid = grid();
    let (n_dt, n_dm) = grid.shape();
    let plane = n_dt * n_dm;
    let mut image = vec![0f32; CHANNELS * plane];
    let mut by_channel: [Option<&LightCurve>; CHANNELS] = [None; CHANNELS];
    let mut warnings = Vec::new();
    // A band with fewer than MIN_POINTS points beside one with enough is left out: training
    // never saw such a band (its subsets kept 10 or more epochs), and its empty features read as
    // far outside the training data (a ZTF Mira/LPV star with 2 g points and 118 r points was
    // called an RR Lyrae star with probability 1.0). The other band then stands in for it.
    let curves = keep_where_any(curves.to_vec(), |c| c.len() >= MIN_POINTS, &mut warnings, |c| {
        format!("{}: only {} points, left out (the classifier reads bands of {MIN_POINTS} points or more)", c.label(), c.len())
    });
    // Other bands (i, z, …) beside a blue or a red one are left out, not refused: a ZTF file
    // with g, r and i points is classified from g and r.
    let curves = keep_where_any(curves, |c| band_channel(c.band.as_deref()).is_some(), &mut warnings, |c| {
        format!("{}: left out (the classifier reads a blue band, B, b or g, and a red band, R or r)", c.label())
    });
    for &curve in &curves {
        let channel = match band_channel(curve.band.as_deref()) {
            Some(c) => c,
            None if curves.len() == 1 => {
                if curve.band.is_some() {
                    warnings.push(format!("band '{}' is neither blue-ish (B, g) nor red-ish (R, r): read as the red band", curve.band.as_deref().unwrap_or("")));
                }
                1
            }
            None => {
                return Err(Error::Value(format!(
                    "the classifier reads a blue band (B, b, g) and a red band (R, r); band '{}' is neither (pick one with --band)",
                    curve.band.as_deref().unwrap_or("")
                )))
            }
        };
        if by_channel[channel].is_some() {
            return Err(Error::Value(format!("two light curves of {} go to the same colour band", curve.label())));
        }
        if curve.len() < 2 {
            warnings.push(format!("{}: fewer than 2 points, no dm–dt image", curve.label()));
            continue;
        }
        by_channel[channel] = Some(curve);
        let img = dmdt::image(curve, &grid, ImageOptions::default())?;
        // sqrt of the fraction of pairs per pixel, times the number of pixels (a uniform image
        // is 1 everywhere): values of order one, the same scale for 10 points or 1 000.
        let total = img.n_pairs.max(1) as f64;
        for (k, &c) in img.counts.iter().enumerate() {
            image[channel * plane + k] = (c / total * plane as f64).sqrt() as f32;
        }
    }
    if by_channel.iter().all(Option::is_none) {
        return Err(Error::Value("no band has the 2 points a dm–dt image needs".into()));
    }
    // One band only: it stands in for the other too (its image and its features in both
    // places). Left as zeros, the missing band's features sit far from anything in training
    // and single-band accuracy fell to 0.58 (blue) and 0.49 (red) on validation.
    if let Some(only) = (0..CHANNELS).find(|&c| by_channel[c].is_some()).filter(|_| by_channel.iter().flatten().count() == 1) {
        let copy = image[only * plane..(only + 1) * plane].to_vec();
        for c in (0..CHANNELS).filter(|&c| c != only) {
            image[c * plane..(c + 1) * plane].copy_from_slice(&copy);
            by_channel[c] = by_channel[only];
        }
    }
    let features = features(by_channel);
    if features[0] == 0.0 {
        warnings.push(format!("no period found (a band needs {} points over more than half a day): the model sees the dm–dt image alone", period::MIN_POINTS));
    }
    if let Some(big) = curves.iter().map(|c| c.len()).max().filter(|&n| n > period::MAX_PERIODOGRAM_POINTS) {
        warnings.push(format!("the period was searched on every {}th of the {big} points (at most {} per band)", big.div_ceil(period::MAX_PERIODOGRAM_POINTS), period::MAX_PERIODOGRAM_POINTS));
    }
    image.extend_from_slice(&features);
    warnings.extend(training_range_warnings(&curves));
    warnings.extend(unfamiliar(&image, shipped_card()));
    Ok((image, warnings))
}

/// The curves `keep` accepts, each other one named in a warning (`why`), when `keep` accepts
/// any; all of them otherwise.
fn keep_where_any<'a>(curves: Vec<&'a LightCurve>, keep: impl Fn(&LightCurve) -> bool, warnings: &mut Vec<String>, why: impl Fn(&LightCurve) -> String) -> Vec<&'a LightCurve> {
    if !curves.iter().any(|c| keep(c)) {
        return curves;
    }
    let (kept, left): (Vec<&LightCurve>, Vec<&LightCurve>) = curves.into_iter().partition(|c| keep(c));
    warnings.extend(left.into_iter().map(why));
    kept
}

/// Ways the light curves differ from EROS-1's (about 120 epochs per band over about 1 300
/// days, errors of 0.05–0.3 mag): the answer is then less trustworthy than the model's
/// probabilities say.
pub fn training_range_warnings(curves: &[&LightCurve]) -> Vec<String> {
    let mut out = Vec::new();
    let most = curves.iter().map(|c| c.len()).max().unwrap_or(0);
    if most < 20 {
        out.push(format!("only {most} points: the model was trained on 10 to ~130 points per band and is unreliable below ~20"));
    }
    let span = curves
        .iter()
        .filter(|c| !c.time.is_empty())
        .map(|c| c.time[c.time.len() - 1] - c.time[0])
        .fold(0f64, f64::max);
    if span < 100.0 {
        out.push(format!("the light curve spans {span:.0} days: EROS-1 curves span ~1 300 days, so long periods (Mira/LPV) cannot show"));
    }
    if span > 5000.0 {
        out.push(format!("the light curve spans {span:.0} days, longer than any the model saw (~1 300 days)"));
    }
    let mut errors: Vec<f64> = curves.iter().filter_map(|c| c.err.as_ref()).flatten().copied().filter(|e| e.is_finite() && *e > 0.0).collect();
    if !errors.is_empty() {
        errors.sort_by(f64::total_cmp);
        let median = errors[errors.len() / 2];
        if median < CLEANEST_TRAINING_ERROR {
            out.push(format!(
                "the magnitude errors (median {median:.3} mag) are smaller than any EROS-1 light curve's ({CLEANEST_TRAINING_ERROR} mag and up): the model has seen nothing this clean and may take RR Lyrae stars for Cepheids"
            ));
        }
    }
    out
}

/// The smallest median magnitude error of an EROS-1 training light curve (per band; 1% of them
/// are below 0.07 mag, none below 0.05). Cleaner data are outside what the model learned from.
pub const CLEANEST_TRAINING_ERROR: f64 = 0.05;

/// The trained model's metadata (models/dmdt_cnn.json, written by the training command).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct ModelCard {
    /// Softmax temperature fitted on the validation split (calibration).
    pub temperature: f32,
    pub classes: Vec<String>,
    pub grid: String,
    /// Networks in the ensemble.
    pub members: usize,
    /// Mean and standard deviation of each feature over the training stars (standardisation).
    pub feature_mean: Vec<f32>,
    pub feature_std: Vec<f32>,
    /// The training stars' standardised features: their mean, the inverse of their covariance
    /// (row-major) and the 99.5th percentile of their Mahalanobis distances (`unfamiliar`);
    /// empty in a card without them.
    #[serde(default)]
    pub familiar_mean: Vec<f32>,
    #[serde(default)]
    pub familiar_precision: Vec<f32>,
    #[serde(default)]
    pub familiar_limit: f32,
    #[serde(flatten)]
    pub training: serde_json::Map<String, serde_json::Value>,
}

const WEIGHTS: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/dmdt_cnn.bpk"));
const CARD: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/dmdt_cnn.json"));

pub fn model_card() -> ModelCard {
    shipped_card().clone()
}

/// The shipped model's card, parsed once (every input's check reads its ranges).
fn shipped_card() -> &'static ModelCard {
    static PARSED: std::sync::OnceLock<ModelCard> = std::sync::OnceLock::new();
    PARSED.get_or_init(|| serde_json::from_str(CARD).expect("models/dmdt_cnn.json is written by the training command"))
}

/// How far an input's features (standardised as the model reads them) are from the training
/// inputs': the Mahalanobis distance √(dᵀ P d), d the difference from the training mean and P
/// the inverse of the training covariance (`ModelCard::familiar_mean`, `familiar_precision`).
/// None when the card has no such numbers or the input is not a model input.
pub fn distance_from_training(input: &[f32], card: &ModelCard) -> Option<f32> {
    let n = N_FEATURES;
    if input.len() != input_len() || card.familiar_mean.len() != n || card.familiar_precision.len() != n * n {
        return None;
    }
    let features = &input[input.len() - n..];
    let d: Vec<f64> = (0..n).map(|k| ((features[k] - card.feature_mean[k]) / card.feature_std[k] - card.familiar_mean[k]) as f64).collect();
    let quadratic: f64 = (0..n).map(|r| d[r] * (0..n).map(|c| card.familiar_precision[r * n + c] as f64 * d[c]).sum::<f64>()).sum();
    Some(quadratic.max(0.0).sqrt() as f32)
}

/// A warning when an input's features are farther from the training stars' than all but 0.5%
/// of the training stars themselves (`distance_from_training` above `familiar_limit`): the
/// light curve is unlike EROS-1's (cadence, survey, noise) in ways the single checks of
/// `training_range_warnings` do not catch, and the network's answer is an extrapolation.
pub fn unfamiliar(input: &[f32], card: &ModelCard) -> Option<String> {
    let distance = distance_from_training(input, card)?;
    (distance > card.familiar_limit).then(|| {
        format!(
            "its period and light-curve-shape numbers are unlike the EROS-1 training stars' (distance {distance:.1} from them, where 99.5% of the training stars are within {:.1}): the answer is an extrapolation",
            card.familiar_limit
        )
    })
}

/// The trained classifier on one device.
pub struct Classifier {
    model: DmdtEnsemble,
    temperature: f32,
    /// Feature standardisation (from the model card).
    mean: Vec<f32>,
    std: Vec<f32>,
    device: Device,
}

impl Classifier {
    pub fn new(device: &Device) -> Classifier {
        Classifier::from_bytes(WEIGHTS, &model_card(), device).expect("the embedded weights load")
    }

    /// A classifier from burnpack bytes and its card (the training command evaluates its own
    /// this way).
    pub fn from_bytes(bytes: &[u8], card: &ModelCard, device: &Device) -> Result<Classifier> {
        let (temperature, mean, std) = (card.temperature, &card.feature_mean, &card.feature_std);
        if mean.len() != N_FEATURES || std.len() != N_FEATURES {
            return Err(Error::Backend(format!("the classifier's card has {} feature means, the model reads {N_FEATURES}", mean.len())));
        }
        use burn_store::{BurnpackStore, ModuleSnapshot};
        let mut model = DmdtEnsemble::new(device, card.members);
        let mut store = BurnpackStore::from_bytes(Some(burn::tensor::Bytes::from_bytes_vec(bytes.to_vec())));
        model.load_from(&mut store).map_err(|e| Error::Backend(format!("cannot load the classifier's weights: {e}")))?;
        Ok(Classifier { model: model.valid(), temperature, mean: mean.to_vec(), std: std.to_vec(), device: device.clone() })
    }

    /// Calibrated class probabilities for a batch of inputs (from `input_image`).
    pub async fn probabilities(&self, inputs: &[&[f32]]) -> Result<Vec<[f32; 4]>> {
        let logits = self.logits_tensor(inputs)?;
        let p = softmax(logits.div_scalar(self.temperature), 1);
        let values = read_f32(p).await?;
        Ok(values.chunks(CLASSES.len()).map(|c| [c[0], c[1], c[2], c[3]]).collect())
    }

    /// The features of an average training star (raw values): what "no information in the
    /// features" means when explanations leave them out.
    pub fn average_features(&self) -> &[f32] {
        &self.mean
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn probabilities_blocking(&self, inputs: &[&[f32]]) -> Result<Vec<[f32; 4]>> {
        pollster::block_on(self.probabilities(inputs))
    }

    fn logits_tensor(&self, inputs: &[&[f32]]) -> Result<Tensor<2>> {
        let (image, features) = input_tensors(inputs, &self.mean, &self.std, &self.device)?;
        Ok(self.model.forward(image, features))
    }
}

/// The model's tensors for a batch of inputs (from `input_image`): images and standardised
/// features.
pub fn input_tensors(inputs: &[&[f32]], mean: &[f32], std: &[f32], device: &Device) -> Result<(Tensor<4>, Tensor<2>)> {
    let (n_dt, n_dm) = grid().shape();
    let size = input_len();
    if inputs.is_empty() || inputs.iter().any(|x| x.len() != size) {
        return Err(Error::Value(format!("the classifier takes inputs of {size} values (a dm–dt image and {N_FEATURES} features)")));
    }
    let split = size - N_FEATURES;
    let images: Vec<f32> = inputs.iter().flat_map(|x| x[..split].iter().copied()).collect();
    let features: Vec<f32> = inputs
        .iter()
        .flat_map(|x| x[split..].iter().zip(mean.iter().zip(std)).map(|(v, (m, s))| (v - m) / s))
        .collect();
    Ok((
        Tensor::<4>::from_data(TensorData::new(images, [inputs.len(), CHANNELS, n_dt, n_dm]), device),
        Tensor::<2>::from_data(TensorData::new(features, [inputs.len(), N_FEATURES]), device),
    ))
}

/// One classified object, as the CLI and the page report it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Prediction {
    pub object: Option<String>,
    /// The most probable class, or "uncertain" with fewer than `MIN_POINTS` points.
    pub label: String,
    /// Class → probability (calibrated).
    pub probabilities: std::collections::BTreeMap<String, f64>,
    pub n_points: usize,
    pub bands: Vec<String>,
    /// The best period found by the periodogram (days), if any.
    pub period: Option<f64>,
    pub warnings: Vec<String>,
}

/// Groups light curves by object (in file order), for `input_image`.
pub fn group_by_object(curves: &[LightCurve]) -> Vec<Vec<&LightCurve>> {
    let mut groups: Vec<Vec<&LightCurve>> = Vec::new();
    for curve in curves {
        match groups.iter_mut().find(|g| g[0].object == curve.object) {
            Some(g) => g.push(curve),
            None => groups.push(vec![curve]),
        }
    }
    groups
}

/// Below this many points in every band the model has seen nothing like the input: the label
/// is then "uncertain" whatever the probabilities say.
pub const MIN_POINTS: usize = 10;

/// Whether an object has too few points for any answer (see `MIN_POINTS`).
pub fn too_few_points(curves: &[&LightCurve]) -> bool {
    curves.iter().map(|c| c.len()).max().unwrap_or(0) < MIN_POINTS
}

/// The prediction for one object from its probabilities.
pub fn prediction(curves: &[&LightCurve], input: &[f32], p: [f32; 4], warnings: Vec<String>) -> Prediction {
    let best = (0..4).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0);
    Prediction {
        object: curves.first().and_then(|c| c.object.clone()),
        label: if too_few_points(curves) { "uncertain".to_string() } else { CLASSES[best].to_string() },
        probabilities: CLASSES.iter().zip(p).map(|(c, v)| (c.to_string(), v as f64)).collect(),
        n_points: curves.iter().map(|c| c.len()).sum(),
        bands: curves.iter().map(|c| c.band.clone().unwrap_or_else(|| "(none)".into())).collect(),
        period: period_of(input),
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(band: Option<&str>, n: usize) -> LightCurve {
        LightCurve {
            object: Some("star".into()),
            band: band.map(String::from),
            time: (0..n).map(|k| k as f64 * 11.3).collect(),
            mag: (0..n).map(|k| 15.0 + 0.3 * (k as f64 * 0.7).sin()).collect(),
            err: None,
            dropped: 0,
        }
    }

    #[test]
    fn bands_go_to_their_channels_and_one_band_stands_in_for_both() {
        assert_eq!(band_channel(Some("g")), Some(0));
        assert_eq!(band_channel(Some("R")), Some(1));
        assert_eq!(band_channel(Some("i")), None);
        let (n_dt, n_dm) = grid().shape();
        let blue = curve(Some("b"), 120);
        let (x, warnings) = input_image(&[&blue]).unwrap();
        assert_eq!(x.len(), CHANNELS * n_dt * n_dm + N_FEATURES);
        assert_eq!(x.len(), input_len());
        assert!(warnings.is_empty(), "{warnings:?}");
        let (first, rest) = x.split_at(n_dt * n_dm);
        let (second, features) = rest.split_at(n_dt * n_dm);
        // One band stands in for both: the same image and the same features twice.
        assert_eq!(first, second);
        assert_eq!(features[0], 1.0);
        assert_eq!(features[PERIOD_FEATURES], 1.0);
        assert_eq!(features[PERIOD_FEATURES..PERIOD_FEATURES + BAND_FEATURES], features[PERIOD_FEATURES + BAND_FEATURES..PERIOD_FEATURES + 2 * BAND_FEATURES]);
        assert_eq!(feature_names().len(), N_FEATURES);
        // Squares sum to the number of pixels times the fraction of pairs inside the grid.
        let sum: f32 = first.iter().map(|v| v * v).sum();
        assert!(sum > 0.0 && sum <= (n_dt * n_dm) as f32 * 1.0001);
        // Two bands that are not blue and red are refused with a message.
        let err = input_image(&[&curve(Some("i"), 50), &curve(Some("z"), 50)]).unwrap_err().to_string();
        assert!(err.contains("band 'i'"), "{err}");
        // Beside a blue or a red band, another band is left out with a warning.
        let (x, warnings) = input_image(&[&curve(Some("i"), 50), &blue]).unwrap();
        assert!(warnings.iter().any(|w| w.contains("band i: left out")), "{warnings:?}");
        assert_eq!(x, input_image(&[&blue]).unwrap().0);
    }

    #[test]
    fn data_cleaner_than_eros_get_a_warning() {
        let mut clean = curve(Some("g"), 120);
        clean.err = Some(vec![0.02; 120]);
        assert!(training_range_warnings(&[&clean]).iter().any(|w| w.contains("median 0.020 mag")));
        clean.err = Some(vec![0.1; 120]);
        assert!(training_range_warnings(&[&clean]).is_empty());
    }

    #[test]
    fn too_few_points_give_no_confident_label() {
        let short = curve(None, 5);
        let (x, warnings) = input_image(&[&short]).unwrap();
        assert!(warnings.iter().any(|w| w.contains("only 5 points")));
        let p = prediction(&[&short], &x, [0.0, 0.0, 0.0, 1.0], warnings);
        assert_eq!(p.label, "uncertain");
        let long = curve(None, 120);
        let (x, _) = input_image(&[&long]).unwrap();
        let p = prediction(&[&long], &x, [0.1, 0.7, 0.1, 0.1], vec![]);
        assert_eq!(p.label, "Cepheid");
        // The curve's sine has period 2π/0.7 samples of 11.3 days (or an alias of it).
        assert!(p.period.is_some());
    }

    #[test]
    fn a_band_too_sparse_to_read_beside_a_full_one_is_left_out() {
        let blue = curve(Some("b"), 120);
        let red = curve(Some("r"), 3);
        let (x, warnings) = input_image(&[&blue, &red]).unwrap();
        assert!(warnings.iter().any(|w| w.contains("band r: only 3 points, left out")), "{warnings:?}");
        assert_eq!(x, input_image(&[&blue]).unwrap().0);
        // With no band of enough points both are read (and the answer is "uncertain").
        let (x, warnings) = input_image(&[&curve(Some("b"), 5), &red]).unwrap();
        assert!(!warnings.iter().any(|w| w.contains("left out")), "{warnings:?}");
        assert_eq!(prediction(&[&curve(Some("b"), 5), &red], &x, [0.0, 1.0, 0.0, 0.0], warnings).label, "uncertain");
    }

    #[test]
    fn inputs_far_from_the_training_stars_get_a_warning() {
        let card = model_card();
        assert_eq!(card.familiar_precision.len(), N_FEATURES * N_FEATURES);
        assert!(card.familiar_limit > 0.0);
        // The page's simulated Cepheid (EROS-like sampling and errors) is not far.
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/www/examples/cepheid.csv")).unwrap();
        let curves = crate::lightcurve::read(&bytes, &Default::default()).unwrap();
        let (mut x, warnings) = input_image(&curves.iter().collect::<Vec<_>>()).unwrap();
        let near = distance_from_training(&x, &card).unwrap();
        assert!(near < card.familiar_limit && warnings.is_empty(), "{near} {warnings:?}");
        // A band without a Fourier fit never occurred in training.
        x[input_len() - N_FEATURES + PERIOD_FEATURES] = 0.0;
        assert!(distance_from_training(&x, &card).unwrap() > 10.0 * card.familiar_limit);
        assert!(unfamiliar(&x, &card).unwrap().contains("unlike the EROS-1 training stars"));
    }

    #[test]
    fn the_shipped_weights_load_and_give_probabilities() {
        let model = Classifier::new(&crate::compute::cpu_device());
        let (x, _) = input_image(&[&curve(Some("b"), 120), &curve(Some("r"), 110)]).unwrap();
        let p = model.probabilities_blocking(&[&x, &x]).unwrap();
        assert_eq!(p.len(), 2);
        assert!((p[0].iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert_eq!(p[0], p[1]);
        assert_eq!(model_card().classes, CLASSES);
    }
}
