// Pooling, forward and backward side by side: global average pooling over (H, W), and max
// pooling over square windows (the ImageNet ResNets' 3x3 stride-2 padding-1 pool after the stem).
//
// Legend: N batch, C channels, HW = H*W, planes = N*C, V = HW/4 in the vec4 entry points (HW a
// multiple of 4), else HW. Max pool: k window, s stride, q padding (cells outside the input
// never win), Ho = (H + 2q - k) / s + 1, Wo likewise.
// Layout: x, dx (N,C,H,W) row-major, i.e. `planes` consecutive planes of HW values; y, dy (N,C)
// for the average pool, (N,C,Ho,Wo) for the max pool; argmax (N,C,Ho,Wo) u32, the winner's
// index h*W + w within its plane (ties go to the first in row-major window order, as PyTorch).
// Bindings (group 0): read-only inputs, then outputs, then the uniform (`p` for the average
// pool, `mp` for the max pool).
// Workgroup: WG (override, default 64) invocations. Average pool: one plane per invocation,
// grid-strided along y so planes may exceed 65535 * WG. Max pool: one row of outputs (forward)
// or of input cells (backward) per invocation, indexed gid.y * row + gid.x (a row rather than
// one element: on software adapters an invocation costs as much as a few dozen loads). The
// backward pass gathers:
// each input cell visits the few windows that contain it and adds the gradients of those it won,
// so overlapping windows need no atomics and the sum is deterministic.

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

struct MaxPool {
  h: u32,      // H
  w: u32,      // W
  ho: u32,     // Ho
  wo: u32,     // Wo
  kernel: u32, // k
  stride: u32, // s
  pad: u32,    // q
  total: u32,  // rows of this entry point's output (N*C*Ho forward, N*C*H backward)
  row: u32,    // rows covered by one row of workgroups (x groups * WG)
}

@group(0) @binding(7) var<storage, read> argmax_in: array<u32>;        // argmax: (N,C,Ho,Wo)
@group(0) @binding(8) var<storage, read_write> argmax: array<u32>;     // argmax: (N,C,Ho,Wo)
@group(0) @binding(9) var<uniform> mp: MaxPool;

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

// y[n,c,i,j] = max over the window at (i s - q, j s - q); argmax gets the winner. Overwrites both.
@compute @workgroup_size(WG)
fn maxpool_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.y * mp.row + gid.x;
  if (e >= mp.total) { return; }
  let i = e % mp.ho;
  let plane = e / mp.ho;
  let base = plane * mp.h * mp.w;
  let r0 = i32(i * mp.stride) - i32(mp.pad);
  for (var j = 0u; j < mp.wo; j++) {
    let c0 = i32(j * mp.stride) - i32(mp.pad);
    var best = 0.0;
    var at = 0xffffffffu;
    for (var a = 0u; a < mp.kernel; a++) {
      let r = r0 + i32(a);
      if (r < 0 || r >= i32(mp.h)) { continue; }
      for (var b = 0u; b < mp.kernel; b++) {
        let c = c0 + i32(b);
        if (c < 0 || c >= i32(mp.w)) { continue; }
        let cell = u32(r) * mp.w + u32(c);
        let v = x[base + cell];
        // The first cell in the input always takes the lead, so padding never wins.
        if (at == 0xffffffffu || v > best) {
          best = v;
          at = cell;
        }
      }
    }
    y[e * mp.wo + j] = best;
    argmax[e * mp.wo + j] = at;
  }
}

// dx[n,c,r,col] = sum of dy over the windows whose argmax is (r, col). Overwrites dx.
@compute @workgroup_size(WG)
fn maxpool_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.y * mp.row + gid.x;
  if (e >= mp.total) { return; }
  let row = e % mp.h;
  let plane = e / mp.h;
  let s = i32(mp.stride);
  let k = i32(mp.kernel);
  // Windows i with i s <= r < i s + k in padded coordinates: ceil((r - k + 1) / s) <= i <= r / s.
  let r = i32(row) + i32(mp.pad);
  let i0 = max(0, (r - k + s) / s);
  let i1 = min(i32(mp.ho) - 1, r / s);
  for (var col = 0u; col < mp.w; col++) {
    let cell = row * mp.w + col;
    let c = i32(col) + i32(mp.pad);
    let j0 = max(0, (c - k + s) / s);
    let j1 = min(i32(mp.wo) - 1, c / s);
    var g = 0.0;
    for (var i = i0; i <= i1; i++) {
      for (var j = j0; j <= j1; j++) {
        let o = (plane * mp.ho + u32(i)) * mp.wo + u32(j);
        if (argmax_in[o] == cell) { g += dy[o]; }
      }
    }
    dx[e * mp.w + col] = g;
  }
}
