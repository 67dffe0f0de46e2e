// SGD with momentum (PyTorch semantics: dampening 0, no Nesterov) fused into one pass over flat
// buffers, the GPU-side step counter for per-step learning rates, and a non-finite check.
//
// Legend: count = elements to update, quads = ceil(count / 4), L = entries of the lr table.
// Layout: params, grads, velocity: flat f32, read as vec4 (tensor buffers are padded to 16
// bytes; lanes past `count` in the last vec4 are written back unchanged). lrs: (L) f32;
// step: (1) u32; values: flat f32; flag: (1) u32.
// Bindings (group 0): read-only inputs, then read_write, then the uniform `p` (binding 8).
// Workgroup: WG (override, default 64) invocations, each handling `per` consecutive vec4s (or
// values, for the check), grid-strided along y.
//
// The learning rate is read on the GPU as lrs[min(step, L - 1)]: with a one-entry table and
// step 0 it is a constant the host may rewrite between submits; with a whole schedule uploaded
// once, sgd_advance bumps step after each update and the host writes nothing per step.

override WG: u32 = 64u;

struct Sgd {
  count: u32,
  quads: u32,
  per: u32,          // vec4s (or values) per invocation
  row: u32,          // invocations per row of workgroups (x groups * WG)
  lrs_len: u32,      // L
  _pad0: u32,
  momentum: f32,
  weight_decay: f32,
}

@group(0) @binding(0) var<storage, read> grads: array<vec4<f32>>;      // (quads) vec4
@group(0) @binding(1) var<storage, read> lrs: array<f32>;              // (L)
@group(0) @binding(2) var<storage, read> step: array<u32>;             // (1)
@group(0) @binding(3) var<storage, read> values: array<f32>;           // (count), checked
@group(0) @binding(4) var<storage, read_write> params: array<vec4<f32>>;   // (quads) vec4, updated
@group(0) @binding(5) var<storage, read_write> velocity: array<vec4<f32>>; // (quads) vec4, updated
@group(0) @binding(6) var<storage, read_write> step_out: array<u32>;       // (1), incremented
@group(0) @binding(7) var<storage, read_write> flag: array<atomic<u32>>;   // (1), set to 1
@group(0) @binding(8) var<uniform> p: Sgd;

// v = momentum v + (g + weight_decay w); w -= lr v.
@compute @workgroup_size(WG)
fn sgd_update(@builtin(global_invocation_id) gid: vec3<u32>) {
  let start = (gid.y * p.row + gid.x) * p.per;
  if (start >= p.quads) { return; }
  let end = min(start + p.per, p.quads);
  let lr = lrs[min(step[0], p.lrs_len - 1u)];
  for (var q = start; q < end; q++) {
    let w = params[q];
    let v0 = velocity[q];
    let v = p.momentum * v0 + (grads[q] + p.weight_decay * w);
    let keep = vec4<u32>(q * 4u) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p.count);
    velocity[q] = select(v0, v, keep);
    params[q] = select(w, w - lr * v, keep);
  }
}

// step += 1, after the update of every parameter (one invocation).
@compute @workgroup_size(1)
fn sgd_advance() {
  step_out[0] = step_out[0] + 1u;
}

@compute @workgroup_size(1)
fn nonfinite_clear() {
  atomicStore(&flag[0], 0u);
}

// flag = 1 if any of values[0..count) is NaN or infinite (exponent bits all ones).
@compute @workgroup_size(WG)
fn nonfinite_check(@builtin(global_invocation_id) gid: vec3<u32>) {
  let start = (gid.y * p.row + gid.x) * p.per;
  if (start >= p.count) { return; }
  let end = min(start + p.per, p.count);
  var bad = false;
  for (var i = start; i < end; i++) {
    bad = bad || (bitcast<u32>(values[i]) & 0x7f800000u) == 0x7f800000u;
  }
  if (bad) { atomicOr(&flag[0], 1u); }
}
