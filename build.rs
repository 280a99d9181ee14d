//! Build script. Does nothing unless the `torch` feature is on; then it
//!
//! * emits an rpath to libtorch's lib dir for every binary, test, bench and example of this
//!   package, so they run without LD_LIBRARY_PATH (torch-sys sets none), and
//! * compiles `src/torch/shim.cpp`, a few extern "C" functions over libtorch's C++ API that
//!   tch does not expose (bf16 autocast, allocator peak statistics).
//!
//! libtorch is located the way torch-sys locates it. torch-sys (`links = "tch"`) reports the
//! lib dir it linked against as `DEP_TCH_LIBTORCH_LIB`; the include dirs and the C++ ABI are
//! not reported, so they are asked of python when `LIBTORCH_USE_PYTORCH` is set (the same
//! query torch-sys runs), or derived from `LIBTORCH` / `LIBTORCH_INCLUDE` / the lib dir.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "torch")]
    torch::main();
}

#[cfg(feature = "torch")]
mod torch {
    use std::env;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    const PYTHON_QUERY: &str = r"
import torch
from torch.utils import cpp_extension
print('LIBTORCH_CXX11:', torch._C._GLIBCXX_USE_CXX11_ABI)
for p in cpp_extension.include_paths():
    print('LIBTORCH_INCLUDE:', p)
for p in cpp_extension.library_paths():
    print('LIBTORCH_LIB:', p)
";

    struct Libtorch {
        lib_dir: PathBuf,
        include_dirs: Vec<PathBuf>,
        cxx11_abi: String,
    }

    const SETUP_HINT: &str = "install libtorch with `bash scripts/setup-torch.sh --no-build`, then \
                              `eval \"$(bash scripts/setup-torch.sh --print-env)\"` before cargo";

    fn env_rerun(name: &str) -> Option<String> {
        println!("cargo:rerun-if-env-changed={name}");
        env::var(name).ok().filter(|v| !v.is_empty())
    }

    /// The python torch-sys would run: `python` inside a venv, else `python3`.
    fn python() -> PathBuf {
        if env_rerun("VIRTUAL_ENV").is_some() {
            PathBuf::from("python")
        } else {
            PathBuf::from("python3")
        }
    }

    fn ask_python() -> Result<(Option<PathBuf>, Vec<PathBuf>, String), String> {
        let py = python();
        let out = Command::new(&py)
            .arg("-c")
            .arg(PYTHON_QUERY)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", py.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} could not import torch: {}",
                py.display(),
                String::from_utf8_lossy(&out.stderr).trim_end()
            ));
        }
        let (mut lib, mut incs, mut abi) = (None, Vec::new(), None);
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some(v) = line.strip_prefix("LIBTORCH_CXX11: ") {
                abi = Some(if v.trim() == "True" { "1" } else { "0" }.to_owned());
            } else if let Some(p) = line.strip_prefix("LIBTORCH_INCLUDE: ") {
                incs.push(PathBuf::from(p));
            } else if let Some(p) = line.strip_prefix("LIBTORCH_LIB: ") {
                lib.get_or_insert_with(|| PathBuf::from(p));
            }
        }
        let abi = abi.ok_or_else(|| format!("{} reported no C++ ABI", py.display()))?;
        Ok((lib, incs, abi))
    }

    fn locate() -> Result<Libtorch, String> {
        // What torch-sys actually linked against (it runs first: it is our dependency).
        let dep_lib = env_rerun("DEP_TCH_LIBTORCH_LIB").map(PathBuf::from);
        let abi_env = env_rerun("LIBTORCH_CXX11_ABI");
        if env_rerun("LIBTORCH_USE_PYTORCH").is_some() {
            let (py_lib, include_dirs, abi) = ask_python()?;
            let lib_dir = dep_lib.or(py_lib).ok_or("python reported no libtorch lib dir")?;
            return Ok(Libtorch {
                lib_dir,
                include_dirs,
                cxx11_abi: abi_env.unwrap_or(abi),
            });
        }
        let root = env_rerun("LIBTORCH").map(PathBuf::from);
        let lib_dir = match (dep_lib, env_rerun("LIBTORCH_LIB"), &root) {
            (Some(d), _, _) => d,
            (None, Some(l), _) => PathBuf::from(l).join("lib"),
            (None, None, Some(r)) => r.join("lib"),
            (None, None, None) => {
                return Err("libtorch not found: set LIBTORCH_USE_PYTORCH=1 with a venv holding \
                            torch 2.11.0 (scripts/setup-torch.sh), or LIBTORCH"
                    .into());
            }
        };
        let inc_root = env_rerun("LIBTORCH_INCLUDE")
            .map(PathBuf::from)
            .or(root)
            .or_else(|| lib_dir.parent().map(Path::to_path_buf))
            .ok_or("cannot derive libtorch include dir")?;
        let include_dirs = vec![
            inc_root.join("include"),
            inc_root.join("include/torch/csrc/api/include"),
        ];
        Ok(Libtorch {
            lib_dir,
            include_dirs,
            cxx11_abi: abi_env.unwrap_or_else(|| "1".into()),
        })
    }

    pub fn main() {
        let lt = match locate() {
            Ok(lt) => lt,
            Err(e) => panic!("archcheck build.rs (feature `torch`): {e}; {SETUP_HINT}"),
        };
        let lib_dir = lt.lib_dir.canonicalize().unwrap_or(lt.lib_dir.clone());
        // Rerun when libtorch goes away or changes (a removed or rebuilt venv): the link would
        // otherwise fail on a stale path with only "unable to find library -lc10".
        let torch_cpu = lib_dir.join("libtorch_cpu.so");
        println!("cargo:rerun-if-changed={}", torch_cpu.display());
        if !torch_cpu.exists() {
            panic!(
                "archcheck build.rs (feature `torch`): {} does not exist (was the venv removed?); {SETUP_HINT}",
                torch_cpu.display()
            );
        }

        // rpath (RUNPATH with today's linkers) for bins, tests, benches and examples.
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib_dir.display());
        // Where the binaries were linked against, for diagnostics (`runtime::build_info`).
        println!("cargo:rustc-env=ARCHCHECK_LIBTORCH_LIB={}", lib_dir.display());

        let shim = "src/torch/shim.cpp";
        println!("cargo:rerun-if-changed={shim}");
        let mut build = cc::Build::new();
        build
            .cpp(true)
            .pic(true)
            .warnings(false)
            .includes(&lt.include_dirs)
            .flag("-std=c++17")
            .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={}", lt.cxx11_abi))
            .flag("-DGLOG_USE_GLOG_EXPORT")
            .flag("-Wno-deprecated-declarations")
            .file(shim);
        // cc defaults to -O0 for the dev profile; the shim is tiny, and the headers compile
        // the same either way.
        build.compile("archcheck_torch_shim");
        // The shim's references into libtorch_cpu and libc10 must come after it on the link
        // line; torch-sys links them too, this just pins the order.
        println!("cargo:rustc-link-search=native={}", lib_dir.display());
        println!("cargo:rustc-link-lib=dylib=torch_cpu");
        println!("cargo:rustc-link-lib=dylib=c10");
    }
}
