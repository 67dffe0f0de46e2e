// Element-wise ops over flat f32 tensors, forward and backward side by side.
//
// Legend: n = number of elements.
// Layout: every tensor is a flat array of n f32 values; shapes do not matter here.
// Bindings (group 0): inputs read-only storage first, then outputs, then the uniform `p`.
// Workgroup: WG invocations (override, default 256), one element per invocation, grid-strided
// along x and y so n may exceed 65535 * WG.

override WG: u32 = 256u;

struct Params {
  n: u32,
  // Elements handled by one row of workgroups (x groups * WG); the y grid adds whole rows.
  row: u32,
  alpha: f32,
  beta: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;       // x: (n) f32
@group(0) @binding(1) var<storage, read> y: array<f32>;       // y: (n) f32
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // out: (n) f32
@group(0) @binding(3) var<uniform> p: Params;

fn index_of(gid: vec3<u32>) -> u32 {
  return gid.y * p.row + gid.x;
}

// out = alpha
@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = index_of(gid);
  if (i < p.n) { out[i] = p.alpha; }
}

// out = alpha * x
@compute @workgroup_size(WG)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = index_of(gid);
  if (i < p.n) { out[i] = p.alpha * x[i]; }
}

// out = alpha * x + beta * y (residual add is alpha = beta = 1)
@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = index_of(gid);
  if (i < p.n) { out[i] = p.alpha * x[i] + p.beta * y[i]; }
}

// out = max(x, 0)
@compute @workgroup_size(WG)
fn relu_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = index_of(gid);
  if (i < p.n) { out[i] = max(x[i], 0.0); }
}

// out = dy where x > 0, else 0. x is the forward input (or output: same sign), y is dy.
// Overwrites out.
@compute @workgroup_size(WG)
fn relu_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = index_of(gid);
  if (i < p.n) { out[i] = select(0.0, y[i], x[i] > 0.0); }
}
