// Element-wise ops over flat f32 tensors, forward and backward side by side.
//
// Legend: n = number of elements, q = ceil(n / 4) vec4 groups.
// Layout: every tensor is a flat array of n f32 values, read as q vec4s; shapes do not matter.
// Tensor buffers are padded to 16 bytes, so the last vec4 may run into padding: those lanes are
// computed and written like the rest and never read as data.
// Bindings (group 0): inputs read-only storage first, then outputs, then the uniform `p`.
// Workgroup: WG invocations (override, default 64), PER vec4s per invocation (override, default
// 4, consecutive), laid out along x and y so q may exceed 65535 * WG * PER.
// NOTE: whole vec4s and several per invocation: on software adapters each storage access costs
// the same whatever its width, and one element per invocation ran at a quarter of the speed.

override WG: u32 = 64u;
override PER: u32 = 4u;

struct Params {
  // q, the number of vec4 groups.
  n: u32,
  // Elements handled by one row of workgroups (x groups * WG); the y grid adds whole rows.
  row: u32,
  alpha: f32,
  beta: f32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;        // x: (n) f32
@group(0) @binding(1) var<storage, read> y: array<vec4<f32>>;        // y: (n) f32
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>; // out: (n) f32
@group(0) @binding(3) var<uniform> p: Params;

// First vec4 of this invocation's run of PER.
fn first_of(gid: vec3<u32>) -> u32 {
  return (gid.y * p.row + gid.x) * PER;
}

// out = alpha
@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>) {
  let first = first_of(gid);
  for (var k = 0u; k < PER; k++) {
    let i = first + k;
    if (i < p.n) { out[i] = vec4<f32>(p.alpha); }
  }
}

// out = alpha * x
@compute @workgroup_size(WG)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {
  let first = first_of(gid);
  for (var k = 0u; k < PER; k++) {
    let i = first + k;
    if (i < p.n) { out[i] = p.alpha * x[i]; }
  }
}

// out = alpha * x + beta * y (residual add is alpha = beta = 1)
@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) gid: vec3<u32>) {
  let first = first_of(gid);
  for (var k = 0u; k < PER; k++) {
    let i = first + k;
    if (i < p.n) { out[i] = p.alpha * x[i] + p.beta * y[i]; }
  }
}

// out += alpha * x, in place: out is read and written by the same invocation, so a sum can
// grow in one buffer (gradient accumulation over micro-batches) without a second copy.
@compute @workgroup_size(WG)
fn accumulate(@builtin(global_invocation_id) gid: vec3<u32>) {
  let first = first_of(gid);
  for (var k = 0u; k < PER; k++) {
    let i = first + k;
    if (i < p.n) { out[i] = out[i] + p.alpha * x[i]; }
  }
}

// out = max(alpha * x + beta * y, 0): a residual add and its ReLU in one pass
@compute @workgroup_size(WG)
fn add_relu(@builtin(global_invocation_id) gid: vec3<u32>) {
  let first = first_of(gid);
  for (var k = 0u; k < PER; k++) {
    let i = first + k;
    if (i < p.n) { out[i] = max(p.alpha * x[i] + p.beta * y[i], vec4<f32>(0.0)); }
  }
}

// out = max(x, 0)
@compute @workgroup_size(WG)
fn relu_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let first = first_of(gid);
  for (var k = 0u; k < PER; k++) {
    let i = first + k;
    if (i < p.n) { out[i] = max(x[i], vec4<f32>(0.0)); }
  }
}

// out = dy where x > 0, else 0. x is the forward input (or output: same sign), y is dy.
// Overwrites out.
@compute @workgroup_size(WG)
fn relu_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let first = first_of(gid);
  for (var k = 0u; k < PER; k++) {
    let i = first + k;
    if (i < p.n) { out[i] = select(vec4<f32>(0.0), y[i], x[i] > vec4<f32>(0.0)); }
  }
}
