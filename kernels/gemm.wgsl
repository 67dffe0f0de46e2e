// GEMM: C = alpha * op(A) * op(B) + beta * C (+ bias[n] per column), f32, strided batches.
//
// Legend: M, N, K: op(A) is M x K, op(B) is K x N, C is M x N. z: batch index. s: split-K slice.
//   BM x BN: the block of C one invocation (gemm_rb) or one workgroup (gemm_tiled) computes;
//   gemm_lanes: BM x BN per invocation, BM x (WG * BN) per workgroup, or with SHARE_A
//   BM x (SG * BN) per subgroup of SG invocations.
// Layout: row-major everywhere; the main kernels read operands as vec4 rows, so the row length of
// each stored operand is a multiple of 4 (the wrapper pads unaligned operands with pad_rows):
//   A_T = false: A is stored (M x K) ("m-major"), lda4 = K/4 vec4 per row.
//   A_T = true:  A is stored (K x M) ("k-major"), lda4 = M/4.
//   B_T = false: B is stored (K x N) ("k-major"), ldb4 = N/4.
//   B_T = true:  B is stored (N x K) ("n-major"), ldb4 = K/4.
// Reads past the last row or column of an operand (edge blocks) land in other data or are clamped
// by WebGPU's bounds checks; they only feed accumulators that are never stored. Reads past K are
// replaced by zeros with select (not multiplied by 0, which keeps NaN).
// Output: the main kernels write whole blocks with vec4 stores and no bounds checks, either
// straight into C (when M, N are block multiples, beta = 0, no bias, one slice) or into a padded
// workspace T (batch x splits x Mp x Np) that gemm_epilogue sums over slices into C. Complex
// per-element stores in the main kernels cost lavapipe's LLVM JIT minutes, hence this split.
// Bindings (group 0): a, b read-only (0, 1), c written (2), p uniform (8); pad_rows: src (3),
// dst (4), pp (9); gemm_epilogue: t (5), bias (6), out (7), pe (10); gemm_epilogue_vec4: the
// same buffers as vec4, t4 (11), bias4 (12), out4 (13), and pe.
// Workgroups: gemm_rb WG invocations, one BM x BN block each, blocks flattened over a 1-D grid
// folded into x and y; gemm_tiled TG = (TM/TR) * (TN/TC) invocations per BM x BN = TM x TN tile,
// one tile per workgroup; gemm_lanes WG invocations per block, one block per workgroup (with
// SHARE_A one per subgroup), blocks flattened like gemm_tiled's; pad_rows and gemm_epilogue WG
// invocations, one element each (gemm_epilogue_vec4: four).

// Register-blocked kernel (gemm_rb): no workgroup memory, no barriers. Suits CPU adapters such
// as lavapipe, where invocations are SIMD lanes and big per-invocation blocks amortise loads.
// NOTE: the block is held in named mat4x4 accumulators, switched on and off by `if (BM > ...)`
// on override constants that the compiler folds away. A private array indexed in loops ran 7x
// slower on lavapipe (it lives in memory), and scalar loads 2x slower than vec4 loads.
override WG: u32 = 64u;
// Rows of C per invocation: 4, 8, 16, 32 or 64 (64: gemm_lanes with SHARE_A only). Columns: 4, 8
// or 16.
override BM: u32 = 32u;
override BN: u32 = 16u;
// Stored operand orientation (see Layout).
override A_T: bool = false;
override B_T: bool = false;
// gemm_rb, gemm_lanes: run the steps where all four k are real without masks (a second copy of
// the loop body) and mask only the last.
override EDGE: bool = false;
// gemm_lanes: the lanes of each subgroup of SG share the loads of A through shuffles (see
// a_quad); needs the subgroup variant of this file, SG = the adapter's subgroup size dividing WG,
// and BM / 4 <= 2 * SG.
override SHARE_A: bool = false;
override SG: u32 = 8u;

// Workgroup-tiled kernel (gemm_tiled) for real GPUs: TM x TN tile per workgroup, staged through
// workgroup memory TK values of k at a time; each invocation computes TR x TC (4 or 8 each).
override TM: u32 = 64u;
override TN: u32 = 64u;
override TK: u32 = 16u;
override TR: u32 = 4u;
override TC: u32 = 4u;
override TG: u32 = (TM / TR) * (TN / TC);

struct Params {
  m: u32,
  n: u32,
  k: u32,
  // ceil(K / 4), and vec4 steps of k per split-K slice.
  k4: u32,
  kps: u32,
  splits: u32,
  // Row strides in vec4 of the stored A, B and of the output (C or workspace).
  lda4: u32,
  ldb4: u32,
  ldc4: u32,
  // Batch strides in vec4 of A and B, and of one output slab (one batch and slice).
  sa4: u32,
  sb4: u32,
  sc4: u32,
  // Blocks along N, blocks per slab, blocks in all (batch * splits * blocks).
  n_blocks: u32,
  blocks: u32,
  total: u32,
  // Invocations per row of the folded grid.
  row: u32,
  alpha: f32,
}

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;       // A: see Layout, batch stride sa4
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;       // B: see Layout, batch stride sb4
@group(0) @binding(2) var<storage, read_write> c: array<vec4<f32>>; // C (batch, M, N) or T (batch, splits, Mp, Np)
@group(0) @binding(8) var<uniform> p: Params;

// BEGIN quad sharing (kernels/gemm_subgroup.wgsl replaces this part for gemm_lanes with SHARE_A)
// Without subgroups a lane cannot read another's values: SHARE_A is never set on this source.
fn share_quad(m: mat4x4<f32>, from_lane: u32) -> mat4x4<f32> {
  return m;
}
// END quad sharing

// A 4x16 piece of C: q0..q3 are 4x4 blocks, column r of each holds row r of C.
struct Quad {
  q0: mat4x4<f32>,
  q1: mat4x4<f32>,
  q2: mat4x4<f32>,
  q3: mat4x4<f32>,
}

// acc[r] += sum over kk of ar[r][kk] * bk[kk]: ar holds 4 rows of A (4 k each), bk 4 rows of B.
fn fma16(ar: mat4x4<f32>, bk: mat4x4<f32>, acc: mat4x4<f32>) -> mat4x4<f32> {
  var r = acc;
  r[0] = fma(vec4(ar[0].x), bk[0], r[0]);
  r[0] = fma(vec4(ar[0].y), bk[1], r[0]);
  r[0] = fma(vec4(ar[0].z), bk[2], r[0]);
  r[0] = fma(vec4(ar[0].w), bk[3], r[0]);
  r[1] = fma(vec4(ar[1].x), bk[0], r[1]);
  r[1] = fma(vec4(ar[1].y), bk[1], r[1]);
  r[1] = fma(vec4(ar[1].z), bk[2], r[1]);
  r[1] = fma(vec4(ar[1].w), bk[3], r[1]);
  r[2] = fma(vec4(ar[2].x), bk[0], r[2]);
  r[2] = fma(vec4(ar[2].y), bk[1], r[2]);
  r[2] = fma(vec4(ar[2].z), bk[2], r[2]);
  r[2] = fma(vec4(ar[2].w), bk[3], r[2]);
  r[3] = fma(vec4(ar[3].x), bk[0], r[3]);
  r[3] = fma(vec4(ar[3].y), bk[1], r[3]);
  r[3] = fma(vec4(ar[3].z), bk[2], r[3]);
  r[3] = fma(vec4(ar[3].w), bk[3], r[3]);
  return r;
}

fn row_step(ar: mat4x4<f32>, bk: Quad, acc: Quad) -> Quad {
  var r = acc;
  r.q0 = fma16(ar, bk.q0, r.q0);
  if (BN > 4u) { r.q1 = fma16(ar, bk.q1, r.q1); }
  if (BN > 8u) {
    r.q2 = fma16(ar, bk.q2, r.q2);
    r.q3 = fma16(ar, bk.q3, r.q3);
  }
  return r;
}

// Zeroes the k columns at or past K: kr = K - 4 * k4 values of this step are real.
fn mask_k(m: mat4x4<f32>, kr: u32) -> mat4x4<f32> {
  let z = vec4<f32>();
  return mat4x4(m[0], select(z, m[1], kr > 1u), select(z, m[2], kr > 2u), select(z, m[3], kr > 3u));
}

// Rows 4i..4i+3 of the block at k = 4*k4..4*k4+3; column r holds row r. base: block origin.
fn load_a(base: u32, i: u32, k4: u32, kr: u32) -> mat4x4<f32> {
  if (A_T) {
    let o = base + 4u * k4 * p.lda4 + i;
    let s = p.lda4;
    return transpose(mask_k(mat4x4(a[o], a[o + s], a[o + 2u * s], a[o + 3u * s]), kr));
  }
  let o = base + 4u * i * p.lda4 + k4;
  let s = p.lda4;
  return transpose(mask_k(transpose(mat4x4(a[o], a[o + s], a[o + 2u * s], a[o + 3u * s])), kr));
}

// Rows k = 4*k4..4*k4+3 of B at columns 4j..4j+3 of the block; column kk holds row k.
fn load_b(base: u32, j: u32, k4: u32, kr: u32) -> mat4x4<f32> {
  if (B_T) {
    let o = base + 4u * j * p.ldb4 + k4;
    let s = p.ldb4;
    return mask_k(transpose(mat4x4(b[o], b[o + s], b[o + 2u * s], b[o + 3u * s])), kr);
  }
  let o = base + 4u * k4 * p.ldb4 + j;
  let s = p.ldb4;
  return mask_k(mat4x4(b[o], b[o + s], b[o + 2u * s], b[o + 3u * s]), kr);
}

// Stores rows 4i..4i+3 of the block; ci is the vec4 index of the block's first element.
fn store_quad(ci: u32, acc: Quad) {
  let s = p.ldc4;
  let al = p.alpha;
  c[ci] = al * acc.q0[0];
  c[ci + s] = al * acc.q0[1];
  c[ci + 2u * s] = al * acc.q0[2];
  c[ci + 3u * s] = al * acc.q0[3];
  if (BN > 4u) {
    c[ci + 1u] = al * acc.q1[0];
    c[ci + 1u + s] = al * acc.q1[1];
    c[ci + 1u + 2u * s] = al * acc.q1[2];
    c[ci + 1u + 3u * s] = al * acc.q1[3];
  }
  if (BN > 8u) {
    c[ci + 2u] = al * acc.q2[0];
    c[ci + 2u + s] = al * acc.q2[1];
    c[ci + 2u + 2u * s] = al * acc.q2[2];
    c[ci + 2u + 3u * s] = al * acc.q2[3];
    c[ci + 3u] = al * acc.q3[0];
    c[ci + 3u + s] = al * acc.q3[1];
    c[ci + 3u + 2u * s] = al * acc.q3[2];
    c[ci + 3u + 3u * s] = al * acc.q3[3];
  }
}

// Where block g lives: slab (batch * splits + slice), row and column of its origin.
struct Block {
  z: u32,
  slab: u32,
  m0: u32,
  n0: u32,
  k4_begin: u32,
  k4_end: u32,
}

fn locate(g: u32, bm: u32, bn: u32) -> Block {
  let slab = g / p.blocks;
  let rem = g % p.blocks;
  let z = slab / p.splits;
  let k4_begin = (slab % p.splits) * p.kps;
  return Block(z, slab, (rem / p.n_blocks) * bm, (rem % p.n_blocks) * bn, k4_begin,
    min(k4_begin + p.kps, p.k4));
}

// The accumulators of one invocation's BM x BN piece: r0 holds rows 0..3, r1 rows 4..7, ...
struct Acc {
  r0: Quad,
  r1: Quad,
  r2: Quad,
  r3: Quad,
  r4: Quad,
  r5: Quad,
  r6: Quad,
  r7: Quad,
  r8: Quad,
  r9: Quad,
  r10: Quad,
  r11: Quad,
  r12: Quad,
  r13: Quad,
  r14: Quad,
  r15: Quad,
}

// gemm_lanes with SHARE_A: this invocation's lane in its subgroup of SG.
var<private> lane: u32;

// Row quad i of the block at step k4 (rows 4i..4i+3, as load_a). With SHARE_A the lanes of the
// subgroup split the loads, lane i % SG holding quad i in own0 (i < SG) or own1, and hand each
// quad to all: on lavapipe a storage load costs a branch per lane and component, a shuffle a few
// register moves, and every lane of gemm_lanes needs the same rows of A.
fn a_quad(abase: u32, i: u32, k4: u32, kr: u32, own0: mat4x4<f32>, own1: mat4x4<f32>) -> mat4x4<f32> {
  if (!SHARE_A) {
    return load_a(abase, i, k4, kr);
  }
  if (i < SG) {
    return share_quad(own0, i);
  }
  return share_quad(own1, i - SG);
}

// acc plus the product over k = 4*k4..4*k4+3, of which kr are real (a literal 4u folds the masks
// away).
fn rb_step(acc: Acc, abase: u32, bbase: u32, k4: u32, kr: u32) -> Acc {
  var r = acc;
  let bk = Quad(load_b(bbase, 0u, k4, kr), load_b(bbase, 1u, k4, kr), load_b(bbase, 2u, k4, kr),
    load_b(bbase, 3u, k4, kr));
  var own0 = mat4x4<f32>();
  var own1 = mat4x4<f32>();
  if (SHARE_A) {
    // Lanes past the block's quads load rows that no lane uses (reads past A are clamped).
    own0 = load_a(abase, lane, k4, kr);
    if (BM / 4u > SG) { own1 = load_a(abase, lane + SG, k4, kr); }
  }
  r.r0 = row_step(a_quad(abase, 0u, k4, kr, own0, own1), bk, r.r0);
  if (BM > 4u) { r.r1 = row_step(a_quad(abase, 1u, k4, kr, own0, own1), bk, r.r1); }
  if (BM > 8u) {
    r.r2 = row_step(a_quad(abase, 2u, k4, kr, own0, own1), bk, r.r2);
    r.r3 = row_step(a_quad(abase, 3u, k4, kr, own0, own1), bk, r.r3);
  }
  if (BM > 16u) {
    r.r4 = row_step(a_quad(abase, 4u, k4, kr, own0, own1), bk, r.r4);
    r.r5 = row_step(a_quad(abase, 5u, k4, kr, own0, own1), bk, r.r5);
    r.r6 = row_step(a_quad(abase, 6u, k4, kr, own0, own1), bk, r.r6);
    r.r7 = row_step(a_quad(abase, 7u, k4, kr, own0, own1), bk, r.r7);
  }
  if (BM > 32u) {
    r.r8 = row_step(a_quad(abase, 8u, k4, kr, own0, own1), bk, r.r8);
    r.r9 = row_step(a_quad(abase, 9u, k4, kr, own0, own1), bk, r.r9);
    r.r10 = row_step(a_quad(abase, 10u, k4, kr, own0, own1), bk, r.r10);
    r.r11 = row_step(a_quad(abase, 11u, k4, kr, own0, own1), bk, r.r11);
    r.r12 = row_step(a_quad(abase, 12u, k4, kr, own0, own1), bk, r.r12);
    r.r13 = row_step(a_quad(abase, 13u, k4, kr, own0, own1), bk, r.r13);
    r.r14 = row_step(a_quad(abase, 14u, k4, kr, own0, own1), bk, r.r14);
    r.r15 = row_step(a_quad(abase, 15u, k4, kr, own0, own1), bk, r.r15);
  }
  return r;
}

// This invocation's BM x BN piece of C (or the workspace) over the slice's k range of blk; nl:
// the piece's first column within the block.
fn rb_block(blk: Block, nl: u32, keep: bool) {
  var abase = blk.z * p.sa4;
  if (A_T) { abase += blk.m0 / 4u; } else { abase += blk.m0 * p.lda4; }
  let n0 = blk.n0 + nl;
  var bbase = blk.z * p.sb4;
  if (B_T) { bbase += n0 * p.ldb4; } else { bbase += n0 / 4u; }
  var acc: Acc;
  var k4 = blk.k4_begin;
  if (EDGE) {
    // Interior steps (all four k real) without masks; only the last step may be partial.
    let full = max(min(blk.k4_end, p.k / 4u), blk.k4_begin);
    for (; k4 < full; k4++) { acc = rb_step(acc, abase, bbase, k4, 4u); }
  }
  for (; k4 < blk.k4_end; k4++) { acc = rb_step(acc, abase, bbase, k4, p.k - 4u * k4); }
  // keep: false for a gemm_lanes subgroup past the last block, which computed a copy of it.
  if (keep) {
    let ci = blk.slab * p.sc4 + blk.m0 * p.ldc4 + n0 / 4u;
    let s4 = 4u * p.ldc4;
    store_quad(ci, acc.r0);
    if (BM > 4u) { store_quad(ci + s4, acc.r1); }
    if (BM > 8u) {
      store_quad(ci + 2u * s4, acc.r2);
      store_quad(ci + 3u * s4, acc.r3);
    }
    if (BM > 16u) {
      store_quad(ci + 4u * s4, acc.r4);
      store_quad(ci + 5u * s4, acc.r5);
      store_quad(ci + 6u * s4, acc.r6);
      store_quad(ci + 7u * s4, acc.r7);
    }
    if (BM > 32u) {
      store_quad(ci + 8u * s4, acc.r8);
      store_quad(ci + 9u * s4, acc.r9);
      store_quad(ci + 10u * s4, acc.r10);
      store_quad(ci + 11u * s4, acc.r11);
      store_quad(ci + 12u * s4, acc.r12);
      store_quad(ci + 13u * s4, acc.r13);
      store_quad(ci + 14u * s4, acc.r14);
      store_quad(ci + 15u * s4, acc.r15);
    }
  }
}

// C block (or workspace block) = alpha * op(A) op(B) over this slice's k range.
@compute @workgroup_size(WG)
fn gemm_rb(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.y * p.row + gid.x;
  if (g >= p.total) { return; }
  rb_block(locate(g, BM, BN), 0u, true);
}

// Lane-parallel kernel (gemm_lanes): one BM x (WG * BN) block per workgroup, invocation i
// computing its columns i * BN .. i * BN + BN - 1 with gemm_rb's arithmetic; all invocations of
// a workgroup share the block's rows of A. With SHARE_A, each subgroup of SG invocations has a
// BM x (SG * BN) block of its own and loads those rows once for all its lanes (see a_quad).
@compute @workgroup_size(WG)
fn gemm_lanes(@builtin(workgroup_id) wid: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
  let w = wid.y * (p.row / WG) + wid.x;
  if (SHARE_A) {
    // No early return: every lane of a subgroup must reach the shuffles. A subgroup past the
    // last block repeats the last block and stores nothing.
    let g = w * (WG / SG) + li / SG;
    lane = li % SG;
    rb_block(locate(min(g, p.total - 1u), BM, SG * BN), lane * BN, g < p.total);
    return;
  }
  if (w >= p.total) { return; }
  rb_block(locate(w, BM, WG * BN), li * BN, true);
}

// gemm_tiled's staging, as vec4 so the inner loop reads whole vectors of workgroup memory:
// ta[kk * TM / 4 + m / 4][m % 4] = op(A)[m0 + m, k0 + kk], tb[kk * TN / 4 + n / 4][n % 4] likewise.
var<workgroup> ta: array<vec4<f32>, TK * TM / 4u>;
var<workgroup> tb: array<vec4<f32>, TK * TN / 4u>;

// Four consecutive rows (ta) or columns (tb) of a staged tile at depth kk (m, n multiples of 4).
fn tile_a(m: u32, kk: u32) -> vec4<f32> {
  return ta[(kk * TM + m) / 4u];
}

fn tile_b(n: u32, kk: u32) -> vec4<f32> {
  return tb[(kk * TN + n) / 4u];
}

fn fma4x4(av: vec4<f32>, bv: vec4<f32>, acc: mat4x4<f32>) -> mat4x4<f32> {
  return mat4x4(fma(vec4(av.x), bv, acc[0]), fma(vec4(av.y), bv, acc[1]),
    fma(vec4(av.z), bv, acc[2]), fma(vec4(av.w), bv, acc[3]));
}

fn store4x4(ci: u32, acc: mat4x4<f32>) {
  let s = p.ldc4;
  c[ci] = p.alpha * acc[0];
  c[ci + s] = p.alpha * acc[1];
  c[ci + 2u * s] = p.alpha * acc[2];
  c[ci + 3u * s] = p.alpha * acc[3];
}

// Same contract as gemm_rb with BM = TM, BN = TN; one tile per workgroup.
@compute @workgroup_size(TG)
fn gemm_tiled(@builtin(workgroup_id) wid: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
  let g = wid.y * (p.row / TG) + wid.x;
  if (g >= p.total) { return; }
  let blk = locate(g, TM, TN);
  let abase = blk.z * p.sa4;
  let bbase = blk.z * p.sb4;
  let kend = min(p.k, 4u * blk.k4_end);
  let tr = (li / (TN / TC)) * TR;
  let tc = (li % (TN / TC)) * TC;
  var c00 = mat4x4<f32>();
  var c01 = mat4x4<f32>();
  var c10 = mat4x4<f32>();
  var c11 = mat4x4<f32>();
  for (var k0 = 4u * blk.k4_begin; k0 < kend; k0 += TK) {
    // Each invocation moves whole vec4 of the stored operands into the tiles.
    for (var e = li; e < TM * TK / 4u; e += TG) {
      if (A_T) {
        let kk = e / (TM / 4u);
        let m4 = e % (TM / 4u);
        ta[kk * (TM / 4u) + m4] =
          select(vec4<f32>(), a[abase + (k0 + kk) * p.lda4 + (blk.m0 / 4u) + m4], k0 + kk < kend);
      } else {
        let m = e / (TK / 4u);
        let kq = e % (TK / 4u);
        let kb = k0 + 4u * kq;
        let v = a[abase + (blk.m0 + m) * p.lda4 + kb / 4u];
        let o = (4u * kq * TM + m) / 4u;
        let lane = m % 4u;
        ta[o][lane] = select(0.0, v.x, kb < kend);
        ta[o + TM / 4u][lane] = select(0.0, v.y, kb + 1u < kend);
        ta[o + TM / 2u][lane] = select(0.0, v.z, kb + 2u < kend);
        ta[o + 3u * TM / 4u][lane] = select(0.0, v.w, kb + 3u < kend);
      }
    }
    for (var e = li; e < TN * TK / 4u; e += TG) {
      if (B_T) {
        let n = e / (TK / 4u);
        let kq = e % (TK / 4u);
        let kb = k0 + 4u * kq;
        let v = b[bbase + (blk.n0 + n) * p.ldb4 + kb / 4u];
        let o = (4u * kq * TN + n) / 4u;
        let lane = n % 4u;
        tb[o][lane] = select(0.0, v.x, kb < kend);
        tb[o + TN / 4u][lane] = select(0.0, v.y, kb + 1u < kend);
        tb[o + TN / 2u][lane] = select(0.0, v.z, kb + 2u < kend);
        tb[o + 3u * TN / 4u][lane] = select(0.0, v.w, kb + 3u < kend);
      } else {
        let kk = e / (TN / 4u);
        let n4 = e % (TN / 4u);
        tb[kk * (TN / 4u) + n4] =
          select(vec4<f32>(), b[bbase + (k0 + kk) * p.ldb4 + (blk.n0 / 4u) + n4], k0 + kk < kend);
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let a0 = tile_a(tr, kk);
      let b0 = tile_b(tc, kk);
      c00 = fma4x4(a0, b0, c00);
      if (TC > 4u) { c01 = fma4x4(a0, tile_b(tc + 4u, kk), c01); }
      if (TR > 4u) {
        let a1 = tile_a(tr + 4u, kk);
        c10 = fma4x4(a1, b0, c10);
        if (TC > 4u) { c11 = fma4x4(a1, tile_b(tc + 4u, kk), c11); }
      }
    }
    workgroupBarrier();
  }
  let ci = blk.slab * p.sc4 + (blk.m0 + tr) * p.ldc4 + (blk.n0 + tc) / 4u;
  store4x4(ci, c00);
  if (TC > 4u) { store4x4(ci + 1u, c01); }
  if (TR > 4u) {
    store4x4(ci + 4u * p.ldc4, c10);
    if (TC > 4u) { store4x4(ci + 4u * p.ldc4 + 1u, c11); }
  }
}

struct PadParams {
  rows: u32,
  len: u32,
  // Padded row length (a multiple of 4) and the source's batch stride, in elements.
  ldp: u32,
  ss: u32,
  total: u32,
  row: u32,
}

@group(0) @binding(3) var<storage, read> src: array<f32>;       // src: (batch, rows, len), batch stride ss
@group(0) @binding(4) var<storage, read_write> dst: array<f32>; // dst: (batch, rows, ldp)
@group(0) @binding(9) var<uniform> pp: PadParams;

// dst = src with each row zero-padded from len to ldp values, so rows start on vec4 boundaries.
@compute @workgroup_size(WG)
fn pad_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * pp.row + gid.x;
  if (i >= pp.total) { return; }
  let slab = pp.rows * pp.ldp;
  let z = i / slab;
  let r = (i % slab) / pp.ldp;
  let col = i % pp.ldp;
  var v = 0.0;
  if (col < pp.len) { v = src[z * pp.ss + r * pp.len + col]; }
  dst[i] = v;
}

struct EpiParams {
  m: u32,
  n: u32,
  // Workspace row stride and slab stride (one batch and slice), in elements.
  ldt: u32,
  st: u32,
  splits: u32,
  // C's batch stride in elements.
  sc: u32,
  total: u32,
  row: u32,
  alpha: f32,
  beta: f32,
  use_bias: u32,
}

@group(0) @binding(5) var<storage, read> t: array<f32>;          // T: (batch, splits, Mp, Np)
@group(0) @binding(6) var<storage, read> bias: array<f32>;       // bias: (N), unused when use_bias = 0
@group(0) @binding(7) var<storage, read_write> out: array<f32>;  // C: (batch, M, N), batch stride sc
@group(0) @binding(10) var<uniform> pe: EpiParams;

// C = alpha * (sum of slices of T) + beta * C + bias. C is read only when beta != 0, so it may
// hold NaN when beta = 0.
@compute @workgroup_size(WG)
fn gemm_epilogue(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * pe.row + gid.x;
  if (i >= pe.total) { return; }
  let mn = pe.m * pe.n;
  let z = i / mn;
  let mm = (i % mn) / pe.n;
  let nn = i % pe.n;
  var ti = z * pe.splits * pe.st + mm * pe.ldt + nn;
  var sum = 0.0;
  for (var s = 0u; s < pe.splits; s++) {
    sum += t[ti];
    ti += pe.st;
  }
  let ci = z * pe.sc + mm * pe.n + nn;
  var v = pe.alpha * sum;
  if (pe.beta != 0.0) { v += pe.beta * out[ci]; }
  if (pe.use_bias != 0u) { v += bias[nn]; }
  out[ci] = v;
}

@group(0) @binding(11) var<storage, read> t4: array<vec4<f32>>;          // T as vec4 (N % 4 == 0)
@group(0) @binding(12) var<storage, read> bias4: array<vec4<f32>>;       // bias as vec4
@group(0) @binding(13) var<storage, read_write> out4: array<vec4<f32>>;  // C as vec4

// gemm_epilogue on four columns per invocation, for N, T's strides and C's batch stride all
// multiples of 4 (pe counts in elements; total is in vec4): the same sums in the same order, a
// quarter of the index arithmetic and loads, which dominate on lavapipe.
@compute @workgroup_size(WG)
fn gemm_epilogue_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * pe.row + gid.x;
  if (i >= pe.total) { return; }
  let n4 = pe.n / 4u;
  let mn4 = pe.m * n4;
  let z = i / mn4;
  let mm = (i % mn4) / n4;
  let nn4 = i % n4;
  var ti = (z * pe.splits * pe.st + mm * pe.ldt) / 4u + nn4;
  var sum = vec4<f32>();
  for (var s = 0u; s < pe.splits; s++) {
    sum += t4[ti];
    ti += pe.st / 4u;
  }
  let ci = (z * pe.sc + mm * pe.n) / 4u + nn4;
  var v = pe.alpha * sum;
  if (pe.beta != 0.0) { v += pe.beta * out4[ci]; }
  if (pe.use_bias != 0u) { v += bias4[nn4]; }
  out4[ci] = v;
}
