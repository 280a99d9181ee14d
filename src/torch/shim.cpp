// A few libtorch C++ calls that tch 0.24 does not expose, as extern "C" functions.
// Compiled by build.rs (feature `torch`) against the headers of the libtorch that torch-sys
// links; wrapped safely in src/torch/runtime.rs.
//
// Every function catches C++ exceptions: an error is reported by a non-zero return value and
// the message is kept in a thread-local string that `ac_last_error` returns.
//
// Device types are c10::DeviceType values (CPU = 0, CUDA = 1); scalar types are
// c10::ScalarType values (Float = 6, Half = 5, BFloat16 = 15), the same numbers tch uses.

#include <ATen/autocast_mode.h>
#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/Allocator.h>
#include <c10/core/CachingDeviceAllocator.h>

#include <cstdint>
#include <exception>
#include <string>

namespace {

thread_local std::string last_error;

template <typename F>
int32_t guarded(F&& f) {
  try {
    f();
    return 0;
  } catch (const c10::Error& e) {
    last_error = e.what_without_backtrace();
  } catch (const std::exception& e) {
    last_error = e.what();
  } catch (...) {
    last_error = "unknown C++ exception";
  }
  return -1;
}

c10::DeviceType device_type(int32_t t) {
  switch (t) {
    case 0:
      return c10::DeviceType::CPU;
    case 1:
      return c10::DeviceType::CUDA;
    default:
      TORCH_CHECK(false, "archcheck shim: unsupported device type ", t);
  }
}

// The CUDA caching allocator as the device-generic c10::DeviceAllocator (the interface
// torch.accelerator's memory statistics use), or nullptr when CUDA is not usable or the
// allocator has not been initialised yet (no CUDA tensor so far), in which case every
// statistic is 0, as in torch.cuda.max_memory_allocated. This needs no CUDA headers and no
// link to libc10_cuda: libc10_cuda registers the allocator with c10::SetAllocator when it
// is loaded (runtime::init dlopens libtorch_cuda, which pulls it in).
c10::DeviceAllocator* cuda_allocator(int32_t device) {
  if (!at::detail::getCUDAHooks().hasCUDA()) {
    return nullptr;
  }
  auto n = at::detail::getCUDAHooks().deviceCount();
  TORCH_CHECK(
      device >= 0 && device < n,
      "CUDA device index ",
      device,
      " out of range (",
      n,
      " device(s))");
  auto* alloc = dynamic_cast<c10::DeviceAllocator*>(c10::GetAllocator(c10::DeviceType::CUDA));
  if (alloc == nullptr || !alloc->initialized()) {
    return nullptr;
  }
  return alloc;
}

}  // namespace

extern "C" {

const char* ac_last_error() {
  return last_error.c_str();
}

// ---- autocast (thread-local state, as in PyTorch) ----

int32_t ac_autocast_set_enabled(int32_t dev, bool enabled) {
  return guarded([&] { at::autocast::set_autocast_enabled(device_type(dev), enabled); });
}

int32_t ac_autocast_is_enabled(int32_t dev, bool* out) {
  return guarded([&] { *out = at::autocast::is_autocast_enabled(device_type(dev)); });
}

int32_t ac_autocast_set_dtype(int32_t dev, int32_t scalar_type) {
  return guarded([&] {
    at::autocast::set_autocast_dtype(device_type(dev), static_cast<c10::ScalarType>(scalar_type));
  });
}

int32_t ac_autocast_get_dtype(int32_t dev, int32_t* out) {
  return guarded(
      [&] { *out = static_cast<int32_t>(at::autocast::get_autocast_dtype(device_type(dev))); });
}

int32_t ac_autocast_increment_nesting(int32_t* out) {
  return guarded([&] { *out = at::autocast::increment_nesting(); });
}

int32_t ac_autocast_decrement_nesting(int32_t* out) {
  return guarded([&] { *out = at::autocast::decrement_nesting(); });
}

int32_t ac_autocast_clear_cache() {
  return guarded([&] { at::autocast::clear_cache(); });
}

// ---- CUDA caching-allocator statistics ----

// kind: 0 = allocated_bytes.current, 1 = allocated_bytes.peak,
//       2 = reserved_bytes.current,  3 = reserved_bytes.peak
int32_t ac_cuda_memory_stat(int32_t device, int32_t kind, uint64_t* out) {
  return guarded([&] {
    *out = 0;
    auto* alloc = cuda_allocator(device);
    if (alloc == nullptr) {
      return;
    }
    auto stats = alloc->getDeviceStats(static_cast<c10::DeviceIndex>(device));
    constexpr auto agg = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
    int64_t v = 0;
    switch (kind) {
      case 0:
        v = stats.allocated_bytes[agg].current;
        break;
      case 1:
        v = stats.allocated_bytes[agg].peak;
        break;
      case 2:
        v = stats.reserved_bytes[agg].current;
        break;
      case 3:
        v = stats.reserved_bytes[agg].peak;
        break;
      default:
        TORCH_CHECK(false, "archcheck shim: unknown memory statistic ", kind);
    }
    *out = v < 0 ? 0 : static_cast<uint64_t>(v);
  });
}

int32_t ac_cuda_reset_peak_memory(int32_t device) {
  return guarded([&] {
    auto* alloc = cuda_allocator(device);
    if (alloc != nullptr) {
      alloc->resetPeakStats(static_cast<c10::DeviceIndex>(device));
    }
  });
}

}  // extern "C"
