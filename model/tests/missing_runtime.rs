//! Without the ONNX Runtime library, loading a model is an error that says
//! what to run — never a panic. (Its own test binary: the runtime is loaded
//! once per process.)

#[test]
fn a_missing_library_names_the_fix() {
    // SAFETY: set before any other thread of this test binary reads the environment.
    unsafe { std::env::set_var("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so") };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pricing.onnx");
    let err = model::OnnxModel::load(&path, 1)
        .err()
        .expect("no runtime")
        .to_string();
    assert!(err.contains("/nonexistent/libonnxruntime.so"), "{err}");
    assert!(err.contains("scripts/install-ort"), "{err}");
    assert!(err.contains("ORT_DYLIB_PATH"), "{err}");
}
