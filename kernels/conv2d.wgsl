// 2-D convolution without bias, forward and both backward passes, as direct convolutions with
// 16x16 register tiles. No im2col: on lavapipe materialising the columns costs more than the
// multiply-adds, and every storage load is expensive, so each loaded value feeds 16 FMAs.
//
// Legend: N batch, C input channels, H x W input size, F output channels, KH x KW kernel,
// s stride, p padding (the same on every side), Ho = (H + 2p - KH) / s + 1, Wo likewise,
// P = Ho*Wo output pixels, HW = H*W, KK = KH*KW, K = C*KK (the reduction of the forward pass),
// C16 / F16 = C / F rounded up to a multiple of 16 (the tile), C4 = C16/4, F4 = F16/4.
// Layout: x (N,C,H,W), w (F,C,KH,KW), y (N,F,Ho,Wo), dx like x, dw like w, dy like y; row-major.
// Bindings (group 0): read-only inputs, then outputs, then the uniform `p` (binding 12). Each
// entry point uses a subset; numbers are unique across the file.
// Workgroup: WG invocations (override; 16 suits lavapipe, where one thread runs a whole
// workgroup and small groups balance better; GPUs want 64 or more).
//
// Tiles: the three conv entry points give each invocation 16 channels x 16 things and keep the
// 256 sums in 16 mat4x4 accumulators updated with rank-1 products (outer4). The tile is written
// out by hand: loops over an override-sized register array ran at half the speed on lavapipe
// (Mesa 22.3), because the array was not promoted to registers.
//   conv2d_forward:         16 output channels x 16 images at one output pixel.
//   conv2d_backward_input:  16 input channels x 16 images at one input pixel.
//   conv2d_backward_weight: 16 output channels x 16 taps (c,kh,kw), over a share of the batch;
//                           partial sums per share are added by conv2d_reduce_weight.
//   conv2d_backward_weight_channels: the same with 16 output x 16 input channels at one tap.
// Weights are first packed (pack_weight_*) so that four channels load as one vec4.

override WG: u32 = 16u;

struct Conv {
  n: u32,       // N
  c: u32,       // C
  h: u32,       // H
  w: u32,       // W
  f: u32,       // F
  ho: u32,      // Ho
  wo: u32,      // Wo
  kh: u32,      // KH
  kw: u32,      // KW
  stride: u32,  // s
  pad: u32,     // p
  c4: u32,      // C16 / 4: vec4 columns of wb
  f4: u32,      // F16 / 4: vec4 columns of wt
  count: u32,   // invocations that do work along x (the rest return at once)
  cblocks: u32, // C16 / 16 (backward input: gid.y = cblock + cblocks * phase)
  splits: u32,  // backward weight: number of batch shares
  per_split: u32, // backward weight: images per share
  kblocks: u32, // backward weight: ceil(K / 16)
  accumulate: u32, // 1 adds to dx or dw, 0 overwrites
  row: u32,    // x invocations per z-slice: the x index is gid.z * row + gid.x (folded grid)
}

@group(0) @binding(0) var<storage, read> x: array<f32>;               // x: (N,C,H,W)
@group(0) @binding(1) var<storage, read> w: array<f32>;               // w: (F,C,KH,KW)
@group(0) @binding(2) var<storage, read> dy: array<f32>;              // dy: (N,F,Ho,Wo)
@group(0) @binding(3) var<storage, read> wt: array<vec4<f32>>;        // wt: (K, F4) vec4 over f
@group(0) @binding(4) var<storage, read> wb: array<vec4<f32>>;        // wb: (F*KK, C4) vec4 over c
@group(0) @binding(5) var<storage, read> part: array<f32>;            // part: (splits, F, K)
@group(0) @binding(6) var<storage, read_write> y: array<f32>;         // y: (N,F,Ho,Wo)
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;        // dx: (N,C,H,W)
@group(0) @binding(8) var<storage, read_write> dw: array<f32>;        // dw: (F,C,KH,KW)
@group(0) @binding(9) var<storage, read_write> wt_out: array<vec4<f32>>; // wt, written
@group(0) @binding(10) var<storage, read_write> wb_out: array<vec4<f32>>; // wb, written
@group(0) @binding(11) var<storage, read_write> part_out: array<f32>;  // part, written
@group(0) @binding(12) var<uniform> p: Conv;

// Rank-1 update: column j is a * b[j].
fn outer4(a: vec4<f32>, b: vec4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(a * b.x, a * b.y, a * b.z, a * b.w);
}

// Offsets of images n0..n0+3 in a tensor with `size` elements per image; images past the batch
// are clamped to the last one so their loads stay in bounds (their results are never stored).
fn image_offsets(n0: u32, size: u32) -> vec4<u32> {
  return min(vec4<u32>(n0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.n - 1u)) * size;
}

// Loads one value from each of four images at offset o of `x`, or zeros when !ok (padding).
fn load_x4(base: vec4<u32>, o: u32, ok: bool) -> vec4<f32> {
  return select(vec4<f32>(), vec4<f32>(x[base.x + o], x[base.y + o], x[base.z + o], x[base.w + o]), ok);
}

fn load_dy4(base: vec4<u32>, o: u32, ok: bool) -> vec4<f32> {
  return select(vec4<f32>(), vec4<f32>(dy[base.x + o], dy[base.y + o], dy[base.z + o], dy[base.w + o]), ok);
}

// wt[k][f4] = w[4 f4 + j][k] for j = 0..3 (zero past F). One invocation per vec4; count = K*F4.
// The linear x index of an invocation: grids past the per-dimension workgroup limit fold the
// x range into z-slices of `row` invocations (lib/ops/conv2d.ts foldGroups).
fn lin(gid: vec3<u32>) -> u32 {
  return gid.z * p.row + gid.x;
}

@compute @workgroup_size(WG)
fn pack_weight_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = lin(gid);
  if (i >= p.count) { return; }
  let kdim = p.c * p.kh * p.kw;
  let k = i / p.f4;
  let f = (i % p.f4) * 4u;
  var v = vec4<f32>();
  if (f < p.f) { v.x = w[f * kdim + k]; }
  if (f + 1u < p.f) { v.y = w[(f + 1u) * kdim + k]; }
  if (f + 2u < p.f) { v.z = w[(f + 2u) * kdim + k]; }
  if (f + 3u < p.f) { v.w = w[(f + 3u) * kdim + k]; }
  wt_out[i] = v;
}

// wb[f*KK + t][c4] = w[f][4 c4 + j][t] for j = 0..3 (zero past C). count = F*KK*C4.
@compute @workgroup_size(WG)
fn pack_weight_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = lin(gid);
  if (i >= p.count) { return; }
  let kk = p.kh * p.kw;
  let ft = i / p.c4;
  let c = (i % p.c4) * 4u;
  let f = ft / kk;
  let t = ft % kk;
  let base = f * p.c * kk + t;
  var v = vec4<f32>();
  if (c < p.c) { v.x = w[base + c * kk]; }
  if (c + 1u < p.c) { v.y = w[base + (c + 1u) * kk]; }
  if (c + 2u < p.c) { v.z = w[base + (c + 2u) * kk]; }
  if (c + 3u < p.c) { v.w = w[base + (c + 3u) * kk]; }
  wb_out[i] = v;
}

// Stores channels f..f+3 (those below `channels`) of image n at pixel q of a (N, channels,
// pixels) tensor into y.
fn store_y(n: u32, f: u32, q: u32, pixels: u32, v: vec4<f32>) {
  if (n >= p.n) { return; }
  let b = (n * p.f + f) * pixels + q;
  if (f < p.f) { y[b] = v.x; }
  if (f + 1u < p.f) { y[b + pixels] = v.y; }
  if (f + 2u < p.f) { y[b + 2u * pixels] = v.z; }
  if (f + 3u < p.f) { y[b + 3u * pixels] = v.w; }
}

// Column j of m holds channels f..f+3 of image n + j.
fn store_y_tile(n: u32, f: u32, q: u32, pixels: u32, m: mat4x4<f32>) {
  store_y(n, f, q, pixels, m[0]);
  store_y(n + 1u, f, q, pixels, m[1]);
  store_y(n + 2u, f, q, pixels, m[2]);
  store_y(n + 3u, f, q, pixels, m[3]);
}

// y = conv(x, w). gid.x = image block * P + output pixel (count = ceil(N/16) * P);
// gid.y = block of 16 output channels. Reads x and wt; overwrites y.
@compute @workgroup_size(WG)
fn conv2d_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ix = lin(gid);
  if (ix >= p.count) { return; }
  let pixels = p.ho * p.wo;
  let nb = ix / pixels;
  let q = ix - nb * pixels;
  let oh = q / p.wo;
  let ow = q - oh * p.wo;
  let n0 = nb * 16u;
  let f4 = gid.y * 4u;
  let hw = p.h * p.w;
  let chw = p.c * hw;
  let x0 = image_offsets(n0, chw);
  let x1 = image_offsets(n0 + 4u, chw);
  let x2 = image_offsets(n0 + 8u, chw);
  let x3 = image_offsets(n0 + 12u, chw);
  // a<channel quad><image quad>
  var a00 = mat4x4<f32>(); var a01 = mat4x4<f32>(); var a02 = mat4x4<f32>(); var a03 = mat4x4<f32>();
  var a10 = mat4x4<f32>(); var a11 = mat4x4<f32>(); var a12 = mat4x4<f32>(); var a13 = mat4x4<f32>();
  var a20 = mat4x4<f32>(); var a21 = mat4x4<f32>(); var a22 = mat4x4<f32>(); var a23 = mat4x4<f32>();
  var a30 = mat4x4<f32>(); var a31 = mat4x4<f32>(); var a32 = mat4x4<f32>(); var a33 = mat4x4<f32>();
  let ih0 = i32(oh * p.stride) - i32(p.pad);
  let iw0 = i32(ow * p.stride) - i32(p.pad);
  let hmax = i32(p.h) - 1;
  let wmax = i32(p.w) - 1;
  let kk = p.kh * p.kw;
  // Channels innermost: the bounds test and clamped offset of a tap serve all C channels.
  for (var kh = 0u; kh < p.kh; kh++) {
    let ih = ih0 + i32(kh);
    let hok = ih >= 0 && ih <= hmax;
    let row = u32(clamp(ih, 0, hmax)) * p.w;
    for (var kw = 0u; kw < p.kw; kw++) {
      let iw = iw0 + i32(kw);
      let ok = hok && iw >= 0 && iw <= wmax;
      var o = row + u32(clamp(iw, 0, wmax));
      var t = (kh * p.kw + kw) * p.f4 + f4; // wt row of tap (c = 0, kh, kw), channel quad 0
      for (var c = 0u; c < p.c; c++) {
        let v0 = load_x4(x0, o, ok);
        let v1 = load_x4(x1, o, ok);
        let v2 = load_x4(x2, o, ok);
        let v3 = load_x4(x3, o, ok);
        let w0 = wt[t];
        let w1 = wt[t + 1u];
        let w2 = wt[t + 2u];
        let w3 = wt[t + 3u];
        a00 += outer4(w0, v0); a01 += outer4(w0, v1); a02 += outer4(w0, v2); a03 += outer4(w0, v3);
        a10 += outer4(w1, v0); a11 += outer4(w1, v1); a12 += outer4(w1, v2); a13 += outer4(w1, v3);
        a20 += outer4(w2, v0); a21 += outer4(w2, v1); a22 += outer4(w2, v2); a23 += outer4(w2, v3);
        a30 += outer4(w3, v0); a31 += outer4(w3, v1); a32 += outer4(w3, v2); a33 += outer4(w3, v3);
        o += hw;
        t += kk * p.f4;
      }
    }
  }
  let f = f4 * 4u;
  store_y_tile(n0, f, q, pixels, a00);
  store_y_tile(n0 + 4u, f, q, pixels, a01);
  store_y_tile(n0 + 8u, f, q, pixels, a02);
  store_y_tile(n0 + 12u, f, q, pixels, a03);
  store_y_tile(n0, f + 4u, q, pixels, a10);
  store_y_tile(n0 + 4u, f + 4u, q, pixels, a11);
  store_y_tile(n0 + 8u, f + 4u, q, pixels, a12);
  store_y_tile(n0 + 12u, f + 4u, q, pixels, a13);
  store_y_tile(n0, f + 8u, q, pixels, a20);
  store_y_tile(n0 + 4u, f + 8u, q, pixels, a21);
  store_y_tile(n0 + 8u, f + 8u, q, pixels, a22);
  store_y_tile(n0 + 12u, f + 8u, q, pixels, a23);
  store_y_tile(n0, f + 12u, q, pixels, a30);
  store_y_tile(n0 + 4u, f + 12u, q, pixels, a31);
  store_y_tile(n0 + 8u, f + 12u, q, pixels, a32);
  store_y_tile(n0 + 12u, f + 12u, q, pixels, a33);
}

// Stores (or adds, with accumulate) channels c..c+3 of image n at input offset o (= ih*W + iw)
// into dx.
fn store_dx(n: u32, c: u32, o: u32, v: vec4<f32>) {
  if (n >= p.n) { return; }
  let hw = p.h * p.w;
  let b = (n * p.c + c) * hw + o;
  if (p.accumulate != 0u) {
    if (c < p.c) { dx[b] += v.x; }
    if (c + 1u < p.c) { dx[b + hw] += v.y; }
    if (c + 2u < p.c) { dx[b + 2u * hw] += v.z; }
    if (c + 3u < p.c) { dx[b + 3u * hw] += v.w; }
  } else {
    if (c < p.c) { dx[b] = v.x; }
    if (c + 1u < p.c) { dx[b + hw] = v.y; }
    if (c + 2u < p.c) { dx[b + 2u * hw] = v.z; }
    if (c + 3u < p.c) { dx[b + 3u * hw] = v.w; }
  }
}

fn store_dx_tile(n: u32, c: u32, o: u32, m: mat4x4<f32>) {
  store_dx(n, c, o, m[0]);
  store_dx(n + 1u, c, o, m[1]);
  store_dx(n + 2u, c, o, m[2]);
  store_dx(n + 3u, c, o, m[3]);
}

// dx = conv_transpose(dy, w). Input pixels are split into s*s phases (ih mod s, iw mod s): in a
// phase the taps that reach an output pixel are the same for every pixel, so a workgroup loops
// over exactly those (kh = (ph + p) mod s, + s, ...) and no lane tests divisibility.
// gid.x = image block * (ceil(H/s) ceil(W/s)) + pixel of the phase (count = ceil(N/16) * that);
// gid.y = channel block + C16/16 * phase. Reads dy and wb; overwrites dx (pixels no tap reaches
// get zeros), or adds to it with accumulate = 1 (the residual branch of a ResNet block).
@compute @workgroup_size(WG)
fn conv2d_backward_input(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ix = lin(gid);
  if (ix >= p.count) { return; }
  let s = p.stride;
  let phase = gid.y / p.cblocks;
  let c4 = (gid.y - phase * p.cblocks) * 4u;
  let ph = phase / s;
  let pw = phase - ph * s;
  let ch = (p.h + s - 1u) / s;
  let cw = (p.w + s - 1u) / s;
  let cell = ch * cw;
  let nb = ix / cell;
  let r = ix - nb * cell;
  let a = r / cw;
  let b = r - a * cw;
  let ih = ph + a * s;
  let iw = pw + b * s;
  if (ih >= p.h || iw >= p.w) { return; }
  let n0 = nb * 16u;
  let pixels = p.ho * p.wo;
  let fp = p.f * pixels;
  let y0 = image_offsets(n0, fp);
  let y1 = image_offsets(n0 + 4u, fp);
  let y2 = image_offsets(n0 + 8u, fp);
  let y3 = image_offsets(n0 + 12u, fp);
  var a00 = mat4x4<f32>(); var a01 = mat4x4<f32>(); var a02 = mat4x4<f32>(); var a03 = mat4x4<f32>();
  var a10 = mat4x4<f32>(); var a11 = mat4x4<f32>(); var a12 = mat4x4<f32>(); var a13 = mat4x4<f32>();
  var a20 = mat4x4<f32>(); var a21 = mat4x4<f32>(); var a22 = mat4x4<f32>(); var a23 = mat4x4<f32>();
  var a30 = mat4x4<f32>(); var a31 = mat4x4<f32>(); var a32 = mat4x4<f32>(); var a33 = mat4x4<f32>();
  let kh0 = (ph + p.pad) % s;
  let kw0 = (pw + p.pad) % s;
  let hmax = i32(p.ho) - 1;
  let wmax = i32(p.wo) - 1;
  let kk = p.kh * p.kw;
  // Output row reached by tap kh0; every further tap (kh + s) reaches the row above.
  var oh = i32(a + (ph + p.pad - kh0) / s);
  // Output channels innermost: the bounds test and clamped offset of a tap serve all F channels.
  for (var kh = kh0; kh < p.kh; kh += s) {
    let hok = oh >= 0 && oh <= hmax;
    let row = u32(clamp(oh, 0, hmax)) * p.wo;
    var ow = i32(b + (pw + p.pad - kw0) / s);
    for (var kw = kw0; kw < p.kw; kw += s) {
      let ok = hok && ow >= 0 && ow <= wmax;
      var o = row + u32(clamp(ow, 0, wmax));
      var t = (kh * p.kw + kw) * p.c4 + c4; // wb row of tap (f = 0, kh, kw), channel quad 0
      for (var f = 0u; f < p.f; f++) {
        let v0 = load_dy4(y0, o, ok);
        let v1 = load_dy4(y1, o, ok);
        let v2 = load_dy4(y2, o, ok);
        let v3 = load_dy4(y3, o, ok);
        let w0 = wb[t];
        let w1 = wb[t + 1u];
        let w2 = wb[t + 2u];
        let w3 = wb[t + 3u];
        a00 += outer4(w0, v0); a01 += outer4(w0, v1); a02 += outer4(w0, v2); a03 += outer4(w0, v3);
        a10 += outer4(w1, v0); a11 += outer4(w1, v1); a12 += outer4(w1, v2); a13 += outer4(w1, v3);
        a20 += outer4(w2, v0); a21 += outer4(w2, v1); a22 += outer4(w2, v2); a23 += outer4(w2, v3);
        a30 += outer4(w3, v0); a31 += outer4(w3, v1); a32 += outer4(w3, v2); a33 += outer4(w3, v3);
        o += pixels;
        t += kk * p.c4;
      }
      ow -= 1;
    }
    oh -= 1;
  }
  let c = c4 * 4u;
  let o = ih * p.w + iw;
  store_dx_tile(n0, c, o, a00);
  store_dx_tile(n0 + 4u, c, o, a01);
  store_dx_tile(n0 + 8u, c, o, a02);
  store_dx_tile(n0 + 12u, c, o, a03);
  store_dx_tile(n0, c + 4u, o, a10);
  store_dx_tile(n0 + 4u, c + 4u, o, a11);
  store_dx_tile(n0 + 8u, c + 4u, o, a12);
  store_dx_tile(n0 + 12u, c + 4u, o, a13);
  store_dx_tile(n0, c + 8u, o, a20);
  store_dx_tile(n0 + 4u, c + 8u, o, a21);
  store_dx_tile(n0 + 8u, c + 8u, o, a22);
  store_dx_tile(n0 + 12u, c + 8u, o, a23);
  store_dx_tile(n0, c + 12u, o, a30);
  store_dx_tile(n0 + 4u, c + 12u, o, a31);
  store_dx_tile(n0 + 8u, c + 12u, o, a32);
  store_dx_tile(n0 + 12u, c + 12u, o, a33);
}

// Taps k..k+3 of the flattened (c, kh, kw) index: offset of channel c in an image, kh, kw, and
// whether the tap exists (k < K).
struct Taps {
  chan: vec4<u32>,
  kh: vec4<i32>,
  kw: vec4<i32>,
  valid: vec4<bool>,
}

fn taps(k: u32) -> Taps {
  let kk = p.kh * p.kw;
  let kdim = p.c * kk;
  let ks = vec4<u32>(k) + vec4<u32>(0u, 1u, 2u, 3u);
  let kc = min(ks, vec4<u32>(kdim - 1u));
  let c = kc / kk;
  let r = kc - c * kk;
  let kh = r / p.kw;
  let kw = r - kh * p.kw;
  return Taps(c * (p.h * p.w), vec4<i32>(kh), vec4<i32>(kw), ks < vec4<u32>(kdim));
}

// Loads x at taps t for output row ih0 (= oh*s - p) and column iw0 of the image at xb.
struct TapRow {
  row: vec4<u32>,
  ok: vec4<bool>,
}

fn tap_row(t: Taps, ih0: i32) -> TapRow {
  let ih = vec4<i32>(ih0) + t.kh;
  let ok = t.valid & (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(p.h)));
  let row = t.chan + vec4<u32>(clamp(ih, vec4<i32>(0), vec4<i32>(i32(p.h) - 1))) * p.w;
  return TapRow(row, ok);
}

fn load_taps(xb: u32, t: Taps, r: TapRow, iw0: i32) -> vec4<f32> {
  let iw = vec4<i32>(iw0) + t.kw;
  let ok = r.ok & (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.w)));
  let o = vec4<u32>(xb) + r.row + vec4<u32>(clamp(iw, vec4<i32>(0), vec4<i32>(i32(p.w) - 1)));
  return select(vec4<f32>(), vec4<f32>(x[o.x], x[o.y], x[o.z], x[o.w]), ok);
}

// Stores output channels f..f+3 (rows of column j) for tap k + j of a partial-sum tile.
fn store_part(split: u32, f: u32, k: u32, m: mat4x4<f32>) {
  let kdim = p.c * p.kh * p.kw;
  let base = split * p.f * kdim;
  for (var j = 0u; j < 4u; j++) {
    let kj = k + j;
    if (kj < kdim) {
      let v = m[j];
      if (f < p.f) { part_out[base + f * kdim + kj] = v.x; }
      if (f + 1u < p.f) { part_out[base + (f + 1u) * kdim + kj] = v.y; }
      if (f + 2u < p.f) { part_out[base + (f + 2u) * kdim + kj] = v.z; }
      if (f + 3u < p.f) { part_out[base + (f + 3u) * kdim + kj] = v.w; }
    }
  }
}

// Partial dw over one share of the batch. gid.x = tap block + kblocks * share (count =
// kblocks * splits); gid.y = block of 16 output channels. Reads x and dy; overwrites part.
@compute @workgroup_size(WG)
fn conv2d_backward_weight(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ix = lin(gid);
  if (ix >= p.count) { return; }
  let split = ix / p.kblocks;
  let k = (ix - split * p.kblocks) * 16u;
  let f = gid.y * 16u;
  let pixels = p.ho * p.wo;
  let chw = p.c * p.h * p.w;
  let t0 = taps(k);
  let t1 = taps(k + 4u);
  let t2 = taps(k + 8u);
  let t3 = taps(k + 12u);
  // dy offsets of channels f..f+15, clamped to the last channel (never stored).
  let fl = vec4<u32>(p.f - 1u);
  let d0 = min(vec4<u32>(f) + vec4<u32>(0u, 1u, 2u, 3u), fl) * pixels;
  let d1 = min(vec4<u32>(f) + vec4<u32>(4u, 5u, 6u, 7u), fl) * pixels;
  let d2 = min(vec4<u32>(f) + vec4<u32>(8u, 9u, 10u, 11u), fl) * pixels;
  let d3 = min(vec4<u32>(f) + vec4<u32>(12u, 13u, 14u, 15u), fl) * pixels;
  // a<channel quad><tap quad>: column j = tap 4 * quad + j, rows = 4 output channels.
  var a00 = mat4x4<f32>(); var a01 = mat4x4<f32>(); var a02 = mat4x4<f32>(); var a03 = mat4x4<f32>();
  var a10 = mat4x4<f32>(); var a11 = mat4x4<f32>(); var a12 = mat4x4<f32>(); var a13 = mat4x4<f32>();
  var a20 = mat4x4<f32>(); var a21 = mat4x4<f32>(); var a22 = mat4x4<f32>(); var a23 = mat4x4<f32>();
  var a30 = mat4x4<f32>(); var a31 = mat4x4<f32>(); var a32 = mat4x4<f32>(); var a33 = mat4x4<f32>();
  let nstart = split * p.per_split;
  let nend = min(nstart + p.per_split, p.n);
  for (var n = nstart; n < nend; n++) {
    let xb = n * chw;
    let yb = n * p.f * pixels;
    for (var oh = 0u; oh < p.ho; oh++) {
      let ih0 = i32(oh * p.stride) - i32(p.pad);
      let r0 = tap_row(t0, ih0);
      let r1 = tap_row(t1, ih0);
      let r2 = tap_row(t2, ih0);
      let r3 = tap_row(t3, ih0);
      var q = yb + oh * p.wo;
      for (var ow = 0u; ow < p.wo; ow++) {
        let iw0 = i32(ow * p.stride) - i32(p.pad);
        let g0 = vec4<f32>(dy[q + d0.x], dy[q + d0.y], dy[q + d0.z], dy[q + d0.w]);
        let g1 = vec4<f32>(dy[q + d1.x], dy[q + d1.y], dy[q + d1.z], dy[q + d1.w]);
        let g2 = vec4<f32>(dy[q + d2.x], dy[q + d2.y], dy[q + d2.z], dy[q + d2.w]);
        let g3 = vec4<f32>(dy[q + d3.x], dy[q + d3.y], dy[q + d3.z], dy[q + d3.w]);
        let v0 = load_taps(xb, t0, r0, iw0);
        let v1 = load_taps(xb, t1, r1, iw0);
        let v2 = load_taps(xb, t2, r2, iw0);
        let v3 = load_taps(xb, t3, r3, iw0);
        a00 += outer4(g0, v0); a01 += outer4(g0, v1); a02 += outer4(g0, v2); a03 += outer4(g0, v3);
        a10 += outer4(g1, v0); a11 += outer4(g1, v1); a12 += outer4(g1, v2); a13 += outer4(g1, v3);
        a20 += outer4(g2, v0); a21 += outer4(g2, v1); a22 += outer4(g2, v2); a23 += outer4(g2, v3);
        a30 += outer4(g3, v0); a31 += outer4(g3, v1); a32 += outer4(g3, v2); a33 += outer4(g3, v3);
        q++;
      }
    }
  }
  store_part(split, f, k, a00);
  store_part(split, f, k + 4u, a01);
  store_part(split, f, k + 8u, a02);
  store_part(split, f, k + 12u, a03);
  store_part(split, f + 4u, k, a10);
  store_part(split, f + 4u, k + 4u, a11);
  store_part(split, f + 4u, k + 8u, a12);
  store_part(split, f + 4u, k + 12u, a13);
  store_part(split, f + 8u, k, a20);
  store_part(split, f + 8u, k + 4u, a21);
  store_part(split, f + 8u, k + 8u, a22);
  store_part(split, f + 8u, k + 12u, a23);
  store_part(split, f + 12u, k, a30);
  store_part(split, f + 12u, k + 4u, a31);
  store_part(split, f + 12u, k + 8u, a32);
  store_part(split, f + 12u, k + 12u, a33);
}

// Stores output channels f..f+3 (rows) for input channels c..c+3 (columns) at tap `tap`
// (= kh*KW + kw) of a partial-sum tile.
fn store_part_channels(split: u32, f: u32, c: u32, tap: u32, m: mat4x4<f32>) {
  let kk = p.kh * p.kw;
  let kdim = p.c * kk;
  let base = split * p.f * kdim + tap;
  for (var j = 0u; j < 4u; j++) {
    let cj = c + j;
    if (cj < p.c) {
      let v = m[j];
      let b = base + cj * kk;
      if (f < p.f) { part_out[b + f * kdim] = v.x; }
      if (f + 1u < p.f) { part_out[b + (f + 1u) * kdim] = v.y; }
      if (f + 2u < p.f) { part_out[b + (f + 2u) * kdim] = v.z; }
      if (f + 3u < p.f) { part_out[b + (f + 3u) * kdim] = v.w; }
    }
  }
}

// As conv2d_backward_weight, but a tile is 16 output x 16 input channels at one tap (kh, kw):
// the bounds test and clamped offset of a pixel then serve all 16 input channels, which makes
// it faster when C is near a multiple of 16. gid.x = (tap * C16/16 + channel block) + tiles *
// share (count = KK * C16/16 * splits); gid.y = block of 16 output channels.
@compute @workgroup_size(WG)
fn conv2d_backward_weight_channels(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ix = lin(gid);
  if (ix >= p.count) { return; }
  let tiles = p.kh * p.kw * p.cblocks;
  let split = ix / tiles;
  let r = ix - split * tiles;
  let tap = r / p.cblocks;
  let c = (r - tap * p.cblocks) * 16u;
  let kh = tap / p.kw;
  let kw = tap - kh * p.kw;
  let f = gid.y * 16u;
  let pixels = p.ho * p.wo;
  let hw = p.h * p.w;
  let chw = p.c * hw;
  // Offsets of input channels c..c+15 and output channels f..f+15 within an image, clamped to
  // the last channel (never stored).
  let cl = vec4<u32>(p.c - 1u);
  let x0 = min(vec4<u32>(c) + vec4<u32>(0u, 1u, 2u, 3u), cl) * hw;
  let x1 = min(vec4<u32>(c) + vec4<u32>(4u, 5u, 6u, 7u), cl) * hw;
  let x2 = min(vec4<u32>(c) + vec4<u32>(8u, 9u, 10u, 11u), cl) * hw;
  let x3 = min(vec4<u32>(c) + vec4<u32>(12u, 13u, 14u, 15u), cl) * hw;
  let fl = vec4<u32>(p.f - 1u);
  let d0 = min(vec4<u32>(f) + vec4<u32>(0u, 1u, 2u, 3u), fl) * pixels;
  let d1 = min(vec4<u32>(f) + vec4<u32>(4u, 5u, 6u, 7u), fl) * pixels;
  let d2 = min(vec4<u32>(f) + vec4<u32>(8u, 9u, 10u, 11u), fl) * pixels;
  let d3 = min(vec4<u32>(f) + vec4<u32>(12u, 13u, 14u, 15u), fl) * pixels;
  // a<output channel quad><input channel quad>
  var a00 = mat4x4<f32>(); var a01 = mat4x4<f32>(); var a02 = mat4x4<f32>(); var a03 = mat4x4<f32>();
  var a10 = mat4x4<f32>(); var a11 = mat4x4<f32>(); var a12 = mat4x4<f32>(); var a13 = mat4x4<f32>();
  var a20 = mat4x4<f32>(); var a21 = mat4x4<f32>(); var a22 = mat4x4<f32>(); var a23 = mat4x4<f32>();
  var a30 = mat4x4<f32>(); var a31 = mat4x4<f32>(); var a32 = mat4x4<f32>(); var a33 = mat4x4<f32>();
  let hmax = i32(p.h) - 1;
  let wmax = i32(p.w) - 1;
  let nstart = split * p.per_split;
  let nend = min(nstart + p.per_split, p.n);
  for (var n = nstart; n < nend; n++) {
    let xb = n * chw;
    var q = n * p.f * pixels;
    for (var oh = 0u; oh < p.ho; oh++) {
      let ih = i32(oh * p.stride) - i32(p.pad) + i32(kh);
      let hok = ih >= 0 && ih <= hmax;
      let row = xb + u32(clamp(ih, 0, hmax)) * p.w;
      for (var ow = 0u; ow < p.wo; ow++) {
        let iw = i32(ow * p.stride) - i32(p.pad) + i32(kw);
        let ok = hok && iw >= 0 && iw <= wmax;
        let o = row + u32(clamp(iw, 0, wmax));
        let g0 = vec4<f32>(dy[q + d0.x], dy[q + d0.y], dy[q + d0.z], dy[q + d0.w]);
        let g1 = vec4<f32>(dy[q + d1.x], dy[q + d1.y], dy[q + d1.z], dy[q + d1.w]);
        let g2 = vec4<f32>(dy[q + d2.x], dy[q + d2.y], dy[q + d2.z], dy[q + d2.w]);
        let g3 = vec4<f32>(dy[q + d3.x], dy[q + d3.y], dy[q + d3.z], dy[q + d3.w]);
        let v0 = load_x4(x0, o, ok);
        let v1 = load_x4(x1, o, ok);
        let v2 = load_x4(x2, o, ok);
        let v3 = load_x4(x3, o, ok);
        a00 += outer4(g0, v0); a01 += outer4(g0, v1); a02 += outer4(g0, v2); a03 += outer4(g0, v3);
        a10 += outer4(g1, v0); a11 += outer4(g1, v1); a12 += outer4(g1, v2); a13 += outer4(g1, v3);
        a20 += outer4(g2, v0); a21 += outer4(g2, v1); a22 += outer4(g2, v2); a23 += outer4(g2, v3);
        a30 += outer4(g3, v0); a31 += outer4(g3, v1); a32 += outer4(g3, v2); a33 += outer4(g3, v3);
        q++;
      }
    }
  }
  store_part_channels(split, f, c, tap, a00);
  store_part_channels(split, f, c + 4u, tap, a01);
  store_part_channels(split, f, c + 8u, tap, a02);
  store_part_channels(split, f, c + 12u, tap, a03);
  store_part_channels(split, f + 4u, c, tap, a10);
  store_part_channels(split, f + 4u, c + 4u, tap, a11);
  store_part_channels(split, f + 4u, c + 8u, tap, a12);
  store_part_channels(split, f + 4u, c + 12u, tap, a13);
  store_part_channels(split, f + 8u, c, tap, a20);
  store_part_channels(split, f + 8u, c + 4u, tap, a21);
  store_part_channels(split, f + 8u, c + 8u, tap, a22);
  store_part_channels(split, f + 8u, c + 12u, tap, a23);
  store_part_channels(split, f + 12u, c, tap, a30);
  store_part_channels(split, f + 12u, c + 4u, tap, a31);
  store_part_channels(split, f + 12u, c + 8u, tap, a32);
  store_part_channels(split, f + 12u, c + 12u, tap, a33);
}

// dw[i] = sum over shares of part[share][i] (+ dw[i] when accumulating). count = F*K.
@compute @workgroup_size(WG)
fn conv2d_reduce_weight(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = lin(gid);
  if (i >= p.count) { return; }
  var sum = 0.0;
  for (var s = 0u; s < p.splits; s++) {
    sum += part[s * p.count + i];
  }
  if (p.accumulate != 0u) { sum += dw[i]; }
  dw[i] = sum;
}
