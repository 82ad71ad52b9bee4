//! The one wasm-bindgen facade. It converts JS values to core types and back, and turns every
//! core error into a JS `Error` in one place (`js_error`). No DOM here: the page owns files,
//! feature detection and drawing.

use crate::compute::{self, Backend};
use crate::dmdt;
use crate::gwskynet::{self, GwSkyNet};
use crate::lightcurve::{self, LightCurve, ReadOptions};
use crate::skymap::{self, SkyMap};
use crate::Error;
use burn::tensor::Device;
use serde::Serialize;
use std::cell::OnceCell;
use wasm_bindgen::prelude::*;

type JsResult<T> = std::result::Result<T, JsValue>;

/// Core errors cross into JS here, once.
fn js_error(e: Error) -> JsValue {
    js_sys::Error::new(&e.to_string()).into()
}

fn to_js<T: Serialize>(value: &T) -> JsResult<JsValue> {
    // Plain objects rather than Maps, and u64 as numbers (counts fit easily).
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    value
        .serialize(&serializer)
        .map_err(|e| js_error(Error::Backend(format!("could not convert the result for JS: {e}"))))
}

fn from_js<T: serde::de::DeserializeOwned + Default>(value: JsValue, what: &str) -> JsResult<T> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    serde_wasm_bindgen::from_value(value).map_err(|e| js_error(Error::Option(format!("invalid {what}: {e}"))))
}

extern "C" {
    /// Runs the static constructors (cubecl registers its IR dialects through `inventory`).
    /// Synthesised by wasm-ld.
    fn __wasm_call_ctors();
}

#[wasm_bindgen(start)]
pub fn start() {
    // When nothing calls `__wasm_call_ctors`, wasm-ld wraps *every* export so that it runs all
    // constructors first: that cost ~100 µs per call from JS here. Calling it once, at start,
    // makes wasm-ld drop the wrappers.
    // SAFETY: called once, before any other export runs (wasm-bindgen runs `start` first).
    unsafe { __wasm_call_ctors() };
    // A panic is a bug; this puts its message in the console, and the page's worker reports it.
    console_error_panic_hook::set_once();
}

#[wasm_bindgen]
pub fn version() -> String {
    crate::VERSION.to_string()
}

/// A compute backend opened for this page.
#[wasm_bindgen]
pub struct Engine {
    backend: Backend,
    device: Device,
    /// GWSkyNet's weights, loaded on first use.
    gwskynet: OnceCell<GwSkyNet>,
    /// The dm–dt classifier, loaded on first use.
    classifier: OnceCell<crate::classifier::Classifier>,
}

#[wasm_bindgen]
impl Engine {
    /// Opens `backend` ("cpu" or "webgpu"). WebGPU failing to start is an error the page
    /// turns into a fallback to the CPU, with the reason shown.
    pub async fn create(backend: String) -> JsResult<Engine> {
        let backend = Backend::named(&backend).map_err(js_error)?;
        let device = match backend {
            Backend::Cpu => compute::cpu_device(),
            Backend::Webgpu => compute::gpu_device_async().await.map_err(js_error)?,
        };
        Ok(Engine { backend, device, gwskynet: OnceCell::new(), classifier: OnceCell::new() })
    }

    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.name().to_string()
    }

    /// Runs a convolution and a matmul on this backend: `{conv, matmul, maxAbsDiff}`, the last
    /// against plain-loop arithmetic.
    #[wasm_bindgen(js_name = selfCheck)]
    pub async fn self_check(&self) -> JsResult<JsValue> {
        let got = compute::self_check(&self.device).await.map_err(js_error)?;
        let diff = got.max_abs_diff(&compute::self_check_reference());
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Out {
            conv: Vec<f32>,
            matmul: Vec<f32>,
            max_abs_diff: f32,
        }
        to_js(&Out { conv: got.conv, matmul: got.matmul, max_abs_diff: diff })
    }

    /// GWSkyNet's score for one sky map from its ten prepared inputs (Float32Arrays in the
    /// model's input order, as the Python `prepare_data` makes them): `{score, far, fnr}`.
    #[wasm_bindgen(js_name = gwskynetScore)]
    pub async fn gwskynet_score(&self, inputs: js_sys::Array) -> JsResult<JsValue> {
        let inputs = inputs_from_js(&inputs)?;
        let model = self.gwskynet.get_or_init(|| GwSkyNet::new(&self.device));
        let score = model.scores(&[&inputs]).await.map_err(js_error)?[0] as f64;
        let rates = gwskynet::rates(score);
        #[derive(Serialize)]
        struct Out {
            score: f64,
            far: f64,
            fnr: f64,
        }
        to_js(&Out { score, far: rates.far, fnr: rates.fnr })
    }
}

#[wasm_bindgen]
impl Engine {
    /// Exact Shapley values of GWSkyNet's ten inputs (Float32Arrays in the model's order, as for
    /// `gwskynetScore`) against the all-zero baseline: `{names, value, base_value, phi,
    /// phi_logit, logit, base_logit, additivity_error}`.
    #[wasm_bindgen(js_name = gwskynetShapley)]
    pub async fn gwskynet_shapley(&self, inputs: js_sys::Array) -> JsResult<JsValue> {
        let inputs = inputs_from_js(&inputs)?;
        let model = self.gwskynet.get_or_init(|| GwSkyNet::new(&self.device));
        let s = crate::explain::gwskynet_shapley(model, &inputs, &crate::explain::zero_baseline()).await.map_err(js_error)?;
        to_js(&s)
    }

    /// GWSkyNet's scores for `count` sky maps at once: `inputs` are the ten arrays in the model's
    /// order, each holding the `count` maps' values one after the other. A Float32Array of scores.
    #[wasm_bindgen(js_name = gwskynetScoreBatch)]
    pub async fn gwskynet_score_batch(&self, inputs: js_sys::Array, count: usize) -> JsResult<Vec<f32>> {
        let arrays: Vec<Vec<f32>> = inputs.iter().map(|a| js_sys::Float32Array::new(&a).to_vec()).collect();
        let sizes = gwskynet::Inputs::shape_template();
        if count == 0 || arrays.len() != 10 || arrays.iter().zip(sizes).any(|(a, n)| a.len() != n * count) {
            return Err(js_error(Error::Option(format!("give the ten inputs of {count} sky maps, each map's values after the other's"))));
        }
        let maps: Vec<gwskynet::Inputs> = (0..count)
            .map(|m| gwskynet::Inputs::from_arrays(&arrays.iter().zip(sizes).map(|(a, n)| a[m * n..(m + 1) * n].to_vec()).collect::<Vec<_>>()))
            .collect::<crate::Result<_>>()
            .map_err(js_error)?;
        let model = self.gwskynet.get_or_init(|| GwSkyNet::new(&self.device));
        model.scores(&maps.iter().collect::<Vec<_>>()).await.map_err(js_error)
    }

    /// Partition (Owen) attributions of GWSkyNet's score to the pixels of one of its images
    /// (`image`: "sky" or "volume"), absent pixels masked as `masking` says ("zeros", "blur:K",
    /// "blur:WxH"): `{shape, values (Float32Array, channels last), base_value, value, evals,
    /// max_evals}`. `progress(evals, maxEvals)` is called after each batch of model runs.
    #[wasm_bindgen(js_name = gwskynetImageAttribution)]
    #[allow(clippy::too_many_arguments)]
    pub async fn gwskynet_image_attribution(
        &self,
        inputs: js_sys::Array,
        image: String,
        masking: String,
        max_evals: usize,
        batch_size: usize,
        progress: &js_sys::Function,
    ) -> JsResult<JsValue> {
        let inputs = inputs_from_js(&inputs)?;
        let image = gwskynet::Image::named(&image).map_err(js_error)?;
        let options = partition_options(&masking, max_evals, batch_size)?;
        let model = self.gwskynet.get_or_init(|| GwSkyNet::new(&self.device));
        let a = crate::explain::gwskynet_image_attribution(model, &inputs, image, &options, report(progress)).await.map_err(js_error)?;
        attribution_to_js(&a)
    }

    /// Partition attributions of the probability of class `class` (an index into `classes()`)
    /// to the pixels of one classifier input (from `LightCurves.classifierInputs`): as
    /// `gwskynetImageAttribution`, shape `[Δt bins, Δm bins, bands]`.
    #[wasm_bindgen(js_name = dmdtAttribution)]
    pub async fn dmdt_attribution(&self, input: Vec<f32>, class: usize, masking: String, max_evals: usize, batch_size: usize, progress: &js_sys::Function) -> JsResult<JsValue> {
        let model = self.classifier.get_or_init(|| crate::classifier::Classifier::new(&self.device));
        let options = partition_options(&masking, max_evals, batch_size)?;
        let a = crate::explain::dmdt_attribution(model, &input, class, &options, report(progress)).await.map_err(js_error)?;
        attribution_to_js(&a)
    }

    /// How much the dm–dt image and the period features each moved P(`class`) (exact Shapley
    /// values of the two parts; see `explain::dmdt_parts`).
    #[wasm_bindgen(js_name = dmdtParts)]
    pub async fn dmdt_parts(&self, input: Vec<f32>, class: usize, masking: String) -> JsResult<JsValue> {
        let model = self.classifier.get_or_init(|| crate::classifier::Classifier::new(&self.device));
        let masking = crate::partition::Masking::named(&masking).map_err(js_error)?;
        let parts = crate::explain::dmdt_parts(model, &input, class, &masking).await.map_err(js_error)?;
        to_js(&parts)
    }

    /// Calibrated class probabilities of the dm–dt classifier for `count` inputs made by
    /// `LightCurves.classifierInputs` (concatenated): a flat array, 4 per object, in the order
    /// of `classes()`.
    #[wasm_bindgen(js_name = classify)]
    pub async fn classify(&self, inputs: Vec<f32>, count: usize) -> JsResult<Vec<f32>> {
        let model = self.classifier.get_or_init(|| crate::classifier::Classifier::new(&self.device));
        if count == 0 || inputs.len() % count != 0 {
            return Err(js_error(Error::Option(format!("{} values do not make {count} classifier inputs", inputs.len()))));
        }
        let chunks: Vec<&[f32]> = inputs.chunks(inputs.len() / count).collect();
        let p = model.probabilities(&chunks).await.map_err(js_error)?;
        Ok(p.into_iter().flatten().collect())
    }
}

/// GWSkyNet's ten inputs of one map, from Float32Arrays in the model's order.
fn inputs_from_js(inputs: &js_sys::Array) -> JsResult<gwskynet::Inputs> {
    let arrays: Vec<Vec<f32>> = inputs.iter().map(|a| js_sys::Float32Array::new(&a).to_vec()).collect();
    gwskynet::Inputs::from_arrays(&arrays).map_err(js_error)
}

/// Progress reports to a JS callback; a callback that throws is ignored (progress is advisory).
fn report(progress: &js_sys::Function) -> impl FnMut(usize, usize) + '_ {
    move |done, total| {
        let _ = progress.call2(&JsValue::NULL, &JsValue::from(done), &JsValue::from(total));
    }
}

fn partition_options(masking: &str, max_evals: usize, batch_size: usize) -> JsResult<crate::partition::Options> {
    Ok(crate::partition::Options { masking: crate::partition::Masking::named(masking).map_err(js_error)?, max_evals, batch_size })
}

fn attribution_to_js(a: &crate::partition::Attribution) -> JsResult<JsValue> {
    let out = js_sys::Object::new();
    let values: Vec<f32> = a.values.iter().map(|&v| v as f32).collect();
    let set = |key: &str, value: &JsValue| js_sys::Reflect::set(&out, &key.into(), value).map(|_| ());
    set("shape", &to_js(&a.shape)?)?;
    set("values", &js_sys::Float32Array::from(&values[..]).into())?;
    set("base_value", &a.base_value.into())?;
    set("value", &a.value.into())?;
    set("evals", &a.evals.into())?;
    set("max_evals", &a.max_evals.into())?;
    Ok(out.into())
}

/// The classifier's classes, in the order of `Engine.classify`'s probabilities.
#[wasm_bindgen]
pub fn classes() -> Vec<String> {
    crate::classifier::CLASSES.iter().map(|c| c.to_string()).collect()
}

/// The light curves of one file, read once and kept for the requests that follow.
#[wasm_bindgen]
pub struct LightCurves {
    curves: Vec<LightCurve>,
}

#[wasm_bindgen]
impl LightCurves {
    /// Reads a light-curve file (any supported layout, gzip or not). `options` may name
    /// columns and a band: `{time, mag, err, band_column, object_column, band}`.
    pub fn read(bytes: &[u8], options: JsValue) -> JsResult<LightCurves> {
        let options: ReadOptions = from_js(options, "read options")?;
        let curves = lightcurve::read(bytes, &options).map_err(js_error)?;
        Ok(LightCurves { curves })
    }

    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.curves.len()
    }

    /// Light curve `index`: `{object, band, time, mag, err, dropped}`.
    pub fn get(&self, index: usize) -> JsResult<JsValue> {
        to_js(self.curve(index)?)
    }

    /// The dm–dt image of light curve `index`; `request` is `{grid, normalisation, smear}`.
    pub fn dmdt(&self, index: usize, request: JsValue) -> JsResult<JsValue> {
        let request: dmdt::Request = from_js(request, "dm–dt request")?;
        to_js(&dmdt::record(self.curve(index)?, &request).map_err(js_error)?)
    }

    /// Pair counts alone of light curve `index` on `grid`, row-major `[dt][dm]`: the lean
    /// call for programs (and the benchmarks) that need no JSON record.
    #[wasm_bindgen(js_name = countPairs)]
    pub fn count_pairs(&self, index: usize, grid: JsValue) -> JsResult<Vec<f64>> {
        let grid: dmdt::GridChoice = from_js(grid, "grid")?;
        let grid = grid.grid().map_err(js_error)?;
        let image = dmdt::image(self.curve(index)?, &grid, dmdt::ImageOptions::default()).map_err(js_error)?;
        Ok(image.counts)
    }

    /// Pairs (i, j) of light curve `index` that fell in pixel (`i_dt`, `i_dm`), at most `limit`,
    /// as a flat array [i0, j0, i1, j1, ...].
    #[wasm_bindgen(js_name = pairsInPixel)]
    pub fn pairs_in_pixel(&self, index: usize, grid: JsValue, i_dt: usize, i_dm: usize, limit: usize) -> JsResult<Vec<u32>> {
        let grid: dmdt::GridChoice = from_js(grid, "grid")?;
        let grid = grid.grid().map_err(js_error)?;
        let pairs = dmdt::pairs_in_pixel(self.curve(index)?, &grid, i_dt, i_dm, limit).map_err(js_error)?;
        Ok(pairs.into_iter().flat_map(|(i, j)| [i as u32, j as u32]).collect())
    }
}

#[wasm_bindgen]
impl LightCurves {
    /// The classifier's inputs, one per object (its bands together): `{inputs: Float32Array
    /// (concatenated), objects: [{object, bands, n_points, warnings}]}`.
    #[wasm_bindgen(js_name = classifierInputs)]
    pub fn classifier_inputs(&self) -> JsResult<JsValue> {
        use crate::classifier;
        #[derive(Serialize)]
        struct Object {
            object: Option<String>,
            bands: Vec<String>,
            n_points: usize,
            /// The periodogram's best period (days), if any.
            period: Option<f64>,
            warnings: Vec<String>,
            /// Too few points for any answer (the label is then "uncertain").
            uncertain: bool,
        }
        let mut flat = Vec::new();
        let mut objects = Vec::new();
        for group in classifier::group_by_object(&self.curves) {
            let (x, warnings) = classifier::input_image(&group).map_err(js_error)?;
            // The probabilities come later (`Engine.classify`): only the object's description here.
            let p = classifier::prediction(&group, &x, [0.0; 4], warnings);
            flat.extend(x);
            objects.push(Object { object: p.object, bands: p.bands, n_points: p.n_points, period: p.period, warnings: p.warnings, uncertain: classifier::too_few_points(&group) });
        }
        let out = js_sys::Object::new();
        js_sys::Reflect::set(&out, &"inputs".into(), &js_sys::Float32Array::from(&flat[..]))?;
        js_sys::Reflect::set(&out, &"objects".into(), &to_js(&objects)?)?;
        Ok(out.into())
    }
}

impl LightCurves {
    fn curve(&self, index: usize) -> JsResult<&LightCurve> {
        self.curves.get(index).ok_or_else(|| {
            js_error(Error::Option(format!("light curve {index} does not exist (the file has {})", self.curves.len())))
        })
    }
}

/// One sky map, read once; GWSkyNet's inputs are prepared step by step (sky image, then each
/// volume image: seconds each) so that the page can show progress and stop between steps.
#[wasm_bindgen]
pub struct SkyMapFile {
    map: SkyMap,
    sky: Option<gwskynet::SkyInputs>,
    rot: Option<[[f64; 3]; 3]>,
    volume: [Option<gwskynet::VolumeFace>; 3],
    /// Each face's plan, made by the first piece of it this file renders and kept for the rest.
    plans: [Option<crate::volume::FacePlan>; 3],
}

impl SkyMapFile {
    /// A map read, nothing prepared yet.
    fn new(map: SkyMap) -> SkyMapFile {
        SkyMapFile { map, sky: None, rot: None, volume: [None, None, None], plans: [None, None, None] }
    }
}

#[wasm_bindgen]
impl SkyMapFile {
    /// Reads a sky map (FITS, flat or multi-order, gzip or not).
    pub fn read(bytes: &[u8]) -> JsResult<SkyMapFile> {
        Ok(SkyMapFile::new(skymap::read(bytes).map_err(js_error)?))
    }

    /// The map in skysift's compact form (a few hundred kB where a flat map's FITS is hundreds of
    /// MB): the page's helper workers read this instead of the file.
    pub fn compact(&self) -> Vec<u8> {
        self.map.to_bytes()
    }

    /// Reads `compact`'s form back.
    #[wasm_bindgen(js_name = fromCompact)]
    pub fn from_compact(bytes: &[u8]) -> JsResult<SkyMapFile> {
        Ok(SkyMapFile::new(SkyMap::from_bytes(bytes).map_err(js_error)?))
    }

    /// Header facts and size: `{creator, object, date_obs, instruments, distmean, diststd,
    /// log_bci, log_bsn, ordering, nside, pixels, unusable}`; `unusable` is null when GWSkyNet
    /// can score the map, else the reason it cannot.
    pub fn meta(&self) -> JsResult<JsValue> {
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            meta: &'a skymap::Meta,
            pixels: usize,
            unusable: Option<String>,
        }
        let unusable = gwskynet::check_usable(&self.map).err().map(|e| e.to_string());
        to_js(&Out { meta: &self.map.meta, pixels: self.map.len(), unusable })
    }

    /// Step 1: the sky image (180 × 360, row 0 at declination −89.5°, column 0 at right
    /// ascension 359.5°, divided by its peak) and the inputs from the header.
    #[wasm_bindgen(js_name = prepareSky)]
    pub fn prepare_sky(&mut self) -> JsResult<Vec<f32>> {
        let sky = gwskynet::sky_inputs(&self.map).map_err(js_error)?;
        let image = sky.sky.clone();
        self.sky = Some(sky);
        Ok(image)
    }

    /// Step 2 (×3): volume image `face` (0, 1, 2): `{image, norm}`, the 262 × 262 image
    /// divided by its peak and the peak / the training norm. The page renders the faces in
    /// pieces in several workers instead (`renderVolumeRows`, `setVolumeRows`): the same values.
    #[wasm_bindgen(js_name = prepareVolume)]
    pub fn prepare_volume(&mut self, face: usize) -> JsResult<JsValue> {
        let raw = self.render_volume_rows(face, 0, gwskynet::VOLUME_SIZE)?;
        self.set_volume_rows(face, raw)
    }

    /// Step 2, in pieces: rows `start..end` of volume image `face` before normalisation (a
    /// Float64Array, 262 values a row). Workers may render pieces of one face apart; the whole
    /// face, put together, goes to `setVolumeRows`.
    #[wasm_bindgen(js_name = renderVolumeRows)]
    pub fn render_volume_rows(&mut self, face: usize, start: usize, end: usize) -> JsResult<Vec<f64>> {
        let max_distance = self.sky.as_ref().ok_or_else(|| js_error(Error::Option("prepare the sky image first".into())))?.max_distance;
        if self.rot.is_none() {
            self.rot = Some(crate::volume::principal_axes(&self.map).map_err(js_error)?);
        }
        let rot = self.rot.expect("set above");
        let renderer = crate::volume::Renderer::new(&self.map).map_err(js_error)?;
        // A face's plan costs 6–17% of its rendering: the page renders a face in pieces. (A face
        // that does not exist has no slot, and volume_face_plan says so.)
        let plan = match self.plans.get_mut(face).and_then(Option::take) {
            Some(plan) if plan.is_for(&rot, max_distance, crate::volume::FACES[face], gwskynet::VOLUME_SIZE) => plan,
            _ => gwskynet::volume_face_plan(&renderer, &rot, max_distance, face).map_err(js_error)?,
        };
        let rows = gwskynet::volume_planned_rows(&renderer, &plan, start..end);
        self.plans[face] = Some(plan);
        rows.map_err(js_error)
    }

    /// The whole of volume image `face` from `renderVolumeRows` pieces (262 × 262 values, row
    /// by row): normalised and kept, as `prepareVolume` makes it: `{image, norm}`.
    #[wasm_bindgen(js_name = setVolumeRows)]
    pub fn set_volume_rows(&mut self, face: usize, raw: Vec<f64>) -> JsResult<JsValue> {
        let (image, norm) = gwskynet::normalise_volume_face(face, &raw).map_err(js_error)?;
        let out = js_sys::Object::new();
        js_sys::Reflect::set(&out, &"image".into(), &js_sys::Float32Array::from(&image[..]))?;
        js_sys::Reflect::set(&out, &"norm".into(), &JsValue::from(norm))?;
        self.volume[face] = Some((image, norm));
        Ok(out.into())
    }

    /// A Mollweide view of the map (`width` × `height`, row 0 north, right ascension 180° in
    /// the middle growing to the left) with each cell's credible level: `{density, level
    /// (Float32Arrays, NaN outside the ellipse), area50, area90}` (areas in square degrees).
    #[wasm_bindgen(js_name = skyView)]
    pub fn sky_view(&self, width: usize, height: usize) -> JsResult<JsValue> {
        if width == 0 || height == 0 || width * height > 4_000_000 {
            return Err(js_error(Error::Option(format!("a sky view of {width} × {height} cells is not drawn (at most 4 000 000)"))));
        }
        let levels = skymap::credible_levels(&self.map);
        let (density, level) = skymap::mollweide(&self.map, &levels, width, height);
        let out = js_sys::Object::new();
        js_sys::Reflect::set(&out, &"density".into(), &js_sys::Float32Array::from(&density[..]))?;
        js_sys::Reflect::set(&out, &"level".into(), &js_sys::Float32Array::from(&level[..]))?;
        js_sys::Reflect::set(&out, &"area50".into(), &skymap::credible_area(&self.map, 0.5).into())?;
        js_sys::Reflect::set(&out, &"area90".into(), &skymap::credible_area(&self.map, 0.9).into())?;
        Ok(out.into())
    }

    /// The ten inputs, once every step ran, as Float32Arrays in the model's order (for
    /// `Engine.gwskynetScore`).
    pub fn inputs(&self) -> JsResult<js_sys::Array> {
        let not_ready = || js_error(Error::Option("prepare the sky image and the three volume images first".into()));
        let sky = self.sky.as_ref().ok_or_else(not_ready)?;
        let [a, b, c] = &self.volume;
        let inputs = gwskynet::assemble(sky, [a.as_ref().ok_or_else(not_ready)?, b.as_ref().ok_or_else(not_ready)?, c.as_ref().ok_or_else(not_ready)?]);
        Ok(inputs.named_arrays().into_iter().map(|(_, _, v)| JsValue::from(js_sys::Float32Array::from(&v[..]))).collect())
    }
}
