// Linear classifiers on frozen features (stage 2): evaluation logits, the tau sweep (base scores,
// weight norms, per-tau argmax), NCM class means, and whole SGD training runs of cRT and LWS
// recorded into a single submit.
//
// Legend: N rows of a feature buffer, D feature dimension padded with zeros to a multiple of 4
// (D4 = D / 4 vec4 per row), C classes, B batch rows, S steps, T taus, E epoch length (training
// samples per epoch; one step takes B of them, the last step of an epoch may take fewer).
// Layout: row-major. A "model" buffer is [W (C,D) | b (C4) | f (C4)], C4 = C rounded up to a
//   multiple of 4 (padding lanes are 0), and logits are z = f * (W x + b). cRT trains W and b with f = 1; LWS trains f with W and b fixed (the bias
//   is scaled too). "velocity" has the model's layout (SGD momentum). "work" is
//   [dz (B,C) | u (B,C) | loss (B)] with u = W x + b and dz = dLoss/dz of the current step.
//   "trace" is [step, bitcast<u32>(mean batch loss) of each of the S steps]. "samples" holds,
//   for sample position k = epoch * E + position in epoch, samples[2(k - sample_base)] = row of
//   x and samples[2(k - sample_base) + 1] = its label, for the positions of whole steps from
//   sample_base on (all of them, or one chunk of them that fits one storage binding); for
//   class_mean, `samples` holds the class segments instead.
//   gather_batch copies the step's rows into "batch_x" (B, D4) from the training rows, held in
//   one or more chunks of at most one storage binding each; train_forward and train_update
//   then get that buffer bound as x.
// Bindings (group 0): read-only storage first, then read_write storage, then the uniform `p`,
//   then the sweep's own buffers.
// Workgroup: WG invocations (override, default 64) along x. Grids: a 1-D launch wider than the
//   device's maxComputeWorkgroupsPerDimension is folded into x and y (grid1d on the host), so
//   every entry takes its item index from `item(gid)` = gid.y * p.row + gid.x.
// Determinism: every sum runs in a fixed order inside one invocation; no atomics. Class means
//   read only their own class's rows through a by-class row order ("segments"), so all classes
//   together cost one pass over the rows.
// NOTE: features and weights are read as vec4: on a software adapter every storage load costs
// about the same whatever its width, so vec4 rows halve the time of a training step (the
// gradient kernel alone runs 5x faster than with scalar loads).

override WG: u32 = 64u;

struct Params {
  rows: u32,            // N (evaluation, normalisation, means) or E (training epoch length)
  dim4: u32,            // D4
  classes: u32,         // C
  batch: u32,           // B
  steps_per_epoch: u32, // ceil(E / B)
  mode: u32,            // entry-specific switch, documented at each entry
  taus: u32,            // T
  row: u32,             // invocations per row of a folded grid (grid1d)
  chunk_start: u32,     // gather_batch: first training row held by x
  chunk_rows: u32,      // gather_batch: rows held by x
  sample_base: u32,     // training: first sample position held by the bound chunk of samples
  momentum: f32,
  weight_decay: f32,
  tau0: f32,            // first tau of a sweep, or the tau of tau_weights
  tau_step: f32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;         // x: (N, D4) features
@group(0) @binding(1) var<storage, read> samples: array<u32>;         // samples: (S*B-ish, 2)
// (binding 2, once per-row labels, is free: class means take segments in `samples`)
@group(0) @binding(3) var<storage, read> lr: array<f32>;              // lr: (S) rate per step
@group(0) @binding(4) var<storage, read> offset: array<f32>;          // offset: (C) logit offset
@group(0) @binding(5) var<storage, read> centre: array<vec4<f32>>;    // centre: (D4)
@group(0) @binding(6) var<storage, read_write> model: array<vec4<f32>>;    // model: (C*D + 2*C4)/4
@group(0) @binding(7) var<storage, read_write> velocity: array<vec4<f32>>; // velocity: as model
@group(0) @binding(8) var<storage, read_write> work: array<f32>;      // work: (2*B*C + B)
@group(0) @binding(9) var<storage, read_write> trace: array<u32>;     // trace: (1 + S)
@group(0) @binding(10) var<storage, read_write> out: array<f32>;      // out: entry-specific
@group(0) @binding(11) var<uniform> p: Params;
@group(0) @binding(12) var<storage, read> scores: array<f32>;        // scores: (N, C) sweep base
@group(0) @binding(13) var<storage, read> norms: array<f32>;         // norms: (C) ||W_c||
@group(0) @binding(14) var<storage, read_write> predictions: array<u32>; // predictions: (T, N)
@group(0) @binding(15) var<storage, read_write> batch_x: array<vec4<f32>>;  // batch_x: (B, D4)

fn item(gid: vec3<u32>) -> u32 {
  return gid.y * p.row + gid.x;
}

fn hsum(v: vec4<f32>) -> f32 {
  return v.x + v.y + v.z + v.w;
}

fn classes4() -> u32 {
  return (p.classes + 3u) / 4u;
}

// Scalar element i of the model.
fn model_at(i: u32) -> f32 {
  return model[i / 4u][i % 4u];
}

// b and f live after the C*D weights, each padded to whole vec4.
fn bias_of(c: u32) -> f32 {
  return model_at(p.classes * p.dim4 * 4u + c);
}

fn scale_of(c: u32) -> f32 {
  return model_at((p.classes * p.dim4 + classes4()) * 4u + c);
}

// W_c . x_row
fn dot_row(row: u32, c: u32) -> f32 {
  let d4 = p.dim4;
  var acc = vec4<f32>(0.0);
  for (var k = 0u; k < d4; k++) {
    acc += model[c * d4 + k] * x[row * d4 + k];
  }
  return hsum(acc);
}

fn weight_norm(c: u32) -> f32 {
  let d4 = p.dim4;
  var acc = vec4<f32>(0.0);
  for (var k = 0u; k < d4; k++) {
    let w = model[c * d4 + k];
    acc += w * w;
  }
  return sqrt(hsum(acc));
}

// n^-tau for a weight norm n, 1 for a zero row (so its logits stay 0 instead of NaN).
fn tau_scale(n: f32, tau: f32) -> f32 {
  return select(pow(n, -tau), 1.0, n == 0.0);
}

// W_c . x_r for the 4 x 4 block of rows r0..r0+3 and classes c0..c0+3 of x's first `rows` rows:
// acc[4a + b] summed over vec4 lanes is row r0 + a, class c0 + b (rows and classes past the end
// repeat the last one, and the caller skips them). Each step loads 4 feature and 4 weight vec4 for 16 products instead
// of 2 loads per product, which on a software adapter, where loads dominate, is what counts;
// the order of every sum is dot_row's, so the result is the same bit for bit.
fn block_dots(r0: u32, c0: u32, rows: u32) -> array<vec4<f32>, 16> {
  let d4 = p.dim4;
  let lr = rows - 1u;
  let lc = p.classes - 1u;
  let x0 = min(r0, lr) * d4;
  let x1 = min(r0 + 1u, lr) * d4;
  let x2 = min(r0 + 2u, lr) * d4;
  let x3 = min(r0 + 3u, lr) * d4;
  let w0 = min(c0, lc) * d4;
  let w1 = min(c0 + 1u, lc) * d4;
  let w2 = min(c0 + 2u, lc) * d4;
  let w3 = min(c0 + 3u, lc) * d4;
  var acc: array<vec4<f32>, 16>;
  // Unrolled by hand: a loop over the 4 rows with an index array runs at half the speed on
  // lavapipe.
  for (var k = 0u; k < d4; k++) {
    let m0 = model[w0 + k];
    let m1 = model[w1 + k];
    let m2 = model[w2 + k];
    let m3 = model[w3 + k];
    var v = x[x0 + k];
    acc[0] += m0 * v;
    acc[1] += m1 * v;
    acc[2] += m2 * v;
    acc[3] += m3 * v;
    v = x[x1 + k];
    acc[4] += m0 * v;
    acc[5] += m1 * v;
    acc[6] += m2 * v;
    acc[7] += m3 * v;
    v = x[x2 + k];
    acc[8] += m0 * v;
    acc[9] += m1 * v;
    acc[10] += m2 * v;
    acc[11] += m3 * v;
    v = x[x3 + k];
    acc[12] += m0 * v;
    acc[13] += m1 * v;
    acc[14] += m2 * v;
    acc[15] += m3 * v;
  }
  return acc;
}

// The first row and class of block `i` of a (rows / 4) x (classes / 4) grid of blocks, or
// `valid` false past the end.
struct Block {
  r0: u32,
  c0: u32,
  valid: bool,
}

fn block_of(i: u32) -> Block {
  let cb = (p.classes + 3u) / 4u;
  let rb = (p.rows + 3u) / 4u;
  return Block((i / cb) * 4u, (i % cb) * 4u, i < rb * cb);
}

// Logits for evaluation: out[r, c] = f_c * (W_c . x_r + b_c) + offset_c.
// x is (N, D4); out is (N, C). One invocation per 4 x 4 block of (row, class).
@compute @workgroup_size(WG)
fn logits(@builtin(global_invocation_id) gid: vec3<u32>) {
  let blk = block_of(item(gid));
  if (!blk.valid) { return; }
  var acc = block_dots(blk.r0, blk.c0, p.rows);
  for (var a = 0u; a < 4u; a++) {
    let r = blk.r0 + a;
    for (var b = 0u; b < 4u; b++) {
      let c = blk.c0 + b;
      if (r < p.rows && c < p.classes) {
        out[r * p.classes + c] = scale_of(c) * (hsum(acc[4u * a + b]) + bias_of(c)) + offset[c];
      }
    }
  }
}

// The tau sweep, in three entries so that W x is computed once for all T taus and only
// predictions (not T sets of logits) come back:
// sweep_base: scores[r, c] into out, (N, C). mode 0 (tau-normalisation): W_c . x_r (bias
//   dropped); mode 1 (post-hoc logit adjustment): f_c * (W_c . x_r + b_c). One invocation per
//   4 x 4 block of (row, class).
@compute @workgroup_size(WG)
fn sweep_base(@builtin(global_invocation_id) gid: vec3<u32>) {
  let blk = block_of(item(gid));
  if (!blk.valid) { return; }
  var acc = block_dots(blk.r0, blk.c0, p.rows);
  for (var a = 0u; a < 4u; a++) {
    let r = blk.r0 + a;
    for (var b = 0u; b < 4u; b++) {
      let c = blk.c0 + b;
      if (r < p.rows && c < p.classes) {
        let u = hsum(acc[4u * a + b]);
        out[r * p.classes + c] = select(scale_of(c) * (u + bias_of(c)), u, p.mode == 0u);
      }
    }
  }
}

// out[c] = ||W_c|| of the model. One invocation per class.
@compute @workgroup_size(WG)
fn weight_norms(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = item(gid);
  if (c >= p.classes) { return; }
  out[c] = weight_norm(c);
}

// predictions[t, r] = argmax_c of the adjusted score for tau = tau0 + t * tau_step (ties to the
// smallest class, like argmaxRows on the host). mode 0: scores[r, c] * norms[c]^-tau; mode 1:
// scores[r, c] - tau * offset[c], offset = log prior. One invocation per (t, r), item = t * N + r.
@compute @workgroup_size(WG)
fn sweep(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = item(gid);
  if (i >= p.rows * p.taus) { return; }
  let t = i / p.rows;
  let r = i % p.rows;
  let tau = p.tau0 + f32(t) * p.tau_step;
  var best = 0u;
  var top = -3.4e38;
  for (var c = 0u; c < p.classes; c++) {
    let u = scores[r * p.classes + c];
    var v: f32;
    if (p.mode == 0u) {
      v = u * tau_scale(norms[c], tau);
    } else {
      v = u - tau * offset[c];
    }
    if (c == 0u || v > top) {
      top = v;
      best = c;
    }
  }
  predictions[i] = best;
}

// tau-normalised model: out = [W_c * norms[c]^-tau | 0 | 1] for tau = tau0, norms from
// weight_norms. model is the source; out is a scalar model of the same layout. One invocation
// per element.
@compute @workgroup_size(WG)
fn tau_weights(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = item(gid);
  let cd = p.classes * p.dim4 * 4u;
  let c4 = classes4() * 4u;
  if (i >= cd + 2u * c4) { return; }
  if (i < cd) {
    out[i] = model_at(i) * tau_scale(norms[i / (p.dim4 * 4u)], p.tau0);
  } else {
    out[i] = select(0.0, 1.0, i >= cd + c4 && i < cd + c4 + p.classes);
  }
}

// out[r, :] = (x[r, :] - centre) / ||x[r, :] - centre|| (a row equal to the centre gives 0).
// x is (N, D4); centre is (D4); out is (N, D) scalars. One invocation per row.
@compute @workgroup_size(WG)
fn normalize_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = item(gid);
  if (r >= p.rows) { return; }
  let d4 = p.dim4;
  var acc = vec4<f32>(0.0);
  for (var k = 0u; k < d4; k++) {
    let v = x[r * d4 + k] - centre[k];
    acc += v * v;
  }
  let total = hsum(acc);
  let inv = select(1.0 / sqrt(total), 0.0, total == 0.0);
  for (var k = 0u; k < d4; k++) {
    let v = (x[r * d4 + k] - centre[k]) * inv;
    let o = 4u * (r * d4 + k);
    out[o] = v.x;
    out[o + 1u] = v.y;
    out[o + 2u] = v.z;
    out[o + 3u] = v.w;
  }
}

// out[k] = mean over rows of x[r, k]. x is (N, D4); out is (D). One invocation per vec4 column.
@compute @workgroup_size(WG)
fn column_mean(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = item(gid);
  if (k >= p.dim4) { return; }
  var acc = vec4<f32>(0.0);
  for (var r = 0u; r < p.rows; r++) {
    acc += x[r * p.dim4 + k];
  }
  let m = acc / f32(max(p.rows, 1u));
  out[4u * k] = m.x;
  out[4u * k + 1u] = m.y;
  out[4u * k + 2u] = m.z;
  out[4u * k + 3u] = m.w;
}

// Class means over the rows of one chunk of the training rows (x), class by class:
// acc[c, k] = sum of x[r, k] over the chunk's rows with label c. samples holds the chunk's
// segments (classSegments on the host): [start (C + 1) | total (C) | order (rows)], the rows of
// class c being order[start[c]] .. order[start[c + 1] - 1] in increasing row order, and total[c]
// the class's rows over all chunks; so each invocation reads only its class's rows, and all of
// them together read x once.
// mode bit 0: add to what out holds (a later chunk); bit 1: finish, out = (out + acc) / total
//   (0 for an empty class). One chunk: mode 2.
// x is (rows, D4); out is (C, D). One invocation per (c, vec4 column).
@compute @workgroup_size(WG)
fn class_mean(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = item(gid);
  if (i >= p.classes * p.dim4) { return; }
  let c = i / p.dim4;
  let k = i % p.dim4;
  let first = samples[c];
  let last = samples[c + 1u];
  let order = 2u * p.classes + 1u;
  var acc = vec4<f32>(0.0);
  for (var j = first; j < last; j++) {
    acc += x[samples[order + j] * p.dim4 + k];
  }
  if ((p.mode & 1u) == 1u) {
    acc += vec4<f32>(out[4u * i], out[4u * i + 1u], out[4u * i + 2u], out[4u * i + 3u]);
  }
  if ((p.mode & 2u) == 2u) {
    let n = samples[p.classes + 1u + c];
    acc = select(acc / f32(n), vec4<f32>(0.0), n == 0u);
  }
  out[4u * i] = acc.x;
  out[4u * i + 1u] = acc.y;
  out[4u * i + 2u] = acc.z;
  out[4u * i + 3u] = acc.w;
}

// NCM model from class means m (x, (C, D4)) into `out` (a scalar model). One invocation per
// class.
// mode 0 (cosine): W_c = m_c / ||m_c||, b_c = 0, so logits of unit features are cosines.
// mode 1 (L2 on unit features): W_c = 2 m_c, b_c = -||m_c||^2 - 1, so logits of unit features
//   are -||x - m_c||^2.
@compute @workgroup_size(WG)
fn ncm_weights(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = item(gid);
  if (c >= p.classes) { return; }
  let d4 = p.dim4;
  var acc = vec4<f32>(0.0);
  for (var k = 0u; k < d4; k++) {
    let v = x[c * d4 + k];
    acc += v * v;
  }
  let total = hsum(acc);
  let inv = select(1.0 / sqrt(total), 0.0, total == 0.0);
  for (var k = 0u; k < d4; k++) {
    let w = select(x[c * d4 + k] * inv, 2.0 * x[c * d4 + k], p.mode == 1u);
    let o = 4u * (c * d4 + k);
    out[o] = w.x;
    out[o + 1u] = w.y;
    out[o + 2u] = w.z;
    out[o + 3u] = w.w;
  }
  let cd = p.classes * d4 * 4u;
  let c4 = classes4() * 4u;
  out[cd + c] = select(0.0, -total - 1.0, p.mode == 1u);
  out[cd + c4 + c] = 1.0;
  if (c == 0u) {
    // The padding lanes of b and f.
    for (var j = p.classes; j < c4; j++) {
      out[cd + j] = 0.0;
      out[cd + c4 + j] = 0.0;
    }
  }
}

// Training. The step s = trace[0]; in epoch e = s / steps_per_epoch the step takes batch rows
// start = (s % steps_per_epoch) * B .. start + count, count = min(B, E - start).
struct Step {
  s: u32,
  first: u32,  // pair of batch row 0 in the bound samples: its position less sample_base
  count: u32,
}

fn current_step() -> Step {
  let s = trace[0];
  let e = s / p.steps_per_epoch;
  let start = (s % p.steps_per_epoch) * p.batch;
  return Step(s, e * p.rows + start - p.sample_base, min(p.batch, p.rows - start));
}

// Copies the step's batch rows that lie in this chunk of the training rows (x holds rows
// chunk_start .. chunk_start + chunk_rows - 1) into batch_x; one dispatch per chunk fills it all.
// One invocation per (batch row, vec4 column).
@compute @workgroup_size(WG)
fn gather_batch(@builtin(global_invocation_id) gid: vec3<u32>) {
  let st = current_step();
  let i = item(gid);
  if (i >= st.count * p.dim4) { return; }
  let r = i / p.dim4;
  let k = i % p.dim4;
  let row = samples[2u * (st.first + r)];
  if (row >= p.chunk_start && row - p.chunk_start < p.chunk_rows) {
    batch_x[i] = x[(row - p.chunk_start) * p.dim4 + k];
  }
}

// Forward and softmax cross-entropy backward of 4 batch rows per invocation, x bound to the
// gathered batch rows (B, D4): their logits come in 4 x 4 blocks (block_dots).
// Loss on a = z + offset (offset = log prior is balanced softmax; zeros is plain CE).
// Writes work: dz[r, c] = (softmax(a)_c - [c == y]) / count, u[r, c] = W_c x + b_c, loss[r].
@compute @workgroup_size(WG)
fn train_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let st = current_step();
  let r0 = 4u * item(gid);
  if (r0 >= st.count) { return; }
  let cc = p.classes;
  let bc = p.batch * cc;
  var top = vec4<f32>(-3.4e38);
  for (var c0 = 0u; c0 < cc; c0 += 4u) {
    var acc = block_dots(r0, c0, st.count);
    for (var a = 0u; a < 4u; a++) {
      let r = r0 + a;
      for (var b = 0u; b < 4u; b++) {
        let c = c0 + b;
        if (r < st.count && c < cc) {
          let u = hsum(acc[4u * a + b]) + bias_of(c);
          let z = scale_of(c) * u + offset[c];
          work[bc + r * cc + c] = u;
          work[r * cc + c] = z;
          top[a] = max(top[a], z);
        }
      }
    }
  }
  let inv_count = 1.0 / f32(st.count);
  for (var a = 0u; a < 4u; a++) {
    let r = r0 + a;
    if (r >= st.count) { break; }
    let y = samples[2u * (st.first + r) + 1u];
    var total = 0.0;
    for (var c = 0u; c < cc; c++) {
      total += exp(work[r * cc + c] - top[a]);
    }
    let log_total = log(total);
    work[2u * bc + r] = top[a] + log_total - work[r * cc + y];
    for (var c = 0u; c < cc; c++) {
      let prob = exp(work[r * cc + c] - top[a] - log_total);
      work[r * cc + c] = (prob - select(0.0, 1.0, c == y)) * inv_count;
    }
  }
}

// SGD with momentum: g += weight_decay * param; v = momentum * v + g; param -= lr[s] * v.
// Padding lanes have g = 0 and param = v = 0, so they stay 0.
fn sgd(at: u32, g: vec4<f32>, s: u32) {
  let grad = g + p.weight_decay * model[at];
  let v = p.momentum * velocity[at] + grad;
  velocity[at] = v;
  model[at] -= lr[s] * v;
}

// dz[r, c] (and u[r, c] when `u` is set), 0 for a padding class.
fn work_at(r: u32, c: u32, u: bool) -> f32 {
  if (c >= p.classes) { return 0.0; }
  return work[select(0u, p.batch * p.classes, u) + r * p.classes + c];
}

fn scales4(j: u32) -> vec4<f32> {
  return model[p.classes * p.dim4 + classes4() + j];
}

// Gradient and update from train_forward's work, one vec4 of parameters per invocation; x is
// bound to the gathered batch rows (B, D4).
// dLoss/dW_c = f_c sum_r dz_rc x_r, dLoss/db_c = f_c sum_r dz_rc, dLoss/df_c = sum_r dz_rc u_rc.
// mode 0 (cRT): W as C*D4 vec4, then b as C4/4 vec4. mode 1 (LWS): f as C4/4 vec4.
@compute @workgroup_size(WG)
fn train_update(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = item(gid);
  let st = current_step();
  let cc = p.classes;
  let d4 = p.dim4;
  let cd4 = cc * d4;
  let groups4 = classes4();
  // cRT's W in blocks of 4 classes x 4 vec4 columns per invocation: each batch row loads 4 dz
  // and 4 feature vec4 for 16 products (2 loads per product before); every sum keeps its order.
  let kb = (d4 + 3u) / 4u;
  let wblocks = groups4 * kb;
  if (p.mode == 0u) {
    if (i < wblocks) {
      let c0 = (i / kb) * 4u;
      let k0 = (i % kb) * 4u;
      let lk = d4 - 1u;
      var g: array<vec4<f32>, 16>;
      for (var r = 0u; r < st.count; r++) {
        let w = vec4<f32>(
          work_at(r, c0, false),
          work_at(r, c0 + 1u, false),
          work_at(r, c0 + 2u, false),
          work_at(r, c0 + 3u, false),
        );
        for (var q = 0u; q < 4u; q++) {
          let v = x[r * d4 + min(k0 + q, lk)];
          g[q] += w.x * v;
          g[4u + q] += w.y * v;
          g[8u + q] += w.z * v;
          g[12u + q] += w.w * v;
        }
      }
      for (var j = 0u; j < 4u; j++) {
        let c = c0 + j;
        for (var q = 0u; q < 4u; q++) {
          let k = k0 + q;
          if (c < cc && k < d4) {
            sgd(c * d4 + k, g[4u * j + q] * scale_of(c), st.s);
          }
        }
      }
    } else if (i < wblocks + groups4) {
      let j = i - wblocks;
      var g = vec4<f32>(0.0);
      for (var r = 0u; r < st.count; r++) {
        g += vec4<f32>(
          work_at(r, 4u * j, false),
          work_at(r, 4u * j + 1u, false),
          work_at(r, 4u * j + 2u, false),
          work_at(r, 4u * j + 3u, false),
        );
      }
      sgd(cd4 + j, g * scales4(j), st.s);
    }
  } else if (i < groups4) {
    var g = vec4<f32>(0.0);
    for (var r = 0u; r < st.count; r++) {
      for (var l = 0u; l < 4u; l++) {
        g[l] += work_at(r, 4u * i + l, false) * work_at(r, 4u * i + l, true);
      }
    }
    sgd(cd4 + groups4 + i, g, st.s);
  }
}

// Ends a step: trace[1 + s] = mean batch loss, then trace[0] = s + 1. One invocation.
@compute @workgroup_size(1)
fn train_finish() {
  let st = current_step();
  let base = 2u * p.batch * p.classes;
  var acc = 0.0;
  for (var r = 0u; r < st.count; r++) {
    acc += work[base + r];
  }
  trace[1u + st.s] = bitcast<u32>(acc / f32(st.count));
  trace[0] = st.s + 1u;
}
