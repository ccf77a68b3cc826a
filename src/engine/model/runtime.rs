//! Running an exported model with ONNX Runtime (the official shared library, loaded at
//! run time through `ort`'s `load-dynamic`).

use super::CATEGORIES;
use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where the ONNX Runtime library is looked for when `ORT_DYLIB_PATH` is not set
/// (`scripts/setup.sh` puts it there).
pub const DEFAULT_ORT_DYLIB: &str = ".tools/onnxruntime/libonnxruntime.so";

/// Why a model could not be loaded or run; worded for an operator.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "ONNX Runtime library not found at {0}: run scripts/setup.sh or set ORT_DYLIB_PATH \
         to libonnxruntime.so"
    )]
    LibraryMissing(PathBuf),
    #[error("ONNX Runtime library at {path} could not be loaded: {reason}")]
    LibraryBroken { path: PathBuf, reason: String },
    #[error("model file {0} not found")]
    ModelMissing(PathBuf),
    #[error("model {path} could not be loaded: {reason}")]
    ModelBroken { path: PathBuf, reason: String },
    #[error("model {path} is not an AMSO classifier: {reason}")]
    WrongModel { path: PathBuf, reason: String },
    #[error("inference failed: {0}")]
    Inference(String),
}

/// Why the runtime failed to start, kept so every later caller gets the same answer.
#[derive(Clone, Debug)]
enum InitFailure {
    Missing(PathBuf),
    Broken(PathBuf, String),
}

static RUNTIME: OnceLock<Result<Environment, InitFailure>> = OnceLock::new();

/// The library path in effect: `ORT_DYLIB_PATH`, else [`DEFAULT_ORT_DYLIB`] under the
/// working directory, else under the source checkout the binary was built from.
pub fn dylib_path() -> PathBuf {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
        return PathBuf::from(path);
    }
    let local = PathBuf::from(DEFAULT_ORT_DYLIB);
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_ORT_DYLIB);
    if !local.exists() && checkout.exists() {
        checkout
    } else {
        local
    }
}

/// Loads the ONNX Runtime library once per process and returns its environment.
pub fn init_runtime() -> Result<Environment, RuntimeError> {
    let outcome = RUNTIME.get_or_init(|| {
        let path = dylib_path();
        if !path.exists() {
            return Err(InitFailure::Missing(path));
        }
        ort::init_from(&path)
            .map_err(|e| InitFailure::Broken(path.clone(), e.to_string()))?
            .with_name("amso")
            .build()
            .map_err(|e| InitFailure::Broken(path.clone(), e.to_string()))
    });
    match outcome {
        Ok(env) => Ok(env.clone()),
        Err(InitFailure::Missing(path)) => Err(RuntimeError::LibraryMissing(path.clone())),
        Err(InitFailure::Broken(path, reason)) => Err(RuntimeError::LibraryBroken {
            path: path.clone(),
            reason: reason.clone(),
        }),
    }
}

/// The model's two inputs for a batch, row-major: (width, ids, weights). Each row holds an
/// ad's ids, each weighing 1/n (n its number of features), padded to the longest row with id
/// 0 and weight 0. With `distinct`, a repeated id comes once weighing count/n: the same sum
/// for a mean-pooled graph, and what lets the TF-IDF form take the vector's norm.
pub fn pad_batch(batch: &[Vec<u32>], distinct: bool) -> (usize, Vec<i64>, Vec<f32>) {
    let rows: Vec<Vec<(u32, f32)>> = batch
        .iter()
        .map(|features| {
            if distinct {
                super::tfidf::shares(features)
            } else {
                let unit = 1.0 / features.len().max(1) as f32;
                features.iter().map(|id| (*id, unit)).collect()
            }
        })
        .collect();
    let width = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut ids = vec![0i64; batch.len() * width];
    let mut weights = vec![0f32; batch.len() * width];
    for (r, row) in rows.iter().enumerate() {
        for (col, (id, w)) in row.iter().enumerate() {
            ids[r * width + col] = i64::from(*id);
            weights[r * width + col] = *w;
        }
    }
    (width, ids, weights)
}

/// Whether a session has the classifier's inputs and output, by name, element type and
/// rank (and the output's width where the graph states it); says what differs otherwise.
fn check_interface(session: &Session) -> Result<(), String> {
    use ort::value::{TensorElementType, ValueType};
    let describe = |want: &[(&str, TensorElementType)], got: &[ort::value::Outlet]| {
        let got: Vec<String> = got
            .iter()
            .map(|o| format!("{} {}", o.name(), o.dtype()))
            .collect();
        let want: Vec<String> = want.iter().map(|(n, t)| format!("{n} {t:?}")).collect();
        format!("expected {}, found {}", want.join(", "), got.join(", "))
    };
    let inputs = [
        ("ids", TensorElementType::Int64),
        ("weights", TensorElementType::Float32),
    ];
    let outputs = [("scores", TensorElementType::Float32)];
    for (want, got, what) in [
        (&inputs[..], session.inputs(), "inputs"),
        (&outputs[..], session.outputs(), "outputs"),
    ] {
        if got.len() != want.len() {
            return Err(format!("{what}: {}", describe(want, got)));
        }
        for (name, ty) in want {
            let Some(o) = got.iter().find(|o| o.name() == *name) else {
                return Err(format!("{what}: {}", describe(want, got)));
            };
            match o.dtype() {
                ValueType::Tensor { ty: t, shape, .. } if t == ty && shape.len() == 2 => {
                    if *name == "scores" && shape[1] >= 0 && shape[1] as usize != CATEGORIES {
                        return Err(format!(
                            "output scores has {} columns; AMSO has {CATEGORIES} categories",
                            shape[1]
                        ));
                    }
                }
                other => {
                    return Err(format!(
                        "{name} is {other}; expected a rank-2 {ty:?} tensor"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A loaded classifier. Not shareable between threads: one owner thread runs it.
pub struct OnnxModel {
    session: Session,
    /// Hash buckets the model was trained with (from its metadata).
    pub buckets: u32,
    /// The model's version string (from its metadata).
    pub version: String,
    /// Whether the graph takes the TF-IDF vector's norm (`amso.input` = `tfidf`), so each
    /// row must hold distinct ids.
    pub distinct_ids: bool,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("buckets", &self.buckets)
            .field("version", &self.version)
            .finish()
    }
}

impl OnnxModel {
    /// Loads `path` for single-threaded scoring.
    pub fn load(path: &Path) -> Result<OnnxModel, RuntimeError> {
        if !path.exists() {
            return Err(RuntimeError::ModelMissing(path.into()));
        }
        let bytes = std::fs::read(path).map_err(|e| RuntimeError::ModelBroken {
            path: path.into(),
            reason: e.to_string(),
        })?;
        OnnxModel::from_bytes(&bytes, path)
    }

    /// Loads a model from its ONNX bytes (`label` names it in errors), checking that it is
    /// an AMSO classifier: inputs `ids` (int64) and `weights` (float) of rank 2, one output
    /// `scores` (float, rank 2, one column per category) and the `amso.buckets` metadata.
    pub fn from_bytes(bytes: &[u8], label: &Path) -> Result<OnnxModel, RuntimeError> {
        let env = init_runtime()?;
        let broken = |e: &dyn std::fmt::Display| RuntimeError::ModelBroken {
            path: label.into(),
            reason: e.to_string(),
        };
        let session = Session::builder(&env)
            .map_err(|e| broken(&e))?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| broken(&e))?
            .with_intra_threads(1)
            .map_err(|e| broken(&e))?
            .commit_from_memory(bytes)
            .map_err(|e| broken(&e))?;
        let wrong = |reason: String| RuntimeError::WrongModel {
            path: label.into(),
            reason,
        };
        check_interface(&session).map_err(wrong)?;
        let meta = session.metadata().map_err(|e| broken(&e))?;
        let buckets = meta
            .custom("amso.buckets")
            .ok_or_else(|| wrong("no amso.buckets metadata".into()))?
            .parse()
            .map_err(|_| wrong("amso.buckets is not a number".into()))?;
        let version = meta
            .custom("amso.model_version")
            .unwrap_or_else(|| "unknown".into());
        let distinct_ids =
            meta.custom(super::onnx::INPUT_KEY).as_deref() == Some(super::onnx::INPUT_TFIDF);
        drop(meta);
        Ok(OnnxModel {
            session,
            buckets,
            version,
            distinct_ids,
        })
    }

    /// Scores a batch of ads, each given by its feature ids. Ads are run in groups of
    /// similar length, so short ads are not padded to the longest one in the batch.
    pub fn score(&mut self, batch: &[Vec<u32>]) -> Result<Vec<[f32; CATEGORIES]>, RuntimeError> {
        const GROUP: usize = 64;
        if batch.len() <= GROUP {
            return self.score_padded(batch);
        }
        let mut order: Vec<usize> = (0..batch.len()).collect();
        order.sort_by_key(|i| batch[*i].len());
        let mut out = vec![[0f32; CATEGORIES]; batch.len()];
        for group in order.chunks(GROUP) {
            let rows: Vec<Vec<u32>> = group.iter().map(|i| batch[*i].clone()).collect();
            for (i, scores) in group.iter().zip(self.score_padded(&rows)?) {
                out[*i] = scores;
            }
        }
        Ok(out)
    }

    fn score_padded(&mut self, batch: &[Vec<u32>]) -> Result<Vec<[f32; CATEGORIES]>, RuntimeError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let (width, ids, weights) = pad_batch(batch, self.distinct_ids);
        let shape = [batch.len(), width];
        let infer = |e: ort::Error| RuntimeError::Inference(e.to_string());
        let ids = Tensor::from_array((shape, ids)).map_err(infer)?;
        let weights = Tensor::from_array((shape, weights)).map_err(infer)?;
        let outputs = self
            .session
            .run(ort::inputs!["ids" => ids, "weights" => weights])
            .map_err(infer)?;
        let (_, scores) = outputs["scores"]
            .try_extract_tensor::<f32>()
            .map_err(infer)?;
        Ok(scores
            .chunks_exact(CATEGORIES)
            .map(|row| {
                let mut out = [0f32; CATEGORIES];
                out.copy_from_slice(row);
                out
            })
            .collect())
    }
}
