// Row reductions of kernels/reduce.wgsl (row_sum, argmax_rows) with subgroup operations: the
// subgroup variant of the row kernels. lib/ops/reduce.ts puts this file in place of the part of
// reduce.wgsl between its BEGIN and END row-reduction markers; col_sum, channel_sum and
// sum_partial keep their workgroup-memory trees (their partners are not neighbouring lanes).
//
// Layout and shapes: as reduce.wgsl (R rows of C columns, TPR threads per row).
// Bindings: none of its own. Workgroup: reduce.wgsl's WG; the wrapper keeps TPR at or below the
// adapter's smallest subgroup size, so a row's TPR threads are consecutive lanes of one subgroup
// (lanes follow local_invocation_index in 1-D workgroups on every driver tested; the tuner's
// self-check and the tests compare against the CPU reference on each adapter).
// Why: a butterfly of subgroupShuffleXor needs no workgroup memory and no barriers. Every lane
// ends with the row's result. Called in uniform control flow (after the column loops).
// Needs the `subgroups` device feature (no `enable subgroups;`: Naga in Deno 2.9.6 rejects it).

fn row_total(lid: u32, lane: u32, v: f32) -> f32 {
  var r = v;
  for (var k = TPR / 2u; k > 0u; k >>= 1u) {
    r += subgroupShuffleXor(r, k);
  }
  return r;
}

fn row_best(lid: u32, lane: u32, m: f32, best: i32) -> i32 {
  var bv = m;
  var bi = best;
  for (var k = TPR / 2u; k > 0u; k >>= 1u) {
    let ov = subgroupShuffleXor(bv, k);
    let oi = subgroupShuffleXor(bi, k);
    if (ov > bv || (ov == bv && oi < bi)) {
      bv = ov;
      bi = oi;
    }
  }
  return bi;
}
