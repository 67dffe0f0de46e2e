// Softmax, log-softmax and the fused softmax + cross-entropy loss, forward and backward.
//
// Legend: R = rows (batch), C = columns (classes) per row.
// Layout: row-major (R, C) f32; row r starts at r * C.
// Bindings (group 0): inputs read-only storage first, then outputs, then the uniform `p`. Each
// entry point uses only some of them; the wrapper binds by name.
// Workgroup: WG invocations (override, a power of two, default 256) in groups of TPR threads per
// row (override, a power of two dividing WG), so one workgroup handles WG / TPR rows. TPR = 1 is
// one row per invocation (best on CPU adapters: no barriers, each invocation streams its own
// row); larger TPR reduces a row in shared memory, up to TPR = WG, one workgroup per row (long
// rows on GPUs). The wrapper picks WG and TPR per adapter and row length (lib/ops/reduce.ts).
// Every pass is (v - max) based: exp sees values <= 0, and the normaliser is kept apart from the
// max (see Shift) so that large logits lose no precision.
// Workgroups are laid out on a 2-D grid (x, y) when R / (WG / TPR) exceeds the per-dimension
// limit; the flat workgroup index is wid.y * num_workgroups.x + wid.x.
//
// softmax_forward and log_softmax_forward have *_vec4 twins that bind the same buffers as vec4
// arrays (x4, offset4, out4) for C a multiple of 4.
//
// Row reductions (row_max, row_sum, row_argmax) go through workgroup memory here; the subgroup
// variant (lib/ops/softmax.ts builds it for devices with the `subgroups` feature) swaps the part
// between the BEGIN and END markers for kernels/softmax_subgroup.wgsl, which needs no barriers.
//
// HAS_OFFSET (override): when true a per-class offset (C) is added to every row of logits before
// anything else (logit adjustment, balanced softmax); when false `offset` is bound to a dummy
// buffer and never read.

override WG: u32 = 256u;
override TPR: u32 = 1u;
override HAS_OFFSET: bool = false;
// ONLINE (override): the row max and the sum of exponentials in one read of the row instead of
// two (online softmax); the sums are rescaled as the max grows, so they round differently.
// Used by every op that calls log_sum_exp or log_sum_exp4; a tuned variant of the family.
override ONLINE: bool = false;
override RPW: u32 = WG / TPR;

struct Params {
  rows: u32,
  cols: u32,
  // softmax: unused. cross_entropy_backward: loss scale / batch. cross_entropy_finalize: 1 / R.
  alpha: f32,
  // cross_entropy_finalize: 1 adds into mean_loss and correct instead of overwriting them.
  accumulate: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;             // x: (R, C) logits
@group(0) @binding(1) var<storage, read> offset: array<f32>;        // offset: (C), or a dummy
@group(0) @binding(2) var<storage, read> labels: array<i32>;        // labels: (R) in 0..C-1
@group(0) @binding(3) var<storage, read> row_loss: array<f32>;      // row_loss: (R), from forward
@group(0) @binding(4) var<storage, read> row_pred: array<i32>;      // row_pred: (R), from forward
@group(0) @binding(5) var<storage, read_write> out: array<f32>;     // out: (R, C)
@group(0) @binding(6) var<storage, read_write> loss: array<f32>;    // loss: (R) per-row loss
@group(0) @binding(7) var<storage, read_write> pred: array<i32>;    // pred: (R) argmax per row
@group(0) @binding(8) var<storage, read_write> mean_loss: array<f32>; // mean_loss: (1)
@group(0) @binding(9) var<storage, read_write> correct: array<u32>; // correct: (1) count
@group(0) @binding(10) var<uniform> p: Params;
// The same buffers as x, offset and out seen as vec4s, for the *_vec4 entry points (C % 4 == 0).
@group(0) @binding(11) var<storage, read> x4: array<vec4<f32>>;        // x4: (R, C / 4)
@group(0) @binding(12) var<storage, read> offset4: array<vec4<f32>>;   // offset4: (C / 4)
@group(0) @binding(13) var<storage, read_write> out4: array<vec4<f32>>; // out4: (R, C / 4)

var<workgroup> red_v: array<f32, WG>;
var<workgroup> red_i: array<i32, WG>;

// The lowest finite f32 (exactly: Tint refuses a literal that rounds to it from beyond): WGSL has
// no -inf literal, and a lane with no columns must not win.
const LOWEST: f32 = -3.4028234663852886e38;

// The rows an invocation works on, and its lane within the row's group of TPR threads.
struct Slot {
  row: u32,
  lane: u32,
  // Index of the row's first thread in the workgroup (where reductions land).
  first: u32,
  // Elements (scalars or vec4s) in the row: 0 for rows past the end, which still take part in
  // barriers.
  cols: u32,
  // Index of the row's first element.
  base: u32,
}

fn slot_of(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, width: u32) -> Slot {
  let group = wid.y * nwg.x + wid.x;
  let row = group * RPW + lid / TPR;
  let lane = lid % TPR;
  let cols = p.cols / width;
  return Slot(row, lane, lid - lane, select(0u, cols, row < p.rows), row * cols);
}

fn nan() -> f32 {
  // A runtime bit pattern, so that no compiler folds it into something else.
  return bitcast<f32>(0x7fc00000u | (p.rows & 0u));
}

fn logit(base: u32, c: u32) -> f32 {
  if (HAS_OFFSET) {
    return x[base + c] + offset[c];
  }
  return x[base + c];
}

// Logits c*4 .. c*4+3 of the row starting at vec4 index base.
fn logit4(base: u32, c: u32) -> vec4<f32> {
  if (HAS_OFFSET) {
    return x4[base + c] + offset4[c];
  }
  return x4[base + c];
}

struct Top {
  value: f32,
  index: i32,
}

// BEGIN row reductions (kernels/softmax_subgroup.wgsl replaces this part for the subgroup variant)
// Reductions over the TPR threads of a row. Barriers are reached by every invocation of the
// workgroup (TPR is an override, so the branch is uniform); TPR = 1 needs none.
fn row_max(s: Slot, lid: u32, v: f32) -> f32 {
  if (TPR == 1u) {
    return v;
  }
  red_v[lid] = v;
  workgroupBarrier();
  for (var k = TPR / 2u; k > 0u; k >>= 1u) {
    if (s.lane < k) {
      red_v[lid] = max(red_v[lid], red_v[lid + k]);
    }
    workgroupBarrier();
  }
  let r = red_v[s.first];
  workgroupBarrier();
  return r;
}

fn row_sum(s: Slot, lid: u32, v: f32) -> f32 {
  if (TPR == 1u) {
    return v;
  }
  red_v[lid] = v;
  workgroupBarrier();
  for (var k = TPR / 2u; k > 0u; k >>= 1u) {
    if (s.lane < k) {
      red_v[lid] += red_v[lid + k];
    }
    workgroupBarrier();
  }
  let r = red_v[s.first];
  workgroupBarrier();
  return r;
}

// Max and the first column holding it (ties go to the smaller column, as in the CPU reference).
fn row_argmax(s: Slot, lid: u32, v: f32, i: i32) -> Top {
  if (TPR == 1u) {
    return Top(v, i);
  }
  red_v[lid] = v;
  red_i[lid] = i;
  workgroupBarrier();
  for (var k = TPR / 2u; k > 0u; k >>= 1u) {
    if (s.lane < k) {
      let ov = red_v[lid + k];
      let oi = red_i[lid + k];
      let mine = red_v[lid];
      if (ov > mine || (ov == mine && oi < red_i[lid])) {
        red_v[lid] = ov;
        red_i[lid] = oi;
      }
    }
    workgroupBarrier();
  }
  let r = Top(red_v[s.first], red_i[s.first]);
  workgroupBarrier();
  return r;
}
// END row reductions

fn max_of_row(s: Slot, lid: u32) -> f32 {
  var m = LOWEST;
  for (var c = s.lane; c < s.cols; c += TPR) {
    m = max(m, logit(s.base, c));
  }
  return row_max(s, lid, m);
}

// The row max m and log(sum(exp(v - m))): softmax is exp((v - m) - log_sum), log-softmax
// (v - m) - log_sum. Kept apart because m + log_sum rounds to the ulp of m (0.001 at 1e4), and
// v - m is exact enough whatever the size of the logits.
struct Shift {
  max: f32,
  log_sum: f32,
}

fn log_sum_exp(s: Slot, lid: u32) -> Shift {
  if (ONLINE) {
    return log_sum_exp_online(s, lid);
  }
  let m = max_of_row(s, lid);
  var sum = 0.0;
  for (var c = s.lane; c < s.cols; c += TPR) {
    sum += exp(logit(s.base, c) - m);
  }
  return Shift(m, log(row_sum(s, lid, sum)));
}

// Logit c, or LOWEST past the row's end (exp of it minus any max is 0).
fn logit_or_lowest(s: Slot, c: u32) -> f32 {
  return select(LOWEST, logit(s.base, min(c, s.cols - 1u)), c < s.cols);
}

// log_sum_exp in one read of the row: each lane keeps a running max m and a sum relative to it,
// rescaled once per chunk of four values; the lanes' sums are rescaled to the row max at the end.
fn log_sum_exp_online(s: Slot, lid: u32) -> Shift {
  var m = LOWEST;
  var sum = 0.0;
  for (var c = s.lane; c < s.cols; c += 4u * TPR) {
    let v = vec4(logit(s.base, c), logit_or_lowest(s, c + TPR), logit_or_lowest(s, c + 2u * TPR),
      logit_or_lowest(s, c + 3u * TPR));
    let mn = max(m, max(max(v.x, v.y), max(v.z, v.w)));
    sum = sum * exp(m - mn) + dot(exp(v - mn), vec4<f32>(1.0));
    m = mn;
  }
  let row_m = row_max(s, lid, m);
  return Shift(row_m, log(row_sum(s, lid, sum * exp(m - row_m))));
}

fn log_sum_exp4(s: Slot, lid: u32) -> Shift {
  if (ONLINE) {
    return log_sum_exp4_online(s, lid);
  }
  var m4 = vec4<f32>(LOWEST);
  for (var c = s.lane; c < s.cols; c += TPR) {
    m4 = max(m4, logit4(s.base, c));
  }
  let m = row_max(s, lid, max(max(m4.x, m4.y), max(m4.z, m4.w)));
  var sum4 = vec4<f32>(0.0);
  for (var c = s.lane; c < s.cols; c += TPR) {
    sum4 += exp(logit4(s.base, c) - m);
  }
  return Shift(m, log(row_sum(s, lid, dot(sum4, vec4<f32>(1.0)))));
}

// Logits c*4 .. c*4+3, or LOWEST past the row's end.
fn logit4_or_lowest(s: Slot, c: u32) -> vec4<f32> {
  return select(vec4<f32>(LOWEST), logit4(s.base, min(c, s.cols - 1u)), c < s.cols);
}

// log_sum_exp4 in one read of the row, as log_sum_exp_online with chunks of four vec4.
fn log_sum_exp4_online(s: Slot, lid: u32) -> Shift {
  var m = LOWEST;
  var sum4 = vec4<f32>(0.0);
  for (var c = s.lane; c < s.cols; c += 4u * TPR) {
    let v0 = logit4(s.base, c);
    let v1 = logit4_or_lowest(s, c + TPR);
    let v2 = logit4_or_lowest(s, c + 2u * TPR);
    let v3 = logit4_or_lowest(s, c + 3u * TPR);
    let c4 = max(max(v0, v1), max(v2, v3));
    let mn = max(m, max(max(c4.x, c4.y), max(c4.z, c4.w)));
    sum4 = sum4 * exp(m - mn) + ((exp(v0 - mn) + exp(v1 - mn)) + (exp(v2 - mn) + exp(v3 - mn)));
    m = mn;
  }
  let row_m = row_max(s, lid, m);
  return Shift(row_m, log(row_sum(s, lid, dot(sum4, vec4<f32>(1.0)) * exp(m - row_m))));
}

// out = softmax(x + offset) along each row. Overwrites out.
@compute @workgroup_size(WG)
fn softmax_forward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let s = slot_of(wid, nwg, lid, 1u);
  let shift = log_sum_exp(s, lid);
  // exp is recomputed rather than stored and rescaled: one write per element, no read-back.
  for (var c = s.lane; c < s.cols; c += TPR) {
    out[s.base + c] = exp((logit(s.base, c) - shift.max) - shift.log_sum);
  }
}

// out = log_softmax(x + offset) = v - log(sum(exp(v))), computed as (v - m) - log(sum(exp(v - m)))
// with m the row max. Overwrites out.
@compute @workgroup_size(WG)
fn log_softmax_forward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let s = slot_of(wid, nwg, lid, 1u);
  let shift = log_sum_exp(s, lid);
  for (var c = s.lane; c < s.cols; c += TPR) {
    out[s.base + c] = (logit(s.base, c) - shift.max) - shift.log_sum;
  }
}

// The same two ops reading and writing vec4s, for C a multiple of 4 (rows then start on 16-byte
// boundaries). On CPU adapters every storage access of a lane is a separate bounds-checked load,
// so four values per access roughly double the throughput.
@compute @workgroup_size(WG)
fn softmax_forward_vec4(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let s = slot_of(wid, nwg, lid, 4u);
  let shift = log_sum_exp4(s, lid);
  for (var c = s.lane; c < s.cols; c += TPR) {
    out4[s.base + c] = exp((logit4(s.base, c) - shift.max) - shift.log_sum);
  }
}

@compute @workgroup_size(WG)
fn log_softmax_forward_vec4(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let s = slot_of(wid, nwg, lid, 4u);
  let shift = log_sum_exp4(s, lid);
  for (var c = s.lane; c < s.cols; c += TPR) {
    out4[s.base + c] = (logit4(s.base, c) - shift.max) - shift.log_sum;
  }
}

// loss[r] = logsumexp(v) - v[label] with v = x[r] + offset; pred[r] = argmax(v).
// A label outside 0..C-1 gives a NaN loss (it is never used as an index). Overwrites loss, pred.
@compute @workgroup_size(WG)
fn cross_entropy_forward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let s = slot_of(wid, nwg, lid, 1u);
  var m = LOWEST;
  // A lane without columns reports index C so that it never wins a tie.
  var best = select(i32(p.cols), i32(s.lane), s.lane < s.cols);
  for (var c = s.lane; c < s.cols; c += TPR) {
    let v = logit(s.base, c);
    if (v > m) {
      m = v;
      best = i32(c);
    }
  }
  let top = row_argmax(s, lid, m, best);
  m = top.value;
  var sum = 0.0;
  for (var c = s.lane; c < s.cols; c += TPR) {
    sum += exp(logit(s.base, c) - m);
  }
  let total = row_sum(s, lid, sum);
  if (s.lane == 0u && s.row < p.rows) {
    let label = labels[s.row];
    if (label >= 0i && u32(label) < p.cols) {
      loss[s.row] = (m - logit(s.base, u32(label))) + log(total);
    } else {
      loss[s.row] = nan();
    }
    pred[s.row] = top.index;
  }
}

// out = alpha * (softmax(x + offset) - onehot(label)); alpha is loss scale / batch. A row whose
// label is outside 0..C-1 gets NaN gradients. Overwrites out (dlogits).
@compute @workgroup_size(WG)
fn cross_entropy_backward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let s = slot_of(wid, nwg, lid, 1u);
  let shift = log_sum_exp(s, lid);
  var label = -1i;
  if (s.row < p.rows) {
    label = labels[s.row];
  }
  let bad = label < 0i || u32(label) >= p.cols;
  for (var c = s.lane; c < s.cols; c += TPR) {
    let e = exp((logit(s.base, c) - shift.max) - shift.log_sum);
    let g = p.alpha * (e - select(0.0, 1.0, i32(c) == label));
    out[s.base + c] = select(g, nan(), bad);
  }
}

// mean_loss[0] = alpha * sum(row_loss) (alpha = 1 / R gives the mean) and
// correct[0] = #{r : row_pred[r] == labels[r]}; both overwrite, or add when accumulate is 1.
// Dispatched as a single workgroup (TPR is ignored).
@compute @workgroup_size(WG)
fn cross_entropy_finalize(@builtin(local_invocation_index) lid: u32) {
  var sum = 0.0;
  var hits = 0i;
  for (var r = lid; r < p.rows; r += WG) {
    sum += row_loss[r];
    hits += select(0i, 1i, row_pred[r] == labels[r]);
  }
  red_v[lid] = sum;
  red_i[lid] = hits;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) {
      red_v[lid] += red_v[lid + k];
      red_i[lid] += red_i[lid + k];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let mean = p.alpha * red_v[0];
    let count = u32(red_i[0]);
    if (p.accumulate == 1u) {
      mean_loss[0] += mean;
      correct[0] += count;
    } else {
      mean_loss[0] = mean;
      correct[0] = count;
    }
  }
}
