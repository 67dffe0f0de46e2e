// Grouped 2-D convolution without bias (ResNeXt's 3x3 convolution), forward and both backward
// passes side by side, as direct convolutions. Ungrouped convolutions (G = 1) do not come here:
// they take the register-tiled kernels of conv2d.wgsl.
//
// Legend: N batch, C input channels, H x W input size, F output channels, G groups,
// Cg = C / G and Fg = F / G channels per group (output channel f belongs to group f / Fg and
// sees input channels (f / Fg) Cg .. +Cg), KH x KW kernel, s stride, p padding (the same on
// every side), Ho = (H + 2p - KH) / s + 1, Wo likewise, KK = KH*KW.
// Layout: x, dx (N,C,H,W); w, dw (F,Cg,KH,KW); y, dy (N,F,Ho,Wo); part (splits,F,Cg,KH,KW);
// row-major.
//   conv2d_grouped_forward:          y[n,f,i,j] = sum w[f,k,a,b] x[n, g Cg + k, i s - p + a, j s - p + b]
//   conv2d_grouped_backward_input:   dx (+)= the transpose, gathered per input cell
//   conv2d_grouped_backward_weight:  part[split] = dL/dw over the images of one batch share
//   conv2d_grouped_reduce_weight:    dw (+)= the sum of the shares
// Bindings (group 0): read-only inputs, then outputs, then the uniform `p`; each entry point
// uses a subset.
// Workgroup: WG invocations (override, default 64), one output element each, indexed
// gid.y * row + gid.x so that large tensors fold into a 2-D grid. Every element is gathered by
// one invocation in a fixed order: no atomics, deterministic sums. A group of ResNeXt-50 32x4d
// has 4 to 32 channels, too few to fill the 16-channel register tiles of conv2d.wgsl, so the
// loops stay plain; the weight gradient splits the batch into shares (like conv2d.wgsl) so that
// few weights still make enough invocations.

override WG: u32 = 64u;

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
  total: u32,      // elements of this entry point's output
  row: u32,        // elements covered by one row of workgroups (x groups * WG)
  splits: u32,     // backward weight: batch shares
  per_split: u32,  // backward weight: images per share
  accumulate: u32, // 1 adds to dx or dw, 0 overwrites
}

@group(0) @binding(0) var<storage, read> x: array<f32>;              // x: (N,C,H,W)
@group(0) @binding(1) var<storage, read> w: array<f32>;              // w: (F,Cg,KH,KW)
@group(0) @binding(2) var<storage, read> dy: array<f32>;             // dy: (N,F,Ho,Wo)
@group(0) @binding(3) var<storage, read> part: array<f32>;           // part: (splits,F,Cg,KH,KW)
@group(0) @binding(4) var<storage, read_write> y: array<f32>;        // y: (N,F,Ho,Wo)
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;       // dx: (N,C,H,W)
@group(0) @binding(6) var<storage, read_write> dw: array<f32>;       // dw: (F,Cg,KH,KW)
@group(0) @binding(7) var<storage, read_write> part_out: array<f32>; // part, written
@group(0) @binding(8) var<uniform> p: Conv;

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
