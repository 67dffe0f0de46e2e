// ImageNet-style augmentation from uint8 batches: crop-and-resize by bilinear sampling, flip,
// colour jitter (brightness, contrast, saturation in a per-image order), normalisation. Forward
// only: augmentation has no backward. The parameters are drawn on the CPU
// (lib/data/imagenet_augment.ts) and passed per image, so the result is deterministic and
// checked against that file's plain reference.
//
// Legend: B batch, S output side, plane = S*S, H and W one source image's rows and columns.
// Layout: src is the batch's source bytes, images (H,W,3) uint8 one after the other, four bytes
// per u32 little-endian (byte o is bits 8*(o%4) of src[o/4]); info (B,4) u32: byte offset, H, W,
// op order (op k in bits 2k..2k+1: 0 brightness, 1 contrast, 2 saturation); prm (B,8) f32: box
// top, left, height, width, brightness, contrast, saturation factors, flip (0 or 1);
// out (B,3,S,S) f32 row-major, overwritten.
// Sampling: source y = clamp(top + (oy + 0.5) * height / S - 0.5, 0, H - 1), x likewise with
// the flipped column; bilinear between the neighbours (clamped at the border), no antialiasing.
// Colour (torchvision on float images): brightness x*b; contrast blend with the image's mean grey
// (0.2989 R + 0.587 G + 0.114 B); saturation blend with the pixel's grey; each clamped to [0,1].
// Bindings (group 0): read-only src, info, prm; then out; then the uniform `p`.
// Workgroup: WG invocations (override, default 256), one workgroup per image: image
// wid.y * row + wid.x of a 1-D range folded into x and y past the device's
// maxComputeWorkgroupsPerDimension (grid1d on the host);
// invocation l owns pixels l, l + WG, ... of its image through every step, so only the contrast
// mean needs the workgroup (a fixed-order tree reduction: deterministic).

override WG: u32 = 256u;

struct Augment {
  size: u32,  // S
  batch: u32, // B
  m0: f32,    // per-channel mean of x/255
  m1: f32,
  m2: f32,
  s0: f32,    // per-channel std of x/255
  s1: f32,
  s2: f32,
  count: u32, // images in this run (at most B)
  row: u32,   // workgroups per row of the folded grid
}

@group(0) @binding(0) var<storage, read> src: array<u32>;        // src: bytes of B images, packed
@group(0) @binding(1) var<storage, read> info: array<u32>;       // info: (B,4) u32
@group(0) @binding(2) var<storage, read> prm: array<f32>;        // prm: (B,8) f32
@group(0) @binding(3) var<storage, read_write> out: array<f32>;  // out: (B,3,S,S) f32
@group(0) @binding(4) var<uniform> p: Augment;

var<workgroup> partial: array<f32, WG>;

fn byte_at(o: u32) -> f32 {
  return f32((src[o >> 2u] >> ((o & 3u) * 8u)) & 255u);
}

fn grey(r: f32, g: f32, b: f32) -> f32 {
  return 0.2989 * r + 0.587 * g + 0.114 * b;
}

@compute @workgroup_size(WG)
fn augment(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid3: vec3<u32>,
) {
  let b = wid.y * p.row + wid.x;
  // Uniform per workgroup (the folded grid's last row may overhang), so barriers stay uniform.
  if (b >= p.count) { return; }
  let l = lid3.x;
  let S = p.size;
  let plane = S * S;
  let offset = info[4u * b];
  let H = info[4u * b + 1u];
  let W = info[4u * b + 2u];
  let order = info[4u * b + 3u];
  let top = prm[8u * b];
  let left = prm[8u * b + 1u];
  let bh = prm[8u * b + 2u];
  let bw = prm[8u * b + 3u];
  let flip = prm[8u * b + 7u] > 0.5;
  let base = 3u * b * plane;
  let fs = f32(S);

  // 1. Sample the box into out as x/255.
  for (var i = l; i < plane; i += WG) {
    let oy = i / S;
    let ox = select(i % S, S - 1u - i % S, flip);
    let y = clamp(top + (f32(oy) + 0.5) * bh / fs - 0.5, 0.0, f32(H - 1u));
    let x = clamp(left + (f32(ox) + 0.5) * bw / fs - 0.5, 0.0, f32(W - 1u));
    let y0 = u32(floor(y));
    let x0 = u32(floor(x));
    let y1 = min(y0 + 1u, H - 1u);
    let x1 = min(x0 + 1u, W - 1u);
    let fy = y - f32(y0);
    let fx = x - f32(x0);
    for (var c = 0u; c < 3u; c++) {
      let v00 = byte_at(offset + (y0 * W + x0) * 3u + c);
      let v01 = byte_at(offset + (y0 * W + x1) * 3u + c);
      let v10 = byte_at(offset + (y1 * W + x0) * 3u + c);
      let v11 = byte_at(offset + (y1 * W + x1) * 3u + c);
      let v = (1.0 - fy) * ((1.0 - fx) * v00 + fx * v01) + fy * ((1.0 - fx) * v10 + fx * v11);
      out[base + c * plane + i] = v / 255.0;
    }
  }

  // 2. The three colour operations in this image's order.
  for (var k = 0u; k < 3u; k++) {
    let op = (order >> (2u * k)) & 3u;
    // The contrast mean: every invocation takes part (barriers need uniform control flow).
    var sum = 0.0;
    if (op == 1u) {
      for (var i = l; i < plane; i += WG) {
        sum += grey(out[base + i], out[base + plane + i], out[base + 2u * plane + i]);
      }
    }
    partial[l] = sum;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half = half / 2u) {
      if (l < half) { partial[l] += partial[l + half]; }
      workgroupBarrier();
    }
    let m = partial[0] / f32(plane);
    workgroupBarrier();
    let f = prm[8u * b + 4u + op];
    for (var i = l; i < plane; i += WG) {
      let r = out[base + i];
      let g = out[base + plane + i];
      let bl = out[base + 2u * plane + i];
      var rgb = vec3<f32>(r, g, bl);
      if (op == 0u) {
        rgb = rgb * f;
      } else if (op == 1u) {
        rgb = f * rgb + (1.0 - f) * m;
      } else {
        rgb = f * rgb + (1.0 - f) * grey(r, g, bl);
      }
      rgb = clamp(rgb, vec3<f32>(0.0), vec3<f32>(1.0));
      out[base + i] = rgb.x;
      out[base + plane + i] = rgb.y;
      out[base + 2u * plane + i] = rgb.z;
    }
  }

  // 3. Normalise.
  for (var i = l; i < plane; i += WG) {
    out[base + i] = (out[base + i] - p.m0) / p.s0;
    out[base + plane + i] = (out[base + plane + i] - p.m1) / p.s1;
    out[base + 2u * plane + i] = (out[base + 2u * plane + i] - p.m2) / p.s2;
  }
}
