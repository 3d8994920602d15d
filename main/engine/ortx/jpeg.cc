// JPEG decode for the engine: libjpeg-turbo's TurboJPEG API, dlopen'ed. Part of the ortx addon (one native
// module to build and load) but independent of onnxruntime.
#include <dlfcn.h>

#include <mutex>
#include <string>
#include <vector>

#include <napi.h>

namespace ortx {

// sharp (libvips) takes 5-7 ms for a 960x540 frame of which libjpeg-turbo's own decode is 2: the rest is
// libvips' pipeline, threads and buffers (docs/gpu.md, run 20). The engine decodes frames it needs no resizing
// for through this when the library is there, and through sharp otherwise; the pixels are the same (libvips
// decodes with libjpeg-turbo too: islow IDCT, fancy upsampling, checked in image.test.ts). TurboJPEG's API is
// opaque handles and plain ints, stable since 1.2 (the 2.x functions below are in 3.x too), so no header is
// needed to build and a missing library only means sharp.
struct TurboJpeg {
  void* (*initDecompress)() = nullptr;
  int (*decompressHeader3)(void*, const unsigned char*, unsigned long, int*, int*, int*, int*) = nullptr;
  int (*decompress2)(void*, const unsigned char*, unsigned long, unsigned char*, int, int, int, int, int) = nullptr;
  int (*destroy)(void*) = nullptr;
  char* (*errorStr2)(void*) = nullptr;
  std::string path;   // the library loaded
  std::string error;  // why none was, when none was
};
enum { kTjpfRgb = 0, kTjcsCmyk = 3, kTjcsYcck = 4, kTjflagStopOnWarning = 8192 };

static const TurboJpeg& turboJpeg(const std::string& wanted) {
  static std::mutex m;
  static bool tried = false;
  static TurboJpeg tj;
  std::lock_guard<std::mutex> lock(m);
  if (tried) return tj;
  tried = true;
  std::vector<std::string> names;
  if (!wanted.empty()) names.push_back(wanted);
  else names = {"libturbojpeg.so.0", "libturbojpeg.so"};
  void* h = nullptr;
  std::string last;
  for (const auto& n : names) {
    h = dlopen(n.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h) {
      tj.path = n;
      break;
    }
    const char* e = dlerror();
    last = e ? e : n + ": dlopen failed";
  }
  if (!h) {
    tj.error = last;
    return tj;
  }
  tj.initDecompress = reinterpret_cast<void* (*)()>(dlsym(h, "tjInitDecompress"));
  tj.decompressHeader3 = reinterpret_cast<decltype(tj.decompressHeader3)>(dlsym(h, "tjDecompressHeader3"));
  tj.decompress2 = reinterpret_cast<decltype(tj.decompress2)>(dlsym(h, "tjDecompress2"));
  tj.destroy = reinterpret_cast<int (*)(void*)>(dlsym(h, "tjDestroy"));
  tj.errorStr2 = reinterpret_cast<char* (*)(void*)>(dlsym(h, "tjGetErrorStr2"));
  if (!tj.initDecompress || !tj.decompressHeader3 || !tj.decompress2 || !tj.destroy || !tj.errorStr2) {
    tj.error = tj.path + " lacks the TurboJPEG 2 functions (tjDecompressHeader3, tjDecompress2, tjGetErrorStr2)";
    tj.initDecompress = nullptr;
  }
  return tj;
}

// jpegInit(path?): { libraryPath } or { error }; loads once (the first call's path decides).
static Napi::Value JpegInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string wanted = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  const TurboJpeg& tj = turboJpeg(wanted);
  Napi::Object o = Napi::Object::New(env);
  if (tj.initDecompress) o.Set("libraryPath", tj.path);
  else o.Set("error", tj.error);
  return o;
}

class JpegWorker : public Napi::AsyncWorker {
 public:
  JpegWorker(Napi::Env env, Napi::Uint8Array input, Napi::ArrayBuffer out, int width, int height)
      : Napi::AsyncWorker(env, "ortx.decodeJpeg"),
        deferred_(Napi::Promise::Deferred::New(env)),
        input_(Napi::Persistent(input.As<Napi::Object>())),
        out_(Napi::Persistent(out)),
        src_(input.Data()),
        size_(input.ByteLength()),
        dst_(static_cast<unsigned char*>(out.Data())),
        width_(width),
        height_(height) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    const TurboJpeg& tj = turboJpeg("");
    void* h = tj.initDecompress();
    if (!h) return SetError("tjInitDecompress failed");
    // A warning (truncated data, a corrupt segment) stops the decode: sharp's path then gives its own verdict.
    if (tj.decompress2(h, src_, size_, dst_, width_, 0, height_, kTjpfRgb, kTjflagStopOnWarning) != 0)
      SetError(std::string("libjpeg-turbo: ") + tj.errorStr2(h));
    tj.destroy(h);
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("width", width_);
    o.Set("height", height_);
    o.Set("data", Napi::Uint8Array::New(env, size_t(width_) * height_ * 3, out_.Value(), 0));
    deferred_.Resolve(o);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference input_;
  Napi::Reference<Napi::ArrayBuffer> out_;
  const unsigned char* src_;
  size_t size_;
  unsigned char* dst_;
  int width_, height_;
};

// decodeJpeg(bytes: Uint8Array): Promise<{ width, height, data: Uint8Array (RGB) }>. The header is read here
// (microseconds) to size the output, which JS owns; the decode runs on the thread pool. Rejects for what
// TurboJPEG cannot give as RGB (CMYK, YCCK), for more than maxPixels, and for any error or warning.
static Napi::Value DecodeJpegJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const TurboJpeg& tj = turboJpeg("");
  if (!tj.initDecompress) throw Napi::Error::New(env, "ortx: libjpeg-turbo is not loaded: " + tj.error);
  if (info.Length() < 2 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      !info[1].IsNumber())
    throw Napi::TypeError::New(env, "ortx: decodeJpeg(bytes: Uint8Array, maxPixels: number)");
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  double maxPixels = info[1].As<Napi::Number>().DoubleValue();
  void* h = tj.initDecompress();
  if (!h) throw Napi::Error::New(env, "ortx: tjInitDecompress failed");
  int w = 0, ht = 0, subsamp = 0, cs = 0;
  int rc = tj.decompressHeader3(h, bytes.Data(), bytes.ByteLength(), &w, &ht, &subsamp, &cs);
  std::string err = rc != 0 ? std::string(tj.errorStr2(h)) : "";
  tj.destroy(h);
  // Refusals are rejections, as the decode's own failures are: the caller hands the image to sharp either way.
  auto refuse = [&env](const std::string& why) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Reject(Napi::Error::New(env, "libjpeg-turbo: " + why).Value());
    return d.Promise();
  };
  if (rc != 0) return refuse(err);
  if (cs == kTjcsCmyk || cs == kTjcsYcck) return refuse("a CMYK/YCCK JPEG (not decoded here)");
  if (w <= 0 || ht <= 0 || double(w) * ht > maxPixels)
    return refuse(std::to_string(w) + "x" + std::to_string(ht) + " is empty or past maxPixels");
  Napi::ArrayBuffer out = Napi::ArrayBuffer::New(env, size_t(w) * ht * 3);
  auto* worker = new JpegWorker(env, bytes, out, w, ht);
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

void InitJpeg(Napi::Env env, Napi::Object exports) {
  exports.Set("jpegInit", Napi::Function::New(env, JpegInit, "jpegInit"));
  exports.Set("decodeJpeg", Napi::Function::New(env, DecodeJpegJs, "decodeJpeg"));
}

}  // namespace ortx
