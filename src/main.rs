//! `skysift`, the command line over the same core as the page: for batch users and for our
//! own checks. Errors go to stderr on one line and the exit code is non-zero.

use clap::{Args, Parser, Subcommand};
use skysift::compute::{self, Backend};
use skysift::dmdt::{self, AxisSpec, GridChoice, Normalisation};
use skysift::lightcurve::{self, ReadOptions};
use skysift::{Error, Result};
use std::io::Write;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "skysift", version, about = "Classify astronomical data, explain each prediction")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// dm–dt images of light curves (one per object and band).
    Dmdt(DmdtArgs),
    /// Classify variable stars from their light curves (dm–dt CNN): class probabilities.
    Classify(ClassifyArgs),
    /// Explain GWSkyNet's score of sky maps: exact Shapley values of its ten inputs.
    Explain(ExplainArgs),
    /// Score BAYESTAR sky maps with GWSkyNet: score, false-alarm and false-negative rates.
    Skymap(SkymapArgs),
    /// Time the core on given inputs (for the benchmarks; prints JSON lines).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Check that a compute backend gives the right numbers (a convolution and a matmul).
    Check {
        /// cpu or webgpu (the native GPU API).
        #[arg(long, default_value = "cpu")]
        backend: String,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// dm–dt pair counting alone (the file is read once, outside the timing).
    Dmdt {
        files: Vec<String>,
        #[arg(long, default_value = "mahabal2017")]
        grid: String,
        /// Timed repetitions per file (the median, min and max are printed).
        #[arg(long, default_value_t = 5)]
        reps: usize,
    },
    /// The periodogram's best period of each object of light-curve files (both bands together,
    /// the classifier's search: `skysift::period::best_periods`), timed.
    Period {
        files: Vec<String>,
        #[arg(long, default_value_t = 5)]
        reps: usize,
    },
    /// Sky map to GWSkyNet inputs, step by step (read, sky image, principal axes, each volume
    /// image with its number of samples), for the benchmarks.
    Skymap {
        files: Vec<String>,
    },
    /// The dm–dt classifier alone: a batch of the light curves of FILE (repeated to the batch size).
    Classify {
        file: String,
        #[command(flatten)]
        timing: ModelTiming,
    },
    /// Exact ten-input Shapley values of GWSkyNet for sky maps (inputs prepared outside the timing).
    /// Explanations of sky maps (inputs prepared beforehand) or light curves (their first object).
    Explain {
        files: Vec<String>,
        #[arg(long, default_value_t = 5)]
        reps: usize,
        /// Sky maps: partition SHAP over this image (sky or volume) instead of the exact
        /// ten-input Shapley values. Light curves are always explained over their dm–dt image.
        #[arg(long)]
        image: Option<String>,
        #[arg(long, default_value_t = skysift::partition::DEFAULT_MAX_EVALS)]
        max_evals: usize,
        /// Every evaluation runs the whole model (no branch reuse): what the structure saves.
        #[arg(long)]
        naive: bool,
        /// cpu or webgpu (the native GPU API).
        #[arg(long, default_value = "cpu")]
        backend: String,
    },
    /// GWSkyNet alone on made-up inputs (the same ones bench/gwskynet_model.py builds).
    Gwskynet {
        #[command(flatten)]
        timing: ModelTiming,
    },
}

/// How a model is timed.
#[derive(Args)]
struct ModelTiming {
    /// Inputs per forward pass.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Timed repetitions (the median, min and max are printed).
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// cpu or webgpu (the native GPU API); ndarray when built with that feature (GWSkyNet only).
    #[arg(long, default_value = "cpu")]
    backend: String,
}

#[derive(Args)]
struct ColumnArgs {
    /// Time column (name or 1-based number).
    #[arg(long)]
    time: Option<String>,
    /// Magnitude column.
    #[arg(long)]
    mag: Option<String>,
    /// Magnitude-error column.
    #[arg(long)]
    err: Option<String>,
    /// Band (filter) column.
    #[arg(long)]
    band_column: Option<String>,
    /// Object-identifier column.
    #[arg(long)]
    object_column: Option<String>,
    /// Keep only this band.
    #[arg(long)]
    band: Option<String>,
}

impl ColumnArgs {
    fn options(&self) -> ReadOptions {
        ReadOptions {
            time: self.time.clone(),
            mag: self.mag.clone(),
            err: self.err.clone(),
            band_column: self.band_column.clone(),
            object_column: self.object_column.clone(),
            band: self.band.clone(),
        }
    }
}

#[derive(Args)]
struct DmdtArgs {
    /// Light-curve files (CSV, TSV, whitespace, JSON; may be gzipped).
    #[arg(required = true)]
    files: Vec<String>,
    /// Named grid: mahabal2017 (23 dt × 22 dm) or scope (26 × 26).
    #[arg(long, default_value = "mahabal2017")]
    grid: String,
    /// Custom dt axis: comma-separated edges, or lin:START,END,BINS / log:START,END,BINS.
    #[arg(long)]
    dt: Option<String>,
    /// Custom dm axis, as --dt.
    #[arg(long)]
    dm: Option<String>,
    /// counts, pairs255, dt, max or l2.
    #[arg(long, default_value = "counts")]
    norm: String,
    /// Spread each pair over Δm by the points' errors.
    #[arg(long)]
    smear: bool,
    #[command(flatten)]
    columns: ColumnArgs,
    /// One JSON object per line (per object and band).
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ClassifyArgs {
    /// Light-curve files (as for dmdt); each object is classified from its bands together.
    #[arg(required = true)]
    files: Vec<String>,
    #[command(flatten)]
    columns: ColumnArgs,
    /// One JSON object per line: file, object, label, probabilities, n_points, bands, warnings.
    #[arg(long)]
    json: bool,
    /// cpu or webgpu (the native GPU API).
    #[arg(long, default_value = "cpu")]
    backend: String,
}

#[derive(Args)]
struct ExplainArgs {
    /// Sky maps (as for `skymap`) and light curves (as for `classify`), told apart by their bytes.
    #[arg(required = true)]
    files: Vec<String>,
    #[command(flatten)]
    columns: ColumnArgs,
    /// The baseline standing in for an absent input: zeros (input absent; for images, pixels
    /// with nothing in them).
    #[arg(long, default_value = "zeros")]
    baseline: String,
    /// Instead of a fixed baseline, a background set of sky maps (repeat the flag): absent inputs
    /// take each background map's values in turn, and the Shapley values are averaged
    /// (interventional SHAP). Σφ is then the score minus the background's mean score.
    #[arg(long, value_name = "MAP")]
    background: Vec<String>,
    /// Sky maps: also attribute the score to the pixels of this image, `sky` or `volume` (repeat
    /// for both), with partition (Owen) SHAP as shap's PartitionExplainer computes it.
    #[arg(long, value_name = "IMAGE")]
    image: Vec<String>,
    /// Light curves: the class explained (default: the most probable one).
    #[arg(long)]
    class: Option<String>,
    /// Model evaluations a partition explanation may spend (shap's max_evals).
    #[arg(long, default_value_t = skysift::partition::DEFAULT_MAX_EVALS)]
    max_evals: usize,
    /// Masked images per model call; it also sets the order nodes are expanded in (shap's default 10).
    #[arg(long, default_value_t = skysift::partition::DEFAULT_BATCH_SIZE)]
    batch_size: usize,
    /// What stands in for pixels left out of a partition explanation: zeros (nothing there),
    /// blur:K or blur:WxH (the image blurred by a box of that many pixels, as shap's
    /// "blur(W,H)" masker).
    #[arg(long, default_value = "zeros")]
    mask: String,
    /// One JSON object per line. Sky maps: file, kind, base_value, value, inputs (name → φ on the
    /// score), inputs_logit, base_logit, logit, additivity_error, images (one per --image:
    /// shape, base_value, value, evals, values), seconds. Light curves: file, object, kind,
    /// class, base_value, value, evals, shape [Δt bins, Δm bins, bands], values (channels last),
    /// by_dt, by_dm, dt_edges, dm_edges, seconds.
    #[arg(long)]
    json: bool,
    #[arg(long, default_value = "cpu")]
    backend: String,
}

#[derive(Args)]
struct SkymapArgs {
    /// Sky maps: FITS, flat (NESTED or RING) or multi-order, plain or gzipped.
    #[arg(required = true)]
    files: Vec<String>,
    /// One JSON object per line: file, score, far, fnr, object, instruments, seconds.
    #[arg(long)]
    json: bool,
    /// Also write the ten model inputs of each map as .npy files (input_1.npy … input_10.npy,
    /// channels last, as the ONNX model takes them) under DIR/<path, '/' as '__'>/.
    #[arg(long, value_name = "DIR")]
    dump_inputs: Option<String>,
    /// cpu or webgpu (the native GPU API).
    #[arg(long, default_value = "cpu")]
    backend: String,
}

fn parse_axis(spec: &str, axis: &str) -> Result<AxisSpec> {
    let numbers = |s: &str| -> Result<Vec<f64>> {
        s.split(',')
            .map(|v| v.trim().parse::<f64>().map_err(|_| Error::Option(format!("--{axis}: '{v}' is not a number"))))
            .collect()
    };
    let builder = |s: &str, log: bool| -> Result<AxisSpec> {
        let v = numbers(s)?;
        if v.len() != 3 || v[2] < 1.0 || v[2].fract() != 0.0 {
            return Err(Error::Option(format!("--{axis}: expected START,END,BINS")));
        }
        let (start, end, bins) = (v[0], v[1], v[2] as usize);
        Ok(if log { AxisSpec::Log { start, end, bins } } else { AxisSpec::Linear { start, end, bins } })
    };
    if let Some(rest) = spec.strip_prefix("lin:") {
        builder(rest, false)
    } else if let Some(rest) = spec.strip_prefix("log:") {
        builder(rest, true)
    } else {
        Ok(AxisSpec::Edges { edges: numbers(spec)? })
    }
}

fn grid_choice(args: &DmdtArgs) -> Result<GridChoice> {
    match (&args.dt, &args.dm) {
        (None, None) => Ok(GridChoice::Named(args.grid.clone())),
        (Some(dt), Some(dm)) => Ok(GridChoice::Custom { dt: parse_axis(dt, "dt")?, dm: parse_axis(dm, "dm")? }),
        _ => Err(Error::Option("a custom grid needs both --dt and --dm".into())),
    }
}

fn read_file(path: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Option(format!("{path}: {e}")))
}

fn run_dmdt(args: &DmdtArgs, out: &mut impl Write) -> Result<()> {
    let request = dmdt::Request { grid: grid_choice(args)?, normalisation: Normalisation::named(&args.norm)?, smear: args.smear };
    // Validate the grid once, before reading any file.
    request.grid.grid()?;
    for path in &args.files {
        let curves = lightcurve::read(&read_file(path)?, &args.columns.options()).map_err(|e| prefix(path, e))?;
        for curve in &curves {
            let record = dmdt::record(curve, &request).map_err(|e| prefix(path, e))?;
            if args.json {
                let mut value = serde_json::to_value(&record).expect("records serialise");
                value.as_object_mut().expect("a record is an object").insert("file".into(), path.as_str().into());
                writeln!(out, "{value}").map_err(io_error)?;
            } else {
                print_summary(out, path, &record).map_err(io_error)?;
            }
        }
    }
    Ok(())
}

fn print_summary(out: &mut impl Write, path: &str, r: &dmdt::Record) -> std::io::Result<()> {
    let label = [r.object.as_deref(), r.band.as_deref()].iter().flatten().copied().collect::<Vec<_>>().join(" band ");
    writeln!(
        out,
        "{path}{}{label}: {} points, {} pairs, {} in the {} grid ({} dt × {} dm)",
        if label.is_empty() { "" } else { " " },
        r.n_points,
        r.n_pairs,
        r.n_in_grid,
        r.grid,
        r.dt_edges.len() - 1,
        r.dm_edges.len() - 1
    )?;
    // A small text heat map: rows are Δm bins (top = brightening), columns Δt bins.
    const SHADES: &[char] = &[' ', '.', ':', '-', '=', '+', '*', '#', '%', '@'];
    let max = r.image.iter().flatten().copied().fold(0.0, f64::max);
    for i_dm in 0..r.dm_edges.len() - 1 {
        let line: String = r
            .image
            .iter()
            .map(|col| {
                let v = col[i_dm];
                if max > 0.0 && v > 0.0 { SHADES[1 + ((v / max) * 8.0).round() as usize] } else { ' ' }
            })
            .collect();
        writeln!(out, "  {:>6} |{line}|", r.dm_edges[i_dm])?;
    }
    Ok(())
}

impl ExplainArgs {
    fn partition(&self) -> Result<skysift::partition::Options> {
        Ok(skysift::partition::Options { masking: skysift::partition::Masking::named(&self.mask)?, max_evals: self.max_evals, batch_size: self.batch_size })
    }
}

fn run_explain(args: &ExplainArgs, out: &mut impl Write) -> Result<()> {
    use skysift::{explain, gwskynet, skymap};
    if args.baseline != "zeros" {
        return Err(Error::Option(format!("--baseline '{}': only 'zeros' is available", args.baseline)));
    }
    let images: Vec<gwskynet::Image> = args.image.iter().map(|name| gwskynet::Image::named(name)).collect::<Result<_>>()?;
    let options = args.partition()?;
    let device = open_device(&args.backend)?;
    let model = gwskynet::GwSkyNet::new(&device);
    let classifier = std::cell::OnceCell::new();
    let baseline = explain::zero_baseline();
    let background: Vec<gwskynet::Inputs> = args.background.iter().map(|path| prepared_map(path).map(|(_, inputs)| inputs)).collect::<Result<_>>()?;
    let baseline_name =
        if background.is_empty() { args.baseline.clone() } else { format!("mean over {} background maps", background.len()) };
    for path in &args.files {
        let bytes = read_file(path)?;
        if !skymap::is_fits(&bytes) && !named_like_fits(path) {
            let classifier = classifier.get_or_init(|| skysift::classifier::Classifier::new(&device));
            explain_light_curve(args, path, &bytes, classifier, out)?;
            continue;
        }
        let map = skymap::read(&bytes).map_err(|e| prefix(path, e))?;
        let inputs = gwskynet::prepare(&map).map_err(|e| prefix(path, e))?;
        let start = std::time::Instant::now();
        let s = if background.is_empty() {
            explain::gwskynet_shapley_blocking(&model, &inputs, &baseline)
        } else {
            explain::gwskynet_shapley_background_blocking(&model, &inputs, &background)
        }
        .map_err(|e| prefix(path, e))?;
        let mut attributions = Vec::new();
        for &image in &images {
            let a = explain::gwskynet_image_attribution_blocking(&model, &inputs, image, &options).map_err(|e| prefix(path, e))?;
            attributions.push((image, a));
        }
        let seconds = start.elapsed().as_secs_f64();
        if args.json {
            let named = |v: &[f64]| -> serde_json::Map<String, serde_json::Value> { s.names.iter().cloned().zip(v.iter().map(|&x| x.into())).collect() };
            let mut line = serde_json::json!({
                "file": path, "kind": "skymap", "baseline": baseline_name, "base_value": s.base_value, "value": s.value,
                "inputs": named(&s.phi), "inputs_logit": named(&s.phi_logit), "base_logit": s.base_logit, "logit": s.logit,
                "additivity_error": s.additivity_error, "seconds": seconds,
            });
            if !attributions.is_empty() {
                let by_name: serde_json::Map<String, serde_json::Value> =
                    attributions.iter().map(|(image, a)| (image.name().to_string(), serde_json::to_value(a).expect("attributions serialise"))).collect();
                line["images"] = by_name.into();
            }
            writeln!(out, "{line}").map_err(io_error)?;
        } else {
            writeln!(out, "{path}: score {:.4} = baseline ({baseline_name}) {:.4} + the inputs' Shapley values:", s.value, s.base_value).map_err(io_error)?;
            let mut order: Vec<usize> = (0..s.phi.len()).collect();
            order.sort_by(|&a, &b| s.phi[b].abs().total_cmp(&s.phi[a].abs()));
            for i in order {
                writeln!(out, "  {:>+9.4}  {}", s.phi[i], s.names[i]).map_err(io_error)?;
            }
            for (image, a) in &attributions {
                let [rows, columns, channels] = a.shape;
                let (positive, negative) = a.values.iter().fold((0.0, 0.0), |(p, n), &v| if v > 0.0 { (p + v, n) } else { (p, n + v) });
                writeln!(
                    out,
                    "  {} image, {rows}×{columns}×{channels} pixels, {} evaluations: score {:.4} without it; pixels add {positive:+.4} and {negative:+.4}",
                    image.name(), a.evals, a.base_value
                )
                .map_err(io_error)?;
            }
        }
    }
    Ok(())
}

/// `.fits`, `.fit`, `.fts`, gzipped or not: read as a sky map whatever the bytes say, so that a
/// damaged one gets the sky-map reader's error.
fn named_like_fits(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let lower = lower.strip_suffix(".gz").unwrap_or(&lower);
    [".fits", ".fit", ".fts"].iter().any(|e| lower.ends_with(e))
}

/// The classifier's verdict on each object of a light-curve file, attributed to the pixels of
/// its dm–dt image.
fn explain_light_curve(args: &ExplainArgs, path: &str, bytes: &[u8], model: &skysift::classifier::Classifier, out: &mut impl Write) -> Result<()> {
    use skysift::{classifier, explain};
    let curves = lightcurve::read(bytes, &args.columns.options()).map_err(|e| prefix(path, e))?;
    for group in classifier::group_by_object(&curves) {
        let start = std::time::Instant::now();
        let (input, warnings) = classifier::input_image(&group).map_err(|e| prefix(path, e))?;
        let p = model.probabilities_blocking(&[&input])?[0];
        let class = match &args.class {
            Some(name) => classifier::CLASSES
                .iter()
                .position(|c| c.eq_ignore_ascii_case(name))
                .ok_or_else(|| Error::Option(format!("--class '{name}': the classes are {}", classifier::CLASSES.join(", "))))?,
            None => (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).expect("four classes"),
        };
        let options = args.partition()?;
        let a = explain::dmdt_attribution_blocking(model, &input, class, &options).map_err(|e| prefix(path, e))?;
        let parts = explain::dmdt_parts_blocking(model, &input, class, &options.masking).map_err(|e| prefix(path, e))?;
        let (by_dt, by_dm) = explain::row_and_column_sums(&a);
        let seconds = start.elapsed().as_secs_f64();
        let object = group[0].object.clone();
        if args.json {
            let grid = classifier::grid();
            let line = serde_json::json!({
                "file": path, "object": object, "kind": "lightcurve", "class": classifier::CLASSES[class],
                "base_value": a.base_value, "value": a.value, "evals": a.evals, "max_evals": a.max_evals,
                "shape": a.shape, "values": a.values, "by_dt": by_dt, "by_dm": by_dm,
                "dt_edges": grid.dt_edges, "dm_edges": grid.dm_edges, "parts": parts, "period": classifier::period_of(&input),
                "warnings": warnings, "seconds": seconds,
            });
            writeln!(out, "{line}").map_err(io_error)?;
        } else {
            let name = object.as_deref().map(|o| format!(" {o}")).unwrap_or_default();
            writeln!(
                out,
                "{path}{name}: P({}) = {:.4}, {:.4} with an empty dm–dt image; {} evaluations",
                classifier::CLASSES[class], a.value, a.base_value, a.evals
            )
            .map_err(io_error)?;
            writeln!(
                out,
                "  against an average star with an empty image ({:.4}): dm–dt image {:+.4}, period and folded shape {:+.4}",
                parts.base_value, parts.image, parts.features
            )
            .map_err(io_error)?;
            let grid = classifier::grid();
            let mut order: Vec<usize> = (0..by_dt.len()).collect();
            order.sort_by(|&x, &y| by_dt[y].abs().total_cmp(&by_dt[x].abs()));
            for &k in order.iter().take(3) {
                writeln!(out, "  {:>+9.4}  pairs {:.3}–{:.3} days apart", by_dt[k], grid.dt_edges[k], grid.dt_edges[k + 1]).map_err(io_error)?;
            }
            for w in &warnings {
                writeln!(out, "  warning: {w}").map_err(io_error)?;
            }
        }
    }
    Ok(())
}

fn run_classify(args: &ClassifyArgs, out: &mut impl Write) -> Result<()> {
    use skysift::classifier::{self, Classifier};
    let device = open_device(&args.backend)?;
    let model = Classifier::new(&device);
    for path in &args.files {
        let curves = lightcurve::read(&read_file(path)?, &args.columns.options()).map_err(|e| prefix(path, e))?;
        for group in classifier::group_by_object(&curves) {
            let (input, warnings) = classifier::input_image(&group).map_err(|e| prefix(path, e))?;
            let p = model.probabilities_blocking(&[&input])?[0];
            let prediction = classifier::prediction(&group, &input, p, warnings);
            if args.json {
                let mut value = serde_json::to_value(&prediction).expect("predictions serialise");
                value.as_object_mut().expect("an object").insert("file".into(), path.as_str().into());
                writeln!(out, "{value}").map_err(io_error)?;
            } else {
                let probs: Vec<String> = prediction.probabilities.iter().map(|(c, p)| format!("{c} {p:.3}")).collect();
                let name = prediction.object.as_deref().map(|o| format!(" {o}")).unwrap_or_default();
                let period = prediction.period.map(|p| format!("; period {p:.5} days")).unwrap_or_default();
                writeln!(out, "{path}{name}: {} ({}); {} points in {}{period}", prediction.label, probs.join(", "), prediction.n_points, prediction.bands.join("+")).map_err(io_error)?;
                for w in &prediction.warnings {
                    writeln!(out, "  warning: {w}").map_err(io_error)?;
                }
            }
        }
    }
    Ok(())
}

/// Scores each map; a map that fails is reported on stderr and the others still run (the exit
/// code says that one failed).
fn run_skymap(args: &SkymapArgs, out: &mut impl Write) -> Result<()> {
    let device = open_device(&args.backend)?;
    let model = skysift::gwskynet::GwSkyNet::new(&device);
    let mut failed = 0;
    for path in &args.files {
        match score_map(path, args, &model) {
            Ok(line) => {
                if args.json {
                    writeln!(out, "{line}").map_err(io_error)?;
                } else {
                    let f = |k: &str| line[k].as_f64().unwrap_or(f64::NAN);
                    let verdict = if f("score") >= 0.5 { "astrophysical" } else { "noise (glitch)" };
                    writeln!(
                        out,
                        "{path}: score {:.6} ({verdict}), FAR {:.4}, FNR {:.4}; {} {}; {:.2} s",
                        f("score"), f("far"), f("fnr"), line["object"].as_str().unwrap_or("(no OBJECT)"),
                        line["instruments"].as_array().map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(",")).unwrap_or_default(),
                        f("seconds")
                    )
                    .map_err(io_error)?;
                }
                out.flush().map_err(io_error)?;
            }
            // With one map, its error is the command's (one line); with many, each failure is
            // reported as it happens and the others still run.
            Err(e) if args.files.len() == 1 => return Err(e),
            Err(e) => {
                eprintln!("skysift: error: {e}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        return Err(Error::Value(format!("{failed} of {} sky maps could not be scored", args.files.len())));
    }
    Ok(())
}

/// Reads a sky map and prepares GWSkyNet's ten inputs from it; errors name the file.
fn prepared_map(path: &str) -> Result<(skysift::skymap::SkyMap, skysift::gwskynet::Inputs)> {
    let map = skysift::skymap::read(&read_file(path)?).map_err(|e| prefix(path, e))?;
    let inputs = skysift::gwskynet::prepare(&map).map_err(|e| prefix(path, e))?;
    Ok((map, inputs))
}

fn score_map(path: &str, args: &SkymapArgs, model: &skysift::gwskynet::GwSkyNet) -> Result<serde_json::Value> {
    use skysift::gwskynet;
    let start = std::time::Instant::now();
    let (map, inputs) = prepared_map(path)?;
    let prepared = start.elapsed().as_secs_f64();
    let score = model.scores_blocking(&[&inputs]).map_err(|e| prefix(path, e))?[0] as f64;
    let seconds = start.elapsed().as_secs_f64();
    let rates = gwskynet::rates(score);
    if let Some(dir) = &args.dump_inputs {
        // The path with its separators replaced, so that maps of the same name stay apart.
        let name: String = path.trim_start_matches(['.', '/']).replace(['/', '\\'], "__");
        let dir = std::path::Path::new(dir).join(if name.is_empty() { "map".into() } else { name });
        std::fs::create_dir_all(&dir).map_err(|e| Error::Option(format!("{}: {e}", dir.display())))?;
        for (name, shape, values) in inputs.named_arrays() {
            write_npy(&dir.join(format!("{name}.npy")), &shape, &values)?;
        }
    }
    Ok(serde_json::json!({
        "file": path,
        "area50_deg2": skysift::skymap::credible_area(&map, 0.5),
        "area90_deg2": skysift::skymap::credible_area(&map, 0.9),
        "score": score,
        "far": rates.far,
        "fnr": rates.fnr,
        "object": map.meta.object,
        "instruments": map.meta.instruments,
        "date_obs": map.meta.date_obs,
        "seconds": seconds,
        "seconds_inputs": prepared,
        "backend": args.backend,
    }))
}

fn write_npy(path: &std::path::Path, shape: &[usize], values: &[f32]) -> Result<()> {
    use npyz::WriterBuilder;
    let fail = |e: std::io::Error| Error::Option(format!("{}: {e}", path.display()));
    let file = std::io::BufWriter::new(std::fs::File::create(path).map_err(fail)?);
    let shape: Vec<u64> = shape.iter().map(|&n| n as u64).collect();
    let mut writer = npyz::WriteOptions::new().default_dtype().shape(&shape).writer(file).begin_nd().map_err(fail)?;
    writer.extend(values.iter().copied()).map_err(fail)?;
    writer.finish().map_err(fail)
}

fn prefix(path: &str, e: Error) -> Error {
    Error::Option(format!("{path}: {e}"))
}

fn io_error(e: std::io::Error) -> Error {
    Error::Option(format!("cannot write output: {e}"))
}

/// Runs `work` `reps` times (at least once): (median, min, max) seconds and the last result.
fn timed<T>(reps: usize, mut work: impl FnMut() -> Result<T>) -> Result<((f64, f64, f64), T)> {
    let mut seconds = Vec::new();
    let mut last = None;
    for _ in 0..reps.max(1) {
        let start = std::time::Instant::now();
        last = Some(work()?);
        seconds.push(start.elapsed().as_secs_f64());
    }
    seconds.sort_by(f64::total_cmp);
    let summary = (seconds[seconds.len() / 2], seconds[0], seconds[seconds.len() - 1]);
    Ok((summary, last.expect("ran at least once")))
}

fn run_bench(command: &BenchCommand, out: &mut impl Write) -> Result<()> {
    match command {
        BenchCommand::Dmdt { files, grid, reps } => {
            let grid = dmdt::Grid::named(grid)?;
            for path in files {
                let curves = lightcurve::read(&read_file(path)?, &ReadOptions::default()).map_err(|e| prefix(path, e))?;
                let curve = &curves[0];
                let ((median, min, max), image) = timed(*reps, || dmdt::image(curve, &grid, dmdt::ImageOptions::default()))?;
                let line = serde_json::json!({
                    "file": path, "n_points": curve.len(), "n_in_grid": image.n_in_grid, "reps": (*reps).max(1),
                    "median_s": median, "min_s": min, "max_s": max,
                });
                writeln!(out, "{line}").map_err(io_error)?;
            }
            Ok(())
        }
        BenchCommand::Period { files, reps } => {
            for path in files {
                let curves = lightcurve::read(&read_file(path)?, &ReadOptions::default()).map_err(|e| prefix(path, e))?;
                for group in skysift::classifier::group_by_object(&curves) {
                    let ((median, min, max), best) = timed(*reps, || Ok::<_, Error>(skysift::period::best_period(&group)))?;
                    let line = serde_json::json!({
                        "file": path, "object": group[0].object, "n_points": group.iter().map(|c| c.len()).sum::<usize>(),
                        "frequencies": skysift::period::frequency_grid(skysift::period::search_span(&group)).len(),
                        "period": best.map(|p| p.days), "power": best.map(|p| p.power),
                        "reps": (*reps).max(1), "median_s": median, "min_s": min, "max_s": max,
                    });
                    writeln!(out, "{line}").map_err(io_error)?;
                }
            }
            Ok(())
        }
        BenchCommand::Classify { file, timing: ModelTiming { batch, reps, backend } } => {
            use skysift::classifier::{self, Classifier};
            let device = open_device(backend)?;
            let model = Classifier::new(&device);
            let curves = lightcurve::read(&read_file(file)?, &ReadOptions::default()).map_err(|e| prefix(file, e))?;
            let groups = classifier::group_by_object(&curves);
            // Making the inputs (dm–dt images, periodogram and Fourier fit) for every object of the file.
            let (inputs_time, inputs) = timed(*reps, || groups.iter().map(|g| classifier::input_image(g).map(|x| x.0)).collect::<Result<Vec<_>>>())?;
            let batch_inputs: Vec<&[f32]> = inputs.iter().cycle().take((*batch).max(1)).map(|v| v.as_slice()).collect();
            model.probabilities_blocking(&batch_inputs)?; // warm-up
            let ((median, min, max), _) = timed(*reps, || model.probabilities_blocking(&batch_inputs))?;
            let line = serde_json::json!({
                "backend": backend, "batch": batch_inputs.len(), "reps": (*reps).max(1), "median_s": median, "min_s": min, "max_s": max,
                "objects": groups.len(), "inputs_median_s": inputs_time.0, "inputs_min_s": inputs_time.1, "inputs_max_s": inputs_time.2,
            });
            writeln!(out, "{line}").map_err(io_error)?;
            Ok(())
        }
        BenchCommand::Explain { files, reps, image, max_evals, naive, backend } => {
            use skysift::partition::{self, ImagePartition};
            use skysift::{classifier, explain, gwskynet};
            let device = open_device(backend)?;
            let model = gwskynet::GwSkyNet::new(&device);
            let baseline = explain::zero_baseline();
            let image = image.as_deref().map(gwskynet::Image::named).transpose()?;
            let options = partition::Options { max_evals: *max_evals, ..Default::default() };
            for path in files {
                let bytes = read_file(path)?;
                let (what, (median, min, max), evals) = if !skysift::skymap::is_fits(&bytes) {
                    let model = classifier::Classifier::new(&device);
                    let curves = lightcurve::read(&bytes, &lightcurve::ReadOptions::default()).map_err(|e| prefix(path, e))?;
                    let group = classifier::group_by_object(&curves).into_iter().next().ok_or_else(|| prefix(path, Error::Value("no light curve".into())))?;
                    let (input, _) = classifier::input_image(&group).map_err(|e| prefix(path, e))?;
                    let p = model.probabilities_blocking(&[&input])?[0];
                    let class = (0..4).max_by(|&a, &b| p[a].total_cmp(&p[b])).expect("four classes");
                    let (t, a) = timed(*reps, || explain::dmdt_attribution_blocking(&model, &input, class, &options))?;
                    ("dm–dt partition".to_string(), t, a.evals)
                } else {
                    let (_, inputs) = prepared_map(path)?;
                    match (image, naive) {
                        (None, false) => {
                            let (t, _) = timed(*reps, || explain::gwskynet_shapley_blocking(&model, &inputs, &baseline))?;
                            ("exact Shapley".to_string(), t, 12)
                        }
                        (None, true) => {
                            // The twelve coalitions as whole-model runs.
                            let batch = explain::coalition_batch(&inputs, &baseline);
                            let refs: Vec<&gwskynet::Inputs> = batch.iter().collect();
                            let (t, _) = timed(*reps, || model.logits_blocking(&refs).and_then(|l| explain::shapley_from_logits(&l)))?;
                            ("exact Shapley, whole-model runs".to_string(), t, 12)
                        }
                        (Some(image), false) => {
                            let (t, a) = timed(*reps, || explain::gwskynet_image_attribution_blocking(&model, &inputs, image, &options))?;
                            (format!("{} partition", image.name()), t, a.evals)
                        }
                        (Some(image), true) => {
                            let tree = ImagePartition::new(image.shape())?;
                            let whole = |images: &[Vec<f32>]| -> Result<Vec<f64>> {
                                let batch: Vec<gwskynet::Inputs> = images
                                    .iter()
                                    .map(|i| {
                                        let mut x = inputs.clone();
                                        match image {
                                            gwskynet::Image::Sky => x.sky = i.clone(),
                                            gwskynet::Image::Volume => x.volume = i.clone(),
                                        }
                                        x
                                    })
                                    .collect();
                                let refs: Vec<&gwskynet::Inputs> = batch.iter().collect();
                                Ok(model.scores_blocking(&refs)?.into_iter().map(f64::from).collect())
                            };
                            let masked = vec![0f32; image.of(&inputs).len()];
                            let (t, a) = timed(*reps, || partition::explain_image(&tree, image.of(&inputs), &masked, *max_evals, partition::DEFAULT_BATCH_SIZE, whole))?;
                            (format!("{} partition, whole-model runs", image.name()), t, a.evals)
                        }
                    }
                };
                let line = serde_json::json!({"file": path, "what": what, "backend": backend, "evals": evals, "reps": (*reps).max(1), "median_s": median, "min_s": min, "max_s": max});
                writeln!(out, "{line}").map_err(io_error)?;
            }
            Ok(())
        }
        BenchCommand::Skymap { files } => {
            use skysift::{gwskynet, skymap, volume};
            for path in files {
                let bytes = read_file(path)?;
                let ((read_s, _, _), map) = timed(1, || skymap::read(&bytes).map_err(|e| prefix(path, e)))?;
                let ((sky_s, _, _), sky) = timed(1, || gwskynet::sky_inputs(&map).map_err(|e| prefix(path, e)))?;
                let ((axes_s, _, _), rot) = timed(1, || volume::principal_axes(&map).map_err(|e| prefix(path, e)))?;
                let renderer = volume::Renderer::new(&map).map_err(|e| prefix(path, e))?;
                let mut faces = Vec::new();
                for axes in volume::FACES {
                    let ((s, _, _), (_, stats)) = timed(1, || Ok(renderer.render_face(&rot, sky.max_distance, axes, gwskynet::VOLUME_SIZE)))?;
                    // What a piece of the face rendered apart pays before its rays (the page's workers plan each face once).
                    let ((plan_s, _, _), _) = timed(1, || Ok(renderer.plan_face(&rot, sky.max_distance, axes, gwskynet::VOLUME_SIZE)))?;
                    faces.push(serde_json::json!({"seconds": s, "plan_s": plan_s, "samples": stats.samples, "lookups": stats.lookups, "by_rule": stats.by_rule, "cells": stats.cells, "prune": stats.prune}));
                }
                let line = serde_json::json!({
                    "file": path, "pixels": map.len(), "read_s": read_s, "sky_s": sky_s, "axes_s": axes_s, "faces": faces,
                });
                writeln!(out, "{line}").map_err(io_error)?;
            }
            Ok(())
        }
        BenchCommand::Gwskynet { timing: ModelTiming { batch, reps, backend } } => {
            let device = open_device(backend)?;
            let model = skysift::gwskynet::GwSkyNet::new(&device);
            let inputs: Vec<skysift::gwskynet::Inputs> = (0..(*batch).max(1)).map(skysift::gwskynet::synthetic_inputs).collect();
            let batch: Vec<&skysift::gwskynet::Inputs> = inputs.iter().collect();
            let first = model.scores_blocking(&batch)?; // warm-up (and weights on the device)
            let ((median, min, max), _) = timed(*reps, || model.scores_blocking(&batch))?;
            let line = serde_json::json!({
                "backend": backend, "batch": batch.len(), "reps": (*reps).max(1), "median_s": median, "min_s": min, "max_s": max,
                "scores": first,
            });
            writeln!(out, "{line}").map_err(io_error)?;
            Ok(())
        }
    }
}

fn open_device(backend: &str) -> Result<burn::tensor::Device> {
    #[cfg(feature = "ndarray-backend")]
    if backend == "ndarray" {
        #[allow(deprecated)]
        return Ok(burn::tensor::Device::ndarray());
    }
    Ok(match Backend::named(backend)? {
        Backend::Cpu => compute::cpu_device(),
        Backend::Webgpu => compute::gpu_device()?,
    })
}

/// The adapter wgpu offers for high performance (the one burn's default device asks for): a
/// real GPU or a CPU emulation (lavapipe, llvmpipe), which benchmarks must tell apart.
fn gpu_adapter_description() -> String {
    use burn::tensor::wgpu::wgpu;
    let instance = wgpu::Instance::default();
    let options = wgpu::RequestAdapterOptions { power_preference: wgpu::PowerPreference::HighPerformance, ..Default::default() };
    match pollster::block_on(instance.request_adapter(&options)) {
        Ok(adapter) => {
            let info = adapter.get_info();
            format!("{} ({:?}, {:?}; driver {} {})", info.name, info.backend, info.device_type, info.driver, info.driver_info)
        }
        Err(e) => format!("none ({e})"),
    }
}

fn run_check(backend: &str) -> Result<()> {
    let device = open_device(backend)?;
    let backend = Backend::named(backend)?;
    if backend == Backend::Webgpu {
        println!("adapter: {}", gpu_adapter_description());
    }
    let got = compute::self_check_blocking(&device)?;
    let diff = got.max_abs_diff(&compute::self_check_reference());
    println!("backend {}: conv + matmul max abs diff vs plain loops = {diff:e}", backend.name());
    if diff > 1e-4 {
        return Err(Error::Backend(format!("backend {} disagrees with the reference by {diff}", backend.name())));
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = match &cli.command {
        Command::Dmdt(args) => run_dmdt(args, &mut out),
        Command::Skymap(args) => run_skymap(args, &mut out),
        Command::Classify(args) => run_classify(args, &mut out),
        Command::Explain(args) => run_explain(args, &mut out),
        Command::Bench(command) => run_bench(command, &mut out),
        Command::Check { backend } => run_check(backend),
    };
    let flushed = out.flush();
    match result {
        Ok(()) if flushed.is_ok() => ExitCode::SUCCESS,
        Ok(()) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("skysift: error: {e}");
            ExitCode::FAILURE
        }
    }
}
