// Point cloud of a 2-D embedding map: one instanced quad per point, drawn as an anti-aliased
// disc. Positions are in map units; the uniforms turn them into clip space of the map's rect.

struct Uniforms {
    // Map position at the centre of the rect.
    center: vec2<f32>,
    // Map units -> clip units (x, y); y is flipped so that map y grows upwards.
    scale: vec2<f32>,
    // Point radius in clip units (x, y) (pixels differ per axis in clip space).
    radius: vec2<f32>,
    // 1 when a search or selection is active: points without a flag are dimmed.
    dim_unflagged: u32,
    // Pixels per clip unit along x, for the anti-aliasing width.
    px_per_clip: f32,
};

@group(0) @binding(0) var<uniform> u: Uniforms;

struct Instance {
    @location(0) pos: vec2<f32>,
    // RGBA, 8 bits each (little-endian: r in the low byte).
    @location(1) color: u32,
    // Bit 0: selected; bit 1: search match; bit 2: neighbour of the inspected point.
    @location(2) flags: u32,
};

struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) local: vec2<f32>,
    @location(1) color: vec4<f32>,
    @location(2) @interpolate(flat) flags: u32,
    @location(3) radius_px: f32,
};

fn corner(i: u32) -> vec2<f32> {
    // Two triangles: (0,1,2) (2,1,3) over the corners of [-1, 1]^2.
    var c = array<vec2<f32>, 6>(
        vec2<f32>(-1.0, -1.0), vec2<f32>(1.0, -1.0), vec2<f32>(-1.0, 1.0),
        vec2<f32>(-1.0, 1.0), vec2<f32>(1.0, -1.0), vec2<f32>(1.0, 1.0),
    );
    return c[i];
}

fn unpack(c: u32) -> vec4<f32> {
    return vec4<f32>(
        f32(c & 0xffu), f32((c >> 8u) & 0xffu), f32((c >> 16u) & 0xffu), f32((c >> 24u) & 0xffu)
    ) / 255.0;
}

@vertex
fn vs_main(@builtin(vertex_index) vi: u32, inst: Instance) -> VertexOut {
    var out: VertexOut;
    var grow = 1.0;
    if ((inst.flags & 1u) != 0u) {
        grow = 2.2;
    } else if ((inst.flags & 6u) != 0u) {
        grow = 1.6;
    }
    // One extra pixel of quad for the anti-aliased edge.
    let r = u.radius * grow + vec2<f32>(1.0 / u.px_per_clip, 1.0 / u.px_per_clip);
    let c = corner(vi);
    let centre = (inst.pos - u.center) * u.scale;
    out.clip = vec4<f32>(centre + c * r, 0.0, 1.0);
    out.local = c * (r.x * u.px_per_clip);
    out.radius_px = u.radius.x * grow * u.px_per_clip;
    var col = unpack(inst.color);
    if (u.dim_unflagged != 0u && inst.flags == 0u) {
        col = vec4<f32>(col.rgb, col.a * 0.18);
    }
    out.color = col;
    out.flags = inst.flags;
    return out;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let d = length(in.local);
    let edge = clamp(in.radius_px + 0.5 - d, 0.0, 1.0);
    if (edge <= 0.0) {
        discard;
    }
    var col = in.color;
    // Selected and matched points get a light ring.
    if ((in.flags & 3u) != 0u && d > in.radius_px - 1.5) {
        col = vec4<f32>(1.0, 1.0, 1.0, 1.0);
    }
    // egui's render target expects premultiplied alpha.
    let a = col.a * edge;
    return vec4<f32>(col.rgb * a, a);
}
