//! The page renders a volume image in bands of rows in several workers and puts them together:
//! that must be the whole face, exactly (on the project's own example map, so no shared data).
use skysift::{gwskynet, skymap, volume};

#[test]
fn bands_of_rows_put_together_are_the_whole_face() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/www/examples/simulated-bbh.fits.gz");
    let map = skymap::read(&std::fs::read(path).expect("the example map")).expect("readable");
    let sky = gwskynet::sky_inputs(&map).expect("sky inputs");
    let rot = volume::principal_axes(&map).expect("axes");
    let renderer = volume::Renderer::new(&map).expect("renderer");
    for face in 0..3 {
        let whole = gwskynet::volume_face_rows(&renderer, &rot, sky.max_distance, face, 0..gwskynet::VOLUME_SIZE).unwrap();
        let mut pieces = Vec::new();
        for (start, end) in [(0, 65), (65, 131), (131, 200), (200, 262)] {
            let rows = gwskynet::volume_face_rows(&renderer, &rot, sky.max_distance, face, start..end).unwrap();
            assert_eq!(rows.len(), (end - start) * gwskynet::VOLUME_SIZE);
            pieces.extend(rows);
        }
        assert!(whole.iter().any(|&v| v > 0.0));
        assert_eq!(pieces, whole, "face {face}");
        assert_eq!(gwskynet::normalise_volume_face(face, &pieces).unwrap(), gwskynet::volume_face(&renderer, &rot, sky.max_distance, face).unwrap());
    }
    // Rows that are not rows of the image are refused with a reason.
    let err = gwskynet::volume_face_rows(&renderer, &rot, sky.max_distance, 0, 250..300).unwrap_err();
    assert!(err.to_string().contains("not rows"), "{err}");
    assert!(gwskynet::normalise_volume_face(0, &[1.0; 10]).is_err());
}
