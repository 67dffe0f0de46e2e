// 2-D convolution as an implicit GEMM staged through workgroup memory: the variant for GPUs
// (and any driver where workgroup memory is cheap), beside the register-tiled direct kernels of
// conv2d.wgsl that suit lavapipe. One entry point serves the three passes (MODE override):
//
//   MODE 0, forward:         y[n,f,P]       = sum over k=(c,kh,kw) of w[f,k] * im2col(x)[k,(n,P)]
//   MODE 1, backward input:  dx[n,c,ih,iw] (+)= sum over k=(f,kh,kw) of w[f,c,kh,kw] * dy[n,f,oh,ow]
//                            where oh*s + kh - p = ih and ow*s + kw - p = iw
//   MODE 2, backward weight: part[z,f,j=(c,kh,kw)] = sum over k=(n,P) in slice z of
//                            dy[n,f,P] * im2col(x)[j,(n,P)]; conv2d.wgsl's conv2d_reduce_weight
//                            then sums the slices into dw (and accumulates).
//
// Legend: N batch, C input channels, H x W input, F output channels, KH x KW kernel, s stride,
// p padding, Ho x Wo output, P = Ho*Wo output pixels, KK = KH*KW. The GEMM is O = A B with
// O (M x NC), A (M x D), B (D x NC): M = F, NC = N*P, D = C*KK (MODE 0); M = C, NC = N*H*W,
// D = F*KK (MODE 1); M = F, NC = C*KK, D = N*P (MODE 2). A and B are never materialised: a_at
// and b_at gather them from the tensors, with zeros for padding and for taps that miss the
// stride, so every size is a uniform and one pipeline serves every layer.
// Layout: x, dx (N,C,H,W); w (F,C,KH,KW); y, dy (N,F,Ho,Wo); part (splits,F,C*KK); row-major.
// Bindings (group 0): src0 = A's tensor (w, w, dy), src1 = B's tensor (x, dy, x), read-only;
// dst = the output (y, dx, part), written; p uniform (3).
// Workgroup: TG = (TM/4) * (TN/4) invocations (64..256 for the tuned tiles), one TM x TN tile
// of O per workgroup, 4 x 4 per invocation in one mat4x4 accumulator. Each step stages TK
// values of the depth: A as TK x TM and B as TK x TN, both as vec4 along M and N, so the inner
// loop reads one vec4 of each and does 16 FMAs. Loads from storage are gathers (im2col has no
// aligned vec4 runs in general); B's loads run along NC, which is along Wo (MODE 0, 2) or W
// (MODE 1) in memory, so neighbouring invocations read neighbouring addresses.
// Grid: one workgroup per (NC tile, M tile, split-K slice), numbered NC tile fastest and laid
// out as a 1-D range folded into x and y (gx workgroups per row; grid1d on the host), so no
// dimension passes the device's maxComputeWorkgroupsPerDimension.

override MODE: u32 = 0u;
override TM: u32 = 64u;
override TN: u32 = 64u;
override TK: u32 = 16u;
override TG: u32 = (TM / 4u) * (TN / 4u);

struct Params {
  n: u32,
  c: u32,
  h: u32,
  w: u32,
  f: u32,
  ho: u32,
  wo: u32,
  kh: u32,
  kw: u32,
  stride: u32,
  pad: u32,
  // The GEMM: rows M, columns NC, depth D, depth per split-K slice (a multiple of TK).
  m: u32,
  cols: u32,
  depth: u32,
  kps: u32,
  // Workgroups per grid row, NC tiles, M tiles and split-K slices.
  gx: u32,
  ntiles: u32,
  mtiles: u32,
  splits: u32,
  // 1 adds to dx (MODE 1), 0 overwrites; MODE 0 and 2 always overwrite.
  accumulate: u32,
}

@group(0) @binding(0) var<storage, read> src0: array<f32>;       // w (F,C,KH,KW), or dy (N,F,Ho,Wo)
@group(0) @binding(1) var<storage, read> src1: array<f32>;       // x (N,C,H,W), or dy (N,F,Ho,Wo)
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;  // y, dx, or part (splits,F,C*KK)
@group(0) @binding(3) var<uniform> p: Params;

// x[n, c] at output pixel `pix` seen through tap r = kh*KW + kw; 0 in the padding.
fn im2col(n: u32, c: u32, pix: u32, r: u32) -> f32 {
  let ih = i32((pix / p.wo) * p.stride + r / p.kw) - i32(p.pad);
  let iw = i32((pix % p.wo) * p.stride + r % p.kw) - i32(p.pad);
  if (ih < 0 || iw < 0 || ih >= i32(p.h) || iw >= i32(p.w)) { return 0.0; }
  return src1[((n * p.c + c) * p.h + u32(ih)) * p.w + u32(iw)];
}

// A[i, k]; i < M and k < D.
fn a_at(i: u32, k: u32) -> f32 {
  let kk = p.kh * p.kw;
  if (MODE == 0u) { return src0[i * p.depth + k]; }
  if (MODE == 1u) { return src0[((k / kk) * p.c + i) * kk + k % kk]; }
  let pp = p.ho * p.wo;
  return src0[((k / pp) * p.f + i) * pp + k % pp];
}

// B[k, j]; k < D and j < NC.
fn b_at(k: u32, j: u32) -> f32 {
  let kk = p.kh * p.kw;
  let pp = p.ho * p.wo;
  if (MODE == 0u) { return im2col(j / pp, k / kk, j % pp, k % kk); }
  if (MODE == 2u) { return im2col(k / pp, j / kk, k % pp, j % kk); }
  let hw = p.h * p.w;
  let pix = j % hw;
  let r = k % kk;
  let th = i32(pix / p.w + p.pad) - i32(r / p.kw);
  let tw = i32(pix % p.w + p.pad) - i32(r % p.kw);
  if (th < 0 || tw < 0) { return 0.0; }
  let oh = u32(th) / p.stride;
  let ow = u32(tw) / p.stride;
  if (u32(th) % p.stride != 0u || u32(tw) % p.stride != 0u || oh >= p.ho || ow >= p.wo) {
    return 0.0;
  }
  return src1[(((j / hw) * p.f + k / kk) * p.ho + oh) * p.wo + ow];
}

// Writes O[i, j] (split-K slice z) to its place in the output; i < M and j < NC.
fn store(i: u32, j: u32, z: u32, v: f32) {
  if (MODE == 2u) {
    dst[(z * p.m + i) * p.cols + j] = v;
    return;
  }
  var plane = p.ho * p.wo;
  var channels = p.f;
  if (MODE == 1u) {
    plane = p.h * p.w;
    channels = p.c;
  }
  let o = ((j / plane) * channels + i) * plane + j % plane;
  if (MODE == 1u && p.accumulate != 0u) {
    dst[o] += v;
  } else {
    dst[o] = v;
  }
}

// sa[(kk * TM + m) / 4][m % 4] = A[m0 + m, k0 + kk]; sb likewise for B along NC.
var<workgroup> sa: array<vec4<f32>, TK * TM / 4u>;
var<workgroup> sb: array<vec4<f32>, TK * TN / 4u>;

@compute @workgroup_size(TG)
fn conv2d_tiled(@builtin(workgroup_id) wid: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
  let tile = wid.y * p.gx + wid.x;
  // Uniform per workgroup (the folded grid's last row may overhang), so barriers stay uniform.
  if (tile >= p.ntiles * p.mtiles * p.splits) { return; }
  let n0 = (tile % p.ntiles) * TN;
  let m0 = ((tile / p.ntiles) % p.mtiles) * TM;
  let z = tile / (p.ntiles * p.mtiles);
  let kbegin = z * p.kps;
  let kend = min(p.depth, kbegin + p.kps);
  let tr = (li / (TN / 4u)) * 4u;
  let tc = (li % (TN / 4u)) * 4u;
  // acc[r][q] = O[m0 + tr + r, n0 + tc + q].
  var acc = mat4x4<f32>();
  for (var k0 = kbegin; k0 < kend; k0 += TK) {
    // A along the depth first: w's rows (MODE 0) and dy's planes (MODE 2) are contiguous in k.
    for (var e = li; e < TM * TK; e += TG) {
      let kk = e % TK;
      let m = e / TK;
      let i = m0 + m;
      let k = k0 + kk;
      var v = 0.0;
      if (i < p.m && k < kend) { v = a_at(i, k); }
      sa[(kk * TM + m) / 4u][m % 4u] = v;
    }
    for (var e = li; e < TN * TK; e += TG) {
      let n = e % TN;
      let kk = e / TN;
      let j = n0 + n;
      let k = k0 + kk;
      var v = 0.0;
      if (j < p.cols && k < kend) { v = b_at(k, j); }
      sb[(kk * TN + n) / 4u][n % 4u] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let av = sa[(kk * TM + tr) / 4u];
      let bv = sb[(kk * TN + tc) / 4u];
      acc[0] = fma(vec4(av.x), bv, acc[0]);
      acc[1] = fma(vec4(av.y), bv, acc[1]);
      acc[2] = fma(vec4(av.z), bv, acc[2]);
      acc[3] = fma(vec4(av.w), bv, acc[3]);
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let i = m0 + tr + r;
    if (i >= p.m) { break; }
    for (var q = 0u; q < 4u; q++) {
      let j = n0 + tc + q;
      if (j < p.cols) { store(i, j, z, acc[r][q]); }
    }
  }
}
