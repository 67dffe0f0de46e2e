// Row reductions of kernels/softmax.wgsl with subgroup operations: the subgroup variant of the
// softmax family. lib/ops/softmax.ts puts this file in place of the part of softmax.wgsl between
// its BEGIN and END row-reduction markers, so Slot, Top, TPR and the bindings are softmax.wgsl's.
//
// Layout and shapes: as softmax.wgsl (R rows of C columns, TPR threads per row).
// Bindings: none of its own. Workgroup: softmax.wgsl's WG; the wrapper keeps TPR at or below
// the adapter's smallest subgroup size, so a row's TPR threads are consecutive lanes of one
// subgroup (lanes follow local_invocation_index in 1-D workgroups on every driver tested; the
// tuner's self-check and the tests compare against the CPU reference on each adapter, so a
// driver that numbers lanes otherwise fails the check and never gets this variant).
// Why: a butterfly of subgroupShuffleXor needs no workgroup memory and no barriers, where the
// shared-memory tree of softmax.wgsl takes log2(TPR) barriers per reduction. Every lane ends
// with the row's result. Must be reached by every invocation (uniform control flow): callers
// reduce after their column loops, as in softmax.wgsl.
// Needs the `subgroups` device feature (no `enable subgroups;`: Naga in Deno 2.9.6 rejects the
// directive and accepts the builtins when the feature is on).

fn row_max(s: Slot, lid: u32, v: f32) -> f32 {
  var r = v;
  for (var k = TPR / 2u; k > 0u; k >>= 1u) {
    r = max(r, subgroupShuffleXor(r, k));
  }
  return r;
}

fn row_sum(s: Slot, lid: u32, v: f32) -> f32 {
  var r = v;
  for (var k = TPR / 2u; k > 0u; k >>= 1u) {
    r += subgroupShuffleXor(r, k);
  }
  return r;
}

// Max and the first column holding it (ties go to the smaller column, as in the CPU reference).
fn row_argmax(s: Slot, lid: u32, v: f32, i: i32) -> Top {
  var best = Top(v, i);
  for (var k = TPR / 2u; k > 0u; k >>= 1u) {
    let ov = subgroupShuffleXor(best.value, k);
    let oi = subgroupShuffleXor(best.index, k);
    if (ov > best.value || (ov == best.value && oi < best.index)) {
      best = Top(ov, oi);
    }
  }
  return best;
}
