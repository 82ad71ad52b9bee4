//! GWSkyNet II (Chan et al. 2024), the real-vs-noise classifier of BAYESTAR sky maps that the
//! LIGO-Virgo-KAGRA low-latency pipeline runs: PyPI `gwskynet` 2.6.0's ONNX model, converted by
//! burn-onnx at build time (see build.rs), with the package's training norms and FAR/FNR table.
//! Model and tables are GPL-2.0-or-later, by the GWSkyNet authors (Cabero, Chan et al.).

use crate::compute::read_f32;
use crate::error::{Error, Result};
use crate::skymap::SkyMap;
use crate::volume;
use burn::tensor::{Device, Int, Tensor, TensorData};

#[allow(clippy::all, dead_code, unused_imports, unused_variables)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/gwskynet/gwskynet.rs"));
}

const NORMS_TEXT: &str = include_str!(concat!(env!("OUT_DIR"), "/gwskynet/training_norms.txt"));
const RATES_TEXT: &str = include_str!(concat!(env!("OUT_DIR"), "/gwskynet/rates.txt"));
/// The model version whose row of training_norms.txt applies.
pub const MODEL_VERSION: &str = "GWSkyNet_v2.6.0";

/// Sky image: 180 rows (declination) × 360 columns (right ascension).
pub const SKY_SHAPE: [usize; 2] = [180, 360];
/// Volume images: 262 × 262, three faces (channels last).
pub const VOLUME_SIZE: usize = 262;

/// The ten model inputs of one sky map, in the model's input order. Images are normalised to a
/// peak of 1; their peaks, divided by the training norms, are inputs of their own.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    /// input_1: sky image, 180 × 360, row-major.
    pub sky: Vec<f32>,
    /// input_10: log Bayes factor signal vs noise / training norm.
    pub log_bsn: f32,
    /// input_2: volume images, 262 × 262 × 3 (channels last).
    pub volume: Vec<f32>,
    /// input_3: detectors H1, L1, V1 as 0/1.
    pub detectors: [f32; 3],
    /// input_4: mean distance / training norm.
    pub distance: f32,
    /// input_5: peak of the sky image / training norm.
    pub sky_norm: f32,
    /// input_6..8: peaks of the three volume images / training norms.
    pub volume_norms: [f32; 3],
    /// input_9: log Bayes factor coherent vs incoherent / training norm.
    pub log_bci: f32,
}

impl Inputs {
    /// The number of values of each input, in the model's order.
    pub fn shape_template() -> [usize; 10] {
        [SKY_SHAPE[0] * SKY_SHAPE[1], 1, VOLUME_SIZE * VOLUME_SIZE * 3, 3, 1, 1, 1, 1, 1, 1]
    }

    /// Builds inputs from the ten arrays in the model's order (as the reference writes them).
    pub fn from_arrays(arrays: &[Vec<f32>]) -> Result<Inputs> {
        let sizes = Inputs::shape_template();
        if arrays.len() != 10 {
            return Err(Error::Value(format!("GWSkyNet takes 10 inputs, not {}", arrays.len())));
        }
        for (k, (a, &n)) in arrays.iter().zip(&sizes).enumerate() {
            if a.len() != n {
                return Err(Error::Value(format!("GWSkyNet input {k} has {} values, expected {n}", a.len())));
            }
        }
        Ok(Inputs {
            sky: arrays[0].clone(),
            log_bsn: arrays[1][0],
            volume: arrays[2].clone(),
            detectors: [arrays[3][0], arrays[3][1], arrays[3][2]],
            distance: arrays[4][0],
            sky_norm: arrays[5][0],
            volume_norms: [arrays[6][0], arrays[7][0], arrays[8][0]],
            log_bci: arrays[9][0],
        })
    }
}

impl Inputs {
    /// The ten inputs with the ONNX model's names and shapes (channels last), in its order.
    pub fn named_arrays(&self) -> Vec<(&'static str, Vec<usize>, Vec<f32>)> {
        let scalar = |name: &'static str, v: f32| (name, vec![1, 1], vec![v]);
        vec![
            ("input_1", vec![1, SKY_SHAPE[0], SKY_SHAPE[1], 1], self.sky.clone()),
            scalar("input_10", self.log_bsn),
            ("input_2", vec![1, VOLUME_SIZE, VOLUME_SIZE, 3], self.volume.clone()),
            ("input_3", vec![1, 3], self.detectors.to_vec()),
            scalar("input_4", self.distance),
            scalar("input_5", self.sky_norm),
            scalar("input_6", self.volume_norms[0]),
            scalar("input_7", self.volume_norms[1]),
            scalar("input_8", self.volume_norms[2]),
            scalar("input_9", self.log_bci),
        ]
    }
}

/// Made-up but valid inputs for timing the model: values ((i·7919) mod 1000)/d, with d = 10⁴
/// for the images (so that the score is mid-range, not saturated) and 10³ for the scalars.
/// Every value is one correctly rounded f32 division, so other tools
/// (bench/gwskynet_model.py) build the very same arrays.
pub fn synthetic_inputs(seed: usize) -> Inputs {
    let wave = |n: usize, offset: usize, d: f32| -> Vec<f32> { (0..n).map(|i| (((i + offset) * 7919) % 1000) as f32 / d).collect() };
    let arrays = vec![
        wave(SKY_SHAPE[0] * SKY_SHAPE[1], seed, 1e4),
        wave(1, seed + 1, 1e3),
        wave(VOLUME_SIZE * VOLUME_SIZE * 3, seed + 2, 1e4),
        vec![1.0, 1.0, 0.0],
        wave(1, seed + 4, 1e3),
        wave(1, seed + 5, 1e3),
        wave(1, seed + 6, 1e3),
        wave(1, seed + 7, 1e3),
        wave(1, seed + 8, 1e3),
        wave(1, seed + 9, 1e3),
    ];
    Inputs::from_arrays(&arrays).expect("shapes are right")
}

/// The normalisation constants GWSkyNet was trained with (training_norms.txt).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingNorms {
    pub distance: f64,
    pub skymap: f64,
    pub vol: [f64; 3],
    pub log_bci: f64,
    pub log_bsn: f64,
}

pub fn training_norms() -> TrainingNorms {
    let header: Vec<&str> = NORMS_TEXT.lines().next().expect("norms header").trim_start_matches('#').split_whitespace().collect();
    let row: Vec<&str> = NORMS_TEXT
        .lines()
        .find(|l| l.split_whitespace().next() == Some(MODEL_VERSION))
        .expect("training_norms.txt has a row for the model")
        .split_whitespace()
        .collect();
    let get = |key: &str| -> f64 {
        let i = header.iter().position(|h| *h == key).expect("known column");
        row[i].parse().expect("a number")
    };
    TrainingNorms {
        distance: get("distance"),
        skymap: get("skymap"),
        vol: [get("vol0"), get("vol1"), get("vol2")],
        log_bci: get("logbci"),
        log_bsn: get("logbsn"),
    }
}

/// What GWSkyNet needs of a sky map beyond the sky: the checks the reference makes, with
/// messages that say what is missing.
pub fn check_usable(map: &SkyMap) -> Result<()> {
    let creator = map.meta.creator.as_deref().unwrap_or("");
    if creator != "BAYESTAR" {
        return Err(Error::Value(format!(
            "GWSkyNet only scores sky maps made by BAYESTAR (ligo.skymap); this one says CREATOR = '{}'",
            if creator.is_empty() { "(none)" } else { creator }
        )));
    }
    if map.distance.is_none() {
        return Err(Error::Value("GWSkyNet needs the distance layers DISTMU, DISTSIGMA and DISTNORM; this sky map has none".into()));
    }
    let missing: Vec<&str> = [
        ("DISTMEAN", map.meta.distmean),
        ("DISTSTD", map.meta.diststd),
        ("LOGBCI", map.meta.log_bci),
        ("LOGBSN", map.meta.log_bsn),
    ]
    .iter()
    .filter(|(_, v)| !v.is_some_and(f64::is_finite))
    .map(|(k, _)| *k)
    .collect();
    if !missing.is_empty() {
        return Err(Error::Value(format!("GWSkyNet needs the header values {}; this sky map lacks them", missing.join(", "))));
    }
    if map.meta.instruments.is_empty() {
        return Err(Error::Value("GWSkyNet needs the detector network (INSTRUME); this sky map does not say".into()));
    }
    Ok(())
}

/// The sky image GWSkyNet sees: probability density on a 360 × 180 plate carrée grid of
/// 1° pixels, row-major, row 0 at declination −89.5°, column 0 at right ascension 359.5°
/// (the reference's WCS: RA---CAR/DEC--CAR, CRVAL1 = 180, CDELT1 = −1). Each grid point takes
/// the value of the sky-map pixel containing it, as ligo.skymap's `reproject_from_healpix_moc`.
pub fn sky_image(map: &SkyMap) -> Vec<f64> {
    let starts = map.machine_starts();
    let mut image = Vec::with_capacity(SKY_SHAPE[0] * SKY_SHAPE[1]);
    for y in 0..SKY_SHAPE[0] {
        let dec = (y as f64 - 89.5).to_radians();
        for x in 0..SKY_SHAPE[1] {
            let ra = (359.5 - x as f64).to_radians();
            image.push(map.prob_density[SkyMap::pixel_at(&starts, ra, dec)]);
        }
    }
    image
}

/// The inputs that come from the header and the sky image (all but the volume images).
#[derive(Debug, Clone, PartialEq)]
pub struct SkyInputs {
    /// input_1: the sky image divided by its peak.
    pub sky: Vec<f32>,
    /// input_5: the peak / the training norm.
    pub sky_norm: f32,
    pub log_bsn: f32,
    pub detectors: [f32; 3],
    pub distance: f32,
    pub log_bci: f32,
    /// How far the volume images reach: DISTMEAN + 2.5 DISTSTD (Mpc).
    pub max_distance: f64,
}

pub fn sky_inputs(map: &SkyMap) -> Result<SkyInputs> {
    check_usable(map)?;
    let norms = training_norms();
    let image = sky_image(map);
    let peak = image.iter().fold(0f64, |m, v| m.max(v.abs()));
    if !(peak > 0.0 && peak.is_finite()) {
        return Err(Error::Value("the sky map's probability is zero or not finite everywhere".into()));
    }
    let meta = &map.meta;
    let (distmean, diststd) = (meta.distmean.expect("checked"), meta.diststd.expect("checked"));
    let has = |d: &str| if meta.instruments.iter().any(|i| i == d) { 1.0 } else { 0.0 };
    Ok(SkyInputs {
        sky: image.iter().map(|v| (v / peak) as f32).collect(),
        sky_norm: (peak / norms.skymap) as f32,
        log_bsn: (meta.log_bsn.expect("checked") / norms.log_bsn) as f32,
        detectors: [has("H1"), has("L1"), has("V1")],
        distance: (distmean / norms.distance) as f32,
        log_bci: (meta.log_bci.expect("checked") / norms.log_bci) as f32,
        max_distance: distmean + 2.5 * diststd,
    })
}

/// One volume image as `volume_face` makes it: 262 × 262 row-major, divided by its peak, and
/// that peak divided by the face's training norm.
pub type VolumeFace = (Vec<f32>, f32);

/// Volume image `face` (0, 1, 2) of the renderer's map, as the reference's `prepare_data` makes
/// it with ligo.skymap's `volume_render`. `rot` is `volume::principal_axes(map)`.
pub fn volume_face(renderer: &volume::Renderer, rot: &[[f64; 3]; 3], max_distance: f64, face: usize) -> Result<VolumeFace> {
    let image = volume_face_rows(renderer, rot, max_distance, face, 0..VOLUME_SIZE)?;
    normalise_volume_face(face, &image)
}

/// Rows `rows` of volume image `face` before normalisation (`VOLUME_SIZE` values a row): pieces
/// rendered apart (the page's workers) and put together are the whole face, exactly.
pub fn volume_face_rows(renderer: &volume::Renderer, rot: &[[f64; 3]; 3], max_distance: f64, face: usize, rows: std::ops::Range<usize>) -> Result<Vec<f64>> {
    let plan = volume_face_plan(renderer, rot, max_distance, face)?;
    volume_planned_rows(renderer, &plan, rows)
}

/// What volume image `face`'s pieces share (`volume::Renderer::plan_face`): made once, it serves
/// every piece of the face that `volume_planned_rows` renders with the same renderer's map.
pub fn volume_face_plan(renderer: &volume::Renderer, rot: &[[f64; 3]; 3], max_distance: f64, face: usize) -> Result<volume::FacePlan> {
    if !(max_distance > 0.0 && max_distance.is_finite()) {
        return Err(Error::Value(format!("DISTMEAN + 2.5 DISTSTD must be a positive distance; it is {max_distance}")));
    }
    let axes = *volume::FACES.get(face).ok_or_else(|| Error::Option(format!("volume face {face} does not exist (0, 1 or 2)")))?;
    Ok(renderer.plan_face(rot, max_distance, axes, VOLUME_SIZE))
}

/// Rows `rows` of the volume image `plan` is for, before normalisation.
pub fn volume_planned_rows(renderer: &volume::Renderer, plan: &volume::FacePlan, rows: std::ops::Range<usize>) -> Result<Vec<f64>> {
    if rows.start >= rows.end || rows.end > VOLUME_SIZE {
        return Err(Error::Option(format!("rows {}..{} are not rows of a {VOLUME_SIZE}-row volume image", rows.start, rows.end)));
    }
    Ok(renderer.render_planned_rows(plan, rows).0)
}

/// A whole volume image, as rendered, divided by its peak, with its norm input (peak / the
/// training norm).
pub fn normalise_volume_face(face: usize, image: &[f64]) -> Result<VolumeFace> {
    if face > 2 || image.len() != VOLUME_SIZE * VOLUME_SIZE {
        return Err(Error::Option(format!("a volume image is face 0, 1 or 2 of {} values; got face {face} of {}", VOLUME_SIZE * VOLUME_SIZE, image.len())));
    }
    let peak = image.iter().fold(0f64, |m, v| m.max(v.abs()));
    if !(peak > 0.0 && peak.is_finite()) {
        return Err(Error::Value(format!("volume image {face} of the sky map is empty or not finite (check DISTMU, DISTSIGMA, DISTNORM)")));
    }
    Ok((image.iter().map(|v| (v / peak) as f32).collect(), (peak / training_norms().vol[face]) as f32))
}

/// The ten inputs from the header and sky-image inputs and the three volume images: the images
/// stacked channels last (input_2), their peaks as input_6..8.
pub fn assemble(sky: &SkyInputs, faces: [&VolumeFace; 3]) -> Inputs {
    let mut volume = vec![0f32; VOLUME_SIZE * VOLUME_SIZE * 3];
    for (face, (image, _)) in faces.iter().enumerate() {
        for (k, v) in image.iter().enumerate() {
            volume[k * 3 + face] = *v;
        }
    }
    Inputs {
        sky: sky.sky.clone(),
        log_bsn: sky.log_bsn,
        volume,
        detectors: sky.detectors,
        distance: sky.distance,
        sky_norm: sky.sky_norm,
        volume_norms: faces.map(|f| f.1),
        log_bci: sky.log_bci,
    }
}

/// The ten inputs of a sky map, as the reference's `prepare_data` makes them.
pub fn prepare(map: &SkyMap) -> Result<Inputs> {
    let sky = sky_inputs(map)?;
    let rot = volume::principal_axes(map)?;
    let renderer = volume::Renderer::new(map)?;
    let faces = (0..3).map(|face| volume_face(&renderer, &rot, sky.max_distance, face)).collect::<Result<Vec<_>>>()?;
    Ok(assemble(&sky, [&faces[0], &faces[1], &faces[2]]))
}

/// False-alarm and false-negative rates at a score threshold.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Rates {
    pub far: f64,
    pub fnr: f64,
}

/// FAR and FNR for `score`, linearly interpolated in the package's rate table, held at the
/// table's end values outside it (as `get_rates` does with scipy's `interp1d`).
pub fn rates(score: f64) -> Rates {
    // (threshold, FAR, FNR) rows, parsed once.
    static TABLE: std::sync::OnceLock<Vec<[f64; 3]>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        RATES_TEXT
            .lines()
            .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let v: Vec<f64> = l.split('\t').map(|x| x.trim().parse().expect("rate table numbers")).collect();
                [v[0], v[1], v[2]]
            })
            .collect()
    });
    let first = table[0];
    let last = table[table.len() - 1];
    if !(score >= first[0]) {
        return Rates { far: first[1], fnr: first[2] };
    }
    if score >= last[0] {
        return Rates { far: last[1], fnr: last[2] };
    }
    // Thresholds increase; find the interval [x0, x1) holding the score.
    let k = table.partition_point(|r| r[0] <= score).max(1);
    let (a, b) = (table[k - 1], table[k]);
    let w = (score - a[0]) / (b[0] - a[0]);
    Rates { far: a[1] + w * (b[1] - a[1]), fnr: a[2] + w * (b[2] - a[2]) }
}

/// For each model input (model order: sky, log BSN, volume, detectors, distance, sky peak, the
/// three volume peaks, log BCI), the branch output it becomes in the last layer's concatenation
/// (build.rs checks that concatenation's order).
const BRANCH_OF_INPUT: [usize; 10] = [1, 9, 0, 2, 3, 4, 5, 6, 7, 8];

/// GWSkyNet's two image inputs, which partition explanations attribute pixel by pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Image {
    Sky,
    Volume,
}

impl Image {
    pub fn named(name: &str) -> Result<Image> {
        match name {
            "sky" => Ok(Image::Sky),
            "volume" => Ok(Image::Volume),
            _ => Err(Error::Option(format!("GWSkyNet's images are 'sky' and 'volume', not '{name}'"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Image::Sky => "sky",
            Image::Volume => "volume",
        }
    }

    /// Rows, columns, channels.
    pub fn shape(self) -> [usize; 3] {
        match self {
            Image::Sky => [SKY_SHAPE[0], SKY_SHAPE[1], 1],
            Image::Volume => [VOLUME_SIZE, VOLUME_SIZE, 3],
        }
    }

    pub fn of(self, x: &Inputs) -> &[f32] {
        match self {
            Image::Sky => &x.sky,
            Image::Volume => &x.volume,
        }
    }

    /// The image's position among the model's inputs.
    fn input(self) -> usize {
        match self {
            Image::Sky => 0,
            Image::Volume => 2,
        }
    }
}

/// One sky map with one of its images to be replaced: the model's branches for the map are
/// computed once, and each replacement image runs through its own branch only.
pub struct ImageGame {
    image: Image,
    parts: Vec<Tensor<2>>,
}

/// GWSkyNet on one device.
pub struct GwSkyNet {
    model: generated::Model,
    device: Device,
}

impl GwSkyNet {
    pub fn new(device: &Device) -> GwSkyNet {
        GwSkyNet { model: generated::Model::from_embedded(device), device: device.clone() }
    }

    /// Scores (probability of a real astrophysical signal) for a batch of sky maps.
    pub async fn scores(&self, batch: &[&Inputs]) -> Result<Vec<f32>> {
        self.run(batch, false).await
    }

    /// Logits of maps that mix two maps input by input: row r takes input i (model order) from
    /// `a` where bit i of `masks[r]` is set, else from `b`. The model's inputs meet only in its
    /// last layer, so the convolutions run once per map, whatever the number of rows.
    pub async fn mixed_logits(&self, a: &Inputs, b: &Inputs, masks: &[u16]) -> Result<Vec<f32>> {
        let parts = self.branches(&[a, b]);
        let rows: Vec<[usize; 10]> = masks.iter().map(|&m| std::array::from_fn(|i| if m >> i & 1 == 1 { 0 } else { 1 })).collect();
        let mut columns = Vec::with_capacity(parts.len());
        for (k, part) in parts.into_iter().enumerate() {
            let input = BRANCH_OF_INPUT.iter().position(|&p| p == k).expect("every branch belongs to an input");
            let pick: Vec<i64> = rows.iter().map(|r| r[input] as i64).collect();
            let index = Tensor::<1, Int>::from_data(TensorData::new(pick, [rows.len()]), &self.device);
            columns.push(part.select(0, index));
        }
        read_f32(self.model.logit_from_branches(Tensor::cat(columns, 1))).await
    }

    pub fn image_game(&self, x: &Inputs, image: Image) -> ImageGame {
        ImageGame { image, parts: self.branches(&[x]) }
    }

    /// Scores of the game's map with its image replaced by each of `images` (channels last).
    pub async fn image_scores(&self, game: &ImageGame, images: &[Vec<f32>]) -> Result<Vec<f64>> {
        let n = images.len();
        let [rows, columns, channels] = game.image.shape();
        if n == 0 {
            return Ok(Vec::new());
        }
        if images.iter().any(|i| i.len() != rows * columns * channels) {
            return Err(Error::Value(format!("the {} image has {rows} × {columns} × {channels} values", game.image.name())));
        }
        let flat: Vec<f32> = images.iter().flat_map(|i| i.iter().copied()).collect();
        let batch = Tensor::<4>::from_data(TensorData::new(flat, [n, rows, columns, channels]), &self.device);
        let mut replaced = Some(match game.image {
            Image::Sky => self.model.forward_sky_branch(batch),
            Image::Volume => self.model.forward_volume_branch(batch),
        });
        let k = BRANCH_OF_INPUT[game.image.input()];
        let columns: Vec<Tensor<2>> =
            game.parts.iter().enumerate().map(|(j, part)| if j == k { replaced.take().expect("one branch replaced") } else { part.clone().repeat_dim(0, n) }).collect();
        let logits = read_f32(self.model.logit_from_branches(Tensor::cat(columns, 1))).await?;
        Ok(logits.iter().map(|&l| 1.0 / (1.0 + (-(l as f64)).exp())).collect())
    }

    fn branches(&self, batch: &[&Inputs]) -> Vec<Tensor<2>> {
        let (sky, log_bsn, volume, detectors, distance, sky_norm, v0, v1, v2, log_bci) = self.tensors(batch);
        self.model.forward_branches(sky, log_bsn, volume, detectors, distance, sky_norm, v0, v1, v2, log_bci)
    }

    /// The model's logits (the scores before the final sigmoid) for a batch of sky maps.
    pub async fn logits(&self, batch: &[&Inputs]) -> Result<Vec<f32>> {
        self.run(batch, true).await
    }

    async fn run(&self, batch: &[&Inputs], logit: bool) -> Result<Vec<f32>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let (sky, log_bsn, volume, detectors, distance, sky_norm, v0, v1, v2, log_bci) = self.tensors(batch);
        let forward = if logit { generated::Model::forward_logit } else { generated::Model::forward };
        read_f32(forward(&self.model, sky, log_bsn, volume, detectors, distance, sky_norm, v0, v1, v2, log_bci)).await
    }

    /// The batch as the model's ten input tensors (channels last, as the ONNX model takes them).
    #[allow(clippy::type_complexity)]
    fn tensors(&self, batch: &[&Inputs]) -> (Tensor<4>, Tensor<2>, Tensor<4>, Tensor<2>, Tensor<2>, Tensor<2>, Tensor<2>, Tensor<2>, Tensor<2>, Tensor<2>) {
        let n = batch.len();
        let d = &self.device;
        let stack = |f: &dyn Fn(&Inputs) -> Vec<f32>| -> Vec<f32> { batch.iter().flat_map(|x| f(x)).collect() };
        let scalar = |f: &dyn Fn(&Inputs) -> f32| -> Tensor<2> {
            Tensor::from_data(TensorData::new(batch.iter().map(|x| f(x)).collect::<Vec<f32>>(), [n, 1]), d)
        };
        (
            Tensor::<4>::from_data(TensorData::new(stack(&|x| x.sky.clone()), [n, SKY_SHAPE[0], SKY_SHAPE[1], 1]), d),
            scalar(&|x| x.log_bsn),
            Tensor::<4>::from_data(TensorData::new(stack(&|x| x.volume.clone()), [n, VOLUME_SIZE, VOLUME_SIZE, 3]), d),
            Tensor::<2>::from_data(TensorData::new(stack(&|x| x.detectors.to_vec()), [n, 3]), d),
            scalar(&|x| x.distance),
            scalar(&|x| x.sky_norm),
            scalar(&|x| x.volume_norms[0]),
            scalar(&|x| x.volume_norms[1]),
            scalar(&|x| x.volume_norms[2]),
            scalar(&|x| x.log_bci),
        )
    }

    /// [`Self::scores`], waited for: for native callers. Keeping the wait inside this crate
    /// also keeps the model's code from being compiled again in every crate that calls it.
    #[cfg(not(target_family = "wasm"))]
    pub fn scores_blocking(&self, batch: &[&Inputs]) -> Result<Vec<f32>> {
        pollster::block_on(self.scores(batch))
    }

    #[cfg(not(target_family = "wasm"))]
    pub fn logits_blocking(&self, batch: &[&Inputs]) -> Result<Vec<f32>> {
        pollster::block_on(self.logits(batch))
    }

    #[cfg(not(target_family = "wasm"))]
    pub fn mixed_logits_blocking(&self, a: &Inputs, b: &Inputs, masks: &[u16]) -> Result<Vec<f32>> {
        pollster::block_on(self.mixed_logits(a, b, masks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norms_are_the_packages() {
        let n = training_norms();
        assert_eq!(n.distance, 9475.756);
        assert_eq!(n.skymap, 0.0024);
        assert_eq!(n.vol, [2.495, 1.331, 0.373]);
        assert_eq!(n.log_bci, 39.367);
        assert_eq!(n.log_bsn, 8916.04);
    }

    #[test]
    fn rates_interpolate_and_clamp() {
        let low = rates(-1.0);
        assert_eq!((low.far, low.fnr), (1.0, 0.0));
        let high = rates(2.0);
        assert_eq!(high, rates(1.0));
        // Halfway between two rows of the table is halfway between their rates.
        let (a, b) = (rates(0.5), rates(0.5001));
        let mid = rates(0.50005);
        assert!((mid.far - (a.far + b.far) / 2.0).abs() < 1e-12);
        assert!(rates(0.1).far >= rates(0.9).far, "FAR falls as the threshold rises");
    }
}
