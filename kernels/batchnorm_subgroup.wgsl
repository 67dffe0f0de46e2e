// Workgroup reductions of kernels/batchnorm.wgsl with subgroup operations: the subgroup variant
// of the batch-norm family. lib/ops/batchnorm.ts puts this file in place of the part of
// batchnorm.wgsl between its BEGIN and END workgroup-reduction markers, so red_n, red_a, red_b,
// WG and the bindings are batchnorm.wgsl's.
//
// Layout and shapes: as batchnorm.wgsl (one workgroup of WG invocations per channel; each
// invocation's partial result in red_*[lid]; the reduced result lands in slot 0).
// Workgroup: WG; LANES (override, a power of two <= WG) is the adapter's smallest subgroup size,
// so each aligned run of LANES invocations lies in one subgroup (lanes follow
// local_invocation_index in 1-D workgroups on every driver tested; the tuner's self-check and
// the tests compare against the CPU reference on each adapter, so a driver that numbers lanes
// otherwise never gets this variant).
// Why: a butterfly of subgroupShuffleXor combines each run of LANES partials without barriers;
// only log2(WG / LANES) tree steps through workgroup memory remain (3 instead of 6 barriers for
// WG = 64 and 8 lanes on lavapipe; 1 with 32 lanes). Shuffles run in uniform control flow: every
// invocation of the workgroup calls these, as in batchnorm.wgsl.
// Needs the `subgroups` device feature (no `enable subgroups;`: Naga in Deno 2.9.6 rejects it).

override LANES: u32 = 4u;

// (n, mean, M2) over the workgroup (Chan et al.); the result lands in slot 0.
fn reduce_stats(lid: u32) {
  var n = red_n[lid];
  var mu = red_a[lid];
  var m2 = red_b[lid];
  for (var k = LANES / 2u; k > 0u; k >>= 1u) {
    let nb = subgroupShuffleXor(n, k);
    let mb = subgroupShuffleXor(mu, k);
    let m2b = subgroupShuffleXor(m2, k);
    let total = n + nb;
    if (nb != 0.0) {
      let delta = mb - mu;
      mu = mu + delta * (nb / total);
      m2 = m2 + m2b + delta * delta * (n * nb / total);
      n = total;
    }
  }
  red_n[lid] = n;
  red_a[lid] = mu;
  red_b[lid] = m2;
  for (var stride = WG / 2u; stride >= LANES; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) { merge_stats(lid, lid + stride); }
  }
  workgroupBarrier();
}

// Plain sums of red_a and red_b over the workgroup; the result lands in slot 0.
fn reduce_sums(lid: u32) {
  var a = red_a[lid];
  var b = red_b[lid];
  for (var k = LANES / 2u; k > 0u; k >>= 1u) {
    a += subgroupShuffleXor(a, k);
    b += subgroupShuffleXor(b, k);
  }
  red_a[lid] = a;
  red_b[lid] = b;
  for (var stride = WG / 2u; stride >= LANES; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) {
      red_a[lid] += red_a[lid + stride];
      red_b[lid] += red_b[lid + stride];
    }
  }
  workgroupBarrier();
}
