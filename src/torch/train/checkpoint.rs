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
use tch::{TchError, Tensor};

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

/// Why a checkpoint (or another file of the run) could not be written or read back. Every
/// message starts with the file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {source}", path.display())]
    Tensors { path: PathBuf, source: TchError },
    /// `what` (the checkpoint state or manifest) does not serialize.
    #[error("{what}: {source}")]
    Serialize {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: crate::source::ReadError,
    },
    #[error("{}: corrupt checkpoint manifest: {source}", path.display())]
    CorruptManifest { path: PathBuf, source: serde_json::Error },
    #[error("{}: unknown checkpoint format '{found}', expected '{FORMAT}'", path.display())]
    UnknownFormat { path: PathBuf, found: String },
    #[error("{}: corrupt checkpoint manifest: bad directory '{dir}'", path.display())]
    BadDirectory { path: PathBuf, dir: String },
    #[error("{}: corrupt checkpoint manifest: no entry for {name}", path.display())]
    MissingEntry { path: PathBuf, name: &'static str },
    #[error("{}: checkpoint file unreadable: {source}", path.display())]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error(
        "{}: corrupt checkpoint: {found} bytes, the manifest says {expected} (truncated or overwritten)",
        path.display()
    )]
    Size { path: PathBuf, found: u64, expected: u64 },
    #[error(
        "{}: corrupt checkpoint: content hash {found} differs from the manifest's {expected}",
        path.display()
    )]
    Hash {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("{}: corrupt checkpoint state: {source}", path.display())]
    CorruptState { path: PathBuf, source: serde_json::Error },
    #[error("{}: corrupt checkpoint tensors: {source}", path.display())]
    CorruptTensors { path: PathBuf, source: TchError },
}

/// The I/O error at `path`.
/// A manifest is a few hundred bytes; anything near this is not one.
const MAX_MANIFEST_BYTES: u64 = 16 << 20;

fn io(path: &Path) -> impl Fn(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The libtorch error writing `path`.
fn tch_error(path: &Path) -> impl Fn(TchError) -> CheckpointError + '_ {
    move |source| CheckpointError::Tensors {
        path: path.to_path_buf(),
        source,
    }
}

fn fsync_dir(dir: &Path) -> Result<(), CheckpointError> {
    File::open(dir).and_then(|f| f.sync_all()).map_err(io(dir))
}

fn fsync_file(path: &Path) -> Result<(), CheckpointError> {
    File::open(path).and_then(|f| f.sync_all()).map_err(io(path))
}

fn entry(path: &Path) -> Result<FileEntry, CheckpointError> {
    let bytes = fs::read(path).map_err(io(path))?;
    Ok(FileEntry {
        bytes: bytes.len() as u64,
        fnv64: Fnv64::of(&bytes),
    })
}

/// The directory a file is in (`.` for a bare name) and the file's name: where its
/// temporary sibling goes.
fn dir_and_name(path: &Path) -> (&Path, String) {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (dir, name)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync,
/// rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let (dir, name) = dir_and_name(path);
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io(path))?;
    fsync_dir(dir)
}

/// Writes named tensors (contiguous, on the CPU) as safetensors, atomically.
pub fn write_tensors_atomic(path: &Path, tensors: &[(String, Tensor)]) -> Result<(), CheckpointError> {
    let (dir, name) = dir_and_name(path);
    // The extension must stay .safetensors for tch's writer.
    let tmp = dir.join(format!(".tmp-{}-{name}", std::process::id()));
    Tensor::write_safetensors(tensors, &tmp).map_err(tch_error(&tmp))?;
    fsync_file(&tmp)?;
    fs::rename(&tmp, path).map_err(io(path))?;
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
) -> Result<PathBuf, CheckpointError> {
    let root = run_dir.join(DIR);
    fs::create_dir_all(&root).map_err(io(&root))?;
    let rel = format!("{DIR}/ckpt-{step:09}-{}", unique());
    let dir = run_dir.join(&rel);
    fs::create_dir(&dir).map_err(io(&dir))?;
    let mut files = BTreeMap::new();
    for (name, tensors) in [("model.safetensors", model), ("optim.safetensors", optim)] {
        let p = dir.join(name);
        Tensor::write_safetensors(tensors, &p).map_err(tch_error(&p))?;
        fsync_file(&p)?;
        files.insert(name.to_string(), entry(&p)?);
    }
    let state_json = serde_json::to_vec_pretty(state).map_err(|source| CheckpointError::Serialize {
        what: "checkpoint state",
        source,
    })?;
    let p = dir.join("state.json");
    {
        let mut f = File::create(&p).map_err(io(&p))?;
        f.write_all(&state_json).map_err(io(&p))?;
        f.sync_all().map_err(io(&p))?;
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
    let text = serde_json::to_vec_pretty(&manifest).map_err(|source| CheckpointError::Serialize {
        what: "checkpoint manifest",
        source,
    })?;
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
pub fn load<S: for<'de> Deserialize<'de>>(run_dir: &Path) -> Result<Loaded<S>, CheckpointError> {
    let mpath = run_dir.join(MANIFEST);
    let manifest = read_manifest(&mpath)?;
    let dir = run_dir.join(&manifest.dir);
    let mut contents = BTreeMap::new();
    for name in ["model.safetensors", "optim.safetensors", "state.json"] {
        let want = manifest.files.get(name).ok_or_else(|| CheckpointError::MissingEntry {
            path: mpath.clone(),
            name,
        })?;
        contents.insert(name, read_verified(&dir.join(name), want)?);
    }
    let state: S = serde_json::from_slice(&contents["state.json"]).map_err(|source| CheckpointError::CorruptState {
        path: dir.join("state.json"),
        source,
    })?;
    let read = |name: &str| -> Result<BTreeMap<String, Tensor>, CheckpointError> {
        let path = dir.join(name);
        match Tensor::read_safetensors(&path) {
            Ok(v) => Ok(v.into_iter().collect()),
            Err(source) => Err(CheckpointError::CorruptTensors { path, source }),
        }
    };
    Ok(Loaded {
        state,
        model: read("model.safetensors")?,
        optim: read("optim.safetensors")?,
        dir,
    })
}

/// The manifest at `mpath`, of this format, naming a directory inside the run.
fn read_manifest(mpath: &Path) -> Result<Manifest, CheckpointError> {
    let text = crate::source::read_bounded(mpath, "the checkpoint manifest", MAX_MANIFEST_BYTES).map_err(|source| {
        CheckpointError::Read {
            path: mpath.to_path_buf(),
            source,
        }
    })?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|source| CheckpointError::CorruptManifest {
        path: mpath.to_path_buf(),
        source,
    })?;
    if manifest.format != FORMAT {
        return Err(CheckpointError::UnknownFormat {
            path: mpath.to_path_buf(),
            found: manifest.format,
        });
    }
    if manifest.dir.contains("..") || Path::new(&manifest.dir).is_absolute() {
        return Err(CheckpointError::BadDirectory {
            path: mpath.to_path_buf(),
            dir: manifest.dir,
        });
    }
    Ok(manifest)
}

/// The bytes of `path`, which must have the size and hash the manifest gives.
fn read_verified(path: &Path, want: &FileEntry) -> Result<Vec<u8>, CheckpointError> {
    // Only a regular file of the recorded size is read: a device or a grown file is not.
    let meta = fs::metadata(path).map_err(|source| CheckpointError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.is_file() || meta.len() != want.bytes {
        return Err(CheckpointError::Size {
            path: path.to_path_buf(),
            found: if meta.is_file() { meta.len() } else { 0 },
            expected: want.bytes,
        });
    }
    let bytes = fs::read(path).map_err(|source| CheckpointError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.len() as u64 != want.bytes {
        return Err(CheckpointError::Size {
            path: path.to_path_buf(),
            found: bytes.len() as u64,
            expected: want.bytes,
        });
    }
    let found = Fnv64::of(&bytes);
    if found != want.fnv64 {
        return Err(CheckpointError::Hash {
            path: path.to_path_buf(),
            found,
            expected: want.fnv64.clone(),
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_not_read_as_checkpoints() {
        assert!(matches!(
            read_manifest(Path::new("/dev/zero")),
            Err(CheckpointError::Read { .. })
        ));
        let want = FileEntry {
            bytes: 16,
            fnv64: Fnv64::of(&[0; 16]),
        };
        assert!(matches!(
            read_verified(Path::new("/dev/zero"), &want),
            Err(CheckpointError::Size { found: 0, .. })
        ));
    }
}
