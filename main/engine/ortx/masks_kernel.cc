// The host mask post-processing itself (masks_kernel.h), apart from its N-API binding (masks.cc): the same
// result, bit for bit, as the engine's TypeScript (postprocess.ts lowResToMask, then common/rle encode, compress,
// area, toBbox), at a fraction of its time (13-15 ms in TypeScript for one 960x540 mask).
//
// Bit-identity with the TypeScript: every interpolation is computed in double from float32 operands and
// stored as float32, as JS does with Float32Arrays (`a + (b - a) * f`), in the same order (rows then columns
// within each resize), and the final value is compared with the threshold in double, unrounded. The build
// turns floating-point contraction off (binding.gyp: -ffp-contract=off), so no fused multiply-add changes a
// rounding.
//
// Work split: an output column depends only on a few columns of each earlier stage, so each mask is cut into
// bands of whole columns; a band computes just the columns it needs, column-major (the order COCO RLE runs
// in), and ends as a list of runs. Bands of a mask are joined in order, then each mask gets its string.
// Within a band, 16x16 tiles whose low-res logits all lie on one side of the threshold are filled without
// computing their pixels (bandRuns): a real mask is a boundary through such tiles (4x faster here), a noisy
// one (random weights) has few and is computed pixel by pixel, the band as one region (tilePixels).
#include "masks_kernel.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>

// -O3 for this file only (the addon builds at -O2): its vectorized loops take noisy masks ~10% faster here.
// Floating point is unchanged by it (no -ffast-math; contraction is off).
#pragma GCC optimize("O3")
namespace ortx::masks {

namespace {

// A band narrower than this costs more in the columns it recomputes at its edges than it saves.
constexpr int kMinBandColumns = 48;
// A band no wider than this keeps each thread's buffers (kept between calls) near 2 MB even for a photo of
// 4000 columns, and within the cache.
constexpr int kMaxBandColumns = 256;

// A few threads that split one call's work. Calls from several libuv threads take turns (each is short);
// the calling thread works too. Created on first use, never destroyed (a static at exit would join threads
// that wait forever), sized to the machine's cores up to 16.
class Pool {
 public:
  static Pool& get() {
    static Pool* pool = new Pool();
    return *pool;
  }
  int threads() const { return int(workers_.size()) + 1; }

  // Runs f(0) .. f(n-1) over the threads; returns when all are done. An exception in any (bad_alloc on a
  // huge mask) is rethrown here, on the calling thread, once the others have finished: one escaping a pool
  // thread would end the process.
  void forEach(int n, const std::function<void(int)>& f) {
    if (n <= 0) return;
    if (n == 1 || workers_.empty()) {
      for (int i = 0; i < n; i++) f(i);
      return;
    }
    std::lock_guard<std::mutex> call(callMutex_);
    {
      std::lock_guard<std::mutex> lock(m_);
      job_ = &f;
      total_ = n;
      next_.store(0);
      pending_ = int(workers_.size());
      error_ = nullptr;
      gen_++;
    }
    cv_.notify_all();
    drain();
    std::unique_lock<std::mutex> lock(m_);
    done_.wait(lock, [this] { return pending_ == 0; });
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  Pool() {
    unsigned hw = std::thread::hardware_concurrency();
    int n = std::max(1, std::min(16, int(hw == 0 ? 1 : hw))) - 1;
    for (int i = 0; i < n; i++) {
      workers_.emplace_back([this] { loop(); });
      workers_.back().detach();
    }
  }
  void drain() {
    for (;;) {
      int i = next_.fetch_add(1);
      if (i >= total_) return;
      try {
        (*job_)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m_);
        if (!error_) error_ = std::current_exception();
        // The rest is skipped: the call fails as a whole.
        next_.store(total_);
      }
    }
  }
  void loop() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [&] { return gen_ != seen; });
        seen = gen_;
      }
      drain();
      {
        std::lock_guard<std::mutex> lock(m_);
        if (--pending_ == 0) done_.notify_one();
      }
    }
  }
  std::vector<std::thread> workers_;
  std::mutex callMutex_;
  std::mutex m_;
  std::condition_variable cv_, done_;
  const std::function<void(int)>* job_ = nullptr;
  int total_ = 0;
  std::atomic<int> next_{0};
  int pending_ = 0;
  std::exception_ptr error_;
  uint64_t gen_ = 0;
};

// PyTorch bilinear (align_corners=False) sample positions, as postprocess.ts axis(): for output index o of
// a resize in -> out, the two source indices and the weight of the second, over the first `count` outputs.
struct Axis {
  std::vector<int32_t> i0, i1;
  std::vector<float> f;
};

Axis makeAxis(int in, int out, int count) {
  Axis a;
  a.i0.resize(count);
  a.i1.resize(count);
  a.f.resize(count);
  const double scale = double(in) / double(out);
  for (int o = 0; o < count; o++) {
    const double src = std::max(0.0, (o + 0.5) * scale - 0.5);
    const int lo = std::min(int(std::floor(src)), in - 1);
    a.i0[o] = lo;
    a.i1[o] = std::min(lo + 1, in - 1);
    a.f[o] = float(src - lo);
  }
  return a;
}

inline float lerp(float a, float b, float f) { return float(double(a) + (double(b) - double(a)) * double(f)); }

// The four axes of one geometry: 256 -> inputSize (columns, then rows) cropped to the resized frame, then the
// resized frame -> the image.
struct Axes {
  Axis upCols, upRows, outCols, outRows;
  // For each image column (row): the first and last low-res column (row) any of its taps reads.
  std::vector<int32_t> colLo, colHi, rowLo, rowHi;
  explicit Axes(const Geometry& g)
      : upCols(makeAxis(kLowRes, g.inputSize, g.resizedWidth)),
        upRows(makeAxis(kLowRes, g.inputSize, g.resizedHeight)),
        outCols(makeAxis(g.resizedWidth, g.width, g.width)),
        outRows(makeAxis(g.resizedHeight, g.height, g.height)) {
    spans(outCols, upCols, colLo, colHi);
    spans(outRows, upRows, rowLo, rowHi);
  }
  static void spans(const Axis& out, const Axis& up, std::vector<int32_t>& lo, std::vector<int32_t>& hi) {
    lo.resize(out.i0.size());
    hi.resize(out.i0.size());
    for (size_t k = 0; k < out.i0.size(); k++) {
      lo[k] = up.i0[out.i0[k]];
      hi[k] = up.i1[out.i1[k]];
    }
  }
};

// Runs of one band of columns in column-major order: the value of its first pixel and the run lengths.
struct Band {
  bool firstInside = false;
  std::vector<uint32_t> runs;
};

// Tiles of kTile x kTile image pixels are decided from the low-res logits under them where they can be:
// each upscaled value is a convex combination of those logits, and rounding to float32 between the stages
// keeps it within their range (a float between two floats rounds to one of them at worst), so a tile whose
// logits all lie above the threshold (below it), by a margin far larger than the final step's double
// rounding, is inside (outside) whole. Real masks are a boundary through mostly decided tiles; noisy ones
// (random weights) leave most undecided and take the staged path.
constexpr int kTile = 16;
// Bands that took each path, for the tests (upscaleStats): both must be reached.
std::atomic<uint64_t> g_tiledBands{0}, g_stagedBands{0};

// The margin past which a window's range decides its pixels: the last step computes in double (about 1e-16
// relative error), so 1e-9 relative is far on the safe side.
inline double margin(double threshold, double lo, double hi) {
  return std::isfinite(threshold) ? 1e-9 * (std::fabs(threshold) + std::fabs(lo) + std::fabs(hi)) : 0.0;
}

// Pixels [xs, xe) x [ys, ye) of the mask into `bits` (column-major, `h` per column, column 0 being the band's
// x0): the one place of the arithmetic (bit-identity, at the top). Each stage is computed for just the columns
// and rows the next one reads, column-major, so the last pass walks each column top to bottom as RLE does.
void tilePixels(const float* plane, const Axes& ax, int x0, int xs, int xe, int ys, int ye, int h,
                double threshold, uint8_t* bits) {
  // Resized rows and columns, then low-res rows, that these pixels read.
  const int ra = ax.outRows.i0[ys], rb = ax.outRows.i1[ye - 1];
  const int ua = ax.outCols.i0[xs], ub = ax.outCols.i1[xe - 1];
  const int la = ax.upRows.i0[ra], lb = ax.upRows.i1[rb];
  const int nr = rb - ra + 1, nu = ub - ua + 1, nl = lb - la + 1;
  // Column-major scratch of this thread: [u][low-res row], [u][resized row], [x][resized row]. An image
  // smaller than the model's frame spans many resized rows per pixel, so the sizes vary.
  thread_local std::vector<float> t1, up, tmp;
  t1.resize(size_t(nu) * nl);
  up.resize(size_t(nu) * nr);
  tmp.resize(size_t(xe - xs) * nr);
  for (int u = 0; u < nu; u++) {
    const int c = ua + u;
    float* t = t1.data() + size_t(u) * nl;
    for (int l = 0; l < nl; l++) {
      const float* row = plane + size_t(la + l) * kLowRes;
      t[l] = lerp(row[ax.upCols.i0[c]], row[ax.upCols.i1[c]], ax.upCols.f[c]);
    }
    float* o = up.data() + size_t(u) * nr;
    for (int r = 0; r < nr; r++) {
      const int y = ra + r;
      o[r] = lerp(t[ax.upRows.i0[y] - la], t[ax.upRows.i1[y] - la], ax.upRows.f[y]);
    }
  }
  for (int x = xs; x < xe; x++) {
    const float* a = up.data() + size_t(ax.outCols.i0[x] - ua) * nr;
    const float* b = up.data() + size_t(ax.outCols.i1[x] - ua) * nr;
    const float f = ax.outCols.f[x];
    float* t = tmp.data() + size_t(x - xs) * nr;
    for (int r = 0; r < nr; r++) t[r] = lerp(a[r], b[r], f);
    uint8_t* dst = bits + size_t(x - x0) * h;
    for (int y = ys; y < ye; y++) {
      const double p = t[ax.outRows.i0[y] - ra];
      dst[y] = p + (double(t[ax.outRows.i1[y] - ra]) - p) * double(ax.outRows.f[y]) > threshold;
    }
  }
}

// The runs of column-major 0/1 bytes, eight at a time where nothing changes (most of a real mask).
void runsOf(const uint8_t* b, size_t n, Band& band) {
  band.runs.clear();
  band.firstInside = b[0] != 0;
  uint8_t cur = b[0];
  uint32_t len = 0;
  size_t p = 0;
  while (p < n) {
    if (p + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, b + p, 8);
      if (w == (cur ? 0x0101010101010101ull : 0ull)) {
        len += 8;
        p += 8;
        continue;
      }
    }
    if (b[p] == cur) {
      len++;
    } else {
      band.runs.push_back(len);
      cur = b[p];
      len = 1;
    }
    p++;
  }
  band.runs.push_back(len);
}

// Columns [x0, x1) of one mask: decided tiles filled, the rest computed, then the runs; or, when most tiles
// are undecided, every pixel of the band computed at once. The same pixels either way.
void bandRuns(const float* plane, const Geometry& g, const Axes& ax, int x0, int x1, double threshold,
              Band& band) {
  const int h = g.height, nx = x1 - x0;
  const int tx = (nx + kTile - 1) / kTile, ty = (h + kTile - 1) / kTile;
  thread_local std::vector<int8_t> cls;
  cls.assign(size_t(tx) * ty, -1);
  size_t undecided = 0;
  for (int i = 0; i < tx; i++) {
    const int xs = x0 + i * kTile, xe = std::min(x1, xs + kTile);
    const int c0 = ax.colLo[xs], c1 = ax.colHi[xe - 1];
    for (int j = 0; j < ty; j++) {
      const int ys = j * kTile, ye = std::min(h, ys + kTile);
      float lo = INFINITY, hi = -INFINITY;
      bool finite = true;
      for (int r = ax.rowLo[ys]; r <= ax.rowHi[ye - 1]; r++)
        for (int c = c0; c <= c1; c++) {
          const float v = plane[size_t(r) * kLowRes + c];
          finite = finite && std::isfinite(v);
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
      const double m = finite ? margin(threshold, lo, hi) : 0.0;
      int8_t& k = cls[size_t(i) * ty + j];
      if (finite && double(lo) > threshold + m) k = 1;
      else if (finite && double(hi) < threshold - m) k = 0;
      else undecided++;
    }
  }
  thread_local std::vector<uint8_t> bits;
  bits.resize(size_t(nx) * h);
  if (2 * undecided > cls.size()) {
    // Mostly undecided (a noisy mask): every pixel, the band as one region.
    g_stagedBands++;
    tilePixels(plane, ax, x0, x0, x1, 0, h, h, threshold, bits.data());
    return runsOf(bits.data(), bits.size(), band);
  }
  g_tiledBands++;
  for (int i = 0; i < tx; i++) {
    const int xs = x0 + i * kTile, xe = std::min(x1, xs + kTile);
    for (int j = 0; j < ty; j++) {
      const int ys = j * kTile, ye = std::min(h, ys + kTile);
      const int8_t k = cls[size_t(i) * ty + j];
      if (k < 0) {
        tilePixels(plane, ax, x0, xs, xe, ys, ye, h, threshold, bits.data());
        continue;
      }
      for (int x = xs; x < xe; x++) std::memset(bits.data() + size_t(x - x0) * h + ys, k, size_t(ye - ys));
    }
  }
  runsOf(bits.data(), bits.size(), band);
}

// pycocotools' rleToString: counts from the 4th on as the difference to the count two back, in signed
// 5-bit groups (0x20: more follows) plus 48.
void countsToString(const std::vector<uint32_t>& counts, std::string& out) {
  out.clear();
  out.reserve(counts.size() * 2);
  for (size_t i = 0; i < counts.size(); i++) {
    int64_t x = int64_t(counts[i]);
    if (i > 2) x -= int64_t(counts[i - 2]);
    for (;;) {
      int64_t c = x & 0x1f;
      x >>= 5;
      const bool more = (c & 0x10) ? x != -1 : x != 0;
      if (more) c |= 0x20;
      out.push_back(char(c + 48));
      if (!more) break;
    }
  }
}

// common/rle toBbox on counts without empty runs after the first (as a mask's runs are).
void countsBox(const std::vector<uint32_t>& counts, int h, int w, double box[4]) {
  const size_t m = counts.size() / 2 * 2;
  if (m == 0) {
    box[0] = box[1] = box[2] = box[3] = 0;
    return;
  }
  int64_t xs = w, ys = h, xe = 0, ye = 0, cc = 0, xp = 0;
  for (size_t j = 0; j < m; j++) {
    cc += counts[j];
    const int64_t t = cc - int64_t(j % 2);
    const int64_t y = t % h, x = t / h;
    if (j % 2 == 0) xp = x;
    else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    xs = std::min(xs, x);
    xe = std::max(xe, x);
    ys = std::min(ys, y);
    ye = std::max(ye, y);
  }
  box[0] = double(xs);
  box[1] = double(ys);
  box[2] = double(xe - xs + 1);
  box[3] = double(ye - ys + 1);
}

}  // namespace

int poolThreads() { return Pool::get().threads(); }

Stats stats() { return {g_tiledBands.load(), g_stagedBands.load()}; }

void upscale(const float* planes, const std::vector<int32_t>& index, const Geometry& g, double threshold,
             int bandsAsked, std::vector<MaskOut>& out) {
  const int n = int(index.size());
  out.resize(n);
  if (n == 0) return;
  const Axes ax(g);
  Pool& pool = Pool::get();
  // Enough bands to keep every thread busy, none narrower than kMinBandColumns nor wider than
  // kMaxBandColumns (or as many as asked for).
  const int maxBands = std::max(1, g.width / kMinBandColumns);
  const int minBands = (g.width + kMaxBandColumns - 1) / kMaxBandColumns;
  const int perMask = bandsAsked > 0 ? std::min(bandsAsked, g.width)
                                 : std::max(minBands, std::min(maxBands, (2 * pool.threads() + n - 1) / n));
  std::vector<Band> bands(size_t(n) * perMask);
  pool.forEach(n * perMask, [&](int i) {
    const int mask = i / perMask, part = i % perMask;
    const int x0 = int(int64_t(g.width) * part / perMask);
    const int x1 = int(int64_t(g.width) * (part + 1) / perMask);
    bandRuns(planes + size_t(index[mask]) * kPlane, g, ax, x0, x1, threshold, bands[i]);
  });
  pool.forEach(n, [&](int mask) {
    // Join the bands (a run may go on across a band's edge), starting with a background run as encode().
    std::vector<uint32_t> counts;
    size_t total = 0;
    for (int p = 0; p < perMask; p++) total += bands[size_t(mask) * perMask + p].runs.size();
    counts.reserve(total + 1);
    bool cur = false;
    for (int p = 0; p < perMask; p++) {
      Band& b = bands[size_t(mask) * perMask + p];
      size_t k = 0;
      if (counts.empty()) {
        if (b.firstInside) counts.push_back(0);
      } else if (b.firstInside == cur) {
        counts.back() += b.runs[0];
        k = 1;
      }
      for (; k < b.runs.size(); k++) counts.push_back(b.runs[k]);
      // The band's last run has the value its first one had, flipped once per run boundary.
      cur = ((b.runs.size() - 1) % 2 == 0) ? b.firstInside : !b.firstInside;
      std::vector<uint32_t>().swap(b.runs);
    }
    MaskOut& o = out[mask];
    countsToString(counts, o.rle);
    double a = 0;
    for (size_t k = 1; k < counts.size(); k += 2) a += counts[k];
    o.area = a;
    countsBox(counts, g.height, g.width, o.box);
  });
}

}  // namespace ortx::masks
