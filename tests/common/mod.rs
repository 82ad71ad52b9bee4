//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared real data ($SKYSIFT_DATA, default ../shared/data beside the clone), if present.
pub fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var("SKYSIFT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("shared data not found at {} (set SKYSIFT_DATA): test skipped", dir.display());
        None
    }
}

/// The arrays arr_0, arr_1, ... of a .npz file, flattened, as f32.
pub fn read_npz(path: &std::path::Path) -> Vec<Vec<f32>> {
    let mut archive = npyz::npz::NpzArchive::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    for k in 0.. {
        match archive.by_name(&format!("arr_{k}")).unwrap() {
            Some(npy) => out.push(npy.into_vec::<f32>().unwrap()),
            None => break,
        }
    }
    out
}
