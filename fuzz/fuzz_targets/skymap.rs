//! Any bytes as a sky-map file: read, then checked for GWSkyNet and its sky image made (the
//! volume images are left out: seconds per map would make the fuzzer crawl).
#![no_main]
use libfuzzer_sys::fuzz_target;
use skysift::{gwskynet, skymap};

fuzz_target!(|data: &[u8]| {
    let Ok(map) = skymap::read(data) else { return };
    if gwskynet::check_usable(&map).is_ok() {
        let _ = gwskynet::sky_inputs(&map);
    }
});
