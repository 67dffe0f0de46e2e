// Global average pooling over (H, W), forward and backward side by side.
//
// Legend: N batch, C channels, HW = H*W, planes = N*C, V = HW/4 in the vec4 entry points (HW a
// multiple of 4), else HW.
// Layout: x, dx (N,C,H,W) row-major, i.e. `planes` consecutive planes of HW values; y, dy (N,C).
// Bindings (group 0): read-only inputs, then outputs, then the uniform `p`.
// Workgroup: WG (override, default 64) invocations, one plane per invocation, grid-strided
// along y so planes may exceed 65535 * WG.

override WG: u32 = 64u;

struct Pool {
  planes: u32, // N*C
  v: u32,      // values per plane, in the entry point's unit (scalar or vec4)
  row: u32,    // planes handled by one row of workgroups (x groups * WG)
  inv_hw: f32, // 1 / HW
}

@group(0) @binding(0) var<storage, read> x: array<f32>;              // x: (N,C,H,W)
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;       // x as vec4, HW % 4 == 0
@group(0) @binding(2) var<storage, read> dy: array<f32>;             // dy: (N,C)
@group(0) @binding(3) var<storage, read_write> y: array<f32>;        // y: (N,C)
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;       // dx: (N,C,H,W)
@group(0) @binding(5) var<storage, read_write> dx4: array<vec4<f32>>; // dx as vec4
@group(0) @binding(6) var<uniform> p: Pool;

// y[plane] = mean of x over the plane. Overwrites y.
@compute @workgroup_size(WG)
fn avgpool_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * p.row + gid.x;
  if (i >= p.planes) { return; }
  var sum = 0.0;
  let base = i * p.v;
  for (var j = 0u; j < p.v; j++) { sum += x[base + j]; }
  y[i] = sum * p.inv_hw;
}

@compute @workgroup_size(WG)
fn avgpool_forward_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * p.row + gid.x;
  if (i >= p.planes) { return; }
  var sum = vec4<f32>();
  let base = i * p.v;
  for (var j = 0u; j < p.v; j++) { sum += x4[base + j]; }
  y[i] = (sum.x + sum.y + sum.z + sum.w) * p.inv_hw;
}

// dx[plane, :] = dy[plane] / HW. Overwrites dx.
@compute @workgroup_size(WG)
fn avgpool_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * p.row + gid.x;
  if (i >= p.planes) { return; }
  let g = dy[i] * p.inv_hw;
  let base = i * p.v;
  for (var j = 0u; j < p.v; j++) { dx[base + j] = g; }
}

@compute @workgroup_size(WG)
fn avgpool_backward_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * p.row + gid.x;
  if (i >= p.planes) { return; }
  let g = vec4<f32>(dy[i] * p.inv_hw);
  let base = i * p.v;
  for (var j = 0u; j < p.v; j++) { dx4[base + j] = g; }
}
