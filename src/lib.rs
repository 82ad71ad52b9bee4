//! skysift: classify astronomical data in the browser, explain each prediction.
//!
//! The core is plain Rust, tested natively: [`lightcurve`] reads light curves, [`dmdt`]
//! turns them into dm–dt images, [`gwskynet`] scores GW sky maps, [`compute`] opens the burn
//! backends (WebGPU or CPU).
//! The wasm-bindgen facade (`wasm`, built for `wasm32` only) is the one place where JS
//! types appear; the native CLI (`src/main.rs`) uses the same core.

pub mod classifier;
pub mod compute;
pub mod dmdt;
pub mod eigh3;
pub mod error;
pub mod explain;
pub mod gwskynet;
pub mod lightcurve;
pub mod partition;
pub mod period;
pub mod skymap;
pub mod volume;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use error::{Error, Result};

/// The crate version, shown by the CLI and the page.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
