//! Compute backends. burn 0.22 picks the backend at run time through its `Device`: wgpu
//! (WebGPU in browsers, Vulkan/Metal natively) or flex, burn's pure-Rust CPU backend.
//! Choosing *whether* WebGPU is usable (feature detection, adapter info) is the page's job;
//! this module only opens the device it is asked for and checks that it computes right.

use crate::error::{Error, Result};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};

/// The backends skysift runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// burn-flex on the CPU (in the browser: wasm, one thread).
    Cpu,
    /// burn-wgpu: WebGPU in a browser, the native GPU API elsewhere.
    Webgpu,
}

impl Backend {
    pub fn named(name: &str) -> Result<Backend> {
        match name.to_ascii_lowercase().as_str() {
            "cpu" | "flex" => Ok(Backend::Cpu),
            "webgpu" | "wgpu" | "gpu" => Ok(Backend::Webgpu),
            other => Err(Error::Option(format!("unknown backend '{other}': use cpu or webgpu"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Webgpu => "webgpu",
        }
    }
}

pub fn cpu_device() -> Device {
    Device::flex()
}

/// Opens the wgpu device; in a browser this is the only way (synchronous set-up panics there).
pub async fn gpu_device_async() -> Result<Device> {
    Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| Error::Backend(format!("WebGPU could not be started: {e}")))
}

/// Opens the wgpu device natively (Vulkan, Metal, DX12).
#[cfg(not(target_family = "wasm"))]
pub fn gpu_device() -> Result<Device> {
    Device::wgpu_options().init().map_err(|e| Error::Backend(format!("no GPU backend could be started: {e}")))
}

/// Reads a tensor back. Always asynchronous: a synchronous readback panics on WebGPU.
pub async fn read_f32<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>> {
    let data = tensor.into_data_async().await.map_err(|e| Error::Backend(format!("reading results back failed: {e:?}")))?;
    data.convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Backend(format!("unexpected result type: {e:?}")))
}

/// Shapes of the self-check: a 3×3 convolution of a 2-channel 8×8 image into 3 channels,
/// and a 16×32 by 32×8 matrix product.
const X_SHAPE: [usize; 4] = [1, 2, 8, 8];
const W_SHAPE: [usize; 4] = [3, 2, 3, 3];
const A_SHAPE: [usize; 2] = [16, 32];
const B_SHAPE: [usize; 2] = [32, 8];

/// Deterministic, non-trivial test values.
fn wave(n: usize, phase: f32) -> Vec<f32> {
    (0..n).map(|i| ((i as f32) * 0.37 + phase).sin() * (1.0 + (i % 5) as f32 * 0.1)).collect()
}

fn inputs() -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
    (
        wave(X_SHAPE.iter().product(), 0.1),
        wave(W_SHAPE.iter().product(), 0.7),
        wave(W_SHAPE[0], 1.3),
        wave(A_SHAPE.iter().product(), 2.1),
        wave(B_SHAPE.iter().product(), 2.9),
    )
}

/// Results of the backend self-check.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SelfCheck {
    /// Convolution output, [1, 3, 8, 8] flattened.
    pub conv: Vec<f32>,
    /// Matrix product, [16, 8] flattened.
    pub matmul: Vec<f32>,
}

impl SelfCheck {
    /// Largest absolute difference between two checks.
    pub fn max_abs_diff(&self, other: &SelfCheck) -> f32 {
        self.conv
            .iter()
            .zip(&other.conv)
            .chain(self.matmul.iter().zip(&other.matmul))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max)
    }
}

/// Runs a convolution and a matmul on `device` and reads the results back.
pub async fn self_check(device: &Device) -> Result<SelfCheck> {
    let (x, w, bias, a, b) = inputs();
    let x = Tensor::<4>::from_data(TensorData::new(x, X_SHAPE), device);
    let w = Tensor::<4>::from_data(TensorData::new(w, W_SHAPE), device);
    let bias = Tensor::<1>::from_data(TensorData::new(bias, [W_SHAPE[0]]), device);
    let a = Tensor::<2>::from_data(TensorData::new(a, A_SHAPE), device);
    let b = Tensor::<2>::from_data(TensorData::new(b, B_SHAPE), device);
    let conv = conv2d(x, w, Some(bias), ConvOptions::new([1, 1], [1, 1], [1, 1], 1));
    let matmul = a.matmul(b);
    Ok(SelfCheck { conv: read_f32(conv).await?, matmul: read_f32(matmul).await? })
}

/// [`self_check`], waited for: for native callers.
#[cfg(not(target_family = "wasm"))]
pub fn self_check_blocking(device: &Device) -> Result<SelfCheck> {
    pollster::block_on(self_check(device))
}

/// The same computation in plain loops, as the ground truth for the backends.
pub fn self_check_reference() -> SelfCheck {
    let (x, w, bias, a, b) = inputs();
    let [_, c_in, h, wd] = X_SHAPE;
    let [c_out, _, kh, kw] = W_SHAPE;
    let mut conv = vec![0f32; c_out * h * wd];
    for o in 0..c_out {
        for y in 0..h {
            for xx in 0..wd {
                let mut s = bias[o];
                for c in 0..c_in {
                    for dy in 0..kh {
                        for dx in 0..kw {
                            let (iy, ix) = (y as isize + dy as isize - 1, xx as isize + dx as isize - 1);
                            if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd {
                                s += x[(c * h + iy as usize) * wd + ix as usize] * w[((o * c_in + c) * kh + dy) * kw + dx];
                            }
                        }
                    }
                }
                conv[(o * h + y) * wd + xx] = s;
            }
        }
    }
    let [m, k] = A_SHAPE;
    let n = B_SHAPE[1];
    let mut matmul = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            matmul[i * n + j] = (0..k).map(|q| a[i * k + q] * b[q * n + j]).sum();
        }
    }
    SelfCheck { conv, matmul }
}

#[cfg(all(test, not(target_family = "wasm")))]
mod tests {
    use super::*;

    #[test]
    fn cpu_backend_matches_plain_loops() {
        let got = self_check_blocking(&cpu_device()).unwrap();
        let want = self_check_reference();
        assert_eq!(got.conv.len(), want.conv.len());
        assert_eq!(got.matmul.len(), want.matmul.len());
        let diff = got.max_abs_diff(&want);
        assert!(diff < 1e-4, "max abs diff {diff}");
        // The check must be able to fail: a perturbed result is caught.
        let mut bad = want.clone();
        bad.conv[7] += 1e-3;
        assert!(bad.max_abs_diff(&want) > 1e-4);
    }

    #[test]
    fn backend_names() {
        assert_eq!(Backend::named("WebGPU").unwrap(), Backend::Webgpu);
        assert_eq!(Backend::named("cpu").unwrap(), Backend::Cpu);
        assert!(Backend::named("tpu").is_err());
    }
}
