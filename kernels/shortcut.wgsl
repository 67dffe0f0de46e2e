// Option-A residual shortcut (He et al. 2016; LDAM-DRW's CIFAR ResNet-32): the block input
// subsampled by the stride and zero-padded to the block's channel count. No parameters.
// Forward and backward side by side.
//
// Legend: N batch, C input channels, H x W input size, F output channels (F >= C), s stride,
// Ho = ceil(H / s), Wo = ceil(W / s) (what a 3x3 stride-s padding-1 convolution gives),
// B = the zero channels in front of the input's (F - C - B behind them).
// Layout: x, dx (N,C,H,W); y, dy (N,F,Ho,Wo); row-major.
//   forward:  y[n,f,i,j] = x[n, f - B, i s, j s] if 0 <= f - B < C, else 0       (overwrites y)
//   backward: dx[n,c,h,w] = dy[n, c + B, h / s, w / s] if s divides h and w, else 0
//             (overwrites dx, or adds to it with `accumulate`: a block's main path and
//             shortcut then sum their input gradients without a separate add)
// Bindings (group 0): read-only inputs, then outputs, then the uniform `p`.
// Workgroup: WG invocations (override, default 64), one row of the output each (a row of Wo
// outputs forward, of W input cells backward), indexed gid.y * row + gid.x so that tensors
// beyond 65535 workgroups fold into a 2-D grid. A row per invocation because on software
// adapters each invocation costs about as much as a few dozen loads, and one element each ran
// the shortcut slower than the 1x1 convolution it replaces. Each output element is written by
// one invocation: no atomics, and the result is deterministic. The op only moves memory, so
// there is nothing to tile.

override WG: u32 = 64u;

struct Shortcut {
  n: u32,          // N
  c: u32,          // C
  h: u32,          // H
  w: u32,          // W
  f: u32,          // F
  ho: u32,         // Ho
  wo: u32,         // Wo
  stride: u32,     // s
  before: u32,     // B
  total: u32,      // rows of this entry point's output (N*F*Ho forward, N*C*H backward)
  row: u32,        // rows covered by one row of workgroups (x groups * WG)
  accumulate: u32, // backward: 1 adds to dx, 0 overwrites
}

@group(0) @binding(0) var<storage, read> x: array<f32>;        // x: (N,C,H,W)
@group(0) @binding(1) var<storage, read> dy: array<f32>;       // dy: (N,F,Ho,Wo)
@group(0) @binding(2) var<storage, read_write> y: array<f32>;  // y: (N,F,Ho,Wo)
@group(0) @binding(3) var<storage, read_write> dx: array<f32>; // dx: (N,C,H,W)
@group(0) @binding(4) var<uniform> p: Shortcut;

@compute @workgroup_size(WG)
fn shortcut_pad_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.y * p.row + gid.x;
  if (e >= p.total) { return; }
  let i = e % p.ho;
  let f = (e / p.ho) % p.f;
  let n = e / (p.ho * p.f);
  let out = e * p.wo;
  if (f < p.before || f - p.before >= p.c) {
    for (var j = 0u; j < p.wo; j++) { y[out + j] = 0.0; }
    return;
  }
  let src = ((n * p.c + f - p.before) * p.h + i * p.stride) * p.w;
  for (var j = 0u; j < p.wo; j++) { y[out + j] = x[src + j * p.stride]; }
}

@compute @workgroup_size(WG)
fn shortcut_pad_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.y * p.row + gid.x;
  if (e >= p.total) { return; }
  let r = e % p.h;
  let c = (e / p.h) % p.c;
  let n = e / (p.h * p.c);
  let out = e * p.w;
  let hit = r % p.stride == 0u;
  let src = ((n * p.f + c + p.before) * p.ho + r / p.stride) * p.wo;
  for (var col = 0u; col < p.w; col++) {
    var g = 0.0;
    if (hit && col % p.stride == 0u) { g = dy[src + col / p.stride]; }
    if (p.accumulate == 1u) { dx[out + col] += g; } else { dx[out + col] = g; }
  }
}
