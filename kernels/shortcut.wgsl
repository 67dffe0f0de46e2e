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
// Workgroup: WG invocations (override, default 64), one element of the output each, indexed
// gid.y * row + gid.x so that tensors beyond 65535 workgroups fold into a 2-D grid. Each
// invocation gathers its one value, so every element is written once: no atomics, and the
// result is deterministic. The op only moves memory, so there is nothing to tile.

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
  total: u32,      // elements of this entry point's output
  row: u32,        // elements covered by one row of workgroups (x groups * WG)
  accumulate: u32, // backward: 1 adds to dx, 0 overwrites
}

@group(0) @binding(0) var<storage, read> x: array<f32>;        // x: (N,C,H,W)
@group(0) @binding(1) var<storage, read> dy: array<f32>;       // dy: (N,F,Ho,Wo)
@group(0) @binding(2) var<storage, read_write> y: array<f32>;  // y: (N,F,Ho,Wo)
@group(0) @binding(3) var<storage, read_write> dx: array<f32>; // dx: (N,C,H,W)
@group(0) @binding(4) var<uniform> p: Shortcut;

@compute @workgroup_size(WG)
fn shortcut_pad_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * p.row + gid.x;
  if (i >= p.total) { return; }
  let j = i % p.wo;
  let r = (i / p.wo) % p.ho;
  let f = (i / (p.wo * p.ho)) % p.f;
  let n = i / (p.wo * p.ho * p.f);
  var v = 0.0;
  if (f >= p.before && f - p.before < p.c) {
    v = x[((n * p.c + f - p.before) * p.h + r * p.stride) * p.w + j * p.stride];
  }
  y[i] = v;
}

@compute @workgroup_size(WG)
fn shortcut_pad_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * p.row + gid.x;
  if (i >= p.total) { return; }
  let col = i % p.w;
  let r = (i / p.w) % p.h;
  let c = (i / (p.w * p.h)) % p.c;
  let n = i / (p.w * p.h * p.c);
  var g = 0.0;
  if (col % p.stride == 0u && r % p.stride == 0u) {
    g = dy[((n * p.f + c + p.before) * p.ho + r / p.stride) * p.wo + col / p.stride];
  }
  if (p.accumulate == 1u) { dx[i] += g; } else { dx[i] = g; }
}
