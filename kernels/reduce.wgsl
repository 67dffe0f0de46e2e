// Reductions: row sums, column sums (bias gradients), per-channel sums, argmax per row, and the
// partial sums behind the sum of a whole tensor.
//
// Legend: R = rows, C = columns; for channel_sum N = batch, C = channels, S = spatial (H * W);
// G = partial sums (workgroups of sum_partial).
// Layout: row-major; (R, C) has row r at r * C; (N, C, S) has (n, c) at (n * C + c) * S.
// Bindings (group 0): input `x` read-only storage, then outputs, then the uniform `p`.
// Workgroup: WG invocations (override, a power of two, default 256).
// - row_sum, argmax_rows: TPR threads per row (override, a power of two dividing WG): TPR = 1 is
//   one row per invocation (CPU adapters), larger TPR reduces a row in shared memory (GPUs).
//   Workgroups lie on a 2-D grid; flat index wid.y * num_workgroups.x + wid.x.
// - col_sum: TX columns per workgroup (override, a power of two dividing WG) times WG / TX threads
//   that stride down the rows, then a shared-memory reduction over those threads.
// - channel_sum: one workgroup per channel (on the 2-D grid, as row_sum), all WG threads stride
//   over its N * S values.
// - sum_partial: workgroup g sums x[g * chunk .. (g + 1) * chunk); row_sum over (1, G) finishes.
// Outputs: out = alpha * sum, or out += alpha * sum when accumulate is 1.

override WG: u32 = 256u;
override TPR: u32 = 1u;
override TX: u32 = 16u;
override RPW: u32 = WG / TPR;
override TY: u32 = WG / TX;

struct Params {
  // row_sum, argmax_rows, col_sum: R. channel_sum: N. sum_partial: total elements.
  rows: u32,
  // row_sum, argmax_rows, col_sum: C. channel_sum: C. sum_partial: elements per workgroup.
  cols: u32,
  // channel_sum: S; unused elsewhere.
  inner: u32,
  accumulate: u32,
  alpha: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;          // x: (R, C), (N, C, S) or (n)
@group(0) @binding(1) var<storage, read_write> out: array<f32>;  // out: (R), (C) or (G)
@group(0) @binding(2) var<storage, read_write> index: array<i32>; // index: (R) argmax
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> red_v: array<f32, WG>;
var<workgroup> red_i: array<i32, WG>;

// The lowest finite f32, exactly (Tint refuses a literal beyond it, even one that rounds to it).
const LOWEST: f32 = -3.4028234663852886e38;

fn store(i: u32, total: f32) {
  if (p.accumulate == 1u) {
    out[i] += p.alpha * total;
  } else {
    out[i] = p.alpha * total;
  }
}

// Tree sum of red_v[lo .. lo + width) for invocations whose offset inside their segment is
// `lane`, with segments `stride` apart in the flat index (col_sum reduces down a column, so its
// partners sit TX apart). Returns the segment total to every invocation of the segment.
fn tree_sum(lid: u32, lane: u32, width: u32, stride: u32, v: f32) -> f32 {
  red_v[lid] = v;
  workgroupBarrier();
  for (var k = width / 2u; k > 0u; k >>= 1u) {
    if (lane < k) {
      red_v[lid] += red_v[lid + k * stride];
    }
    workgroupBarrier();
  }
  let r = red_v[lid - lane * stride];
  workgroupBarrier();
  return r;
}

// BEGIN row reductions (kernels/reduce_subgroup.wgsl replaces this part for the subgroup variant)
// The sum of a row's TPR partial sums, to every lane of the row (TPR > 1; uniform control flow).
fn row_total(lid: u32, lane: u32, v: f32) -> f32 {
  return tree_sum(lid, lane, TPR, 1u, v);
}

// The row's first argmax from each lane's (max, first column): ties go to the smaller column.
fn row_best(lid: u32, lane: u32, m: f32, best: i32) -> i32 {
  red_v[lid] = m;
  red_i[lid] = best;
  workgroupBarrier();
  for (var k = TPR / 2u; k > 0u; k >>= 1u) {
    if (lane < k) {
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
  return red_i[lid];
}
// END row reductions

// out[r] = alpha * sum_c x[r, c] (+ out[r] when accumulating).
@compute @workgroup_size(WG)
fn row_sum(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = (wid.y * nwg.x + wid.x) * RPW + lid / TPR;
  let lane = lid % TPR;
  let cols = select(0u, p.cols, row < p.rows);
  let base = row * p.cols;
  var acc = 0.0;
  for (var c = lane; c < cols; c += TPR) {
    acc += x[base + c];
  }
  if (TPR > 1u) {
    acc = row_total(lid, lane, acc);
  }
  if (lane == 0u && row < p.rows) {
    store(row, acc);
  }
}

// index[r] = the first c with x[r, c] = max_c x[r, c]. Overwrites index.
@compute @workgroup_size(WG)
fn argmax_rows(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = (wid.y * nwg.x + wid.x) * RPW + lid / TPR;
  let lane = lid % TPR;
  let cols = select(0u, p.cols, row < p.rows);
  let base = row * p.cols;
  var m = LOWEST;
  // A lane without columns reports index C so that it never wins a tie.
  var best = select(i32(p.cols), i32(lane), lane < cols);
  for (var c = lane; c < cols; c += TPR) {
    let v = x[base + c];
    if (v > m) {
      m = v;
      best = i32(c);
    }
  }
  if (TPR > 1u) {
    best = row_best(lid, lane, m, best);
  }
  if (lane == 0u && row < p.rows) {
    index[row] = best;
  }
}

// out[c] = alpha * sum_r x[r, c] (+ out[c] when accumulating): bias gradients from (R, C) dy.
@compute @workgroup_size(WG)
fn col_sum(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let tx = lid % TX;
  let ty = lid / TX;
  let col = (wid.y * nwg.x + wid.x) * TX + tx;
  let rows = select(0u, p.rows, col < p.cols);
  var acc = 0.0;
  for (var r = ty; r < rows; r += TY) {
    acc += x[r * p.cols + col];
  }
  if (TY > 1u) {
    acc = tree_sum(lid, ty, TY, TX, acc);
  }
  if (ty == 0u && col < p.cols) {
    store(col, acc);
  }
}

// out[c] = alpha * sum_{n, s} x[n, c, s] (+ out[c] when accumulating). One workgroup per
// channel on the folded 2-D grid: c = wid.y * num_workgroups.x + wid.x.
@compute @workgroup_size(WG)
fn channel_sum(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let c = wid.y * nwg.x + wid.x;
  // Uniform per workgroup (the folded grid's last row may overhang), so barriers stay uniform.
  if (c >= p.cols) { return; }
  let s_len = p.inner;
  let count = p.rows * s_len;
  // Walk i = lid, lid + WG, ... as (n, s) without a division per element: one step of WG
  // elements advances n by WG / S and s by WG % S, with at most one carry.
  let dn = WG / s_len;
  let ds = WG % s_len;
  var n = lid / s_len;
  var s = lid % s_len;
  var acc = 0.0;
  for (var i = lid; i < count; i += WG) {
    acc += x[(n * p.cols + c) * s_len + s];
    n += dn;
    s += ds;
    if (s >= s_len) {
      s -= s_len;
      n += 1u;
    }
  }
  let total = tree_sum(lid, lid, WG, 1u, acc);
  if (lid == 0u) {
    store(c, total);
  }
}

// out[g] = sum of x[g * chunk .. min(n, (g + 1) * chunk)) with chunk = p.cols, n = p.rows;
// always overwrites (alpha and accumulate apply in the row_sum that finishes the job).
@compute @workgroup_size(WG)
fn sum_partial(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let g = wid.y * nwg.x + wid.x;
  let start = g * p.cols;
  let end = min(p.rows, start + p.cols);
  var acc = 0.0;
  for (var i = start + lid; i < end; i += WG) {
    acc += x[i];
  }
  let total = tree_sum(lid, lid, WG, 1u, acc);
  if (lid == 0u) {
    out[g] = total;
  }
}
