//! Partition (Owen) attributions over the pixels of an image, computed as shap 0.49's
//! `PartitionExplainer` does with its `Image` masker (the default `fixed_context=None`):
//!
//! - the pixels form a binary tree of boxes, each box split in half along its longest side
//!   (rows first on ties, channels last), as `shap.maskers.Image.build_partition_tree` does;
//! - starting from the whole image with every pixel masked (f00) and every pixel present (f11), a
//!   node is expanded by evaluating the model with its left half added (f10) and its right half
//!   added (f01); each half then goes on in both contexts, "sibling absent" and "sibling present",
//!   with half the weight, so that the node's f11 − f00 is shared exactly between its halves;
//! - nodes are expanded largest |Δf|·weight first until `max_evals` model runs are spent; what is
//!   left on a node is spread over its pixels in proportion to their number.
//!
//! So the values always add up to f(image) − f(all masked), whatever the budget. With a budget
//! big enough to expand the whole tree they are the Owen values of the tree's nested coalitions.
//! One deliberate difference: shap breaks ties between equal priorities at random; this breaks
//! them by the order nodes were queued, so that a result can be reproduced. Ties only happen
//! where priorities are equal to the last bit, e.g. regions where masking changes nothing (whose
//! values are then zero either way).
//!
//! The model is not called from here: [`OwenRun`] hands out batches of masks and takes their
//! outputs back, so that native and async (wasm) callers drive it alike, report progress and can
//! stop between batches.

use crate::error::{Error, Result};
use std::collections::BinaryHeap;

/// shap's default batch size for maskers that do not set one: the number of masked images per
/// model call. It also sets the order in which nodes are expanded, hence the result with a small
/// budget, so it is kept as shap has it by default.
pub const DEFAULT_BATCH_SIZE: usize = 10;
/// shap's default `max_evals` for the partition explainer.
pub const DEFAULT_MAX_EVALS: usize = 500;
/// The largest budget taken: the queue of nodes grows with it (about 100 bytes an evaluation).
pub const MAX_EVALS: usize = 1_000_000;
/// Images larger than this are not explained pixel by pixel (the tree takes ~80 bytes a pixel).
pub const MAX_PIXELS: usize = 4_000_000;

/// How a partition explanation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub masking: Masking,
    /// Model evaluations to spend (shap's `max_evals`).
    pub max_evals: usize,
    /// Masked images per model call (shap's batch size).
    pub batch_size: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options { masking: Masking::Zeros, max_evals: DEFAULT_MAX_EVALS, batch_size: DEFAULT_BATCH_SIZE }
    }
}

/// What stands in for a pixel that is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Masking {
    /// Zero: nothing there (the default).
    Zeros,
    /// The image blurred by a `width` × `height` box (shap's `"blur(width,height)"`).
    Blur { width: usize, height: usize },
}

impl Masking {
    /// "zeros", "blur:K" (a K × K box) or "blur:WxH".
    pub fn named(name: &str) -> Result<Masking> {
        let bad = || Error::Option(format!("masking '{name}': use zeros, blur:K or blur:WxH (box sizes in pixels)"));
        if name == "zeros" {
            return Ok(Masking::Zeros);
        }
        let size = name.strip_prefix("blur:").ok_or_else(bad)?;
        let (w, h) = size.split_once('x').unwrap_or((size, size));
        let (width, height) = (w.trim().parse().map_err(|_| bad())?, h.trim().parse().map_err(|_| bad())?);
        if width == 0 || height == 0 || width > 10_000 || height > 10_000 {
            return Err(bad());
        }
        Ok(Masking::Blur { width, height })
    }

    /// The masked version of `image` (channels last, `shape` rows × columns × channels).
    pub fn masked(&self, image: &[f32], shape: [usize; 3]) -> Vec<f32> {
        match *self {
            Masking::Zeros => vec![0.0; image.len()],
            Masking::Blur { width, height } => box_blur(image, shape, width, height),
        }
    }
}

/// The normalised box filter of OpenCV's `cv2.blur`, which shap's Image masker uses for
/// `"blur(width,height)"`: each pixel becomes the mean of a `width` × `height` box anchored at
/// its centre (offset `size / 2`), per channel, the image reflected at its borders without
/// repeating the edge pixel (OpenCV's default BORDER_REFLECT_101). Sums are kept in f64, as
/// OpenCV does for float images; the order of the additions differs, so results may differ
/// from OpenCV's in the last bits.
pub fn box_blur(image: &[f32], [rows, columns, channels]: [usize; 3], width: usize, height: usize) -> Vec<f32> {
    // OpenCV's borderInterpolate for BORDER_REFLECT_101.
    let reflect = |p: isize, n: usize| -> usize {
        let n = n as isize;
        if n == 1 {
            return 0;
        }
        let mut p = p;
        while p < 0 || p >= n {
            p = if p < 0 { -p } else { 2 * n - 2 - p };
        }
        p as usize
    };
    let at = |r: usize, c: usize, ch: usize| image[(r * columns + c) * channels + ch] as f64;
    // Along each row first, then along each column.
    let mut across = vec![0f64; image.len()];
    for r in 0..rows {
        for c in 0..columns {
            for ch in 0..channels {
                let first = c as isize - (width / 2) as isize;
                across[(r * columns + c) * channels + ch] = (0..width as isize).map(|k| at(r, reflect(first + k, columns), ch)).sum();
            }
        }
    }
    let mut out = vec![0f32; image.len()];
    let area = (width * height) as f64;
    for r in 0..rows {
        let first = r as isize - (height / 2) as isize;
        for c in 0..columns {
            for ch in 0..channels {
                let sum: f64 = (0..height as isize).map(|k| across[(reflect(first + k, rows) * columns + c) * channels + ch]).sum();
                out[(r * columns + c) * channels + ch] = (sum / area) as f32;
            }
        }
    }
    out
}

/// A box of pixels `[start, end)` along rows, columns and channels, and its two halves.
#[derive(Debug, Clone)]
struct Node {
    start: [usize; 3],
    end: [usize; 3],
    children: Option<(usize, usize)>,
}

impl Node {
    fn size(&self) -> usize {
        (0..3).map(|a| self.end[a] - self.start[a]).product()
    }
}

/// The binary partition of an image of `rows × columns × channels` pixels (channels last, as
/// shap's Image masker takes images). Node 0 is the whole image.
#[derive(Debug, Clone)]
pub struct ImagePartition {
    shape: [usize; 3],
    nodes: Vec<Node>,
}

impl ImagePartition {
    pub fn new(shape: [usize; 3]) -> Result<ImagePartition> {
        let pixels: usize = shape.iter().product();
        if pixels == 0 {
            return Err(Error::Value(format!("an image of {}×{}×{} pixels has nothing to explain", shape[0], shape[1], shape[2])));
        }
        if pixels > MAX_PIXELS {
            return Err(Error::Value(format!("images of more than {MAX_PIXELS} pixels are not explained pixel by pixel ({pixels} here)")));
        }
        let mut nodes = vec![Node { start: [0; 3], end: shape, children: None }];
        let mut k = 0;
        while k < nodes.len() {
            let (start, end) = (nodes[k].start, nodes[k].end);
            let width = [end[0] - start[0], end[1] - start[1], end[2] - start[2]];
            // shap: split rows if they are the longest side (ties go to rows), else columns,
            // and channels only once a box is one pixel wide.
            let axis = if width[0] >= width[1] && width[0] > 1 {
                0
            } else if width[1] > 1 {
                1
            } else if width[2] > 1 {
                2
            } else {
                k += 1;
                continue;
            };
            let mid = start[axis] + width[axis] / 2;
            let (mut left_end, mut right_start) = (end, start);
            left_end[axis] = mid;
            right_start[axis] = mid;
            let left = nodes.len();
            nodes.push(Node { start, end: left_end, children: None });
            nodes.push(Node { start: right_start, end, children: None });
            nodes[k].children = Some((left, left + 1));
            k += 1;
        }
        // shap numbers the leaves of this tree backwards (its `_jit_build_partition_tree` gives
        // the box of pixel p the mask of pixel M−1−p), so the tree it really uses is this one
        // mirrored along every axis: with an odd width the smaller half is at the far end.
        for node in &mut nodes {
            let (start, end) = (node.start, node.end);
            for a in 0..3 {
                node.start[a] = shape[a] - end[a];
                node.end[a] = shape[a] - start[a];
            }
        }
        Ok(ImagePartition { shape, nodes })
    }

    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    pub fn pixels(&self) -> usize {
        self.shape.iter().product()
    }

    /// The image with the pixels of the boxes in `present` taken from `x` and all others from
    /// `masked` (both channels-last, row-major), written into `out`.
    pub fn fill(&self, present: &[usize], x: &[f32], masked: &[f32], out: &mut [f32]) {
        out.copy_from_slice(masked);
        let [_, columns, channels] = self.shape;
        for &n in present {
            let node = &self.nodes[n];
            for r in node.start[0]..node.end[0] {
                for c in node.start[1]..node.end[1] {
                    let at = (r * columns + c) * channels;
                    out[at + node.start[2]..at + node.end[2]].copy_from_slice(&x[at + node.start[2]..at + node.end[2]]);
                }
            }
        }
    }

    /// Spreads what is left on each node over its pixels in proportion to their number, as
    /// shap's `lower_credit` does, into one value per pixel.
    fn lower_credit(&self, node_values: &[f64]) -> Vec<f64> {
        let mut pixels = vec![0.0; self.pixels()];
        let [_, columns, channels] = self.shape;
        let mut stack = vec![(0usize, 0.0f64)];
        while let Some((n, inherited)) = stack.pop() {
            let node = &self.nodes[n];
            let total = node_values[n] + inherited;
            match node.children {
                Some((l, r)) => {
                    let size = node.size() as f64;
                    stack.push((l, total * self.nodes[l].size() as f64 / size));
                    stack.push((r, total * self.nodes[r].size() as f64 / size));
                }
                None => pixels[(node.start[0] * columns + node.start[1]) * channels + node.start[2]] = total,
            }
        }
        pixels
    }
}

/// A node waiting to be expanded: `present` is its context (the boxes present besides it),
/// `f00`/`f11` the model's output without/with the node itself.
#[derive(Debug)]
struct Item {
    priority: f64,
    order: u64,
    node: usize,
    present: Vec<usize>,
    f00: f64,
    f11: f64,
    weight: f64,
}

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Item {
    /// Largest priority first; among equals, the first queued.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.priority.total_cmp(&other.priority).then(other.order.cmp(&self.order))
    }
}

/// A node expanded in the current batch: its masks are `2k` (left half added) and `2k + 1`.
#[derive(Debug)]
struct Expansion {
    item: Item,
    left: usize,
    right: usize,
}

/// Pixel attributions and what they add up to.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Attribution {
    /// Rows, columns, channels.
    pub shape: [usize; 3],
    /// One value per pixel, channels last, row-major: Σ values = value − base_value.
    pub values: Vec<f64>,
    /// The model's output with every pixel masked, and on the image itself.
    pub base_value: f64,
    pub value: f64,
    /// Model evaluations spent (with the two above).
    pub evals: usize,
    pub max_evals: usize,
}

/// One partition explanation in progress. Drive it with [`OwenRun::next_batch`] and
/// [`OwenRun::feed`] until `next_batch` gives `None`, then [`OwenRun::finish`].
#[derive(Debug)]
pub struct OwenRun<'a> {
    tree: &'a ImagePartition,
    max_evals: usize,
    batch_size: usize,
    queue: BinaryHeap<Item>,
    node_values: Vec<f64>,
    pending: Vec<Expansion>,
    queued: u64,
    evals: usize,
    base_value: f64,
    value: f64,
    done: bool,
}

impl<'a> OwenRun<'a> {
    /// Starts from the model's outputs with every pixel masked (`base_value`) and none
    /// (`value`): those two evaluations count towards `max_evals`, as in shap.
    pub fn new(tree: &'a ImagePartition, base_value: f64, value: f64, max_evals: usize, batch_size: usize) -> Result<OwenRun<'a>> {
        if !(2..=MAX_EVALS).contains(&max_evals) {
            return Err(Error::Option(format!("max_evals must be from 2 (the image and its masked version) to {MAX_EVALS}, not {max_evals}")));
        }
        if batch_size < 2 {
            return Err(Error::Option(format!("the batch size must be at least 2, not {batch_size}")));
        }
        if !base_value.is_finite() || !value.is_finite() {
            return Err(Error::Value("the model gave a value that is not finite".into()));
        }
        let mut queue = BinaryHeap::new();
        queue.push(Item { priority: 0.0, order: 0, node: 0, present: Vec::new(), f00: base_value, f11: value, weight: 1.0 });
        Ok(OwenRun {
            tree,
            max_evals: max_evals - 2,
            batch_size,
            queue,
            node_values: vec![0.0; tree.nodes.len()],
            pending: Vec::new(),
            queued: 1,
            evals: 0,
            base_value,
            value,
            done: false,
        })
    }

    /// Model evaluations so far, counting the first two.
    pub fn evals(&self) -> usize {
        self.evals + 2
    }

    /// The next masks to evaluate, each the list of boxes present (see [`ImagePartition::fill`]),
    /// or `None` when the explanation is complete.
    pub fn next_batch(&mut self) -> Option<Vec<Vec<usize>>> {
        assert!(self.pending.is_empty(), "feed the previous batch's outputs first");
        if self.done {
            return None;
        }
        if self.evals >= self.max_evals {
            // Out of budget: what is left on the queued nodes stays on them.
            while let Some(item) = self.queue.pop() {
                self.node_values[item.node] += (item.f11 - item.f00) * item.weight;
            }
        }
        let mut masks = Vec::new();
        while masks.len() < self.batch_size && self.evals + masks.len() < self.max_evals {
            let Some(item) = self.queue.pop() else { break };
            match self.tree.nodes[item.node].children {
                None => self.node_values[item.node] += (item.f11 - item.f00) * item.weight,
                Some((left, right)) => {
                    let mut with_left = item.present.clone();
                    with_left.push(left);
                    let mut with_right = item.present.clone();
                    with_right.push(right);
                    masks.push(with_left);
                    masks.push(with_right);
                    self.pending.push(Expansion { item, left, right });
                }
            }
        }
        if masks.is_empty() {
            self.done = true;
            self.queue.clear();
            return None;
        }
        Some(masks)
    }

    /// The model's outputs for the masks `next_batch` gave, in order.
    pub fn feed(&mut self, outputs: &[f64]) -> Result<()> {
        if outputs.len() != 2 * self.pending.len() {
            return Err(Error::Value(format!("expected {} model outputs, got {}", 2 * self.pending.len(), outputs.len())));
        }
        if outputs.iter().any(|v| !v.is_finite()) {
            self.pending.clear();
            return Err(Error::Value("the model gave a value that is not finite".into()));
        }
        self.evals += outputs.len();
        for (k, Expansion { item, left, right }) in std::mem::take(&mut self.pending).into_iter().enumerate() {
            let (f10, f01) = (outputs[2 * k], outputs[2 * k + 1]);
            let weight = item.weight / 2.0;
            let mut with_left = item.present.clone();
            with_left.push(left);
            let mut with_right = item.present.clone();
            with_right.push(right);
            // Each half with its sibling absent, then with it present (shap's order).
            self.push(left, item.present.clone(), item.f00, f10, weight);
            self.push(right, item.present, item.f00, f01, weight);
            self.push(left, with_right, f01, item.f11, weight);
            self.push(right, with_left, f10, item.f11, weight);
        }
        Ok(())
    }

    fn push(&mut self, node: usize, present: Vec<usize>, f00: f64, f11: f64, weight: f64) {
        let priority = (f11 - f00).abs() * weight;
        self.queue.push(Item { priority, order: self.queued, node, present, f00, f11, weight });
        self.queued += 1;
    }

    pub fn finish(self) -> Attribution {
        Attribution {
            shape: self.tree.shape,
            values: self.tree.lower_credit(&self.node_values),
            base_value: self.base_value,
            value: self.value,
            evals: self.evals + 2,
            max_evals: self.max_evals + 2,
        }
    }
}

/// Runs a whole partition explanation: `model` takes a batch of images (each `pixels` values,
/// channels last) and gives one output per image; `progress` hears (evaluations done, budget)
/// after every batch.
pub async fn explain_image_async(
    tree: &ImagePartition,
    x: &[f32],
    masked: &[f32],
    max_evals: usize,
    batch_size: usize,
    mut model: impl AsyncFnMut(Vec<Vec<f32>>) -> Result<Vec<f64>>,
    mut progress: impl FnMut(usize, usize),
) -> Result<Attribution> {
    let n = tree.pixels();
    if x.len() != n || masked.len() != n {
        return Err(Error::Value(format!("the image has {} values and its masked version {}, the partition {n}", x.len(), masked.len())));
    }
    let ends = model(vec![masked.to_vec(), x.to_vec()]).await?;
    let mut run = OwenRun::new(tree, ends[0], ends[1], max_evals, batch_size)?;
    while let Some(masks) = run.next_batch() {
        let images: Vec<Vec<f32>> = masks
            .iter()
            .map(|present| {
                let mut image = vec![0f32; n];
                tree.fill(present, x, masked, &mut image);
                image
            })
            .collect();
        run.feed(&model(images).await?)?;
        progress(run.evals(), max_evals);
    }
    Ok(run.finish())
}

/// [`explain_image_async`] with a blocking model, for native callers and tests.
#[cfg(not(target_family = "wasm"))]
pub fn explain_image(
    tree: &ImagePartition,
    x: &[f32],
    masked: &[f32],
    max_evals: usize,
    batch_size: usize,
    mut model: impl FnMut(&[Vec<f32>]) -> Result<Vec<f64>>,
) -> Result<Attribution> {
    pollster::block_on(explain_image_async(tree, x, masked, max_evals, batch_size, async |images| model(&images), |_, _| {}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sigmoid(t: f64) -> f64 {
        1.0 / (1.0 + (-t).exp())
    }

    #[test]
    fn the_tree_splits_like_shaps_image_masker() {
        let tree = ImagePartition::new([3, 4, 2]).unwrap();
        assert_eq!(tree.nodes.len(), 2 * 24 - 1);
        // 3×4: columns are longer, split them first; then 3×2 splits rows into 1 and 2, the
        // single row last (shap's mirrored numbering).
        let (l, r) = tree.nodes[0].children.unwrap();
        assert_eq!((tree.nodes[l].start, tree.nodes[l].end), ([0, 2, 0], [3, 4, 2]));
        assert_eq!((tree.nodes[r].start, tree.nodes[r].end), ([0, 0, 0], [3, 2, 2]));
        let (ll, lr) = tree.nodes[l].children.unwrap();
        assert_eq!((tree.nodes[ll].start, tree.nodes[ll].end), ([2, 2, 0], [3, 4, 2]));
        assert_eq!((tree.nodes[lr].start, tree.nodes[lr].end), ([0, 2, 0], [2, 4, 2]));
        assert!(ImagePartition::new([0, 4, 1]).is_err());
    }

    #[test]
    fn fill_takes_present_boxes_from_the_image() {
        let tree = ImagePartition::new([2, 2, 1]).unwrap();
        let (l, _) = tree.nodes[0].children.unwrap();
        let mut out = vec![0f32; 4];
        tree.fill(&[l], &[1.0, 2.0, 3.0, 4.0], &[0.0; 4], &mut out);
        assert_eq!(out, [0.0, 0.0, 3.0, 4.0]);
    }

    /// A non-additive model of a 4 × 6 × 2 image.
    fn toy(image: &[f32]) -> f64 {
        let s: f64 = image.iter().enumerate().map(|(i, &v)| v as f64 * ((i as f64) * 0.7).sin()).sum();
        let t: f64 = image.iter().step_by(3).map(|&v| v as f64).product();
        sigmoid(s) + 0.5 * t
    }

    #[test]
    fn values_add_up_whatever_the_budget() {
        let tree = ImagePartition::new([4, 6, 2]).unwrap();
        let x: Vec<f32> = (0..48).map(|i| 0.5 + (i as f32 * 0.37).cos()).collect();
        let masked = vec![0f32; 48];
        for max_evals in [2, 3, 10, 51, 500, 5000] {
            let a = explain_image(&tree, &x, &masked, max_evals, DEFAULT_BATCH_SIZE, |b| Ok(b.iter().map(|i| toy(i)).collect())).unwrap();
            assert!(a.evals <= max_evals + 1, "{} evals for a budget of {max_evals}", a.evals);
            let sum: f64 = a.values.iter().sum();
            assert!((sum - (a.value - a.base_value)).abs() < 1e-12, "budget {max_evals}: {sum} vs {}", a.value - a.base_value);
        }
    }

    #[test]
    fn two_pixels_get_their_shapley_values() {
        // With two players the Owen value is the Shapley value.
        let tree = ImagePartition::new([1, 2, 1]).unwrap();
        let f = |i: &[f32]| (i[0] as f64) * 3.0 + (i[1] as f64) + (i[0] * i[1]) as f64 * 2.0;
        let a = explain_image(&tree, &[1.0, 1.0], &[0.0, 0.0], 100, 10, |b| Ok(b.iter().map(|i| f(i)).collect())).unwrap();
        assert!((a.values[0] - 4.0).abs() < 1e-12 && (a.values[1] - 2.0).abs() < 1e-12, "{:?}", a.values);
    }

    #[test]
    fn pixels_the_model_ignores_get_nothing() {
        let tree = ImagePartition::new([8, 8, 1]).unwrap();
        let x: Vec<f32> = (0..64).map(|i| i as f32 / 64.0).collect();
        // Only the top-left 4 × 4 quarter matters.
        let f = |i: &[f32]| sigmoid((0..4).flat_map(|r| (0..4).map(move |c| r * 8 + c)).map(|k| i[k] as f64).sum::<f64>() - 2.0);
        let a = explain_image(&tree, &x, &[0.0; 64], 5000, 10, |b| Ok(b.iter().map(|i| f(i)).collect())).unwrap();
        for r in 0..8 {
            for c in 0..8 {
                if r >= 4 || c >= 4 {
                    assert_eq!(a.values[r * 8 + c], 0.0, "pixel {r},{c}");
                }
            }
        }
    }

    #[test]
    fn a_model_giving_nan_is_an_error() {
        let tree = ImagePartition::new([2, 2, 1]).unwrap();
        let r = explain_image(&tree, &[1.0; 4], &[0.0; 4], 100, 10, |b| Ok(b.iter().map(|i| if i[0] == 1.0 && i[3] == 0.0 { f64::NAN } else { 1.0 }).collect()));
        assert!(r.is_err());
    }

    #[test]
    fn box_blur_is_opencvs() {
        // cv2.blur(np.arange(20, dtype=np.float32).reshape(5, 4), (3, 2)), printed by OpenCV 4.12.
        let image: Vec<f32> = (0..20).map(|v| v as f32).collect();
        let want = [
            2.6666667, 3.0, 4.0, 4.3333335, 2.6666667, 3.0, 4.0, 4.3333335, 6.6666665, 7.0, 8.0, 8.333333, 10.666667, 11.0, 12.0,
            12.333333, 14.666667, 15.0, 16.0, 16.333334,
        ];
        let got = box_blur(&image, [5, 4, 1], 3, 2);
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "{got:?}");
        }
        assert_eq!(Masking::named("blur:16").unwrap(), Masking::Blur { width: 16, height: 16 });
        assert_eq!(Masking::named("blur:8x4").unwrap(), Masking::Blur { width: 8, height: 4 });
        assert!(Masking::named("blur:0").is_err() && Masking::named("mean").is_err());
    }
}
