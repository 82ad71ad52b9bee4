//! Trains the dm–dt classifier on EROS-1 `train` (never `test`) and evaluates the shipped weights.
//!
//!   cargo run --release --features train --bin train-dmdt -- train      # writes models/dmdt_cnn.{bpk,json}
//!   cargo run --release --features train --bin train-dmdt -- evaluate   # writes models/dmdt_cnn_report.md
//!
//! Training holds out a stratified 20% of `train` for validation: the epoch with the best
//! balanced validation accuracy is kept, and the softmax temperature is fitted on it. `test` is
//! read only by `evaluate`, for the report. Everything is seeded.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn_store::{BurnpackStore, ModuleSnapshot};
use clap::{Parser, Subcommand};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use skysift::classifier::{self, Classifier, DmdtCnn, CLASSES};
use skysift::lightcurve::{self, LightCurve, ReadOptions};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

type Rng64 = rand::rngs::StdRng;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The EROS-1 folder (default: $SKYSIFT_DATA/lightcurves/eros1, else ../shared/data/...).
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    /// Where the model files go (default: models/ of the repository).
    #[arg(long, global = true)]
    out: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    Train {
        #[arg(long, default_value_t = 20261122)]
        seed: u64,
        #[arg(long, default_value_t = 60)]
        epochs: usize,
        #[arg(long, default_value_t = 64)]
        batch: usize,
        #[arg(long, default_value_t = 2e-3)]
        lr: f64,
    },
    Evaluate {
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

/// One star: its label (0..4) and its light curves (bands b and r).
struct Star {
    label: usize,
    curves: Vec<LightCurve>,
}

fn read_split(dir: &Path, split: &str) -> Vec<Star> {
    let labels = std::fs::read_to_string(dir.join(format!("{split}.csv"))).expect("labels file");
    let mut reader = csv::Reader::from_reader(labels.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let type_col = headers.iter().position(|h| h == "type").expect("a 'type' column");
    let mut label_of = HashMap::new();
    let mut order = Vec::new();
    for row in reader.records() {
        let row = row.unwrap();
        let t: f64 = row[type_col].parse().unwrap();
        label_of.insert(row[0].to_string(), t as usize - 1);
        order.push(row[0].to_string());
    }
    let bytes = std::fs::read(dir.join(format!("{split}_varlength_features.csv.gz"))).expect("light curves");
    let curves = lightcurve::read(&bytes, &ReadOptions::default()).expect("EROS light curves read");
    let mut by_id: HashMap<String, Vec<LightCurve>> = HashMap::new();
    for c in curves {
        by_id.entry(c.object.clone().unwrap_or_default()).or_default().push(c);
    }
    order
        .iter()
        .filter_map(|id| Some(Star { label: label_of[id], curves: by_id.remove(id)? }))
        .collect()
}

/// The curve with only `keep` of its epochs (random, order kept).
fn subsample(curve: &LightCurve, keep: usize, rng: &mut Rng64) -> LightCurve {
    let mut idx: Vec<usize> = (0..curve.len()).collect();
    idx.shuffle(rng);
    idx.truncate(keep.min(curve.len()));
    idx.sort_unstable();
    LightCurve {
        object: curve.object.clone(),
        band: curve.band.clone(),
        time: idx.iter().map(|&i| curve.time[i]).collect(),
        mag: idx.iter().map(|&i| curve.mag[i]).collect(),
        err: curve.err.as_ref().map(|e| idx.iter().map(|&i| e[i]).collect()),
        dropped: 0,
    }
}

/// Augmentation: what users bring that EROS-1 does not look like. Half the time a random
/// subset of 10..all epochs per band; half the time magnitudes redrawn from their errors;
/// one band in five dropped.
fn augment(star: &Star, rng: &mut Rng64) -> Vec<f32> {
    let drop = if rng.random::<f64>() < 0.2 { Some(rng.random_range(0..2)) } else { None };
    let mut curves = Vec::new();
    for (k, c) in star.curves.iter().enumerate() {
        if Some(k) == drop && star.curves.len() > 1 {
            continue;
        }
        let mut c = if rng.random::<f64>() < 0.5 && c.len() > 10 {
            let keep = rng.random_range(10..=c.len());
            subsample(c, keep, rng)
        } else {
            c.clone()
        };
        if rng.random::<f64>() < 0.5 {
            if let Some(err) = &c.err {
                for (m, &e) in c.mag.iter_mut().zip(err) {
                    if e > 0.0 && e.is_finite() {
                        *m += Normal::new(0.0, e).unwrap().sample(rng);
                    }
                }
            }
        }
        curves.push(c);
    }
    let refs: Vec<&LightCurve> = curves.iter().collect();
    classifier::input_image(&refs).map(|(x, _)| x).unwrap_or_else(|_| plain(star))
}

fn plain(star: &Star) -> Vec<f32> {
    let refs: Vec<&LightCurve> = star.curves.iter().collect();
    classifier::input_image(&refs).expect("every EROS-1 star has an image").0
}

fn to_tensor(inputs: &[Vec<f32>], device: &Device) -> Tensor<4> {
    let (n_dt, n_dm) = classifier::grid().shape();
    let flat: Vec<f32> = inputs.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(flat, [inputs.len(), classifier::CHANNELS, n_dt, n_dm]), device)
}

fn logits_of(model: &DmdtCnn, inputs: &[Vec<f32>], device: &Device) -> Vec<[f32; 4]> {
    let mut out = Vec::new();
    for chunk in inputs.chunks(256) {
        let v: Vec<f32> = model.forward(to_tensor(chunk, device)).into_data().try_to_vec::<f32>().unwrap();
        out.extend(v.chunks(4).map(|c| [c[0], c[1], c[2], c[3]]));
    }
    out
}

fn softmax(l: &[f32; 4], t: f32) -> [f32; 4] {
    let m = l.iter().fold(f32::MIN, |a, &b| a.max(b));
    let e: Vec<f32> = l.iter().map(|v| ((v - m) / t).exp()).collect();
    let s: f32 = e.iter().sum();
    [e[0] / s, e[1] / s, e[2] / s, e[3] / s]
}

fn argmax(p: &[f32; 4]) -> usize {
    (0..4).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap()
}

struct Scores {
    accuracy: f64,
    balanced: f64,
    confusion: [[usize; 4]; 4],
}

fn scores(predicted: &[usize], truth: &[usize]) -> Scores {
    let mut confusion = [[0usize; 4]; 4];
    for (&p, &t) in predicted.iter().zip(truth) {
        confusion[t][p] += 1;
    }
    let accuracy = (0..4).map(|c| confusion[c][c]).sum::<usize>() as f64 / truth.len().max(1) as f64;
    let recalls: Vec<f64> = (0..4).filter(|&c| confusion[c].iter().sum::<usize>() > 0).map(|c| confusion[c][c] as f64 / confusion[c].iter().sum::<usize>() as f64).collect();
    Scores { accuracy, balanced: recalls.iter().sum::<f64>() / recalls.len().max(1) as f64, confusion }
}

/// Expected calibration error over 15 equal-width confidence bins.
fn ece(probs: &[[f32; 4]], truth: &[usize]) -> f64 {
    let mut bins = vec![(0f64, 0f64, 0usize); 15];
    for (p, &t) in probs.iter().zip(truth) {
        let k = argmax(p);
        let conf = p[k] as f64;
        let b = ((conf * 15.0) as usize).min(14);
        bins[b].0 += conf;
        bins[b].1 += (k == t) as u8 as f64;
        bins[b].2 += 1;
    }
    bins.iter().map(|&(c, a, n)| if n == 0 { 0.0 } else { (c - a).abs() }).sum::<f64>() / probs.len().max(1) as f64
}

fn nll(logits: &[[f32; 4]], truth: &[usize], t: f32) -> f64 {
    logits.iter().zip(truth).map(|(l, &y)| -(softmax(l, t)[y].max(1e-12) as f64).ln()).sum::<f64>() / truth.len() as f64
}

fn data_dir(cli: &Cli) -> PathBuf {
    cli.data.clone().unwrap_or_else(|| {
        let shared = std::env::var("SKYSIFT_DATA").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data")));
        shared.join("lightcurves/eros1")
    })
}

fn out_dir(cli: &Cli) -> PathBuf {
    cli.out.clone().unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models")))
}

fn train(cli: &Cli, seed: u64, epochs: usize, batch: usize, lr: f64) {
    let start = std::time::Instant::now();
    let mut rng = Rng64::seed_from_u64(seed);
    let stars = read_split(&data_dir(cli), "train");
    // Stratified 80/20 split of `train`.
    let (mut fit, mut val) = (Vec::new(), Vec::new());
    for c in 0..4 {
        let mut idx: Vec<usize> = (0..stars.len()).filter(|&i| stars[i].label == c).collect();
        idx.shuffle(&mut rng);
        let n_val = idx.len() / 5;
        val.extend_from_slice(&idx[..n_val]);
        fit.extend_from_slice(&idx[n_val..]);
    }
    let counts: Vec<usize> = (0..4).map(|c| fit.iter().filter(|&&i| stars[i].label == c).count()).collect();
    // Inverse-frequency class weights, mean 1 over the training stars.
    let weights: Vec<f32> = counts.iter().map(|&n| fit.len() as f32 / (4.0 * n as f32)).collect();
    eprintln!("train-dmdt: {} stars to fit ({counts:?} per class), {} to validate; class weights {weights:?}", fit.len(), val.len());
    let val_inputs: Vec<Vec<f32>> = val.iter().map(|&i| plain(&stars[i])).collect();
    let val_truth: Vec<usize> = val.iter().map(|&i| stars[i].label).collect();

    let device = skysift::compute::cpu_device().autodiff();
    device.seed(seed);
    let mut model = DmdtCnn::new(&device);
    let mut optim = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().with_weights(Some(weights.clone())).init(&device);
    let plain_device = skysift::compute::cpu_device();
    let (mut best, mut best_epoch, mut best_bytes) = (-1f64, 0, Vec::new());
    for epoch in 1..=epochs {
        // Step decay: ×0.3 at 60% and 85% of the epochs.
        let rate = lr * if epoch * 100 > epochs * 85 { 0.09 } else if epoch * 100 > epochs * 60 { 0.3 } else { 1.0 };
        fit.shuffle(&mut rng);
        let mut total = 0.0;
        for chunk in fit.chunks(batch) {
            let inputs: Vec<Vec<f32>> = chunk.iter().map(|&i| augment(&stars[i], &mut rng)).collect();
            let targets: Vec<i64> = chunk.iter().map(|&i| stars[i].label as i64).collect();
            let x = to_tensor(&inputs, &device);
            let y = Tensor::<1, Int>::from_data(TensorData::new(targets, [chunk.len()]), &device);
            let loss = loss_fn.forward(model.forward(x), y);
            total += loss.clone().into_scalar::<f32>() as f64 * chunk.len() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(rate, model, grads);
        }
        let valid = model.valid();
        let logits = logits_of(&valid, &val_inputs, &plain_device);
        let predicted: Vec<usize> = logits.iter().map(|l| argmax(l)).collect();
        let s = scores(&predicted, &val_truth);
        eprintln!(
            "epoch {epoch:>3}: lr {rate:.1e}, training loss {:.4}, validation accuracy {:.3}, balanced {:.3} ({:.0} s)",
            total / fit.len() as f64, s.accuracy, s.balanced, start.elapsed().as_secs_f64()
        );
        if s.balanced > best {
            best = s.balanced;
            best_epoch = epoch;
            let mut store = BurnpackStore::from_bytes(None);
            valid.save_into(&mut store).expect("weights serialise");
            best_bytes = store.get_bytes().expect("weights serialise").to_vec();
        }
    }
    // Calibration: the temperature that minimises the validation log-loss.
    let kept = Classifier::from_bytes(&best_bytes, 1.0, &plain_device).unwrap();
    let probs_t1 = kept.probabilities_blocking(&val_inputs.iter().map(|v| v.as_slice()).collect::<Vec<_>>()).unwrap();
    let logits: Vec<[f32; 4]> = probs_t1.iter().map(|p| [p[0].max(1e-30).ln(), p[1].max(1e-30).ln(), p[2].max(1e-30).ln(), p[3].max(1e-30).ln()]).collect();
    let temperature = (10..=500).map(|k| k as f32 / 100.0).min_by(|&a, &b| nll(&logits, &val_truth, a).total_cmp(&nll(&logits, &val_truth, b))).unwrap();
    let val_probs: Vec<[f32; 4]> = logits.iter().map(|l| softmax(l, temperature)).collect();
    let s = scores(&val_probs.iter().map(argmax).collect::<Vec<_>>(), &val_truth);
    let out = out_dir(cli);
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("dmdt_cnn.bpk"), &best_bytes).unwrap();
    let card = serde_json::json!({
        "temperature": temperature,
        "classes": CLASSES,
        "grid": classifier::GRID,
        "input": "2 channels (blue: EROS b / ZTF g; red: EROS r / ZTF r), sqrt(fraction of pairs x number of pixels) per dm-dt pixel",
        "data": "EROS-1 LMC train split (RAMP variable_stars kit), 80% fitted, 20% validation (stratified); test never read",
        "command": format!("cargo run --release --features train --bin train-dmdt -- train --seed {seed} --epochs {epochs} --batch {batch} --lr {lr}"),
        "seed": seed, "epochs": epochs, "best_epoch": best_epoch, "batch": batch, "learning_rate": lr,
        "optimizer": "Adam, step decay x0.3 at 60% and 85% of the epochs; class-weighted cross-entropy",
        "augmentation": "per band: half the time a random subset of 10..all epochs; half the time magnitudes redrawn from N(m, err); one star in five loses one band",
        "n_fit": fit.len(), "n_validation": val.len(),
        "validation_accuracy": s.accuracy, "validation_balanced_accuracy": s.balanced,
        "validation_ece_uncalibrated": ece(&probs_t1, &val_truth), "validation_ece": ece(&val_probs, &val_truth),
        "training_seconds": start.elapsed().as_secs_f64(),
        "machine": format!("{} cores", std::thread::available_parallelism().map_or(1, |n| n.get())),
    });
    std::fs::write(out.join("dmdt_cnn.json"), serde_json::to_string_pretty(&card).unwrap() + "\n").unwrap();
    eprintln!("train-dmdt: kept epoch {best_epoch} (validation balanced accuracy {best:.3}); temperature {temperature}; {:.0} s", start.elapsed().as_secs_f64());
}

fn evaluate(cli: &Cli, seed: u64) {
    let device = skysift::compute::cpu_device();
    let model = Classifier::new(&device);
    let card = classifier::model_card();
    let stars = read_split(&data_dir(cli), "test");
    let truth: Vec<usize> = stars.iter().map(|s| s.label).collect();
    let classify = |inputs: &[Vec<f32>]| -> Vec<[f32; 4]> {
        inputs.chunks(256).flat_map(|c| model.probabilities_blocking(&c.iter().map(|v| v.as_slice()).collect::<Vec<_>>()).unwrap()).collect()
    };
    let probs = classify(&stars.iter().map(plain).collect::<Vec<_>>());
    let full = scores(&probs.iter().map(argmax).collect::<Vec<_>>(), &truth);
    let mut rng = Rng64::seed_from_u64(seed);
    let mut sparse = Vec::new();
    for keep in [10, 20, 40, 80] {
        let inputs: Vec<Vec<f32>> = stars
            .iter()
            .map(|s| {
                let curves: Vec<LightCurve> = s.curves.iter().map(|c| subsample(c, keep, &mut rng)).collect();
                classifier::input_image(&curves.iter().collect::<Vec<_>>()).unwrap().0
            })
            .collect();
        let p = classify(&inputs);
        sparse.push((keep, scores(&p.iter().map(argmax).collect::<Vec<_>>(), &truth)));
    }
    // Single band: each band alone.
    let mut single = Vec::new();
    for band in ["b", "r"] {
        let inputs: Vec<Vec<f32>> = stars
            .iter()
            .map(|s| {
                let curves: Vec<&LightCurve> = s.curves.iter().filter(|c| c.band.as_deref() == Some(band)).collect();
                classifier::input_image(&curves).unwrap().0
            })
            .collect();
        let p = classify(&inputs);
        single.push((band, scores(&p.iter().map(argmax).collect::<Vec<_>>(), &truth)));
    }
    // Cross-survey: the ZTF/ALeRCE curves.
    let ztf_dir = data_dir(cli).join("../ztf-alerce");
    let mut ztf_rows = Vec::new();
    if let (Ok(bytes), Ok(labels)) = (std::fs::read(ztf_dir.join("periodic_light_curves.csv")), std::fs::read_to_string(ztf_dir.join("periodic_light_curve_labels.csv"))) {
        let curves = lightcurve::read(&bytes, &ReadOptions::default()).unwrap();
        let mut label_of = HashMap::new();
        let mut reader = csv::Reader::from_reader(labels.as_bytes());
        let headers = reader.headers().unwrap().clone();
        let class_col = headers.iter().position(|h| h.contains("class")).unwrap_or(1);
        for row in reader.records() {
            let row = row.unwrap();
            label_of.insert(row[0].to_string(), row[class_col].to_string());
        }
        for group in classifier::group_by_object(&curves) {
            let (x, warnings) = classifier::input_image(&group).unwrap();
            let p = model.probabilities_blocking(&[&x]).unwrap()[0];
            let pred = classifier::prediction(&group, p, warnings);
            let id = pred.object.clone().unwrap_or_default();
            ztf_rows.push((id.clone(), label_of.get(&id).cloned().unwrap_or_default(), pred));
        }
    }
    let probs_uncal: Vec<[f32; 4]> = {
        let raw = Classifier::from_bytes(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/dmdt_cnn.bpk")), 1.0, &device).unwrap();
        stars.iter().map(plain).collect::<Vec<_>>().chunks(256).flat_map(|c| raw.probabilities_blocking(&c.iter().map(|v| v.as_slice()).collect::<Vec<_>>()).unwrap()).collect()
    };
    let mut md = String::new();
    use std::fmt::Write;
    let pct = |x: f64| format!("{:.3}", x);
    writeln!(md, "# dm–dt CNN: evaluation on EROS-1 test\n").unwrap();
    writeln!(md, "Made by `cargo run --release --features train --bin train-dmdt -- evaluate --seed {seed}` from the weights in `models/dmdt_cnn.bpk` ({}). The test split was read for this report only.\n", card.training.get("command").and_then(|v| v.as_str()).unwrap_or("")).unwrap();
    writeln!(md, "| | accuracy | balanced accuracy |\n|---|---:|---:|").unwrap();
    writeln!(md, "| skysift dm–dt CNN, both bands, all epochs | {} | {} |", pct(full.accuracy), pct(full.balanced)).unwrap();
    for (band, s) in &single {
        writeln!(md, "| same, band {band} only | {} | {} |", pct(s.accuracy), pct(s.balanced)).unwrap();
    }
    for (keep, s) in &sparse {
        writeln!(md, "| same, {keep} random epochs per band | {} | {} |", pct(s.accuracy), pct(s.balanced)).unwrap();
    }
    writeln!(md, "| baseline (from the issue, not re-run here): random forest on 38 light-curve features | 0.879 | 0.862 |").unwrap();
    writeln!(md, "| baseline (from the issue, not re-run here): random forest on flattened dm–dt images | 0.775 | |\n").unwrap();
    writeln!(md, "Confusion matrix (rows: true class, columns: predicted), both bands, all epochs:\n").unwrap();
    writeln!(md, "| true \\ predicted | {} |\n|---|{}", CLASSES.join(" | "), "---:|".repeat(4)).unwrap();
    for (c, row) in full.confusion.iter().enumerate() {
        writeln!(md, "| {} | {} |", CLASSES[c], row.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" | ")).unwrap();
    }
    writeln!(md, "\nCalibration: expected calibration error (15 bins) {:.3} with the fitted temperature {} (validation-fitted), {:.3} without.\n", ece(&probs, &truth), card.temperature, ece(&probs_uncal, &truth)).unwrap();
    if !ztf_rows.is_empty() {
        writeln!(md, "Cross-survey: the 25 ZTF/ALeRCE light curves (g → blue, r → red; DSCT is outside the taxonomy):\n").unwrap();
        writeln!(md, "| object | ALeRCE class | skysift says | p | warnings |\n|---|---|---|---:|---|").unwrap();
        let mut right = 0;
        let mut scored = 0;
        for (id, truth, p) in &ztf_rows {
            let expect = match truth.as_str() {
                "EA" | "EB/EW" => Some("eclipsing binary"),
                "Ceph" => Some("Cepheid"),
                "RRL" => Some("RR Lyrae"),
                "LPV" => Some("Mira/LPV"),
                _ => None,
            };
            if let Some(e) = expect {
                scored += 1;
                right += (e == p.label) as usize;
            }
            writeln!(md, "| {id} | {truth} | {} | {:.2} | {} |", p.label, p.probabilities[&p.label], p.warnings.join("; ")).unwrap();
        }
        writeln!(md, "\n{right} of {scored} ZTF stars of the four classes are labelled as ALeRCE labels them.").unwrap();
    }
    let path = out_dir(cli).join("dmdt_cnn_report.md");
    std::fs::write(&path, &md).unwrap();
    print!("{md}");
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Train { seed, epochs, batch, lr } => train(&cli, seed, epochs, batch, lr),
        Command::Evaluate { seed } => evaluate(&cli, seed),
    }
}
