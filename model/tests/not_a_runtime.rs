//! A library that is not ONNX Runtime (or too old a one) is an error that
//! names the fix, not a panic. (Its own process: the runtime loads once.)

#[test]
fn a_foreign_library_names_the_fix() {
    let foreign = "/lib/x86_64-linux-gnu/libm.so.6";
    if !std::path::Path::new(foreign).exists() {
        // Only on other platforms; the missing-library test covers the rest.
        return;
    }
    // SAFETY: set before any other thread of this test binary reads the environment.
    unsafe { std::env::set_var("ORT_DYLIB_PATH", foreign) };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pricing.onnx");
    let err = model::OnnxModel::load(&path, 1)
        .err()
        .expect("not ONNX Runtime")
        .to_string();
    assert!(err.contains("OrtGetApiBase"), "{err}");
    assert!(err.contains("scripts/install-ort"), "{err}");
}
