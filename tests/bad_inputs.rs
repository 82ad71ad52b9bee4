//! The bad-input corpus (scripts/make_bad_inputs.py, written afresh into a temporary folder):
//! for every input the CLI exits non-zero with one line naming the file and the problem (the
//! manifest's pattern), and never panics; the inputs that are odd but fine are read.

use std::path::PathBuf;
use std::process::Command;

#[derive(serde::Deserialize)]
struct Case {
    file: String,
    kind: String,
    expect: String,
    ok: bool,
}

fn corpus() -> (PathBuf, Vec<Case>) {
    let dir = std::env::temp_dir().join(format!("skysift-bad-inputs-{}", std::process::id()));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/make_bad_inputs.py");
    let status = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())).arg(script).arg(&dir).arg("--big").status().expect("python3 runs");
    assert!(status.success(), "{script} failed");
    let manifest = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    (dir, serde_json::from_str(&manifest).unwrap())
}

#[test]
fn every_bad_input_gets_a_one_line_error() {
    let (dir, cases) = corpus();
    let exe = env!("CARGO_BIN_EXE_skysift");
    let mut checked = 0;
    for case in &cases {
        let commands: &[&str] = if case.kind == "skymap" { &["skymap", "explain"] } else { &["classify", "dmdt", "explain"] };
        for command in commands {
            let out = Command::new(exe).current_dir(&dir).args([command, case.file.as_str()]).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("panicked"), "{command} {}: a panic: {stderr}", case.file);
            if case.ok {
                assert!(out.status.success(), "{command} {}: should be read, got {stderr}", case.file);
                continue;
            }
            assert!(!out.status.success(), "{command} {}: should fail", case.file);
            let lines: Vec<&str> = stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{command} {}: one line expected, got {stderr}", case.file);
            let prefix = format!("skysift: error: {}: ", case.file);
            assert!(lines[0].starts_with(&prefix), "{command} {}: {}", case.file, lines[0]);
            let pattern = regex::RegexBuilder::new(&case.expect).case_insensitive(true).build().unwrap();
            assert!(pattern.is_match(&lines[0][prefix.len()..]), "{command} {}: '{}' does not match /{}/", case.file, lines[0], case.expect);
            eprintln!("{command:>8} {:<28} {}", case.file, &lines[0][prefix.len()..]);
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} checks");
    std::fs::remove_dir_all(&dir).ok();
}
