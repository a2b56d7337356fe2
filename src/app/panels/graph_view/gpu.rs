//! The graph view's WGSL renderer (`shaders/graph.wgsl`) for large slices: a versioned scene of
//! node instances and edge vertices, built from the layout only when something changed, drawn
//! through an egui_wgpu paint callback whose pipelines `init_gpu` creates on eframe's device.

use std::sync::Arc;

use eframe::egui;
use eframe::egui_wgpu::{self, wgpu};
use wgpu::util::DeviceExt as _;

use super::draw::{BOARD_COLOUR, Frame, HIGHLIGHT, Highlight, dim, pin_colour};
use super::{ColourBy, GraphView};
use crate::explain::EgoNode;
use crate::graph::Graph;

impl GraphView {
    /// Draws the picture with the shader, rebuilding the scene when the layout, the selection or
    /// the colouring changed.
    pub(super) fn shader_paint(&mut self, painter: &egui::Painter, g: &Graph, frame: &Frame, hl: &Highlight) {
        let layout = frame.layout;
        let stamp = (layout.iterations, frame.selected, self.colour_by, layout.settled);
        if self.scene.is_none() || self.scene_stamp != stamp {
            self.scene_version += 1;
            self.scene_stamp = stamp;
            self.scene = Some(Arc::new(scene(g, frame, hl, self.colour_by, self.scene_version)));
        }
        if let Some(scene) = &self.scene {
            let (s, vc, size_factor) = (frame.scale, frame.view_centre, frame.size_factor);
            let half = frame.rect.size() / 2.0;
            let uniform = ViewUniform {
                scale: [s / half.x, -s / half.y],
                offset: [-vc.x * s / half.x, vc.y * s / half.y],
                point: [size_factor / half.x, size_factor / half.y],
                _pad: [0.0; 2],
            };
            painter.add(egui_wgpu::Callback::new_paint_callback(
                frame.rect,
                GraphCallback { scene: scene.clone(), uniform },
            ));
        }
    }
}

/// The shader's scene of the layout: node instances (fill, outline, radius, shape) and edge lines.
fn scene(g: &Graph, frame: &Frame, hl: &Highlight, colour_by: ColourBy, version: u64) -> GpuScene {
    let layout = frame.layout;
    let mut nodes = Vec::with_capacity(layout.pos.len());
    for (i, p) in layout.pos.iter().enumerate() {
        let lit = hl.lit(i);
        let (fill, shape) = match layout.slice.nodes[i] {
            EgoNode::Pin(q) => (pin_colour(g, q, colour_by), 0.0),
            EgoNode::Board(_) => (BOARD_COLOUR, 1.0),
        };
        let stroke = if hl.selected == Some(i as u32) {
            egui::Color32::WHITE
        } else if hl.selected.is_some() && (hl.boards[i] || hl.pins[i]) {
            HIGHLIGHT
        } else {
            egui::Color32::from_black_alpha(160)
        };
        let r = match layout.slice.nodes[i] {
            EgoNode::Pin(q) if q == frame.selected => 8.0,
            EgoNode::Pin(_) => 4.5,
            EgoNode::Board(_) => 4.0,
        };
        nodes.push(NodeInstance {
            centre: *p,
            radius: r,
            shape,
            fill: dim(fill, lit).to_array(),
            stroke: dim(stroke, lit).to_array(),
        });
    }
    let mut edges = Vec::with_capacity(layout.slice.edges.len() * 2);
    for &(a, b) in &layout.slice.edges {
        let colour = if hl.edge_lit(a as usize, b as usize) {
            HIGHLIGHT.gamma_multiply(0.8)
        } else {
            egui::Color32::from_gray(90).gamma_multiply(0.5)
        };
        edges.push(EdgeVertex { pos: layout.pos[a as usize], colour: colour.to_array() });
        edges.push(EdgeVertex { pos: layout.pos[b as usize], colour: colour.to_array() });
    }
    GpuScene { version, nodes, edges }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ViewUniform {
    scale: [f32; 2],
    offset: [f32; 2],
    point: [f32; 2],
    _pad: [f32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct NodeInstance {
    centre: [f32; 2],
    radius: f32,
    shape: f32,
    fill: [u8; 4],
    stroke: [u8; 4],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct EdgeVertex {
    pos: [f32; 2],
    colour: [u8; 4],
}

/// What the shader draws: a versioned snapshot of nodes and edges.
pub struct GpuScene {
    version: u64,
    nodes: Vec<NodeInstance>,
    edges: Vec<EdgeVertex>,
}

/// The pipelines and buffers, kept in egui_wgpu's callback resources.
struct GraphGpu {
    node_pipeline: wgpu::RenderPipeline,
    edge_pipeline: wgpu::RenderPipeline,
    uniform: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    nodes: Option<(wgpu::Buffer, u32)>,
    edges: Option<(wgpu::Buffer, u32)>,
    version: u64,
}

/// Creates the shader's pipelines on eframe's device; returns whether it worked.
pub fn init_gpu(rs: &egui_wgpu::RenderState) -> bool {
    let device = &rs.device;
    let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("graph.wgsl"),
        source: wgpu::ShaderSource::Wgsl(include_str!("../../../../shaders/graph.wgsl").into()),
    });
    let bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("graph view"),
        entries: &[wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::VERTEX,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: wgpu::BufferSize::new(std::mem::size_of::<ViewUniform>() as u64),
            },
            count: None,
        }],
    });
    let (node_pipeline, edge_pipeline) = pipelines(rs, &shader, &bgl);
    let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("graph view uniform"),
        contents: bytemuck::bytes_of(&ViewUniform {
            scale: [1.0; 2],
            offset: [0.0; 2],
            point: [0.0; 2],
            _pad: [0.0; 2],
        }),
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
    });
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("graph view"),
        layout: &bgl,
        entries: &[wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() }],
    });
    rs.renderer.write().callback_resources.insert(GraphGpu {
        node_pipeline,
        edge_pipeline,
        uniform,
        bind_group,
        nodes: None,
        edges: None,
        version: 0,
    });
    true
}

/// The node (instanced quads) and edge (lines) pipelines of the shader.
fn pipelines(
    rs: &egui_wgpu::RenderState,
    shader: &wgpu::ShaderModule,
    bgl: &wgpu::BindGroupLayout,
) -> (wgpu::RenderPipeline, wgpu::RenderPipeline) {
    let device = &rs.device;
    let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("graph view"),
        bind_group_layouts: &[Some(bgl)],
        immediate_size: 0,
    });
    let blend = Some(wgpu::BlendState::PREMULTIPLIED_ALPHA_BLENDING);
    let target = [Some(wgpu::ColorTargetState { format: rs.target_format, blend, write_mask: wgpu::ColorWrites::ALL })];
    let node_attrs = wgpu::vertex_attr_array![0 => Float32x2, 1 => Float32, 2 => Float32, 3 => Unorm8x4, 4 => Unorm8x4];
    let edge_attrs = wgpu::vertex_attr_array![0 => Float32x2, 1 => Unorm8x4];
    let pipeline = |label: &str, vs: &str, fs: &str, buffer: wgpu::VertexBufferLayout, topology| {
        device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some(label),
            layout: Some(&layout),
            vertex: wgpu::VertexState {
                module: shader,
                entry_point: Some(vs),
                compilation_options: Default::default(),
                buffers: &[Some(buffer)],
            },
            fragment: Some(wgpu::FragmentState {
                module: shader,
                entry_point: Some(fs),
                compilation_options: Default::default(),
                targets: &target,
            }),
            primitive: wgpu::PrimitiveState { topology, ..Default::default() },
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            multiview_mask: None,
            cache: None,
        })
    };
    let node_pipeline = pipeline(
        "graph nodes",
        "vs_node",
        "fs_node",
        wgpu::VertexBufferLayout {
            array_stride: std::mem::size_of::<NodeInstance>() as u64,
            step_mode: wgpu::VertexStepMode::Instance,
            attributes: &node_attrs,
        },
        wgpu::PrimitiveTopology::TriangleList,
    );
    let edge_pipeline = pipeline(
        "graph edges",
        "vs_edge",
        "fs_edge",
        wgpu::VertexBufferLayout {
            array_stride: std::mem::size_of::<EdgeVertex>() as u64,
            step_mode: wgpu::VertexStepMode::Vertex,
            attributes: &edge_attrs,
        },
        wgpu::PrimitiveTopology::LineList,
    );
    (node_pipeline, edge_pipeline)
}

struct GraphCallback {
    scene: Arc<GpuScene>,
    uniform: ViewUniform,
}

impl egui_wgpu::CallbackTrait for GraphCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let Some(gpu) = resources.get_mut::<GraphGpu>() else { return Vec::new() };
        queue.write_buffer(&gpu.uniform, 0, bytemuck::bytes_of(&self.uniform));
        if gpu.version != self.scene.version {
            gpu.version = self.scene.version;
            let make = |label, data: &[u8]| {
                device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents: data,
                    usage: wgpu::BufferUsages::VERTEX,
                })
            };
            gpu.nodes = (!self.scene.nodes.is_empty())
                .then(|| (make("graph nodes", bytemuck::cast_slice(&self.scene.nodes)), self.scene.nodes.len() as u32));
            gpu.edges = (!self.scene.edges.is_empty())
                .then(|| (make("graph edges", bytemuck::cast_slice(&self.scene.edges)), self.scene.edges.len() as u32));
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        let Some(gpu) = resources.get::<GraphGpu>() else { return };
        pass.set_bind_group(0, &gpu.bind_group, &[]);
        if let Some((buf, n)) = &gpu.edges {
            pass.set_pipeline(&gpu.edge_pipeline);
            pass.set_vertex_buffer(0, buf.slice(..));
            pass.draw(0..*n, 0..1);
        }
        if let Some((buf, n)) = &gpu.nodes {
            pass.set_pipeline(&gpu.node_pipeline);
            pass.set_vertex_buffer(0, buf.slice(..));
            pass.draw(0..6, 0..*n);
        }
    }
}
