//! Brings in GWSkyNet II at build time: the model file is GPL-2.0+ and is not committed. It
//! comes from the pinned PyPI package `gwskynet` 2.6.0 (downloaded once with pip into a cache
//! outside the clone), is checked against known sha256 digests, and is converted by burn-onnx
//! into Rust code with the weights embedded.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const PACKAGE: &str = "gwskynet==2.6.0";
const WHEEL: &str = "gwskynet-2.6.0-py3-none-any.whl";
const WHEEL_SHA256: &str = "42f72a6de198df7b8027817952c7da4a091557d86a877ff1945f67bf5c0a52c7";
const ONNX_IN_WHEEL: &str = "GWSkyNet/GWSkyNet_data/models/GWSkyNet_v2.6.0.onnx";
const ONNX_SHA256: &str = "c21a0128b5c06f785914564a89f867fdbd951991e5975b7409f4b9f93767a12d";
const NORMS_IN_WHEEL: &str = "GWSkyNet/GWSkyNet_data/models/training_norms.txt";
const RATES_IN_WHEEL: &str = "GWSkyNet/GWSkyNet_data/rates/GWSkyNet_v2.6.0_rates.txt";

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn cache_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("SKYSIFT_MODEL_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
    Path::new(&home).join(".cache/skysift/models")
}

fn fail(message: &str) -> ! {
    panic!("\n\nskysift build: {message}\n\n");
}

/// The wheel from PyPI, downloaded once; its digest is checked every time.
fn wheel() -> Vec<u8> {
    let dir = cache_dir();
    let path = dir.join(WHEEL);
    if !path.exists() {
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", dir.display())));
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let status = Command::new(&python)
            .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check", "-q", PACKAGE, "-d"])
            .arg(&dir)
            .status();
        match status {
            Ok(s) if s.success() && path.exists() => {}
            _ => fail(&format!(
                "GWSkyNet's model comes from the PyPI package {PACKAGE}, fetched with `{python} -m pip download`, \
                 which failed. Put {WHEEL} in {} (or set SKYSIFT_MODEL_CACHE) and build again.",
                dir.display()
            )),
        }
    }
    let bytes = std::fs::read(&path).unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", path.display())));
    let digest = sha256(&bytes);
    if digest != WHEEL_SHA256 {
        fail(&format!("{} has sha256 {digest}, expected {WHEEL_SHA256}: delete it and build again", path.display()));
    }
    bytes
}

fn extract(archive: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str) -> Vec<u8> {
    let mut file = archive.by_name(name).unwrap_or_else(|e| fail(&format!("{WHEEL} has no {name}: {e}")));
    let mut out = Vec::new();
    file.read_to_end(&mut out).unwrap_or_else(|e| fail(&format!("cannot unpack {name}: {e}")));
    out
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SKYSIFT_MODEL_CACHE");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dir = out.join("gwskynet");
    std::fs::create_dir_all(&dir).expect("OUT_DIR is writable");

    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(wheel())).unwrap_or_else(|e| fail(&format!("{WHEEL} is not a zip: {e}")));
    let onnx = extract(&mut archive, ONNX_IN_WHEEL);
    let digest = sha256(&onnx);
    if digest != ONNX_SHA256 {
        fail(&format!("the ONNX model has sha256 {digest}, expected {ONNX_SHA256}"));
    }
    std::fs::write(dir.join("gwskynet.onnx"), &onnx).expect("OUT_DIR is writable");
    std::fs::write(dir.join("training_norms.txt"), extract(&mut archive, NORMS_IN_WHEEL)).expect("OUT_DIR is writable");
    std::fs::write(dir.join("rates.txt"), extract(&mut archive, RATES_IN_WHEEL)).expect("OUT_DIR is writable");

    burn_onnx::ModelGen::new()
        .input(dir.join("gwskynet.onnx").to_str().expect("OUT_DIR is UTF-8"))
        .out_dir("gwskynet/")
        .load_strategy(burn_onnx::LoadStrategy::Embedded)
        .run_from_script();
    add_logit_forward(&dir.join("gwskynet.rs"));
}

/// Explanations need the model's logit, the input of its final sigmoid: this appends
/// `forward_logit`, a copy of the generated `forward` that stops before the sigmoid. Checked here,
/// so that a change in burn-onnx's output fails the build instead of explaining the wrong thing.
fn add_logit_forward(path: &std::path::Path) {
    let code = std::fs::read_to_string(path).unwrap_or_else(|e| fail(&format!("cannot read the generated model: {e}")));
    let start = code.find("    pub fn forward(").unwrap_or_else(|| fail("the generated model has no forward()"));
    let tail = "        let sigmoid1_out1 = burn::tensor::activation::sigmoid(linear11_out1);\n        sigmoid1_out1\n    }";
    let end = code[start..].find(tail).map(|k| start + k).unwrap_or_else(|| fail("the generated forward() does not end in sigmoid(linear11)"));
    let body = code[start..end].replacen("pub fn forward(", "pub fn forward_logit(", 1);
    // And the ten branch outputs that the last layer concatenates, plus that layer alone: the
    // explanations mix branches of two maps without running the convolutions again.
    let cat = body.find("        let concat1_out1 = burn::tensor::Tensor::cat(").unwrap_or_else(|| fail("the generated forward() has no concat1"));
    let parts_open = body[cat..].find('[').map(|k| cat + k).unwrap_or_else(|| fail("concat1 has no list"));
    let parts_close = body[parts_open..].find(']').map(|k| parts_open + k).unwrap_or_else(|| fail("concat1 has no list"));
    let parts = body[parts_open..=parts_close].to_string();
    // src/gwskynet.rs (`BRANCH_OF_INPUT`) maps the model's inputs to these parts.
    let names: Vec<&str> = parts.trim_matches(['[', ']']).split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
    let expected = ["relu12_out1", "relu16_out1", "input_3", "relu10_out1", "relu9_out1", "relu8_out1", "relu7_out1", "relu6_out1", "relu5_out1", "relu4_out1"];
    if names != expected {
        fail(&format!("the generated model concatenates {names:?}, not the branches src/gwskynet.rs expects"));
    }
    let branches = body[..cat].replacen("pub fn forward_logit(", "pub fn forward_branches(", 1).replacen(") -> Tensor<2> {", ") -> Vec<Tensor<2>> {", 1);
    // The two image branches alone: partition explanations mask one image many times and the
    // rest of the model does not change.
    let volume_branch = branch_alone(&body[..cat], "forward_volume_branch", "input_2", "Tensor<4>", "relu12_out1");
    let sky_branch = branch_alone(&body[..cat], "forward_sky_branch", "input_1", "Tensor<4>", "relu16_out1");
    let extra = format!(
        "\nimpl Model {{\n    /// `forward` without the final sigmoid (added by skysift's build.rs).\n{body}        linear11_out1\n    }}\n\n    \
         /// The volume images' branch alone (added by skysift's build.rs).\n{volume_branch}\n    \
         /// The sky image's branch alone (added by skysift's build.rs).\n{sky_branch}\n    \
         /// The ten branch outputs in the order the last layer concatenates them (added by skysift's build.rs).\n{branches}        {parts}.into()\n    }}\n\n    \
         /// The last layer alone, on concatenated branch outputs: the logit (added by skysift's build.rs).\n    \
         pub fn logit_from_branches(&self, concat: Tensor<2>) -> Tensor<2> {{\n        self.linear11.forward(concat)\n    }}\n}}\n"
    );
    std::fs::write(path, code + &extra).unwrap_or_else(|e| fail(&format!("cannot write the generated model: {e}")));
}

/// A function computing `output` from `input` alone: the statements of the generated forward()
/// (one `let name = expression;` a line) that `output` depends on. Fails the build if `output`
/// needs any other input.
fn branch_alone(forward: &str, name: &str, input: &str, input_type: &str, output: &str) -> String {
    let statements: Vec<(&str, &str)> = forward
        .lines()
        .filter_map(|line| line.trim().strip_prefix("let ")?.split_once(" = "))
        .collect();
    let defined: std::collections::HashSet<&str> = statements.iter().map(|(n, _)| *n).collect();
    let mut needed = std::collections::HashSet::from([output]);
    let mut kept = Vec::new();
    for (target, expression) in statements.iter().rev() {
        if !needed.contains(target) {
            continue;
        }
        for token in expression.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if token.starts_with("input_") && token != input {
                fail(&format!("{output} depends on {token} as well as {input}"));
            }
            if defined.contains(token) {
                needed.insert(token);
            }
        }
        kept.push(format!("        let {target} = {expression}\n"));
    }
    if kept.is_empty() {
        fail(&format!("the generated forward() does not compute {output}"));
    }
    kept.reverse();
    format!("    pub fn {name}(&self, {input}: {input_type}) -> Tensor<2> {{\n{}        {output}\n    }}\n", kept.concat())
}
