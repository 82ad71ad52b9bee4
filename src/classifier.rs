//! The light-curve classifier: a small CNN on dm–dt images, trained by this project on EROS-1
//! (models/dmdt_cnn.md says on what, how and how well). Input: two channels, the blue band
//! (EROS b, ZTF g) and the red band (EROS r, ZTF r), each the dm–dt image on Mahabal et al.
//! 2017's grid as √(fraction of pairs in each pixel × number of pixels); a missing band is
//! zeros (training dropped bands at random, so one band is a case the model has seen).

use crate::compute::read_f32;
use crate::dmdt::{self, Grid, ImageOptions};
use crate::error::{Error, Result};
use crate::lightcurve::LightCurve;
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

/// The network: three 3×3 convolutions (the second and third after 2×2 max pooling), then two
/// dense layers with dropout. About 30 000 weights.
#[derive(Module, Debug)]
pub struct DmdtCnn {
    conv1: Conv2d,
    conv2: Conv2d,
    conv3: Conv2d,
    pool: MaxPool2d,
    dropout: Dropout,
    fc1: Linear,
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
            fc2: LinearConfig::new(64, CLASSES.len()).init(device),
        }
    }

    /// Logits `[batch, 4]` for inputs `[batch, 2, 23, 22]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = relu(self.conv1.forward(x));
        let x = self.pool.forward(relu(self.conv2.forward(x)));
        let x = self.pool.forward(relu(self.conv3.forward(x)));
        let x = x.flatten::<2>(1, 3);
        let x = self.dropout.forward(relu(self.fc1.forward(x)));
        self.fc2.forward(x)
    }
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

/// The model's input for one object (its curves, one per band) and warnings about how far the
/// data are from what the model was trained on.
pub fn input_image(curves: &[&LightCurve]) -> Result<(Vec<f32>, Vec<String>)> {
    let grid = grid();
    let (n_dt, n_dm) = grid.shape();
    let plane = n_dt * n_dm;
    let mut image = vec![0f32; CHANNELS * plane];
    let mut filled = [false; CHANNELS];
    let mut warnings = Vec::new();
    for curve in curves {
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
        if filled[channel] {
            return Err(Error::Value(format!("two light curves of {} go to the same colour band", curve.label())));
        }
        if curve.len() < 2 {
            warnings.push(format!("{}: fewer than 2 points, no dm–dt image", curve.label()));
            continue;
        }
        let img = dmdt::image(curve, &grid, ImageOptions::default())?;
        // sqrt of the fraction of pairs per pixel, times the number of pixels (a uniform image
        // is 1 everywhere): values of order one, the same scale for 10 points or 1 000.
        let total = img.n_pairs.max(1) as f64;
        for (k, &c) in img.counts.iter().enumerate() {
            image[channel * plane + k] = (c / total * plane as f64).sqrt() as f32;
        }
        filled[channel] = true;
    }
    if !filled.iter().any(|&f| f) {
        return Err(Error::Value("no band has the 2 points a dm–dt image needs".into()));
    }
    warnings.extend(training_range_warnings(curves));
    Ok((image, warnings))
}

/// Ways the light curves differ from EROS-1's (about 120 epochs per band over about 1 300
/// days): the answer is then less trustworthy than the model's probabilities say.
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
    out
}

/// The trained model's metadata (models/dmdt_cnn.json, written by the training command).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct ModelCard {
    /// Softmax temperature fitted on the validation split (calibration).
    pub temperature: f32,
    pub classes: Vec<String>,
    pub grid: String,
    #[serde(flatten)]
    pub training: serde_json::Map<String, serde_json::Value>,
}

const WEIGHTS: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/dmdt_cnn.bpk"));
const CARD: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/dmdt_cnn.json"));

pub fn model_card() -> ModelCard {
    serde_json::from_str(CARD).expect("models/dmdt_cnn.json is written by the training command")
}

/// The trained classifier on one device.
pub struct Classifier {
    model: DmdtCnn,
    temperature: f32,
    device: Device,
}

impl Classifier {
    pub fn new(device: &Device) -> Classifier {
        Classifier::from_bytes(WEIGHTS, model_card().temperature, device).expect("the embedded weights load")
    }

    /// A classifier from burnpack bytes (the training command evaluates its own this way).
    pub fn from_bytes(bytes: &[u8], temperature: f32, device: &Device) -> Result<Classifier> {
        use burn_store::{BurnpackStore, ModuleSnapshot};
        let mut model = DmdtCnn::new(device);
        let mut store = BurnpackStore::from_bytes(Some(burn::tensor::Bytes::from_bytes_vec(bytes.to_vec())));
        model.load_from(&mut store).map_err(|e| Error::Backend(format!("cannot load the classifier's weights: {e}")))?;
        Ok(Classifier { model: model.valid(), temperature, device: device.clone() })
    }

    /// Calibrated class probabilities for a batch of inputs (from `input_image`).
    pub async fn probabilities(&self, inputs: &[&[f32]]) -> Result<Vec<[f32; 4]>> {
        let logits = self.logits_tensor(inputs)?;
        let p = softmax(logits.div_scalar(self.temperature), 1);
        let values = read_f32(p).await?;
        Ok(values.chunks(CLASSES.len()).map(|c| [c[0], c[1], c[2], c[3]]).collect())
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn probabilities_blocking(&self, inputs: &[&[f32]]) -> Result<Vec<[f32; 4]>> {
        pollster::block_on(self.probabilities(inputs))
    }

    fn logits_tensor(&self, inputs: &[&[f32]]) -> Result<Tensor<2>> {
        let (n_dt, n_dm) = grid().shape();
        let size = CHANNELS * n_dt * n_dm;
        if inputs.is_empty() || inputs.iter().any(|x| x.len() != size) {
            return Err(Error::Value(format!("the classifier takes images of {size} values")));
        }
        let flat: Vec<f32> = inputs.iter().flat_map(|x| x.iter().copied()).collect();
        let x = Tensor::<4>::from_data(TensorData::new(flat, [inputs.len(), CHANNELS, n_dt, n_dm]), &self.device);
        Ok(self.model.forward(x))
    }
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
pub fn prediction(curves: &[&LightCurve], p: [f32; 4], warnings: Vec<String>) -> Prediction {
    let best = (0..4).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0);
    Prediction {
        object: curves.first().and_then(|c| c.object.clone()),
        label: if too_few_points(curves) { "uncertain".to_string() } else { CLASSES[best].to_string() },
        probabilities: CLASSES.iter().zip(p).map(|(c, v)| (c.to_string(), v as f64)).collect(),
        n_points: curves.iter().map(|c| c.len()).sum(),
        bands: curves.iter().map(|c| c.band.clone().unwrap_or_else(|| "(none)".into())).collect(),
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
    fn bands_go_to_their_channels_and_a_missing_band_is_zeros() {
        assert_eq!(band_channel(Some("g")), Some(0));
        assert_eq!(band_channel(Some("R")), Some(1));
        assert_eq!(band_channel(Some("i")), None);
        let (n_dt, n_dm) = grid().shape();
        let blue = curve(Some("b"), 120);
        let (x, warnings) = input_image(&[&blue]).unwrap();
        assert_eq!(x.len(), CHANNELS * n_dt * n_dm);
        assert!(warnings.is_empty(), "{warnings:?}");
        let (first, second) = x.split_at(n_dt * n_dm);
        assert!(second.iter().all(|&v| v == 0.0));
        // Squares sum to the number of pixels times the fraction of pairs inside the grid.
        let sum: f32 = first.iter().map(|v| v * v).sum();
        assert!(sum > 0.0 && sum <= (n_dt * n_dm) as f32 * 1.0001);
        // Two bands that are not blue and red are refused with a message.
        let err = input_image(&[&curve(Some("i"), 50), &curve(Some("z"), 50)]).unwrap_err().to_string();
        assert!(err.contains("band 'i'"), "{err}");
    }

    #[test]
    fn too_few_points_give_no_confident_label() {
        let short = curve(None, 5);
        let (_, warnings) = input_image(&[&short]).unwrap();
        assert!(warnings.iter().any(|w| w.contains("only 5 points")));
        let p = prediction(&[&short], [0.0, 0.0, 0.0, 1.0], warnings);
        assert_eq!(p.label, "uncertain");
        let long = curve(None, 120);
        assert_eq!(prediction(&[&long], [0.1, 0.7, 0.1, 0.1], vec![]).label, "Cepheid");
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
