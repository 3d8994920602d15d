// N-API binding of the host mask post-processing (masks_kernel.h, where its design is told): arguments checked
// here, the work on the thread pool, the masks handed to JS as one string buffer with ends, areas and boxes.
// Part of the ortx addon (one native module to build and load) but independent of onnxruntime.
#include <cmath>
#include <exception>
#include <string>
#include <vector>

#include <napi.h>

#include "masks_kernel.h"

namespace ortx {

namespace {

class UpscaleWorker : public Napi::AsyncWorker {
 public:
  UpscaleWorker(Napi::Env env, Napi::Float32Array planes, std::vector<int32_t> index, masks::Geometry g, double threshold,
                int bands)
      : Napi::AsyncWorker(env, "ortx.upscaleMasks"),
        deferred_(Napi::Promise::Deferred::New(env)),
        planesRef_(Napi::Persistent(planes.As<Napi::Object>())),
        planes_(planes.Data()),
        index_(std::move(index)),
        g_(g),
        threshold_(threshold),
        bands_(bands) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      masks::upscale(planes_, index_, g_, threshold_, bands_, out_);
    } catch (const std::exception& e) {
      SetError(std::string("ortx: upscaleMasks failed: ") + e.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    const size_t n = out_.size();
    size_t bytes = 0;
    for (const auto& o : out_) bytes += o.rle.size();
    Napi::Uint8Array chars = Napi::Uint8Array::New(env, bytes);
    Napi::Int32Array ends = Napi::Int32Array::New(env, n);
    Napi::Float64Array area = Napi::Float64Array::New(env, n);
    Napi::Float64Array box = Napi::Float64Array::New(env, 4 * n);
    size_t p = 0;
    for (size_t k = 0; k < n; k++) {
      std::copy(out_[k].rle.begin(), out_[k].rle.end(), chars.Data() + p);
      p += out_[k].rle.size();
      ends[k] = int32_t(p);
      area[k] = out_[k].area;
      for (int j = 0; j < 4; j++) box[4 * k + j] = out_[k].box[j];
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("chars", chars);
    o.Set("ends", ends);
    o.Set("area", area);
    o.Set("bbox", box);
    deferred_.Resolve(o);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference planesRef_;
  const float* planes_;
  std::vector<int32_t> index_;
  masks::Geometry g_;
  double threshold_;
  int bands_;
  std::vector<masks::MaskOut> out_;
};

int intArg(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) return -1;
  const double d = v.As<Napi::Number>().DoubleValue();
  return d == std::floor(d) && d >= 1 && d <= 1e9 ? int(d) : -1;
}

// upscaleMasks(planes: Float32Array, index: Int32Array, frame: { inputSize, resizedHeight, resizedWidth, height,
// width }, threshold: number, bands?: number): Promise<{ chars: Uint8Array, ends: Int32Array, area: Float64Array,
// bbox: Float64Array }>. Mask k is plane index[k] of `planes` (256x256 each); its RLE string is
// chars[ends[k-1], ends[k]) and its box bbox[4k .. 4k+3]. Arguments are checked here (TypeError / RangeError,
// thrown); the work runs on the thread pool. `planes` must not change until the promise settles. `bands`
// (tests) cuts each mask into that many bands (at most one per column) whatever the machine's cores.
Napi::Value UpscaleMasksJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage =
      "ortx: upscaleMasks(planes: Float32Array, index: Int32Array, frame: { inputSize, resizedHeight, "
      "resizedWidth, height, width }, threshold: number)";
  if (info.Length() < 4 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array || !info[2].IsObject() ||
      !info[3].IsNumber())
    throw Napi::TypeError::New(env, usage);
  Napi::Float32Array planes = info[0].As<Napi::Float32Array>();
  Napi::Int32Array index = info[1].As<Napi::Int32Array>();
  Napi::Object frame = info[2].As<Napi::Object>();
  const double threshold = info[3].As<Napi::Number>().DoubleValue();
  masks::Geometry g{intArg(frame, "inputSize"), intArg(frame, "resizedHeight"), intArg(frame, "resizedWidth"),
             intArg(frame, "height"), intArg(frame, "width")};
  if (g.inputSize < 0 || g.resizedHeight < 0 || g.resizedWidth < 0 || g.height < 0 || g.width < 0)
    throw Napi::TypeError::New(env, std::string(usage) + ": frame sizes must be positive integers");
  if (g.resizedHeight > g.inputSize || g.resizedWidth > g.inputSize)
    throw Napi::RangeError::New(env, "ortx: upscaleMasks: the resized frame is larger than inputSize");
  // Run lengths and string deltas are 32-bit here.
  if (double(g.height) * g.width >= 2147483648.0)
    throw Napi::RangeError::New(env, "ortx: upscaleMasks: the image has 2^31 pixels or more");
  if (std::isnan(threshold)) throw Napi::RangeError::New(env, "ortx: upscaleMasks: threshold is NaN");
  const size_t count = planes.ElementLength() / masks::kPlane;
  if (planes.ElementLength() % masks::kPlane != 0)
    throw Napi::RangeError::New(env, "ortx: upscaleMasks: planes is not a whole number of 256x256 planes");
  std::vector<int32_t> idx(index.ElementLength());
  for (size_t k = 0; k < idx.size(); k++) {
    idx[k] = index[k];
    if (idx[k] < 0 || size_t(idx[k]) >= count)
      throw Napi::RangeError::New(env, "ortx: upscaleMasks: index[" + std::to_string(k) + "] = " +
                                           std::to_string(idx[k]) + " is not one of " + std::to_string(count) +
                                           " planes");
  }
  int bands = 0;
  if (info.Length() > 4 && !info[4].IsUndefined()) {
    const double b = info[4].IsNumber() ? info[4].As<Napi::Number>().DoubleValue() : -1;
    if (!(b >= 1 && b <= 1e6 && b == std::floor(b)))
      throw Napi::TypeError::New(env, "ortx: upscaleMasks: bands must be a positive integer");
    bands = int(b);
  }
  auto* worker = new UpscaleWorker(env, planes, std::move(idx), g, threshold, bands);
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

Napi::Value PostThreadsJs(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), masks::poolThreads()); }

Napi::Value UpscaleStatsJs(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  const masks::Stats s = masks::stats();
  o.Set("tiledBands", double(s.tiledBands));
  o.Set("stagedBands", double(s.stagedBands));
  return o;
}

}  // namespace

void InitMasks(Napi::Env env, Napi::Object exports) {
  exports.Set("upscaleMasks", Napi::Function::New(env, UpscaleMasksJs, "upscaleMasks"));
  exports.Set("upscaleThreads", Napi::Function::New(env, PostThreadsJs, "upscaleThreads"));
  exports.Set("upscaleStats", Napi::Function::New(env, UpscaleStatsJs, "upscaleStats"));
}

}  // namespace ortx
