//! Checkpoints that survive `kill -9` at any instant.
//!
//! A checkpoint is a directory `<out>/checkpoints/ckpt-<step>-<unique>/` holding
//! `model.safetensors` (every variable of the VarStore: weights and batch-norm running
//! statistics), `optim.safetensors` (the optimizer's buffers by variable name) and
//! `state.json` (position, accumulators, metrics so far, configuration, spec identity,
//! data fingerprints). Each file is written and fsynced, then the directory; then the
//! manifest `<out>/checkpoint.json`, naming the directory and the size and FNV-1a hash of
//! each file, is written to a temporary file, fsynced and renamed over the old one: that
//! rename is the commit point. A crash before it leaves the previous checkpoint in force
//! (the half-written directory is removed by the next save); after it, the new one. Older
//! directories are deleted only after the commit.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::data::Fnv64;

pub const MANIFEST: &str = "checkpoint.json";
pub const DIR: &str = "checkpoints";
const FORMAT: &str = "archcheck-checkpoint/1";

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub bytes: u64,
    pub fnv64: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Manifest {
    pub format: String,
    /// Relative to the run directory.
    pub dir: String,
    pub step: u64,
    pub epoch: usize,
    pub files: BTreeMap<String, FileEntry>,
}

/// A checkpoint read back and verified.
pub struct Loaded<S> {
    pub dir: PathBuf,
    pub state: S,
    pub model: BTreeMap<String, Tensor>,
    pub optim: BTreeMap<String, Tensor>,
}

fn io(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}

fn fsync_dir(dir: &Path) -> Result<(), String> {
    File::open(dir).and_then(|f| f.sync_all()).map_err(|e| io(dir, e))
}

fn fsync_file(path: &Path) -> Result<(), String> {
    File::open(path).and_then(|f| f.sync_all()).map_err(|e| io(path, e))
}

fn entry(path: &Path) -> Result<FileEntry, String> {
    let bytes = fs::read(path).map_err(|e| io(path, e))?;
    Ok(FileEntry {
        bytes: bytes.len() as u64,
        fnv64: Fnv64::of(&bytes),
    })
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync,
/// rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = File::create(&tmp).map_err(|e| io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| io(&tmp, e))?;
        f.sync_all().map_err(|e| io(&tmp, e))?;
    }
    fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    fsync_dir(dir)
}

/// Writes named tensors (contiguous, on the CPU) as safetensors, atomically.
pub fn write_tensors_atomic(path: &Path, tensors: &[(String, Tensor)]) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The extension must stay .safetensors for tch's writer.
    let tmp = dir.join(format!(".tmp-{}-{name}", std::process::id()));
    Tensor::write_safetensors(tensors, &tmp).map_err(|e| io(&tmp, e))?;
    fsync_file(&tmp)?;
    fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    fsync_dir(dir)
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{:x}", std::process::id(), nanos)
}

/// Saves a checkpoint of `step` under `run_dir` and commits it; returns its directory.
pub fn save<S: Serialize>(
    run_dir: &Path,
    step: u64,
    epoch: usize,
    model: &[(String, Tensor)],
    optim: &[(String, Tensor)],
    state: &S,
) -> Result<PathBuf, String> {
    let root = run_dir.join(DIR);
    fs::create_dir_all(&root).map_err(|e| io(&root, e))?;
    let rel = format!("{DIR}/ckpt-{step:09}-{}", unique());
    let dir = run_dir.join(&rel);
    fs::create_dir(&dir).map_err(|e| io(&dir, e))?;
    let mut files = BTreeMap::new();
    for (name, tensors) in [("model.safetensors", model), ("optim.safetensors", optim)] {
        let p = dir.join(name);
        Tensor::write_safetensors(tensors, &p).map_err(|e| io(&p, e))?;
        fsync_file(&p)?;
        files.insert(name.to_string(), entry(&p)?);
    }
    let state_json = serde_json::to_vec_pretty(state).map_err(|e| format!("checkpoint state: {e}"))?;
    let p = dir.join("state.json");
    {
        let mut f = File::create(&p).map_err(|e| io(&p, e))?;
        f.write_all(&state_json).map_err(|e| io(&p, e))?;
        f.sync_all().map_err(|e| io(&p, e))?;
    }
    files.insert(
        "state.json".into(),
        FileEntry {
            bytes: state_json.len() as u64,
            fnv64: Fnv64::of(&state_json),
        },
    );
    fsync_dir(&dir)?;
    fsync_dir(&root)?;
    let manifest = Manifest {
        format: FORMAT.into(),
        dir: rel.clone(),
        step,
        epoch,
        files,
    };
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| format!("checkpoint manifest: {e}"))?;
    write_atomic(&run_dir.join(MANIFEST), &text)?; // the commit point
    // Committed: everything else under checkpoints/ is stale.
    if let Ok(rd) = fs::read_dir(&root) {
        for e in rd.flatten() {
            let p = e.path();
            if p != dir {
                let _ = fs::remove_dir_all(&p);
            }
        }
    }
    Ok(dir)
}

/// Whether `run_dir` holds a committed checkpoint manifest.
pub fn exists(run_dir: &Path) -> bool {
    run_dir.join(MANIFEST).is_file()
}

/// Reads and verifies the committed checkpoint of `run_dir`. Every failure says which
/// file is wrong and how.
pub fn load<S: for<'de> Deserialize<'de>>(run_dir: &Path) -> Result<Loaded<S>, String> {
    let mpath = run_dir.join(MANIFEST);
    let text = fs::read(&mpath).map_err(|e| io(&mpath, e))?;
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|e| format!("{}: corrupt checkpoint manifest: {e}", mpath.display()))?;
    if manifest.format != FORMAT {
        return Err(format!(
            "{}: unknown checkpoint format '{}', expected '{FORMAT}'",
            mpath.display(),
            manifest.format
        ));
    }
    if manifest.dir.contains("..") || Path::new(&manifest.dir).is_absolute() {
        return Err(format!(
            "{}: corrupt checkpoint manifest: bad directory '{}'",
            mpath.display(),
            manifest.dir
        ));
    }
    let dir = run_dir.join(&manifest.dir);
    let mut contents = BTreeMap::new();
    for name in ["model.safetensors", "optim.safetensors", "state.json"] {
        let want = manifest
            .files
            .get(name)
            .ok_or_else(|| format!("{}: corrupt checkpoint manifest: no entry for {name}", mpath.display()))?;
        let p = dir.join(name);
        let bytes = fs::read(&p).map_err(|e| format!("{}: checkpoint file unreadable: {e}", p.display()))?;
        if bytes.len() as u64 != want.bytes {
            return Err(format!(
                "{}: corrupt checkpoint: {} bytes, the manifest says {} (truncated or overwritten)",
                p.display(),
                bytes.len(),
                want.bytes
            ));
        }
        let got = Fnv64::of(&bytes);
        if got != want.fnv64 {
            return Err(format!(
                "{}: corrupt checkpoint: content hash {got} differs from the manifest's {}",
                p.display(),
                want.fnv64
            ));
        }
        contents.insert(name, bytes);
    }
    let state: S = serde_json::from_slice(&contents["state.json"])
        .map_err(|e| format!("{}: corrupt checkpoint state: {e}", dir.join("state.json").display()))?;
    let read = |name: &str| -> Result<BTreeMap<String, Tensor>, String> {
        let p = dir.join(name);
        Tensor::read_safetensors(&p)
            .map(|v| v.into_iter().collect())
            .map_err(|e| format!("{}: corrupt checkpoint tensors: {e}", p.display()))
    };
    Ok(Loaded {
        state,
        model: read("model.safetensors")?,
        optim: read("optim.safetensors")?,
        dir,
    })
}
