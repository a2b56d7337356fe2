// The graph view's large-graph renderer: edges as a line list, nodes as instanced quads shaded
// into discs (pins) or rounded squares (boards) with an outline. Drawn through an egui_wgpu paint
// callback whose viewport is the view's rectangle, so NDC −1..1 spans the rectangle.
// The egui target is not sRGB: colours are written as given (gamma space).

struct View {
    // world → NDC: ndc = world * scale + offset
    scale: vec2<f32>,
    offset: vec2<f32>,
    // NDC units per UI point, per axis (for node sizes given in points)
    point: vec2<f32>,
    _pad: vec2<f32>,
};

@group(0) @binding(0) var<uniform> view: View;

struct EdgeOut {
    @builtin(position) position: vec4<f32>,
    @location(0) colour: vec4<f32>,
};

@vertex
fn vs_edge(@location(0) pos: vec2<f32>, @location(1) colour: vec4<f32>) -> EdgeOut {
    var out: EdgeOut;
    out.position = vec4<f32>(pos * view.scale + view.offset, 0.0, 1.0);
    out.colour = colour;
    return out;
}

@fragment
fn fs_edge(in: EdgeOut) -> @location(0) vec4<f32> {
    return vec4<f32>(in.colour.rgb * in.colour.a, in.colour.a);
}

struct NodeOut {
    @builtin(position) position: vec4<f32>,
    @location(0) local: vec2<f32>,
    @location(1) fill: vec4<f32>,
    @location(2) stroke: vec4<f32>,
    @location(3) shape: f32,
    @location(4) stroke_frac: f32,
};

@vertex
fn vs_node(
    @builtin(vertex_index) vi: u32,
    @location(0) centre: vec2<f32>,
    @location(1) radius: f32,
    @location(2) shape: f32,
    @location(3) fill: vec4<f32>,
    @location(4) stroke: vec4<f32>,
) -> NodeOut {
    // Two triangles covering the square [-1, 1]².
    var corners = array<vec2<f32>, 6>(
        vec2<f32>(-1.0, -1.0), vec2<f32>(1.0, -1.0), vec2<f32>(1.0, 1.0),
        vec2<f32>(-1.0, -1.0), vec2<f32>(1.0, 1.0), vec2<f32>(-1.0, 1.0),
    );
    let c = corners[vi];
    var out: NodeOut;
    let ndc = centre * view.scale + view.offset;
    out.position = vec4<f32>(ndc + c * (radius + 1.0) * view.point, 0.0, 1.0);
    out.local = c * (radius + 1.0) / max(radius, 0.5);
    out.fill = fill;
    out.stroke = stroke;
    out.shape = shape;
    out.stroke_frac = 1.5 / max(radius, 0.5);
    return out;
}

@fragment
fn fs_node(in: NodeOut) -> @location(0) vec4<f32> {
    // Distance-like measure: the disc's radius, or the square's Chebyshev norm.
    var d: f32;
    if (in.shape < 0.5) {
        d = length(in.local);
    } else {
        d = max(abs(in.local.x), abs(in.local.y));
    }
    let aa = fwidth(d);
    let outside = smoothstep(1.0 - aa, 1.0 + aa, d);
    if (outside >= 1.0) {
        discard;
    }
    let edge = smoothstep(1.0 - in.stroke_frac - aa, 1.0 - in.stroke_frac + aa, d);
    var colour = mix(in.fill, in.stroke, edge * in.stroke.a);
    colour.a = colour.a * (1.0 - outside);
    return vec4<f32>(colour.rgb * colour.a, colour.a);
}
