// Grouped 2-D convolution without bias (ResNeXt's 3x3 convolution), forward and both backward
// passes side by side. Ungrouped convolutions (G = 1) do not come here: they take the kernels
// of conv2d.wgsl. Two kinds of entry points share the file and its bindings:
//   plain (conv2d_grouped_forward, _backward_input, _backward_weight): one output element per
//     invocation, loads every operand from storage (two loads per FMA); kept as a tuning
//     candidate and as the bench's baseline.
//   tiled (the *_tile entry points): each invocation keeps a register tile of 4 CQ channels x
//     4 PQ things of one group in mat4x4 accumulators updated with rank-1 products (outer4), so
//     each loaded value feeds 4 CQ (or 4 PQ) FMAs. Weights are packed first (pack_*) so that
//     four channels of a group load as one vec4.
//
// Legend: N batch, C input channels, H x W input size, F output channels, G groups,
// Cg = C / G and Fg = F / G channels per group (output channel f belongs to group f / Fg and
// sees input channels (f / Fg) Cg .. +Cg), KH x KW kernel, s stride, p padding (the same on
// every side), Ho = (H + 2p - KH) / s + 1, Wo likewise, P = Ho*Wo, HW = H*W, KK = KH*KW,
// Kg = Cg*KK (the taps (k,kh,kw) of one group's weight row), Q4 = vec4 quads per group row of
// packed weights (a multiple of CQ).
// Layout: x, dx (N,C,H,W); w, dw (F,Cg,KH,KW); y, dy (N,F,Ho,Wo); part (splits,F,Cg,KH,KW);
// wt (C*KK, Q4) vec4 over the group's output channels; wb (F*KK, Q4) vec4 over the group's
// input channels; row-major.
//   conv2d_grouped_forward[_tile]:         y[n,f,i,j] = sum w[f,k,a,b] x[n, g Cg + k, i s - p + a, j s - p + b]
//   conv2d_grouped_backward_input[_tile]:  dx (+)= the transpose, gathered per input pixel
//   conv2d_grouped_backward_weight[_tile]: part[split] = dL/dw over the images of one batch share
//   conv2d_grouped_reduce_weight:          dw (+)= the sum of the shares
// Tiles (CQ, PQ overrides, 1..4 each; the wrapper caps CQ at the group's channel quads):
//   forward_tile:         4 CQ output channels x 4 PQ output pixels (flattened i*Wo + j) of one
//                         image; e = n * tiles + pixel tile, gid.y = g * blocks + block.
//   backward_input_tile:  4 CQ input channels x 4 PQ input pixels of one stride phase
//                         (ih mod s, iw mod s), flattened over the phase's ceil(H/s) x ceil(W/s)
//                         cells: every pixel of a phase is reached by the same taps, so no lane
//                         tests divisibility; e = n * tiles + cell tile, gid.y = (phase G + g) *
//                         blocks + block.
//   backward_weight_tile: 4 CQ output channels x 4 PQ taps of Kg over one batch share;
//                         e = share * tiles + tap tile, gid.y = g * blocks + block.
// The tile index e = gid.z * row + gid.x folds into z when it needs more workgroups than x has.
// Tile sizes are overrides, not loops over a register array: Mesa's lavapipe left such arrays in
// memory (conv2d.wgsl's note); the 16 accumulators are named members of a struct (Acc). Lanes
// past an edge load clamped (in-bounds) addresses and are never stored.
// Sizes are uniforms, so one pipeline per tile shape serves every layer.
// Bindings (group 0): read-only inputs, then outputs, then the uniform `p`; each entry point
// uses a subset.
// Workgroup: WG invocations (override; the plain kernels use 64, the tiled ones 16 on lavapipe,
// where one thread runs a whole workgroup and small groups balance better, and 64+ on GPUs).
// Plain kernels index gid.y * row + gid.x so that large tensors fold into a 2-D grid. Every
// element is gathered by one invocation in a fixed order: no atomics, deterministic sums. The
// weight gradient splits the batch into shares (like conv2d.wgsl) so that few weights still make
// enough invocations.

override WG: u32 = 64u;
override CQ: u32 = 1u; // tiled: channel quads per invocation (1..4)
override PQ: u32 = 4u; // tiled: pixel (or tap) quads per invocation (1..4)

struct Conv {
  n: u32,          // N
  c: u32,          // C
  h: u32,          // H
  w: u32,          // W
  f: u32,          // F
  ho: u32,         // Ho
  wo: u32,         // Wo
  kh: u32,         // KH
  kw: u32,         // KW
  stride: u32,     // s
  pad: u32,        // p
  cg: u32,         // Cg
  fg: u32,         // Fg
  total: u32,      // elements of this entry point's output (tiled: tiles along e)
  row: u32,        // elements (tiles) covered by one row of workgroups along x (x groups * WG)
  splits: u32,     // backward weight: batch shares
  per_split: u32,  // backward weight: images per share
  accumulate: u32, // 1 adds to dx or dw, 0 overwrites
  q4: u32,         // tiled: vec4 quads per row of wt / wb (a multiple of CQ)
  tiles: u32,      // tiled: tiles along e per image (per share for the weight gradient)
  blocks: u32,     // tiled: channel blocks of 4 CQ per group along gid.y
}

@group(0) @binding(0) var<storage, read> x: array<f32>;                 // x: (N,C,H,W)
@group(0) @binding(1) var<storage, read> w: array<f32>;                 // w: (F,Cg,KH,KW)
@group(0) @binding(2) var<storage, read> dy: array<f32>;                // dy: (N,F,Ho,Wo)
@group(0) @binding(3) var<storage, read> part: array<f32>;              // part: (splits,F,Cg,KH,KW)
@group(0) @binding(4) var<storage, read> wp: array<vec4<f32>>;          // wt or wb (packed w)
@group(0) @binding(5) var<storage, read_write> y: array<f32>;           // y: (N,F,Ho,Wo)
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;          // dx: (N,C,H,W)
@group(0) @binding(7) var<storage, read_write> dw: array<f32>;          // dw: (F,Cg,KH,KW)
@group(0) @binding(8) var<storage, read_write> part_out: array<f32>;    // part, written
@group(0) @binding(9) var<storage, read_write> wp_out: array<vec4<f32>>; // wt or wb, written
@group(0) @binding(10) var<uniform> p: Conv;

@compute @workgroup_size(WG)
fn conv2d_grouped_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.y * p.row + gid.x;
  if (e >= p.total) { return; }
  let j = e % p.wo;
  let i = (e / p.wo) % p.ho;
  let f = (e / (p.wo * p.ho)) % p.f;
  let n = e / (p.wo * p.ho * p.f);
  let c0 = (f / p.fg) * p.cg;
  let r0 = i32(i * p.stride) - i32(p.pad);
  let q0 = i32(j * p.stride) - i32(p.pad);
  var sum = 0.0;
  for (var k = 0u; k < p.cg; k++) {
    let xb = (n * p.c + c0 + k) * p.h;
    let wb = (f * p.cg + k) * p.kh;
    for (var a = 0u; a < p.kh; a++) {
      let r = r0 + i32(a);
      if (r < 0 || r >= i32(p.h)) { continue; }
      for (var b = 0u; b < p.kw; b++) {
        let q = q0 + i32(b);
        if (q < 0 || q >= i32(p.w)) { continue; }
        sum += w[(wb + a) * p.kw + b] * x[(xb + u32(r)) * p.w + u32(q)];
      }
    }
  }
  y[e] = sum;
}

@compute @workgroup_size(WG)
fn conv2d_grouped_backward_input(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.y * p.row + gid.x;
  if (e >= p.total) { return; }
  let col = e % p.w;
  let r = (e / p.w) % p.h;
  let c = (e / (p.w * p.h)) % p.c;
  let n = e / (p.w * p.h * p.c);
  let g = c / p.cg;
  let k = c % p.cg;
  var sum = 0.0;
  for (var a = 0u; a < p.kh; a++) {
    // Output row i saw this row through tap a when i s - p + a = r.
    let t = i32(r + p.pad) - i32(a);
    if (t < 0 || t % i32(p.stride) != 0) { continue; }
    let i = u32(t) / p.stride;
    if (i >= p.ho) { continue; }
    for (var b = 0u; b < p.kw; b++) {
      let u = i32(col + p.pad) - i32(b);
      if (u < 0 || u % i32(p.stride) != 0) { continue; }
      let j = u32(u) / p.stride;
      if (j >= p.wo) { continue; }
      for (var m = 0u; m < p.fg; m++) {
        let f = g * p.fg + m;
        sum += dy[((n * p.f + f) * p.ho + i) * p.wo + j] * w[((f * p.cg + k) * p.kh + a) * p.kw + b];
      }
    }
  }
  if (p.accumulate == 1u) { dx[e] += sum; } else { dx[e] = sum; }
}

@compute @workgroup_size(WG)
fn conv2d_grouped_backward_weight(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.y * p.row + gid.x;
  if (e >= p.total) { return; }
  let size = p.f * p.cg * p.kh * p.kw;
  let split = e / size;
  let widx = e % size;
  let b = widx % p.kw;
  let a = (widx / p.kw) % p.kh;
  let k = (widx / (p.kw * p.kh)) % p.cg;
  let f = widx / (p.kw * p.kh * p.cg);
  let c = (f / p.fg) * p.cg + k;
  let n0 = split * p.per_split;
  let n1 = min(p.n, n0 + p.per_split);
  var sum = 0.0;
  for (var n = n0; n < n1; n++) {
    let xb = (n * p.c + c) * p.h;
    let yb = (n * p.f + f) * p.ho;
    for (var i = 0u; i < p.ho; i++) {
      let r = i32(i * p.stride + a) - i32(p.pad);
      if (r < 0 || r >= i32(p.h)) { continue; }
      for (var j = 0u; j < p.wo; j++) {
        let q = i32(j * p.stride + b) - i32(p.pad);
        if (q < 0 || q >= i32(p.w)) { continue; }
        sum += dy[(yb + i) * p.wo + j] * x[(xb + u32(r)) * p.w + u32(q)];
      }
    }
  }
  part_out[e] = sum;
}

@compute @workgroup_size(WG)
fn conv2d_grouped_reduce_weight(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.y * p.row + gid.x;
  if (e >= p.total) { return; }
  var sum = 0.0;
  for (var s = 0u; s < p.splits; s++) { sum += part[s * p.total + e]; }
  if (p.accumulate == 1u) { dw[e] += sum; } else { dw[e] = sum; }
}

// ---- Register-tiled variants ----------------------------------------------------------------

// Rank-1 update: column j is a * b[j].
fn outer4(a: vec4<f32>, b: vec4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(a * b.x, a * b.y, a * b.z, a * b.w);
}

// A tile's accumulators: aij holds channel quad i x pixel (or tap) quad j. All 16 are updated;
// the ones past CQ x PQ are never stored, so the compiler drops them with their loads. Members
// are only ever named, never indexed: an indexed one would leave the tile in memory.
struct Acc {
  a00: mat4x4<f32>, a01: mat4x4<f32>, a02: mat4x4<f32>, a03: mat4x4<f32>,
  a10: mat4x4<f32>, a11: mat4x4<f32>, a12: mat4x4<f32>, a13: mat4x4<f32>,
  a20: mat4x4<f32>, a21: mat4x4<f32>, a22: mat4x4<f32>, a23: mat4x4<f32>,
  a30: mat4x4<f32>, a31: mat4x4<f32>, a32: mat4x4<f32>, a33: mat4x4<f32>,
}

// Adds the rank-1 products of channel quads c0..c3 and pixel (or tap) quads q0..q3.
fn accumulate(
  acc: ptr<function, Acc>,
  c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>, c3: vec4<f32>,
  q0: vec4<f32>, q1: vec4<f32>, q2: vec4<f32>, q3: vec4<f32>,
) {
  (*acc).a00 += outer4(c0, q0); (*acc).a01 += outer4(c0, q1); (*acc).a02 += outer4(c0, q2); (*acc).a03 += outer4(c0, q3);
  (*acc).a10 += outer4(c1, q0); (*acc).a11 += outer4(c1, q1); (*acc).a12 += outer4(c1, q2); (*acc).a13 += outer4(c1, q3);
  (*acc).a20 += outer4(c2, q0); (*acc).a21 += outer4(c2, q1); (*acc).a22 += outer4(c2, q2); (*acc).a23 += outer4(c2, q3);
  (*acc).a30 += outer4(c3, q0); (*acc).a31 += outer4(c3, q1); (*acc).a32 += outer4(c3, q2); (*acc).a33 += outer4(c3, q3);
}


// wt[(c KK + t) Q4 + q] = w[g Fg + 4q + j, k, t] for j = 0..3 (zero past Fg), c = g Cg + k:
// the forward tile's four output channels of one input channel and tap in one vec4.
// total = C*KK*Q4.
@compute @workgroup_size(WG)
fn conv2d_grouped_pack_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.y * p.row + gid.x;
  if (e >= p.total) { return; }
  let kk = p.kh * p.kw;
  let ct = e / p.q4;
  let q = e - ct * p.q4;
  let c = ct / kk;
  let t = ct - c * kk;
  let g = c / p.cg;
  let k = c - g * p.cg;
  var v = vec4<f32>();
  for (var j = 0u; j < 4u; j++) {
    let m = 4u * q + j;
    if (m < p.fg) { v[j] = w[((g * p.fg + m) * p.cg + k) * kk + t]; }
  }
  wp_out[e] = v;
}

// wb[(f KK + t) Q4 + q] = w[f, 4q + j, t] for j = 0..3 (zero past Cg): the input-gradient
// tile's four input channels of one output channel and tap in one vec4. total = F*KK*Q4.
@compute @workgroup_size(WG)
fn conv2d_grouped_pack_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.y * p.row + gid.x;
  if (e >= p.total) { return; }
  let kk = p.kh * p.kw;
  let ft = e / p.q4;
  let q = e - ft * p.q4;
  let f = ft / kk;
  let t = ft - f * kk;
  var v = vec4<f32>();
  for (var j = 0u; j < 4u; j++) {
    let k = 4u * q + j;
    if (k < p.cg) { v[j] = w[(f * p.cg + k) * kk + t]; }
  }
  wp_out[e] = v;
}

// Four places in a plane of `rows` x `cols` (row r, column q each), as clamped offsets and
// whether each lies inside (padding reads as zero).
struct Spots {
  off: vec4<u32>,
  ok: vec4<bool>,
}

fn spots(r: vec4<i32>, q: vec4<i32>, rows: u32, cols: u32) -> Spots {
  let ok = (r >= vec4<i32>(0)) & (r < vec4<i32>(i32(rows))) & (q >= vec4<i32>(0)) &
    (q < vec4<i32>(i32(cols)));
  let rc = vec4<u32>(clamp(r, vec4<i32>(0), vec4<i32>(i32(rows) - 1)));
  let qc = vec4<u32>(clamp(q, vec4<i32>(0), vec4<i32>(i32(cols) - 1)));
  return Spots(rc * cols + qc, ok);
}

fn gather_x(base: u32, s: Spots) -> vec4<f32> {
  let o = vec4<u32>(base) + s.off;
  return select(vec4<f32>(), vec4<f32>(x[o.x], x[o.y], x[o.z], x[o.w]), s.ok);
}

fn gather_dy(base: u32, s: Spots) -> vec4<f32> {
  let o = vec4<u32>(base) + s.off;
  return select(vec4<f32>(), vec4<f32>(dy[o.x], dy[o.y], dy[o.z], dy[o.w]), s.ok);
}

// Input row and column of tap (0, 0) for output pixels q..q+3 (flattened i*Wo + j), clamped
// to the last pixel.
struct Origins {
  ih: vec4<i32>,
  iw: vec4<i32>,
}

fn origins(q: u32) -> Origins {
  let qs = min(vec4<u32>(q) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.ho * p.wo - 1u));
  let i = qs / p.wo;
  let j = qs - i * p.wo;
  let pad = vec4<i32>(i32(p.pad));
  return Origins(vec4<i32>(i * p.stride) - pad, vec4<i32>(j * p.stride) - pad);
}

// Stores tile v (rows: output channels m..m+3 of group g; column j: pixel q + j) of image n.
fn store_y(n: u32, g: u32, m: u32, q: u32, v: mat4x4<f32>) {
  let pixels = p.ho * p.wo;
  let base = (n * p.f + g * p.fg + m) * pixels;
  for (var j = 0u; j < 4u; j++) {
    let qj = q + j;
    if (qj >= pixels) { return; }
    let col = v[j];
    for (var r = 0u; r < 4u; r++) {
      if (m + r < p.fg) { y[base + r * pixels + qj] = col[r]; }
    }
  }
}

// y = conv(x, w), a 4 CQ x 4 PQ tile per invocation. Reads x and wt (wp); overwrites y.
// total = N * tiles.
@compute @workgroup_size(WG)
fn conv2d_grouped_forward_tile(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.z * p.row + gid.x;
  if (e >= p.total) { return; }
  let n = e / p.tiles;
  let q = (e - n * p.tiles) * (4u * PQ);
  let g = gid.y / p.blocks;
  let m = (gid.y - g * p.blocks) * (4u * CQ); // the tile's first output channel in its group
  let o0 = origins(q);
  let o1 = origins(q + 4u);
  let o2 = origins(q + 8u);
  let o3 = origins(q + 12u);
  var acc = Acc();
  let hw = p.h * p.w;
  let kk = p.kh * p.kw;
  let step = kk * p.q4;
  let xb = (n * p.c + g * p.cg) * hw;
  // Channels innermost: a tap's offsets and bounds serve all Cg channels of the group.
  for (var a = 0u; a < p.kh; a++) {
    for (var b = 0u; b < p.kw; b++) {
      let ai = i32(a);
      let bi = i32(b);
      let s0 = spots(o0.ih + ai, o0.iw + bi, p.h, p.w);
      let s1 = spots(o1.ih + ai, o1.iw + bi, p.h, p.w);
      let s2 = spots(o2.ih + ai, o2.iw + bi, p.h, p.w);
      let s3 = spots(o3.ih + ai, o3.iw + bi, p.h, p.w);
      var xo = xb;
      var t = (g * p.cg * kk + a * p.kw + b) * p.q4 + m / 4u; // wt row of (k = 0, a, b)
      for (var k = 0u; k < p.cg; k++) {
        let v0 = gather_x(xo, s0);
        let v1 = gather_x(xo, s1);
        let v2 = gather_x(xo, s2);
        let v3 = gather_x(xo, s3);
        let w0 = wp[t];
        let w1 = wp[t + min(1u, CQ - 1u)];
        let w2 = wp[t + min(2u, CQ - 1u)];
        let w3 = wp[t + min(3u, CQ - 1u)];
        accumulate(&acc, w0, w1, w2, w3, v0, v1, v2, v3);
        xo += hw;
        t += step;
      }
    }
  }
  store_y(n, g, m, q, acc.a00);
  if (PQ > 1u) { store_y(n, g, m, q + 4u, acc.a01); }
  if (PQ > 2u) { store_y(n, g, m, q + 8u, acc.a02); }
  if (PQ > 3u) { store_y(n, g, m, q + 12u, acc.a03); }
  if (CQ > 1u) {
    store_y(n, g, m + 4u, q, acc.a10);
    if (PQ > 1u) { store_y(n, g, m + 4u, q + 4u, acc.a11); }
    if (PQ > 2u) { store_y(n, g, m + 4u, q + 8u, acc.a12); }
    if (PQ > 3u) { store_y(n, g, m + 4u, q + 12u, acc.a13); }
  }
  if (CQ > 2u) {
    store_y(n, g, m + 8u, q, acc.a20);
    if (PQ > 1u) { store_y(n, g, m + 8u, q + 4u, acc.a21); }
    if (PQ > 2u) { store_y(n, g, m + 8u, q + 8u, acc.a22); }
    if (PQ > 3u) { store_y(n, g, m + 8u, q + 12u, acc.a23); }
  }
  if (CQ > 3u) {
    store_y(n, g, m + 12u, q, acc.a30);
    if (PQ > 1u) { store_y(n, g, m + 12u, q + 4u, acc.a31); }
    if (PQ > 2u) { store_y(n, g, m + 12u, q + 8u, acc.a32); }
    if (PQ > 3u) { store_y(n, g, m + 12u, q + 12u, acc.a33); }
  }
}

// Input pixels at cells c..c+3 of stride phase (ph, pw) (the phase has cw cells per row and
// ncell in all): their offsets in an input plane, whether each exists, and the output row and
// column that tap (kh0, kw0) = ((ph + p) mod s, (pw + p) mod s) reaches from each; every further
// tap of the phase (kh + s) reaches the row (or column) before.
struct Cells {
  oh: vec4<i32>,
  ow: vec4<i32>,
  off: vec4<u32>,
  ok: vec4<bool>,
}

fn cells(c: u32, ph: u32, pw: u32, cw: u32, ncell: u32) -> Cells {
  let cs = vec4<u32>(c) + vec4<u32>(0u, 1u, 2u, 3u);
  let cc = min(cs, vec4<u32>(ncell - 1u));
  let ca = cc / cw;
  let cb = cc - ca * cw;
  let ih = vec4<u32>(ph) + ca * p.stride;
  let iw = vec4<u32>(pw) + cb * p.stride;
  let ok = (cs < vec4<u32>(ncell)) & (ih < vec4<u32>(p.h)) & (iw < vec4<u32>(p.w));
  let oh = vec4<i32>(ca + (ph + p.pad) / p.stride);
  let ow = vec4<i32>(cb + (pw + p.pad) / p.stride);
  return Cells(oh, ow, ih * p.w + iw, ok);
}

// Stores (or adds, with accumulate) tile v (rows: input channels k..k+3 of group g; column j:
// the pixel of cell j of `at`) of image n.
fn store_dx(n: u32, g: u32, k: u32, at: Cells, v: mat4x4<f32>) {
  let hw = p.h * p.w;
  let base = (n * p.c + g * p.cg + k) * hw;
  for (var j = 0u; j < 4u; j++) {
    if (!at.ok[j]) { continue; }
    let col = v[j];
    let o = base + at.off[j];
    for (var r = 0u; r < 4u; r++) {
      if (k + r < p.cg) {
        let i = o + r * hw;
        if (p.accumulate == 1u) { dx[i] += col[r]; } else { dx[i] = col[r]; }
      }
    }
  }
}

// dx = conv_transpose(dy, w), a 4 CQ x 4 PQ tile of one stride phase per invocation. Reads dy
// and wb (wp); overwrites dx (pixels no tap reaches get zeros) or adds to it with accumulate.
// total = N * tiles.
@compute @workgroup_size(WG)
fn conv2d_grouped_backward_input_tile(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.z * p.row + gid.x;
  if (e >= p.total) { return; }
  let s = p.stride;
  let per_phase = (p.c / p.cg) * p.blocks;
  let phase = gid.y / per_phase;
  let rest = gid.y - phase * per_phase;
  let g = rest / p.blocks;
  let k = (rest - g * p.blocks) * (4u * CQ); // the tile's first input channel in its group
  let ph = phase / s;
  let pw = phase - ph * s;
  let cw = (p.w + s - 1u) / s;
  let ncell = ((p.h + s - 1u) / s) * cw;
  let n = e / p.tiles;
  let c = (e - n * p.tiles) * (4u * PQ);
  let c0 = cells(c, ph, pw, cw, ncell);
  let c1 = cells(c + 4u, ph, pw, cw, ncell);
  let c2 = cells(c + 8u, ph, pw, cw, ncell);
  let c3 = cells(c + 12u, ph, pw, cw, ncell);
  var acc = Acc();
  let pixels = p.ho * p.wo;
  let kk = p.kh * p.kw;
  let step = kk * p.q4;
  let yb = (n * p.f + g * p.fg) * pixels;
  var dh = vec4<i32>(0);
  // Output channels innermost: a tap's offsets and bounds serve all Fg channels of the group.
  for (var a = (ph + p.pad) % s; a < p.kh; a += s) {
    var dc = vec4<i32>(0);
    for (var b = (pw + p.pad) % s; b < p.kw; b += s) {
      let s0 = spots(c0.oh - dh, c0.ow - dc, p.ho, p.wo);
      let s1 = spots(c1.oh - dh, c1.ow - dc, p.ho, p.wo);
      let s2 = spots(c2.oh - dh, c2.ow - dc, p.ho, p.wo);
      let s3 = spots(c3.oh - dh, c3.ow - dc, p.ho, p.wo);
      var yo = yb;
      var t = (g * p.fg * kk + a * p.kw + b) * p.q4 + k / 4u; // wb row of (f = g Fg, a, b)
      for (var m = 0u; m < p.fg; m++) {
        let v0 = gather_dy(yo, s0);
        let v1 = gather_dy(yo, s1);
        let v2 = gather_dy(yo, s2);
        let v3 = gather_dy(yo, s3);
        let w0 = wp[t];
        let w1 = wp[t + min(1u, CQ - 1u)];
        let w2 = wp[t + min(2u, CQ - 1u)];
        let w3 = wp[t + min(3u, CQ - 1u)];
        accumulate(&acc, w0, w1, w2, w3, v0, v1, v2, v3);
        yo += pixels;
        t += step;
      }
      dc += vec4<i32>(1);
    }
    dh += vec4<i32>(1);
  }
  store_dx(n, g, k, c0, acc.a00);
  if (PQ > 1u) { store_dx(n, g, k, c1, acc.a01); }
  if (PQ > 2u) { store_dx(n, g, k, c2, acc.a02); }
  if (PQ > 3u) { store_dx(n, g, k, c3, acc.a03); }
  if (CQ > 1u) {
    store_dx(n, g, k + 4u, c0, acc.a10);
    if (PQ > 1u) { store_dx(n, g, k + 4u, c1, acc.a11); }
    if (PQ > 2u) { store_dx(n, g, k + 4u, c2, acc.a12); }
    if (PQ > 3u) { store_dx(n, g, k + 4u, c3, acc.a13); }
  }
  if (CQ > 2u) {
    store_dx(n, g, k + 8u, c0, acc.a20);
    if (PQ > 1u) { store_dx(n, g, k + 8u, c1, acc.a21); }
    if (PQ > 2u) { store_dx(n, g, k + 8u, c2, acc.a22); }
    if (PQ > 3u) { store_dx(n, g, k + 8u, c3, acc.a23); }
  }
  if (CQ > 3u) {
    store_dx(n, g, k + 12u, c0, acc.a30);
    if (PQ > 1u) { store_dx(n, g, k + 12u, c1, acc.a31); }
    if (PQ > 2u) { store_dx(n, g, k + 12u, c2, acc.a32); }
    if (PQ > 3u) { store_dx(n, g, k + 12u, c3, acc.a33); }
  }
}

// Taps kq..kq+3 of a group's Kg = (k, kh, kw): offset of input channel k from the group's first
// channel, kh, kw, and whether the tap exists (clamped to the last tap otherwise).
struct Taps {
  chan: vec4<u32>,
  kh: vec4<i32>,
  kw: vec4<i32>,
  ok: vec4<bool>,
}

fn taps(kq: u32) -> Taps {
  let kk = p.kh * p.kw;
  let kg = p.cg * kk;
  let ks = vec4<u32>(kq) + vec4<u32>(0u, 1u, 2u, 3u);
  let kc = min(ks, vec4<u32>(kg - 1u));
  let k = kc / kk;
  let r = kc - k * kk;
  let a = r / p.kw;
  let b = r - a * p.kw;
  return Taps(k * (p.h * p.w), vec4<i32>(a), vec4<i32>(b), ks < vec4<u32>(kg));
}

// Row part of taps t for an output row whose tap (0, 0) is input row ih: offsets within the
// group (channel and row), and whether the tap exists and its row lies inside.
struct TapRows {
  off: vec4<u32>,
  ok: vec4<bool>,
}

fn tap_rows(t: Taps, ih: i32) -> TapRows {
  let r = vec4<i32>(ih) + t.kh;
  let ok = t.ok & (r >= vec4<i32>(0)) & (r < vec4<i32>(i32(p.h)));
  return TapRows(t.chan + vec4<u32>(clamp(r, vec4<i32>(0), vec4<i32>(i32(p.h) - 1))) * p.w, ok);
}

// x at taps t, rows r, for the output pixel whose tap (0, 0) is input column iw, of the group
// whose first channel starts at xb.
fn gather_taps(xb: u32, t: Taps, r: TapRows, iw: i32) -> vec4<f32> {
  let q = vec4<i32>(iw) + t.kw;
  let ok = r.ok & (q >= vec4<i32>(0)) & (q < vec4<i32>(i32(p.w)));
  let o = vec4<u32>(xb) + r.off + vec4<u32>(clamp(q, vec4<i32>(0), vec4<i32>(i32(p.w) - 1)));
  return select(vec4<f32>(), vec4<f32>(x[o.x], x[o.y], x[o.z], x[o.w]), ok);
}

// Stores tile v (rows: output channels m..m+3 of group g; column j: tap kq + j) of share split.
fn store_part(split: u32, g: u32, m: u32, kq: u32, v: mat4x4<f32>) {
  let kg = p.cg * p.kh * p.kw;
  let base = (split * p.f + g * p.fg + m) * kg;
  for (var j = 0u; j < 4u; j++) {
    let kj = kq + j;
    if (kj >= kg) { return; }
    let col = v[j];
    for (var r = 0u; r < 4u; r++) {
      if (m + r < p.fg) { part_out[base + r * kg + kj] = col[r]; }
    }
  }
}

// Partial dw over one share of the batch, a 4 CQ x 4 PQ tile (output channels x taps) per
// invocation. Reads x and dy; overwrites part. total = splits * tiles.
@compute @workgroup_size(WG)
fn conv2d_grouped_backward_weight_tile(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.z * p.row + gid.x;
  if (e >= p.total) { return; }
  let split = e / p.tiles;
  let kq = (e - split * p.tiles) * (4u * PQ);
  let g = gid.y / p.blocks;
  let m = (gid.y - g * p.blocks) * (4u * CQ); // the tile's first output channel in its group
  let t0 = taps(kq);
  let t1 = taps(kq + 4u);
  let t2 = taps(kq + 8u);
  let t3 = taps(kq + 12u);
  let pixels = p.ho * p.wo;
  // dy offsets of the tile's output channels, clamped to the group's last (never stored).
  let last = vec4<u32>(p.fg - 1u);
  let f0 = vec4<u32>(g * p.fg);
  let d0 = (f0 + min(vec4<u32>(m) + vec4<u32>(0u, 1u, 2u, 3u), last)) * pixels;
  let d1 = (f0 + min(vec4<u32>(m) + vec4<u32>(4u, 5u, 6u, 7u), last)) * pixels;
  let d2 = (f0 + min(vec4<u32>(m) + vec4<u32>(8u, 9u, 10u, 11u), last)) * pixels;
  let d3 = (f0 + min(vec4<u32>(m) + vec4<u32>(12u, 13u, 14u, 15u), last)) * pixels;
  var acc = Acc();
  let hw = p.h * p.w;
  let n0 = split * p.per_split;
  let n1 = min(p.n, n0 + p.per_split);
  for (var n = n0; n < n1; n++) {
    let xb = (n * p.c + g * p.cg) * hw;
    var q = n * p.f * pixels;
    for (var i = 0u; i < p.ho; i++) {
      let ih = i32(i * p.stride) - i32(p.pad);
      // A row's bounds and offsets serve every pixel of the row.
      let r0 = tap_rows(t0, ih);
      let r1 = tap_rows(t1, ih);
      let r2 = tap_rows(t2, ih);
      let r3 = tap_rows(t3, ih);
      for (var j = 0u; j < p.wo; j++) {
        let iw = i32(j * p.stride) - i32(p.pad);
        let g0 = vec4<f32>(dy[q + d0.x], dy[q + d0.y], dy[q + d0.z], dy[q + d0.w]);
        let g1 = vec4<f32>(dy[q + d1.x], dy[q + d1.y], dy[q + d1.z], dy[q + d1.w]);
        let g2 = vec4<f32>(dy[q + d2.x], dy[q + d2.y], dy[q + d2.z], dy[q + d2.w]);
        let g3 = vec4<f32>(dy[q + d3.x], dy[q + d3.y], dy[q + d3.z], dy[q + d3.w]);
        let v0 = gather_taps(xb, t0, r0, iw);
        let v1 = gather_taps(xb, t1, r1, iw);
        let v2 = gather_taps(xb, t2, r2, iw);
        let v3 = gather_taps(xb, t3, r3, iw);
        accumulate(&acc, g0, g1, g2, g3, v0, v1, v2, v3);
        q++;
      }
    }
  }
  store_part(split, g, m, kq, acc.a00);
  if (PQ > 1u) { store_part(split, g, m, kq + 4u, acc.a01); }
  if (PQ > 2u) { store_part(split, g, m, kq + 8u, acc.a02); }
  if (PQ > 3u) { store_part(split, g, m, kq + 12u, acc.a03); }
  if (CQ > 1u) {
    store_part(split, g, m + 4u, kq, acc.a10);
    if (PQ > 1u) { store_part(split, g, m + 4u, kq + 4u, acc.a11); }
    if (PQ > 2u) { store_part(split, g, m + 4u, kq + 8u, acc.a12); }
    if (PQ > 3u) { store_part(split, g, m + 4u, kq + 12u, acc.a13); }
  }
  if (CQ > 2u) {
    store_part(split, g, m + 8u, kq, acc.a20);
    if (PQ > 1u) { store_part(split, g, m + 8u, kq + 4u, acc.a21); }
    if (PQ > 2u) { store_part(split, g, m + 8u, kq + 8u, acc.a22); }
    if (PQ > 3u) { store_part(split, g, m + 8u, kq + 12u, acc.a23); }
  }
  if (CQ > 3u) {
    store_part(split, g, m + 12u, kq, acc.a30);
    if (PQ > 1u) { store_part(split, g, m + 12u, kq + 4u, acc.a31); }
    if (PQ > 2u) { store_part(split, g, m + 12u, kq + 8u, acc.a32); }
    if (PQ > 3u) { store_part(split, g, m + 12u, kq + 12u, acc.a33); }
  }
}
