//! ONNX Runtime backend (`ort`, loading the shared library at run time).
//!
//! The library comes from the pinned `onnxruntime` wheel (`scripts/install-ort`
//! puts it under `.ort/`), found from the executable's location, never the
//! working directory; `ORT_DYLIB_PATH` (absolute) overrides. A missing or too old
//! library is an error that says what to run, never a panic.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ndarray::Array2;
use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;
use pipeline::{FEATURE_COUNT, FeatureRecord, ModelError, PriceModel};

use crate::contract;

/// The ONNX Runtime release the project pins (the wheel's version).
pub const ORT_VERSION: &str = "1.24.4";
/// Where `scripts/install-ort` puts the library, relative to the repository.
pub const BUNDLED_DYLIB: &str = ".ort/wheel/onnxruntime/capi/libonnxruntime.so.1.24.4";
const FIX: &str = "run `scripts/install-ort` (it installs the onnxruntime 1.24.4 wheel under .ort/), or set ORT_DYLIB_PATH to a libonnxruntime.so of version 1.24 or newer";

#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    #[error("{path}: {message}")]
    Model { path: PathBuf, message: String },
}

/// The library to load: `ORT_DYLIB_PATH` (an absolute path), else the
/// pinned library beside the executable or under `.ort/` in a directory
/// above it (a checkout's `target/release/`). Never a path relative to the
/// working directory: whoever can write there would choose the code loaded.
pub fn dylib_path() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().ok();
    search(std::env::var_os("ORT_DYLIB_PATH"), exe.as_deref())
}

fn search(env: Option<std::ffi::OsString>, exe: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = env {
        let p = PathBuf::from(p);
        if !p.is_absolute() {
            return Err(format!(
                "ORT_DYLIB_PATH={} is relative; give an absolute path (e.g. \"$PWD/{}\")",
                p.display(),
                p.display()
            ));
        }
        return Ok(p);
    }
    let Some(dir) = exe.and_then(Path::parent).filter(|d| d.is_absolute()) else {
        return Err(format!(
            "cannot locate the executable to find the library beside it: {FIX}"
        ));
    };
    let file = Path::new(BUNDLED_DYLIB)
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_default();
    let mut candidates = vec![dir.join(&file)];
    candidates.extend(dir.ancestors().map(|d| d.join(BUNDLED_DYLIB)));
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .ok_or_else(|| {
            format!(
                "library not found beside {} or in a .ort/ above it: {FIX}",
                dir.display()
            )
        })
}

static RUNTIME: OnceLock<Result<Environment, String>> = OnceLock::new();

/// Loads ONNX Runtime once per process, with errors that name the fix.
pub fn runtime() -> Result<&'static Environment, OnnxError> {
    RUNTIME
        .get_or_init(|| {
            let path = dylib_path()?;
            if !path.exists() {
                return Err(format!("library not found at {}: {FIX}", path.display()));
            }
            let builder = ort::init_from(&path).map_err(|e| format!("{e}: {FIX}"))?;
            builder
                .with_name("pricestream")
                .with_telemetry(false)
                .build()
                .map_err(|e| format!("cannot start: {e}"))
        })
        .as_ref()
        .map_err(|e| OnnxError::Runtime(e.clone()))
}

/// A model in an ONNX file whose metadata carries the feature contract.
pub struct OnnxModel {
    session: Session,
    input: String,
    version: String,
    batch: Vec<f32>,
}

impl OnnxModel {
    /// Loads and checks a model: its metadata must list the pipeline's features.
    pub fn load(path: &Path, intra_threads: usize) -> Result<OnnxModel, OnnxError> {
        let env = runtime()?;
        let bad = |message: String| OnnxError::Model {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
        let session = Session::builder(env)
            .and_then(|b| {
                b.with_optimization_level(GraphOptimizationLevel::All)
                    .map_err(Into::into)
            })
            .and_then(|b| {
                b.with_intra_threads(intra_threads.max(1))
                    .map_err(Into::into)
            })
            .and_then(|mut b| b.commit_from_memory(&bytes))
            .map_err(|e| bad(format!("not a usable ONNX model: {e}")))?;
        let meta = session.metadata().map_err(|e| bad(e.to_string()))?;
        let names = meta.custom(contract::FEATURES_KEY).ok_or_else(|| {
            bad(format!(
                "no `{}` metadata: export the model with model/train/train.py",
                contract::FEATURES_KEY
            ))
        })?;
        let features_version = meta.custom(contract::VERSION_KEY).unwrap_or_default();
        contract::check(&contract::parse_names(&names), &features_version).map_err(bad)?;
        let model_version = meta.custom("pricestream.model_version").unwrap_or_default();
        drop(meta);
        let input = match session.inputs() {
            [one] => one.name().to_string(),
            other => {
                return Err(bad(format!(
                    "expected one input (features), found {}",
                    other.len()
                )));
            }
        };
        if session.outputs().is_empty() {
            return Err(bad("the model has no output".into()));
        }
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let digest = xxhash_rust::xxh3::xxh3_64(&bytes);
        Ok(OnnxModel {
            session,
            input,
            version: format!(
                "onnx:{file}@{digest:016x}{}",
                if model_version.is_empty() {
                    String::new()
                } else {
                    format!(" ({model_version})")
                }
            ),
            batch: Vec::new(),
        })
    }

    /// Raw inference on a row-major [n × FEATURE_COUNT] matrix.
    pub fn infer(&mut self, rows: usize, features: &[f32]) -> Result<Vec<f32>, ModelError> {
        let view = ndarray::ArrayView2::from_shape((rows, FEATURE_COUNT), features)
            .map_err(|e| ModelError::fatal(format!("bad batch shape: {e}")))?;
        let tensor =
            TensorRef::from_array_view(view).map_err(|e| ModelError::fatal(e.to_string()))?;
        let outputs = self
            .session
            .run(ort::inputs![self.input.as_str() => tensor])
            .map_err(|e| ModelError::fatal(format!("inference failed: {e}")))?;
        let (_, values) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(|e| ModelError::fatal(format!("unexpected output: {e}")))?;
        if values.len() != rows {
            return Err(ModelError::fatal(format!(
                "the model returned {} values for {rows} rows",
                values.len()
            )));
        }
        Ok(values.to_vec())
    }
}

impl PriceModel for OnnxModel {
    fn version(&self) -> &str {
        &self.version
    }

    fn predict(&mut self, records: &[FeatureRecord]) -> Result<Vec<f32>, ModelError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        batch.extend(records.iter().flat_map(|r| r.features));
        let out = self.infer(records.len(), &batch);
        self.batch = batch;
        out
    }
}

/// Feature matrix of a batch (row-major), for callers that run inference directly.
pub fn feature_matrix(records: &[FeatureRecord]) -> Array2<f32> {
    let flat: Vec<f32> = records.iter().flat_map(|r| r.features).collect();
    Array2::from_shape_vec((records.len(), FEATURE_COUNT), flat)
        .unwrap_or_else(|_| Array2::zeros((0, FEATURE_COUNT)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_is_found_from_the_executable_not_the_working_directory() {
        let root = tempfile::tempdir().unwrap();
        let exe = root.path().join("target/release/pricestream");
        let lib = root.path().join(BUNDLED_DYLIB);
        std::fs::create_dir_all(lib.parent().unwrap()).unwrap();
        std::fs::write(&lib, b"").unwrap();
        assert_eq!(search(None, Some(&exe)), Ok(lib.clone()));
        // Beside the executable wins over the checkout's .ort/.
        let beside = exe.with_file_name("libonnxruntime.so.1.24.4");
        std::fs::create_dir_all(beside.parent().unwrap()).unwrap();
        std::fs::write(&beside, b"").unwrap();
        assert_eq!(search(None, Some(&exe)), Ok(beside));
        // A relative executable path (no anchor) finds nothing.
        assert!(search(None, Some(Path::new("target/release/pricestream"))).is_err());
    }

    #[test]
    fn ort_dylib_path_must_be_absolute() {
        let err = search(Some("lib/libonnxruntime.so".into()), None).unwrap_err();
        assert!(err.contains("relative"), "{err}");
        assert_eq!(
            search(Some("/opt/ort/libonnxruntime.so".into()), None),
            Ok(PathBuf::from("/opt/ort/libonnxruntime.so"))
        );
    }

    #[test]
    fn a_missing_library_says_what_to_run() {
        let root = tempfile::tempdir().unwrap();
        let err = search(None, Some(&root.path().join("bin/pricestream"))).unwrap_err();
        assert!(err.contains("scripts/install-ort"), "{err}");
    }
}
