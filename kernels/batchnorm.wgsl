// Batch normalisation per channel over (N, H, W): training statistics, normalisation, eval
// parameters, and the backward pass. An optional ReLU is fused into the output (forward) and into
// the incoming gradient (backward, masked where the forward output y <= 0).
//
// Legend: N batch, C channels, HW = H*W (1 for 2-D (N,C) input), M = N*HW values per channel,
// V = HW/4 when HW is a multiple of 4 (the vec4 entry points), else HW (the scalar ones).
// Layout: x, y, dy, dx, ymask (N,C,H,W) row-major; gamma, beta, mean, inv_std, running_mean,
// running_var, dgamma, dbeta (C); coef (C) vec4 of per-channel constants (see below).
// Bindings (group 0): read-only first, then read_write, then the uniform `p` (binding 20).
// Workgroup: WG (override) invocations. Reductions (bn_stats, bn_backward_reduce) run one
// workgroup per channel and combine partial results in workgroup memory, which needs WG to be a
// power of two.
// Grid: every entry point numbers its work along one range folded into x and y past the
// device's maxComputeWorkgroupsPerDimension (grid1d on the host): item gid.y * row + gid.x
// (workgroups for the reductions, invocations for the others), so any channel count and
// tensor size dispatches.
//
// Accuracy: each invocation sums values shifted by the first value it sees, and the partial
// (count, mean, M2) triples are merged with Chan's formula, so an offset of 1e2 on unit-variance
// data costs no precision (a plain sum of squares would lose about four digits).
//
// coef, forward:  (scale, center, shift, 0): y = (x - center) * scale + shift.
// coef, backward: (k, b, center, d): dx = k * dy + b * (x - center) + d, with k = gamma * inv_std,
//                 b = -k * inv_std * dgamma / M, d = -k * dbeta / M, center = mean.

override WG: u32 = 64u;

struct Bn {
  n: u32,        // N
  c: u32,        // C
  v: u32,        // V: values (vec4 or scalar) per (image, channel) plane
  count: u32,    // M in the units of the entry point (scalar values or vec4s) per channel
  per: u32,      // apply kernels: values per invocation
  relu: u32,     // 1: fuse ReLU (forward: clamp y; backward: mask dy by ymask > 0)
  momentum: f32, // running = (1 - momentum) running + momentum batch statistic
  eps: f32,
  unbias: f32,   // M / (M - 1): biased to unbiased variance for the running average
  inv_m: f32,    // 1 / M (M in scalar values)
  row: u32,      // items per row of the folded grid (workgroups or invocations)
  span: u32,     // apply kernels: invocations per channel, ceil(count / per)
}

@group(0) @binding(0) var<storage, read> x: array<f32>;              // x: (N,C,H,W)
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;       // x as vec4, HW % 4 == 0
@group(0) @binding(2) var<storage, read> dy: array<f32>;             // dy: (N,C,H,W)
@group(0) @binding(3) var<storage, read> dy4: array<vec4<f32>>;      // dy as vec4
@group(0) @binding(4) var<storage, read> ymask: array<f32>;          // forward output y, for the fused ReLU
@group(0) @binding(5) var<storage, read> ymask4: array<vec4<f32>>;   // ymask as vec4
@group(0) @binding(6) var<storage, read> gamma: array<f32>;          // gamma: (C)
@group(0) @binding(7) var<storage, read> beta: array<f32>;           // beta: (C)
@group(0) @binding(8) var<storage, read> mean_in: array<f32>;        // saved batch mean: (C)
@group(0) @binding(9) var<storage, read> inv_std_in: array<f32>;     // saved 1/sqrt(var + eps): (C)
@group(0) @binding(10) var<storage, read> running_mean_in: array<f32>; // eval: (C)
@group(0) @binding(11) var<storage, read> running_var_in: array<f32>;  // eval: (C)
@group(0) @binding(12) var<storage, read> coef: array<vec4<f32>>;    // coef: (C) vec4
@group(0) @binding(13) var<storage, read_write> out: array<f32>;     // y or dx: (N,C,H,W)
@group(0) @binding(14) var<storage, read_write> out4: array<vec4<f32>>; // out as vec4
@group(0) @binding(15) var<storage, read_write> coef_out: array<vec4<f32>>; // coef, written: (C)
@group(0) @binding(16) var<storage, read_write> mean: array<f32>;    // batch mean, written: (C)
@group(0) @binding(17) var<storage, read_write> inv_std: array<f32>; // written: (C)
@group(0) @binding(18) var<storage, read_write> running_mean: array<f32>; // updated: (C)
@group(0) @binding(19) var<storage, read_write> running_var: array<f32>;  // updated: (C)
@group(0) @binding(20) var<uniform> p: Bn;
@group(0) @binding(21) var<storage, read_write> dgamma: array<f32>;  // (C), overwritten
@group(0) @binding(22) var<storage, read_write> dbeta: array<f32>;   // (C), overwritten

var<workgroup> red_n: array<f32, WG>;
var<workgroup> red_a: array<f32, WG>;
var<workgroup> red_b: array<f32, WG>;

// Merges (n, mean, M2) of invocation `other` into `lid` (Chan et al.).
fn merge_stats(lid: u32, other: u32) {
  let na = red_n[lid];
  let nb = red_n[other];
  let n = na + nb;
  if (nb == 0.0) { return; }
  let delta = red_a[other] - red_a[lid];
  red_a[lid] = red_a[lid] + delta * (nb / n);
  red_b[lid] = red_b[lid] + red_b[other] + delta * delta * (na * nb / n);
  red_n[lid] = n;
}

// BEGIN workgroup reductions (kernels/batchnorm_subgroup.wgsl replaces this part for the
// subgroup variant)
// Tree reduction of (n, mean, M2) over the workgroup; the result lands in slot 0.
fn reduce_stats(lid: u32) {
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) { merge_stats(lid, lid + stride); }
  }
  workgroupBarrier();
}

// Plain sums of red_a and red_b over the workgroup; the result lands in slot 0.
fn reduce_sums(lid: u32) {
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) {
      red_a[lid] += red_a[lid + stride];
      red_b[lid] += red_b[lid + stride];
    }
  }
  workgroupBarrier();
}
// END workgroup reductions

// Walks the values of channel c: value e lives in plane (n, c) = (e / V, c) at column e mod V.
// Steps are whole values, so no division happens inside the loops.
struct Walk {
  o: u32, // offset of the current value
  j: u32, // its column within the plane
}

fn walk_start(e: u32, c: u32) -> Walk {
  let n = e / p.v;
  let j = e - n * p.v;
  return Walk((n * p.c + c) * p.v + j, j);
}

// Advances by `step` values (step = dn * V + dj with dj < V).
fn walk_next(w: Walk, dn: u32, dj: u32) -> Walk {
  var j = w.j + dj;
  var o = w.o + dn * p.c * p.v + dj;
  if (j >= p.v) {
    j -= p.v;
    o += (p.c - 1u) * p.v;
  }
  return Walk(o, j);
}

// Writes mean, inv_std, the forward coefficients and the running statistics of channel c.
fn finish_stats(c: u32) {
  let m = red_n[0];
  let mu = red_a[0];
  let variance = max(red_b[0] / m, 0.0);
  let is = inverseSqrt(variance + p.eps);
  mean[c] = mu;
  inv_std[c] = is;
  let scale = gamma[c] * is;
  coef_out[c] = vec4<f32>(scale, mu, beta[c], 0.0);
  running_mean[c] = (1.0 - p.momentum) * running_mean[c] + p.momentum * mu;
  running_var[c] = (1.0 - p.momentum) * running_var[c] + p.momentum * variance * p.unbias;
}

// The channel of a reduction workgroup; past C in the folded grid's last row (uniform per
// workgroup, so the caller may return before any barrier).
fn channel_of(wid: vec3<u32>) -> u32 {
  return wid.y * p.row + wid.x;
}

// Training statistics, one workgroup per channel (channel_of). Scalar reads.
@compute @workgroup_size(WG)
fn bn_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let c = channel_of(wid);
  if (c >= p.c) { return; }
  let lid = lid3.x;
  var k = 0.0;
  var s1 = 0.0;
  var s2 = 0.0;
  var cnt = 0.0;
  if (lid < p.count) { k = x[walk_start(lid, c).o]; }
  let dn = WG / p.v;
  let dj = WG - dn * p.v;
  var at = walk_start(lid, c);
  for (var e = lid; e < p.count; e += WG) {
    let d = x[at.o] - k;
    at = walk_next(at, dn, dj);
    s1 += d;
    s2 += d * d;
    cnt += 1.0;
  }
  let local_mean = select(0.0, s1 / cnt, cnt > 0.0);
  red_n[lid] = cnt;
  red_a[lid] = k + local_mean;
  red_b[lid] = s2 - s1 * local_mean;
  reduce_stats(lid);
  if (lid == 0u) { finish_stats(c); }
}

// As bn_stats, reading vec4s (HW % 4 == 0; count is in vec4s).
@compute @workgroup_size(WG)
fn bn_stats_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let c = channel_of(wid);
  if (c >= p.c) { return; }
  let lid = lid3.x;
  var k = 0.0;
  var s1 = vec4<f32>();
  var s2 = vec4<f32>();
  var cnt = 0.0;
  if (lid < p.count) { k = x4[walk_start(lid, c).o].x; }
  let dn = WG / p.v;
  let dj = WG - dn * p.v;
  var at = walk_start(lid, c);
  for (var e = lid; e < p.count; e += WG) {
    let d = x4[at.o] - vec4<f32>(k);
    at = walk_next(at, dn, dj);
    s1 += d;
    s2 += d * d;
    cnt += 4.0;
  }
  let t1 = s1.x + s1.y + s1.z + s1.w;
  let t2 = s2.x + s2.y + s2.z + s2.w;
  let local_mean = select(0.0, t1 / cnt, cnt > 0.0);
  red_n[lid] = cnt;
  red_a[lid] = k + local_mean;
  red_b[lid] = t2 - t1 * local_mean;
  reduce_stats(lid);
  if (lid == 0u) { finish_stats(c); }
}

// Eval-mode coefficients from the running statistics: one invocation per channel (count = C).
@compute @workgroup_size(WG)
fn bn_eval_coef(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.y * p.row + gid.x;
  if (c >= p.c) { return; }
  let scale = gamma[c] * inverseSqrt(running_var_in[c] + p.eps);
  coef_out[c] = vec4<f32>(scale, running_mean_in[c], beta[c], 0.0);
}

// The apply kernels' invocation l = gid.y * row + gid.x handles channel c = l / span, values
// [start, start + per) with start = (l mod span) * per; (C, start) is past the tensor (start is
// then past count) in the folded grid's last row.
fn apply_at(gid: vec3<u32>) -> vec2<u32> {
  let l = gid.y * p.row + gid.x;
  let c = l / p.span;
  if (c >= p.c) { return vec2<u32>(0u, p.count); }
  return vec2<u32>(c, (l - c * p.span) * p.per);
}

// y = (x - center) * scale + shift (then max(y, 0) with relu); one invocation per `per` values
// of a channel (apply_at).
@compute @workgroup_size(WG)
fn bn_apply(@builtin(global_invocation_id) gid: vec3<u32>) {
  let at0 = apply_at(gid);
  let c = at0.x;
  let start = at0.y;
  if (start >= p.count) { return; }
  let end = min(start + p.per, p.count);
  let k = coef[c];
  let relu = p.relu != 0u;
  var at = walk_start(start, c);
  for (var e = start; e < end; e++) {
    let o = at.o;
    at = walk_next(at, 0u, 1u);
    let r = (x[o] - k.y) * k.x + k.z;
    out[o] = select(r, max(r, 0.0), relu);
  }
}

@compute @workgroup_size(WG)
fn bn_apply_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let at0 = apply_at(gid);
  let c = at0.x;
  let start = at0.y;
  if (start >= p.count) { return; }
  let end = min(start + p.per, p.count);
  let k = coef[c];
  let relu = p.relu != 0u;
  var at = walk_start(start, c);
  for (var e = start; e < end; e++) {
    let o = at.o;
    at = walk_next(at, 0u, 1u);
    let r = (x4[o] - vec4<f32>(k.y)) * k.x + vec4<f32>(k.z);
    out4[o] = select(r, max(r, vec4<f32>()), relu);
  }
}

// Writes dgamma, dbeta and the backward coefficients of channel c from the sums in slot 0.
fn finish_backward(c: u32) {
  let sdy = red_a[0];
  let sdyx = red_b[0];
  dbeta[c] = sdy;
  dgamma[c] = sdyx;
  let is = inv_std_in[c];
  let k = gamma[c] * is;
  coef_out[c] = vec4<f32>(k, -k * is * sdyx * p.inv_m, mean_in[c], -k * sdy * p.inv_m);
}

// Backward sums, one workgroup per channel: sum dy and sum dy * xhat (dy masked by the fused
// ReLU when relu = 1).
@compute @workgroup_size(WG)
fn bn_backward_reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let c = channel_of(wid);
  if (c >= p.c) { return; }
  let lid = lid3.x;
  let mu = mean_in[c];
  let is = inv_std_in[c];
  let masked = p.relu != 0u;
  var sdy = 0.0;
  var sdyx = 0.0;
  let dn = WG / p.v;
  let dj = WG - dn * p.v;
  var at = walk_start(lid, c);
  for (var e = lid; e < p.count; e += WG) {
    let o = at.o;
    at = walk_next(at, dn, dj);
    var g = dy[o];
    if (masked) { g = select(0.0, g, ymask[o] > 0.0); }
    sdy += g;
    sdyx += g * (x[o] - mu);
  }
  red_a[lid] = sdy;
  red_b[lid] = sdyx * is;
  reduce_sums(lid);
  if (lid == 0u) { finish_backward(c); }
}

@compute @workgroup_size(WG)
fn bn_backward_reduce_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let c = channel_of(wid);
  if (c >= p.c) { return; }
  let lid = lid3.x;
  let mu = vec4<f32>(mean_in[c]);
  let is = inv_std_in[c];
  let masked = p.relu != 0u;
  var sdy = vec4<f32>();
  var sdyx = vec4<f32>();
  let dn = WG / p.v;
  let dj = WG - dn * p.v;
  var at = walk_start(lid, c);
  for (var e = lid; e < p.count; e += WG) {
    let o = at.o;
    at = walk_next(at, dn, dj);
    var g = dy4[o];
    if (masked) { g = select(vec4<f32>(), g, ymask4[o] > vec4<f32>()); }
    sdy += g;
    sdyx += g * (x4[o] - mu);
  }
  red_a[lid] = sdy.x + sdy.y + sdy.z + sdy.w;
  red_b[lid] = (sdyx.x + sdyx.y + sdyx.z + sdyx.w) * is;
  reduce_sums(lid);
  if (lid == 0u) { finish_backward(c); }
}

// dx = k * dy + b * (x - center) + d, dy masked by the fused ReLU when relu = 1. Grid as bn_apply.
@compute @workgroup_size(WG)
fn bn_backward_apply(@builtin(global_invocation_id) gid: vec3<u32>) {
  let at0 = apply_at(gid);
  let c = at0.x;
  let start = at0.y;
  if (start >= p.count) { return; }
  let end = min(start + p.per, p.count);
  let k = coef[c];
  let masked = p.relu != 0u;
  var at = walk_start(start, c);
  for (var e = start; e < end; e++) {
    let o = at.o;
    at = walk_next(at, 0u, 1u);
    var g = dy[o];
    if (masked) { g = select(0.0, g, ymask[o] > 0.0); }
    out[o] = k.x * g + k.y * (x[o] - k.z) + k.w;
  }
}

@compute @workgroup_size(WG)
fn bn_backward_apply_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let at0 = apply_at(gid);
  let c = at0.x;
  let start = at0.y;
  if (start >= p.count) { return; }
  let end = min(start + p.per, p.count);
  let k = coef[c];
  let masked = p.relu != 0u;
  var at = walk_start(start, c);
  for (var e = start; e < end; e++) {
    let o = at.o;
    at = walk_next(at, 0u, 1u);
    var g = dy4[o];
    if (masked) { g = select(vec4<f32>(), g, ymask4[o] > vec4<f32>()); }
    out4[o] = k.x * g + k.y * (x4[o] - vec4<f32>(k.z)) + vec4<f32>(k.w);
  }
}
