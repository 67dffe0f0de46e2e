// The quad sharing of kernels/gemm.wgsl with subgroup operations: lib/ops/gemm.ts puts this
// file in place of the part of gemm.wgsl between its BEGIN and END quad-sharing markers, for
// gemm_lanes with SHARE_A.
//
// Workgroup: gemm.wgsl's gemm_lanes, WG a multiple of SG (the adapter's subgroup size); lane i of
// subgroup j is local invocation j * SG + i (as on every driver tested; the tuner's self-check
// and the tests compare against the CPU reference on each adapter, so a driver that numbers
// lanes otherwise fails the check and never gets this variant). Must be reached by every lane of
// a subgroup: gemm_lanes with SHARE_A has no early return.
// Needs the `subgroups` device feature (no `enable subgroups;`: Naga in Deno 2.9.6 rejects the
// directive and accepts the builtins when the feature is on).

// m as held by lane from_lane. Every lane of a subgroup reaches each call with the same
// from_lane: gemm_lanes computes its block and k range from li / SG (the same across a subgroup
// when lanes are numbered as above) and has no early return. WGSL's uniformity analysis cannot
// see that a value depending on local_invocation_index is subgroup-uniform, and Tint (Chromium)
// rejects the shuffle without this filter; Naga does not run that check.
@diagnostic(off, subgroup_uniformity)
fn share_quad(m: mat4x4<f32>, from_lane: u32) -> mat4x4<f32> {
  return mat4x4(subgroupShuffle(m[0], from_lane), subgroupShuffle(m[1], from_lane),
    subgroupShuffle(m[2], from_lane), subgroupShuffle(m[3], from_lane));
}
