//! libtorch runtime plumbing (feature `torch`). Runs on CPU-only machines; where CUDA is
//! available (the same test binary carried to a GPU machine) the CUDA branches check the
//! real thing.
#![cfg(feature = "torch")]

use std::path::Path;
use std::process::Command;

use archcheck::torch::runtime::{
    self, AutocastBf16, autocast_dtype, cuda_max_memory_allocated, cuda_memory_allocated, cuda_reset_peak_memory,
    device_from_str, init, is_autocast_enabled, is_channels_last, set_module_channels_last, to_channels_last,
};
use tch::nn::{self, ModuleT, OptimizerConfig};
use tch::{Device, Kind, Tensor};

mod common;

/// Every test starts with init(), as a binary's main would.
fn setup() -> bool {
    init()
}

fn test_device() -> Device {
    if setup() { Device::Cuda(0) } else { Device::Cpu }
}

#[test]
fn init_is_idempotent_and_reports() {
    let a = init();
    let b = init();
    assert_eq!(a, b);
    assert_eq!(a, tch::Cuda::is_available());
    let info = runtime::runtime_info();
    assert!(info.contains("libtorch_cpu loaded from"), "{info}");
    assert!(runtime::libtorch_dir().is_some(), "libtorch_cpu.so not in the link map");
    eprintln!("{info}");
}

/// The test binary must start without LD_LIBRARY_PATH: build.rs's RUNPATH finds libtorch.
/// Re-runs this very binary with LD_LIBRARY_PATH removed, on the `child_probe` test.
#[test]
fn runs_without_ld_library_path() {
    setup();
    if std::env::var_os("ARCHCHECK_RPATH_CHILD").is_some() {
        return; // we are the child: nothing more to do here
    }
    let baked = Path::new(runtime::LIBTORCH_LIB_AT_BUILD);
    if !baked.join("libtorch_cpu.so").exists() {
        // Binary carried to another machine (run there with LD_LIBRARY_PATH): the build
        // machine's RUNPATH cannot be checked.
        common::requirements::skip(&format!("{} (libtorch at build) does not exist here", baked.display()));
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(&exe)
        .args(["--exact", "child_probe", "--nocapture", "--test-threads=1"])
        .env_remove("LD_LIBRARY_PATH")
        .env("ARCHCHECK_RPATH_CHILD", "1")
        .output()
        .expect("spawn test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child failed without LD_LIBRARY_PATH:\n{stdout}\n{stderr}"
    );
    let line = stdout
        .lines()
        .chain(stderr.lines())
        .find_map(|l| l.split_once("CHILD-LIBTORCH-DIR ").map(|(_, dir)| dir.trim()))
        .unwrap_or_else(|| panic!("child printed no probe line:\n{stdout}\n{stderr}"));
    assert_eq!(
        Path::new(line).canonicalize().unwrap(),
        baked.canonicalize().unwrap(),
        "libtorch loaded from somewhere other than the RUNPATH dir"
    );
}

/// Run by `runs_without_ld_library_path` in a child process; trivial on its own.
#[test]
fn child_probe() {
    setup();
    assert!(std::env::var_os("ARCHCHECK_RPATH_CHILD").is_none() || std::env::var_os("LD_LIBRARY_PATH").is_none());
    let t = Tensor::from_slice(&[1f32, 2., 3.]).sum(Kind::Float);
    assert_eq!(t.double_value(&[]), 6.0);
    let dir = runtime::libtorch_dir().expect("libtorch_cpu in link map");
    println!("CHILD-LIBTORCH-DIR {}", dir.display());
}

#[test]
fn main_binary_runs_without_ld_library_path() {
    let baked = Path::new(runtime::LIBTORCH_LIB_AT_BUILD);
    if !baked.join("libtorch_cpu.so").exists() {
        common::requirements::skip(&format!("{} (libtorch at build) does not exist here", baked.display()));
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_archcheck"))
        .arg("--help")
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .expect("spawn archcheck");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("error while loading shared libraries"),
        "archcheck binary cannot find its libraries:\n{stderr}"
    );
}

#[test]
fn device_parsing() {
    let cuda = setup();
    assert_eq!(device_from_str("cpu"), Ok(Device::Cpu));
    assert_eq!(device_from_str(" CPU "), Ok(Device::Cpu));
    let auto = device_from_str("auto").unwrap();
    assert_eq!(auto, if cuda { Device::Cuda(0) } else { Device::Cpu });
    if cuda {
        assert_eq!(device_from_str("cuda"), Ok(Device::Cuda(0)));
        assert_eq!(device_from_str("cuda:0"), Ok(Device::Cuda(0)));
        let e = device_from_str("cuda:99").unwrap_err().to_string();
        assert!(e.contains("CUDA device(s) are visible"), "{e}");
    } else {
        for s in ["cuda", "cuda:0", "CUDA:1"] {
            let e = device_from_str(s).unwrap_err().to_string();
            assert!(e.contains("CUDA is not available"), "{s}: {e}");
        }
    }
    let e = device_from_str("cuda:x").unwrap_err().to_string();
    assert!(e.contains("must be a number"), "{e}");
    let e = device_from_str("tpu").unwrap_err().to_string();
    assert!(e.contains("expected auto, cpu, cuda or cuda:N"), "{e}");
}

#[test]
fn seeding_is_reproducible() {
    let dev = test_device();
    runtime::manual_seed(7);
    let a = Tensor::randn([16], (Kind::Float, dev));
    runtime::manual_seed(7);
    let b = Tensor::randn([16], (Kind::Float, dev));
    assert!(a.equal(&b));
    runtime::cudnn_benchmark(true);
    runtime::cudnn_benchmark(false);
}

#[test]
fn channels_last_strides_and_values() {
    setup();
    let t = Tensor::arange(2 * 3 * 4 * 5, (Kind::Float, Device::Cpu)).reshape([2, 3, 4, 5]);
    assert_eq!(t.stride(), vec![60, 20, 5, 1]);
    assert!(!is_channels_last(&t));
    let cl = to_channels_last(&t);
    assert_eq!(cl.size(), vec![2, 3, 4, 5]);
    assert_eq!(cl.stride(), vec![60, 1, 15, 3]); // NHWC: C fastest, then W, H, N
    assert!(is_channels_last(&cl));
    assert!(cl.equal(&t), "values changed");
    // Idempotent, and ops keep the layout.
    assert_eq!(to_channels_last(&cl).stride(), vec![60, 1, 15, 3]);
    assert!(is_channels_last(&(&cl * 2.0)));
    // Non-4-d tensors are returned as they are.
    let v = Tensor::ones([3, 4], (Kind::Float, Device::Cpu));
    assert_eq!(to_channels_last(&v).stride(), vec![4, 1]);
}

fn small_net(p: &nn::Path) -> impl ModuleT + use<> {
    let bn = nn::BatchNormConfig {
        ws_init: nn::Init::Const(1.),
        ..Default::default()
    };
    nn::seq_t()
        .add(nn::conv2d(
            p / "c1",
            3,
            8,
            3,
            nn::ConvConfig {
                padding: 1,
                ..Default::default()
            },
        ))
        .add(nn::batch_norm2d(p / "bn1", 8, bn))
        .add_fn(|x| x.relu())
        .add_fn(|x| x.max_pool2d_default(2))
        .add(nn::conv2d(
            p / "c2",
            8,
            16,
            3,
            nn::ConvConfig {
                padding: 1,
                ..Default::default()
            },
        ))
        .add_fn(|x| x.relu().adaptive_avg_pool2d([1, 1]).flatten(1, -1))
        .add(nn::linear(p / "fc", 16, 10, Default::default()))
}

/// A tiny conv net trains on CPU (or the GPU where there is one), with channels_last
/// parameters and inputs; the layout survives optimizer steps.
#[test]
fn conv_net_forward_backward_channels_last() {
    let dev = test_device();
    runtime::manual_seed(0);
    let vs = nn::VarStore::new(dev);
    let net = small_net(&vs.root());
    let before: Vec<(String, Tensor)> = vs.variables().into_iter().map(|(k, v)| (k, v.copy())).collect();
    let converted = set_module_channels_last(&vs);
    assert_eq!(converted, 2, "two conv weights");
    for (name, v) in vs.variables() {
        if v.dim() == 4 {
            assert!(is_channels_last(&v), "{name}: strides {:?}", v.stride());
        }
        let old = &before.iter().find(|(k, _)| *k == name).unwrap().1;
        assert!(v.equal(old), "{name} changed value");
    }
    let mut opt = nn::Sgd {
        momentum: 0.9,
        ..Default::default()
    }
    .build(&vs, 0.05)
    .unwrap();
    let x = to_channels_last(&Tensor::randn([8, 3, 16, 16], (Kind::Float, dev)));
    let y = Tensor::randint(10, [8], (Kind::Int64, dev));
    let mut losses = Vec::new();
    for _ in 0..8 {
        let loss = net.forward_t(&x, true).cross_entropy_for_logits(&y);
        opt.backward_step(&loss);
        losses.push(loss.double_value(&[]));
    }
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert!(losses.last() < losses.first(), "loss did not go down: {losses:?}");
    for (name, v) in vs.trainable_variables().iter().zip(0..) {
        if name.dim() == 4 {
            assert!(is_channels_last(name), "param {v} lost channels_last after steps");
        }
    }
}

/// The CUDA guard must not change CPU results; the CPU guard really switches to bf16 and
/// restores everything on drop.
#[test]
fn autocast_guard() {
    setup();
    let vs = nn::VarStore::new(Device::Cpu);
    let lin = nn::linear(vs.root() / "l", 8, 4, Default::default());
    let x = Tensor::randn([2, 8], (Kind::Float, Device::Cpu));
    let plain = x.apply(&lin);

    assert!(!is_autocast_enabled(Device::Cuda(0)));
    {
        let _ac = AutocastBf16::new();
        assert!(is_autocast_enabled(Device::Cuda(0)));
        assert_eq!(autocast_dtype(Device::Cuda(0)), Some(Kind::BFloat16));
        let y = x.apply(&lin);
        assert_eq!(y.kind(), Kind::Float);
        assert!(y.equal(&plain), "CUDA autocast changed a CPU result");
        runtime::autocast_clear_cache();
    }
    assert!(!is_autocast_enabled(Device::Cuda(0)));

    assert!(!is_autocast_enabled(Device::Cpu));
    {
        let _outer = AutocastBf16::cpu();
        {
            let _inner = AutocastBf16::cpu();
            assert_eq!(x.apply(&lin).kind(), Kind::BFloat16);
        }
        assert!(is_autocast_enabled(Device::Cpu), "inner drop disabled the outer guard");
        let y = x.apply(&lin);
        assert_eq!(y.kind(), Kind::BFloat16);
        assert!((y.to_kind(Kind::Float) - &plain).abs().max().double_value(&[]) < 0.1);
    }
    assert!(!is_autocast_enabled(Device::Cpu));
    assert_eq!(x.apply(&lin).kind(), Kind::Float);

    // The plain switches.
    runtime::set_autocast_bf16(true);
    assert!(is_autocast_enabled(Device::Cuda(0)));
    runtime::set_autocast_bf16(false);
    runtime::autocast_clear_cache();
    assert!(!is_autocast_enabled(Device::Cuda(0)));
}

/// bf16 autocast makes a GPU matmul bf16. Named `cuda_only_*`: scripts/test-all.sh leaves
/// it out, by name, where no CUDA device is visible; run anyway, it skips by name.
#[test]
fn cuda_only_autocast_bf16_matmul() {
    if !setup() {
        common::requirements::skip("no CUDA device");
        return;
    }
    let a = Tensor::randn([64, 64], (Kind::Float, Device::Cuda(0)));
    assert_eq!(a.matmul(&a).kind(), Kind::Float);
    {
        let _ac = AutocastBf16::new();
        assert_eq!(a.matmul(&a).kind(), Kind::BFloat16);
    }
    assert_eq!(a.matmul(&a).kind(), Kind::Float);
}

#[test]
fn peak_memory() {
    if !setup() {
        assert_eq!(cuda_max_memory_allocated(0), 0);
        assert_eq!(cuda_memory_allocated(0), 0);
        cuda_reset_peak_memory(0); // no-op
        assert_eq!(cuda_max_memory_allocated(0), 0);
        return;
    }
    // CUDA: a 64 MiB tensor must show in the peak, and the peak survives its release.
    let dev = Device::Cuda(0);
    let _warm = Tensor::zeros([1], (Kind::Float, dev));
    tch::Cuda::synchronize(0);
    cuda_reset_peak_memory(0);
    let base = cuda_memory_allocated(0);
    {
        let big = Tensor::zeros([16 << 20], (Kind::Float, dev));
        tch::Cuda::synchronize(0);
        assert!(cuda_memory_allocated(0) >= base + (64 << 20));
        drop(big);
    }
    let peak = cuda_max_memory_allocated(0);
    assert!(peak >= base + (64 << 20), "peak {peak} base {base}");
    assert!(cuda_memory_allocated(0) < peak);
    cuda_reset_peak_memory(0);
    assert!(cuda_max_memory_allocated(0) < base + (64 << 20));
    eprintln!("peak memory check: base {base} peak {peak}");
}
